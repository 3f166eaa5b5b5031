/**
 * The live page's HTML: a skeleton the scripts fill (report-charts.js, the
 * report's components; live-page.js, the stream). No inline script or style:
 * the CSP allows only this server's own files. Pure.
 */
import { escapeHtml } from '../report/render-html.js';

/** The browser files the page loads, by URL path; all same-origin, all behind the token. */
export const ASSET_PATHS = {
  uplotJs: '/assets/uplot.js',
  uplotCss: '/assets/uplot.css',
  chartsJs: '/assets/report-charts.js',
  liveJs: '/assets/live-page.js',
  liveCss: '/assets/live.css',
} as const;

/**
 * Only this server's files; the stream and the API are same-origin fetches;
 * no inline script, no eval, nothing from the network, never framed.
 */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function livePage(opts: { token: string; title: string; tokenHeader: string }): string {
  const a = ASSET_PATHS;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="autoscale-token" content="${escapeHtml(opts.token)}">
<meta name="autoscale-token-header" content="${escapeHtml(opts.tokenHeader)}">
<title>${escapeHtml(opts.title)}</title>
<link rel="stylesheet" href="${a.uplotCss}">
<link rel="stylesheet" href="${a.liveCss}">
</head>
<body>
<header id="top">
  <div class="title"><strong>autoscale</strong> <span id="lab-state" class="pill">connecting…</span> <span id="elapsed" class="mono"></span></div>
  <div class="where"><span id="balancer" class="mono"></span></div>
  <div class="views">
    <button type="button" id="history-toggle" title="Show the whole run so far (h)">Whole run</button>
    <button type="button" id="projector-toggle" title="Large type and charts for a projector (f)">Projector</button>
  </div>
</header>
<div id="banner" class="banner" hidden></div>
<div id="experiment" class="experiment" hidden></div>
<main>
<section id="tiles" class="tiles" aria-label="now">
  <div class="tile" id="tile-metric"><div class="k">driving metric</div><div class="v" id="metric-value">–</div><div class="s" id="metric-rule"></div></div>
  <div class="tile big" id="tile-instances"><div class="k">instances ready / desired</div><div class="v"><span id="inst-ready">–</span><span class="of"> / </span><span id="inst-desired">–</span></div><div class="s" id="inst-detail"></div></div>
  <div class="tile" id="tile-rps"><div class="k">req/s · errors/s</div><div class="v"><span id="rps">–</span><span class="err" id="errors"></span></div><div class="s" id="totals"></div></div>
  <div class="tile" id="tile-latency"><div class="k">latency p50 · p95 · p99</div><div class="v" id="latency">–</div><div class="s">through the balancer, last second</div></div>
</section>
<p id="decision" class="decision"></p>
<p id="schedule" class="decision" hidden></p>
<p id="alarms" class="alarms" aria-label="alarms" hidden></p>
<section id="controls" class="panel controls" aria-label="controls">
  <div class="group"><span class="label">workers</span>
    <button type="button" id="scale-down" title="scale in by one (−)">−</button>
    <button type="button" id="scale-up" title="scale out by one (+)">+</button>
    <label>scale to <input id="scale-n" type="number" min="0" step="1"></label><button type="button" id="scale-to">Set</button>
  </div>
  <div class="group"><span class="label">autoscaling</span>
    <button type="button" id="pause">Pause</button>
    <button type="button" id="refresh" title="replace every worker, one at a time, keeping 90 % ready">Rolling refresh</button>
  </div>
  <div class="group"><span class="label">chaos</span>
    <label>worker <select id="signal-worker"></select></label>
    <button type="button" id="sigkill" class="danger" title="kill the worker at once: the supervisor replaces it">SIGKILL</button>
    <button type="button" id="sigstop" class="danger" title="freeze the worker: it fails health checks and is replaced">SIGSTOP</button>
    <button type="button" id="sigcont" title="let a frozen worker go on">SIGCONT</button>
  </div>
  <div id="result" class="result" role="status"></div>
</section>
<section id="load" class="panel load" aria-label="load">
  <div class="group"><span class="label">load</span>
    <label>profile <select id="load-profile"></select></label>
    <label><select id="load-mode"><option value="threads">threads</option><option value="rate">req/s</option></select> <input id="load-level" type="number" min="1" step="1" value="20"></label>
    <label>for <input id="load-duration" type="number" min="1" step="1" value="60"> s</label>
    <button type="button" id="load-start">Start load</button>
    <button type="button" id="load-stop">Stop load</button>
  </div>
  <div id="load-status" class="load-status mono"></div>
  <pre id="load-summary" hidden></pre>
</section>
<div id="charts" class="charts">
<div class="chart" id="chart-metric"></div>
<div class="chart" id="chart-instances"></div>
<div class="chart" id="chart-traffic"></div>
<div class="chart" id="chart-latency"></div>
</div>
<p class="legend-note" id="charts-note"></p>
<section id="report" class="report" hidden>
  <h2>Summary</h2><div id="report-summary"></div>
  <div id="report-notes"></div>
  <h2>Reaction times</h2><div id="report-reactions"></div>
  <h2>Worker lifecycle highlights</h2><div id="report-highlights"></div>
  <div id="report-visits"></div>
</section>
<section class="cols">
  <div><h2>Workers</h2><div id="workers"></div></div>
  <div><h2>Scaling decisions</h2><div id="decisions"></div></div>
</section>
<h2>Event log</h2>
<div id="log" class="log mono"></div>
<h2>Settings</h2>
<div id="settings"></div>
<footer>autoscale live page: served by the lab on this machine; charts by uPlot (MIT); nothing is loaded from the network.</footer>
</main>
<script src="${a.uplotJs}"></script>
<script src="${a.chartsJs}"></script>
<script src="${a.liveJs}"></script>
</body>
</html>
`;
}
