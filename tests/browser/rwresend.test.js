// rwresend.test.js - the console's 风险预警 view re-sends a failed
// delivery (issue 14), in headless Chromium at 390 px (touch), driven by
// tests/integration/test_riskwarning_resend.py: the published product
// GA_PRODUCT_ID has failed to the channel GA_CHANNEL. The supervisor
// GA_OFFICER logs in, opens the product's card among the published ones,
// sees the channel's row as 发送失败 with 重发, taps it, and is told it
// was re-sent; the row then reads 待发送/发送中/已送达 and has no 重发.
//
// Environment: GA_URL, GA_OFFICER, GA_PASSWORD, GA_PRODUCT_ID, GA_CHANNEL,
// GA_SHOT_DIR, GA_CHROMIUM. Exits 0 when every check passed.
'use strict';

const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const BASE = process.env.GA_URL;
const NAME = process.env.GA_OFFICER;
const PID = process.env.GA_PRODUCT_ID;
const CHANNEL = process.env.GA_CHANNEL;
const SHOTS = process.env.GA_SHOT_DIR || os.tmpdir();
const TIMEOUT = 20000;

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

async function main() {
  if (!BASE || !NAME || !PID || !CHANNEL) throw new Error('GA_URL, GA_OFFICER, GA_PRODUCT_ID, GA_CHANNEL are required');
  const browser = await chromium.launch({
    executablePath: process.env.GA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60000
  });
  const problems = [];
  try {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, locale: 'zh-CN', timezoneId: 'UTC' });
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('response', (r) => {
      if (r.url().startsWith(BASE) && r.status() >= 400 && r.status() !== 401) problems.push(r.status() + ' for ' + r.url().slice(BASE.length));
    });
    await page.goto(BASE + '/console/');
    await page.fill('#login-name', NAME);
    await page.fill('#login-password', process.env.GA_PASSWORD || '');
    await page.click('#login-form button[type=submit]');
    await page.locator('#board').waitFor({ state: 'visible' });
    await page.locator('#tab-rw').tap();
    await page.locator('#rw-view').waitFor({ state: 'visible' });
    const card = page.locator(`#rw-published article[data-product="${PID}"]`);
    await card.locator('button.open').tap();
    const row = card.locator(`.rw-deliveries tr[data-channel="${CHANNEL}"]`);
    await row.waitFor();
    check(await row.locator('.d-state').textContent() === '发送失败', 'the failed row reads 发送失败');
    const button = row.locator('button.resend');
    check(await button.count() === 1 && await button.textContent() === '重发', 'a supervisor sees 重发 on it');
    await page.screenshot({ path: path.join(SHOTS, 'rw-resend-390.png'), fullPage: true });
    await button.tap();
    await page.locator('#msg.ok', { hasText: '已重发风险预警 ' + PID }).waitFor();
    const again = card.locator(`.rw-deliveries tr[data-channel="${CHANNEL}"]`);
    await again.locator('.d-state', { hasText: /待发送|发送中|已送达/ }).waitFor();
    check(await again.locator('button.resend').count() === 0, 'after 重发: the row is no longer failed, no 重发');
    check(problems.length === 0, 'no errors or refusals: ' + JSON.stringify(problems));
  } finally {
    await browser.close();
  }
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
