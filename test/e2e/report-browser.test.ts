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
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
      text: document.getElementById('replay-model')?.textContent ?? '',
      // The comparison is a table: every row, every column inside the page, nothing scrolled away.
      header: [...document.querySelectorAll('#replay-table thead th')].map((th) => th.textContent),
      rows: [...document.querySelectorAll('#replay-table tbody tr')].map((tr) => tr.querySelector('td')?.textContent),
      lastColumnRight: Math.max(...[...document.querySelectorAll('#replay-table tr > :last-child')].map((c) => c.getBoundingClientRect().right)),
      pageWidth: document.documentElement.clientWidth,
      tableFits: (() => {
        const t = document.getElementById('replay-table')!;
        return t.scrollWidth <= t.parentElement!.clientWidth;
      })(),
    };
  });
  t.diagnostic(JSON.stringify(replay.points));
  assert.deepEqual(replay.order, ['chart-metric', 'chart-instances', 'chart-replay', 'chart-traffic', 'chart-latency']);
  assert.deepEqual(Object.keys(replay.points), ['recorded run', 'replay: recorded policy', 'replay: --scale-up 90']);
  for (const [label, n] of Object.entries(replay.points)) assert.ok(n >= 2, `${label} has points on the replay chart (${n})`);
  assert.ok(replay.sameAxis, 'the replay chart shares the run\'s time axis');
  assert.match(replay.text, /fidelityreplayed under its own policy/);
  assert.equal(replay.header[0], 'policy');
  assert.equal(replay.header.at(-1), 'failed requests');
  assert.deepEqual(replay.rows, ['recorded run', 'replay: recorded policy', 'replay: --scale-up 90']);
  assert.ok(replay.tableFits && replay.lastColumnRight <= replay.pageWidth, `the last column is on the page (${replay.lastColumnRight} of ${replay.pageWidth} px)`);
  // report.md carries the same table and account in a section of its own.
  const md = readFileSync(join(runDir, 'report.md'), 'utf8');
  assert.match(md, /## What if: replayed policies\n[^]*\| policy \| peak \|[^]*\| replay: --scale-up 90 \|[^]*\| fidelity \| replayed under its own policy/);
  assert.deepEqual(requests, [], 'no network request left the page');
  assert.deepEqual(errors, []);
  await page.screenshot({ path: process.env.AS_REPORT_SHOT ?? join(state, 'report-replay.png'), fullPage: true });
});

test('an L4 run: the empty latency chart says why; scale markers\' labels sit on white beside their lines, never crossed by one', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-report-l4-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = {
    min: 1, max: 4, scaleUp: 35, scaleDown: 15, interval: 3, cooldown: 15, port: 8000, basePort: 5000, host: '127.0.0.1', work: 10, metric: 'host-cpu', policy: 'threshold',
    target: 50, tolerance: 0.1, scaleDownWindow: 30, maxStepPods: 4, maxStepPercent: 100, warmup: 6, idle: 60, holdMax: 1000, holdTimeout: 10, metricsPort: 0,
    upstreamTimeout: 30, balancer: 'l4', maxConnRequests: 0, maxConnAge: 0,
  };
  const traffic = { rpm: 0, rps: 90, p50: null, p95: null, p99: null, inFlight: 0, total: 0, errors: 0 };
  const lines: object[] = [{ schema: 1, type: 'started', t: 0, startedAt: 1_000_000, balancerUrl: 'http://127.0.0.1:8000', runDir: dir, pid: 1, config }];
  for (let s = 3; s <= 120; s += 3) lines.push({ type: 'tick', t: s * 1000, cpu: 50, metric: 'host-cpu', value: 50, warming: 0, instances: 2, ready: 2, desired: 2, action: 'hold', reason: 'x', paused: false, traffic, workers: [] });
  // Two actions 1 s apart (their labels would overlap) and one 1 s before the end (its label goes left of its line).
  for (const [t, from, to] of [[30, 1, 2], [31, 2, 3], [60, 3, 2], [119, 2, 3]]) lines.push({ type: 'scale', t: t * 1000, direction: to > from ? 'out' : 'in', from, to, reason: 'x', manual: false });
  lines.push({ type: 'stopped', t: 120_000, reason: 'test', forced: 0 });
  writeFileSync(join(dir, 'events.ndjson'), lines.map((l) => JSON.stringify(l) + '\n').join(''));
  const { html } = writeReport(dir, { env: { ...process.env, XDG_STATE_HOME: dir } });
  const { context: browser, cleanup } = await launchChromium({ width: 1200, height: 900 });
  t.after(cleanup);
  const { page, requests, errors } = await openOffline(browser, html);
  await page.waitForFunction(() => (window as unknown as { __charts?: unknown[] }).__charts?.length === 4, undefined, { timeout: 10_000 });
  // Pixels are read in the page and judged here (a helper function inside evaluate() would not survive tsx's transform).
  const raw = await page.evaluate(() => {
    type U = { root: HTMLElement; ctx: CanvasRenderingContext2D; bbox: { left: number; top: number; width: number; height: number }; valToPos: (v: number, s: string, c: boolean) => number };
    const cs = (window as unknown as { __charts: U[] }).__charts;
    const latency = cs.find((c) => c.root.getAttribute('data-chart') === 'chart-latency')!;
    const metric = cs.find((c) => c.root.getAttribute('data-chart') === 'chart-metric')!;
    const { left, top, width, height } = latency.bbox;
    const dpr = devicePixelRatio;
    const y = Math.round(metric.bbox.top + 10 * dpr);
    // The label row of the metric chart, 12 px high: [x][y][rgba] as one flat array, row by row.
    const row = metric.ctx.getImageData(metric.bbox.left, y - 6 * dpr, metric.bbox.width, 12 * dpr);
    return {
      title: latency.root.querySelector('.u-title')?.textContent ?? '',
      // The middle band of the empty plot: the explanation's text is the only ink there.
      middle: Array.from(latency.ctx.getImageData(left + width * 0.2, top + height * 0.35, width * 0.6, height * 0.3).data),
      row: { data: Array.from(row.data), width: row.width, height: row.height },
      x30: Math.round(metric.valToPos(30, 'x', true) - metric.bbox.left),
      x31: Math.round(metric.valToPos(31, 'x', true) - metric.bbox.left),
      x119: Math.round(metric.valToPos(119, 'x', true) - metric.bbox.left),
      dpr,
    };
  });
  let inked = 0;
  for (let i = 0; i < raw.middle.length; i += 4) if (raw.middle[i + 3] > 150 && raw.middle[i] < 200) inked++;
  const column = (x: number) => Array.from({ length: raw.row.height }, (_, yy) => raw.row.data.slice((yy * raw.row.width + x) * 4, (yy * raw.row.width + x) * 4 + 4));
  const green = (x: number) => column(x).some(([r, g, b]) => g > 120 && r < 80 && b < 100);
  const dark = (x0: number, x1: number) => {
    let n = 0;
    for (let x = Math.max(0, x0); x < Math.min(raw.row.width, x1); x++) n += column(x).filter(([r, g, , a]) => a > 150 && r < 120 && g < 150).length;
    return n;
  };
  const seen = {
    title: raw.title,
    inked,
    // x31's line runs where the label of 30 is: the label's box is drawn over it.
    lineUnderLabel: green(raw.x31),
    leftOfLast: dark(raw.x119 - 30 * raw.dpr, raw.x119 - 2 * raw.dpr),
    rightOfLast: dark(raw.x119 + 3 * raw.dpr, raw.x119 + 30 * raw.dpr),
  };
  t.diagnostic(JSON.stringify(seen));
  await page.screenshot({ path: process.env.AS_REPORT_L4_SHOT ?? join(dir, 'report-l4.png'), fullPage: true });
  await page.locator('#chart-metric').screenshot({ path: (process.env.AS_REPORT_L4_SHOT ?? join(dir, 'report-l4.png')).replace(/\.png$/, '-metric.png') });
  assert.match(seen.title, /not measured under --balancer l4/);
  assert.ok(seen.inked > 200, `the empty latency chart carries its explanation (${seen.inked} px)`);
  assert.ok(!seen.lineUnderLabel, 'the next marker\'s line does not cross the first one\'s label');
  assert.ok(seen.leftOfLast > 5 && seen.rightOfLast === 0, `the label of an action at the right edge is left of its line (${seen.leftOfLast} / ${seen.rightOfLast})`);
  assert.deepEqual(requests, []);
  assert.deepEqual(errors, []);

  // L7, one tick of latency between idle ticks (a cold start's requests): no line to draw, so a dot.
  const l7 = join(dir, 'l7');
  mkdirSync(l7);
  const ticks = lines.filter((l) => (l as { type: string }).type === 'tick').map((l, i) => ({ ...l, traffic: i === 10 ? { ...traffic, p50: 2800, p95: 2900, p99: 2950 } : traffic }));
  writeFileSync(join(l7, 'events.ndjson'), [{ ...(lines[0] as object), config: { ...config, balancer: 'l7' } }, ...ticks, lines.at(-1)].map((l) => JSON.stringify(l) + '\n').join(''));
  const second = await openOffline(browser, writeReport(l7, { env: { ...process.env, XDG_STATE_HOME: dir } }).html);
  await second.page.waitForFunction(() => (window as unknown as { __charts?: unknown[] }).__charts?.length === 4, undefined, { timeout: 10_000 });
  const dot = await second.page.evaluate(() => {
    type U = { root: HTMLElement; ctx: CanvasRenderingContext2D; bbox: { left: number; top: number; width: number; height: number } };
    const u = (window as unknown as { __charts: U[] }).__charts.find((c) => c.root.getAttribute('data-chart') === 'chart-latency')!;
    const px = u.ctx.getImageData(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height).data;
    let red = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 150 && px[i] > 150 && px[i + 1] < 90) red++;
    return red;
  });
  assert.ok(dot > 10, `the lone latency tick is drawn (${dot} red px)`);
});
