/**
 * report.html: one self-contained file that works offline. uPlot's JS and CSS
 * and the page script are inlined, the run's series embedded as JSON; nothing
 * is fetched. Pure: the model and the asset texts in, the HTML string out.
 *
 * Safety (the page is opened from runs other people hand in): every value
 * from the recording is cut to MAX_SHOWN_CHARS and HTML-escaped (`text()`);
 * the embedded data is JSON that cannot close its script element; the
 * Content-Security-Policy allows only the page's own two inline scripts and
 * two style blocks, by hash (no 'unsafe-inline', so an injected handler or
 * script element would not run), no fetch of any kind (default-src 'none'),
 * no form submission (form-action 'none') and no <base> (base-uri 'none').
 */
import { createHash } from 'node:crypto';
import { clip } from '../format.js';
import type { RunModel } from './aggregate.js';
import { ALARM_HEADER } from './alarms.js';
import { alarmRows, capNotes, capRows, COLD_START_HEADER, coldStartRows, DECISION_HEADER, noReactionText, decisionRows, hasVisits, highlightRows, REACTION_HEADER, reactionRows, settingsRows, summaryRows, visitRows, visitsIntro, VISITS_HEADER } from './words.js';

export interface PageAssets {
  uplotJs: string;
  uplotCss: string;
  pageJs: string;
}

export interface MetricLabel {
  label: string;
  unit: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Every value written into the page goes through here: cut to MAX_SHOWN_CHARS, then escaped. */
function text(v: string | number, max?: number): string {
  return escapeHtml(clip(String(v), max));
}

/** A CSP source for one inline element's exact text. */
function cspHash(content: string): string {
  return `'sha256-${createHash('sha256').update(content, 'utf8').digest('base64')}'`;
}

/**
 * The policy of every offline page (report.html, experiment.html): nothing loads or connects, and only these exact
 * inline scripts and styles run (by hash: no 'unsafe-inline', so an injected handler or element does nothing).
 */
export function offlinePageCsp(scripts: readonly string[], styles: readonly string[]): string {
  return [
    "default-src 'none'",
    `script-src ${scripts.map(cspHash).join(' ')}`,
    `style-src ${styles.map(cspHash).join(' ')}`,
    'img-src data:',
    "connect-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** JSON safe inside <script>: no "</script>", no "<!--", no U+2028/9. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Inline script text must not close its own tag. */
function inlineScript(js: string): string {
  return js.replace(/<\/script/gi, '<\\/script');
}

/** Inline style text must not close its own tag. */
function inlineStyle(css: string): string {
  return css.replace(/<\/style/gi, '<\\/style');
}

function table(header: string[], rows: string[][], id: string): string {
  const head = `<thead><tr>${header.map((h) => `<th>${text(h)}</th>`).join('')}</tr></thead>`;
  const body = `<tbody>${capRows(rows, header.length).map((r) => `<tr>${r.map((c) => `<td>${text(c)}</td>`).join('')}</tr>`).join('')}</tbody>`;
  return `<table id="${id}">${head}${body}</table>`;
}

/** `max`: the longest value shown (replay's account of its model runs longer than a recorded value may). */
function pairs(rows: [string, string][], id: string, max?: number): string {
  return `<table id="${id}" class="pairs"><tbody>${rows.map(([k, v]) => `<tr><th>${text(k)}</th><td>${text(v, max)}</td></tr>`).join('')}</tbody></table>`;
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; margin: 0; background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.sub { color: #57606a; margin: 0 0 16px; }
.notes { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 14px; margin: 12px 0; }
.notes ul { margin: 4px 0; padding-left: 20px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #eaeef2; }
/* A long word in a reason, detail or note wraps instead of widening the page; the short columns before it keep their width. */
td:last-child, .notes li, .sub, h1 { overflow-wrap: anywhere; }
thead th { background: #f6f8fa; font-weight: 600; }
table.pairs th { width: 34%; font-weight: 600; color: #424a53; }
/* Three short columns: a compact table with the counts right-aligned, so they line up for comparison. */
/* The replay's comparison: every column visible (no scrolling, nothing cut), the figures right-aligned. */
#replay-table th:not(:first-child), #replay-table td:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
#replay-table td:last-child { overflow-wrap: normal; }
#visits { width: auto; min-width: 320px; } #visits th:not(:first-child), #visits td:not(:first-child) { text-align: right; padding-left: 24px; font-variant-numeric: tabular-nums; }
.chart { margin: 8px 0 18px; }
.legend-note { color: #57606a; font-size: 12px; margin: -10px 0 14px; }
.u-title { font-size: 15px !important; }
pre { background: #f6f8fa; padding: 8px 12px; overflow-x: auto; font-size: 12px; }
footer { color: #57606a; font-size: 12px; margin-top: 32px; }
@media print { .chart { break-inside: avoid; } }
`;

/** One replayed policy's instance count (starting + ready) as a step series on the run's time axis. */
export interface ReplaySeries {
  label: string;
  /** Seconds since the lab started where the count changes (and the end). */
  x: number[];
  instances: number[];
}

/** What `autoscale replay --html` adds: each compared policy's instances, the replay's account (model, fidelity) and its table. */
export interface ReplayExtra {
  series: ReplaySeries[];
  /** The lines replay prints above its table, as [heading, text] ("run", "model", "fidelity", …). */
  lines: [string, string][];
  /** The comparison table cell by cell (src/simulate/summary.ts tableCells), and the notes under it. */
  table: { header: string[]; rows: string[][]; notes: string[] };
}

/** What the shared chart components (assets/report-charts.js) draw: the report embeds it, the live page fetches it for the whole history. */
export function chartData(m: RunModel, metric: MetricLabel, replay: ReplayExtra | null = null) {
  const c = m.settings;
  // Only what the page script reads, strings cut: the page's data is the recording's, as bounded as the text.
  return {
    durationSec: m.endSec,
    metric: clip(c.metric),
    metricInfo: { label: clip(metric.label), unit: clip(metric.unit) },
    // The lines drawn at the scale-out and scale-in lines: for --policy step, its two alarms' thresholds (null: no such alarm).
    settings:
      c.policy === 'step'
        ? { policy: c.policy, target: c.target, tolerance: c.tolerance, scaleUp: c.stepScaling?.out?.alarm.threshold ?? null, scaleDown: c.stepScaling?.in?.alarm.threshold ?? null, max: c.max, balancer: c.balancer }
        : { policy: c.policy, target: c.target, tolerance: c.tolerance, scaleUp: c.scaleUp, scaleDown: c.scaleDown, max: c.max, balancer: c.balancer },
    series: m.series,
    replays: replay === null ? null : replay.series.map((r) => ({ ...r, label: clip(r.label) })),
  };
}

export function renderHtml(m: RunModel, title: string, metric: MetricLabel, assets: PageAssets, generator: string, replay: ReplayExtra | null = null): string {
  const c = m.settings;
  const data = chartData(m, metric, replay);
  const replaySection =
    replay === null
      ? ''
      : `<h2>What if: replayed policies</h2>
<p class="legend-note" id="replay-note">From <code>autoscale replay --html</code>: this run's load through the same decide() under each policy, with a capacity model calibrated from the run (below). The replayed instances are drawn on the chart under the recorded instances, on the same time axis. Running <code>autoscale report</code> again renders the page without them.</p>
${table(replay.table.header, replay.table.rows, 'replay-table')}
${replay.table.notes.map((n) => `<p class="legend-note replay-table-note">${text(n)}</p>`).join('\n')}
${pairs(replay.lines, 'replay-model', 2000)}`;
  const notes =
    m.notes.length === 0 ? '' : `<div class="notes" id="notes"><strong>Notes on this recording</strong><ul>${capNotes(m.notes).map((n) => `<li>${text(n)}</li>`).join('')}</ul></div>`;
  const decisions = m.decisions.length === 0 ? '<p id="decisions">No scaling action in this run.</p>' : table(DECISION_HEADER, decisionRows(m), 'decisions');
  const alarmTable = alarmRows(m);
  const alarms =
    m.alarms.length === 0
      ? ''
      : `<h2>Alarms</h2>\n<ul id="alarm-rules">${m.alarms.map((a) => `<li><strong>${text(a.name)}</strong>: ${text(a.rule)}</li>`).join('')}</ul>\n${alarmTable.length === 0 ? '<p id="alarms">No alarm changed state in this run.</p>' : table(ALARM_HEADER, alarmTable, 'alarms')}\n`;
  const reactions = m.summary.reactions.length === 0 ? `<p id="reactions">${text(noReactionText(m))}</p>` : table(REACTION_HEADER, reactionRows(m), 'reactions');
  const coldStarts =
    m.summary.coldStarts.length === 0
      ? ''
      : `<h2>Cold starts</h2>\n<p class="legend-note">Requests the balancer held while no worker was in rotation, sent on once one was ready.</p>\n${table(COLD_START_HEADER, coldStartRows(m), 'cold-starts')}\n`;
  const hl = highlightRows(m);
  const highlights = hl.length === 0 ? '<p id="highlights">No crash, replacement or health failure.</p>' : table(['time', 'what', 'detail'], hl, 'highlights');
  const visits =
    m.visits === null
      ? ''
      : `<h2>Visits by worker</h2>\n<p id="visits-intro">${text(visitsIntro(m))}</p>\n${hasVisits(m) ? table(VISITS_HEADER, visitRows(m), 'visits') : ''}\n`;
  const scripts = [inlineScript(assets.uplotJs), inlineScript(assets.pageJs)];
  const styles = [inlineStyle(assets.uplotCss), STYLE];
  const csp = offlinePageCsp(scripts, styles);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="referrer" content="no-referrer">
<title>Autoscaling run ${text(title)}</title>
<style>${styles[0]}</style>
<style>${styles[1]}</style>
</head>
<body>
<main>
<h1>Autoscaling run ${text(title)}</h1>
<p class="sub">${text(c.policy)} policy on ${text(c.metric)}, ${text(c.min)}–${text(c.max)} workers · recorded by autoscale</p>
${notes}
<h2>Summary</h2>
${pairs(summaryRows(m), 'summary')}
<h2>Over time</h2>
<p class="legend-note">All ${replay === null ? 'four' : 'five'} charts share the time axis. Drag across a chart to zoom every chart to that span, double-click to see the whole run again; the legend shows the values under the cursor. Vertical marks on the first chart: ▲ scale-out, ▼ scale-in, with the new desired count${m.alarms.length > 0 ? '; along its bottom, a band per alarm: red while in ALARM, green while OK, grey without data' : ''}.</p>
<div id="charts">
<div class="chart" id="chart-metric"></div>
<div class="chart" id="chart-instances"></div>
${replay === null ? '' : '<div class="chart" id="chart-replay"></div>\n'}<div class="chart" id="chart-traffic"></div>
<div class="chart" id="chart-latency"></div>
</div>
${replaySection}
<h2>Scaling decisions</h2>
${decisions}
${alarms}<h2>Reaction times</h2>
${reactions}
${coldStarts}<h2>Worker lifecycle highlights</h2>
${highlights}
${visits}<h2>Settings</h2>
${pairs(settingsRows(m), 'settings')}
<footer>${text(generator)}. Charts: uPlot (MIT), inlined; this file makes no network request.</footer>
</main>
<script type="application/json" id="run-data">${scriptJson(data)}</script>
<script>${scripts[0]}</script>
<script>${scripts[1]}</script>
</body>
</html>
`;
}
