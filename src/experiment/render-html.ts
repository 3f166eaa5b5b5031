/**
 * experiment.html: one offline page, the same chart library and rules as
 * report.html (uPlot and the page script inlined, the data embedded as
 * JSON, nothing fetched), with a strict Content-Security-Policy: scripts run
 * only by their sha256 hashes (no 'unsafe-inline'), nothing may connect: report/render-html.ts offlinePageCsp, the one policy of offline pages.
 * Every value is escaped. Pure: the comparison and the asset texts in, HTML out.
 */
import { escapeHtml, offlinePageCsp, scriptJson, type PageAssets } from '../report/render-html.js';
import type { ArmView, Comparison, CounterfactualPair } from './compare.js';
import { armRows, ARM_TABLE_HEADER, claimRows, CLAIM_HEADER, loadAverageText } from './words.js';

const inlineScript = (js: string) => js.replace(/<\/script/gi, '<\\/script');

function table(header: string[], rows: string[][], id: string, cellClass?: (r: number, c: number) => string): string {
  const head = `<thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`;
  const body = rows.map((r, i) => `<tr>${r.map((c, j) => `<td${cellClass ? ` class="${cellClass(i, j)}"` : ''}>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table id="${id}">${head}<tbody>${body}</tbody></table>`;
}

const STYLE = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0; background: #fff; }
main { max-width: 1280px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.sub { color: #57606a; margin: 0 0 12px; }
.teaches { background: #ddf4ff; border: 1px solid #54aeff; border-radius: 6px; padding: 10px 16px; font-size: 16px; }
.notes { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 14px; margin: 12px 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #eaeef2; }
thead th { background: #f6f8fa; font-weight: 600; }
td.met { color: #1a7f37; font-weight: 600; } td.failed { color: #cf222e; font-weight: 600; }
.chart { margin: 8px 0 18px; }
.legend-note { color: #57606a; font-size: 13px; margin: -4px 0 12px; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
details div { padding: 6px 0 0 18px; }
pre { background: #f6f8fa; padding: 8px 12px; overflow-x: auto; font-size: 12px; }
footer { color: #57606a; font-size: 12px; margin-top: 32px; }
@media print { .chart { break-inside: avoid; } details { display: block; } }
`;

/**
 * The counterfactual check's section: replay of one arm's recording under
 * another arm's settings next to what that arm really did. Empty list: no
 * section (the pairs come from replay's compareAgainst()).
 */
export function counterfactualSection(pairs: readonly CounterfactualPair[]): string {
  if (pairs.length === 0) return '';
  const blocks = pairs.map((p, i) => {
    const rows = p.rows.map((r) => [r.figure, r.replayed, r.real, r.error]);
    return `<h3>${escapeHtml(`${p.recording}'s load replayed under ${p.settingsOf}'s settings, against ${p.settingsOf} for real`)}</h3>
${p.note ? `<p>${escapeHtml(p.note)}</p>` : ''}${table(['figure', 'replayed', 'real', 'error'], rows, `counterfactual-${i}`)}`;
  });
  return `<h2>Counterfactual check: would replay have predicted the other arm?</h2>\n${blocks.join('\n')}\n`;
}

function armSection(a: ArmView): string {
  const fired = a.fired.length === 0 ? '' : `<details><summary>Timeline as it ran in ${escapeHtml(a.name)}</summary><div>${table(['at', 'what', 'outcome'], a.fired.map((f) => [`${f.at.toFixed(1)} s`, f.what, f.outcome]), `fired-${a.name}`)}</div></details>`;
  const notes = a.notes.length === 0 ? '' : `<div class="notes"><strong>${escapeHtml(a.name)}:</strong> ${a.notes.map(escapeHtml).join('; ')}</div>`;
  return `${notes}${fired}`;
}

export function renderExperimentHtml(c: Comparison, assets: PageAssets, generator: string): string {
  const data = {
    loadSec: c.loadSec,
    sloP95Ms: c.sloP95Ms,
    marks: c.marks,
    arms: c.arms.map((a) => ({ name: a.name, metric: a.metric, series: a.series })),
  };
  const pageJs = inlineScript(assets.pageJs);
  const uplotJs = inlineScript(assets.uplotJs);
  const csp = offlinePageCsp([uplotJs, pageJs], [assets.uplotCss, STYLE]);
  const r = c.record;
  const armsTable = table(ARM_TABLE_HEADER, armRows(c), 'arms');
  const claims =
    c.claims.length === 0
      ? '<p id="claims">This experiment makes no claim.</p>'
      : table(CLAIM_HEADER, claimRows(c), 'claims', (row, col) => (col === 3 ? (c.claims[row].met ? 'met' : 'failed') : ''));
  const met = c.claims.filter((x) => x.met).length;
  const questions =
    c.questions.length === 0
      ? ''
      : `<h2>Questions</h2>\n<ol id="questions">${c.questions.map((q) => `<li><p>${escapeHtml(q.q)}</p><details><summary>Answer</summary><div>${escapeHtml(q.answer)}</div></details></li>`).join('')}</ol>\n`;
  const finished = c.arms.filter((a) => a.status === 'finished').length;
  const statusNote =
    r.status === 'finished' && finished === c.arms.length
      ? ''
      : `<div class="notes" id="status-note">This experiment ${r.status === 'interrupted' ? 'was interrupted' : `ended ${escapeHtml(r.status)}`}: ${finished} of ${c.arms.length} arms finished (${c.arms.map((a) => `${escapeHtml(a.name)} ${escapeHtml(a.status)}`).join(', ')}). Claims are checked on finished arms only.</div>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>Experiment: ${escapeHtml(c.title)}</title>
<style>${assets.uplotCss}</style>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(c.title)}</h1>
<p class="sub">autoscale experiment ${escapeHtml(c.name)} · ${c.arms.length} arm${c.arms.length === 1 ? '' : 's'} · ${Math.round(c.loadSec)} s of load each${r.quick ? ` · --quick (every time × ${r.timeFactor.toFixed(2)})` : ''} · ${r.host.cores} cores, ${(r.host.memoryBytes / 2 ** 30).toFixed(1)} GiB · started ${escapeHtml(r.startedAt)}</p>
<div class="teaches" id="teaches">${escapeHtml(c.teaches)}</div>
${statusNote}
<h2>The arms</h2>
${armsTable}
<p class="legend-note">Figures from each arm's own recording, the same numbers <code>autoscale report &lt;arm run directory&gt;</code> shows. Scale actions count the policy's own (manual scales from the timeline are not counted). Seconds over the SLO: tick lengths whose balancer p95 was above ${c.sloP95Ms} ms. Load average: the host's 1-minute load average just before the arm started (${r.host.cores} cores; other programs on the machine count too).</p>
<h2>Over time, arm against arm</h2>
<p class="legend-note">Every chart's time axis starts when the arm's load started, so the arms line up. Dashed vertical marks: the timeline's events and phase changes, the same for every arm. Drag to zoom all charts, double-click to reset.</p>
<div id="charts">
<div class="chart" id="chart-instances"></div>
<div class="chart" id="chart-metric"></div>
<div class="chart" id="chart-traffic"></div>
<div class="chart" id="chart-latency"></div>
</div>
<h2>Claims (${met} of ${c.claims.length} met)</h2>
${claims}
<p class="legend-note">A claim is checked on each arm it names, on that arm's recording. A claim that failed on this machine is shown failed, with the load average the arm started under: a busy host slows every worker.</p>
${counterfactualSection(c.counterfactual)}<h2>Arm details</h2>
${c.arms.map(armSection).join('\n')}
${questions}<h2>How to rerun</h2>
<pre id="rerun">${escapeHtml(`autoscale experiment ${r.source}${r.quick ? ' --quick' : ''}`)}
file sha256 ${escapeHtml(r.fileSha256)} (experiment.yaml in this directory) · ${escapeHtml(r.tool.name)} ${escapeHtml(r.tool.version)}, Node ${escapeHtml(r.tool.node)}, ${escapeHtml(r.host.platform)}
${c.arms.map((a) => `${a.name}: ${a.runDir} (${loadAverageText(a.loadAverageBefore)})`).map(escapeHtml).join('\n')}</pre>
<footer>${escapeHtml(generator)}. Charts: uPlot (MIT), inlined; this file makes no network request.</footer>
</main>
<script type="application/json" id="experiment-data">${scriptJson(data)}</script>
<script>${uplotJs}</script>
<script>${pageJs}</script>
</body>
</html>
`;
}
