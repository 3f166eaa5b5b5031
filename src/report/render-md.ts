/**
 * report.md: the summary, the decision table and the settings, for pasting
 * into a write-up. Pure: a RunModel in, a Markdown string out.
 */
import type { RunModel } from './aggregate.js';
import { DECISION_HEADER, decisionRows, highlightRows, REACTION_HEADER, reactionRows, settingsRows, summaryRows, visitRows, visitsIntro, VISITS_HEADER } from './words.js';

/** A Markdown table cell: pipes escaped, newlines flattened. */
function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.map(cell).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** `replayText`: what `autoscale replay --html` printed (model, fidelity, table), added as a section of its own. */
export function renderMarkdown(m: RunModel, title: string, replayText: string | null = null): string {
  const out: string[] = [`# Autoscaling run ${title}`, ''];
  if (m.notes.length > 0) {
    out.push('> **Notes on this recording**', '>');
    for (const n of m.notes) out.push(`> - ${n}`);
    out.push('');
  }
  out.push('## Summary', '', table(['', ''], summaryRows(m)), '');
  out.push('## Scaling decisions', '');
  out.push(m.decisions.length === 0 ? 'No scaling action in this run.' : table(DECISION_HEADER, decisionRows(m)), '');
  out.push('## Reaction times', '');
  out.push(m.summary.reactions.length === 0 ? 'The metric never crossed the scale-out threshold.' : table(REACTION_HEADER, reactionRows(m)), '');
  out.push('## Worker lifecycle highlights', '');
  const hl = highlightRows(m);
  out.push(hl.length === 0 ? 'No crash, replacement or health failure.' : table(['time', 'what', 'detail'], hl), '');
  if (m.visits !== null) {
    out.push('## Visits by worker', '', visitsIntro(m), '');
    if (m.visits.byWorker.length > 0) out.push(table(VISITS_HEADER, visitRows(m)), '');
  }
  if (replayText !== null) {
    out.push('## What if: replayed policies', '');
    out.push('From `autoscale replay --html`: this run\'s load through the same decide() under each policy, with a capacity model calibrated from the run. Running `autoscale report` again renders the report without it.', '');
    out.push('```', replayText.replace(/\n+$/, ''), '```', '');
  }
  out.push('## Settings', '', table(['setting', 'value'], settingsRows(m)), '');
  return out.join('\n');
}
