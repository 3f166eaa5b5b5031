/** The report's "Visits by worker": this run's acknowledged visits per worker, from the lab's store reports. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LabEvent, LabSettings, StoreStatus } from '../../src/events.js';
import { aggregate, runVisits } from '../../src/report/aggregate.js';
import { parseEvents } from '../../src/runs/read.js';
import { renderHtml } from '../../src/report/render-html.js';
import { renderMarkdown } from '../../src/report/render-md.js';
import { recordLine } from '../../src/runs/recorder.js';

const SETTINGS: LabSettings = {
  min: 1, max: 4, scaleUp: 35, scaleDown: 15, interval: 3, cooldown: 15, port: 8000, basePort: 5000, host: '127.0.0.1', work: 10,
  metric: 'host-cpu', policy: 'threshold', target: 50, tolerance: 0.1, scaleDownWindow: 30, maxStepPods: 4, maxStepPercent: 100, warmup: 6,
  idle: 60, holdMax: 1000, holdTimeout: 10, metricsPort: 9464, upstreamTimeout: 30, balancer: 'l7', maxConnRequests: 0, maxConnAge: 0,
};
const store = (visitsByWorker: Record<string, number>): StoreStatus => {
  const visits = Object.values(visitsByWorker).reduce((a, b) => a + b, 0);
  return { kind: 'sqlite', where: '/r/visits.db', up: true, detail: 'ok', total: visits, visits, visitsByWorker };
};
const started: LabEvent = { type: 'started', t: 0, startedAt: 1_000_000, balancerUrl: 'http://127.0.0.1:8000', runDir: '/r', pid: 42, config: SETTINGS, store: { kind: 'sqlite', where: '/r/visits.db' } };
const tick = (t: number, s?: StoreStatus): LabEvent =>
  ({ type: 'tick', t, cpu: 10, metric: 'host-cpu', value: 10, metrics: {}, warming: 0, instances: 2, ready: 2, desired: 2, action: 'hold', reason: '', paused: false,
    traffic: { rpm: 0, rps: 0, p50: null, p95: null, p99: null, inFlight: 0, total: 0, errors: 0 }, workers: [], ...(s ? { store: s } : {}) }) as unknown as LabEvent;

test('visits by worker: the final counts of the stopped event win over earlier ticks; shares add up; rendered in Markdown and HTML', () => {
  const events = [started, tick(3000, store({ 1: 10, 2: 9 })), tick(6000, store({ 1: 40, 2: 39, 3: 1 })), { type: 'stopped', t: 7000, reason: 'received SIGTERM', forced: 0, store: store({ 1: 60, 2: 59, 3: 1 }) } as LabEvent];
  const v = runVisits(events.slice(1))!;
  assert.equal(v.total, 120);
  assert.equal(v.source, 'stopped');
  assert.deepEqual(v.byWorker.map((w) => [w.worker, w.visits]), [[1, 60], [2, 59], [3, 1]]);
  assert.equal(Math.round(v.byWorker.reduce((s, w) => s + w.share, 0)), 100);

  const parsed = parseEvents(events.map(recordLine).join(''), 'events.ndjson');
  const model = aggregate({ parsed, load: null });
  const md = renderMarkdown(model, 'test');
  assert.match(md, /## Visits by worker\n\n120 visits acknowledged in this run, served by 3 workers, stored in one shared SQLite database \(\/r\/visits\.db\); counts as of the end of the run\./);
  assert.match(md, /\| worker 1 \| 60 \| 50\.0 % \|/);
  const html = renderHtml(model, 'test', { label: 'cpu', unit: ' %' }, { uplotJs: '/*u*/', uplotCss: '/*c*/', pageJs: '/*p*/' }, 'gen');
  assert.match(html, /<h2>Visits by worker<\/h2>/);
  assert.match(html, /id="visits"/);
});

test('visits by worker: a run killed before "stopped" uses the last tick that had counts; a run without a store has no section', () => {
  const killed = runVisits([tick(3000, store({ 1: 5 })), tick(6000)])!;
  assert.equal(killed.total, 5);
  assert.equal(killed.source, 'at +00:03');
  assert.equal(runVisits([tick(3000)]), null);
  const parsed = parseEvents([{ ...started, store: undefined } as LabEvent, tick(3000)].map(recordLine).join(''), 'events.ndjson');
  assert.doesNotMatch(renderMarkdown(aggregate({ parsed, load: null }), 'x'), /Visits by worker/);
});

test('visits by worker: a run whose load never touched /visits says so in one line, no table of zeros', () => {
  const events = [started, tick(3000, store({ 1: 0, 2: 0 })), { type: 'stopped', t: 7000, reason: 'received SIGTERM', forced: 0, store: store({ 1: 0, 2: 0 }) } as LabEvent];
  const model = aggregate({ parsed: parseEvents(events.map(recordLine).join(''), 'events.ndjson'), load: null });
  const md = renderMarkdown(model, 'test');
  assert.match(md, /## Visits by worker\n\nNo visits in this run: no worker acknowledged a POST /);
  assert.doesNotMatch(md, /\| worker 1 \|/);
  const html = renderHtml(model, 'test', { label: 'cpu', unit: ' %' }, { uplotJs: '/*u*/', uplotCss: '/*c*/', pageJs: '/*p*/' }, 'gen');
  assert.match(html, /<p id="visits-intro">No visits in this run/);
  assert.doesNotMatch(html, /id="visits"/);
});
