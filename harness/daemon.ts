/**
 * The lab as a black box: `autoscale start --json` in a child process, its
 * NDJSON events parsed as they arrive, worker PIDs taken from those events,
 * and `autoscale load --json` in another child for counted traffic. Used by
 * the chaos suite (`npm run chaos`), the benches and the tests. Signals go to PIDs only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadSummary } from '../src/loadgen/summary.js';
import { liveLabs } from '../src/runs/paths.js';
import { isAlive, sleep, waitFor } from './process.js';

export const BIN = fileURLToPath(new URL('../bin/autoscale.js', import.meta.url));

export type Event = Record<string, unknown> & { type: string };

export interface WorkerView {
  id: number;
  pid: number | undefined;
  port: number;
  state: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}


export interface DaemonOptions {
  port: number;
  basePort: number;
  /** Extra `start` flags. */
  args?: string[];
  /** Run as this user (`runuser -u <user> --`); root only. */
  user?: string;
  env?: NodeJS.ProcessEnv;
  /** Own run dir (default: a fresh temp dir, removed by cleanup()); null: no --run-dir, a new run under the state dir. */
  runDir?: string | null;
  /** A state dir shared with other daemons (default: a throwaway one of its own, removed by cleanup()). */
  stateDir?: string;
}

export class Daemon {
  readonly child: ChildProcess;
  readonly runDir: string;
  readonly events: Event[] = [];
  readonly exited: Promise<Exit>;
  readonly port: number;
  /** The environment the lab runs with (its state dir in XDG_STATE_HOME): give it to CLI commands aimed at this lab. */
  readonly env: NodeJS.ProcessEnv;
  #stderr = '';
  #partial = '';
  #ownRunDir: boolean;
  #stateDir: string;
  #ownStateDir: boolean;
  #workers = new Map<number, WorkerView>();
  #allPids = new Set<number>();

  constructor(opts: DaemonOptions) {
    this.port = opts.port;
    this.#ownRunDir = opts.runDir === undefined;
    // With runDir null the lab picks its run dir under the state dir (read it from runDirOf()); runDir is '' then.
    this.runDir = opts.runDir === null ? '' : (opts.runDir ?? mkdtempSync(join(tmpdir(), 'autoscale-chaos-run-')));
    const runDirArgs = opts.runDir === null ? [] : ['--run-dir', this.runDir];
    const argv = [BIN, 'start', '--json', '--port', String(opts.port), '--base-port', String(opts.basePort), ...runDirArgs, ...(opts.args ?? [])];
    const [cmd, args] = opts.user === undefined ? [process.execPath, argv] : ['runuser', ['-u', opts.user, '--', process.execPath, ...argv]];
    // Whatever the lab records about runs goes to a throwaway state directory.
    this.#ownStateDir = opts.stateDir === undefined;
    this.#stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'autoscale-chaos-state-'));
    this.env = { ...process.env, XDG_STATE_HOME: this.#stateDir, ...opts.env };
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: this.env });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => this.#onData(d));
    this.child.stderr!.on('data', (d) => (this.#stderr += String(d)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** The run directory the lab says it records into (its first stderr line), or null before it said so. */
  runDirOf(): string | null {
    return /recording this run in (.+)\n/.exec(this.#stderr)?.[1] ?? null;
  }

  /** The daemon's own PID, as its 'started' event reports it (the child may be a runuser wrapper). */
  get pid(): number | undefined {
    const s = this.events.find((e) => e.type === 'started');
    return typeof s?.pid === 'number' ? s.pid : undefined;
  }

  /** Wall-clock ms (Date.now()) of an event, from the 'started' event's startedAt and the event's lab time t. */
  wallTime(e: Event): number {
    const started = this.events.find((x) => x.type === 'started');
    return Number(started?.startedAt ?? 0) + Number(e.t ?? 0);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Current workers by id, from the latest 'worker' event of each (gone once exited or crashed). */
  workers(): WorkerView[] {
    return [...this.#workers.values()].filter((w) => w.state !== 'exited' && w.state !== 'crashed');
  }

  ready(): WorkerView[] {
    return this.workers().filter((w) => w.state === 'ready' && w.pid !== undefined);
  }

  /** Every worker PID the daemon ever reported. */
  allPids(): number[] {
    return [...this.#allPids];
  }

  of(type: string): Event[] {
    return this.events.filter((e) => e.type === type);
  }

  async waitReady(n: number, timeoutMs = 30_000): Promise<void> {
    try {
      await waitFor(`${n} ready workers`, () => this.ready().length >= n, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; stderr: ${this.#stderr.slice(-500)}; last events: ${JSON.stringify(this.events.slice(-3))}`, { cause: err });
    }
  }

  /** Until the lab is registered in its state dir as running with a control socket: `autoscale status` and friends reach it from then on. */
  async waitOperable(timeoutMs = 20_000): Promise<void> {
    await waitFor(`lab :${this.port} running and registered`, () => {
      if (this.child.exitCode !== null) throw new Error(`autoscale start exited ${this.child.exitCode}: ${this.#stderr.slice(-500)}`);
      const pid = this.pid;
      return pid !== undefined && liveLabs(this.env).some((l) => l.pid === pid && l.phase === 'running' && l.controlSocket !== null);
    }, timeoutMs);
  }

  /** SIGTERM and wait for a clean exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 20_000): Promise<Exit> {
    const pid = this.pid ?? this.child.pid;
    if (this.child.exitCode === null && this.child.signalCode === null && pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => this.#kill(), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** Whatever happened: daemon and every worker it reported are SIGKILLed; the temp run dir goes. */
  async cleanup(): Promise<void> {
    this.#kill();
    await Promise.race([this.exited, sleep(3000)]);
    for (const pid of this.#allPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    if (this.#ownRunDir) rmSync(this.runDir, { recursive: true, force: true });
    if (this.#ownStateDir) rmSync(this.#stateDir, { recursive: true, force: true });
  }

  #kill(): void {
    const pid = this.pid;
    for (const p of [pid, this.child.pid]) {
      if (p !== undefined && isAlive(p)) process.kill(p, 'SIGKILL');
    }
  }

  #onData(d: string): void {
    this.#partial += d;
    const lines = this.#partial.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let e: Event;
      try {
        e = JSON.parse(line) as Event;
      } catch {
        continue;
      }
      this.events.push(e);
      if (e.type === 'worker' && typeof e.id === 'number') {
        const pid = typeof e.pid === 'number' ? e.pid : undefined;
        if (pid !== undefined) this.#allPids.add(pid);
        this.#workers.set(e.id, { id: e.id, pid, port: Number(e.port), state: String(e.state) });
      }
    }
  }
}

/** `autoscale load --json` against `url` for `seconds`; resolves with its summary (and exit code). */
export function runLoad(url: string, args: string[]): { child: ChildProcess; stop: () => void; done: Promise<{ summary: LoadSummary; code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, 'load', url, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (err += String(d)));
  const done = new Promise<{ summary: LoadSummary; code: number | null; stderr: string }>((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        resolve({ summary: JSON.parse(out) as LoadSummary, code, stderr: err });
      } catch {
        reject(new Error(`autoscale load printed no summary (exit ${code}): ${err.slice(-500)}`));
      }
    });
  });
  // Ctrl+C ends a run early and still prints its summary.
  const stop = () => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGINT');
  };
  return { child, stop, done };
}
