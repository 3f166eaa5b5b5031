/** Shared test helpers: free and closed ports, polling, waiting for an event, process liveness, a bounded load loop. */
import { createServer } from 'node:net';
import { once, type EventEmitter } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { Writable } from 'node:stream';
import { request } from 'undici';
import type { LabEvent, ScaleEvent, TickEvent, WorkerEvent } from '../src/events.js';
import { resolveConfig } from '../src/lab/config.js';
import { Lab, type LabOptions } from '../src/lab/lab.js';

/** A port that was free a moment ago (for things that must be told their port up front). */
export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** A loopback port with nothing listening (bound once, then released): for "connection refused" cases. */
export function closedPort(): Promise<number> {
  return freePort();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The first `event` from `emitter` that `match`es, or a rejection after `ms`. */
export function nextEvent<T>(emitter: EventEmitter, event: string, match: (e: T) => boolean, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no matching '${event}' event within ${ms} ms`));
    }, ms);
    const on = (e: T): void => {
      if (!match(e)) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(e);
    };
    emitter.on(event, on);
  });
}

/**
 * True while the process exists and is not a zombie. A worker whose parent
 * died is re-parented to PID 1, which on some machines reaps only every second
 * or two: kill(pid, 0) still succeeds on that dead, unreaped process.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

export async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface LoadResult {
  ok: number;
  failures: string[];
  servedBy: Map<string, number>;
}

/**
 * `concurrency` loops of GET requests against `url` until stop() is called or
 * `maxMs` passes (whichever first). Every non-200 or error is recorded.
 */
export function loadLoop(url: string, concurrency: number, maxMs: number): { stop: () => Promise<LoadResult> } {
  const result: LoadResult = { ok: 0, failures: [], servedBy: new Map() };
  let stopped = false;
  const deadline = Date.now() + maxMs;
  const loop = async () => {
    while (!stopped && Date.now() < deadline) {
      try {
        const res = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
        await res.body.text();
        const by = String(res.headers['x-served-by'] ?? '');
        result.servedBy.set(by, (result.servedBy.get(by) ?? 0) + 1);
        if (res.statusCode === 200) result.ok++;
        else result.failures.push(`HTTP ${res.statusCode}`);
      } catch (err) {
        result.failures.push((err as NodeJS.ErrnoException).code ?? (err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return result;
    },
  };
}

/**
 * A real lab in this process (real balancer and worker processes) on free ports, with a
 * scripted host-CPU sampler (or `opts.sampler`); stopped and cleaned up when the test ends.
 * `opts.run: false` leaves it listening, not yet run.
 */
export async function startLab(
  t: TestContext,
  flags: Record<string, string>,
  cpu: { value: number | null },
  opts: Omit<LabOptions, 'sampler'> & { sampler?: LabOptions['sampler']; run?: boolean } = {},
) {
  const basePort = await freePort();
  const config = resolveConfig({ port: '0', basePort: String(basePort), interval: '0.3', cooldown: '0', work: '0', ...flags });
  const { run = true, sampler = { sample: async () => cpu.value }, ...labOpts } = opts;
  const lab = new Lab(config, { ...labOpts, sampler });
  const events: LabEvent[] = [];
  lab.events.on('event', (e) => void events.push(e));
  t.after(async () => {
    lab.killAllSync();
    await lab.stop('test over');
    rmSync(lab.runDir, { recursive: true, force: true });
  });
  await lab.listen();
  if (run) await lab.run();
  const workers = () => events.filter((e): e is WorkerEvent => e.type === 'worker');
  const scales = () => events.filter((e): e is ScaleEvent => e.type === 'scale');
  const ticks = () => events.filter((e): e is TickEvent => e.type === 'tick');
  return { lab, events, workers, scales, ticks };
}

/** `autoscale <argv>` in this process, its stdout and stderr captured (env: the environment the command sees; default process.env). */
export async function runCli(argv: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void) => new Writable({ write: (c, _e, cb) => (add(String(c)), cb()) });
  // Loaded on first use: the whole CLI (commander, the dashboard) is not every test's business.
  const { main } = await import('../src/cli.js');
  const code = await main(argv, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env });
  return { code, stdout, stderr };
}
