/**
 * What happened to one request, as a pure function of its HTTP status or its
 * error code, so that "errors" in a summary is never ambiguous.
 */
import { LOAD_ERROR_CODES } from '../errors.js';

/** Transport failures (no HTTP response). HTTP failures are kept by status code instead. */
export type TransportFailure = 'timeout' | 'refused' | 'reset' | 'other';

/** Code of the error the load generator raises itself when a request exceeds `--timeout`. */
export const REQUEST_TIMEOUT_CODE = LOAD_ERROR_CODES.requestTimeout;

/** Code of the error used to cancel in-flight requests when a run is interrupted (Ctrl+C). */
export const REQUEST_ABORTED_CODE = LOAD_ERROR_CODES.aborted;

const TIMEOUT_CODES = new Set([
  REQUEST_TIMEOUT_CODE,
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);
const REFUSED_CODES = new Set(['ECONNREFUSED']);
/** The peer dropped the connection: a TCP reset, a write to a closed socket, or undici's "other side closed". */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** A response counts as OK when it is a final status below 400 (2xx and 3xx; redirects are not followed). */
export function isOkStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

/** "4xx" for 404, "5xx" for 503. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** The error's code, looking through `cause` and AggregateError (Node reports happy-eyeballs failures that way). */
export function errorCode(err: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== null && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const inner = (current as { errors?: unknown }).errors;
    if (Array.isArray(inner) && inner.length > 0) {
      current = inner[0];
      continue;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return 'UNKNOWN';
}

export function classifyErrorCode(code: string): TransportFailure {
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (REFUSED_CODES.has(code)) return 'refused';
  if (RESET_CODES.has(code)) return 'reset';
  return 'other';
}

/** Connection-level failures after which a virtual user backs off before trying again. */
export function shouldBackOff(kind: TransportFailure): boolean {
  return kind === 'refused' || kind === 'reset' || kind === 'other';
}
