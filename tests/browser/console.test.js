// Headless Chromium against the real daemon's console (/console/): log in,
// see the pending draft, open it, edit the headline, confirm, see it
// published. Screenshots go to GA_SHOT_DIR (console.png, console-phone.png,
// console-published.png).
//
// Environment: GA_URL (http://127.0.0.1:PORT), GA_OFFICER, GA_PASSWORD,
// GA_ALERT_ID (the pending draft's alert), GA_SHOT_DIR, GA_CHROMIUM
// (default /usr/bin/chromium). Exits 0 when every check passed.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const BASE = process.env.GA_URL;
const NAME = process.env.GA_OFFICER;
const PASSWORD = process.env.GA_PASSWORD;
const ALERT = process.env.GA_ALERT_ID;
const SHOTS = process.env.GA_SHOT_DIR || os.tmpdir();
const TIMEOUT = 15000;

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

async function main() {
  if (!BASE || !NAME || !PASSWORD || !ALERT) throw new Error('GA_URL, GA_OFFICER, GA_PASSWORD, GA_ALERT_ID are required');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-chromium-'));
  const problems = [];
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.GA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    locale: 'zh-CN',
    timeout: 60000
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    // The page must load nothing but its own files and break no CSP rule.
    page.on('request', (r) => {
      if (!r.url().startsWith(BASE + '/')) problems.push('request outside the origin: ' + r.url());
    });
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    // Failed loads are checked by URL below; other console errors count.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push('console error: ' + m.text());
    });
    // Expected refusals only: no session yet, a wrong password.
    page.on('response', (r) => {
      const u = r.url().slice(BASE.length);
      const expected = r.status() === 401 && (u === '/console/session' || u === '/console/login');
      if (r.status() >= 400 && !expected) problems.push(r.status() + ' for ' + u);
    });

    const resp = await page.goto(BASE + '/console/');
    check(resp.status() === 200, 'GET /console/ is 200');
    await page.locator('#login-form').waitFor({ state: 'visible' });
    check(true, 'login form shown without a session');

    // A wrong password is refused with a clear message.
    await page.fill('#login-name', NAME);
    await page.fill('#login-password', 'not the password');
    await page.click('#login-form button[type=submit]');
    await page.locator('#msg', { hasText: '用户名或密码错误' }).waitFor();
    check(true, 'wrong password: 用户名或密码错误');

    await page.fill('#login-name', NAME);
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.locator('#board').waitFor({ state: 'visible' });
    check(await page.locator('#who-name').textContent() !== '', 'logged in, name shown');

    const card = page.locator(`#pending article[data-alert="${ALERT}"]`);
    await card.waitFor();
    check(await card.getAttribute('class') === 'card level-large', 'pending draft listed, coloured large');
    check((await card.locator('.badge').first().textContent()) === '大型', 'level badge 大型');
    const before = await card.locator('.title').textContent();
    check(before.includes('大型滑坡险情'), 'draft headline: ' + before);

    await card.locator('button.open').click();
    const headline = card.locator('input.edit-headline');
    await headline.waitFor();
    check(await headline.inputValue() === before, 'headline editable with the draft text');
    for (const f of ['situation', 'causes', 'response', 'trend']) {
      check((await card.locator('textarea.edit-' + f).inputValue()).length > 0, f + ' text present');
    }
    await card.locator('.reporter').first().waitFor();
    check((await card.locator('.reporter').first().textContent()).includes('13800001111'), 'reporter shown to the officer');
    check(await card.locator('.reasons li').count() > 0, 'classification reasons shown');
    const map = card.locator('img.map');
    await map.waitFor();
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await map.elementHandle());
    check(true, 'county map (SVG) loaded');
    await page.screenshot({ path: path.join(SHOTS, 'console.png'), fullPage: true });

    // A phone: nothing wider than the screen, and the flow works there.
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(200);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 375, 'no horizontal scrolling at 375 px (scrollWidth ' + width + ')');
    await card.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'console-phone.png') });
    await page.screenshot({ path: path.join(SHOTS, 'console-phone-full.png'), fullPage: true });

    const edited = '【大型滑坡险情】浏览器测试编辑的标题';
    await headline.fill(edited);
    await card.locator('button.confirm').click();
    await page.locator('#msg.ok', { hasText: '已发布' }).waitFor();
    check(true, 'confirm: 已发布 shown');
    const pub = page.locator(`#published article[data-alert="${ALERT}"]`);
    await pub.waitFor();
    check((await pub.locator('.title').textContent()) === edited, 'published with the edited headline');
    check(await page.locator(`#pending article[data-alert="${ALERT}"]`).count() === 0, 'no longer pending');
    await page.screenshot({ path: path.join(SHOTS, 'console-published.png'), fullPage: true });

    // The API agrees.
    const list = await page.evaluate(async () => (await fetch('/api/v1/alerts?state=published')).json());
    const item = list.alerts.find((a) => a.alert_id === ALERT);
    check(item && item.headline === edited && item.version === 1, 'API lists version 1 with the edited headline');

    await page.click('#logout');
    await page.locator('#login-form').waitFor({ state: 'visible' });
    const after = await page.evaluate(async () => (await fetch('/console/session')).status);
    check(after === 401, 'logged out: session gone');
    check(problems.length === 0, 'no errors, CSP violations or outside requests: ' + JSON.stringify(problems));
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => { console.log('console test passed'); process.exit(0); },
  (e) => { console.error('console test FAILED: ' + (e && e.stack || e)); process.exit(1); });
