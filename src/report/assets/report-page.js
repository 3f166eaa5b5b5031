// report.html's own script: read the embedded run data and draw it with the
// shared components (report-charts.js, inlined before this file by
// src/report/render-html.ts). Plain browser JavaScript, no network.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('run-data').textContent);
  var view = window.AutoscaleReport.mountCharts(data);
  // Read back by the test (and handy in the console): the chart instances.
  window.__charts = view.charts;
})();
