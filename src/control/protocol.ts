/**
 * The control socket's wire format: line-delimited JSON, one request per
 * line from the client, any number of `progress` lines and one `result` line
 * back. Pure: parsing and validation only, no sockets.
 *
 *   → {"cmd":"scale","n":4}
 *   ← {"type":"result","ok":true,"message":"scaling 2 → 4; automatic scaling paused until `autoscale resume`"}
 */
import type { ErrorCode } from '../errors.js';

export const SOCKET_NAME = 'control.sock';
/** Longest request line accepted; a longer one is an error and closes the connection. */
export const MAX_LINE_BYTES = 64 * 1024;
/** AWS's default minimum healthy percentage for an instance refresh. */
export const DEFAULT_MIN_HEALTHY = 90;

export type ControlRequest =
  | { cmd: 'status' }
  | { cmd: 'scale'; n: number }
  | { cmd: 'pause' }
  | { cmd: 'resume' }
  | { cmd: 'refresh'; minHealthy: number }
  | { cmd: 'stop' }
  | { cmd: 'experiment'; status: ExperimentStatus | null };

export const COMMAND_NAMES = ['status', 'scale', 'pause', 'resume', 'refresh', 'stop', 'experiment'] as const;

/**
 * What the experiment runner (`autoscale experiment`) tells the lab it drives, for the live page's
 * banner (docs/web.md): `{"cmd":"experiment","status":{…}}`, or `"status":null` once it is over.
 */
export interface ExperimentStatus {
  /** The experiment's name or file. */
  name: string;
  /** The arm (policy variant) running now, e.g. "target 50" or "B". */
  arm: string;
  /** e.g. "warm-up", "load", "cool-down". */
  phase: string;
  /** The next scheduled event: ms since the lab started, and what it is. */
  next: { t: number; what: string } | null;
  /** Anything else worth a line, e.g. "arm 2 of 3, repetition 1 of 5". */
  detail?: string;
}

/** Longest text accepted in an experiment status field (it is shown on a banner). */
export const MAX_EXPERIMENT_TEXT = 200;

export type ControlReply =
  | { type: 'progress'; message: string }
  | { type: 'result'; ok: true; message: string; data?: unknown }
  | { type: 'result'; ok: false; code: ErrorCode; message: string };

export type Parsed = { ok: true; request: ControlRequest } | { ok: false; message: string };

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** One request line → a checked request, or what was wrong with it. */
export function parseRequest(line: string): Parsed {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return { ok: false, message: `malformed message: not JSON (${JSON.stringify(line.slice(0, 40))}${line.length > 40 ? '…' : ''})` };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, message: 'malformed message: expected a JSON object' };
  const m = data as Record<string, unknown>;
  switch (m.cmd) {
    case 'status':
    case 'pause':
    case 'resume':
    case 'stop':
      return { ok: true, request: { cmd: m.cmd } };
    case 'scale':
      if (!isInt(m.n) || m.n < 0) return { ok: false, message: `scale: "n" must be a whole number >= 0 (received ${JSON.stringify(m.n)})` };
      return { ok: true, request: { cmd: 'scale', n: m.n } };
    case 'refresh': {
      const p = m.minHealthy ?? DEFAULT_MIN_HEALTHY;
      if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 100) {
        return { ok: false, message: `refresh: "minHealthy" must be a percentage 0–100 (received ${JSON.stringify(m.minHealthy)})` };
      }
      return { ok: true, request: { cmd: 'refresh', minHealthy: p } };
    }
    case 'experiment': {
      const checked = parseExperimentStatus(m.status);
      return typeof checked === 'string' ? { ok: false, message: `experiment: ${checked}` } : { ok: true, request: { cmd: 'experiment', status: checked } };
    }
    default:
      return { ok: false, message: `unknown command ${JSON.stringify(m.cmd)} (expected one of: ${COMMAND_NAMES.join(', ')})` };
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f]/;
const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_EXPERIMENT_TEXT && !CONTROL_CHARS.test(v);
const TEXT_RULE = `a one-line string of 1–${MAX_EXPERIMENT_TEXT} characters`;

/** An experiment status as sent, or what is wrong with it (one line). */
function parseExperimentStatus(v: unknown): ExperimentStatus | null | string {
  if (v === null) return null;
  if (v === undefined) return '"status" is missing (an object, or null when the experiment is over)';
  if (typeof v !== 'object' || Array.isArray(v)) return `"status" must be an object or null (received ${JSON.stringify(v)})`;
  const s = v as Record<string, unknown>;
  for (const k of ['name', 'arm', 'phase'] as const) if (!text(s[k])) return `"status.${k}" must be ${TEXT_RULE} (received ${JSON.stringify(s[k])?.slice(0, 60)})`;
  if (s.detail !== undefined && !text(s.detail)) return `"status.detail" must be ${TEXT_RULE} when given (received ${JSON.stringify(s.detail)?.slice(0, 60)})`;
  let next: ExperimentStatus['next'] = null;
  if (s.next !== null) {
    const n = s.next as Record<string, unknown> | undefined;
    if (typeof n !== 'object' || n === null || Array.isArray(n)) return `"status.next" must be {"t": ms since the lab started, "what": text} or null (received ${JSON.stringify(s.next)?.slice(0, 60)})`;
    if (typeof n.t !== 'number' || !Number.isFinite(n.t) || n.t < 0) return `"status.next.t" must be a number of ms >= 0 since the lab started (received ${JSON.stringify(n.t)})`;
    if (!text(n.what)) return `"status.next.what" must be ${TEXT_RULE} (received ${JSON.stringify(n.what)?.slice(0, 60)})`;
    next = { t: n.t, what: n.what };
  }
  return { name: s.name as string, arm: s.arm as string, phase: s.phase as string, next, ...(s.detail === undefined ? {} : { detail: s.detail as string }) };
}

/** How a request reads in the event log: "scale 4", "refresh --min-healthy 90". */
export function describeRequest(r: ControlRequest): string {
  switch (r.cmd) {
    case 'scale':
      return `scale ${r.n}`;
    case 'refresh':
      return `refresh --min-healthy ${r.minHealthy}`;
    case 'experiment':
      return r.status === null ? 'experiment over' : `experiment ${r.status.name}: arm ${r.status.arm}, ${r.status.phase}`;
    default:
      return r.cmd;
  }
}

export function encode(reply: ControlReply): string {
  return `${JSON.stringify(reply)}\n`;
}

/** A reply line from the server; null when it is not one (the client treats that as a protocol error). */
export function parseReply(line: string): ControlReply | null {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const r = data as Record<string, unknown>;
  if (r.type === 'progress' && typeof r.message === 'string') return { type: 'progress', message: r.message };
  if (r.type === 'result' && typeof r.message === 'string') {
    if (r.ok === true) return { type: 'result', ok: true, message: r.message, data: r.data };
    if (r.ok === false && typeof r.code === 'string') return { type: 'result', ok: false, code: r.code as ErrorCode, message: r.message };
  }
  return null;
}
