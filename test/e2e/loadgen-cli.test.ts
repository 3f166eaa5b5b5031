import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { AutoscaleError } from '../../src/errors.js';
import { registerLoadCommand } from '../../src/loadgen/command.js';
import { startTarget } from '../fixtures/loadgen-server.js';

class Capture extends Writable {
  text = '';
  isTTY?: boolean;
  constructor(isTTY = false) {
    super();
    if (isTTY) this.isTTY = true;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function runLoad(args: string[], opts: { tty?: boolean } = {}) {
  const stdout = new Capture();
  const stderr = new Capture(opts.tty === true);
  let exitCode: number | null = null;
  const program = new Command('autoscale').exitOverride();
  registerLoadCommand(program, { stdout, stderr }, (code) => {
    exitCode = code;
  });
  await program.parseAsync(['load', ...args], { from: 'user' });
  return { stdout: stdout.text, stderr: stderr.text, exitCode };
}

const SUMMARY_FIELDS = [
  'url',
  'method',
  'mode',
  'profile',
  'threads',
  'rate',
  'workers',
  'timeoutMs',
  'durationSec',
  'elapsedSec',
  'interrupted',
  'requests',
  'errors',
  'throughput',
  'latencyMs',
  'servedBy',
  'mix',
];

test('--json: exactly one JSON object on stdout with the documented fields, nothing on stderr off a TTY', async (t) => {
  const target = await startTarget(t, { kind: 'ok' });
  const { stdout, stderr, exitCode } = await runLoad([target.url, '-t', '2', '-d', '0.5', '--json']);
  assert.equal(exitCode, 0);
  assert.equal(stderr, '');
  assert.equal(stdout.trim().split('\n').length, 1);
  const s = JSON.parse(stdout) as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(s), SUMMARY_FIELDS);
  assert.deepEqual(Object.keys(s.requests), ['sent', 'ok', 'failed', 'aborted', 'scheduled', 'late', 'unsent']);
  assert.deepEqual(Object.keys(s.errors), ['total', 'http', 'timeout', 'refused', 'reset', 'other', 'byCode']);
  assert.deepEqual(Object.keys(s.throughput), ['mean', 'p50', 'max']);
  assert.deepEqual(Object.keys(s.latencyMs), ['count', 'min', 'mean', 'stdev', 'p50', 'p90', 'p95', 'p99', 'p999', 'max']);
  assert.equal(s.requests.ok, target.received());
  assert.deepEqual(s.servedBy, target.servedBy);
  assert.equal(s.mode, 'closed');
});

test('text summary on stdout; on a TTY a live progress line on stderr, cleared at the end', async (t) => {
  const target = await startTarget(t, { kind: 'ok' });
  const { stdout, stderr } = await runLoad([target.url, '-t', '2', '-d', '1.2'], { tty: true });
  assert.match(stdout, /^GET http:\/\/127\.0\.0\.1:\d+\/: closed loop, 2 threads, constant/);
  assert.match(stdout, /Requests {4}[\d,]+ sent, [\d,]+ ok, 0 failed/);
  assert.match(stdout, /Latency .*\n\s+min [\d.]+ {2}mean/);
  assert.match(stdout, /Served by {3}w1: [\d,]+, w2: [\d,]+/);
  const CLEAR = '\r\x1b[2K';
  const lines = stderr.split(CLEAR).filter((l) => l !== '');
  assert.match(lines[0], /^1\/1\.2 s {2}[\d,]+ req\/s {2}errors 0 {2}p99 [\d.]+ ms {2}2 threads$/);
  assert.ok(stderr.startsWith(CLEAR) && stderr.endsWith(CLEAR), 'each update redraws the line; the last one clears it');
});

test('--out writes one NDJSON line per second with the documented fields', async (t) => {
  const target = await startTarget(t, { kind: 'ok' });
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-load-out-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'run.ndjson');
  await runLoad([target.url, '-t', '2', '-d', '2.5', '--out', out, '--json']);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | null>);
  assert.equal(lines.length, 3); // t = 1, 2 and the final 0.5 s
  for (const line of lines) {
    assert.deepEqual(Object.keys(line), ['t', 'at', 'dt', 'sent', 'ok', 'errors', 'rps', 'p50', 'p99', 'threads']);
    assert.ok(Math.abs(line.at! - Date.now()) < 60_000, 'at: the wall clock at the end of the interval');
  }
  // Timers fire on a 1 ms grid, so allow a little either side of 1, 2 and 2.5 s.
  for (const [i, expected] of [1, 2, 2.5].entries()) assert.ok(Math.abs((lines[i].t ?? 0) - expected) < 0.2, `line ${i}: t = ${lines[i].t}`);
  assert.equal(lines.reduce((n, l) => n + (l.ok ?? 0), 0), target.received());
  assert.equal(lines[0].threads, 2);
});

test('bad input: a UsageError (exit 2) before anything is sent', async (t) => {
  const target = await startTarget(t, { kind: 'ok' });
  const bad: [string[], string][] = [
    [[target.url, '--threads', 'abc'], '--threads must be a positive integer (received "abc")'],
    [['nope'], 'invalid URL "nope" (expected an absolute http:// URL, e.g. http://127.0.0.1:8000/)'],
    [[target.url, '--profile', 'zigzag'], '--profile must be one of constant, burst, ramp, step, spike, sine (received "zigzag")'],
    [[target.url, '--rate', '-5'], '--rate must be a positive number (received "-5")'],
    [[target.url, '--out', join(tmpdir(), 'no-such-dir-autoscale', 'x.ndjson')], `cannot write --out file "${join(tmpdir(), 'no-such-dir-autoscale', 'x.ndjson')}" (ENOENT)`],
  ];
  for (const [args, message] of bad) {
    await assert.rejects(runLoad(args), (err: unknown) => {
      assert.ok(err instanceof AutoscaleError);
      assert.equal(err.code, 'AS_ERR_USAGE');
      assert.equal(err.exitCode, 2);
      assert.equal(err.message, message);
      return true;
    });
  }
  assert.equal(target.received(), 0);
});

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/autoscale.js');

function spawnCli(args: string[]) {
  assert.ok(existsSync(join(root, 'dist/cli.js')), 'dist/ is missing: run `npx tsc -p tsconfig.build.json` before this test');
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

test('real CLI: bad input prints one line and exits 2', async (t) => {
  const { child, done } = spawnCli(['load', '--threads', 'abc']);
  t.after(() => child.kill('SIGKILL'));
  const r = await done;
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'error: --threads must be a positive integer (received "abc")\n');
});

test('real CLI: Ctrl+C (SIGINT) stops the run and prints the partial summary, exit 0', async (t) => {
  const target = await startTarget(t, { kind: 'ok' });
  const { child, done } = spawnCli(['load', target.url, '-t', '2', '-d', '60', '--json']);
  t.after(() => child.kill('SIGKILL'));
  // Wait until load is flowing, then interrupt.
  const deadline = Date.now() + 10_000;
  while (target.received() < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(target.received() >= 200, 'the CLI started sending');
  const signalled = Date.now();
  child.kill('SIGINT');
  const r = await done;
  assert.ok(Date.now() - signalled < 3000, `exited ${Date.now() - signalled} ms after SIGINT`);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { interrupted: boolean; elapsedSec: number; requests: { sent: number; ok: number; aborted: number } };
  assert.equal(s.interrupted, true);
  assert.ok(s.elapsedSec < 30);
  assert.ok(s.requests.ok > 0);
  assert.equal(s.requests.sent, s.requests.ok + s.requests.aborted);
  // Cancelled requests may or may not have reached the server; completed ones all did.
  assert.ok(s.requests.ok <= target.received() && target.received() <= s.requests.sent, `server saw ${target.received()}`);
});

test('real CLI: SIGINT in text mode says the run was interrupted', async (t) => {
  const target = await startTarget(t, { kind: 'ok' });
  const { child, done } = spawnCli(['load', target.url, '-t', '1', '-d', '60']);
  t.after(() => child.kill('SIGKILL'));
  const deadline = Date.now() + 10_000;
  while (target.received() < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /interrupted after [\d.]+ s of 60 s/);
  assert.match(r.stdout, /Requests {4}[\d,]+ sent, [\d,]+ ok, 0 failed/);
});
