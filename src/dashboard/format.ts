/**
 * Number and time formatting for the dashboard. Pure; every function returns
 * a short string and shows "–" for an unknown value rather than inventing one.
 */

export const UNKNOWN = '–';

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** 83_000 ms -> "01:23"; 3_723_000 -> "1:02:03". Negative or non-finite input reads as 0. */
export function formatClock(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const h = Math.floor(total / 3600);
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
  return value < 10 ? value.toFixed(1) : value.toFixed(0);
}

/** Bytes as mebibytes: "48 MiB", "1.2 GiB". */
export function formatBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) return UNKNOWN;
  const mib = bytes / (1024 * 1024);
  if (mib >= 1024) return `${(mib / 1024).toFixed(1)} GiB`;
  return `${mib.toFixed(0)} MiB`;
}

/** Latency: "0.42 ms", "4.1 ms", "18 ms", "1.25 s". */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return UNKNOWN;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 10) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** Integer with thousands separators: 12345 -> "12,345". Rates are rounded, not truncated. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return UNKNOWN;
  return Math.round(n).toLocaleString('en-US');
}

/** Cut a line to `width` characters, marking the cut with "…". */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
}
