/**
 * Server-sent events on node:http, bounded: at most `max` streams at once
 * (the next gets 503), and each one may hold at most `maxBufferedBytes` not
 * yet taken by its client; a client that stops reading is dropped at that
 * bound instead of buffered without limit. A message is framed and encoded
 * once and the same Buffer written to every stream, so the cost of a second
 * browser is a socket write, not a second JSON.stringify.
 */
import type { ServerResponse } from 'node:http';

export const MAX_STREAMS = 16;
/** 1 MiB: a minute of the live page's frames; the final report message is sent past it (see close()). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

/** One SSE message: `event:` line, one `data:` line per line of the text, a blank line. */
export function frame(event: string, data: string): Buffer {
  if (/[\r\n]/.test(event)) throw new Error(`SSE event name with a line break: ${JSON.stringify(event)}`);
  const lines = data.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`).join('');
  return Buffer.from(`event: ${event}\n${lines}\n`);
}

export interface StreamOptions {
  max?: number;
  maxBufferedBytes?: number;
  /** Told when a stream is dropped for not reading (for the log). */
  onDrop?: (buffered: number) => void;
}

export class EventStreams {
  readonly #streams = new Set<ServerResponse>();
  readonly #max: number;
  readonly #maxBuffered: number;
  readonly #onDrop: (buffered: number) => void;
  #dropped = 0;

  constructor(opts: StreamOptions = {}) {
    this.#max = opts.max ?? MAX_STREAMS;
    this.#maxBuffered = opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    this.#onDrop = opts.onDrop ?? (() => {});
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Streams dropped so far for not reading. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Take a GET as an event stream; false (nothing written) when `max` are open already. */
  open(res: ServerResponse, first: Buffer[]): boolean {
    if (this.#streams.size >= this.#max) return false;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    // Headers now, not with the first message: a page that connects before the lab has started must see its stream open.
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    this.#streams.add(res);
    res.on('close', () => this.#streams.delete(res));
    for (const b of first) this.#write(res, b);
    return true;
  }

  /** The same bytes to every stream. */
  broadcast(message: Buffer): void {
    for (const res of this.#streams) this.#write(res, message);
  }

  #write(res: ServerResponse, message: Buffer): void {
    if (res.destroyed) return;
    res.write(message);
    const buffered = res.writableLength;
    if (buffered > this.#maxBuffered) {
      this.#dropped++;
      this.#streams.delete(res);
      res.destroy();
      this.#onDrop(buffered);
    }
  }

  /**
   * Send a last message to every stream and end them; a stream not done
   * taking it within `graceMs` is destroyed. The last message (the report) is
   * one shared Buffer, so it costs its size once, not once per stream.
   */
  async close(last: Buffer | null, graceMs = 2000): Promise<void> {
    const ending = [...this.#streams].map(
      (res) =>
        new Promise<void>((resolve) => {
          if (res.destroyed) return resolve();
          const timer = setTimeout(() => {
            res.destroy();
            resolve();
          }, graceMs);
          res.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          res.end(last ?? undefined, () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    );
    this.#streams.clear();
    await Promise.all(ending);
  }
}
