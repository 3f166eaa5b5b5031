// experiment.html's charts: the arms on shared time axes (seconds since each
// arm's load started), one line per arm, the timeline's events as dashed
// marks. Inlined by src/experiment/render-html.ts under a hash-based CSP;
// plain browser JavaScript, no network.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('experiment-data').textContent);
  var COLORS = ['#1f6feb', '#d4761c', '#2ea043', '#8250df'];
  var arms = data.arms.filter(function (a) { return a.series !== null; });
  var maxX = data.loadSec + 5;
  arms.forEach(function (a) {
    ['instances', 'metric', 'traffic', 'latency'].forEach(function (k) {
      var xs = a.series[k].x;
      if (xs.length > 0) maxX = Math.max(maxX, xs[xs.length - 1]);
    });
  });

  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function clock(sec) {
    var neg = sec < 0;
    var t = Math.abs(Math.round(sec));
    return (neg ? '−' : '') + pad(Math.floor(t / 60)) + ':' + pad(t % 60);
  }
  function fmt(v, unit) {
    if (v === null || v === undefined) return '–';
    var n = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
    return n + unit;
  }
  function fromZero(floorMax) {
    return function (u, min, max) {
      var hi = max === null || !isFinite(max) ? floorMax : Math.max(max * 1.08, floorMax);
      return [0, hi];
    };
  }
  var width = function () { return Math.max(320, document.getElementById('charts').clientWidth - 8); };
  var xAxis = { label: 'time since the arm\'s load started (mm:ss)', values: function (u, splits) { return splits.map(clock); } };
  var charts = [];
  var syncing = false;

  // All arms on one x array: the union of their x values. `step`: hold the last value (instance counts);
  // otherwise a value only where the arm has a sample (gaps spanned).
  function joined(pick, step) {
    var set = {};
    arms.forEach(function (a) { pick(a).x.forEach(function (x) { set[x] = true; }); });
    var xs = Object.keys(set).map(Number).sort(function (a, b) { return a - b; });
    if (xs.length === 0) xs = [0, maxX];
    var out = [xs];
    arms.forEach(function (a) {
      var s = pick(a);
      var at = {};
      s.x.forEach(function (x, i) { at[x] = s.y[i]; });
      var j = -1;
      out.push(xs.map(function (x) {
        if (!step) return x in at ? at[x] : null;
        while (j + 1 < s.x.length && s.x[j + 1] <= x) j++;
        return j < 0 ? null : s.y[j];
      }));
    });
    return out;
  }

  function marksHook(u) {
    var ctx = u.ctx;
    ctx.save();
    var lastLabel = -Infinity;
    var drawn = 0;
    data.marks.forEach(function (mk, i) {
      var x = Math.round(u.valToPos(mk.at, 'x', true));
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
      drawn++;
      ctx.strokeStyle = '#6e7781';
      ctx.fillStyle = '#424a53';
      ctx.lineWidth = 1 * devicePixelRatio;
      ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      if (x - lastLabel < 90 * devicePixelRatio) return;
      lastLabel = x;
      ctx.font = 11 * devicePixelRatio + 'px sans-serif';
      ctx.fillText(String(i + 1) + ' ' + mk.label.slice(0, 28), x + 3 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
    });
    ctx.restore();
    // For tests and curious readers: how many marks this chart drew.
    u.root.setAttribute('data-marks', String(drawn));
  }

  function chart(id, title, height, pick, step, unit, axisLabel, floorMax) {
    var d = joined(pick, step);
    var series = [{ label: 'time', value: function (u, v) { return v === null ? '–' : clock(v); } }];
    arms.forEach(function (a, i) {
      var o = { label: a.name + (id === 'chart-metric' ? ' (' + a.metric.label + ')' : ''), stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, points: { show: false }, scale: 'y', value: function (u, v) { return fmt(v, id === 'chart-metric' ? a.metric.unit : unit); } };
      if (step) o.paths = uPlot.paths.stepped({ align: 1 });
      series.push(o);
    });
    var opts = {
      title: title,
      width: width(),
      height: height,
      cursor: { sync: { key: 'experiment', setSeries: false }, drag: { x: true, y: false } },
      scales: { x: { time: false, range: [Math.min(0, d[0][0]), maxX] }, y: { range: fromZero(floorMax) } },
      legend: { live: true },
      series: series,
      axes: [xAxis, { scale: 'y', label: axisLabel }],
      hooks: {
        draw: [marksHook],
        setScale: [
          function (u, key) {
            if (key !== 'x' || syncing) return;
            syncing = true;
            charts.forEach(function (other) {
              if (other !== u) other.setScale('x', { min: u.scales.x.min, max: u.scales.x.max });
            });
            syncing = false;
          },
        ],
      },
    };
    var u = new uPlot(opts, d, document.getElementById(id));
    u.root.setAttribute('data-chart', id);
    u.root.setAttribute('data-arms', String(arms.length));
    // Points per arm (non-empty values), in arm order.
    u.root.setAttribute('data-points', d.slice(1).map(function (ys) { return ys.filter(function (v) { return v !== null; }).length; }).join(','));
    charts.push(u);
  }

  chart('chart-instances', 'Instances (starting + ready), per arm', 220, function (a) { return { x: a.series.instances.x, y: a.series.instances.live }; }, true, '', 'workers', 2);
  var metricUnits = {};
  arms.forEach(function (a) { metricUnits[a.metric.unit] = true; });
  var mixed = Object.keys(metricUnits).length > 1;
  chart('chart-metric', 'Driving metric, per arm' + (mixed ? ' (arms use different metrics: see the legend)' : ''), 220, function (a) { return { x: a.series.metric.x, y: a.series.metric.value }; }, false, '', 'metric', 1);
  chart('chart-traffic', 'Requests per second through the balancer, per arm', 220, function (a) { return { x: a.series.traffic.x, y: a.series.traffic.rps }; }, false, ' req/s', 'req/s', 1);
  chart('chart-latency', 'p95 latency through the balancer (ms), per arm; SLO ' + data.sloP95Ms + ' ms', 220, function (a) { return { x: a.series.latency.x, y: a.series.latency.p95 }; }, false, ' ms', 'ms', data.sloP95Ms);

  // Errors per second, per arm, on their own small chart under the traffic (only when there were any).
  var anyErrors = arms.some(function (a) { return a.series.traffic.errors.some(function (v) { return v !== null && v > 0; }); });
  if (anyErrors) {
    var el = document.createElement('div');
    el.className = 'chart';
    el.id = 'chart-errors';
    document.getElementById('chart-traffic').after(el);
    chart('chart-errors', 'Errors per second through the balancer, per arm', 160, function (a) { return { x: a.series.traffic.x, y: a.series.traffic.errors }; }, false, ' /s', 'errors/s', 1);
  }

  window.addEventListener('resize', function () {
    charts.forEach(function (u) { u.setSize({ width: width(), height: u.height }); });
  });
  document.documentElement.setAttribute('data-charts-ready', String(charts.length));
})();
