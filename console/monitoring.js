/* 监测 (monitoring devices, spec §12, issue 13): the console's third view.
 *
 * One page for an officer woken at night:
 *  - the hazard points, highest level first (红 警报级, 橙 警戒级, 黄 警示级,
 *    蓝 注意级, then 正常), a point with a silent device marked 设备离线
 *    and put first within its level; each says since when it holds its
 *    level;
 *  - for the selected point (the first one until the officer picks
 *    another): what changed when (newest first), its devices, and one
 *    chart per rule: the rule's metric over the last 72 h (the server
 *    replays it, GET /api/v1/monitoring/{id} "judged") with its threshold
 *    lines and the moments the level changed; the channels' raw readings
 *    in a fold below.
 * The charts are SVG drawn here (no library). Each has a text summary
 * (latest value, level, thresholds) as its accessible description; the
 * level is always written out, never colour alone.
 *
 * Uses app.js's helpers (window.gaConsole) and registers views.mon. */
'use strict';

(function () {
  var G = window.gaConsole;
  if (!G) return;
  var el = G.el, idSpan = G.idSpan, api = G.api, $ = G.$;

  var LEVELS = ['red', 'orange', 'yellow', 'blue']; /* most severe first */
  var RANK = { red: 4, orange: 3, yellow: 2, blue: 1 };
  var LEVEL_ZH = { red: '警报级（红）', orange: '警戒级（橙）', yellow: '警示级（黄）', blue: '注意级（蓝）' };
  var LEVEL_SHORT = { red: '警报级', orange: '警戒级', yellow: '警示级', blue: '注意级' };
  /* threshold lines and markers: dark enough on white (non-text 3:1) */
  var LINE_COLOUR = { red: '#c62828', orange: '#b85000', yellow: '#8a6d00', blue: '#1565c0' };
  var INSTRUMENT = [
    ['L1_LF_', '裂缝计', '毫米'], ['L1_GP_', '卫星定位监测站', '毫米'], ['L1_QJ_', '倾角计', '度'],
    ['L1_JS_', '加速度计', '毫g'], ['L1_SW_', '深部位移计', '毫米'], ['L3_YL_', '雨量计', '毫米'],
    ['L4_NW_', '泥水位计', '米'], ['S1_ZT_', '设备状态', '']
  ];
  var METRIC_ZH = {
    value: '当前值', change_24h: '24小时变化量', rate_per_day: '变化速率（每天）',
    sum_1h: '1小时累计', sum_24h: '24小时累计', tangent_angle: '改进切线角'
  };
  var FIELD_ZH = {
    value: '', horizontal: '水平位移', gpsTotalX: 'X向累计位移', gpsTotalY: 'Y向累计位移',
    gpsTotalZ: '竖向累计位移', angle: '倾角', totalValue: '累计雨量'
  };
  var CHART_H = 210, PAD_L = 52, PAD_R = 64, PAD_T = 14, PAD_B = 28;

  var mon = { points: null, selected: null, detail: null, detailAt: 0, sig: null, seq: 0, width: 0 };

  function rank(lv) { return RANK[lv] || 0; }
  function instrument(channel) {
    for (var i = 0; i < INSTRUMENT.length; i++) {
      if (String(channel).indexOf(INSTRUMENT[i][0]) === 0) return INSTRUMENT[i];
    }
    return ['', '监测设备', ''];
  }
  /* the unit of a line: the channel's, per day for a rate, degrees for the angle */
  function unitOf(channel, metric) {
    if (metric === 'tangent_angle') return '度';
    var u = instrument(channel)[2];
    return metric === 'rate_per_day' && u ? u + '/天' : u;
  }
  function num(v) {
    if (v == null || !isFinite(v)) return '—';
    var a = Math.abs(v);
    return String(+v.toFixed(a >= 100 ? 1 : a >= 1 ? 2 : 3));
  }
  function chip(lv) {
    return el('span', { class: 'chip ' + (lv ? 'lv-' + lv : 'lv-none'), text: lv ? LEVEL_ZH[lv] : '正常' });
  }
  function offlineCount(p) {
    return (p.devices || []).filter(function (d) { return !d.online; }).length;
  }
  function intervalText(s) {
    if (s % 3600 === 0) return s / 3600 + '小时';
    if (s % 60 === 0) return s / 60 + '分钟';
    return s + '秒';
  }
  function timeMs(v) { var ms = Date.parse(v); return isNaN(ms) ? null : ms; }

  /* highest level first; within a level a point with a silent device
   * first (it may be hiding a rise), then by station_id */
  function ordered(points) {
    return points.slice().sort(function (a, b) {
      return rank(b.level) - rank(a.level) ||
        (offlineCount(b) ? 1 : 0) - (offlineCount(a) ? 1 : 0) ||
        (a.station_id < b.station_id ? -1 : a.station_id > b.station_id ? 1 : 0);
    });
  }

  /* --- the list ------------------------------------------------------------ */

  function load() {
    if (!G.state.loggedIn || G.state.tab !== 'mon') return Promise.resolve();
    return api('GET', '/api/v1/monitoring').then(function (r) {
      if (!G.state.loggedIn || G.state.tab !== 'mon') return null;
      if (r.status !== 200 || !r.data) {
        if (r.status !== 401) $('updated').textContent = G.errText(r.status, r.data, '读取监测点');
        return null;
      }
      var pts = ordered(r.data.points || []);
      pts.forEach(function (p) { if (p.last_reading_at) G.learnZone(p.last_reading_at); });
      mon.points = pts;
      renderList(pts);
      $('updated').textContent = '已自动更新：' + G.fmtTime(Date.now() + (G.state.skewMs || 0));
      if (!pts.length) { mon.selected = null; $('mon-detail').hidden = true; return null; }
      var sel = pts.filter(function (p) { return p.station_id === mon.selected; })[0];
      if (!sel) { sel = pts[0]; mon.selected = sel.station_id; mon.detail = null; }
      markSelected();
      /* the chart again when the level moved at once, else when a new
       * reading came and DETAIL_MS passed (each read replays 72 h) */
      var sig = [sel.level, sel.level_at, sel.last_reading_at, offlineCount(sel)].join('|');
      var levelSig = [sel.level, sel.level_at].join('|');
      if (!mon.detail || mon.levelSig !== levelSig ||
          (mon.sig !== sig && Date.now() - mon.detailAt >= G.DETAIL_MS)) {
        mon.sig = sig;
        mon.levelSig = levelSig;
        return fetchDetail(sel.station_id);
      }
      return null;
    });
  }

  function summaryText(pts) {
    var by = {}, off = 0;
    pts.forEach(function (p) { by[p.level || 'none'] = (by[p.level || 'none'] || 0) + 1; if (offlineCount(p)) off++; });
    var parts = LEVELS.filter(function (lv) { return by[lv]; }).map(function (lv) { return LEVEL_SHORT[lv] + ' ' + by[lv] + ' 处'; });
    if (by.none) parts.push('正常 ' + by.none + ' 处');
    if (off) parts.push('有设备离线 ' + off + ' 处');
    return pts.length ? '共 ' + pts.length + ' 处监测点：' + parts.join('，') + '。' : '没有接入监测设备的监测点（未配置设备登记文件）。';
  }

  function renderList(pts) {
    $('mon-summary').textContent = summaryText(pts);
    var top = pts.filter(function (p) { return p.level; }).length;
    $('mon-tab-count').textContent = top ? '（' + top + '）' : '';
    var box = $('mon-list');
    box.textContent = '';
    pts.forEach(function (p, i) {
      var off = offlineCount(p), n = (p.devices || []).length;
      var b = el('button', {
        type: 'button', class: 'mon-point lv-' + (p.level || 'none') + (off ? ' offline' : ''),
        'data-station': p.station_id, 'data-level': p.level || '', 'data-offline': off ? String(off) : null,
        'aria-pressed': 'false',
        onclick: function () { select(p.station_id); }
      },
      el('span', { class: 'mon-rank', text: String(i + 1) }),
      el('span', { class: 'mon-body' },
        el('span', { class: 'mon-name' }, chip(p.level), ' ', p.name || '', ' ', idSpan(p.station_id)),
        el('span', { class: 'mon-meta' },
          p.level && p.level_at ? el('span', { text: '自 ' + G.fmtTime(p.level_at, true) + ' 起' }) : null,
          el('span', { text: p.last_reading_at ? '最新读数 ' + G.fmtTime(p.last_reading_at, true) : '尚无读数' }),
          off ? el('span', { class: 'badge offline', text: '设备离线 ' + off + '/' + n }) : null)));
      box.appendChild(b);
    });
  }

  function markSelected() {
    $('mon-list').querySelectorAll('.mon-point').forEach(function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-station') === mon.selected ? 'true' : 'false');
    });
  }

  function select(id) {
    mon.selected = id;
    mon.detail = null;
    markSelected();
    var p = (mon.points || []).filter(function (x) { return x.station_id === id; })[0];
    if (p) { mon.sig = [p.level, p.level_at, p.last_reading_at, offlineCount(p)].join('|'); mon.levelSig = [p.level, p.level_at].join('|'); }
    fetchDetail(id).then(function () {
      var h = $('mon-detail').querySelector('h3');
      if (h) h.scrollIntoView({ block: 'start' });
    });
  }

  /* --- one hazard point ---------------------------------------------------- */

  function fetchDetail(id) {
    mon.detailAt = Date.now();
    return api('GET', '/api/v1/monitoring/' + encodeURIComponent(id)).then(function (r) {
      if (mon.selected !== id || G.state.tab !== 'mon') return;
      var box = $('mon-detail');
      if (r.status !== 200 || !r.data) {
        if (r.status === 401) return;
        box.hidden = false;
        box.textContent = '';
        box.appendChild(el('div', { class: 'note error', text: G.errText(r.status, r.data, '读取监测数据') }));
        return;
      }
      mon.detail = r.data;
      renderDetail(r.data);
    });
  }

  function changeText(c) {
    var rd = c.reading || {};
    var dir = rank(c.to) > rank(c.from) ? '升为 ' : '降为 ';
    var s = c.to ? dir + LEVEL_ZH[c.to] : '降至注意级以下';
    var what = [];
    if (rd.channel) {
      var unit = unitOf(rd.channel, rd.metric);
      what.push(instrument(rd.channel)[1]);
      what.push((METRIC_ZH[rd.metric] || '') + ' ' + num(rd.value) + unit);
      if (c.to && rd.threshold != null) what.push('达到阈值 ' + num(rd.threshold) + unit);
    }
    return { head: s, what: what.join('，'), code: rd.device_code, channel: rd.channel };
  }

  function renderDetail(d) {
    var box = $('mon-detail');
    var openRaw = box.querySelector('details.mon-raw');
    var rawWasOpen = !!(openRaw && openRaw.open);
    box.textContent = '';
    box.hidden = false;
    box.setAttribute('data-station', d.station_id);
    box.appendChild(el('h3', { class: 'mon-title' }, chip(d.level), ' ', d.name || '', ' ', idSpan(d.station_id)));
    box.appendChild(el('p', { class: 'mon-now' },
      d.level ? '当前' + LEVEL_ZH[d.level] + (d.level_at ? '，自 ' + G.fmtTime(d.level_at) + ' 起' : '') : '当前正常（低于注意级）',
      d.last_reading_at ? '；最新读数 ' + G.fmtTime(d.last_reading_at, true) : '；尚无读数'));
    if (d.truncated) box.appendChild(el('div', { class: 'note info', text: '设备数据过多，图中只画出较近的一段读数。' }));

    /* what changed when: newest first */
    box.appendChild(el('h4', { text: '等级变化（近72小时，最新在前）' }));
    var changes = (d.changes || []).slice().reverse();
    var ul = el('ul', { class: 'mon-changes' });
    changes.forEach(function (c) {
      var t = changeText(c);
      ul.appendChild(el('li', { 'data-to': c.to || '', 'data-at': c.at },
        el('span', { class: 'mon-when', text: G.fmtTime(c.at, true) }), ' ',
        c.to ? el('span', { class: 'chip lv-' + c.to, text: t.head }) : el('span', { class: 'chip lv-none', text: t.head }),
        t.what ? ' ' + t.what + ' ' : ' ', t.code ? idSpan(t.code + ' ' + t.channel) : null));
    });
    if (!changes.length) ul.appendChild(el('li', { class: 'muted', text: '近72小时等级没有变化' }));
    box.appendChild(ul);

    /* devices */
    box.appendChild(el('h4', { text: '监测设备' }));
    var dl = el('ul', { class: 'mon-devices' });
    (d.devices || []).forEach(function (dv) {
      dl.appendChild(el('li', { 'data-device': dv.device_code, 'data-online': dv.online ? '1' : '0' },
        idSpan(dv.device_code), ' ',
        dv.online ? el('span', { class: 'badge online', text: '在线' }) : el('span', { class: 'badge offline', text: '离线' }),
        ' ' + (dv.last_reading_at ? '最新读数 ' + G.fmtTime(dv.last_reading_at, true) : '尚无读数') +
        '，应每 ' + intervalText(dv.interval_s) + '发送一次'));
    });
    box.appendChild(dl);

    /* one chart per rule: the judged metric and its thresholds */
    var judged = d.judged || [];
    box.appendChild(el('h4', { text: '判定指标（近72小时，虚线为各级阈值，竖线为等级变化）' }));
    if (!judged.length) box.appendChild(el('p', { class: 'muted', text: '该监测点没有登记判定规则。' }));
    var charts = el('div', { class: 'mon-charts' });
    judged.forEach(function (j) { charts.appendChild(chart(d, j, true)); });
    box.appendChild(charts);

    /* the raw readings, folded */
    var raw = el('details', { class: 'mon-raw' }, el('summary', { text: '各通道原始读数（' + (d.series || []).length + '条）' }));
    (d.series || []).forEach(function (s) { raw.appendChild(chart(d, s, false)); });
    raw.open = rawWasOpen;
    box.appendChild(raw);
  }

  /* --- a chart --------------------------------------------------------------- */

  function svgEl(tag, attrs) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (k) { if (attrs[k] != null) e.setAttribute(k, attrs[k]); });
    for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) e.appendChild(arguments[i]);
    return e;
  }
  function svgText(x, y, text, attrs) {
    var t = svgEl('text', Object.assign({ x: x, y: y }, attrs || {}));
    t.textContent = text;
    return t;
  }

  function niceStep(raw) {
    var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function lineName(s) {
    var ins = instrument(s.channel);
    var f = FIELD_ZH[s.field];
    if (f == null) f = null;
    return { instrument: ins[1], field: f, metric: s.metric ? METRIC_ZH[s.metric] || '' : '读数' };
  }

  /* The thresholds drawn: every one at or below the data's highest
   * value and the next one above it (how far the next level is), so a
   * quiet series is not flattened against a far red line. */
  function drawnThresholds(th, hi) {
    var out = [], above = null;
    LEVELS.slice().reverse().forEach(function (lv) {
      if (th[lv] == null) return;
      if (th[lv] <= hi) out.push([lv, th[lv]]);
      else if (!above) above = [lv, th[lv]];
    });
    if (above) out.push(above);
    return out;
  }

  function chart(d, s, judged) {
    var nm = lineName(s), unit = unitOf(s.channel, s.metric);
    var pts = (s.points || []).map(function (p) { return [timeMs(p[0]), p[1]]; }).filter(function (p) { return p[0] != null; });
    var th = judged ? s.thresholds || {} : {};
    var t0 = timeMs(d.since), t1 = timeMs(d.until);
    var id = 'mon-chart-' + (++mon.seq);
    var title = nm.instrument + ' ' + s.channel + (nm.field ? ' ' + nm.field : (nm.field === null ? ' ' + s.field : '')) + ' · ' + nm.metric + (unit ? '（' + unit + '）' : '');
    var fig = el('figure', { class: 'mon-chart' + (judged ? ' judged' : ''), 'data-channel': s.channel, 'data-field': s.field, 'data-metric': s.metric || 'raw', 'data-device': s.device_code });
    fig.appendChild(el('figcaption', { id: id + '-cap' },
      el('span', { class: 'mon-ins', text: nm.instrument + ' ' }), idSpan(s.channel + (nm.field === null ? ' ' + s.field : '')),
      nm.field ? ' ' + nm.field : '', ' · ' + nm.metric + (unit ? '（' + unit + '）' : '')));

    /* the text summary: the chart's description for screen readers, and
     * what an officer reads first */
    var sum = [];
    var last = pts.length ? pts[pts.length - 1] : null;
    if (judged && s.latest) {
      sum.push('最新 ' + G.fmtTime(s.latest.at, true) + '：' + num(s.latest.value) + unit + '，' + (s.latest.level ? '达到' + LEVEL_ZH[s.latest.level] : '未达注意级'));
    } else if (last) {
      sum.push('最新 ' + G.fmtTime(last[0], true) + '：' + num(last[1]) + unit);
    } else {
      sum.push('近72小时没有读数');
    }
    if (judged) {
      var ths = LEVELS.slice().reverse().filter(function (lv) { return th[lv] != null; }).map(function (lv) { return LEVEL_SHORT[lv] + ' ' + num(th[lv]); });
      sum.push('阈值：' + (ths.length ? ths.join('、') + (unit ? '（' + unit + '）' : '') : '无'));
    }
    if (pts.length) {
      var lo = Math.min.apply(null, pts.map(function (p) { return p[1]; }));
      var hi = Math.max.apply(null, pts.map(function (p) { return p[1]; }));
      sum.push('72小时内最低 ' + num(lo) + '、最高 ' + num(hi));
    }
    if (s.downsampled) sum.push('共 ' + s.points_total + ' 个读数，图中每段取最低和最高值');
    var desc = el('p', { class: 'mon-sum', id: id + '-desc', text: sum.join('；') + '。' });

    /* the scale */
    var W = Math.max(300, Math.round(mon.width || 600)), H = CHART_H;
    var x0 = PAD_L, x1 = W - PAD_R, yTop = PAD_T, yBot = H - PAD_B;
    var vals = pts.map(function (p) { return p[1]; });
    var dataHi = vals.length ? Math.max.apply(null, vals) : 0;
    var lines = judged ? drawnThresholds(th, dataHi) : [];
    var all = vals.concat(lines.map(function (l) { return l[1]; }));
    var vmin = all.length ? Math.min.apply(null, all) : 0, vmax = all.length ? Math.max.apply(null, all) : 1;
    if (vmax - vmin < 1e-9) { vmin -= 1; vmax += 1; }
    var padV = (vmax - vmin) * 0.06;
    vmin -= padV; vmax += padV;
    var X = function (t) { return x0 + (t1 > t0 ? (t - t0) / (t1 - t0) : 0) * (x1 - x0); };
    var Y = function (v) { return yBot - (v - vmin) / (vmax - vmin) * (yBot - yTop); };
    var r2 = function (v) { return Math.round(v * 100) / 100; };

    var svg = svgEl('svg', {
      class: 'mon-svg', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img',
      'aria-labelledby': id + '-title', 'aria-describedby': id + '-desc',
      'data-vmin': vmin, 'data-vmax': vmax, 'data-ytop': yTop, 'data-ybottom': yBot,
      'data-t0': t0, 'data-t1': t1, 'data-x0': x0, 'data-x1': x1
    });
    var tt = svgEl('title', { id: id + '-title' });
    tt.textContent = title;
    svg.appendChild(tt);
    svg.appendChild(svgEl('rect', { x: x0, y: yTop, width: x1 - x0, height: yBot - yTop, class: 'mon-plot' }));
    /* y ticks: round steps (1, 2 or 5 × 10^n), about four */
    var step = niceStep((vmax - vmin) / 4);
    for (var v = Math.ceil(vmin / step) * step; v <= vmax + 1e-9 * step; v += step) {
      var y = r2(Y(v));
      svg.appendChild(svgEl('line', { x1: x0, x2: x1, y1: y, y2: y, class: 'mon-grid' }));
      svg.appendChild(svgText(x0 - 4, y + 4, num(Math.abs(v) < step / 1e6 ? 0 : v), { class: 'mon-tick', 'text-anchor': 'end' }));
    }
    /* x ticks: every 12 h, or every day when 12 h would crowd the labels;
     * at midnight and noon of the service's zone */
    var off = G.state.offsetMin != null ? G.state.offsetMin : 0;
    var tstep = (x1 - x0) / 6 >= 64 ? 12 * 3600000 : 24 * 3600000;
    for (var t = Math.ceil((t0 + off * 60000) / tstep) * tstep - off * 60000; t <= t1; t += tstep) {
      var x = r2(X(t)), dd = new Date(t + off * 60000);
      svg.appendChild(svgEl('line', { x1: x, x2: x, y1: yTop, y2: yBot, class: 'mon-grid' }));
      svg.appendChild(svgText(x, H - 8, dd.getUTCDate() + '日' + (tstep < 24 * 3600000 ? dd.getUTCHours() + '时' : ''), { class: 'mon-tick', 'text-anchor': 'middle' }));
    }
    /* thresholds: dashed, each labelled with its level and value */
    lines.forEach(function (l) {
      var y = r2(Y(l[1]));
      var g = svgEl('g', { class: 'mon-th', 'data-level': l[0], 'data-value': l[1] });
      var tl = svgEl('title');
      tl.textContent = LEVEL_SHORT[l[0]] + '阈值 ' + num(l[1]) + unit;
      g.appendChild(tl);
      g.appendChild(svgEl('line', { x1: x0, x2: x1, y1: y, y2: y, stroke: LINE_COLOUR[l[0]], 'stroke-width': 1.5, 'stroke-dasharray': '6 4' }));
      g.appendChild(svgText(x1 + 4, y + 4, LEVEL_SHORT[l[0]] + ' ' + num(l[1]), { class: 'mon-th-label', fill: LINE_COLOUR[l[0]] }));
      svg.appendChild(g);
    });
    /* the moments the level changed */
    (d.changes || []).forEach(function (c) {
      var tc = timeMs(c.at);
      if (tc == null || tc < t0 || tc > t1) return;
      var x = r2(X(tc)), colour = c.to ? LINE_COLOUR[c.to] : '#37474f';
      var g = svgEl('g', { class: 'mon-change', 'data-to': c.to || '', 'data-at': c.at });
      var tl = svgEl('title');
      tl.textContent = G.fmtTime(c.at, true) + ' ' + changeText(c).head;
      g.appendChild(tl);
      g.appendChild(svgEl('line', { x1: x, x2: x, y1: yTop, y2: yBot, stroke: colour, 'stroke-width': 2 }));
      g.appendChild(svgEl('path', { d: 'M' + (x - 5) + ' ' + yTop + 'L' + (x + 5) + ' ' + yTop + 'L' + x + ' ' + (yTop + 8) + 'Z', fill: colour }));
      svg.appendChild(g);
    });
    /* the line itself */
    if (pts.length) {
      svg.appendChild(svgEl('polyline', {
        class: 'mon-line', fill: 'none', stroke: '#14365c', 'stroke-width': 2, 'stroke-linejoin': 'round',
        points: pts.map(function (p) { return r2(X(p[0])) + ',' + r2(Y(p[1])); }).join(' '),
        'data-count': String(pts.length)
      }));
      var lp = pts[pts.length - 1];
      svg.appendChild(svgEl('circle', { cx: r2(X(lp[0])), cy: r2(Y(lp[1])), r: 3.5, fill: '#14365c', class: 'mon-last' }));
    } else {
      svg.appendChild(svgText((x0 + x1) / 2, (yTop + yBot) / 2, '近72小时没有读数', { class: 'mon-tick', 'text-anchor': 'middle' }));
    }
    fig.appendChild(desc);
    fig.appendChild(el('div', { class: 'mon-svg-box' }, svg));
    return fig;
  }

  /* the charts follow the width they have (a phone turned, a window resized) */
  function measure() {
    var view = $('mon-view');
    var w = view && view.clientWidth ? view.clientWidth - 26 : 600; /* the detail's padding */
    return Math.max(300, Math.min(w, 1000));
  }
  var resizeTimer = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      var w = measure();
      if (Math.abs(w - mon.width) < 8 || !mon.detail || G.state.tab !== 'mon') return;
      mon.width = w;
      renderDetail(mon.detail);
    }, 200);
  });

  function clear() {
    mon.points = null; mon.selected = null; mon.detail = null; mon.sig = null; mon.levelSig = null;
    ['mon-list', 'mon-summary', 'mon-tab-count', 'mon-detail'].forEach(function (k) { $(k).textContent = ''; });
    $('mon-detail').hidden = true;
  }

  G.views.mon = {
    load: function () { mon.width = measure(); return load(); },
    poll: function () { return G.state.tab === 'mon' ? load() : null; },
    clear: clear
  };
})();
