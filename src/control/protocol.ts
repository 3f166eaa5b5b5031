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
  | { cmd: 'stop' };

export const COMMAND_NAMES = ['status', 'scale', 'pause', 'resume', 'refresh', 'stop'] as const;

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
    default:
      return { ok: false, message: `unknown command ${JSON.stringify(m.cmd)} (expected one of: ${COMMAND_NAMES.join(', ')})` };
  }
}

/** How a request reads in the event log: "scale 4", "refresh --min-healthy 90". */
export function describeRequest(r: ControlRequest): string {
  switch (r.cmd) {
    case 'scale':
      return `scale ${r.n}`;
    case 'refresh':
      return `refresh --min-healthy ${r.minHealthy}`;
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
