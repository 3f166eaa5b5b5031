/**
 * One `autoscale start` as a recorded run: picks the run directory (a new one
 * under the state dir, or --run-dir, or a temp dir with --no-record), applies
 * retention, records the event stream and keeps the `current` pointer while
 * the lab runs. start.ts calls open() before the lab exists, attach() once it
 * does, and close() on the way out.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve, join } from 'node:path';
import type { LabEvents } from '../events.js';
import { AutoscaleError } from '../errors.js';
import { createRunDir, EVENTS_FILE, pruneRuns, removeCurrent, runsDir, writeCurrent, type CurrentLab } from './paths.js';
import { Recorder } from './recorder.js';

export interface RunOptions {
  record: boolean;
  /** --run-dir: used as given (created if missing), never pruned. */
  runDir?: string;
  /** Runs kept under the state dir, this one included. */
  keepRuns: number;
}

export const DEFAULT_KEEP_RUNS = 20;

export class RunSession {
  readonly runDir: string;
  readonly record: boolean;
  /** Older runs deleted by retention when this one started. */
  readonly pruned: string[];
  #recorder: Recorder | null = null;
  #created: boolean;
  #env: NodeJS.ProcessEnv;
  #wrotePointer = false;
  #pointer: CurrentLab | null = null;
  #extra: Record<string, unknown> = {};
  #warn: (message: string) => void = () => {};

  private constructor(runDir: string, record: boolean, created: boolean, pruned: string[], env: NodeJS.ProcessEnv) {
    this.runDir = runDir;
    this.record = record;
    // Opened here, before any lab exists, so an unwritable directory is a clean error rather than a half-started lab.
    if (record) this.#recorder = attempt(runDir, () => new Recorder(runDir), 'cannot write the run directory');
    this.#created = created;
    this.pruned = pruned;
    this.#env = env;
  }

  /** Fails with AS_ERR_RUN_DIR (exit 1) when the directory cannot be made. */
  static open(opts: RunOptions, env: NodeJS.ProcessEnv = process.env): RunSession {
    if (opts.runDir !== undefined) {
      const dir = resolve(opts.runDir);
      attempt(dir, () => mkdirSync(dir, { recursive: true }));
      return new RunSession(dir, opts.record, false, [], env);
    }
    if (!opts.record) return new RunSession(mkdtempSync(join(tmpdir(), 'autoscale-run-')), false, true, [], env);
    const dir = attempt(runsDir(env), () => createRunDir(env));
    const pruned = pruneRuns(opts.keepRuns, [dir], env);
    return new RunSession(dir, true, true, pruned, env);
  }

  /** Start recording the lab's events; write the `current` pointer when the lab has started. */
  attach(events: LabEvents, warn: (message: string) => void = () => {}): void {
    const recorder = this.#recorder;
    if (recorder) {
      recorder.attach(events);
      recorder.onError = (err) => warn(`recording stopped: cannot write ${recorder.file} (${(err as NodeJS.ErrnoException).code ?? err.message}); the lab goes on`);
    }
    this.#warn = warn;
    events.on('started', (e) => {
      this.#pointer = { runDir: this.runDir, pid: e.pid, startedAt: e.startedAt, record: this.record, balancerUrl: e.balancerUrl };
      this.#writePointer();
    });
  }

  /** Add fields to the `current` pointer (e.g. a control socket's path); written at start, or at once if the lab has started. */
  setPointerFields(extra: Record<string, unknown>): void {
    this.#extra = { ...this.#extra, ...extra };
    if (this.#pointer !== null) this.#writePointer();
  }

  #writePointer(): void {
    try {
      writeCurrent({ ...this.#extra, ...this.#pointer! }, this.#env);
      this.#wrotePointer = true;
    } catch (err) {
      this.#warn(`cannot write the current pointer (${(err as NodeJS.ErrnoException).code ?? String(err)}): other commands will not find this lab`);
    }
  }

  /** Stop recording, remove the pointer. If the lab never started, remove the empty run dir this created. */
  close(): void {
    this.#recorder?.close();
    if (this.#wrotePointer) removeCurrent(process.pid, this.#env);
    if (this.record && this.#pointer === null) removeIfEmpty(join(this.runDir, EVENTS_FILE));
    if (this.#created && isEmpty(this.runDir)) {
      try {
        rmdirSync(this.runDir);
      } catch {
        // not empty after all, or already gone
      }
    }
  }
}

function attempt<T>(dir: string, make: () => T, what = 'cannot create the run directory under'): T {
  try {
    return make();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new AutoscaleError('AS_ERR_RUN_DIR', `${what} ${dir} (${why}); pick another with --run-dir, or start with --no-record`);
  }
}

/** A lab that never started leaves an empty events file: not a run. */
function removeIfEmpty(file: string): void {
  try {
    if (statSync(file).size === 0) unlinkSync(file);
  } catch {
    // not there
  }
}

function isEmpty(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}
