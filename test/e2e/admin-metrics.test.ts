/** The lab's own Prometheus metrics: real lab, real scrape, promtool when installed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { createLabMetrics, l7MetricsSource } from '../../src/admin/metrics.js';
import { AdminServer } from '../../src/admin/server.js';
import { main } from '../../src/cli.js';
import { freePort, startLab, until } from '../helpers.js';

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no series ${series}`);
  return Number(line.slice(series.length + 1));
}

test('/metrics: workers, desired, metrics, scale actions, requests by class and worker, latency histogram; promtool accepts it', async (t) => {
  const cpu = { value: 20 };
  const { lab } = await startLab(t, { max: '3' }, cpu);
  const admin = new AdminServer(
    createLabMetrics({
      events: lab.events,
      metric: lab.config.metric,
      desired: () => lab.supervisor.desired,
      paused: () => lab.paused,
      workers: () => lab.workers(),
      l7: l7MetricsSource(lab.balancer),
    }),
  );
  await admin.listen(0);
  t.after(() => admin.close());
  await until('a ready worker', () => lab.supervisor.counts().ready === 1, 20_000);
  await lab.command({ cmd: 'scale', n: 2 }, 'control socket');
  await until('two ready workers', () => lab.supervisor.counts().ready === 2, 20_000);
  for (let i = 0; i < 10; i++) await (await request(`${lab.balancer.url}/`)).body.dump();
  await new Promise((r) => setTimeout(r, 700)); // at least one 0.3 s tick since

  const res = await request(admin.url);
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const text = await res.body.text();
  assert.equal(value(text, 'autoscale_workers{state="ready"}'), 2);
  assert.equal(value(text, 'autoscale_workers_desired'), 2);
  assert.equal(value(text, 'autoscale_paused'), 1);
  assert.equal(value(text, 'autoscale_scale_actions_total{direction="out",trigger="manual"}'), 1);
  assert.equal(value(text, 'autoscale_metric_value{metric="host-cpu",driving="true"}'), 20);
  assert.equal(value(text, 'autoscale_host_cpu_ratio'), 0.2);
  assert.equal(value(text, 'autoscale_balancer_requests_total{status_class="2xx",worker="1"}') + value(text, 'autoscale_balancer_requests_total{status_class="2xx",worker="2"}'), 10);
  assert.equal(value(text, 'autoscale_balancer_request_duration_seconds_count'), 10);
  assert.equal(value(text, 'autoscale_balancer_request_duration_seconds_bucket{le="+Inf"}'), 10);
  assert.ok(value(text, 'autoscale_balancer_request_duration_seconds_sum') > 0);
  assert.equal(value(text, 'autoscale_commands_total{command="scale",source="control socket",result="ok"}'), 1);
  assert.equal(value(text, 'autoscale_held_requests'), 0);
  assert.match(text, /^autoscale_health_check_failures_total\{worker="1"\} 0$/m);
  assert.match(text, /^autoscale_worker_in_flight_requests\{worker="2"\} 0$/m);
  assert.match(text, /^process_cpu_seconds_total /m);

  // A worker that left keeps its counts (counters never go down).
  await lab.command({ cmd: 'scale', n: 1 }, 'control socket');
  await until('one worker', () => lab.supervisor.records().length === 1, 20_000);
  const after = await (await request(admin.url)).body.text();
  assert.equal(value(after, 'autoscale_balancer_requests_total{status_class="2xx",worker="1"}') + value(after, 'autoscale_balancer_requests_total{status_class="2xx",worker="2"}'), 10);
  assert.equal((await request(admin.url.replace('/metrics', '/'))).statusCode, 404);

  if (!hasPromtool) return t.diagnostic('promtool not installed: format check skipped (.ci/run installs it)');
  const check = spawnSync('promtool', ['check', 'metrics'], { input: after, encoding: 'utf8' });
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
});

test('a --metrics-port that is taken: exit 1 naming it, before any worker starts', async (t) => {
  const blocker = createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.after(() => blocker.close());
  const taken = (blocker.address() as { port: number }).port;
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-metrics-port-'));
  t.after(() => rmSync(runDir, { recursive: true, force: true }));
  let err = '';
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const stderr = new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) });
  const code = await main(['start', '--port', '0', '--base-port', String(await freePort()), '--metrics-port', String(taken), '--no-dashboard', '--run-dir', runDir], { stdout: sink, stderr });
  assert.equal(code, 1);
  assert.match(err, new RegExp(`^error: metrics port 127\\.0\\.0\\.1:${taken} is already in use \\(pick another with --metrics-port, or 0 to turn metrics off\\)$`, 'm'));
});
