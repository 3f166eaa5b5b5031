/** experiment.md: the comparison as Markdown (the same rows as the page, no charts). Pure. */
import type { Comparison } from './compare.js';
import { armRows, ARM_TABLE_HEADER, claimRows, CLAIM_HEADER, loadAverageText } from './words.js';

/** Text from the file or the run, inert in Markdown (a viewer that renders HTML sees no tag). */
const text = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const cell = (s: string) => text(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
function mdTable(header: string[], rows: string[][]): string {
  return [`| ${header.map(cell).join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

export function renderExperimentMarkdown(c: Comparison): string {
  const r = c.record;
  const met = c.claims.filter((x) => x.met).length;
  const out: string[] = [
    `# ${text(c.title)}`,
    '',
    `autoscale experiment ${c.name} · ${c.arms.length} arms · ${Math.round(c.loadSec)} s of load each${r.quick ? ` · --quick (every time × ${r.timeFactor.toFixed(2)})` : ''} · ${r.host.cores} cores · started ${r.startedAt} · ${r.status}`,
    '',
    `> ${text(c.teaches)}`,
    '',
    '## The arms',
    '',
    mdTable(ARM_TABLE_HEADER, armRows(c)),
    '',
    `Seconds over the SLO: tick lengths whose balancer p95 was above ${c.sloP95Ms} ms. Scale actions: the policy's own.`,
    '',
    `## Claims (${met} of ${c.claims.length} met)`,
    '',
    c.claims.length === 0 ? 'This experiment makes no claim.' : mdTable(CLAIM_HEADER, claimRows(c)),
    '',
  ];
  if (c.counterfactual.length > 0) {
    out.push('## Counterfactual check', '');
    for (const p of c.counterfactual) {
      out.push(`### ${p.recording}'s load replayed under ${p.settingsOf}'s settings`, '', mdTable(['figure', 'replayed', 'real', 'error'], p.rows.map((x) => [x.figure, x.replayed, x.real, x.error])), '');
    }
  }
  out.push('## Timeline', '', mdTable(['at', 'what'], c.marks.map((m) => [`${m.at.toFixed(1)} s`, m.label])), '');
  for (const a of c.arms) {
    if (a.notes.length > 0) out.push(`- **${a.name}**: ${text(a.notes.join('; '))}`);
  }
  if (c.questions.length > 0) {
    out.push('', '## Questions', '');
    c.questions.forEach((q, i) => out.push(`${i + 1}. ${text(q.q)}`, '', `   <details><summary>Answer</summary>${text(q.answer)}</details>`, ''));
  }
  out.push('', '## How to rerun', '', '```', `autoscale experiment ${r.source}${r.quick ? ' --quick' : ''}`, `file sha256 ${r.fileSha256} · ${r.tool.name} ${r.tool.version}`, ...c.arms.map((a) => `${a.name}: ${a.runDir} (${loadAverageText(a.loadAverageBefore)})`), '```', '');
  return out.join('\n');
}
