// The live page of `autoscale start` (src/web): one event stream from the
// lab, drawn with the report's own components (report-charts.js, loaded
// before this file), the controls posted back with the page's token. When the
// lab stops, the stream's last messages are the run's report: the page
// redraws the whole run with the same components and offers report.html.
(function () {
  'use strict';
  var R = window.AutoscaleReport;
  var $ = function (id) {
    return document.getElementById(id);
  };
  function meta(name) {
    var m = document.querySelector('meta[name="' + name + '"]');
    return m ? m.getAttribute('content') : '';
  }
  var token = meta('autoscale-token');
  var tokenHeader = meta('autoscale-token-header');

  // The token moved into an HttpOnly cookie on this load: take it out of the address bar (and history), keep the rest.
  var params = new URLSearchParams(location.search);
  if (params.has('token')) {
    params.delete('token');
    var q = params.toString();
    history.replaceState(null, '', location.pathname + (q ? '?' + q : ''));
  }

  var hello = null;
  var series = null; // the live window, the report's ChartSeries shape
  var view = null; // the mounted charts
  var mode = 'live'; // 'live' | 'history' | 'report'
  var nowSec = 0;
  var stopped = false;
  var window_ = 600;

  function fmtCount(n) {
    return Math.round(n).toLocaleString('en-US');
  }
  function ms(v) {
    return v === null || v === undefined ? '–' : R.fmt(v, ' ms');
  }
  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }
  function setText(id, text) {
    var el = $(id);
    if (el.textContent !== text) el.textContent = text;
  }

  // Projector mode: big type, the four charts in a 2 × 2 grid filling the screen (toggle, ?projector=1, key f).
  function projector() {
    return document.body.classList.contains('projector');
  }
  function chartWidth(name, w) {
    if (!projector()) return w;
    return Math.max(320, Math.floor(($('charts').clientWidth - 24) / 2));
  }
  function chartHeight(name, h) {
    if (!projector()) return h;
    var top = $('charts').getBoundingClientRect().top + window.scrollY;
    // Each chart's title, axis label and legend (two lines for the first) take about 150 px besides the plot.
    return Math.max(160, Math.floor((window.innerHeight - top - 16) / 2) - 150);
  }
  function setProjector(on) {
    document.body.classList.toggle('projector', on);
    $('projector-toggle').textContent = on ? 'Normal view' : 'Projector';
    var p = new URLSearchParams(location.search);
    if (on) p.set('projector', '1');
    else p.delete('projector');
    var q = p.toString();
    history.replaceState(null, '', location.pathname + (q ? '?' + q : ''));
    if (view) view.resize();
  }
  $('projector-toggle').addEventListener('click', function () {
    setProjector(!projector());
  });
  if (params.get('projector') === '1') document.body.classList.add('projector');

  // Drop points older than the live window: the page stays light however long the run (the whole run is a click away).
  function trim(s, from) {
    function cut(obj) {
      var xs = obj.x;
      var i = 0;
      while (i < xs.length && xs[i] < from) i++;
      if (i === 0) return;
      for (var k in obj) if (obj[k]) obj[k].splice(0, i);
    }
    cut(s.metric);
    cut(s.instances);
    cut(s.traffic);
    cut(s.latency);
    while (s.markers.length > 0 && s.markers[0].at < from) s.markers.shift();
  }
  function append(s, p) {
    p.metric.forEach(function (m) {
      s.metric.x.push(m.x);
      s.metric.value.push(m.value);
      s.metric.cpu.push(m.cpu);
    });
    p.latency.forEach(function (l) {
      s.latency.x.push(l.x);
      s.latency.p50.push(l.p50);
      s.latency.p95.push(l.p95);
      s.latency.p99.push(l.p99);
    });
    if (p.traffic) {
      s.traffic.x.push(p.traffic.x);
      s.traffic.rps.push(p.traffic.rps);
      s.traffic.errors.push(p.traffic.errors);
      s.traffic.offered.push(p.traffic.offered);
    }
    if (p.instances) {
      var i = p.instances;
      s.instances.x.push(i.x);
      s.instances.ready.push(i.ready);
      s.instances.starting.push(i.starting);
      s.instances.draining.push(i.draining);
      s.instances.desired.push(i.desired);
    }
    p.markers.forEach(function (m) {
      s.markers.push(m);
    });
  }
  function liveData() {
    return { durationSec: nowSec, fromSec: Math.max(0, nowSec - window_), metric: hello.settings.metric, metricInfo: hello.metricInfo, settings: hello.settings, series: series, replays: null };
  }

  // ---- the stream ----
  var es = new EventSource('/events');
  es.addEventListener('hello', function (e) {
    onHello(JSON.parse(e.data));
  });
  es.addEventListener('frame', function (e) {
    onFrame(JSON.parse(e.data));
  });
  es.addEventListener('load', function (e) {
    renderLoad(JSON.parse(e.data));
  });
  es.addEventListener('experiment', function (e) {
    renderExperiment(JSON.parse(e.data));
  });
  es.addEventListener('tail', function (e) {
    var t = JSON.parse(e.data);
    t.log.forEach(addLog);
  });
  es.addEventListener('report', function (e) {
    onReport(JSON.parse(e.data));
  });
  es.addEventListener('report-html', function (e) {
    var html = JSON.parse(e.data);
    var url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
    var a = $('download');
    if (a) {
      a.href = url;
      a.hidden = false;
    }
  });
  es.onerror = function () {
    if (stopped) {
      es.close();
      return;
    }
    setBanner('warn', 'Connection to the lab lost; retrying… (if the lab was stopped, this page keeps what it showed)');
  };

  function setBanner(kind, text, link) {
    var b = $('banner');
    clear(b);
    b.className = 'banner ' + kind;
    b.appendChild(document.createTextNode(text));
    if (link) b.appendChild(link);
    b.hidden = false;
  }

  function onHello(h) {
    hello = h;
    window_ = h.windowSec;
    nowSec = h.nowSec;
    series = h.series;
    if (!series.traffic.offered) series.traffic.offered = series.traffic.x.map(function () { return null; });
    $('banner').hidden = true;
    setText('balancer', 'balancer ' + h.balancerUrl + ' · pid ' + h.pid);
    if (!view) {
      view = R.mountCharts(liveData(), { live: true, width: chartWidth, height: chartHeight });
      window.__charts = view.charts;
      if (projector()) setProjector(true);
    } else if (mode === 'live') {
      view.update(liveData());
    }
    setText('charts-note', 'Live: the last ' + Math.round(window_ / 60) + ' minutes. Drag across a chart to zoom, double-click to reset; "Whole run" shows everything since the start.');
    var d = $('decisions');
    clear(d);
    d.appendChild(R.table('decision-table', h.decisionHeader, h.decisions));
    var log = $('log');
    clear(log);
    h.log.forEach(addLog);
    var st = $('settings');
    clear(st);
    st.appendChild(R.pairs('settings-table', h.settingsRows));
    fillProfiles(h.loadProfiles || [], h.loadLimits);
    if (h.status) renderStatus(h.status);
    renderWorkers(h.workers);
    renderLoad(h.load);
    renderExperiment(h.experiment);
    setState(h.status && h.status.paused ? 'paused' : 'live');
  }

  function onFrame(f) {
    if (!hello) return;
    nowSec = f.t;
    append(series, f.points);
    trim(series, Math.max(0, nowSec - window_));
    if (mode === 'live') view.update(liveData());
    setText('elapsed', R.clock(nowSec));
    renderStatus(f.status);
    renderWorkers(f.workers);
    f.log.forEach(addLog);
    if (f.decisions.length > 0) {
      var tbody = $('decision-table').tBodies[0];
      f.decisions.forEach(function (r) {
        var tr = document.createElement('tr');
        r.forEach(function (c) {
          tr.appendChild(R.el('td', c));
        });
        tbody.appendChild(tr);
      });
    }
    if (!stopped) setState(f.status.paused ? 'paused' : 'live');
    // The experiment's countdown to its next event moves with the lab's clock.
    if (experiment) renderExperiment(experiment);
    document.body.setAttribute('data-frames', String(Number(document.body.getAttribute('data-frames') || '0') + 1));
  }

  function setState(s) {
    var pill = $('lab-state');
    pill.className = 'pill ' + s;
    pill.textContent = s === 'live' ? 'LIVE · autoscaling on' : s === 'paused' ? 'LIVE · autoscaling PAUSED' : 'STOPPED';
    $('pause').textContent = s === 'paused' ? 'Resume' : 'Pause';
  }

  function renderStatus(st) {
    var info = hello.metricInfo;
    var cfg = hello.settings;
    var v = cfg.metric === 'host-cpu' ? st.cpu : st.value;
    setText('metric-value', R.fmt(v, info.unit));
    var steps = cfg.policy === 'step' && cfg.stepScaling ? cfg.stepScaling : null;
    var rule = (cfg.policy === 'target' || cfg.policy === 'predictive') ? 'target ' + R.setting(cfg.target, info.unit) + ' ± ' + R.setting(cfg.tolerance * 100, ' %')
      : steps ? [steps.out ? 'step out at ≥ ' + R.setting(steps.out.alarm.threshold, info.unit) : 'no scale-out', steps['in'] ? 'step in at ≤ ' + R.setting(steps['in'].alarm.threshold, info.unit) : 'no scale-in'].join(' · ')
      : 'out above ' + R.setting(cfg.scaleUp, info.unit) + ' · in below ' + R.setting(cfg.scaleDown, info.unit);
    setText('metric-rule', info.label + ' · ' + rule + (cfg.metric === 'host-cpu' ? '' : ' · host CPU ' + R.fmt(st.cpu, ' %')));
    setText('inst-ready', String(st.counts.ready));
    setText('inst-desired', String(st.desired));
    var parts = [];
    ['starting', 'booting', 'draining'].forEach(function (k) {
      parts.push(k + ' ' + (st.counts[k] || 0));
    });
    Object.keys(st.counts).forEach(function (k) {
      if (['ready', 'starting', 'booting', 'draining'].indexOf(k) < 0) parts.push(k + ' ' + st.counts[k]);
    });
    setText('inst-detail', parts.join(' · ') + ' · min ' + cfg.min + ', max ' + cfg.max);
    setText('rps', R.fmt(st.rps, ''));
    setText('errors', st.errorsPerSec > 0 ? ' · ' + R.fmt(st.errorsPerSec, '') + ' err/s' : ' · 0 err/s');
    setText('totals', fmtCount(st.requests) + ' requests, ' + fmtCount(st.errors) + ' errors in all');
    setText('latency', ms(st.p50) + ' · ' + ms(st.p95) + ' · ' + ms(st.p99));
    setText('decision', st.lastDecision ? 'last decision +' + R.clock(st.lastDecision.t / 1000) + ': ' + st.lastDecision.action + ' — ' + st.lastDecision.reason : 'last decision: none yet (first tick pending)');
    setText('schedule', st.schedule || '');
    $('schedule').hidden = !st.schedule;
    renderAlarms(st.alarms || []);
    var n = $('scale-n');
    if (document.activeElement !== n && n.value === '') n.placeholder = String(st.desired);
  }

  /** One badge per alarm: ALARM red, OK green, INSUFFICIENT_DATA grey; the rule and since when in its title. */
  function renderAlarms(alarms) {
    var box = $('alarms');
    box.hidden = alarms.length === 0;
    var rules = hello.settings.alarms || [];
    var key = alarms.map(function (a) { return a.name + a.state + a.value; }).join('|');
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.textContent = '';
    var label = document.createElement('span');
    label.className = 'label';
    label.textContent = 'alarms';
    box.appendChild(label);
    alarms.forEach(function (a) {
      var rule = rules.filter(function (r) { return r.name === a.name; })[0];
      var b = document.createElement('span');
      b.className = 'alarm-badge ' + (a.state === 'ALARM' ? 'alarm' : a.state === 'OK' ? 'ok' : 'nodata');
      b.textContent = a.name + ' ' + (a.state === 'INSUFFICIENT_DATA' ? 'NO DATA' : a.state) + (a.value === null ? '' : ' ' + (Number.isInteger(a.value) ? String(a.value) : String(Number(a.value.toFixed(3)))));
      b.title = (rule ? rule.metric + ' ' + rule.comparison + ' ' + rule.threshold + ', ' + rule.datapointsToAlarm + ' of ' + rule.evaluationPeriods + ' periods of ' + rule.period + ' s; ' : '') + a.state + ' since +' + R.clock(a.since / 1000);
      box.appendChild(b);
    });
  }

  var KNOWN_STATES = ['backoff', 'starting', 'booting', 'ready', 'draining', 'stopping', 'exited', 'crashed'];
  function renderWorkers(ws) {
    var header = ['worker', 'port', 'pid', 'state', 'healthy', 'CPU', 'memory', 'req/s', 'in flight', 'restarts', 'up'];
    var rows = ws.map(function (w) {
      return [
        String(w.id),
        String(w.port),
        w.pid === undefined || w.pid === null ? '–' : String(w.pid),
        String(w.state),
        w.healthy ? 'yes' : 'no',
        w.cpu === null ? '–' : R.fmt(w.cpu, ' %'),
        w.rss === null ? '–' : (w.rss / 1048576).toFixed(0) + ' MB',
        R.fmt(w.rps, ''),
        String(w.inFlight),
        String(w.restarts),
        w.readyAt === null ? '–' : R.clock(nowSec - w.readyAt / 1000),
      ];
    });
    var t = R.table('workers-table', header, rows);
    ws.forEach(function (w, i) {
      var state = String(w.state);
      t.tBodies[0].rows[i].className = 'state-' + (KNOWN_STATES.indexOf(state) >= 0 ? state : 'other');
    });
    var box = $('workers');
    clear(box);
    box.appendChild(t);
    var sel = $('signal-worker');
    var chosen = sel.value;
    clear(sel);
    ws.forEach(function (w) {
      if (w.pid === undefined || w.pid === null || w.state === 'exited' || w.state === 'crashed') return;
      var o = R.el('option', 'worker ' + w.id + ' (' + w.state + ')');
      o.value = String(w.id);
      sel.appendChild(o);
    });
    if (chosen) sel.value = chosen;
  }

  function addLog(l) {
    var log = $('log');
    var line = R.el('div', '+' + R.clock(l.t / 1000) + ' ' + l.kind + ' ' + l.text, 'level-' + l.level);
    log.appendChild(line);
    while (log.childNodes.length > 300) log.removeChild(log.firstChild);
    log.scrollTop = log.scrollHeight;
  }

  var experiment = null;
  function renderExperiment(x) {
    experiment = x;
    var box = $('experiment');
    if (!x) {
      box.hidden = true;
      return;
    }
    var next = x.next ? ' · next: ' + x.next.what + ' at +' + R.clock(x.next.t / 1000) + ' (in ' + Math.max(0, Math.round(x.next.t / 1000 - nowSec)) + ' s)' : '';
    box.textContent = 'Experiment ' + x.name + ' · arm ' + x.arm + ' · phase ' + x.phase + next + (x.detail ? ' · ' + x.detail : '');
    box.hidden = false;
  }

  // ---- controls: the same operator path as the dashboard's keys (source "web") ----
  function post(path, body) {
    var headers = { 'content-type': 'application/json' };
    headers[tokenHeader] = token;
    return fetch(path, { method: 'POST', headers: headers, body: JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      return r.text().then(function (t) {
        var j;
        try {
          j = JSON.parse(t);
        } catch {
          j = { ok: false, message: t.trim() };
        }
        return j;
      });
    });
  }
  function say(r) {
    var el = $('result');
    el.textContent = r.message;
    el.className = 'result ' + (r.ok ? 'ok' : 'refused');
  }
  function command(body) {
    return post('/api/command', body).then(say, function (e) {
      say({ ok: false, message: String(e) });
    });
  }
  $('scale-up').addEventListener('click', function () {
    command({ cmd: 'scale-by', delta: 1 });
  });
  $('scale-down').addEventListener('click', function () {
    command({ cmd: 'scale-by', delta: -1 });
  });
  $('scale-to').addEventListener('click', function () {
    var n = Number($('scale-n').value || $('scale-n').placeholder);
    command({ cmd: 'scale', n: n });
  });
  $('pause').addEventListener('click', function () {
    command({ cmd: 'toggle-pause' });
  });
  $('refresh').addEventListener('click', function () {
    command({ cmd: 'refresh', minHealthy: 90 });
  });
  function signal(sig) {
    var id = Number($('signal-worker').value);
    if ($('signal-worker').value === '') return say({ ok: false, message: 'no running worker to signal' });
    command({ cmd: 'signal', id: id, signal: sig });
  }
  $('sigkill').addEventListener('click', function () {
    signal('SIGKILL');
  });
  $('sigstop').addEventListener('click', function () {
    signal('SIGSTOP');
  });
  $('sigcont').addEventListener('click', function () {
    signal('SIGCONT');
  });

  // ---- load, like Locust's start button ----
  var profilesFilled = false;
  function fillProfiles(names, limits) {
    if (profilesFilled) return;
    profilesFilled = true;
    var sel = $('load-profile');
    names.forEach(function (n) {
      var o = R.el('option', n);
      o.value = n;
      sel.appendChild(o);
    });
    if (limits) {
      $('load-duration').max = String(limits.maxDurationSec);
      $('load-level').title = 'at most ' + limits.maxThreads + ' threads or ' + limits.maxRate + ' req/s';
    }
  }
  $('load-start').addEventListener('click', function () {
    var level = Number($('load-level').value);
    var body = { profile: $('load-profile').value, durationSec: Number($('load-duration').value) };
    if ($('load-mode').value === 'rate') body.rate = level;
    else body.threads = level;
    post('/api/load', body).then(say);
  });
  $('load-stop').addEventListener('click', function () {
    post('/api/load/stop', {}).then(say);
  });
  function renderLoad(s) {
    var st = $('load-status');
    var pre = $('load-summary');
    $('load-start').disabled = !!(s && s.running) || stopped;
    $('load-stop').disabled = !(s && s.running);
    if (!s) {
      st.textContent = 'no load from this page yet';
      pre.hidden = true;
      return;
    }
    var line = (s.running ? 'running: ' : 'finished: ') + s.description + ' · ' + Math.round(s.elapsedSec) + '/' + s.durationSec + ' s · sent ' + fmtCount(s.sent) + ' · ' + R.fmt(s.rps, '') + ' req/s · errors ' + fmtCount(s.errors) + ' · p50 ' + ms(s.p50) + ' · p99 ' + ms(s.p99);
    st.textContent = s.error ? s.error : line;
    pre.hidden = s.summary === null;
    if (s.summary !== null) pre.textContent = s.summary;
  }

  // ---- the whole run, on demand ----
  function showLive() {
    mode = 'live';
    $('history-toggle').textContent = 'Whole run';
    view.update(liveData());
    setText('charts-note', 'Live: the last ' + Math.round(window_ / 60) + ' minutes. Drag across a chart to zoom, double-click to reset; "Whole run" shows everything since the start.');
  }
  function showHistory() {
    fetch('/api/history', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        return r.json();
      })
      .then(function (v) {
        if (!v || mode === 'report') return;
        mode = 'history';
        $('history-toggle').textContent = 'Back to live';
        var d = v.chart;
        d.fromSec = 0;
        view.update(d);
        setText('charts-note', 'The whole run up to +' + R.clock(d.durationSec) + ' (not updating; "Back to live" follows the lab again).');
      });
  }
  $('history-toggle').addEventListener('click', function () {
    if (mode === 'report' || !view) return;
    if (mode === 'history') showLive();
    else showHistory();
  });
  document.addEventListener('keydown', function (e) {
    if (e.target && (e.target.tagName === 'INPUT' || e.target.tagName === 'SELECT')) return;
    if (e.key === 'f') setProjector(!projector());
    else if (e.key === 'h') $('history-toggle').click();
  });

  // ---- the end: the page becomes the run's report ----
  function onReport(v) {
    stopped = true;
    mode = 'report';
    setState('stopped');
    document.body.classList.add('stopped');
    var d = v.chart;
    d.fromSec = 0;
    if (view) view.update(d);
    else if (hello) view = R.mountCharts(d, { live: true, width: chartWidth, height: chartHeight });
    $('history-toggle').hidden = true;
    setText('charts-note', 'The whole run, as report.html shows it. Drag across a chart to zoom, double-click to see the whole run again.');
    var a = R.el('a', 'Download report.html');
    a.id = 'download';
    a.download = 'report.html';
    a.hidden = true;
    setBanner('stopped', 'The lab stopped (' + (v.stopped ? v.stopped.reason : 'no stop recorded') + '). This page is now the run’s report. ', a);
    var rep = $('report');
    rep.hidden = false;
    var sum = $('report-summary');
    clear(sum);
    sum.appendChild(R.pairs('summary', v.summary));
    var notes = $('report-notes');
    clear(notes);
    if (v.notes.length > 0) {
      var box = R.el('div', null, 'notes');
      box.appendChild(R.el('strong', 'Notes on this run'));
      var ul = R.el('ul');
      v.notes.forEach(function (n) {
        ul.appendChild(R.el('li', n));
      });
      box.appendChild(ul);
      notes.appendChild(box);
    }
    var re = $('report-reactions');
    clear(re);
    re.appendChild(v.reactions.rows.length > 0 ? R.table('reactions', v.reactions.header, v.reactions.rows) : R.el('p', 'The metric never crossed the scale-out threshold.'));
    var hl = $('report-highlights');
    clear(hl);
    hl.appendChild(v.highlights.rows.length > 0 ? R.table('highlights', v.highlights.header, v.highlights.rows) : R.el('p', 'No crash, replacement or health failure.'));
    var vi = $('report-visits');
    clear(vi);
    if (v.visits) {
      vi.appendChild(R.el('h2', 'Visits by worker'));
      vi.appendChild(R.el('p', v.visits.intro));
      if (v.visits.rows.length > 0) vi.appendChild(R.table('visits', v.visits.header, v.visits.rows));
    }
    var dec = $('decisions');
    clear(dec);
    dec.appendChild(v.decisions.rows.length > 0 ? R.table('decision-table', v.decisions.header, v.decisions.rows) : R.el('p', 'No scaling action in this run.'));
    var st = $('settings');
    clear(st);
    st.appendChild(R.pairs('settings-table', v.settings));
    $('workers').insertBefore(R.el('p', 'As at the last heartbeat before the stop (+' + R.clock(nowSec) + ').', 'legend-note'), $('workers').firstChild);
    ['controls', 'load'].forEach(function (id) {
      $(id).hidden = true;
    });
  }
})();
