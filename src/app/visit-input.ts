/**
 * What a visit request may carry, checked once at the edge (pure): the JSON
 * body of POST /visits and the ?limit= of GET /visits.
 */
import { MAX_PAGE_LENGTH, MAX_USER_AGENT_LENGTH } from '../store/store.js';
import { BadRequest, parseIntParam } from './http-input.js';

/** Largest POST /visits body; bigger ones are refused with 413 before they are read. */
export const MAX_VISIT_BODY_BYTES = 1024;
export const DEFAULT_PAGE = '/';
export const DEFAULT_RECENT_LIMIT = 20;
export const MAX_RECENT_LIMIT = 100;

const EXPECTED = `expected no body or a JSON object like {"page": "home"}`;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

/** The body of POST /visits (raw bytes; empty means "no body") -> the page to record. */
export function parseVisitBody(body: Buffer | undefined): { page: string } {
  const text = body === undefined ? '' : body.toString('utf8');
  if (text.trim() === '') return { page: DEFAULT_PAGE };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`body is not valid JSON (${(err as Error).message}); ${EXPECTED}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new BadRequest(`${EXPECTED}, received ${kindOf(data)}`);
  }
  for (const key of Object.keys(data)) {
    if (key !== 'page') throw new BadRequest(`unknown field ${JSON.stringify(key)} in the body: only "page" is accepted`);
  }
  const page = (data as { page?: unknown }).page;
  if (page === undefined) return { page: DEFAULT_PAGE };
  if (typeof page !== 'string' || page.length === 0 || page.length > MAX_PAGE_LENGTH || CONTROL.test(page)) {
    const received = typeof page === 'string' ? (page.length > MAX_PAGE_LENGTH ? `${page.length} characters` : JSON.stringify(page)) : kindOf(page);
    throw new BadRequest(`expected "page" to be a string of 1 to ${MAX_PAGE_LENGTH} characters without control characters, received ${received}`);
  }
  return { page };
}

/** ?limit= of GET /visits: 1..100, default 20. */
export function parseRecentLimit(raw: unknown): number {
  return raw === undefined ? DEFAULT_RECENT_LIMIT : parseIntParam(raw, 'limit', 1, MAX_RECENT_LIMIT, 'visits');
}

/** Kept as sent, cut to a bounded length; none -> null. */
export function cleanUserAgent(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  return raw.length > MAX_USER_AGENT_LENGTH ? raw.slice(0, MAX_USER_AGENT_LENGTH) : raw;
}
