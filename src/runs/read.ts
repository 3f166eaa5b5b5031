/**
 * The one reader of a run directory: `events.ndjson` (what every `autoscale
 * start` records) and `load.ndjson` (`autoscale load --record` / `--out`).
 * `report`, `runs`, `replay` and `simulate --trace` read runs through this
 * module and nothing else, so one file reads the same everywhere. The rules
 * (docs/report-and-replay-reading.md):
 *
 * - **Schema**: the first line is the `started` event; its `schema` field is
 *   the format version. A newer schema than RECORDING_SCHEMA is refused. A
 *   started line without `schema` was recorded before the field existed; it
 *   is read as schema 1 (the same events, fewer optional fields), with a note.
 * - **Lines that are not JSON** (anywhere: a writer killed mid-line leaves
 *   half a line, and a later appender continues after it) are left out, and
 *   a note says how many and where.
 * - **Lines of an unknown type** (from a newer autoscale) are left out with a
 *   note.
 * - **A known line of the wrong shape** (a field of the wrong type, a time
 *   past 366 days) refuses the whole file in one line naming the line and the
 *   field: such a file was edited or made up, and no figure from it can be
 *   trusted.
 * - **Two `started` lines** (two runs appended to one file) refuse the file:
 *   which run to report is the user's choice, not the reader's.
 * - **Size**: a file larger than MAX_FILE_BYTES is refused (the recorder
 *   stops at 65 MiB).
 *
 * Parsing is pure (text in, typed lines and notes out); `readRunDir` is the
 * I/O edge. Errors are RunInputErrors: one line, exit 2.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { RunInputError } from '../errors.js';
import type { LabEvent, LabSettings, StartedEvent } from '../events.js';
import { EVENTS_FILE, listRunDirs, LOAD_FILE, runsDir } from './paths.js';
import { RECORDING_SCHEMA, type NoteLine } from './recorder.js';
import { describeProblem, EVENT_SHAPES, LOAD_LINE, received, time } from './shape.js';

/** Larger files are refused: the recorder stops events.ndjson at 65 MiB; a load run writes ~150 bytes a second. */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** Settings added after the first recordings: absent from the runs recorded before them (shape.ts SETTINGS_OPTIONAL). */
type LaterSettings = 'idle' | 'holdMax' | 'holdTimeout' | 'metricsPort' | 'upstreamTimeout' | 'balancer' | 'maxConnRequests' | 'maxConnAge';

/** The lab's settings as a recording holds them. */
export type RecordedSettings = Omit<LabSettings, LaterSettings> & Partial<Pick<LabSettings, LaterSettings>>;

/** The `started` line as read: `schema` as written, or 1 for a recording from before the field existed. */
export type RecordedStart = Omit<StartedEvent, 'config'> & { config: RecordedSettings; schema: number };

export interface RunEvents {
  started: RecordedStart;
  /** Every lab event after `started`, in file order, each checked against its shape. */
  events: LabEvent[];
  /** The recorder's notes (what its size bound left out), with their time. */
  recorderNotes: NoteLine[];
  /** What the reader left out or assumed, in words, for every command to show. */
  problems: string[];
  /** The end of the recording, ms on the lab's clock: the `stopped` event's time, else the latest event's. */
  endT: number;
}

const KNOWN_EVENTS: ReadonlySet<string> = new Set(Object.keys(EVENT_SHAPES));

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

/** "line 7", "lines 7, 9 and 12", "lines 7, 9, 12 and 40 more". */
function lineList(lines: number[]): string {
  if (lines.length === 1) return `line ${lines[0]}`;
  const shown = lines.slice(0, 3);
  const more = lines.length - shown.length;
  return more > 0 ? `lines ${shown.join(', ')} and ${more} more` : `lines ${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

/** One pass over NDJSON text: each non-blank line parsed, or its line number when it is not JSON. */
function* ndjsonLines(text: string): Generator<{ line: number; value: unknown } | { line: number; torn: true }> {
  let start = 0;
  let n = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    n++;
    const raw = text.slice(start, end);
    start = end + 1;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      yield { line: n, torn: true };
      continue;
    }
    yield { line: n, value };
  }
}

/** Parse events.ndjson. `where` names the file in messages. */
export function parseEvents(text: string, where: string): RunEvents {
  const problems: string[] = [];
  let started: RecordedStart | null = null;
  let startedLine = 0;
  const events: LabEvent[] = [];
  const recorderNotes: NoteLine[] = [];
  const torn: number[] = [];
  const unknown: number[] = [];
  let stoppedT: number | null = null;
  let lastT = 0;
  let lastLine = 0;
  for (const l of ndjsonLines(text)) {
    lastLine = l.line;
    if ('torn' in l) {
      if (started === null) throw new RunInputError('AS_ERR_NOT_A_RUN', `${where} is not a run recording (its first line is not JSON)`);
      torn.push(l.line);
      continue;
    }
    const o = l.value as Record<string, unknown>;
    const type = typeof o === 'object' && o !== null && !Array.isArray(o) ? o.type : undefined;
    if (started === null) {
      if (type !== 'started') throw new RunInputError('AS_ERR_NOT_A_RUN', `${where} is not a run recording (its first line is not a "started" event)`);
    } else if (type === 'started') {
      throw new RunInputError(
        'AS_ERR_RUN_INVALID',
        `${where} holds two runs (a second "started" line at line ${l.line}, the first at line ${startedLine}): a run directory was reused; move the lines from line ${l.line} on into a run directory of their own`,
      );
    }
    if (typeof type !== 'string' || !KNOWN_EVENTS.has(type)) {
      unknown.push(l.line);
      continue;
    }
    // The schema first: a newer one may have another shape, and that is what the user needs to hear.
    const schema = type === 'started' ? readSchema(o.schema, where) : 0;
    const problem = time(o.t, 't') ?? EVENT_SHAPES[type](o, '');
    if (problem !== null) throw new RunInputError('AS_ERR_RUN_INVALID', `${where} line ${l.line} (a "${type}" event): ${describeProblem(problem)}; the file was edited or damaged, so it is not read`);
    if (type === 'started') {
      startedLine = l.line;
      started = { ...(o as unknown as RecordedStart), schema };
      if (schema === 0) {
        started.schema = 1;
        problems.push(`the "started" line has no "schema" field (recorded before autoscale wrote one): read as schema 1`);
      }
      continue;
    }
    const t = o.t as number;
    lastT = Math.max(lastT, t);
    if (type === 'note') {
      recorderNotes.push(o as unknown as NoteLine);
      continue;
    }
    if (type === 'stopped') stoppedT = t;
    events.push(o as unknown as LabEvent);
  }
  if (started === null) throw new RunInputError('AS_ERR_NOT_A_RUN', `${where} is empty: not a run recording`);
  if (torn.length > 0 && torn[torn.length - 1] === lastLine) {
    torn.pop();
    problems.push(`the last line of events.ndjson is incomplete (line ${lastLine}: the run was killed mid-write); it was left out`);
  }
  if (torn.length > 0) {
    problems.push(`${torn.length} ${plural(torn.length, 'line', 'lines')} of events.ndjson ${plural(torn.length, 'is', 'are')} not JSON (${lineList(torn)}: cut off when a writer was killed mid-line) and ${plural(torn.length, 'was', 'were')} left out`);
  }
  if (unknown.length > 0) {
    problems.push(`${unknown.length} ${plural(unknown.length, 'line', 'lines')} of an unknown type (${lineList(unknown)}, from a newer autoscale?) ${plural(unknown.length, 'was', 'were')} left out`);
  }
  return { started, events, recorderNotes, problems, endT: stoppedT ?? Math.max(lastT, started.t) };
}

/** The started line's schema: 0 when absent (read as 1 by the caller); a newer or malformed one is refused. */
function readSchema(schema: unknown, where: string): number {
  if (schema === undefined) return 0;
  if (typeof schema !== 'number' || !Number.isInteger(schema) || schema < 1) {
    throw new RunInputError('AS_ERR_RUN_INVALID', `${where}: the "started" line's "schema" must be a whole number >= 1 (received ${received(schema)})`);
  }
  if (schema > RECORDING_SCHEMA) {
    throw new RunInputError('AS_ERR_RUN_SCHEMA', `${where} was written with recording schema ${schema}; this autoscale reads schema ${RECORDING_SCHEMA} only (upgrade autoscale to read it)`);
  }
  return schema;
}

import type { LoadLine } from './load-line.js';

export type { LoadLine };

export interface RunLoad {
  lines: LoadLine[];
  /** The lines' mode; 'mixed' when closed- and open-loop runs were appended to one file; null when no line. */
  mode: 'closed' | 'open' | 'mixed' | null;
  problems: string[];
}

/** Parse load.ndjson (the same rules as events.ndjson: lines that are not JSON are left out and noted, a line of the wrong shape refuses the file). */
export function parseLoad(text: string, where: string): RunLoad {
  const lines: LoadLine[] = [];
  const torn: number[] = [];
  let mode: RunLoad['mode'] = null;
  let lastLine = 0;
  for (const l of ndjsonLines(text)) {
    lastLine = l.line;
    if ('torn' in l) {
      torn.push(l.line);
      continue;
    }
    const o = l.value as Record<string, unknown>;
    const problem = LOAD_LINE(o, '');
    const lineMode = problem !== null ? null : typeof o.threads === 'number' ? 'closed' : typeof o.targetRate === 'number' ? 'open' : null;
    if (problem !== null || lineMode === null) {
      const what = problem !== null ? describeProblem(problem) : 'it has neither "threads" (closed loop) nor "targetRate" (open loop)';
      throw new RunInputError('AS_ERR_RUN_INVALID', `${where} line ${l.line} is not an \`autoscale load --out\` line: ${what}`);
    }
    mode = mode === null || mode === lineMode ? lineMode : 'mixed';
    lines.push({
      t: o.t as number,
      at: typeof o.at === 'number' ? o.at : null,
      dt: o.dt as number,
      sent: o.sent as number,
      ok: typeof o.ok === 'number' ? o.ok : 0,
      errors: typeof o.errors === 'number' ? o.errors : 0,
      rps: o.rps as number,
      p50: typeof o.p50 === 'number' ? o.p50 : null,
      p99: typeof o.p99 === 'number' ? o.p99 : null,
      mode: lineMode,
      level: (lineMode === 'closed' ? o.threads : o.targetRate) as number,
    });
  }
  const problems: string[] = [];
  if (torn.length > 0 && torn[torn.length - 1] === lastLine) {
    torn.pop();
    problems.push(`the last line of load.ndjson is incomplete (line ${lastLine}: the load generator was killed mid-write); it was left out`);
  }
  if (torn.length > 0) {
    problems.push(`${torn.length} ${plural(torn.length, 'line', 'lines')} of load.ndjson ${plural(torn.length, 'is', 'are')} not JSON (${lineList(torn)}: cut off when a load generator was killed mid-line) and ${plural(torn.length, 'was', 'were')} left out`);
  }
  return { lines, mode, problems };
}

/** A file's text, refused in one line when it cannot be read or is larger than MAX_FILE_BYTES. */
export function readBounded(file: string): string {
  let fd: number;
  try {
    // Checked before opening: opening a FIFO would wait for a writer.
    if (!statSync(file).isFile()) throw new RunInputError('AS_ERR_NOT_A_RUN', `${file} is not a regular file`);
    fd = openSync(file, 'r');
  } catch (err) {
    if (err instanceof RunInputError) throw err;
    throw new RunInputError('AS_ERR_NOT_A_RUN', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new RunInputError('AS_ERR_NOT_A_RUN', `${file} is not a regular file`);
    if (st.size > MAX_FILE_BYTES) {
      throw new RunInputError('AS_ERR_RUN_INVALID', `${file} is ${Math.round(st.size / 1024 / 1024)} MiB; autoscale reads recordings up to ${MAX_FILE_BYTES / 1024 / 1024} MiB (the recorder stops events.ndjson at 65 MiB)`);
    }
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.toString('utf8', 0, off);
  } finally {
    closeSync(fd);
  }
}

export interface RunRecording {
  dir: string;
  /** The directory's name, e.g. 2026-12-01T18-24-55. */
  name: string;
  events: RunEvents;
  /** null when the directory has no load.ndjson (or it was not asked for). */
  load: RunLoad | null;
}

/** Read a run directory: its events.ndjson and, unless `withLoad` is false, its load.ndjson. */
export function readRunDir(dir: string, opts: { withLoad?: boolean } = {}): RunRecording {
  const file = join(dir, EVENTS_FILE);
  const events = parseEvents(readBounded(file), file);
  const loadFile = join(dir, LOAD_FILE);
  const load = opts.withLoad !== false && existsSync(loadFile) ? readLoadFile(loadFile) : null;
  return { dir, name: basename(dir), events, load };
}

/** A load.ndjson (in a run directory or anywhere, e.g. `simulate --trace`). */
export function readLoadFile(file: string): RunLoad {
  return parseLoad(readBounded(file), file);
}

/** The run directory to read: `arg` (a run dir, or its events.ndjson), else the newest recorded run. */
export function resolveRunDir(arg: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (arg === undefined) {
    const dirs = listRunDirs(env).filter((d) => existsSync(join(d, EVENTS_FILE)));
    if (dirs.length === 0) throw new RunInputError('AS_ERR_NO_RUNS', `no recorded runs in ${runsDir(env)} (every \`autoscale start\` records one unless --no-record)`);
    return dirs[dirs.length - 1];
  }
  const p = resolve(arg);
  let st;
  try {
    st = statSync(p);
  } catch {
    throw new RunInputError('AS_ERR_NOT_A_RUN', `${arg} does not exist`);
  }
  const dir = st.isFile() && basename(p) === EVENTS_FILE ? dirname(p) : p;
  if (!statSync(dir).isDirectory() || !existsSync(join(dir, EVENTS_FILE))) {
    throw new RunInputError('AS_ERR_NOT_A_RUN', `${arg} is not a run directory (it has no ${EVENTS_FILE})`);
  }
  return dir;
}
