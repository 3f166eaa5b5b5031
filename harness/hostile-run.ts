/**
 * A hostile recorded run, shared by test/e2e/report-hostile.test.ts and the
 * chaos row A7: a payload in every string field of every event type, absurd
 * numbers in the number fields; and a Chromium (Debian's, via playwright-core)
 * that opens a page and records every payload that ran and every request the
 * page tried to make (each refused).
 */
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, openOffline } from './chromium.js';


/** Each payload calls the page's exposed binding `pwned` (or sets a global) if it ever runs, with its name. */
export function payload(name: string): string {
  return [
    `</script><script>window.pwned('${name} script')</script>`,
    `"><img src=x onerror="window.pwned('${name} img')">`,
    `<svg onload="window.pwned('${name} svg')"></svg>`,
    `javascript:window.pwned('${name} url')`,
    `{{constructor.constructor('window.pwned(1)')()}}`,
    `<a href="http://127.0.0.1:9/${name}">link</a><link rel="stylesheet" href="http://127.0.0.1:9/${name}.css">`,
    `<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/${name}"><base href="http://127.0.0.1:9/">`,
    `<form action="http://127.0.0.1:9/"><button>go</button></form>`,
    `\u2028\u2029<!--`,
    `\n# heading ${name}\n| row | ${name} |\n> quote`,
  ].join(' ');
}

export const BIG = 1e308;

/** A run with `payload()` in every string field and absurd numbers, as the recorder would write it (schema 1). */
export function hostileRun(): string {
  const store = { kind: 'sqlite', where: payload('store.where'), up: true, detail: payload('store.detail'), total: BIG, visits: BIG, visitsByWorker: { 1: BIG, 2: 5 } };
  const traffic = { rpm: BIG, rps: BIG, p50: BIG, p95: BIG, p99: BIG, inFlight: BIG, total: BIG, errors: BIG };
  const worker = { id: 1, port: 65_535, pid: BIG, state: 'ready', healthy: true, cpu: BIG, rss: BIG, rps: BIG, inFlight: BIG, restarts: BIG, startedAt: 0, readyAt: 1, store: { up: true, detail: payload('worker.store.detail'), visits: BIG } };
  const config = {
    min: 1, max: BIG, scaleUp: BIG, scaleDown: BIG, interval: BIG, cooldown: BIG, port: BIG, basePort: BIG, host: payload('config.host'), work: BIG,
    metric: payload('config.metric'), policy: 'threshold', target: BIG, tolerance: BIG, scaleDownWindow: BIG, maxStepPods: BIG, maxStepPercent: BIG, warmup: BIG,
    idle: BIG, holdMax: BIG, holdTimeout: BIG, metricsPort: BIG, upstreamTimeout: BIG, balancer: 'l7', maxConnRequests: BIG, maxConnAge: BIG,
  };
  const day = 86_400_000;
  const events: object[] = [
    { type: 'started', schema: 1, t: 0, startedAt: 1_800_000_000_000, balancerUrl: payload('balancerUrl'), runDir: payload('runDir'), pid: BIG, config, host: { cores: 2, memoryBytes: BIG }, store: { kind: 'sqlite', where: payload('started.store.where') } },
    { type: 'worker', t: 1, id: 1, port: 1, pid: BIG, from: null, state: 'starting', detail: payload('worker.detail') },
    { type: 'worker', t: 2, id: 1, port: 1, pid: BIG, from: 'starting', state: 'ready', detail: payload('worker.detail.ready') },
    { type: 'tick', t: 3000, cpu: BIG, cpuSplit: { lab: BIG, other: BIG }, metric: payload('tick.metric'), value: BIG, metrics: { 'host-cpu': BIG }, warming: BIG, instances: BIG, ready: BIG, desired: BIG, action: payload('tick.action'), reason: payload('tick.reason'), paused: false, traffic, workers: [worker], store },
    { type: 'scale', t: 3001, direction: 'out', from: 1, to: BIG, reason: payload('scale.reason'), manual: false },
    { type: 'worker', t: 3002, id: 2, port: 1, from: null, state: 'starting', detail: `replacement ${payload('worker.replacement')}` },
    { type: 'worker', t: 3003, id: 2, port: 1, from: 'starting', state: 'crashed', detail: payload('worker.crash') },
    { type: 'worker', t: 3004, id: 1, port: 1, from: 'ready', state: 'exited', detail: `SIGKILL ${payload('worker.sigkill')}` },
    { type: 'health', t: 3005, id: 1, port: 1, healthy: false, detail: payload('health.detail') },
    { type: 'paused', t: 3006, paused: true },
    { type: 'stats', t: 3007, traffic, workers: [worker], store },
    { type: 'command', t: 3008, command: payload('command.command'), source: payload('command.source'), ok: false, message: payload('command.message') },
    { type: 'refresh', t: 3009, phase: 'failed', replaced: BIG, total: BIG, detail: payload('refresh.detail') },
    { type: 'cold-start', t: 3010, waitedMs: BIG, held: BIG, fromZero: true },
    { type: 'hint', t: 3011, text: payload('hint.text') },
    { type: 'note', t: 3012, note: payload('note.note') },
    { type: 'stopped', t: 365 * day, reason: payload('stopped.reason'), forced: BIG, store },
  ];
  return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
}

/** A load.ndjson with absurd numbers. */
export const hostileLoad = [
  { t: 1, at: 1_800_000_001_000, dt: 1, sent: BIG, ok: BIG, errors: BIG, rps: BIG, p50: BIG, p99: BIG, threads: BIG },
  { t: 2, at: 1_800_000_002_000, dt: 1, sent: BIG, ok: BIG, errors: BIG, rps: BIG, p50: null, p99: null, threads: 4 },
].map((l) => JSON.stringify(l)).join('\n') + '\n';

export interface Opened {
  context: BrowserContext;
  open: (file: string) => Promise<{ fired: string[]; requests: string[]; errors: string[]; console: string[]; url: string; finalUrl: string; page: Page }>;
  close: () => Promise<void>;
}

/** A headless Chromium with a fresh profile; every payload calls its exposed binding `pwned`. close() ends it and removes the profile. */
export async function browser(): Promise<Opened> {
  const { context, cleanup: close } = await launchChromium({ width: 1200, height: 900 });
  const fired: string[] = [];
  // The binding every payload would call: a call is a script that ran.
  await context.exposeBinding('pwned', (_source, what: unknown) => {
    fired.push(String(what));
  });
  return {
    context,
    close,
    open: async (file) => {
      const { page, url, requests, errors, console } = await openOffline(context, file);
      await page.waitForTimeout(300);
      return { fired, requests, errors, console, url, finalUrl: page.url(), page };
    },
  };
}
