/**
 * The one integer parser behind every flag, config key, worker argument and
 * query parameter. Each caller words its own error (usage error, config
 * error, HTTP 400); this only says what is wrong.
 */

export type IntegerResult =
  | { ok: true; value: number }
  /** Not a number at all ("abc", "", an array), a number that is not a plain whole one ("1.5", "1e3", "0x10"), or outside [min, max]. */
  | { ok: false; why: 'not-a-number' | 'not-whole' | 'out-of-range'; value?: number };

/**
 * A whole number in [min, max]: a JSON number, or a string of decimal digits
 * (surrounding spaces and a leading "-" allowed). Never NaN, never a float,
 * never beyond Number.MAX_SAFE_INTEGER.
 */
export function parseInteger(raw: unknown, min: number, max: number): IntegerResult {
  let n: number;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return { ok: false, why: 'not-a-number' };
    if (!Number.isInteger(raw)) return { ok: false, why: 'not-whole' };
    n = raw;
  } else if (typeof raw === 'string') {
    const s = raw.trim();
    if (!/^-?\d+$/.test(s)) return { ok: false, why: s === '' || Number.isNaN(Number(s)) ? 'not-a-number' : 'not-whole' };
    n = Number(s);
  } else {
    return { ok: false, why: 'not-a-number' };
  }
  if (!Number.isSafeInteger(n) || n < min || n > max) return { ok: false, why: 'out-of-range', value: n };
  return { ok: true, value: n };
}
