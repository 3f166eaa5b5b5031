/**
 * Number and time formatting for the whole product (dashboard, plain lines,
 * policy reasons, load generator). Pure; every function returns a short
 * string and shows "–" for an unknown value rather than inventing one.
 */

export const UNKNOWN = '–';

/**
 * Every number this module writes is at most a few characters wide, whatever
 * it is given: from BIG up (or below -BIG) a number is written in exponent
 * form ("1.00e+308"), never as 300 digits. A recording read from disk can hold
 * any finite number (src/runs/shape.ts checks types, not magnitudes).
 */
export const BIG = 1e15;

/** `v` with `digits` decimals, bounded: "12.50", "1.00e+308"; non-finite: "–". */
export function formatFixed(v: number, digits: number): string {
  if (!Number.isFinite(v)) return UNKNOWN;
  return Math.abs(v) >= BIG ? v.toExponential(2) : v.toFixed(digits);
}

/**
 * The most characters of one recorded string (a reason, a detail, a note, a
 * path) a view shows: a 50 MB note line must not make a 50 MB page. Longer
 * text is cut, and the cut says how much was left out.
 */
export const MAX_SHOWN_CHARS = 500;

/** `text` cut to MAX_SHOWN_CHARS (or `max`), ending "… (12,345 more characters)" when cut. */
export function clip(text: string, max = MAX_SHOWN_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${formatCount(text.length - max)} more characters)`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** 83_000 ms -> "01:23"; 3_723_000 -> "1:02:03". Negative or non-finite input reads as 0. */
export function formatClock(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const h = Math.floor(total / 3600);
  if (h >= 100_000) return `${formatCount(h)} h`;
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad2(m)}:${pad2(s)}` : `${pad2(m)}:${pad2(s)}`;
}

/** A timestamp relative to lab start, as the event log shows it: "+01:23". */
export function formatRelative(ms: number): string {
  return `+${formatClock(ms)}`;
}

/** Percent with one decimal below 10 and none above: "4.2", "41". */
export function formatPercent(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return UNKNOWN;
  return formatFixed(value, value < 10 ? 1 : 0);
}

/** Bytes as mebibytes: "48 MiB", "1.2 GiB". */
export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) return UNKNOWN;
  const mib = bytes / (1024 * 1024);
  if (mib >= 1024) return `${(mib / 1024).toFixed(1)} GiB`;
  return `${mib.toFixed(0)} MiB`;
}

/** Three significant digits, no unit: 0.412, 2.41, 30.1, 250, 1250. */
function threeDigits(value: number): string {
  if (Math.abs(value) >= BIG) return value.toExponential(2);
  if (value < 1) return value.toFixed(3);
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

/** Milliseconds as a bare number with three significant digits: "0.412", "2.41", "30.1", "250". */
export function formatMs(ms: number): string {
  return threeDigits(ms);
}

/** A latency with its unit, same precision: "0.412 ms", "30.1 ms", "250 ms", from 1 s up "1.25 s". */
export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return UNKNOWN;
  return ms >= 1000 ? `${threeDigits(ms / 1000)} s` : `${threeDigits(ms)} ms`;
}

/** Thousands separators: 12345.6 -> "12,346"; with `decimals` 1, 1234.5 -> "1,234.5". */
export function formatCount(n: number, decimals = 0): string {
  if (!Number.isFinite(n)) return UNKNOWN;
  if (Math.abs(n) >= BIG) return n.toExponential(2);
  return n.toLocaleString('en-US', { maximumFractionDigits: decimals });
}

/** A metric value with its unit: "41 %", "3.5 req/s", "12 ms" — integers from 10 up, one decimal below. */
export function formatValue(v: number, unit = ''): string {
  const n = Math.abs(v) >= BIG ? v.toExponential(2) : Math.abs(v) >= 10 || Number.isInteger(v) ? Math.round(v).toString() : v.toFixed(1);
  return `${n}${unit}`;
}

/**
 * "value op bound" with the value shown to as many decimals as it takes for the printed numbers to say
 * what the unrounded ones do: 35.04 > 35 reads "35.04 % > 35 %", never "35 % > 35 %". The bound is
 * printed as formatValue prints it; at most 6 decimals. `note` goes between the value and the operator.
 */
export function formatComparison(value: number, op: '>' | '<', bound: number, unit = '', note = ''): string {
  const b = formatValue(bound, '');
  const holds = (shown: string) => (op === '>' ? Number(shown) > Number(b) : Number(shown) < Number(b));
  let shown = formatValue(value, '');
  for (let d = 1; d <= 6 && !holds(shown) && Number.isFinite(value); d++) shown = value.toFixed(d);
  return `${shown}${unit}${note} ${op} ${b}${unit}`;
}

/** A setting as typed: 35, 0.25 (at most two decimals, no trailing zeros). */
export function formatSetting(n: number): string {
  if (Math.abs(n) >= BIG) return n.toExponential(2);
  return String(Number.isInteger(n) ? n : Number(n.toFixed(2)));
}

/** Cut a line to `width` characters, marking the cut with "…". */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
}

/** "1 worker", "2 workers". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A length of time in words: 754.2 s -> "12 min 34 s"; 42 -> "42 s"; 3723 -> "1 h 2 min 3 s". */
export function formatDuration(sec: number): string {
  const t = Number.isFinite(sec) && sec > 0 ? Math.round(sec) : 0;
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  // Past 100,000 hours (11 years) minutes and seconds say nothing, and the hours are written bounded.
  if (h >= 100_000) return `${formatCount(h)} h`;
  if (h > 0) return `${h} h ${m} min ${s} s`;
  if (m > 0) return `${m} min ${s} s`;
  return `${s} s`;
}

/** Local date and time of an epoch-ms instant: "2026-12-01 18:24:55". */
export function formatLocalTime(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return UNKNOWN;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Money with enough digits to see a small run's cost: "USD 0", "USD 0.000359", "USD 0.0265", "USD 12.40". */
export function formatMoney(v: number, currency: string): string {
  const abs = Math.abs(v);
  if (abs === 0) return `${currency} 0`;
  const digits = abs >= 1 ? 2 : abs >= 0.01 ? 4 : 6;
  return `${currency} ${formatFixed(v, digits)}`;
}
