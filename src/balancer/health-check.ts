/**
 * Active health checks: a loop that runs a probe every `intervalMs` (from the
 * end of one check to the start of the next, so checks never overlap) and an
 * HTTP probe on a connection of its own, apart from the forwarding pool, so
 * the pool's in-flight counts only ever hold real traffic.
 * Timers are unref'd: a health check never keeps the process alive.
 */
import { Client } from 'undici';
import { hostForUrl } from '../url-host.js';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}
export type Probe = () => Promise<ProbeResult>;

export class HealthCheckLoop {
  readonly #probe: Probe;
  readonly #intervalMs: number;
  readonly #onResult: (result: ProbeResult) => void;
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(probe: Probe, intervalMs: number, onResult: (result: ProbeResult) => void) {
    this.#probe = probe;
    this.#intervalMs = intervalMs;
    this.#onResult = onResult;
  }

  /** First check `intervalMs` from now (the worker just said it is ready). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  /** No further check starts, and the result of one already under way is dropped. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => void this.#run(), this.#intervalMs);
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    this.#timer = null;
    let result: ProbeResult;
    try {
      result = await this.#probe();
    } catch (err) {
      result = { ok: false, detail: `probe threw: ${(err as Error).message}` };
    }
    if (!this.#running) return;
    this.#onResult(result);
    if (this.#running) this.#schedule();
  }
}

/** `GET <path>` on `host:port` over one dedicated keep-alive connection; healthy = any 2xx within `timeoutMs`. */
export function httpProbe(host: string, port: number, path: string, timeoutMs: number): { probe: Probe; close: () => Promise<void> } {
  const client = new Client(`http://${hostForUrl(host)}:${port}`, {
    pipelining: 1,
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const probe: Probe = async () => {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    timer.unref();
    try {
      const { statusCode, body } = await client.request({ path, method: 'GET', signal: ac.signal });
      await body.dump();
      const ok = statusCode >= 200 && statusCode < 300;
      return { ok, detail: `GET ${path} -> ${statusCode}` };
    } catch (err) {
      if (ac.signal.aborted) return { ok: false, detail: `GET ${path}: no answer within ${timeoutMs} ms` };
      const e = err as NodeJS.ErrnoException;
      return { ok: false, detail: `GET ${path}: ${e.code ?? e.message}` };
    } finally {
      clearTimeout(timer);
    }
  };
  return { probe, close: () => client.destroy() };
}
