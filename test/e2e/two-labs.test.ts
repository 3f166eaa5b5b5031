/**
 * Two labs at once in ONE state directory (issue 19 #1): each is known, the
 * control commands and `load --record` never guess between them, and
 * retention started by a third lab never deletes a live lab's run directory.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { listRunDirs, liveLabs } from '../../src/runs/paths.js';
import { Daemon } from '../../harness/daemon.js';
import { freePort, runCli as cli, until } from '../helpers.js';

/** One lab in the shared state dir `state` (harness/daemon.ts), a new run under it, operable; killed after the test. */
async function startLab(t: TestContext, state: string, home: string, extra: string[] = []): Promise<Daemon> {
  const lab = new Daemon({
    port: await freePort(),
    basePort: await freePort(),
    runDir: null,
    stateDir: state,
    env: { HOME: home },
    args: ['--metrics-port', '0', '--min', '1', '--max', '1', '--interval', '0.5', ...extra],
  });
  t.after(() => lab.cleanup());
  await lab.waitOperable();
  return lab;
}

/** The run directory the lab records into. */
const runDir = (lab: Daemon): string => lab.runDirOf()!;

test('two labs in one state dir: --lab picks, no guessing, load --record lands in the aimed lab, a third lab with --keep-runs 2 spares the live run', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-two-labs-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const home = join(state, 'home');
  const env = { ...process.env, XDG_STATE_HOME: state, HOME: home };
  const a = await startLab(t, state, home);
  const b = await startLab(t, state, home);
  assert.notEqual(runDir(a), runDir(b));

  // No lab named: refused with the list, one line per lab, exit 2.
  for (const argv of [['status'], ['stop'], ['scale', '1'], ['pause']]) {
    const r = await cli(argv, env);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0], /^error: 2 labs are running; name one with --lab <port or run>:$/);
    assert.equal(lines.length, 3, r.stderr);
    assert.ok(lines.some((l) => l.includes(`--lab ${a.port} `) && l.includes(runDir(a))));
    assert.ok(lines.some((l) => l.includes(`--lab ${b.port} `) && l.includes(runDir(b))));
  }
  assert.equal(a.child.exitCode, null, 'the refused stop stopped nothing');
  assert.equal(b.child.exitCode, null);

  // Named by port, or by run name.
  const byPort = JSON.parse((await cli(['status', '--json', '--lab', String(a.port)], env)).stdout) as { runDir: string };
  assert.equal(byPort.runDir, runDir(a));
  const byName = JSON.parse((await cli(['status', '--json', '--lab', basename(runDir(b))], env)).stdout) as { runDir: string };
  assert.equal(byName.runDir, runDir(b));
  const wrong = await cli(['status', '--lab', '1'], env);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^error: no running lab matches --lab 1; running are:\n {2}--lab \d+ /);

  // load --record aimed at A by its URL writes into A's run dir, not B's (the newest).
  const rec = await cli(['load', `http://127.0.0.1:${a.port}/`, '--record', '-d', '1', '-t', '1', '--json'], env);
  assert.equal(rec.code, 0, rec.stderr);
  assert.match(rec.stderr, new RegExp(`recording load in ${runDir(a).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/load\\.ndjson`));
  assert.ok(existsSync(join(runDir(a), 'load.ndjson')) && !existsSync(join(runDir(b), 'load.ndjson')));
  // With no URL: refused (two labs), or aimed at the named lab's balancer (not :8000).
  assert.equal((await cli(['load', '--record', '-d', '1'], env)).code, 2);
  const noUrl = await cli(['load', '--record', '--lab', String(b.port), '-d', '1', '-t', '1', '--json'], env);
  assert.equal(noUrl.code, 0, `exit 0: the load reached B's balancer, every request answered (${noUrl.stderr})`);
  assert.ok(existsSync(join(runDir(b), 'load.ndjson')), 'B recorded its own load');

  // Stop B by name; A is now the only lab and plain `status` finds it.
  const stopB = await cli(['stop', '--lab', String(b.port)], env);
  assert.equal(stopB.code, 0, stopB.stderr);
  await b.exited;
  assert.equal(a.child.exitCode, null);
  const status = await cli(['status', '--json'], env);
  assert.equal(status.code, 0, status.stderr);
  assert.equal((JSON.parse(status.stdout) as { runDir: string }).runDir, runDir(a));

  // A third lab with --keep-runs 2: three run dirs exist (A live, B finished, C new); B goes, A stays.
  const c = await startLab(t, state, home, ['--keep-runs', '2']);
  assert.ok(existsSync(runDir(a)), "the live lab's run directory survived retention");
  assert.equal(existsSync(runDir(b)), false, 'the finished run was the one deleted');
  assert.deepEqual(listRunDirs(env), [runDir(a), runDir(c)]);
  // A still records: its events file keeps growing.
  const size = () => readFileSync(join(runDir(a), 'events.ndjson'), 'utf8').length;
  const before = size();
  await until('A records on', () => size() > before, 5000);
  for (const lab of [a, c]) assert.equal((await cli(['stop', '--lab', String(lab.port)], env)).code, 0);
  await Promise.all([a.exited, c.exited]);
  assert.deepEqual(liveLabs(env), []);
});
