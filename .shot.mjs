import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'] });
const p = await b.newPage({ viewport: { width: 1400, height: 900 } });
let url = null;
for (let i = 0; i < 120 && url === null; i++) {
  const m = /arm 1: live page (\S+)/.exec(readFileSync('/tmp/webexp-exp.err', 'utf8'));
  if (m) url = m[1]; else await new Promise((r) => setTimeout(r, 500));
}
await p.goto(url);
await p.waitForSelector('#experiment:not([hidden])', { timeout: 15000 });
await p.waitForTimeout(4000);
console.log(await p.textContent('#top, header').catch(() => ''), '|', await p.textContent('#experiment'));
await p.screenshot({ path: '/work/wt/web-shots/experiment-banner.png' });
for (let i = 0; i < 60; i++) {
  const t = await p.textContent('#experiment');
  if (t.includes('load over')) { console.log('after:', t); await p.screenshot({ path: '/tmp/webexp-after.png' }); break; }
  await p.waitForTimeout(1000);
}
await b.close();
