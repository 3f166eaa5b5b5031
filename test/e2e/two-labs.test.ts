/**
 * Two labs at once in ONE state directory (issue 19 #1): each is known, the
 * control commands and `load --record` never guess between them, and
 * retention started by a third lab never deletes a live lab's run directory.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabEvent } from '../../src/events.js';
import { listRunDirs, liveLabs } from '../../src/runs/paths.js';
import { freePort, isAlive, runCli as cli, until } from '../helpers.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));

interface Lab {
  child: ChildProcess;
  port: number;
  runDir: () => string;
  events: LabEvent[];
  stderr: () => string;
  exited: Promise<unknown>;
}

async function startLab(t: TestContext, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<Lab> {
  const port = await freePort();
  const basePort = await freePort();
  const child = spawn(
    process.execPath,
    [BIN, 'start', '--json', '--port', String(port), '--base-port', String(basePort), '--metrics-port', '0', '--min', '1', '--max', '1', '--interval', '0.5', ...extra],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(child, 'exit');
  const events: LabEvent[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      events.push(JSON.parse(buf.slice(0, nl)) as LabEvent);
      buf = buf.slice(nl + 1);
    }
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    for (const e of events) if (e.type === 'worker' && e.pid !== undefined && isAlive(e.pid)) process.kill(e.pid, 'SIGKILL');
  });
  await until(`lab :${port} running and registered`, () => {
    if (child.exitCode !== null) throw new Error(`autoscale start exited ${child.exitCode}: ${err}`);
    return liveLabs(env).some((l) => l.pid === child.pid && l.phase === 'running' && l.controlSocket !== null);
  }, 20_000);
  const runDir = () => /recording this run in (.+)\n/.exec(err)![1];
  return { child, port, runDir, events, stderr: () => err, exited };
}

test('two labs in one state dir: --lab picks, no guessing, load --record lands in the aimed lab, a third lab with --keep-runs 2 spares the live run', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-two-labs-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const env = { ...process.env, XDG_STATE_HOME: state, HOME: join(state, 'home') };
  const a = await startLab(t, env);
  const b = await startLab(t, env);
  assert.notEqual(a.runDir(), b.runDir());

  // No lab named: refused with the list, one line per lab, exit 2.
  for (const argv of [['status'], ['stop'], ['scale', '1'], ['pause']]) {
    const r = await cli(argv, env);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0], /^error: 2 labs are running; name one with --lab <port or run>:$/);
    assert.equal(lines.length, 3, r.stderr);
    assert.ok(lines.some((l) => l.includes(`--lab ${a.port} `) && l.includes(a.runDir())));
    assert.ok(lines.some((l) => l.includes(`--lab ${b.port} `) && l.includes(b.runDir())));
  }
  assert.equal(a.child.exitCode, null, 'the refused stop stopped nothing');
  assert.equal(b.child.exitCode, null);

  // Named by port, or by run name.
  const byPort = JSON.parse((await cli(['status', '--json', '--lab', String(a.port)], env)).stdout) as { runDir: string };
  assert.equal(byPort.runDir, a.runDir());
  const byName = JSON.parse((await cli(['status', '--json', '--lab', basename(b.runDir())], env)).stdout) as { runDir: string };
  assert.equal(byName.runDir, b.runDir());
  const wrong = await cli(['status', '--lab', '1'], env);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^error: no running lab matches --lab 1; running are:\n {2}--lab \d+ /);

  // load --record aimed at A by its URL writes into A's run dir, not B's (the newest).
  const rec = await cli(['load', `http://127.0.0.1:${a.port}/`, '--record', '-d', '1', '-t', '1', '--json'], env);
  assert.equal(rec.code, 0, rec.stderr);
  assert.match(rec.stderr, new RegExp(`recording load in ${a.runDir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/load\\.ndjson`));
  assert.ok(existsSync(join(a.runDir(), 'load.ndjson')) && !existsSync(join(b.runDir(), 'load.ndjson')));
  // With no URL: refused (two labs), or aimed at the named lab's balancer (not :8000).
  assert.equal((await cli(['load', '--record', '-d', '1'], env)).code, 2);
  const noUrl = await cli(['load', '--record', '--lab', String(b.port), '-d', '1', '-t', '1', '--json'], env);
  assert.equal(noUrl.code, 0, `exit 0: the load reached B's balancer, every request answered (${noUrl.stderr})`);
  assert.ok(existsSync(join(b.runDir(), 'load.ndjson')), 'B recorded its own load');

  // Stop B by name; A is now the only lab and plain `status` finds it.
  const stopB = await cli(['stop', '--lab', String(b.port)], env);
  assert.equal(stopB.code, 0, stopB.stderr);
  await b.exited;
  assert.equal(a.child.exitCode, null);
  const status = await cli(['status', '--json'], env);
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { runDir: string }).runDir, a.runDir());

  // A third lab with --keep-runs 2: three run dirs exist (A live, B finished, C new); B goes, A stays.
  const c = await startLab(t, env, ['--keep-runs', '2']);
  assert.ok(existsSync(a.runDir()), "the live lab's run directory survived retention");
  assert.equal(existsSync(b.runDir()), false, 'the finished run was the one deleted');
  assert.deepEqual(listRunDirs(env), [a.runDir(), c.runDir()]);
  // A still records: its events file keeps growing.
  const size = () => readFileSync(join(a.runDir(), 'events.ndjson'), 'utf8').length;
  const before = size();
  await until('A records on', () => size() > before, 5000);
  for (const lab of [a, c]) assert.equal((await cli(['stop', '--lab', String(lab.port)], env)).code, 0);
  await Promise.all([a.exited, c.exited]);
  assert.deepEqual(liveLabs(env), []);
});
