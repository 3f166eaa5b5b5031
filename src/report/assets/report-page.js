// The report page's charts: read the embedded run data, draw four uPlot
// charts on one time axis (cursor and zoom synced; double-click resets the
// zoom). Inlined into report.html by src/report/render-html.ts; plain browser
// JavaScript, no network.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('run-data').textContent);
  var s = data.series;
  var cfg = data.settings;
  var duration = Math.max(data.durationSec, 1);

  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }
  function clock(sec) {
    var t = Math.max(0, Math.round(sec));
    var h = Math.floor(t / 3600);
    var m = Math.floor((t % 3600) / 60);
    var r = t % 60;
    return h > 0 ? h + ':' + pad(m) + ':' + pad(r) : pad(m) + ':' + pad(r);
  }
  // Numbers are bounded as src/format.ts bounds them: from 1e15 up in exponent form, never hundreds of digits.
  function fmt(v, unit) {
    if (v === null || v === undefined) return '–';
    var n = Math.abs(v) >= 1e15 ? v.toExponential(2) : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
    return n + unit;
  }
  // Settings as the user typed them: 35, 0.5 (not 35.0).
  function setting(v, unit) {
    return (Math.abs(v) >= 1e15 ? v.toExponential(2) : (Math.round(v * 1000) / 1000).toString()) + unit;
  }
  // y ranges always start at 0: an axis that starts elsewhere exaggerates change.
  function fromZero(floorMax) {
    return function (u, min, max) {
      var hi = max === null || !isFinite(max) ? floorMax : Math.max(max * 1.08, floorMax);
      return [0, hi];
    };
  }
  var width = function () {
    return Math.max(320, document.getElementById('charts').clientWidth - 8);
  };
  var xIncrs = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  var xAxis = {
    label: 'time since the lab started (mm:ss)',
    incrs: xIncrs,
    values: function (u, splits) {
      return splits.map(clock);
    },
  };
  var charts = [];
  var syncing = false;
  function common(title, height) {
    return {
      title: title,
      width: width(),
      height: height,
      cursor: { sync: { key: 'run', setSeries: false }, drag: { x: true, y: false } },
      scales: { x: { time: false, range: [0, duration] } },
      legend: { live: true },
      hooks: {
        setScale: [
          function (u, key) {
            if (key !== 'x' || syncing) return;
            syncing = true;
            var min = u.scales.x.min;
            var max = u.scales.x.max;
            charts.forEach(function (other) {
              if (other !== u) other.setScale('x', { min: min, max: max });
            });
            syncing = false;
          },
        ],
      },
    };
  }
  function line(label, color, extra) {
    var o = { label: label, stroke: color, width: 2, points: { show: false } };
    for (var k in extra) o[k] = extra[k];
    return o;
  }
  function constant(xs, v) {
    return xs.map(function () {
      return v;
    });
  }
  function mount(id, opts, d) {
    var el = document.getElementById(id);
    var u = new uPlot(opts, d, el);
    u.root.setAttribute('data-chart', id);
    charts.push(u);
    return u;
  }

  // 1. Driving metric and host CPU, with the thresholds or the target band, and a marker at each scaling action.
  var m = s.metric;
  var info = data.metricInfo;
  var cpuLike = info.unit === ' %';
  var mScale = cpuLike ? '%' : 'm';
  var mxs = m.x.length > 0 ? m.x : [0, duration];
  var m1 = { series: [{ label: 'time', value: function (u, v) { return v === null ? '–' : clock(v); } }], axes: [xAxis], scales: {}, bands: [] };
  var md = [mxs];
  if (data.metric !== 'host-cpu') {
    m1.series.push(line(info.label + ' (drives scaling)', '#1f6feb', { scale: mScale, value: function (u, v) { return fmt(v, info.unit); } }));
    md.push(m.x.length > 0 ? m.value : [null, null]);
  }
  m1.series.push(line(data.metric === 'host-cpu' ? 'host CPU (drives scaling)' : 'host CPU', data.metric === 'host-cpu' ? '#1f6feb' : '#8b949e', { scale: '%', value: function (u, v) { return fmt(v, ' %'); } }));
  md.push(m.x.length > 0 ? m.cpu : [null, null]);
  if (cfg.policy === 'target') {
    var lo = cfg.target * (1 - cfg.tolerance);
    var hi = cfg.target * (1 + cfg.tolerance);
    m1.series.push(line('target + tolerance', 'rgba(46,160,67,0.6)', { scale: mScale, width: 1, dash: [4, 4] }));
    md.push(constant(mxs, hi));
    m1.series.push(line('target ' + setting(cfg.target, info.unit), '#2ea043', { scale: mScale, width: 1.5, dash: [8, 4] }));
    md.push(constant(mxs, cfg.target));
    m1.series.push(line('target − tolerance', 'rgba(46,160,67,0.6)', { scale: mScale, width: 1, dash: [4, 4] }));
    md.push(constant(mxs, lo));
    var hiIdx = m1.series.length - 3;
    m1.bands.push({ series: [hiIdx, hiIdx + 2], fill: 'rgba(46,160,67,0.10)' });
  } else {
    m1.series.push(line('scale out above ' + setting(cfg.scaleUp, info.unit), '#d1242f', { scale: mScale, width: 1.5, dash: [8, 4] }));
    md.push(constant(mxs, cfg.scaleUp));
    m1.series.push(line('scale in below ' + setting(cfg.scaleDown, info.unit), '#bf8700', { scale: mScale, width: 1.5, dash: [8, 4] }));
    md.push(constant(mxs, cfg.scaleDown));
  }
  m1.scales['%'] = { range: fromZero(100) };
  if (!cpuLike) {
    var mMax = Math.max(cfg.policy === 'target' ? cfg.target * (1 + cfg.tolerance) : cfg.scaleUp, 1);
    m1.scales.m = { range: fromZero(mMax) };
    m1.axes.push({ scale: 'm', label: info.label + (info.unit.trim() ? ' (' + info.unit.trim() + ')' : '') });
    m1.axes.push({ scale: '%', side: 1, label: 'host CPU (%)', grid: { show: false } });
  } else {
    m1.axes.push({ scale: '%', label: 'CPU (%)' });
  }
  var o1 = common('Driving metric (' + data.metric + ', ' + cfg.policy + ' policy) and host CPU', 260);
  o1.series = m1.series;
  o1.axes = m1.axes;
  o1.bands = m1.bands;
  for (var k1 in m1.scales) o1.scales[k1] = m1.scales[k1];
  o1.hooks.draw = [
    function (u) {
      var ctx = u.ctx;
      ctx.save();
      var lastLabel = -Infinity;
      s.markers.forEach(function (mk) {
        var x = Math.round(u.valToPos(mk.at, 'x', true));
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.strokeStyle = mk.direction === 'out' ? '#2ea043' : '#d4761c';
        ctx.fillStyle = ctx.strokeStyle;
        ctx.lineWidth = 2 * devicePixelRatio;
        ctx.setLineDash([]);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        // Labels of actions closer than 36 px would overlap: the line is drawn, the label left out.
        if (x - lastLabel < 36 * devicePixelRatio) return;
        lastLabel = x;
        ctx.font = 12 * devicePixelRatio + 'px sans-serif';
        ctx.fillText((mk.direction === 'out' ? '▲ ' : '▼ ') + mk.to, x + 3 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
      });
      ctx.restore();
    },
  ];
  mount('chart-metric', o1, md);

  // 2. Instances: ready, starting, draining, desired, as step lines.
  var inst = s.instances;
  var stepped = uPlot.paths.stepped({ align: 1 });
  var instMax = Math.max(cfg.max, 1);
  var o2 = common('Instances', 220);
  o2.series = [
    { label: 'time', value: function (u, v) { return v === null ? '–' : clock(v); } },
    line('ready', '#2ea043', { paths: stepped }),
    line('starting', '#1f6feb', { paths: stepped }),
    line('draining', '#d4761c', { paths: stepped }),
    line('desired', '#6e7781', { paths: stepped, dash: [6, 4], width: 1.5 }),
  ];
  o2.scales.n = { range: [0, instMax + 1] };
  o2.series.forEach(function (se, i) {
    if (i > 0) se.scale = 'n';
  });
  o2.axes = [xAxis, { scale: 'n', label: 'workers', incrs: [1, 2, 5, 10, 20], values: function (u, sp) { return sp.map(function (v) { return String(Math.round(v)); }); } }];
  mount('chart-instances', o2, [inst.x, inst.ready, inst.starting, inst.draining, inst.desired]);

  // 2b. With `autoscale replay --html`: every replayed policy's instances (starting + ready) against the recorded ones.
  if (data.replays) {
    var colors = ['#1f6feb', '#d4761c', '#8250df', '#bf8700', '#d1242f', '#0a7ea4'];
    var xsSet = {};
    inst.x.forEach(function (x) { xsSet[x] = true; });
    data.replays.forEach(function (r) { r.x.forEach(function (x) { xsSet[x] = true; }); });
    var rx = Object.keys(xsSet).map(Number).sort(function (a, b) { return a - b; });
    // Each series is a step function: its value at x is the last change at or before x.
    var stepAt = function (xs, ys) {
      var j = -1;
      return rx.map(function (x) {
        while (j + 1 < xs.length && xs[j + 1] <= x) j++;
        return j < 0 ? null : ys[j];
      });
    };
    var recLive = inst.x.map(function (x, i) { return inst.ready[i] + inst.starting[i]; });
    var o5 = common('Instances, replayed (starting + ready) — each policy under this run\'s load', 220);
    o5.series = [{ label: 'time', value: function (u, v) { return v === null ? '–' : clock(v); } }, line('recorded run', '#2ea043', { paths: stepped, scale: 'n', width: 3 })];
    var d5 = [rx, stepAt(inst.x, recLive)];
    data.replays.forEach(function (r, i) {
      o5.series.push(line(r.label, colors[i % colors.length], { paths: stepped, scale: 'n', dash: i === 0 ? [] : [6, 3] }));
      d5.push(stepAt(r.x, r.instances));
    });
    var rMax = instMax;
    data.replays.forEach(function (r) { r.instances.forEach(function (v) { rMax = Math.max(rMax, v); }); });
    o5.scales.n = { range: [0, rMax + 1] };
    o5.axes = [xAxis, { scale: 'n', label: 'workers', incrs: [1, 2, 5, 10, 20], values: function (u, sp) { return sp.map(function (v) { return String(Math.round(v)); }); } }];
    mount('chart-replay', o5, d5);
  }

  // 3. Requests/s and errors/s through the balancer, and the load generator's offered rate.
  var tr = s.traffic;
  var o3 = common('Requests per second', 220);
  o3.series = [
    { label: 'time', value: function (u, v) { return v === null ? '–' : clock(v); } },
    line('through the balancer (req/s)', '#1f6feb', { spanGaps: true, scale: 'r', value: function (u, v) { return fmt(v, ''); } }),
    line('errors/s', '#d1242f', { spanGaps: true, scale: 'r', value: function (u, v) { return fmt(v, ''); } }),
  ];
  var d3 = [tr.x.length > 0 ? tr.x : [0, duration], tr.x.length > 0 ? tr.rps : [null, null], tr.x.length > 0 ? tr.errors : [null, null]];
  if (tr.offered) {
    o3.series.push(line('offered by autoscale load (req/s)', '#8250df', { spanGaps: true, scale: 'r', dash: [5, 3], value: function (u, v) { return fmt(v, ''); } }));
    d3.push(tr.offered);
  }
  o3.scales.r = { range: fromZero(1) };
  o3.axes = [xAxis, { scale: 'r', label: 'req/s' }];
  mount('chart-traffic', o3, d3);

  // 4. Latency through the balancer per tick interval (gaps where no request completed).
  var la = s.latency;
  var o4 = common('Latency through the balancer (per tick interval)', 220);
  o4.series = [
    { label: 'time', value: function (u, v) { return v === null ? '–' : clock(v); } },
    line('p50', '#2ea043', { scale: 'ms', value: function (u, v) { return fmt(v, ' ms'); } }),
    line('p95', '#bf8700', { scale: 'ms', value: function (u, v) { return fmt(v, ' ms'); } }),
    line('p99', '#d1242f', { scale: 'ms', value: function (u, v) { return fmt(v, ' ms'); } }),
  ];
  o4.scales.ms = { range: fromZero(1) };
  o4.axes = [xAxis, { scale: 'ms', label: 'ms' }];
  var lx = la.x.length > 0 ? la.x : [0, duration];
  mount('chart-latency', o4, [lx, la.x.length > 0 ? la.p50 : [null, null], la.x.length > 0 ? la.p95 : [null, null], la.x.length > 0 ? la.p99 : [null, null]]);

  // Double-click anywhere resets every chart to the whole run.
  charts.forEach(function (u) {
    u.over.addEventListener('dblclick', function () {
      charts.forEach(function (c) {
        c.setScale('x', { min: 0, max: duration });
      });
    });
  });
  window.addEventListener('resize', function () {
    charts.forEach(function (u) {
      u.setSize({ width: width(), height: u.height });
    });
  });
  // Read back by the test (and handy in the console): the chart instances.
  window.__charts = charts;
})();
