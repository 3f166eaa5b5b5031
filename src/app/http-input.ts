/** Input checks shared by the worker's routes: a 400 that says what was expected and what was received. */
import { parseInteger } from '../parse-int.js';

export class BadRequest extends Error {
  readonly status = 400;
}

/** Parses an integer query parameter in [min, max]; throws BadRequest saying expected/received. */
export function parseIntParam(raw: unknown, name: string, min: number, max: number, unit: string): number {
  const shown = typeof raw === 'string' ? JSON.stringify(raw) : JSON.stringify(raw ?? null);
  const r = typeof raw === 'string' && /^\d+$/.test(raw) ? parseInteger(raw, min, max) : null;
  if (r === null || !r.ok) throw new BadRequest(`expected ?${name} to be an integer from ${min} to ${max} (${unit}), received ${shown}`);
  return r.value;
}

/** Rejects query parameters a route does not know (a typo like ?limt=5 should not pass silently). */
export function onlyQuery(query: Record<string, unknown>, allowed: readonly string[], route: string): void {
  for (const key of Object.keys(query)) {
    if (!allowed.includes(key)) {
      const accepts = allowed.length === 0 ? 'no query parameters' : `only ${allowed.map((a) => `?${a}=`).join(', ')}`;
      throw new BadRequest(`unknown query parameter ${JSON.stringify(key)}: ${route} takes ${accepts}`);
    }
  }
}
