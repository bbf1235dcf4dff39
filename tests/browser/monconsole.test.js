// monconsole.test.js - the console's 监测 view in headless Chromium at
// 390 px (a phone, touch), driven by tests/integration/test_monitoring_console.py
// (the real daemon, device frames through the real broker).
//
// Checks: the hazard points in level order (the silent device's point
// marked and first among the normal ones); the first (red) point selected:
// its changes newest first; its chart: one polyline with the API's points,
// threshold lines whose y coordinates map back (through the chart's own
// scale) to the registry's values, a level-change marker at each change's
// time, the latest point at the latest value, the chart named and
// described by its text summary; the rain gauge chosen by keyboard (Tab,
// Enter): its downsampled lines drawn whole; the raw readings fold;
// no horizontal scrolling at 390 px; no Latin word outside names and ids.
//
// Environment: GA_URL, GA_OFFICER, GA_PASSWORD, GA_EXPECT (json),
// GA_SHOT_DIR, GA_CHROMIUM. Prints "RESULT ok" and exits 0 when every check
// passed.
'use strict';

const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const BASE = process.env.GA_URL;
const EXPECT = JSON.parse(process.env.GA_EXPECT || '{}');
const SHOTS = process.env.GA_SHOT_DIR || os.tmpdir();
const TIMEOUT = 20000;

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}
function near(a, b, tol) { return Math.abs(a - b) <= tol; }

const problems = [];

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

// The judged chart of the selected point, read back through its own scale
// (data-vmin/vmax/ytop/ybottom, data-t0/t1/x0/x1 on the <svg>).
async function readChart(page, sel) {
  return page.evaluate((sel) => {
    const fig = document.querySelector(sel);
    if (!fig) return null;
    const svg = fig.querySelector('svg');
    const n = (a) => parseFloat(svg.getAttribute(a));
    const vmin = n('data-vmin'), vmax = n('data-vmax'), yt = n('data-ytop'), yb = n('data-ybottom');
    const t0 = n('data-t0'), t1 = n('data-t1'), x0 = n('data-x0'), x1 = n('data-x1');
    const val = (y) => vmin + (yb - y) / (yb - yt) * (vmax - vmin);
    const time = (x) => t0 + (x - x0) / (x1 - x0) * (t1 - t0);
    const lines = Array.from(svg.querySelectorAll('polyline'));
    const pts = lines.length ? lines[0].getAttribute('points').trim().split(/\s+/).map((p) => p.split(',').map(Number)) : [];
    const th = Array.from(svg.querySelectorAll('g.mon-th')).map((g) => {
      const l = g.querySelector('line');
      return { level: g.getAttribute('data-level'), y1: +l.getAttribute('y1'), y2: +l.getAttribute('y2'), value: val(+l.getAttribute('y1')), label: g.querySelector('text').textContent };
    });
    const ch = Array.from(svg.querySelectorAll('g.mon-change')).map((g) => {
      const l = g.querySelector('line');
      return { to: g.getAttribute('data-to'), t: time(+l.getAttribute('x1')) };
    });
    const label = document.getElementById(svg.getAttribute('aria-labelledby'));
    const desc = document.getElementById(svg.getAttribute('aria-describedby'));
    const last = pts.length ? pts[pts.length - 1] : null;
    return {
      polylines: lines.length, count: pts.length, thresholds: th, changes: ch,
      lastValue: last ? val(last[1]) : null, lastTime: last ? time(last[0]) : null,
      pxPerUnit: (yb - yt) / (vmax - vmin), msPerPx: (t1 - t0) / (x1 - x0),
      role: svg.getAttribute('role'), name: label ? label.textContent : '', description: desc ? desc.textContent : '',
      width: svg.getBoundingClientRect().width
    };
  }, sel);
}

async function main() {
  if (!BASE || !EXPECT.order) throw new Error('GA_URL and GA_EXPECT are required');
  const browser = await chromium.launch({
    executablePath: process.env.GA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60000
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, locale: 'zh-CN', timezoneId: 'UTC' });
    const page = await ctx.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push('console error: ' + m.text());
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(BASE + '/') && !/^(about|data):/.test(r.url())) problems.push('request outside the origin: ' + r.url());
    });
    page.on('response', (r) => {
      if (r.url().startsWith(BASE) && r.status() >= 400 && r.status() !== 401) problems.push(r.status() + ' for ' + r.url().slice(BASE.length));
    });
    const resp = await page.goto(BASE + '/console/');
    check(resp.status() === 200, 'GET /console/ is 200');
    await page.fill('#login-name', process.env.GA_OFFICER);
    await page.fill('#login-password', process.env.GA_PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.locator('#board').waitFor({ state: 'visible' });
    await page.locator('#tab-mon').tap();
    await page.locator('#mon-view').waitFor({ state: 'visible' });
    await page.locator('#mon-list .mon-point').nth(EXPECT.order.length - 1).waitFor();

    // --- the list: highest level first, the silent device marked ------------
    const list = await page.$$eval('#mon-list .mon-point', (bs) => bs.map((b) => ({
      station: b.getAttribute('data-station'), level: b.getAttribute('data-level'),
      offline: b.hasAttribute('data-offline'), text: b.textContent, tag: b.tagName
    })));
    check(JSON.stringify(list.map((x) => x.station)) === JSON.stringify(EXPECT.order),
      'hazard points ordered by level, the silent one first among the normal: ' + list.map((x) => x.station).join(' '));
    check(JSON.stringify(list.map((x) => x.level)) === JSON.stringify(EXPECT.levels), 'their levels ' + JSON.stringify(list.map((x) => x.level)));
    check(JSON.stringify(list.filter((x) => x.offline).map((x) => x.station)) === JSON.stringify(EXPECT.offline), 'only the silent point marked offline');
    check(/设备离线/.test(list[2].text) && /警报级/.test(list[0].text) && /正常/.test(list[3].text), 'level and offline written out, not colour alone');
    check(list.every((x) => x.tag === 'BUTTON'), 'each point is a button (keyboard reachable)');
    const summary = await page.locator('#mon-summary').textContent();
    check(/警报级 1 处/.test(summary) && /有设备离线 1 处/.test(summary), 'the summary line: ' + summary);

    // --- the red point, selected first ---------------------------------------
    const R = EXPECT.red;
    const judgedSel = '#mon-detail[data-station="' + R.station + '"] figure.mon-chart.judged';
    await page.locator(judgedSel).waitFor();
    check(await page.locator('.mon-point[data-station="' + R.station + '"]').getAttribute('aria-pressed') === 'true', 'the highest point is selected');
    const changes = await page.$$eval('#mon-detail .mon-changes li', (ls) => ls.map((l) => l.getAttribute('data-to')));
    check(JSON.stringify(changes) === JSON.stringify(R.changes.map((c) => c[0]).reverse()), 'what changed when, newest first: ' + changes.join(' '));
    await noHScroll(page, 'the monitoring view (390 px)');
    await page.screenshot({ path: path.join(SHOTS, 'console-monitoring.png'), fullPage: false });

    const c = await readChart(page, judgedSel);
    check(c.polylines === 1, 'one polyline in the judged chart');
    check(c.count === R.judged_points, 'the polyline has the API\'s ' + R.judged_points + ' points (' + c.count + ')');
    const tol = 1.5 / c.pxPerUnit; // a pixel and a half, as values
    const want = R.thresholds;
    check(c.thresholds.length === Object.keys(want).length, 'a threshold line per level: ' + c.thresholds.map((t) => t.level).join(' '));
    c.thresholds.forEach((t) => {
      check(t.y1 === t.y2 && near(t.value, want[t.level], tol),
        'the ' + t.level + ' line maps back to ' + want[t.level] + ' (' + t.value.toFixed(3) + ', ±' + tol.toFixed(3) + ')');
      check(t.label.indexOf(String(want[t.level])) >= 0, 'the ' + t.level + ' line is labelled with its value: ' + t.label);
    });
    check(near(c.lastValue, R.latest, tol), 'the last point maps back to the latest value ' + R.latest + ' (' + c.lastValue.toFixed(3) + ')');
    check(JSON.stringify(c.changes.map((x) => x.to)) === JSON.stringify(R.changes.map((x) => x[0])), 'a marker per level change: ' + c.changes.map((x) => x.to).join(' '));
    c.changes.forEach((m, i) => {
      check(near(m.t, R.changes[i][1], 2 * c.msPerPx), 'the ' + m.to + ' marker at its time (off by ' + Math.round((m.t - R.changes[i][1]) / 60000) + ' min)');
    });
    check(c.role === 'img' && /裂缝计/.test(c.name) && /24小时变化量/.test(c.name), 'the chart is named: ' + c.name);
    check(/警报级/.test(c.description) && c.description.indexOf(String(R.latest)) >= 0 && /警报级 20/.test(c.description),
      'its description says the latest value, level and thresholds: ' + c.description);
    check(c.width <= 390, 'the chart fits the phone (' + c.width + ' px)');
    const fig = page.locator(judgedSel);
    await fig.evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: path.join(SHOTS, 'console-monitoring-chart.png') });

    // the raw readings fold: one polyline of the raw series
    await page.locator('#mon-detail details.mon-raw summary').tap();
    const raw = await readChart(page, '#mon-detail details.mon-raw figure.mon-chart');
    check(raw.polylines === 1 && raw.count === R.raw_points, 'the raw reading chart has the API\'s ' + R.raw_points + ' points');
    check(raw.thresholds.length === 0, 'no threshold lines on raw cumulative readings');
    await noHScroll(page, 'the raw readings open');
    await noLatin(page, 'the monitoring view');

    // --- keyboard: Tab to the rain gauge's point, Enter ------------------------
    const Y = EXPECT.rain;
    await page.locator('#tab-mon').focus();
    let reached = false;
    for (let i = 0; i < 30 && !reached; i++) { // bounded
      await page.keyboard.press('Tab');
      reached = await page.evaluate((s) => document.activeElement && document.activeElement.getAttribute('data-station') === s, Y.station);
    }
    check(reached, 'the rain gauge\'s point reached with Tab');
    await page.keyboard.press('Enter');
    const rainSel = '#mon-detail[data-station="' + Y.station + '"] figure.mon-chart.judged';
    await page.locator(rainSel).waitFor();
    const rc = await readChart(page, rainSel);
    check(rc.polylines === 1 && rc.count === Y.judged_points && rc.count <= 600, 'the rain gauge\'s downsampled line drawn whole (' + rc.count + ' points)');
    check(/共 720 个读数/.test(rc.description), 'its description says the line is cut: ' + rc.description);
    check(await page.locator('.mon-point[data-station="' + Y.station + '"]').getAttribute('aria-pressed') === 'true', 'the chosen point is marked');
    await noHScroll(page, 'the rain gauge detail');

    // a poll later the page still holds the selection and the charts
    await page.waitForTimeout(3500);
    check(await page.locator(rainSel).count() === 1, 'the selection survives a poll');

    check(problems.length === 0, 'no page errors, no requests outside the origin, no refusals ' + JSON.stringify(problems));
    console.log('RESULT ok');
  } finally {
    await browser.close();
  }
}

main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
