/**
 * One `autoscale start` as a recorded run: picks the run directory (a new one
 * under the state dir, or --run-dir, or a temp dir with --no-record), registers
 * the lab in the registry of live labs (before retention runs, so no other
 * lab's retention can take this directory), applies retention, records the
 * event stream, and removes the registration on the way out. start.ts calls
 * open() before the lab exists, attach() once it does, and close() at the end.
 *
 * A --run-dir that already holds a run (an events.ndjson with something in
 * it, finished or crashed) is refused: two runs in one file would read as one.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve, join } from 'node:path';
import type { LabEvents } from '../events.js';
import { AutoscaleError, UsageError } from '../errors.js';
import { createRunDir, EVENTS_FILE, labsDir, liveLabs, newLabId, processStart, pruneRuns, registerLab, runsDir, unregisterLab, type LabEntry } from './paths.js';
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
  #pruned: string[] = [];
  #recorder: Recorder | null = null;
  #created: boolean;
  #env: NodeJS.ProcessEnv;
  #id: string;
  #entry: LabEntry;
  #registered = false;
  #started = false;
  #warn: ((message: string) => void) | null = null;
  #registerError: string | null = null;

  private constructor(runDir: string, record: boolean, created: boolean, env: NodeJS.ProcessEnv) {
    this.runDir = runDir;
    this.record = record;
    this.#created = created;
    this.#env = env;
    this.#id = newLabId();
    this.#entry = { pid: process.pid, procStart: processStart(process.pid), phase: 'starting', runDir, record, startedAt: null, balancerUrl: null, controlSocket: null, metricsUrl: null };
    // Registered before retention runs (here or in another lab), so no retention can take this directory.
    this.#register();
    try {
      // Opened here, before any lab exists, so an unwritable directory is a clean error rather than a half-started lab.
      if (record) this.#recorder = attempt(runDir, () => new Recorder(runDir), 'cannot write the run directory');
    } catch (err) {
      this.#unregister();
      throw err;
    }
  }

  /** Older runs deleted by retention when this one started. */
  get pruned(): string[] {
    return this.#pruned;
  }

  /**
   * Fails with AS_ERR_RUN_DIR (exit 1) when the directory cannot be made, with
   * AS_ERR_USAGE (exit 2) when --run-dir already holds a run or a live lab.
   */
  static open(opts: RunOptions, env: NodeJS.ProcessEnv = process.env): RunSession {
    if (opts.runDir !== undefined) {
      const dir = resolve(opts.runDir);
      refuseUsedRunDir(dir, env);
      attempt(dir, () => mkdirSync(dir, { recursive: true }));
      return new RunSession(dir, opts.record, false, env);
    }
    if (!opts.record) return new RunSession(mkdtempSync(join(tmpdir(), 'autoscale-run-')), false, true, env);
    const dir = attempt(runsDir(env), () => createRunDir(env));
    const session = new RunSession(dir, true, true, env);
    session.#pruned = pruneRuns(opts.keepRuns, [dir], env);
    return session;
  }

  /** Start recording the lab's events; mark the lab as running in the registry once it has started. */
  attach(events: LabEvents, warn: (message: string) => void = () => {}): void {
    const recorder = this.#recorder;
    if (recorder) {
      recorder.attach(events);
      recorder.onError = (err) => warn(`recording stopped: cannot write ${recorder.file} (${(err as NodeJS.ErrnoException).code ?? err.message}); the lab goes on`);
    }
    this.#warn = warn;
    if (this.#registerError !== null) warn(this.#registerError);
    events.on('started', (e) => {
      this.#started = true;
      this.#entry = { ...this.#entry, phase: 'running', pid: e.pid, startedAt: e.startedAt, balancerUrl: e.balancerUrl };
      this.#register();
    });
  }

  /** Add what other commands need to reach the lab (its control socket, metrics URL) to its registry entry. */
  setLabFields(fields: { controlSocket?: string; metricsUrl?: string | null }): void {
    this.#entry = { ...this.#entry, ...fields };
    this.#register();
  }

  #register(): void {
    try {
      registerLab(this.#id, this.#entry, this.#env);
      this.#registered = true;
    } catch (err) {
      const message = `cannot register this lab in ${labsDir(this.#env)} (${(err as NodeJS.ErrnoException).code ?? String(err)}): other commands will not find it, and other labs' retention will not know its run directory is in use`;
      if (this.#warn === null) this.#registerError = message;
      else this.#warn(message);
    }
  }

  #unregister(): void {
    if (this.#registered) unregisterLab(this.#id, this.#env);
    this.#registered = false;
  }

  /** Stop recording, unregister. If the lab never started, remove the empty run dir this created. */
  close(): void {
    this.#recorder?.close();
    this.#unregister();
    if (this.record && !this.#started) removeIfEmpty(join(this.runDir, EVENTS_FILE));
    if (this.#created && isEmpty(this.runDir)) {
      try {
        rmdirSync(this.runDir);
      } catch {
        // not empty after all, or already gone
      }
    }
  }
}

/**
 * --run-dir reuse: a directory in use by a live lab, or holding a recorded run
 * (its events.ndjson is not empty, whether that run finished or crashed), is
 * refused: a second run appended to it would merge two runs into one file.
 */
function refuseUsedRunDir(dir: string, env: NodeJS.ProcessEnv): void {
  const live = liveLabs(env).find((l) => resolve(l.runDir) === dir);
  if (live !== undefined) throw new UsageError(`--run-dir ${dir} is in use by a running lab (pid ${live.pid}); stop it first, or choose another --run-dir`);
  const events = join(dir, EVENTS_FILE);
  let size: number;
  try {
    const st = statSync(events);
    size = st.isFile() ? st.size : 0; // anything else is no run (the recorder then says it cannot write there)
  } catch {
    size = 0; // none: a fresh directory
  }
  if (size > 0) {
    throw new UsageError(`--run-dir ${dir} already holds a recorded run (${EVENTS_FILE}); give a new directory (or leave out --run-dir for a fresh one under the state dir), or move that run away first`);
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
