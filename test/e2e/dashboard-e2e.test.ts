/**
 * End to end: `autoscale start` with its dashboard inside a real terminal
 * (tmux, on its own server socket), read back through `capture-pane`, driven
 * by key presses. Checks what a student would see and that `q` leaves no
 * process behind and restores the terminal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, isAlive, sleep } from '../helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const socket = `autoscale-test-${process.pid}`;
const session = `autoscale-test-${process.pid}`;

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function tmux(args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 5000, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function capture(): string {
  return tmux(['capture-pane', '-p', '-t', session]);
}

function sessionAlive(): boolean {
  try {
    tmux(['has-session', '-t', session]);
    return true;
  } catch {
    return false;
  }
}

/** Poll `probe` every 200 ms until it returns a value, or fail after `ms` showing the last screen. */
async function waitFor<T>(what: string, ms: number, probe: () => T | null | undefined | false): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      let last: string;
      try {
        last = capture();
      } catch {
        last = '(no pane)';
      }
      assert.fail(`timed out after ${ms} ms waiting for ${what}; screen:\n${last}`);
    }
    await sleep(200);
  }
}

/** Worker rows of the instance table: id, port, pid, state. */
function tableRows(screen: string): Array<{ id: number; port: number; pid: number; state: string }> {
  const rows = [];
  for (const m of screen.matchAll(/^\S?\s*(\d+)\s+(\d{2,5})\s+(\d+)\s+(starting|ready|draining|stopping|unhealthy)\s/gm)) {
    rows.push({ id: Number(m[1]), port: Number(m[2]), pid: Number(m[3]), state: m[4] });
  }
  return rows;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('autoscale start shows the dashboard in a terminal, scales on +, and q stops everything', { timeout: 90_000 }, async (t) => {
  if (!hasTmux()) {
    t.skip('tmux is not installed (the CI script installs it)');
    return;
  }
  assert.ok(existsSync(join(root, 'dist', 'cli.js')), 'dist/ is missing: run `npm run build` first (npm test does)');

  const port = await freePort();
  const basePort = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-dash-e2e-'));
  const seen = new Set<number>();
  let socketPath: string | null = null;
  t.after(() => {
    try {
      tmux(['kill-session', '-t', session]);
    } catch {
      // already gone: the normal outcome
    }
    try {
      tmux(['kill-server']);
    } catch {
      // no server left on our socket
    }
    for (const pid of seen) {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(runDir, { recursive: true, force: true });
    // tmux leaves its socket file behind when the server exits with its last session.
    if (socketPath) rmSync(socketPath, { force: true });
  });

  // Thresholds nothing can cross (CPU > 100 %, < 0 %): only the + key may add a worker,
  // whatever else loads this machine. After the daemon exits, the shell prints its code,
  // so the pane shows whether the terminal came back clean.
  const command = [
    'node', 'bin/autoscale.js', 'start', '--port', String(port), '--base-port', String(basePort), '--interval', '1',
    '--scale-up', '100', '--scale-down', '0', '--max', '3', '--run-dir', runDir,
  ].join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', XDG_STATE_HOME: runDir };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  tmux(['new-session', '-d', '-s', session, '-x', '120', '-y', '40', '-c', root, `${command}; echo "daemon exited: $?"; sleep 2`], env);
  const [pane, path] = tmux(['display-message', '-p', '-t', session, '#{pane_pid} #{socket_path}']).trim().split(' ');
  socketPath = path;
  const shellPid = Number(pane);

  const daemonPid = await waitFor('the daemon process', 10_000, () => childPids(shellPid)[0]);
  seen.add(daemonPid);

  const first = await waitFor('the dashboard with a ready worker', 30_000, () => {
    const screen = capture();
    const ready = tableRows(screen).filter((r) => r.state === 'ready');
    return ready.length >= 1 && /\+\d\d:\d\d /.test(screen) ? { screen, worker: ready[0] } : null;
  });
  for (const title of ['Instances', 'Requests', 'Latency', 'Events', 'PORT', 'PID', 'STATE', 'q quit']) {
    assert.ok(first.screen.includes(title), `screen shows "${title}":\n${first.screen}`);
  }
  // The CPU chart's label: the long one ("CPU % (host) 12 % (lab 3 %, other 9 %) · up …") or, when that does not
  // fit the chart's width (the split makes it longer on a busy host), the short one ("cpu 12 % (lab 3 %)").
  assert.match(first.screen, /CPU % \(host\)|cpu [\d.]+ %/, `screen shows the CPU chart's label:\n${first.screen}`);
  assert.match(first.screen, /\+\d\d:\d\d worker +1 :\d+ pid \d+ \w+ → ready/, 'an event line for the worker becoming ready');
  assert.match(first.screen, /\+\d\d:\d\d worker +1 :\d+ pid \d+ forked \(log \S*worker-1\.log/, 'one line for the new worker: forked, with its log');
  assert.doesNotMatch(first.screen, /starting → starting|\(new\)/, 'no transition from a state to itself');
  // CPU chart, 0–100: the threshold line at 100 % (--scale-up 100) is drawn on the row of the 100 label,
  // and no label runs beyond 100 (it ran to 160, with the 100 % line near 125).
  const charts = await waitFor('the charts drawn after a few ticks', 15_000, () => {
    const screen = capture();
    // A line needs two points: wait until one runs along the 100 label's row.
    return /^x100 ?[⡇⢸][⠀-⣿]*[⠁-⣿]{20,}/mu.test(screen) && /Instances[^\n]*╍desired/.test(screen) ? screen : null;
  });
  assert.doesNotMatch(charts, /^x(1[1-9]\d|[2-9]\d\d) ?[⡇⢸]/mu, 'no y label above 100 on the CPU chart');
  const w1 = first.worker;
  seen.add(w1.pid);
  assert.equal(w1.id, 1);
  assert.ok(w1.port >= basePort, `worker port ${w1.port} >= base port ${basePort}`);
  assert.ok(isAlive(w1.pid), `pid ${w1.pid} from the table is a live process`);
  assert.ok(childPids(daemonPid).includes(w1.pid), `pid ${w1.pid} is a child of the daemon ${daemonPid}`);
  const health = await fetch(`http://127.0.0.1:${w1.port}/health`);
  assert.equal(health.status, 200, 'the port in the table is the worker answering /health');

  tmux(['send-keys', '-t', session, '-l', '+']);
  const second = await waitFor('a second ready worker after +', 15_000, () => {
    const screen = capture();
    const w2 = tableRows(screen).find((r) => r.id === 2 && r.state === 'ready');
    return w2 && /scale +out 1 → 2 \(manual\)/.test(screen) ? w2 : null;
  });
  seen.add(second.pid);
  assert.ok(isAlive(second.pid));
  assert.notEqual(second.port, w1.port);

  tmux(['send-keys', '-t', session, '-l', 'q']);
  await waitFor('the daemon and its workers to exit', 10_000, () => [daemonPid, w1.pid, second.pid].every((pid) => !isAlive(pid)));
  const after = await waitFor('the shell prompt after the dashboard', 5000, () => {
    const screen = capture();
    return screen.includes('daemon exited: 0') ? screen : null;
  });
  assert.doesNotMatch(after, /CPU %|q quit/, 'terminal restored: no dashboard left on the shell screen');
  // The summary, printed once the screen is restored.
  assert.match(after, /autoscale ran \d+ (min \d+ )?s \(quit from the dashboard\)/);
  assert.match(after, /requests +\d[\d,]*, errors \d+/);
  assert.match(after, /instances +peak 2, 1 scale action \(1 out, 0 in, 1 manual\)/);
  assert.ok(after.replace(/\n/g, '').includes(`run directory ${runDir}`), after);
  assert.ok(after.replace(/\n/g, '').includes(`autoscale report ${runDir}`), after);
  await waitFor('the tmux session to end', 10_000, () => !sessionAlive());
});
