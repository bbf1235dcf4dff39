// rwconsole.test.js - the console's 风险预警 view in headless Chromium at
// 390 px (phones, touch), driven by tests/integration/test_riskwarning_console.py
// (the real daemon, [riskwarning] signoff = 2).
//
// zhang composes a product by tapping counties on the province map (a
// level brush, a tap per county; one county through the keyboard list),
// sees a validation error beside its field, reloads (the unsent form comes
// back from localStorage), submits; the product is
// pending; zhang confirms (preview, then the second tap); li sees who
// confirmed, confirms with preview + second tap, and it is published;
// /warnings/{id} shows the counties at their levels (blue nowhere); li
// corrects the pending product GA_PENDING_ID (the old one is rejected),
// rejects the correction with a reason; wang (supervisor), on the alerts'
// view meanwhile, is told of the new pending product, then cancels the
// published one with a reason.
//
// Environment: GA_URL, GA_OFFICERS ({"name": "password"}), GA_PENDING_ID,
// GA_SHOT_DIR, GA_CHROMIUM. Prints "RESULT {json}" and exits 0 when every
// check passed.
'use strict';

const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const BASE = process.env.GA_URL;
const PW = JSON.parse(process.env.GA_OFFICERS || '{}');
const PENDING = process.env.GA_PENDING_ID;
const SHOTS = process.env.GA_SHOT_DIR || os.tmpdir();
const TIMEOUT = 20000;

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

const problems = [];
async function officerPage(browser, name, width, stayOnAlerts) {
  const ctx = await browser.newContext({ viewport: { width, height: 844 }, hasTouch: true, isMobile: width < 500, locale: 'zh-CN', timezoneId: 'UTC' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => problems.push(name + ': page error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(name + ': console error: ' + m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(BASE + '/') && !/^(about|data):/.test(r.url())) problems.push(name + ': request outside the origin: ' + r.url());
  });
  // expected refusals only: no session yet (401), the product with errors (400)
  page.on('response', (r) => {
    if (!r.url().startsWith(BASE)) return;
    const u = r.url().slice(BASE.length);
    if (r.status() >= 400 && r.status() !== 401 && !(r.status() === 400 && u === '/api/v1/riskwarnings')) problems.push(name + ': ' + r.status() + ' for ' + u);
  });
  const resp = await page.goto(BASE + '/console/');
  check(resp.status() === 200, name + ': GET /console/ is 200');
  await page.fill('#login-name', name);
  await page.fill('#login-password', PW[name]);
  await page.click('#login-form button[type=submit]');
  await page.locator('#board').waitFor({ state: 'visible' });
  if (stayOnAlerts) {
    await page.locator('#rw-tab-count', { hasText: '（' }).waitFor(); // the pending ones counted
    return page;
  }
  await page.locator('#tab-rw').tap();
  await page.locator('#rw-view').waitFor({ state: 'visible' });
  await page.locator('#rw-pending-count', { hasText: '（' }).waitFor();
  return page;
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
    return out;
  });
  check(bad.length === 0, where + ': no Latin-letter words in officer-visible text ' + JSON.stringify(bad));
}

async function noHScroll(page, where) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  check(w <= page.viewportSize().width, where + ': no horizontal scrolling (scrollWidth ' + w + ')');
}

async function shot(page, name, element) {
  const file = path.join(SHOTS, 'console-' + name + '.png');
  if (!element) { await page.screenshot({ path: file }); return; }
  await element.evaluate((e) => e.scrollIntoView({ block: 'start' }));
  const bb = await element.boundingBox();
  const vh = page.viewportSize().height;
  await page.screenshot({ path: file, clip: { x: bb.x, y: bb.y, width: bb.width, height: Math.min(bb.height, vh - bb.y) } });
}

// A tap (touch) on a point inside the county's outline on the compose map,
// one the county itself is hit at (not a neighbour, not the border).
async function tapCounty(page, code) {
  const pt = await page.evaluate((c) => {
    const p = document.querySelector('.rw-compose svg.rwmap path[data-code="' + c + '"]');
    if (!p) return null;
    p.scrollIntoView({ block: 'center' });
    const svg = p.ownerSVGElement, bb = p.getBBox(), m = p.getScreenCTM();
    let best = null;
    for (let i = 1; i < 24; i++) {
      for (let j = 1; j < 24; j++) {
        const q = svg.createSVGPoint();
        q.x = bb.x + bb.width * i / 24; q.y = bb.y + bb.height * j / 24;
        if (!p.isPointInFill(q)) continue;
        const s = q.matrixTransform(m);
        if (document.elementFromPoint(s.x, s.y) !== p) continue;
        const d = Math.abs(i - 12) + Math.abs(j - 12); // nearest the middle
        if (!best || d < best.d) best = { x: s.x, y: s.y, d };
      }
    }
    return best;
  }, code);
  check(pt != null, 'county ' + code + ' can be tapped on the map');
  await page.touchscreen.tap(pt.x, pt.y);
}

async function fillOf(page, code) {
  return page.evaluate((c) => document.querySelector('.rw-compose svg.rwmap path[data-code="' + c + '"]').getAttribute('fill'), code);
}

// "2026-12-07T20:00" + h hours (the inputs' own clock: no zone involved)
function plusHours(local, h) {
  return new Date(Date.parse(local + ':00Z') + h * 3600000).toISOString().slice(0, 16);
}

async function main() {
  if (!BASE || !PW.zhang || !PW.li || !PW.wang || !PENDING) throw new Error('GA_URL, GA_OFFICERS, GA_PENDING_ID are required');
  const browser = await chromium.launch({
    executablePath: process.env.GA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60000
  });
  const result = {};
  try {
    // wang stays on the alerts' view: a new pending product is announced there
    const wang = await officerPage(browser, 'wang', 390, true);
    await wang.locator('#refresh').tap(); // a user gesture: vibration and tone allowed
    const pendingBefore = await wang.locator('#rw-tab-count').textContent();
    const zhang = await officerPage(browser, 'zhang', 390);
    await noLatin(zhang, 'risk warning lists (390 px)');

    // --- compose by tapping counties ------------------------------------------
    await zhang.locator('#rw-new').tap();
    const form = zhang.locator('form.rw-compose');
    await form.waitFor();
    check(await form.locator('svg.rwmap path[data-code]').count() > 90, 'the province map with every county');
    await form.locator('.brush[data-brush="red"]').tap();
    await tapCounty(zhang, '320115');
    await form.locator('.brush[data-brush="orange"]').tap();
    await tapCounty(zhang, '320111');
    await tapCounty(zhang, '320117');
    await form.locator('.brush[data-brush="yellow"]').tap();
    await tapCounty(zhang, '320281');
    await tapCounty(zhang, '320583'); // then a second tap clears it
    check(await fillOf(zhang, '320583') === '#fbc02d', 'a tap paints the county with the brush');
    await tapCounty(zhang, '320583');
    check(await fillOf(zhang, '320583') === '#eeeeee', 'a second tap at the same level clears it');
    await form.locator('.brush[data-brush="blue"]').tap();
    await tapCounty(zhang, '321181');
    // one county through the list: a labelled select, by keyboard
    await form.locator('details.rw-list > summary').tap();
    await form.locator('#rw-county-320282').focus();
    await zhang.keyboard.press('ArrowDown'); // 无 -> 一级（红色）
    await zhang.keyboard.press('ArrowDown');
    await zhang.keyboard.press('ArrowDown'); // -> 三级（黄色）
    let v = await form.locator('#rw-county-320282').inputValue();
    if (v !== 'yellow') { // headless select popups differ: say it, then choose by the API
      console.log('note: arrow keys gave "' + v + '"; choosing with selectOption');
      await form.locator('#rw-county-320282').selectOption('yellow');
    }
    check(await fillOf(zhang, '320282') === '#fbc02d', 'the list sets the level: the map follows');
    check(await form.locator('#rw-county-320115').inputValue() === 'red', 'the list shows a tapped county\'s level');
    const legend = await form.locator('.rw-sel-legend').textContent();
    check(/一级（红色）.*江宁区/.test(legend) && /二级（橙色）.*浦口区/.test(legend) && /四级（蓝色）.*不公开/.test(legend),
      'the legend names every chosen county by level (blue marked not public): ' + legend);
    await noHScroll(zhang, 'compose form');

    // --- a validation error at its field -----------------------------------------
    const from = await form.locator('#rw-f-valid_from').inputValue();
    await form.locator('#rw-f-valid_to').fill(plusHours(from, 80));
    await form.locator('#rw-f-rain_summary').fill('预计今晚到明天，南京、无锡、扬州有大到暴雨，局地大暴雨。');
    await form.locator('#rw-f-advice').fill('');
    await form.locator('button.rw-submit').tap();
    const errTo = form.locator('#rw-err-valid_to');
    await errTo.waitFor({ state: 'visible' });
    check((await errTo.textContent()).includes('有效时段最长72小时'), 'the /valid_to error beside its field: ' + await errTo.textContent());
    check((await form.locator('#rw-err-advice').textContent()).includes('必须填写'), 'the /advice error beside its field: ' + await form.locator('#rw-err-advice').textContent());
    check(await form.locator('#rw-f-valid_to').getAttribute('aria-invalid') === 'true', 'the field is marked invalid');
    check(await zhang.evaluate(() => document.activeElement && document.activeElement.id) === 'rw-f-valid_to', 'the first wrong field has the focus');
    await noLatin(zhang, 'compose form with errors');
    await shot(zhang, 'rw-error', form.locator('.rw-period-row'));

    // --- a reload loses nothing: the unsent form opens again ----------------------------
    await zhang.reload();
    await zhang.locator('#board').waitFor({ state: 'visible' });
    await zhang.locator('#tab-rw').tap();
    await form.locator('.rw-restored').waitFor();
    check(await form.locator('#rw-county-320115').inputValue() === 'red' && await fillOf(zhang, '321181') === '#1976d2' &&
      await form.locator('#rw-f-valid_to').inputValue() === plusHours(from, 80), 'after a reload the form is back with its counties and times');

    // --- fixed: submitted, pending ---------------------------------------------------
    await form.locator('#rw-f-valid_to').fill(plusHours(from, 24));
    await form.locator('#rw-f-advice').fill('请加强巡查排查，发现险情及时撤离受威胁群众。');
    await shot(zhang, 'rw-compose', form);
    await form.locator('button.rw-submit').tap();
    await zhang.locator('#msg.ok', { hasText: '已提交风险预警' }).waitFor();
    const id = /风险预警 (\S+?)，/.exec(await zhang.locator('#msg').textContent())[1];
    result.product_id = id;
    check(/^ZBT-\d{12}-[0-9A-F]{4}$/.test(id), 'product_id generated: ' + id);
    check(await zhang.evaluate(() => localStorage.getItem('ga-console:edits:riskwarning:compose')) === null, 'the kept form is dropped once submitted');
    await wang.locator('#msg', { hasText: '新的待确认风险预警：' + id }).waitFor();
    check(await wang.locator('body[data-new-riskwarnings="1"]').count() === 1 && /^【新预警】/.test(await wang.title()),
      'announced on the other view: ' + await wang.title() + ' / ' + await wang.locator('#msg').textContent());
    const pendingAfter = await wang.locator('#rw-tab-count').textContent();
    check(pendingAfter !== pendingBefore && /（\d+）/.test(pendingAfter), 'the tab counts the pending: ' + pendingBefore + ' -> ' + pendingAfter);
    check(await zhang.locator('body[data-new-riskwarnings]').count() === 0, 'the composer is not alarmed by their own product');
    const zc = zhang.locator(`#rw-pending article[data-product="${id}"]`);
    await zc.waitFor();
    check((await zc.locator('.rw-signoff').textContent()) === '已确认 0/2 人', 'pending, 0 of 2 confirmations');

    // --- zhang confirms: preview, then the second tap ------------------------------------
    await zc.locator('button.open').tap();
    await zc.locator('svg.rwmap').waitFor();
    check(await zc.locator('svg.rwmap path[fill="#d32f2f"]').count() === 1 && await zc.locator('svg.rwmap path[fill="#1976d2"]').count() === 1,
      'the detail map: each county coloured by level, blue too');
    check(await zc.locator('button.rw-confirm').count() === 0, 'no confirm button before the preview');
    await zc.locator('button.rw-preview').tap();
    await zc.locator('iframe.page-preview').waitFor();
    check((await zc.locator('.rw-pv-level[data-level="red"]').textContent()).includes('江宁区'), 'preview: red 江宁区 public');
    check((await zc.locator('.rw-pv-hidden').textContent()).includes('丹阳市'), 'preview: the blue county is not public');
    const pvHtml = await zc.locator('iframe.page-preview').getAttribute('srcdoc');
    check(!pvHtml.includes('丹阳市：') && pvHtml.includes('江宁区：一级（红色）'), 'the previewed public page: red 江宁区, no level for the blue county');
    await shot(zhang, 'rw-preview', zc.locator('.preview'));
    await zc.locator('button.rw-confirm', { hasText: '第1/2人' }).tap();
    await zhang.locator('#msg.ok', { hasText: '待其他值班员确认' }).waitFor();
    await zc.locator('.rw-actions .note', { hasText: '您已确认' }).waitFor();
    check(await zc.locator('button.rw-preview').count() === 0, 'the same officer cannot confirm twice');

    // --- li: sees who confirmed, confirms: published -----------------------------------
    const li = await officerPage(browser, 'li', 390);
    const lc = li.locator(`#rw-pending article[data-product="${id}"]`);
    await lc.locator('.rw-signoff', { hasText: '已确认 1/2 人' }).waitFor();
    await lc.locator('button.open').tap();
    await lc.locator('.rw-confirmers').waitFor();
    const conf = await lc.locator('.rw-confirmers').textContent();
    check(conf.includes('已确认 1/2 人') && conf.includes('zhang'), 'li sees 1 of 2, by zhang: ' + conf);
    await noLatin(li, 'pending product (390 px)');
    await lc.locator('button.rw-preview').tap();
    const go = lc.locator('button.rw-confirm');
    await go.waitFor();
    check((await go.textContent()) === '确认发布以上内容', 'the last confirmation says it publishes');
    await go.tap();
    await li.locator('#msg.ok', { hasText: '已发布风险预警' }).waitFor();
    const lp = li.locator(`#rw-published article[data-product="${id}"]`);
    await lp.waitFor();
    await zhang.locator(`#rw-published article[data-product="${id}"]`).waitFor();
    check(true, 'published; the first officer\'s list follows within its poll');
    await lp.locator('a.public-link').waitFor();
    await shot(li, 'rw-published', lp);

    // --- the public page: the counties at their levels ------------------------------------
    const pub = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const pr = await pub.goto(BASE + '/warnings/' + id);
    check(pr.status() === 200, '/warnings/' + id + ' is 200');
    const fills = await pub.evaluate(() => {
      const out = {};
      document.querySelectorAll('svg.rwmap path').forEach((p) => {
        const t = p.querySelector('title');
        if (p.getAttribute('fill') !== '#eeeeee') out[t ? t.textContent : '?'] = p.getAttribute('fill');
      });
      return out;
    });
    result.public_fills = fills;
    const want = { '江宁区：一级（红色）': '#d32f2f', '浦口区：二级（橙色）': '#f57c00', '溧水区：二级（橙色）': '#f57c00',
      '江阴市：三级（黄色）': '#fbc02d', '宜兴市：三级（黄色）': '#fbc02d' };
    check(JSON.stringify(Object.keys(fills).sort()) === JSON.stringify(Object.keys(want).sort()) &&
      Object.keys(want).every((k) => fills[k] === want[k]), 'the public map: exactly the counties at their levels, blue nowhere: ' + JSON.stringify(fills));
    check(!(await pub.locator('ul.legend').textContent()).includes('丹阳'), 'the blue county is not in the public legend');
    await pub.close();

    // --- li corrects a pending product; the correction replaces it --------------------------
    const oc = li.locator(`#rw-pending article[data-product="${PENDING}"]`);
    await oc.locator('button.open').tap();
    await oc.locator('button.rw-correct').tap();
    const cf = li.locator('form.rw-compose');
    await cf.waitFor();
    check(await cf.locator('#rw-county-320115').inputValue() === 'red', 'the correction starts from the product\'s counties');
    await cf.locator('.brush[data-brush="none"]').tap();
    await tapCounty(li, '320115');
    check(await cf.locator('#rw-county-320115').inputValue() === '', 'the clear brush takes a county out');
    await cf.locator('button.rw-submit').tap();
    await li.locator('#msg.ok', { hasText: '原产品已驳回' }).waitFor();
    const cid = /风险预警 (\S+?)，/.exec(await li.locator('#msg').textContent())[1];
    result.correction_id = cid;
    const cc = li.locator(`#rw-pending article[data-product="${cid}"]`);
    await cc.waitFor();
    check((await cc.locator('.meta').textContent()).includes(PENDING), 'the correction names the product it replaces');
    await li.locator(`#rw-pending article[data-product="${PENDING}"]`).waitFor({ state: 'detached' });

    // --- li rejects the correction with a reason -------------------------------------------
    await cc.locator('button.open').tap();
    await cc.locator('button.rw-reject').tap();
    await cc.locator('textarea.reason').fill('区域需与气象局重新会商');
    await cc.locator('button.do-act').tap();
    await li.locator('#msg.ok', { hasText: '已驳回风险预警' }).waitFor();
    await cc.waitFor({ state: 'detached' });

    // --- wang (supervisor) cancels the published one with a reason ------------------------------
    await wang.locator('#tab-rw').tap();
    const wc = wang.locator(`#rw-published article[data-product="${id}"]`);
    await wc.locator('button.open').tap();
    await wc.locator('button.rw-cancel').tap();
    await wc.locator('textarea.reason').fill('降雨已减弱，风险解除');
    await wc.locator('button.do-act').tap();
    await wang.locator('#msg.ok', { hasText: '已解除风险预警' }).waitFor();
    await wc.waitFor({ state: 'detached' });
    await wang.locator('#rw-history-box > summary').tap();
    await wang.locator(`#rw-history article[data-product="${id}"][data-state="cancelled"]`).waitFor();
    check(true, 'cancelled: in the history with its reason');
    check(problems.length === 0, 'no errors, unexpected refusals or outside requests: ' + JSON.stringify(problems));
  } finally {
    await browser.close();
  }
  console.log('RESULT ' + JSON.stringify(result));
}

main().then(() => { console.log('risk warning console test passed'); process.exit(0); },
  (e) => { console.error('risk warning console test FAILED: ' + (e && e.stack || e)); process.exit(1); });
