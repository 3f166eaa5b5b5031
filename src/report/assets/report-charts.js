// The report's components, shared by report.html (a recorded run) and the
// live page of `autoscale start` (src/web): the four uPlot charts on one time
// axis (cursor and zoom synced; double-click resets the zoom) and the tables.
// Live or recorded, this code draws them: report.html calls it once with the
// whole run; the live page calls update() with a growing window every second.
// Plain browser JavaScript, no network; defines window.AutoscaleReport.
(function () {
  'use strict';

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
    if (v === null || v === undefined) return '–';
    return (Math.abs(v) >= 1e15 ? v.toExponential(2) : (Math.round(v * 1000) / 1000).toString()) + unit;
  }
  // y ranges always start at 0: an axis that starts elsewhere exaggerates change.
  function fromZero(floorMax) {
    return function (u, min, max) {
      var hi = max === null || !isFinite(max) ? floorMax : Math.max(max * 1.08, floorMax);
      return [0, hi];
    };
  }
  // A value with no value on either side (one tick of latency between idle ticks) has no line to be part of:
  // it is drawn as a dot, or it would not show at all. Series drawn across gaps (spanGaps) need none.
  function isolatedPoints(u, seriesIdx) {
    if (u.series[seriesIdx].spanGaps) return null;
    var ys = u.data[seriesIdx];
    var out = [];
    for (var i = 0; i < ys.length; i++) {
      var has = function (j) { return j >= 0 && j < ys.length && ys[j] !== null && ys[j] !== undefined; };
      if (has(i) && !has(i - 1) && !has(i + 1)) out.push(i);
    }
    return out.length > 0 ? out : null;
  }
  function line(label, color, extra) {
    var o = { label: label, stroke: color, width: 2, points: { show: false, size: 6, fill: color, filter: isolatedPoints } };
    for (var k in extra) o[k] = extra[k];
    return o;
  }
  function constant(xs, v) {
    return xs.map(function () {
      return v;
    });
  }
  function timeSeries() {
    return { label: 'time', value: function (u, v) { return v === null ? '–' : clock(v); } };
  }
  var DEFAULT_HEIGHT = { metric: 260, instances: 220, replay: 220, traffic: 220, latency: 220 };
  var xIncrs = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  var xAxis = {
    label: 'time since the lab started (mm:ss)',
    incrs: xIncrs,
    values: function (u, splits) {
      return splits.map(clock);
    },
  };
  var workersAxis = { scale: 'n', label: 'workers', incrs: [1, 2, 5, 10, 20], values: function (u, sp) { return sp.map(function (v) { return String(Math.round(v)); }); } };

  // Each chart's data arrays from the run's series (aggregate.ts ChartSeries), the same for a whole run or a live window.
  function metricData(data, withMetric) {
    var m = data.series.metric;
    var cfg = data.settings;
    var xs = m.x.length > 0 ? m.x : [data.fromSec || 0, Math.max(data.durationSec, 1)];
    var d = [xs];
    if (withMetric) d.push(m.x.length > 0 ? m.value : [null, null]);
    d.push(m.x.length > 0 ? m.cpu : [null, null]);
    if ((cfg.policy === 'target' || cfg.policy === 'predictive')) {
      d.push(constant(xs, cfg.target * (1 + cfg.tolerance)), constant(xs, cfg.target), constant(xs, cfg.target * (1 - cfg.tolerance)));
    } else {
      d.push(constant(xs, cfg.scaleUp), constant(xs, cfg.scaleDown));
    }
    return d;
  }
  function instancesData(data) {
    var i = data.series.instances;
    return [i.x, i.ready, i.starting, i.draining, i.desired];
  }
  function trafficData(data, withOffered) {
    var tr = data.series.traffic;
    var has = tr.x.length > 0;
    var d = [has ? tr.x : [data.fromSec || 0, Math.max(data.durationSec, 1)], has ? tr.rps : [null, null], has ? tr.errors : [null, null]];
    if (withOffered) d.push(has && tr.offered ? tr.offered : has ? tr.x.map(function () { return null; }) : [null, null]);
    return d;
  }
  function latencyData(data) {
    var la = data.series.latency;
    var has = la.x.length > 0;
    return [has ? la.x : [data.fromSec || 0, Math.max(data.durationSec, 1)], has ? la.p50 : [null, null], has ? la.p95 : [null, null], has ? la.p99 : [null, null]];
  }

  /**
   * Mount the charts into the elements #chart-metric, #chart-instances,
   * #chart-traffic, #chart-latency (and #chart-replay when data.replays) inside
   * #charts. data: { durationSec, metric, metricInfo, settings, series, replays }.
   * opts.live: the traffic chart always has the offered line (a load may start
   * later); opts.width(name, default) and opts.height(name, default) may size
   * each chart (projector mode); name is metric, instances, traffic, latency.
   * Returns { charts, update(data, range), resize() }.
   */
  function mountCharts(data, opts) {
    opts = opts || {};
    var cfg = data.settings;
    var info = data.metricInfo;
    var charts = [];
    var syncing = false;
    var markers = data.series.markers;
    // The x range shown when not zoomed: the whole run, or the live window.
    var full = { min: data.fromSec || 0, max: Math.max(data.durationSec, 1) };
    var zoomed = false;
    var container = document.getElementById('charts');
    var width = function (name) {
      var w = Math.max(320, container.clientWidth - 8);
      return opts.width ? opts.width(name, w) : w;
    };
    var height = function (name, h) {
      return opts.height ? opts.height(name, h) : h;
    };
    function common(title, h, name) {
      return {
        title: title,
        width: width(name),
        height: h,
        cursor: { sync: { key: 'run', setSeries: false }, drag: { x: true, y: false } },
        scales: { x: { time: false, range: function () { return [full.min, full.max]; } } },
        legend: { live: true },
        hooks: {
          setScale: [
            function (u, key) {
              if (key !== 'x' || syncing) return;
              syncing = true;
              var min = u.scales.x.min;
              var max = u.scales.x.max;
              zoomed = min > full.min + 1e-9 || max < full.max - 1e-9;
              charts.forEach(function (other) {
                if (other !== u) other.setScale('x', { min: min, max: max });
              });
              syncing = false;
            },
          ],
        },
      };
    }
    function mount(id, o, d) {
      var el = document.getElementById(id);
      var u = new uPlot(o, d, el);
      u.root.setAttribute('data-chart', id);
      u.__name = id;
      charts.push(u);
      return u;
    }

    // 1. Driving metric and host CPU, with the thresholds or the target band, and a marker at each scaling action.
    var cpuLike = info.unit === ' %';
    var mScale = cpuLike ? '%' : 'm';
    var withMetric = data.metric !== 'host-cpu';
    var o1 = common('Driving metric (' + data.metric + ', ' + cfg.policy + ' policy) and host CPU', height('metric', DEFAULT_HEIGHT.metric), 'metric');
    o1.series = [timeSeries()];
    o1.bands = [];
    if (withMetric) o1.series.push(line(info.label + ' (drives scaling)', '#1f6feb', { scale: mScale, value: function (u, v) { return fmt(v, info.unit); } }));
    o1.series.push(line(withMetric ? 'host CPU' : 'host CPU (drives scaling)', withMetric ? '#8b949e' : '#1f6feb', { scale: '%', value: function (u, v) { return fmt(v, ' %'); } }));
    if ((cfg.policy === 'target' || cfg.policy === 'predictive')) {
      o1.series.push(line('target + tolerance', 'rgba(46,160,67,0.6)', { scale: mScale, width: 1, dash: [4, 4] }));
      o1.series.push(line('target ' + setting(cfg.target, info.unit), '#2ea043', { scale: mScale, width: 1.5, dash: [8, 4] }));
      o1.series.push(line('target − tolerance', 'rgba(46,160,67,0.6)', { scale: mScale, width: 1, dash: [4, 4] }));
      var hiIdx = o1.series.length - 3;
      o1.bands.push({ series: [hiIdx, hiIdx + 2], fill: 'rgba(46,160,67,0.10)' });
    } else {
      var step = cfg.policy === 'step';
      o1.series.push(line((step ? 'scale-out alarm at ≥ ' : 'scale out above ') + setting(cfg.scaleUp, info.unit), '#d1242f', { scale: mScale, width: 1.5, dash: [8, 4] }));
      o1.series.push(line((step ? 'scale-in alarm at ≤ ' : 'scale in below ') + setting(cfg.scaleDown, info.unit), '#bf8700', { scale: mScale, width: 1.5, dash: [8, 4] }));
    }
    o1.scales['%'] = { range: fromZero(100) };
    o1.axes = [xAxis];
    if (!cpuLike) {
      var mMax = Math.max((cfg.policy === 'target' || cfg.policy === 'predictive') ? cfg.target * (1 + cfg.tolerance) : cfg.scaleUp, 1);
      o1.scales.m = { range: fromZero(mMax) };
      o1.axes.push({ scale: 'm', label: info.label + (info.unit.trim() ? ' (' + info.unit.trim() + ')' : '') });
      o1.axes.push({ scale: '%', side: 1, label: 'host CPU (%)', grid: { show: false } });
    } else {
      o1.axes.push({ scale: '%', label: 'CPU (%)' });
    }
    o1.hooks.draw = [
      function (u) {
        var ctx = u.ctx;
        var px = devicePixelRatio;
        ctx.save();
        var shown = [];
        markers.forEach(function (mk) {
          var x = Math.round(u.valToPos(mk.at, 'x', true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
          ctx.strokeStyle = mk.direction === 'out' ? '#2ea043' : '#d4761c';
          ctx.lineWidth = 2 * px;
          ctx.setLineDash([]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          shown.push({ x: x, mk: mk });
        });
        // Labels after every line, on a white box beside their line (left of it near the right edge), so no line
        // crosses a label. Labels whose boxes would overlap the previous one are left out; the line stays.
        ctx.font = 12 * px + 'px sans-serif';
        ctx.textAlign = 'left';
        ctx.textBaseline = 'middle';
        var lastRight = -Infinity;
        var y = u.bbox.top + 10 * px;
        shown.forEach(function (s) {
          var label = (s.mk.direction === 'out' ? '▲ ' : '▼ ') + s.mk.to;
          var w = ctx.measureText(label).width + 6 * px;
          var left = s.x + 3 * px + w > u.bbox.left + u.bbox.width ? s.x - 3 * px - w : s.x + 3 * px;
          if (left < lastRight + 2 * px) return;
          lastRight = left + w;
          ctx.fillStyle = 'rgba(255,255,255,0.92)';
          ctx.fillRect(left, y - 8 * px, w, 16 * px);
          ctx.fillStyle = s.mk.direction === 'out' ? '#1a7f37' : '#b35900';
          ctx.fillText(label, left + 3 * px, y);
        });
        // A band per alarm along the bottom of the plot: red while in ALARM, green while OK, grey without data.
        var alarms = data.series.alarms || [];
        var bh = 9 * devicePixelRatio;
        alarms.forEach(function (a, i) {
          var y = u.bbox.top + u.bbox.height - (alarms.length - i) * (bh + 2 * devicePixelRatio);
          a.bands.forEach(function (b) {
            var x0 = Math.max(u.bbox.left, u.valToPos(b.from, 'x', true));
            var x1 = Math.min(u.bbox.left + u.bbox.width, u.valToPos(b.to, 'x', true));
            if (x1 <= x0) return;
            ctx.fillStyle = b.state === 'ALARM' ? 'rgba(207,34,46,0.85)' : b.state === 'OK' ? 'rgba(46,160,67,0.25)' : 'rgba(140,149,159,0.25)';
            ctx.fillRect(x0, y, x1 - x0, bh);
          });
          ctx.font = 9 * devicePixelRatio + 'px sans-serif';
          ctx.fillStyle = '#1f2328';
          ctx.textAlign = 'left';
          ctx.fillText(a.name, u.bbox.left + 3 * devicePixelRatio, y + bh - 1.5 * devicePixelRatio);
        });
        ctx.restore();
      },
    ];
    var cMetric = mount('chart-metric', o1, metricData(data, withMetric));

    // 2. Instances: ready, starting, draining, desired, as step lines.
    var stepped = uPlot.paths.stepped({ align: 1 });
    var instMax = Math.max(cfg.max, 1);
    var o2 = common('Instances', height('instances', DEFAULT_HEIGHT.instances), 'instances');
    o2.series = [
      timeSeries(),
      line('ready', '#2ea043', { paths: stepped, scale: 'n' }),
      line('starting', '#1f6feb', { paths: stepped, scale: 'n' }),
      line('draining', '#d4761c', { paths: stepped, scale: 'n' }),
      line('desired', '#6e7781', { paths: stepped, dash: [6, 4], width: 1.5, scale: 'n' }),
    ];
    o2.scales.n = { range: [0, instMax + 1] };
    o2.axes = [xAxis, workersAxis];
    var cInstances = mount('chart-instances', o2, instancesData(data));

    // 2b. With `autoscale replay --html`: every replayed policy's instances (starting + ready) against the recorded ones.
    if (data.replays) {
      var inst = data.series.instances;
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
      var o5 = common('Instances, replayed (starting + ready) — each policy under this run\'s load', height('replay', DEFAULT_HEIGHT.replay), 'replay');
      o5.series = [timeSeries(), line('recorded run', '#2ea043', { paths: stepped, scale: 'n', width: 3 })];
      var d5 = [rx, stepAt(inst.x, recLive)];
      data.replays.forEach(function (r, i) {
        o5.series.push(line(r.label, colors[i % colors.length], { paths: stepped, scale: 'n', dash: i === 0 ? [] : [6, 3] }));
        d5.push(stepAt(r.x, r.instances));
      });
      var rMax = instMax;
      data.replays.forEach(function (r) { r.instances.forEach(function (v) { rMax = Math.max(rMax, v); }); });
      o5.scales.n = { range: [0, rMax + 1] };
      o5.axes = [xAxis, workersAxis];
      mount('chart-replay', o5, d5);
    }

    // 3. Requests/s and errors/s through the balancer, and the load generator's offered rate.
    var withOffered = !!data.series.traffic.offered || !!opts.live;
    var o3 = common('Requests per second', height('traffic', DEFAULT_HEIGHT.traffic), 'traffic');
    o3.series = [
      timeSeries(),
      line('through the balancer (req/s)', '#1f6feb', { spanGaps: true, scale: 'r', value: function (u, v) { return fmt(v, ''); } }),
      line('errors/s', '#d1242f', { spanGaps: true, scale: 'r', value: function (u, v) { return fmt(v, ''); } }),
    ];
    if (withOffered) o3.series.push(line(opts.live ? 'offered by the page\'s load (req/s)' : 'offered by autoscale load (req/s)', '#8250df', { spanGaps: true, scale: 'r', dash: [5, 3], value: function (u, v) { return fmt(v, ''); } }));
    o3.scales.r = { range: fromZero(1) };
    o3.axes = [xAxis, { scale: 'r', label: 'req/s' }];
    var cTraffic = mount('chart-traffic', o3, trafficData(data, withOffered));

    // 4. Latency through the balancer per tick interval (gaps where no request completed). Under L4 the balancer
    // hands whole connections to the workers and never sees a request: the chart says so instead of staying blank.
    var l4 = cfg.balancer === 'l4';
    var o4 = common(l4 ? 'Latency through the balancer: not measured under --balancer l4' : 'Latency through the balancer (per tick interval)', height('latency', DEFAULT_HEIGHT.latency), 'latency');
    o4.hooks.draw = [
      function (u) {
        var d = u.data;
        var any = false;
        for (var k = 1; k < d.length && !any; k++) for (var j = 0; j < d[k].length; j++) if (d[k][j] !== null && d[k][j] !== undefined) { any = true; break; }
        if (any) return;
        var ctx = u.ctx;
        var px = devicePixelRatio;
        ctx.save();
        ctx.fillStyle = '#57606a';
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.font = 13 * px + 'px sans-serif';
        var cx = u.bbox.left + u.bbox.width / 2;
        var cy = u.bbox.top + u.bbox.height / 2;
        if (l4) {
          ctx.fillText('No latency under --balancer l4: the balancer hands each connection to a worker', cx, cy - 10 * px);
          ctx.fillText('and never sees a request or its response (run with --balancer l7 to measure it).', cx, cy + 10 * px);
        } else {
          ctx.fillText('No request completed in this span.', cx, cy);
        }
        ctx.restore();
      },
    ];
    o4.series = [
      timeSeries(),
      line('p50', '#2ea043', { scale: 'ms', value: function (u, v) { return fmt(v, ' ms'); } }),
      line('p95', '#bf8700', { scale: 'ms', value: function (u, v) { return fmt(v, ' ms'); } }),
      line('p99', '#d1242f', { scale: 'ms', value: function (u, v) { return fmt(v, ' ms'); } }),
    ];
    o4.scales.ms = { range: fromZero(1) };
    o4.axes = [xAxis, { scale: 'ms', label: 'ms' }];
    var cLatency = mount('chart-latency', o4, latencyData(data));

    function resetZoom() {
      zoomed = false;
      charts.forEach(function (c) {
        c.setScale('x', { min: full.min, max: full.max });
      });
    }
    // Double-click anywhere resets every chart to the whole run (live: to the live window).
    charts.forEach(function (u) {
      u.over.addEventListener('dblclick', resetZoom);
    });
    function resize() {
      charts.forEach(function (u) {
        var name = u.__name.replace('chart-', '');
        u.setSize({ width: width(name), height: height(name, DEFAULT_HEIGHT[name]) });
      });
    }
    window.addEventListener('resize', resize);

    return {
      charts: charts,
      resize: resize,
      /** New data (same shape), e.g. the live window one second later. Keeps a zoom the user made. */
      update: function (next) {
        data = next;
        markers = next.series.markers;
        full = { min: next.fromSec || 0, max: Math.max(next.durationSec, (next.fromSec || 0) + 1) };
        cMetric.setData(metricData(next, withMetric), false);
        cInstances.setData(instancesData(next), false);
        cTraffic.setData(trafficData(next, withOffered), false);
        cLatency.setData(latencyData(next), false);
        if (!zoomed) {
          syncing = true;
          charts.forEach(function (c) {
            c.setScale('x', { min: full.min, max: full.max });
          });
          syncing = false;
        }
      },
    };
  }

  // Tables: the same markup as render-html.ts writes into report.html (thead/tbody; "pairs" for key/value tables). Text only, never HTML.
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function table(id, header, rows) {
    var t = el('table');
    t.id = id;
    var thead = el('thead');
    var hr = el('tr');
    header.forEach(function (h) { hr.appendChild(el('th', h)); });
    thead.appendChild(hr);
    var tbody = el('tbody');
    rows.forEach(function (r) {
      var tr = el('tr');
      r.forEach(function (c) { tr.appendChild(el('td', c)); });
      tbody.appendChild(tr);
    });
    t.appendChild(thead);
    t.appendChild(tbody);
    return t;
  }
  function pairs(id, rows) {
    var t = el('table', null, 'pairs');
    t.id = id;
    var tbody = el('tbody');
    rows.forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(el('th', r[0]));
      tr.appendChild(el('td', r[1]));
      tbody.appendChild(tr);
    });
    t.appendChild(tbody);
    return t;
  }

  window.AutoscaleReport = { mountCharts: mountCharts, table: table, pairs: pairs, el: el, clock: clock, fmt: fmt, setting: setting };
})();
