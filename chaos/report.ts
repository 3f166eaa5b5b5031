/**
 * What a chaos scenario reports, and the one table `npm run chaos` prints.
 * Pure: no I/O.
 */

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** The fix this check waits for when it lives in another part of the project (e.g. "balancer, issue 11"). */
  needs?: string;
}

export type Verdict = 'pass' | 'FAIL' | 'skip';

export interface ScenarioResult {
  name: string;
  /** Requests sent by the load generator during the scenario (0 when it sends none). */
  requests: number;
  failed: number;
  /** What "failed" may be, in words: "0", "≤ in flight on killed workers (24)". */
  expected: string;
  /** Time to recover, e.g. "median 1.4 s, max 2.1 s" or "–". */
  recover: string;
  verdict: Verdict;
  checks: Check[];
  notes: string[];
  /** Why it was skipped. */
  skipReason?: string;
}

/** Collects checks as a scenario runs; `done()` turns them into a verdict. */
export class Recorder {
  readonly name: string;
  requests = 0;
  failed = 0;
  expected = '0';
  recover = '–';
  readonly checks: Check[] = [];
  readonly notes: string[] = [];

  constructor(name: string) {
    this.name = name;
  }

  check(name: string, ok: boolean, detail = '', needs?: string): boolean {
    this.checks.push(needs === undefined ? { name, ok, detail } : { name, ok, detail, needs });
    return ok;
  }

  note(line: string): void {
    this.notes.push(line);
  }

  done(): ScenarioResult {
    return {
      name: this.name,
      requests: this.requests,
      failed: this.failed,
      expected: this.expected,
      recover: this.recover,
      verdict: this.checks.length > 0 && this.checks.every((c) => c.ok) ? 'pass' : 'FAIL',
      checks: this.checks,
      notes: this.notes,
    };
  }

  skip(reason: string): ScenarioResult {
    return { ...this.done(), verdict: 'skip', skipReason: reason };
  }

  /** A scenario that threw: its checks so far plus the error as a failed check. */
  crashed(err: unknown): ScenarioResult {
    this.check('scenario ran to the end', false, err instanceof Error ? err.message : String(err));
    return this.done();
  }
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function medianMax(ms: number[]): string {
  if (ms.length === 0) return '–';
  const sorted = [...ms].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return `median ${seconds(median)}, max ${seconds(sorted[sorted.length - 1])}`;
}

/** The summary table, plain text, one row per scenario; failed checks listed under it. */
export function formatTable(results: ScenarioResult[]): string {
  const head = ['scenario', 'requests', 'failed', 'expected', 'time to recover', 'verdict'];
  const rows = results.map((r) => [r.name, String(r.requests), String(r.failed), r.expected, r.recover, r.verdict]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w, i) => (i === 1 || i === 2 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...rows.map(line)];
  const details: string[] = [];
  for (const r of results) {
    if (r.verdict === 'skip') details.push(`${r.name}: skipped: ${r.skipReason}`);
    for (const c of r.checks) if (!c.ok) details.push(`${r.name}: FAILED ${c.name}${c.detail ? `: ${c.detail}` : ''}${c.needs ? ` (needs ${c.needs})` : ''}`);
  }
  return [...out, ...(details.length > 0 ? ['', ...details] : [])].join('\n') + '\n';
}

/**
 * For tests: null when the scenario passed (or was skipped); otherwise the
 * failed checks, and whether every one of them waits for a fix owned
 * elsewhere (then the test is a todo naming it, not a failure).
 */
export function failures(r: ScenarioResult): { text: string; onlyPending: boolean } | null {
  const failed = r.checks.filter((c) => !c.ok);
  if (r.verdict !== 'FAIL') return null;
  return {
    text: failed.map((c) => `${c.name}${c.detail ? `: ${c.detail}` : ''}${c.needs ? ` (needs ${c.needs})` : ''}`).join('\n'),
    onlyPending: failed.length > 0 && failed.every((c) => c.needs !== undefined),
  };
}
