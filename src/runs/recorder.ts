/**
 * The run recorder: a thin listener on the lab's event stream that appends
 * every event to `events.ndjson`, one JSON object per line, as it happens.
 * Each line is handed to the kernel with one write(2) when the event is
 * published, so a SIGKILLed daemon loses nothing that was published (the page
 * cache survives the process). The `started` line carries the file's schema
 * version; `note` lines (type "note") record what the size bound left out.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LabEvent, LabEvents } from '../events.js';
import { admit, DEFAULT_LIMITS, initialBound, type BoundLimits, type BoundState } from './bound.js';
import { EVENTS_FILE } from './paths.js';

/** Version of the events.ndjson format; readers refuse a newer one. */
export const RECORDING_SCHEMA = 1;

export interface NoteLine {
  type: 'note';
  t: number;
  note: string;
}

/** The line written for an event: the same object `--json` prints, plus `schema` on `started`. */
export function recordLine(e: LabEvent): string {
  if (e.type === 'started') {
    const { type, ...rest } = e;
    return JSON.stringify({ type, schema: RECORDING_SCHEMA, ...rest }) + '\n';
  }
  return JSON.stringify(e) + '\n';
}

export class Recorder {
  readonly file: string;
  #fd: number | null;
  #state: BoundState = initialBound();
  #limits: BoundLimits;
  #listener = (e: LabEvent) => this.write(e);
  #events: LabEvents | null = null;

  constructor(runDir: string, limits: BoundLimits = DEFAULT_LIMITS) {
    this.file = join(runDir, EVENTS_FILE);
    this.#fd = openSync(this.file, 'a');
    this.#limits = limits;
  }

  /** Subscribe to a lab's events; closes the file after `stopped`. */
  attach(events: LabEvents): this {
    this.#events = events;
    events.on('event', this.#listener);
    return this;
  }

  /** Called once if a write fails (disk full, file removed…): recording stops, the lab goes on. */
  onError: ((err: Error) => void) | null = null;

  write(e: LabEvent): void {
    if (this.#fd === null) return;
    try {
      this.#write(e);
    } catch (err) {
      this.close();
      this.onError?.(err as Error);
    }
  }

  #write(e: LabEvent): void {
    if (this.#fd === null) return;
    const line = recordLine(e);
    const bytes = Buffer.byteLength(line);
    const { admission, next } = admit(e, bytes, this.#state, this.#limits);
    this.#state = next;
    if (admission.note !== null) {
      const note: NoteLine = { type: 'note', t: e.t, note: admission.note };
      const noteLine = JSON.stringify(note) + '\n';
      writeSync(this.#fd, noteLine);
      this.#state.bytes += Buffer.byteLength(noteLine);
    }
    if (admission.write) writeSync(this.#fd, line);
    if (e.type === 'stopped') this.close();
  }

  close(): void {
    this.#events?.off('event', this.#listener);
    this.#events = null;
    const fd = this.#fd;
    this.#fd = null;
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already unusable
      }
    }
  }
}
