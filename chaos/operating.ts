/**
 * Operating the lab wrongly or hostilely (issue 19 #1 and #7): two labs in one
 * state directory, and a flood on the control socket. Black box like the rest
 * of the suite: `autoscale start --json` and the operator commands as child
 * processes, signals by PID.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { BIN, Daemon, runLoad } from '../harness/daemon.js';
import { freePort, isAlive, procStats, sleep, tempDir, waitFor } from '../harness/process.js';
import { sendRequest } from '../src/control/client.js';
import type { ChaosContext } from './faults.js';
import { Recorder, type ScenarioResult } from './report.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `autoscale <args>` as a separate process with this environment (a second terminal). */
function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

const ESC = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// O1 ─────────────────────────────────────────────────────────────────────────

export async function twoLabs(ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('O1 two labs in one state dir');
  r.expected = '0';
  const state = tempDir('autoscale-chaos-two-labs-');
  const env = { ...process.env, XDG_STATE_HOME: state };
  const common = ['--min', '1', '--max', '1', '--interval', '1', '--work', '2', '--metrics-port', '0'];
  const daemons: Daemon[] = [];
  const start = async (extra: string[] = []) => {
    const d = new Daemon({ port: await freePort(), basePort: await freePort(), runDir: null, stateDir: state, args: [...common, ...extra] });
    daemons.push(d);
    await d.waitReady(1);
    await waitFor('its run dir', () => d.runDirOf() !== null, 10_000);
    return d;
  };
  try {
    const a = await start();
    const b = await start();
    const dirA = a.runDirOf()!;
    const dirB = b.runDirOf()!;
    ctx.log(`  lab A :${a.port} in ${dirA}; lab B :${b.port} in ${dirB}`);

    const status = await cli(['status'], env);
    const lines = status.stderr.trim().split('\n');
    r.check('status with two labs and no --lab: refused with the list (exit 2, one line per lab)', status.code === 2 && lines.length === 3 && lines[1].includes(`--lab ${a.port} `) && lines[2].includes(`--lab ${b.port} `), status.stderr.slice(0, 300));
    const stop = await cli(['stop'], env);
    r.check('stop with two labs and no --lab: refused, both labs still running', stop.code === 2 && a.child.exitCode === null && b.child.exitCode === null, stop.stderr.slice(0, 200));

    const load = await cli(['load', `${a.url}/`, '--record', '-d', ctx.short ? '2' : '5', '-t', '4', '--json'], env);
    const summary = JSON.parse(load.stdout || '{"requests":{"sent":0,"failed":0}}') as { requests: { sent: number; failed: number } };
    r.requests += summary.requests.sent;
    r.failed += summary.requests.failed;
    r.check("load --record aimed at A's URL: written into A's run dir, not B's", new RegExp(`recording load in ${ESC(dirA)}/load\\.ndjson`).test(load.stderr) && existsSync(join(dirA, 'load.ndjson')) && !existsSync(join(dirB, 'load.ndjson')), load.stderr.slice(0, 200));

    const stopB = await cli(['stop', '--lab', String(b.port)], env);
    const exitB = await b.exited;
    r.check('stop --lab B stops B only', stopB.code === 0 && exitB.code === 0 && a.child.exitCode === null, stopB.stderr.slice(0, 200));
    const after = await cli(['status', '--json'], env);
    let afterDir = '';
    try {
      afterDir = (JSON.parse(after.stdout) as { runDir: string }).runDir;
    } catch {
      afterDir = '';
    }
    r.check('status after B stopped finds A (the one running lab)', after.code === 0 && afterDir === dirA, `${after.code} ${after.stderr.slice(0, 200)}`);

    // A third lab with --keep-runs 2: A (oldest, live), B (finished), C (new): B is deleted, never A.
    const c = await start(['--keep-runs', '2']);
    r.check("a third lab's retention (--keep-runs 2) deletes the finished run, never the live one", existsSync(dirA) && !existsSync(dirB) && existsSync(c.runDirOf()!), `A ${existsSync(dirA)}, B ${existsSync(dirB)}`);
    const steady = runLoad(a.url, ['--threads', '4', '--duration', ctx.short ? '2' : '5']);
    const { summary: s2 } = await steady.done;
    r.requests += s2.requests.sent;
    r.failed += s2.requests.failed;
    const visit = await fetch(`${a.url}/visits`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"page":"/chaos"}' }).then((res) => res.status).catch(() => 0);
    r.check('A still serves, stores visits in its own file and records', s2.requests.failed === 0 && visit === 201 && existsSync(join(dirA, 'visits.db')) && statSync(join(dirA, 'events.ndjson')).size > 0, `failed ${s2.requests.failed}, POST /visits ${visit}`);
    const statusA = await cli(['status', '--lab', String(a.port)], env);
    r.check("A's control socket still answers", statusA.code === 0, statusA.stderr.slice(0, 200));

    for (const d of [a, c]) await cli(['stop', '--lab', String(d.port)], env);
    const exits = await Promise.all([a.exited, c.exited]);
    r.check('both labs stop cleanly; no worker left', exits.every((e) => e.code === 0) && daemons.every((d) => d.allPids().every((p) => !isAlive(p))), JSON.stringify(exits));
    const left = readFileSync(join(dirA, 'events.ndjson'), 'utf8').trim().split('\n').at(-1) ?? '';
    r.check("A's recording ends with its own stopped line", /"type":"stopped"/.test(left), left.slice(0, 120));
    return r.done();
  } catch (err) {
    return r.crashed(err);
  } finally {
    for (const d of daemons) await d.cleanup();
    rmSync(state, { recursive: true, force: true });
  }
}

// O2 ─────────────────────────────────────────────────────────────────────────

function open(path: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.on('error', () => resolve(null));
    s.once('connect', () => resolve(s));
  });
}

export async function socketFlood(ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('O2 control socket: 100 idle connections and a flood of bad lines');
  const d = new Daemon({ port: await freePort(), basePort: await freePort(), args: ['--min', '2', '--max', '2', '--interval', '1', '--work', '2', '--metrics-port', '0'] });
  const env = { ...process.env, XDG_STATE_HOME: tempDir('autoscale-chaos-flood-state-') };
  const sockets: Socket[] = [];
  try {
    await d.waitReady(2);
    const path = join(d.runDir, 'control.sock');
    const events = join(d.runDir, 'events.ndjson');
    const size0 = statSync(events).size;
    const rss0 = procStats(d.pid!)?.rss ?? 0;
    const load = runLoad(d.url, ['--threads', '4', '--duration', ctx.short ? '6' : '15']);

    for (let i = 0; i < 100; i++) {
      const s = await open(path);
      if (s !== null) sockets.push(s);
    }
    const idle = await cli(['status', '--run-dir', d.runDir], env);
    r.check('status answers with 100 idle connections open', idle.code === 0, idle.stderr.slice(0, 200));

    const floodSec = ctx.short ? 3 : 10;
    const end = Date.now() + floodSec * 1000;
    let lines = 0;
    while (Date.now() < end) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => open(path)));
      for (const s of batch) {
        if (s === null) continue;
        s.write('not json\n'.repeat(200));
        lines += 200;
        sockets.push(s);
      }
      await sleep(20);
    }
    // The request itself, timed from connect to answer (a CLI process start would add its own second under load).
    const t0 = Date.now();
    const during = await sendRequest(path, { cmd: 'status' }).then((rep) => rep.ok, () => false);
    const statusMs = Date.now() - t0;
    r.check('status right after the flood answers within 5 s (it took 32 s before the limits)', during && statusMs < 5000, `${during ? 'answered' : 'failed'} in ${statusMs} ms`);
    const cliAfter = await cli(['status', '--run-dir', d.runDir], env);
    r.check('`autoscale status` works after the flood', cliAfter.code === 0, cliAfter.stderr.slice(0, 200));
    await sleep(1500);
    const logged = d.of('command').filter((e) => e.command === 'invalid request');
    const gaps = logged.slice(1).map((e, i) => Number(e.t) - Number(logged[i].t));
    r.check(
      'invalid requests are logged at most once a second, the rest with a count',
      gaps.every((g) => g >= 950) && logged.some((e) => /^\d+ more invalid requests/.test(String(e.message))),
      `${logged.length} events for ${lines} bad lines, smallest gap ${gaps.length > 0 ? Math.min(...gaps) : '–'} ms`,
    );
    const grew = statSync(events).size - size0;
    r.check('events.ndjson grew by less than 256 KiB', grew < 256 * 1024, `${grew} bytes`);
    const rss1 = procStats(d.pid!)?.rss ?? 0;
    r.check('daemon memory grew by less than 64 MB', rss1 - rss0 < 64 * 1024 * 1024, `RSS ${Math.round(rss0 / 1e6)} → ${Math.round(rss1 / 1e6)} MB`);
    r.note(`${lines} bad lines sent on ${sockets.length} connections; status in ${statusMs} ms (CLI ${cliAfter.ms} ms); ${logged.length} invalid-request events; events.ndjson +${grew} B; RSS ${Math.round(rss0 / 1e6)} → ${Math.round(rss1 / 1e6)} MB`);
    const { summary } = await load.done;
    r.requests = summary.requests.sent;
    r.failed = summary.requests.failed;
    r.check('traffic through the balancer unaffected', summary.requests.failed === 0, `failed ${summary.requests.failed}`);
    for (const s of sockets) s.destroy();
    r.check('the lab stops cleanly', (await d.stop()).code === 0, d.stderr.slice(-300));
    return r.done();
  } catch (err) {
    return r.crashed(err);
  } finally {
    for (const s of sockets) s.destroy();
    await d.cleanup();
    rmSync(env.XDG_STATE_HOME, { recursive: true, force: true });
  }
}

export const OPERATING = [twoLabs, socketFlood];
