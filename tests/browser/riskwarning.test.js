// riskwarning.test.js - the public page of a risk warning in headless
// Chromium at 390 px (a phone) and 1366 px: the map fits without a
// horizontal scroll, every county of the product at a public level is
// coloured (and nothing blue), the legend is visible with readable text.
// Usage: node riskwarning.test.js URL COUNTS_JSON SHOTS_DIR
//   COUNTS_JSON: {"#d32f2f": n, "#f57c00": n, "#fbc02d": n, "#1976d2": 0}
// Exit status 0 when every check holds; the failures are printed.
const path = require('path');
const { chromium } = require('playwright-core');

async function main() {
  const [url, countsJson, shots] = process.argv.slice(2);
  const counts = JSON.parse(countsJson);
  const failures = [];
  const browser = await chromium.launch({
    executablePath: process.env.GA_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 60000,
  });
  try {
    for (const width of [390, 1366]) {
      const page = await browser.newPage({ viewport: { width, height: 844 } });
      const resp = await page.goto(url);
      if (!resp || resp.status() !== 200) failures.push(`${width}: status ${resp && resp.status()}`);
      const m = await page.evaluate(() => {
        const svg = document.querySelector('svg.rwmap');
        const box = svg ? svg.getBoundingClientRect() : null;
        const fills = {};
        for (const p of document.querySelectorAll('svg.rwmap path')) {
          const f = p.getAttribute('fill');
          fills[f] = (fills[f] || 0) + 1;
        }
        const items = [...document.querySelectorAll('ul.legend li')].map((li) => {
          const r = li.getBoundingClientRect();
          return { text: li.textContent, size: parseFloat(getComputedStyle(li).fontSize),
                   visible: r.width > 0 && r.height > 0 };
        });
        return { svgWidth: box ? box.width : 0, svgHeight: box ? box.height : 0, fills, items,
                 scrollWidth: document.documentElement.scrollWidth };
      });
      if (m.scrollWidth > width) failures.push(`${width}: page scrolls sideways (${m.scrollWidth} px)`);
      if (!(m.svgWidth > 200 && m.svgWidth <= width)) failures.push(`${width}: map ${m.svgWidth} px wide`);
      if (!(m.svgHeight > 100)) failures.push(`${width}: map ${m.svgHeight} px high`);
      for (const [fill, n] of Object.entries(counts)) {
        if ((m.fills[fill] || 0) !== n) failures.push(`${width}: ${m.fills[fill] || 0} counties ${fill}, want ${n}`);
      }
      if (m.items.length < 1) failures.push(`${width}: no legend`);
      for (const it of m.items) {
        if (!it.visible || it.size < 12) failures.push(`${width}: legend "${it.text}" ${it.size}px`);
      }
      await page.screenshot({ path: path.join(shots, `riskwarning-${width}.png`), fullPage: true });
      console.log(JSON.stringify({ width, ...m, items: m.items.length }));
      await page.close();
    }
  } finally {
    await browser.close();
  }
  for (const f of failures) console.error('FAIL ' + f);
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(2); });
