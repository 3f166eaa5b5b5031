/**
 * `autoscale --help` and `autoscale status` start without commander or any
 * other command's modules: the modules each process loads are recorded by a
 * loader hook and checked (a list, not a timing, so it holds on a busy machine).
 * bench/cli-startup.ts measures the time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN } from '../../harness/daemon.js';
import { topLevelHelp } from '../../src/cli.js';

function run(argv: string[], dir: string, env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string; modules: string[] } {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, BIN, ...argv], {
    encoding: 'utf8',
    env: { ...process.env, XDG_STATE_HOME: join(dir, 'state'), ...env },
    timeout: 20_000,
  });
  const lines = r.stderr.split('\n');
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: lines.filter((l) => !l.startsWith('LOADED ')).join('\n'),
    modules: lines.filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length)),
  };
}

function hookDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-cli-fast-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'hooks.mjs'), "import { writeSync } from 'node:fs';\nexport async function load(url, context, next) { writeSync(2, `LOADED ${url}\\n`); return next(url, context); }\n");
  writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  return dir;
}

/** Modules a quick path must not load: the full program, commander, any package, any lab, balancer, report… */
function heavy(modules: string[]): string[] {
  return modules.filter((m) => m.includes('/node_modules/') || /\/dist\/(cli\.js|lab|balancer|report|loadgen|supervisor|dashboard|web|simulate|replay|experiment|settings|store|app)\b/.test(m));
}

test('--help prints the full program\'s help, loading nothing heavy', (t) => {
  const dir = hookDir(t);
  const r = run(['--help'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, topLevelHelp());
  assert.ok(r.modules.some((m) => m.endsWith('/dist/cli-fast.js')), `the hook saw the modules: ${r.modules.join(' ')}`);
  assert.deepEqual(heavy(r.modules), []);
  const none = run([], dir);
  assert.equal(none.code, 2);
  assert.equal(none.stdout, '');
  assert.equal(none.stderr, topLevelHelp());
});

test('status with no lab: one line, exit 1, loading nothing heavy', (t) => {
  const dir = hookDir(t);
  const r = run(['status'], dir);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'error: no lab is running (start one with autoscale start)\n');
  assert.ok(r.modules.some((m) => m.endsWith('/dist/commands/control.js')), `the control command ran: ${r.modules.join(' ')}`);
  assert.deepEqual(heavy(r.modules), []);
});

test('anything else goes through the full program (so the check above can fail)', (t) => {
  const dir = hookDir(t);
  const r = run(['scale', '99'], dir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: <n> must be a whole number from 0 to 64 \(received "99"\)$/m);
  assert.ok(r.modules.some((m) => m.endsWith('/dist/cli.js')));
  assert.ok(heavy(r.modules).some((m) => m.includes('/node_modules/commander/')));
});
