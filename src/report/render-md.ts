/**
 * report.md: the summary, the decision table and the settings, for pasting
 * into a write-up. Pure: a RunModel in, a Markdown string out.
 *
 * Every value from the recording goes through `md()` (the one Markdown
 * escaping of the project): cut to MAX_SHOWN_CHARS, line breaks flattened
 * (a newline in a note must not end the quote or start a heading or a table
 * row), and the characters that start inline Markdown or raw HTML escaped
 * with a backslash (CommonMark: any ASCII punctuation may be), so `<script>`
 * or `<img onerror>` reach a viewer as text. Replay's table and its account
 * of the model are tables too, cell by cell through the same escaping.
 */
import { clip } from '../format.js';
import type { RunModel } from './aggregate.js';
import { ALARM_HEADER } from './alarms.js';
import type { ReplayExtra } from './render-html.js';
import { alarmRows, capNotes, capRows, COLD_START_HEADER, coldStartRows, DECISION_HEADER, noReactionText, decisionRows, hasVisits, highlightRows, REACTION_HEADER, reactionRows, settingsRows, summaryRows, visitRows, visitsIntro, VISITS_HEADER } from './words.js';

/**
 * Inline Markdown text (a table cell, a list item, a heading): one line, cut,
 * with `\ ` * _ [ ] < & | ~` escaped — emphasis, code spans, links and
 * images, raw HTML and autolinks, entities, table cells, strikethrough. The
 * characters that matter only at the start of a line (# > - + 1.) are left
 * as they are: a value never starts a line (every one follows a prefix such
 * as "| ", "> - " or "# Autoscaling run ", and its line breaks are gone), so
 * "cpu 50 % > 35 %" stays readable.
 */
export function md(s: string, max?: number): string {
  return clip(s, max)
    .replace(/\r\n|[\r\n\v\f\u0085\u2028\u2029]/g, ' ')
    .replace(/[\\`*_[\]<&|~]/g, (c) => `\\${c}`);
}

/** `max`: the longest cell shown (replay's account of its model runs longer than a recorded value may). */
function table(header: string[], rows: string[][], max?: number): string {
  const cell = (c: string) => md(c, max);
  return [`| ${header.map(cell).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...capRows(rows, header.length).map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** `replay`: what `autoscale replay --html` adds (its table and its account of the model), a section of its own. */
export function renderMarkdown(m: RunModel, title: string, replay: Pick<ReplayExtra, 'lines' | 'table'> | null = null): string {
  const out: string[] = [`# Autoscaling run ${md(title)}`, ''];
  if (m.notes.length > 0) {
    out.push('> **Notes on this recording**', '>');
    for (const n of capNotes(m.notes)) out.push(`> - ${md(n)}`);
    out.push('');
  }
  out.push('## Summary', '', table(['', ''], summaryRows(m)), '');
  out.push('## Scaling decisions', '');
  out.push(m.decisions.length === 0 ? 'No scaling action in this run.' : table(DECISION_HEADER, decisionRows(m)), '');
  out.push('## Reaction times', '');
  out.push(m.summary.reactions.length === 0 ? noReactionText(m) : table(REACTION_HEADER, reactionRows(m)), '');
  if (m.summary.coldStarts.length > 0) out.push('## Cold starts', '', 'Requests the balancer held while no worker was in rotation, sent on once one was ready.', '', table(COLD_START_HEADER, coldStartRows(m)), '');
  if (m.alarms.length > 0) {
    out.push('## Alarms', '');
    for (const a of m.alarms) out.push(`- **${a.name}**: ${a.rule}`);
    const rows = alarmRows(m);
    out.push('', rows.length === 0 ? 'No alarm changed state in this run.' : table(ALARM_HEADER, rows), '');
  }
  out.push('## Worker lifecycle highlights', '');
  const hl = highlightRows(m);
  out.push(hl.length === 0 ? 'No crash, replacement or health failure.' : table(['time', 'what', 'detail'], hl), '');
  if (m.visits !== null) {
    out.push('## Visits by worker', '', md(visitsIntro(m)), '');
    if (hasVisits(m)) out.push(table(VISITS_HEADER, visitRows(m)), '');
  }
  if (replay !== null) {
    out.push('## What if: replayed policies', '');
    out.push('From `autoscale replay --html`: this run\'s load through the same decide() under each policy, with a capacity model calibrated from the run. Running `autoscale report` again renders the report without it.', '');
    out.push(table(replay.table.header, replay.table.rows), '');
    for (const n of replay.table.notes) out.push(`Note: ${md(n)}`, '');
    out.push(table(['', ''], replay.lines, 2000), '');
  }
  out.push('## Settings', '', table(['setting', 'value'], settingsRows(m)), '');
  return out.join('\n');
}
