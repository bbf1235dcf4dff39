// Headless Chromium against the real daemon's console (/console/), driven
// by tests/integration/test_console.py, which starts the daemon, the broker
// and the channel stand-ins and answers this script's "@@{json}" requests
// (publish a report, move a session's expiry) on stdin.
//
// Officers: zhang and li (duty officers), wang (supervisor); zhang at
// 1366 px, li at 390 px (a phone), wang at 1366 px. Screenshots go to
// GA_SHOT_DIR as console-*.png.
//
// Environment: GA_URL, GA_OFFICERS ({"name": "password"}), GA_STATIONS
// (["station id", ...]), GA_SHOT_DIR, GA_CHROMIUM. Exits 0 when every
// check passed.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const BASE = process.env.GA_URL;
const PW = JSON.parse(process.env.GA_OFFICERS || '{}');
const STATIONS = JSON.parse(process.env.GA_STATIONS || '[]');
const SHOTS = process.env.GA_SHOT_DIR || os.tmpdir();
const TIMEOUT = 20000;
const NEW_DRAFT_BOUND_MS = 20000; // generous: the console polls every 4 s

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

// One request to test_console.py, one JSON answer.
const answers = [];
let waiting = null;
readline.createInterface({ input: process.stdin }).on('line', (l) => {
  const a = JSON.parse(l);
  if (waiting) { const w = waiting; waiting = null; w(a); } else answers.push(a);
});
function ask(req) {
  return new Promise((resolve, reject) => {
    process.stdout.write('@@' + JSON.stringify(req) + '\n');
    const done = (a) => (a && a.error ? reject(new Error('helper: ' + a.error)) : resolve(a));
    if (answers.length) done(answers.shift()); else waiting = done;
  });
}

const problems = [];
async function officerPage(browser, name, width) {
  const ctx = await browser.newContext({ viewport: { width, height: 900 }, locale: 'zh-CN', timezoneId: 'UTC' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('request', (r) => {
    if (!r.url().startsWith(BASE + '/') && !r.url().startsWith('about:') && !r.url().startsWith('data:')) {
      problems.push(name + ': request outside the origin: ' + r.url());
    }
  });
  page.on('pageerror', (e) => problems.push(name + ': page error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(name + ': console error: ' + m.text());
  });
  // Expected refusals only: no session yet, a wrong password, an expired session.
  page.on('response', (r) => {
    if (!r.url().startsWith(BASE)) return;
    const u = r.url().slice(BASE.length);
    if (r.status() >= 400 && r.status() !== 401) problems.push(name + ': ' + r.status() + ' for ' + u);
  });
  const resp = await page.goto(BASE + '/console/');
  check(resp.status() === 200, name + ': GET /console/ is 200');
  await page.locator('#login-form').waitFor({ state: 'visible' });
  return page;
}

async function login(page, name) {
  await page.fill('#login-name', name);
  await page.fill('#login-password', PW[name]);
  await page.click('#login-form button[type=submit]');
  await page.locator('#board').waitFor({ state: 'visible' });
  // the first list is loaded
  await page.locator('#updated', { hasText: '已自动更新' }).waitFor();
}

// Officer-visible text without a Latin-letter word, except names and ids
// (class "id") and what the public will read ([data-verbatim], iframes).
async function noLatin(page, where) {
  const bad = await page.evaluate(() => {
    const out = [];
    const skip = (e) => e.closest('.id, [data-verbatim], script, style, iframe, noscript');
    const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const p = n.parentElement;
      if (!p || skip(p) || !visible(p)) continue;
      if (/[A-Za-z]{2,}/.test(n.nodeValue)) out.push(n.nodeValue.trim().slice(0, 80));
    }
    document.querySelectorAll('[title], [alt], [placeholder], [aria-label]').forEach((e) => {
      if (skip(e)) return;
      ['title', 'alt', 'placeholder', 'aria-label'].forEach((a) => {
        const v = e.getAttribute(a);
        if (v && /[A-Za-z]{2,}/.test(v)) out.push(a + '=' + v);
      });
    });
    if (/[A-Za-z]{2,}/.test(document.title)) out.push('title=' + document.title);
    return out;
  });
  check(bad.length === 0, where + ': no Latin-letter words in officer-visible text ' + JSON.stringify(bad));
}

// A screenshot of the page's viewport, or of one element (a card) when
// given: docs/console.md shows copies of some.
async function shot(page, name, element, rest) {
  const file = path.join(SHOTS, 'console-' + name + '.png');
  if (!element) { await page.screenshot({ path: file }); return; }
  // the element's top, at most one screen of it (small files); rest:
  // the screen below the element's top
  await element.evaluate((e) => e.scrollIntoView({ block: 'start' }));
  const bb = await element.boundingBox();
  const vh = page.viewportSize().height;
  await page.screenshot({ path: file, clip: { x: bb.x, y: bb.y, width: bb.width, height: rest ? vh - bb.y : Math.min(bb.height, vh - bb.y) } });
}

async function noHScroll(page, where) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  const vw = page.viewportSize().width;
  check(w <= vw, where + ': no horizontal scrolling at ' + vw + ' px (scrollWidth ' + w + ')');
}

async function main() {
  if (!BASE || !PW.zhang || !PW.li || !PW.wang || STATIONS.length < 3) throw new Error('GA_URL, GA_OFFICERS, GA_STATIONS are required');
  const browser = await chromium.launch({
    executablePath: process.env.GA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required'],
    timeout: 60000
  });
  try {
    const zhang = await officerPage(browser, 'zhang', 1366);
    const li = await officerPage(browser, 'li', 390);

    // --- log in --------------------------------------------------------------
    await zhang.fill('#login-name', 'zhang');
    await zhang.fill('#login-password', 'not the password');
    await zhang.click('#login-form button[type=submit]');
    await zhang.locator('#msg', { hasText: '用户名或密码错误' }).waitFor();
    check(true, 'wrong password: 用户名或密码错误');
    await shot(zhang, 'login');
    await noLatin(zhang, 'login page');
    await login(zhang, 'zhang');
    check((await zhang.locator('#who-name').textContent()).includes('zhang（值班员）'), 'zhang logged in as 值班员');
    await login(li, 'li');
    await li.click('#refresh'); // a user gesture: the tone may play
    await noLatin(li, 'empty board (390 px)');

    // --- a new draft reaches the second officer's list -------------------------
    const t0 = Date.now();
    const r1 = await ask({ op: 'report', station: STATIONS[0] });
    check(r1.level === 'large', 'report 1 accepted, large: ' + r1.incident_id);
    const A = r1.incident_id;
    const liCard = li.locator(`#pending article[data-alert="${A}"]`);
    await liCard.waitFor({ timeout: NEW_DRAFT_BOUND_MS });
    const took = Date.now() - t0;
    console.log(`measured: the new draft appeared in the second officer's list ${took} ms after the report was sent (receipt after ${Math.round(r1.receipt_s * 1000)} ms; poll interval 3000 ms)`);
    check(took < NEW_DRAFT_BOUND_MS, 'new draft listed within ' + NEW_DRAFT_BOUND_MS + ' ms');
    check(/^【新预警】（1）/.test(await li.title()), 'title badge: ' + await li.title());
    check(await li.locator('body[data-new-drafts="1"]').count() === 1, 'new-draft alarm raised once');
    check(await li.locator('body[data-tones="1"]').count() === 1, 'tone played (the page was clicked before)');
    check(await zhang.locator('body[data-new-drafts="1"]').count() === 1, 'the first officer alarmed too');
    check((await li.locator('#msg').textContent()).includes('新的待确认预警'), 'new draft announced');
    check(/已等待\d+秒/.test(await liCard.locator('.waiting').textContent()), 'waiting time shown: ' + await liCard.locator('.waiting').textContent());
    check(/\d+月\d+日 \d\d:\d\d（北京时间）/.test(await liCard.locator('.meta').textContent()), 'time in the service zone, named: ' + await liCard.locator('.meta').textContent());
    await noHScroll(li, 'pending list');
    await noLatin(li, 'pending list (390 px)');

    // --- zhang opens it and edits, without sending -----------------------------
    const card = zhang.locator(`#pending article[data-alert="${A}"]`);
    await card.waitFor();
    await card.locator('button.open').click();
    const headline = card.locator('input.edit-headline');
    await headline.waitFor();
    const gen = await headline.inputValue();
    check(await card.locator('.diff').count() === 0, 'a first alert shows no difference block');
    check(gen.includes('大型'), 'draft headline: ' + gen);
    check((await card.locator('.counter').first().textContent()) === Array.from(gen).length + '/120字', 'live counter in characters: ' + await card.locator('.counter').first().textContent());
    const myHeadline = '【大型滑坡险情】值班员改写的标题';
    const myTrend = '值班员补充：坡体仍在变形，请勿靠近';
    await headline.fill(myHeadline);
    await card.locator('textarea.edit-trend').fill(myTrend);
    check((await card.locator('.counter').first().textContent()) === Array.from(myHeadline).length + '/120字', 'counter follows the typing');
    const kept = await zhang.evaluate((a) => Object.keys(localStorage).filter((k) => k.startsWith('ga-console:edits:' + a + ':')), A);
    check(kept.length === 1, 'unsent edits in localStorage: ' + kept);
    const tooLong = '长'.repeat(121);
    await headline.fill(tooLong);
    check((await card.locator('.counter.over').first().textContent()).includes('超出1字'), 'past the limit: 超出1字');
    await headline.fill(myHeadline);

    // --- a newer draft arrives: the edits stay, the changed facts are marked ----
    // observed_at in UTC: the console shows it in the service's zone
    const obs = new Date();
    obs.setUTCMilliseconds(0);
    const r2 = await ask({ op: 'report', station: STATIONS[0], kind: 'disaster', figures: { deaths: 2 }, trend: '坡体出现新的裂缝，变形明显加快', observed_at: obs.toISOString().replace(/\.000Z$/, 'Z') });
    check(r2.incident_id === A, 'report 2 joins the incident');
    await card.locator('.note', { hasText: '草稿已更新' }).waitFor();
    check(await headline.inputValue() === myHeadline, 'headline edit kept across the newer draft');
    check(await card.locator('textarea.edit-trend').inputValue() === myTrend, 'trend edit kept across the newer draft');
    await card.locator('[data-field="trend"] .mark.stale').waitFor();
    check(true, 'trend: 来源数据已变化 marked');
    // unknown figures: 未报告 (a 灾情 with deaths only)
    const figs = await card.locator('dl.figures').first().textContent();
    check(figs.includes('死亡2人') && figs.includes('失踪未报告') && figs.includes('受伤未报告'), 'figures: unknown shown as 未报告: ' + figs);
    const bj = new Date(obs.getTime() + 8 * 3600000);
    const p2 = (n) => (n < 10 ? '0' : '') + n;
    const want = (bj.getUTCMonth() + 1) + '月' + bj.getUTCDate() + '日 ' + p2(bj.getUTCHours()) + ':' + p2(bj.getUTCMinutes()) + '（北京时间）';
    const reps = await card.locator('details.reports').textContent();
    check(reps.includes(want) && !reps.includes('协调世界时'), 'a report observed at ' + obs.toISOString() + ' shown as ' + want);
    await shot(zhang, 'draft', card);
    await shot(zhang, 'edits', card.locator('.detail h3', { hasText: '预警内容' }), true);
    await noLatin(zhang, 'open draft');

    // --- the session ends mid-edit: warned, then kept, then restored ----------
    await ask({ op: 'session', officer: 'zhang', expires_in_s: 100, touch_later_s: 3600 });
    await zhang.locator('#expiry').waitFor({ state: 'visible' });
    check((await zhang.locator('#expiry-text').textContent()).includes('后过期'), 'warned before expiry: ' + await zhang.locator('#expiry-text').textContent());
    await noLatin(zhang, 'expiry warning');
    await ask({ op: 'session', officer: 'zhang', expires_in_s: -1, touch_later_s: 3600 });
    await zhang.locator('#login-form').waitFor({ state: 'visible' });
    const why = await zhang.locator('#login-why').textContent();
    check(why.includes('登录已过期') && why.includes('未提交的修改已保存在本机'), 'why the login is needed: ' + why);
    await shot(zhang, 'expired');
    await noLatin(zhang, 'login after expiry');
    await login(zhang, 'zhang');
    const headline2 = card.locator('input.edit-headline');
    await headline2.waitFor();
    check(await headline2.inputValue() === myHeadline, 'headline edit restored after the re-login');
    check(await card.locator('textarea.edit-trend').inputValue() === myTrend, 'trend edit restored after the re-login');
    check(await card.locator('[data-field="trend"] .mark.stale').count() === 1, 'still marked 来源数据已变化 after the re-login');

    // --- preview, then publish -------------------------------------------------
    await card.locator('button.preview-btn').click();
    const pv = card.locator('.preview');
    await pv.locator('.channel').first().waitFor();
    const nch = await pv.locator('.channel').count();
    check(nch === 3, 'preview lists 3 channels: ' + nch);
    for (let i = 0; i < nch; i++) {
      const ch = pv.locator('.channel').nth(i);
      const name = await ch.getAttribute('data-channel');
      const cnt = await ch.locator('.ch-count').textContent();
      if (await ch.locator('.ch-text').count() === 0) {
        check(name === 'portal' && (await ch.textContent()).includes('完整的预警数据'), name + ': the whole alert, no text of its own');
        continue;
      }
      const text = await ch.locator('.ch-text').textContent();
      if (name === 'sms') {
        const longest = Math.max(...text.split('\n').map((l) => Array.from(l.slice(l.indexOf(': ') + 2)).length));
        check(cnt.startsWith('每项最长' + longest + '字，上限'), name + ': ' + cnt + ' (longest parameter ' + longest + ' characters)');
      } else {
        check(new RegExp('^' + Array.from(text).length + '(/\\d+)?字').test(cnt), name + ': ' + cnt + ' (' + Array.from(text).length + ' characters shown)');
      }
    }
    const weiboText = await pv.locator('[data-channel="weibo"] .ch-text').textContent();
    check(weiboText.includes(myHeadline) || weiboText.includes('值班员改写'), 'the weibo text carries the edited headline');
    const pvFigs = await pv.locator('dl.figures').textContent();
    // unknown figures (checked at the end: the alert JSON's nulls are another
    // engineer's work, merged with this one)
    const pvChecks = { figs: pvFigs };
    const frame = pv.locator('iframe.page-preview');
    await frame.waitFor();
    const pageText = await zhang.frameLocator(`#pending article[data-alert="${A}"] iframe.page-preview`).locator('body').textContent();
    check(pageText.includes('值班员改写'), 'preview page carries the edited headline');
    pvChecks.page = pageText;
    await shot(zhang, 'preview', pv);
    await noLatin(zhang, 'preview');
    // an edit voids the preview
    await card.locator('textarea.edit-causes').fill((await card.locator('textarea.edit-causes').inputValue()) + '。');
    check(await card.locator('button.confirm').count() === 0, 'an edit after the preview removes 确认发布');
    await card.locator('button.preview-btn').click();
    await card.locator('button.confirm').waitFor();
    await ask({ op: 'portal_mode', mode: '500' }); // the portal fails until told otherwise
    await card.locator('button.confirm').click();
    await zhang.locator('#msg.ok', { hasText: '已发布' }).waitFor();
    check(true, 'second tap: 已发布');
    const pub = zhang.locator(`#published article[data-alert="${A}"]`);
    await pub.waitFor();
    check((await pub.locator('.title').textContent()) === myHeadline, 'published with the edited headline');
    await pub.locator('a.public-link').waitFor();
    check((await pub.locator('a.public-link').getAttribute('href')).includes(A), 'link to the public page');
    // delivery states, live: the portal fails first, then all three reach
    // 已送达 without a reload
    const portalRow = pub.locator('tr[data-channel="portal"]');
    await portalRow.waitFor();
    await zhang.waitForFunction((a) => {
      const r = document.querySelector(`#published article[data-alert="${a}"] tr[data-channel="portal"]`);
      return r && /尝试[1-9]\d*次/.test(r.textContent) && r.querySelector('.d-state').textContent !== '已送达';
    }, A);
    check(true, 'portal shown not delivered yet: ' + await portalRow.textContent());
    await noLatin(zhang, 'a delivery retrying');
    await ask({ op: 'portal_mode', mode: 'ok' });
    const t1 = Date.now();
    await zhang.waitForFunction((a) => {
      const rows = document.querySelectorAll(`#published article[data-alert="${a}"] tr[data-channel] .d-state`);
      return rows.length === 3 && Array.from(rows).every((r) => r.textContent === '已送达');
    }, A, { timeout: 30000 });
    console.log('measured: every channel shown 已送达 ' + (Date.now() - t1) + ' ms after the portal stand-in recovered');
    check(true, 'deliveries: 3 channels 已送达, updated live');
    const left = await zhang.evaluate((a) => Object.keys(localStorage).filter((k) => k.startsWith('ga-console:edits:' + a + ':')).length, A);
    check(left === 0, 'the kept edits are dropped once published');
    await shot(zhang, 'published', pub);
    await noLatin(zhang, 'published with deliveries');
    const api = await zhang.evaluate(async () => (await fetch('/api/v1/alerts?state=published')).json());
    const item = api.alerts.find((a) => a.alert_id === A);
    check(item && item.headline === myHeadline && item.version === 1, 'API lists version 1 with the edited headline');

    // --- an update: li (phone) sees the difference and the carried edit --------
    await ask({ op: 'report', station: STATIONS[0], kind: 'disaster', figures: { deaths: 3, injured: 5 } });
    const liUpd = li.locator(`#pending article[data-alert="${A}"]`);
    await liUpd.waitFor();
    await liUpd.locator('button.open').click();
    await liUpd.locator('.diff').waitFor();
    check((await liUpd.locator('.diff h3').textContent()).includes('第1版'), 'difference from the published version 1 shown');
    check(await liUpd.locator('.diff-field').count() > 0, 'the difference lists fields');
    // zhang's trend edit is carried, and report 3 brought another trend
    check(await liUpd.locator('[data-field="trend"] .mark.carried').count() === 1 &&
      await liUpd.locator('[data-field="trend"] .mark.stale').count() === 1, 'trend: carried and marked 来源数据已变化');
    check(await liUpd.locator('[data-field="headline"] .mark.carried').count() === 1 &&
      await liUpd.locator('[data-field="headline"] .mark.stale').count() === 0, 'headline: carried, facts unchanged');
    const carried = await liUpd.locator('.mark.carried').count();
    check(carried > 0, 'carried edits marked (' + carried + ')');
    await liUpd.scrollIntoViewIfNeeded();
    await shot(li, 'phone-draft', liUpd.locator('.diff'), true);
    await noHScroll(li, 'open update draft');
    await noLatin(li, 'open update draft (390 px)');
    await liUpd.locator('button.preview-btn').click();
    await liUpd.locator('.preview .channel').first().waitFor();
    await noHScroll(li, 'preview on the phone');
    await noLatin(li, 'preview (390 px)');
    await liUpd.locator('button.confirm').click();
    await li.locator('#msg.ok', { hasText: '已发布' }).waitFor();
    check(true, 'li published version 2 on the phone');

    // --- one card per alert, versions inside; 解除 only on the latest ---------
    const wang = await officerPage(browser, 'wang', 1366);
    await login(wang, 'wang');
    const wCards = wang.locator(`#published article[data-alert="${A}"]`);
    check(await wCards.count() === 1, 'one published card for the alert');
    await wCards.locator('.version[data-version="2"]').waitFor();
    check(await wCards.locator('.version').count() === 2, 'two versions inside the card');
    check(await wCards.locator('.version[data-version="2"] button.cancel').count() === 1, '解除 offered on version 2');
    check(await wCards.locator('.version[data-version="1"] button.cancel').count() === 0, 'no 解除 on version 1');
    check(await li.locator(`#published article[data-alert="${A}"] button.cancel`).count() === 0, 'a duty officer gets no 解除');
    await shot(wang, 'versions', wCards);
    await noLatin(wang, 'published list (supervisor)');

    // --- 解除: the exact public text, edited, is what is published ------------
    await wCards.locator('.version[data-version="2"] button.cancel').click();
    await wCards.locator('textarea.reason').fill('险情已排除，经专家现场核查坡体稳定');
    await wCards.locator('button.do-act').click();
    const ed = wCards.locator('.cancel-editor');
    await ed.waitFor();
    const cancelHeadline = ed.locator('.cancel-headline');
    check((await cancelHeadline.count()) === 1, 'the 解除 headline is editable');
    const cancelText = '【解除】浦口区滑坡险情预警解除（值班长核定）';
    await cancelHeadline.fill(cancelText);
    await shot(wang, 'cancel', wCards);
    await noLatin(wang, 'cancel editor');
    await ed.locator('button.do-cancel').click();
    await wang.locator('#msg.ok', { hasText: '已解除' }).waitFor();
    const after = await wang.evaluate(async () => (await fetch('/api/v1/alerts?state=published')).json());
    const v3 = after.alerts.filter((a) => a.alert_id === A).sort((a, b) => b.version - a.version)[0];
    check(v3.version === 3 && v3.msg_type === 'cancel' && v3.headline === cancelText, 'published 解除 is the edited text: ' + JSON.stringify(v3.headline));
    await wCards.locator('.version[data-version="3"]').waitFor();
    check(await wCards.locator('button.cancel').count() === 0, 'no 解除 once cancelled');

    // --- a rejection ---------------------------------------------------------
    const r4 = await ask({ op: 'report', station: STATIONS[2] });
    const rc = zhang.locator(`#pending article[data-alert="${r4.incident_id}"]`);
    await rc.waitFor();
    await rc.locator('button.open').click();
    await rc.locator('button.reject').click();
    await rc.locator('textarea.reason').fill('重复报告，现场核实为同一处险情');
    await shot(zhang, 'reject', rc);
    await rc.locator('button.do-act').click();
    await zhang.locator('#msg.ok', { hasText: '已驳回' }).waitFor();
    check(true, 'rejected with a reason');

    // --- 特大型: two different officers confirm -------------------------------
    const r5 = await ask({ op: 'report', station: STATIONS[3] });
    check(r5.level === 'extra_large', 'report 5: 特大型');
    const xz = zhang.locator(`#pending article[data-alert="${r5.incident_id}"]`);
    await xz.waitFor();
    check((await xz.locator('.badge.second').textContent()) === '需两名值班员确认', 'badge: 需两名值班员确认');
    await xz.locator('button.open').click();
    await xz.locator('button.preview-btn').click();
    await xz.locator('button.confirm').click();
    await xz.locator('.note', { hasText: '待第二名值班员确认' }).waitFor();
    check(await xz.locator('button.confirm').count() === 0, 'first confirmation: no second tap for the same officer');
    const xl = li.locator(`#pending article[data-alert="${r5.incident_id}"]`);
    await xl.locator('.badge.second', { hasText: '已有1人确认' }).waitFor();
    await xl.locator('button.open').click();
    check((await xl.locator('.second-note').textContent()).includes('已确认：zhang'), 'li sees zhang confirmed');
    await noLatin(li, 'two-person draft (390 px)');
    await xl.locator('button.preview-btn').click();
    await xl.locator('button.confirm').click();
    await li.locator('#msg.ok', { hasText: '已发布' }).waitFor();
    await zhang.locator(`#published article[data-alert="${r5.incident_id}"]`).waitFor();
    check(true, 'second officer published it; the first officer\'s list shows it published');

    for (const [n, p] of [['zhang', zhang], ['li', li], ['wang', wang]]) {
      await p.click('#logout');
      await p.locator('#login-form').waitFor({ state: 'visible' });
      check((await p.evaluate(async () => (await fetch('/console/session')).status)) === 401, n + ' logged out');
    }
    // the preview of version 1 (a 灾情 with deaths only): the other figures unknown
    check(pvChecks.figs.includes('失踪未报告') && pvChecks.figs.includes('直接经济损失未报告'), 'preview: unknown figures as 未报告: ' + pvChecks.figs);
    check(!/失踪\s*0\s*人/.test(pvChecks.page) && !/受伤\s*0\s*人/.test(pvChecks.page), 'preview page: no 0人 for an unknown figure');
    check(problems.length === 0, 'no errors, CSP violations or outside requests: ' + JSON.stringify(problems));
  } finally {
    await browser.close();
  }
}

main().then(() => { console.log('console test passed'); process.exit(0); },
  (e) => { console.error('console test FAILED: ' + (e && e.stack || e)); process.exit(1); });
