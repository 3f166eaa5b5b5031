/** Test-only helpers: waiting for an event, a bounded load loop, an in-process lab, the CLI in-process. Ports, polling and process liveness live in harness/process.ts. */
import type { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import { rmSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { Writable } from 'node:stream';
import { request } from 'undici';
import type { LabEvent, ScaleEvent, TickEvent, WorkerEvent } from '../src/events.js';
import { resolveConfig } from '../src/settings/config.js';
import { Lab, type LabOptions } from '../src/lab/lab.js';
import { freePort, waitFor } from '../harness/process.js';

export { closedPort, freePort, isAlive, sleep } from '../harness/process.js';

/** A part of rawExchange() that half-closes the connection (the client sends FIN). */
export const FIN = '<FIN>';

/**
 * Writes `parts` on a fresh loopback connection to `port`, `gapMs` apart (FIN: half-close);
 * resolves with everything read (latin1) until the server closed it, or until `ms` passed (then
 * `closedByServer` is false). For bytes node's own HTTP client would refuse to send.
 */
export function rawExchange(port: number, parts: readonly string[], ms = 800, gapMs = 30): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    let text = '';
    let closedByServer = true;
    const timer = setTimeout(() => {
      closedByServer = false;
      c.destroy();
    }, ms);
    c.setEncoding('latin1').on('data', (d: string) => (text += d));
    c.on('error', () => {});
    c.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer });
    });
    let i = 0;
    const next = (): void => {
      if (i < parts.length && !c.destroyed) {
        const part = parts[i++];
        if (part === FIN) c.end();
        else c.write(part);
      }
      if (i < parts.length && !c.destroyed) setTimeout(next, gapMs);
    };
    next();
  });
}

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

/** Polls `cond` until it holds (10 s by default): harness/process.ts's waitFor for tests that need no figure back. */
export async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  await waitFor(what, cond, timeoutMs);
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
