/**
 * Reading a recording back: events.ndjson and load.ndjson as text in, typed
 * lines and notes out. Pure; tolerant of what a killed run leaves (a
 * truncated last line), strict about what it cannot read (a newer schema, a
 * file that is not a recording).
 */
import { RunInputError } from '../errors.js';
import { LAB_EVENT_TYPES, type LabEvent, type StartedEvent } from '../events.js';
import { RECORDING_SCHEMA, type NoteLine } from '../runs/recorder.js';

export interface ParsedEvents {
  started: StartedEvent & { schema: number };
  /** Every lab event after `started`, in file order. */
  events: LabEvent[];
  /** Notes the recorder wrote (size bound), with their time. */
  recorderNotes: NoteLine[];
  /** What the reader had to skip or guess, for the report's visible notes. */
  problems: string[];
}

/** Every type the lab publishes: a line of any other type is from a newer autoscale, and the report says so. */
const KNOWN: ReadonlySet<string> = new Set(Object.keys(LAB_EVENT_TYPES));

/** Parse events.ndjson. `where` names the file in error messages. */
export function parseEvents(text: string, where: string): ParsedEvents {
  const lines = text.split('\n');
  const lastIndex = lines.length - 1;
  const problems: string[] = [];
  let started: (StartedEvent & { schema: number }) | null = null;
  const events: LabEvent[] = [];
  const recorderNotes: NoteLine[] = [];
  let skipped = 0;
  let unknown = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch {
      if (started === null && i === 0) throw new RunInputError('AS_ERR_NOT_A_RUN', `${where} is not a run recording (its first line is not JSON)`);
      // A killed daemon can leave half a line at the end (no newline after it); anything else is damage.
      if (i === lastIndex || (i === lastIndex - 1 && lines[lastIndex] === '')) problems.push(`the last line of events.ndjson is incomplete (the run was killed mid-write); it was left out`);
      else skipped++;
      continue;
    }
    if (started === null) {
      if (obj.type !== 'started') throw new RunInputError('AS_ERR_NOT_A_RUN', `${where} is not a run recording (its first line is not a "started" event)`);
      const schema = obj.schema;
      if (typeof schema !== 'number') throw new RunInputError('AS_ERR_NOT_A_RUN', `${where} has no "schema" on its started line: not a recording autoscale can read`);
      if (schema > RECORDING_SCHEMA) {
        throw new RunInputError('AS_ERR_RUN_SCHEMA', `${where} was written with recording schema ${schema}; this autoscale reads schema ${RECORDING_SCHEMA} only (upgrade autoscale to read it)`);
      }
      started = obj as unknown as StartedEvent & { schema: number };
      continue;
    }
    if (obj.type === 'note' && typeof obj.note === 'string') {
      recorderNotes.push(obj as unknown as NoteLine);
      continue;
    }
    if (typeof obj.type !== 'string' || !KNOWN.has(obj.type) || typeof obj.t !== 'number') {
      unknown++;
      continue;
    }
    events.push(obj as unknown as LabEvent);
  }
  if (started === null) throw new RunInputError('AS_ERR_NOT_A_RUN', `${where} is empty: not a run recording`);
  if (skipped > 0) problems.push(`${skipped} damaged line${skipped === 1 ? '' : 's'} in events.ndjson ${skipped === 1 ? 'was' : 'were'} left out`);
  if (unknown > 0) problems.push(`${unknown} line${unknown === 1 ? '' : 's'} of an unknown type ${unknown === 1 ? 'was' : 'were'} ignored`);
  return { started, events, recorderNotes, problems };
}

/** One load.ndjson line (autoscale load --record / --out). */
export interface LoadLine {
  t: number;
  /** Wall-clock ms at the end of the interval (absent in files from older versions). */
  at?: number;
  dt: number;
  sent: number;
  ok: number;
  errors: number;
  rps: number;
  p50: number | null;
  p99: number | null;
  threads?: number;
  targetRate?: number;
}

export function parseLoad(text: string): { lines: LoadLine[]; problems: string[] } {
  const lines: LoadLine[] = [];
  const problems: string[] = [];
  let bad = 0;
  let noClock = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    try {
      const obj = JSON.parse(raw) as LoadLine;
      if (typeof obj.t !== 'number' || typeof obj.sent !== 'number' || typeof obj.dt !== 'number') {
        bad++;
        continue;
      }
      if (typeof obj.at !== 'number') {
        noClock++;
        continue;
      }
      lines.push(obj);
    } catch {
      bad++;
    }
  }
  if (bad > 0) problems.push(`${bad} unreadable line${bad === 1 ? '' : 's'} in load.ndjson ${bad === 1 ? 'was' : 'were'} left out`);
  if (noClock > 0) problems.push(`${noClock} load.ndjson line${noClock === 1 ? ' has' : 's have'} no wall-clock "at" field and cannot be placed on the run's time axis; left out`);
  return { lines, problems };
}
