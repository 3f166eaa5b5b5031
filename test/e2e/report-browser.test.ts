/**
 * End to end: record a real short run (a lab, a few seconds of recorded load,
 * a scale-out forced by a 1 % threshold), render its report and open it in
 * headless Chromium (Debian's, driven by playwright-core): every chart drew
 * data, the decision table has the rows the events say, and no request left
 * the page. A screenshot is saved in the test's temp dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeReport } from '../../src/report/command.js';
import { runReplay } from '../../src/replay/run.js';
import { freePort, isAlive, until } from '../helpers.js';
import { CHROMIUM, launchChromium, openOffline } from '../../harness/chromium.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));

test('a recorded run renders a report whose four charts draw data in Chromium, offline', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium)` }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-report-e2e-'));
  const env = { ...process.env, XDG_STATE_HOME: state, HOME: join(state, 'home') };
  const port = await freePort();
  const basePort = await freePort();
  // Scale out above 1 % host CPU: any load forces it. Never scale in (below 0 %).
  const lab = spawn(process.execPath, [BIN, 'start', '--json', '--port', String(port), '--base-port', String(basePort), '--interval', '0.5', '--max', '2', '--scale-up', '1', '--scale-down', '0', '--warmup', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  lab.stdout.on('data', (d) => (out += d));
  lab.stderr.on('data', (d) => (err += d));
  const lines = () => out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const exited = new Promise((r) => lab.once('exit', r));
  t.after(async () => {
    if (lab.exitCode === null && lab.signalCode === null) lab.kill('SIGKILL');
    for (const e of lines()) if (e.type === 'worker' && typeof e.pid === 'number' && isAlive(e.pid)) process.kill(e.pid, 'SIGKILL');
    rmSync(state, { recursive: true, force: true });
  });
  await until('a ready worker', () => lines().some((e) => e.type === 'worker' && e.state === 'ready'), 20_000);

  const load = spawn(process.execPath, [BIN, 'load', `http://127.0.0.1:${port}/`, '--record', '-t', '4', '-d', '4', '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  t.after(() => {
    if (load.exitCode === null) load.kill('SIGKILL');
  });
  await new Promise((r) => load.once('exit', r));
  await until('the scale-out worker ready', () => lines().filter((e) => e.type === 'worker' && e.state === 'ready').length >= 2, 20_000);
  lab.kill('SIGTERM');
  await exited;
  const runDir = /run directory (\S+)/.exec(err)![1];
  assert.ok(existsSync(join(runDir, 'load.ndjson')), 'load --record wrote into the run dir');

  const { html } = writeReport(runDir, { env });
  const scales = readFileSync(join(runDir, 'events.ndjson'), 'utf8').split('\n').filter((l) => l.includes('"type":"scale"')).map((l) => JSON.parse(l) as { from: number; to: number });
  assert.ok(scales.length >= 1, 'the forced scale-out was recorded');

  const { context: browser, cleanup } = await launchChromium({ width: 1200, height: 900 });
  t.after(cleanup);
  // Every request the page makes is refused and recorded; only the report file itself may load.
  const { page, url, requests, errors } = await openOffline(browser, html);
  await page.waitForFunction(() => (window as unknown as { __charts?: unknown[] }).__charts?.length === 4, undefined, { timeout: 10_000 });

  const charts = await page.evaluate(() => {
    type U = { root: HTMLElement; series: { label: string }[]; data: (number | null)[][]; ctx: CanvasRenderingContext2D; bbox: { left: number; top: number; width: number; height: number } };
    return (window as unknown as { __charts: U[] }).__charts.map((u) => {
      // Non-white pixels inside the plot area: the lines really reached the canvas.
      const { left, top, width, height } = u.bbox;
      const px = u.ctx.getImageData(left, top, width, height).data;
      let inked = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && (px[i] < 235 || px[i + 1] < 235 || px[i + 2] < 235)) inked++;
      return {
        id: u.root.getAttribute('data-chart'),
        points: Object.fromEntries(u.series.slice(1).map((s, i) => [s.label, u.data[i + 1].filter((v) => v !== null && v !== undefined).length])),
        inked,
      };
    });
  });
  t.diagnostic(JSON.stringify(charts));
  assert.deepEqual(charts.map((c) => c.id), ['chart-metric', 'chart-instances', 'chart-traffic', 'chart-latency']);
  const [metric, instances, traffic, latency] = charts;
  assert.ok(metric.points['host CPU (drives scaling)'] >= 3, 'CPU per tick');
  assert.ok(instances.points.ready >= 3 && instances.points.desired >= 3, 'instance steps');
  assert.ok(traffic.points['through the balancer (req/s)'] >= 3, 'balancer req/s');
  assert.ok(traffic.points['offered by autoscale load (req/s)'] >= 3, 'offered rate from load.ndjson');
  assert.ok(latency.points.p99 >= 1, 'latency');
  for (const c of charts) assert.ok(c.inked > 500, `${c.id} drew on its canvas (${c.inked} px)`);

  const rows = await page.$$eval('#decisions tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  assert.deepEqual(rows.map((r) => r[1]), scales.map((s) => `${s.from} → ${s.to}`));
  assert.ok(rows.every((r) => r[2] === 'policy'));
  assert.deepEqual(requests, [], 'no network request left the page');
  assert.deepEqual(errors, []);
  const shot = join(state, 'report.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot ${shot}`);

  // autoscale replay --html: the same page, re-rendered with every replayed policy's instances on a fifth chart.
  const replayed = runReplay(runDir, {}, { html: true, compare: ['--scale-up 90'] }, env);
  assert.match(replayed, new RegExp(`report: +${html.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(the replayed instances`));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { __charts?: unknown[] }).__charts?.length === 5, undefined, { timeout: 10_000 });
  const replay = await page.evaluate(() => {
    type U = { root: HTMLElement; series: { label: string }[]; data: (number | null)[][]; scales: { x: { min: number; max: number } } };
    const cs = (window as unknown as { __charts: U[] }).__charts;
    const u = cs.find((c) => c.root.getAttribute('data-chart') === 'chart-replay')!;
    const inst = cs.find((c) => c.root.getAttribute('data-chart') === 'chart-instances')!;
    return {
      order: cs.map((c) => c.root.getAttribute('data-chart')),
      points: Object.fromEntries(u.series.slice(1).map((s, i) => [s.label, u.data[i + 1].filter((v) => v !== null && v !== undefined).length])),
      sameAxis: u.scales.x.min === inst.scales.x.min && u.scales.x.max === inst.scales.x.max,
      text: document.getElementById('replay-text')?.textContent ?? '',
    };
  });
  t.diagnostic(JSON.stringify(replay.points));
  assert.deepEqual(replay.order, ['chart-metric', 'chart-instances', 'chart-replay', 'chart-traffic', 'chart-latency']);
  assert.deepEqual(Object.keys(replay.points), ['recorded run', 'replay: recorded policy', 'replay: --scale-up 90']);
  for (const [label, n] of Object.entries(replay.points)) assert.ok(n >= 2, `${label} has points on the replay chart (${n})`);
  assert.ok(replay.sameAxis, 'the replay chart shares the run\'s time axis');
  assert.match(replay.text, /fidelity: replayed under its own policy/);
  // report.md carries the same replay text in a section of its own.
  const md = readFileSync(join(runDir, 'report.md'), 'utf8');
  assert.match(md, /## What if: replayed policies\n[^]*```\n[^]*fidelity: replayed under its own policy[^]*replay: --scale-up 90[^]*\n```\n/);
  assert.deepEqual(requests, [], 'no network request left the page');
  assert.deepEqual(errors, []);
  await page.screenshot({ path: process.env.AS_REPORT_SHOT ?? join(state, 'report-replay.png'), fullPage: true });
});
