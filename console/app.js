/* 值班台 (duty officers' console): talks to the officer API of the same
 * server with fetch; the session cookie is HttpOnly, and every state
 * change carries the CSRF token given at login. No libraries, no build.
 *
 * What it keeps true (issue 10, docs/console.md):
 *  - the lists and every open alert are polled every POLL_MS (<= 5 s);
 *    a card is updated in place, so an open form keeps focus and text;
 *  - an officer's unsent edits live in localStorage under
 *    ga-console:edits:{alert_id}:{version} from the first keystroke
 *    until the draft is confirmed or rejected, so a new draft, a reload
 *    or an expired session loses nothing;
 *  - confirming is two taps: 预览 shows exactly what goes out (the
 *    page, each channel's text and its length against its limit), and
 *    only that preview's 确认发布 publishes; any edit or a newer draft
 *    voids the preview;
 *  - officer-visible text is Chinese; names, ids and what the public
 *    will read (marked data-verbatim) are shown as they are;
 *  - times are shown in the service's zone (the offset of the API's
 *    RFC 3339 times), with the zone named. */
'use strict';

(function () {
  var POLL_MS = 3000; /* lists and open alerts: a new draft shows within 5 s */
  /* An open alert's whole view is fetched again when its list item
   * changes, else this often (each fetch is a draft.view audit row);
   * an open published alert's deliveries are fetched every poll. */
  var DETAIL_MS = 30000;
  var WARN_BEFORE_S = 180; /* warn this long before the session expires */
  var ACTIVE_MS = 60000; /* no click or key for this long: the officer is away */
  var LEVEL_ZH = { extra_large: '特大型', large: '大型', medium: '中型', small: '小型' };
  var LEVEL_BY_INDEX = ['small', 'medium', 'large', 'extra_large'];
  var MSG_ZH = { alert: '首发', update: '续报', cancel: '解除' };
  var ROLE_ZH = { duty_officer: '值班员', supervisor: '值班长', admin: '管理员' };
  /* [field, label, element, limit in characters] */
  var TEXT_FIELDS = [
    ['headline', '标题', 'input', 120],
    ['situation', '险情/灾情', 'textarea', 2000],
    ['causes', '引发因素', 'textarea', 2000],
    ['response', '应急处置', 'textarea', 2000],
    ['trend', '发展趋势', 'textarea', 2000]
  ];
  var FIELD_ZH = {};
  TEXT_FIELDS.forEach(function (f) { FIELD_ZH[f[0]] = f[1]; });
  var REASON_MAX = 1000;
  var KIND_ZH = { danger: '险情', disaster: '灾情' };
  var FIGURES = [
    ['deaths', '死亡', '人'], ['missing', '失踪', '人'], ['injured', '受伤', '人'],
    ['relocated_people', '转移安置', '人'], ['direct_loss_cny', '直接经济损失', '元'],
    ['threatened_people', '威胁人数', '人'], ['threatened_property_cny', '威胁财产', '元']
  ];
  var CASUALTY = { deaths: 1, missing: 1, injured: 1, relocated_people: 1, direct_loss_cny: 1 };
  var CHANNEL_TYPE_ZH = {
    portal: '门户网站', wecom: '企业微信', dingtalk: '钉钉', feishu: '飞书', wechat_mp: '微信公众号',
    weibo: '微博', sms: '短信', email: '电子邮件', mqtt: '消息推送'
  };
  var DELIVERY_ZH = { pending: '待发送', sending: '发送中', delivered: '已送达', failed: '发送失败', late: '已超时' };
  var TITLE = '地质灾害预警 · 值班台';

  var state = {
    csrf: null, name: null, role: null, expiresMs: null, offsetMin: null, activeAt: Date.now(),
    cards: {}, /* 'pending:ID' / 'published:ID' / 'rejected:ID' -> card */
    knownPending: null, /* alert_id:draft_id seen in the pending list */
    unseen: 0, timer: null, loggedIn: false, audio: null, sessionApi: true,
    tab: 'alerts' /* the view shown: 'alerts', 'rw' (风险预警) or 'mon' (监测, monitoring.js) */
  };
  var $ = function (id) { return document.getElementById(id); };
  /* Views kept in files of their own (monitoring.js: 监测) register here
   * and get the helpers they share with this file through window.gaConsole. */
  var views = {};

  /* Builds an element: el('div', {class: 'x'}, 'text', child, ...). */
  function el(tag, attrs) {
    var e = document.createElement(tag);
    var k;
    for (k in attrs || {}) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null || attrs[k] === false) continue;
      if (k === 'class') e.className = attrs[k];
      else if (k === 'text') e.textContent = attrs[k];
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null || c === false) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }
  /* A name or id, shown as it is (the Latin-letter check skips it). */
  function idSpan(text) { return el('span', { class: 'id', text: String(text) }); }

  function showMsg(text, kind) {
    var m = $('msg');
    if (!text) { m.hidden = true; return; }
    m.textContent = text;
    m.className = 'msg ' + (kind || 'error');
    m.hidden = false;
  }

  function levelKey(v) {
    if (typeof v === 'number') return LEVEL_BY_INDEX[v] || 'small';
    return v || 'small';
  }

  /* Characters as an officer counts them (汉字 = 1, not 3 bytes). */
  function chars(s) { return Array.from(s || '').length; }

  /* --- time ------------------------------------------------------------- */

  function zoneName(min) {
    if (min === 480) return '北京时间';
    var sign = min < 0 ? '−' : '+', a = Math.abs(min);
    return '协调世界时' + sign + pad(Math.floor(a / 60)) + ':' + pad(a % 60);
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }

  /* The UTC offset (minutes) of an RFC 3339 time, or null. */
  function offsetOf(v) {
    var m = /([+-])(\d\d):(\d\d)$|Z$/.exec(String(v || ''));
    if (!m) return null;
    return m[1] ? (m[1] === '-' ? -1 : 1) * (parseInt(m[2], 10) * 60 + parseInt(m[3], 10)) : 0;
  }
  /* The service's zone: the offset of the times the service itself
   * writes (a list item's created_at, the session's expires_at), not of
   * a station's observed_at, which keeps the station's own offset. */
  function learnZone(v) {
    var off = offsetOf(v);
    if (off != null) state.offsetMin = off;
  }

  /* RFC 3339 (or ms) -> 12月7日 21:05（北京时间） in the service's zone. */
  function fmtTime(v, short) {
    if (v == null || v === '') return '';
    var ms, off = state.offsetMin;
    if (typeof v === 'number') {
      ms = v;
    } else {
      ms = Date.parse(String(v));
      if (isNaN(ms)) return String(v);
      if (off == null) off = offsetOf(v);
    }
    if (off == null) off = -new Date(ms).getTimezoneOffset();
    var d = new Date(ms + off * 60000);
    var s = (d.getUTCMonth() + 1) + '月' + d.getUTCDate() + '日 ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
    if (d.getUTCFullYear() !== new Date(Date.now() + off * 60000).getUTCFullYear()) s = d.getUTCFullYear() + '年' + s;
    return short ? s : s + '（' + zoneName(off) + '）';
  }

  function fmtSpan(s) {
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + '秒';
    if (s < 3600) return Math.floor(s / 60) + '分' + pad(s % 60) + '秒';
    var h = Math.floor(s / 3600);
    if (h < 48) return h + '小时' + Math.floor((s % 3600) / 60) + '分';
    return Math.floor(h / 24) + '天' + (h % 24) + '小时';
  }

  /* --- talking to the server -------------------------------------------- */

  /* Chinese text for an API error: the server's message when it gives
   * one (the API's errors carry a Chinese "message"); never its English. */
  function errText(status, data, what) {
    if (data && data.message && !/[A-Za-z]{3,}/.test(data.message)) {
      return what + '失败：' + data.message;
    }
    switch (status) {
      case 0: return what + '失败：无法连接服务器，请检查网络';
      case 400: return what + '失败：内容不符合要求' + (data && data.limit ? '（上限' + data.limit + '字）' : '');
      case 401: return '登录已过期，请重新登录';
      case 403: return what + '失败：无权限，或页面已过期（请刷新页面后重新登录）';
      case 404: return what + '失败：预警不存在或功能暂不可用';
      case 409: return what + '失败：预警状态已变化，页面已刷新，请核对后再试';
      case 413: return what + '失败：内容过长' + (data && data.limit ? '（上限' + data.limit + '字）' : '');
      case 429: return what + '失败：尝试次数过多，请稍后再试';
      default: return what + '失败：服务器错误（' + status + '）';
    }
  }

  /* fetch against the API: resolves {status, data}; never rejects. */
  function api(method, path, body) {
    var headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
    if (path === '/console/login') headers['X-Geoalert-Login'] = '1'; /* login CSRF: docs/security.md */
    /* The officer away for a minute: the console's own polls must not keep
     * the session alive (an unattended console times out, after a warning). */
    if (method === 'GET' && Date.now() - state.activeAt > ACTIVE_MS) headers['X-Geoalert-Background'] = '1';
    return fetch(path, {
      method: method, headers: headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        if (r.status === 401 && path.indexOf('/console/login') < 0) sessionLost();
        return { status: r.status, data: data };
      });
    }, function () { return { status: 0, data: null }; });
  }

  /* The login request, kept in this one function (see docs/console.md). */
  function loginRequest(name, password) {
    return api('POST', '/console/login', { name: name, password: password });
  }

  /* --- unsent edits, kept in the browser ---------------------------------- */

  var STORE_PREFIX = 'ga-console:edits:';
  function storeKey(alertId, version) { return STORE_PREFIX + alertId + ':' + version; }
  function storeGet(alertId, version) {
    try { return JSON.parse(localStorage.getItem(storeKey(alertId, version)) || 'null'); } catch (e) { return null; }
  }
  function storePut(alertId, version, rec) {
    try {
      if (rec) localStorage.setItem(storeKey(alertId, version), JSON.stringify(rec));
      else localStorage.removeItem(storeKey(alertId, version));
    } catch (e) { /* private mode or full: the edits still live in the page */ }
  }
  /* Unsent edits of alertId from another (older) version than version. */
  function storeOlder(alertId, version) {
    var best = null;
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var k = localStorage.key(i);
        if (k.indexOf(STORE_PREFIX + alertId + ':') !== 0) continue;
        var v = parseInt(k.slice((STORE_PREFIX + alertId + ':').length), 10);
        if (v < version && (!best || v > best.v)) best = { v: v, rec: storeGet(alertId, v) };
      }
    } catch (e) { return null; }
    return best;
  }
  /* Another officer's kept edits (a shared browser) are not offered. */
  function mine(rec) { return rec && (!rec.officer || rec.officer === state.name) ? rec : null; }
  function storeDropAlert(alertId) {
    try {
      var drop = [];
      for (var i = 0; i < localStorage.length; i++) {
        var k = localStorage.key(i);
        if (k.indexOf(STORE_PREFIX + alertId + ':') === 0) drop.push(k);
      }
      drop.forEach(function (k) { localStorage.removeItem(k); });
    } catch (e) { /* nothing kept */ }
  }
  function storeAny() {
    try {
      for (var i = 0; i < localStorage.length; i++) if (localStorage.key(i).indexOf(STORE_PREFIX) === 0) return true;
    } catch (e) { return false; }
    return false;
  }
  /* Drafts open when the session ended: reopened after the next login. */
  function openSet(ids) {
    try {
      if (ids === undefined) return JSON.parse(localStorage.getItem('ga-console:open') || '[]');
      localStorage.setItem('ga-console:open', JSON.stringify(ids));
    } catch (e) { return []; }
    return ids;
  }

  /* --- session ------------------------------------------------------------ */

  function sessionLost() {
    if (!state.loggedIn) return;
    var open = Object.keys(state.cards).filter(function (k) {
      return k.indexOf('pending:') === 0 && state.cards[k].opened;
    }).map(function (k) { return k.slice(8); });
    openSet(open);
    showLogin(storeAny() || open.length ?
      '登录已过期，请重新登录；未提交的修改已保存在本机，登录后自动恢复。' :
      '登录已过期，请重新登录。');
  }

  function checkSession() {
    if (!state.sessionApi) return Promise.resolve();
    return api('GET', '/api/v1/session').then(function (r) {
      if (r.status === 404) { state.sessionApi = false; return; }
      if (r.status !== 200 || !r.data) return;
      if (r.data.utc_offset) learnZone(r.data.utc_offset);
      /* the browser's clock may be off: count from the server's */
      if (r.data.server_time && !isNaN(Date.parse(r.data.server_time))) state.skewMs = Date.parse(r.data.server_time) - Date.now();
      if (r.data.expires_at) {
        if (!r.data.utc_offset) learnZone(r.data.expires_at);
        state.expiresMs = Date.parse(r.data.expires_at);
      }
      showExpiry();
    });
  }

  function showExpiry() {
    var box = $('expiry');
    if (!state.loggedIn || state.expiresMs == null || isNaN(state.expiresMs)) { box.hidden = true; return; }
    var left = (state.expiresMs - (Date.now() + (state.skewMs || 0))) / 1000;
    if (left > WARN_BEFORE_S) { box.hidden = true; return; }
    $('expiry-text').textContent = left > 0 ?
      '登录将在' + fmtSpan(left) + '后过期（' + fmtTime(state.expiresMs) + '）。未提交的修改已保存在本机，过期后重新登录即可恢复。' :
      '登录已过期。';
    box.hidden = false;
  }

  /* --- title badge, vibration, tone --------------------------------------- */

  function updateTitle(npending) {
    var t = TITLE;
    if (npending) t = '（' + npending + '）' + t;
    if (state.unseen) t = '【新预警】' + t;
    document.title = t;
  }

  function unlockAudio() {
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    if (!state.audio) { try { state.audio = new AC(); } catch (e) { return; } }
    if (state.audio.state === 'suspended') state.audio.resume();
  }
  ['pointerdown', 'keydown', 'touchstart'].forEach(function (ev) {
    document.addEventListener(ev, function () {
      state.activeAt = Date.now();
      unlockAudio();
      if (state.unseen) { state.unseen = 0; updateTitle(state.npending || 0); }
    }, { passive: true });
  });

  function tone() {
    var ctx = state.audio;
    if (!ctx || ctx.state !== 'running') return;
    var o = ctx.createOscillator(), g = ctx.createGain(), t = ctx.currentTime;
    o.type = 'sine';
    o.frequency.setValueAtTime(880, t);
    o.frequency.setValueAtTime(660, t + 0.18);
    g.gain.setValueAtTime(0.0001, t);
    g.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t + 0.4);
    o.connect(g); g.connect(ctx.destination);
    o.start(t); o.stop(t + 0.42);
    document.body.setAttribute('data-tones', String(parseInt(document.body.getAttribute('data-tones') || '0', 10) + 1));
  }

  function newDraftAlarm(items) {
    state.unseen += items.length;
    document.body.setAttribute('data-new-drafts', String((parseInt(document.body.getAttribute('data-new-drafts') || '0', 10)) + items.length));
    showMsg('新的待确认预警：' + items.map(function (it) { return it.headline || it.alert_id; }).join('；'), 'info');
    /* vibrate only after the page has been touched (browsers refuse it otherwise) */
    if (navigator.vibrate && (!navigator.userActivation || navigator.userActivation.hasBeenActive)) {
      try { navigator.vibrate([200, 100, 200]); } catch (e) { /* not allowed here */ }
    }
    tone();
  }

  /* --- lists -------------------------------------------------------------- */

  function load() {
    if (!state.loggedIn) return Promise.resolve();
    return Promise.all(['pending', 'published', 'rejected'].map(function (st) {
      return api('GET', '/api/v1/alerts?state=' + st);
    })).then(function (res) {
      if (!state.loggedIn) return;
      var bad = res.filter(function (r) { return r.status !== 200; })[0];
      if (bad) {
        if (bad.status !== 401) $('updated').textContent = errText(bad.status, bad.data, '刷新');
        return;
      }
      var pend = res[0].data.alerts || [], pubs = res[1].data.alerts || [], rej = res[2].data.alerts || [];
      pend.concat(pubs).forEach(function (it) { if (it.created_at) learnZone(it.created_at); });
      var fetchedAt = Date.now();
      pend.forEach(function (it) { it._fetchedAt = fetchedAt; });
      /* a new draft: one not in the previous list (not on the first load) */
      var keys = {};
      var dkey = function (it) { return it.alert_id + ':' + (it.draft_id != null ? it.draft_id : it.version); };
      pend.forEach(function (it) { keys[dkey(it)] = it; });
      if (state.knownPending) {
        var fresh = pend.filter(function (it) { return !state.knownPending[dkey(it)]; });
        if (fresh.length) newDraftAlarm(fresh);
      }
      state.knownPending = keys;
      syncList('pending', pend.map(function (it) { return { id: it.alert_id, item: it }; }));
      syncList('published', groupPublished(pubs));
      syncList('rejected', rej.map(function (it) { return { id: it.alert_id + ':' + it.draft_id, item: it }; }));
      state.npending = pend.length;
      $('pending-count').textContent = '（' + pend.length + '）';
      $('pending-count').className = pend.length ? 'count' : 'count zero';
      updateTitle(pend.length);
      $('updated').textContent = '已自动更新：' + fmtTime(Date.now() + (state.skewMs || 0));
      reopenAfterLogin();
    });
  }

  /* The published list has one row per version: one card per alert. */
  function groupPublished(items) {
    var by = {}, order = [];
    items.forEach(function (it) {
      if (!by[it.alert_id]) { by[it.alert_id] = []; order.push(it.alert_id); }
      by[it.alert_id].push(it);
    });
    return order.map(function (id) {
      var vs = by[id].sort(function (a, b) { return b.version - a.version; });
      return { id: id, item: vs[0], versions: vs };
    });
  }

  function syncList(kind, entries) {
    var box = $(kind), seen = {};
    entries.forEach(function (en, i) {
      var key = kind + ':' + en.id, c = state.cards[key];
      seen[key] = true;
      if (!c) {
        c = state.cards[key] = makeCard(kind, en);
      } else {
        c.item = en.item;
        c.versions = en.versions;
      }
      /* an open card is fetched again when its list item changed */
      var sig = sigOf(en);
      if (c.sig != null && c.sig !== sig) c.stale = true;
      c.sig = sig;
      renderHead(c);
      /* insert in order without moving a card that holds the focus */
      var at = box.children[i];
      if (at !== c.el) box.insertBefore(c.el, at || null);
    });
    Object.keys(state.cards).forEach(function (key) {
      if (key.indexOf(kind + ':') !== 0 || seen[key]) return;
      var c = state.cards[key];
      if (c.opened && kind === 'pending') {
        /* handled by someone else (published or rejected): say so */
        showMsg('您打开的草稿“' + (c.item.headline || '') + '”已由其他值班员处理，请在已发布或已驳回中查看。', 'info');
        finishPending(c);
      }
      c.el.remove();
      delete state.cards[key];
    });
    var empty = box.querySelector('.empty');
    if (!entries.length && !empty) {
      box.appendChild(el('div', { class: 'empty', text: kind === 'pending' ? '暂无待确认的预警' : '暂无' }));
    } else if (entries.length && empty) {
      empty.remove();
    }
  }

  function sigOf(en) {
    var it = en.item;
    return [it.draft_id, it.version, it.state, it.msg_type, JSON.stringify(it.confirmations), it.escalated_at,
      it.below_level, it.headline].join('|');
  }

  function mayCancel() { return state.role === 'supervisor' || state.role === 'admin'; }

  function makeCard(kind, en) {
    var it = en.item;
    var c = {
      kind: kind, id: en.id, item: it, versions: en.versions, opened: false,
      el: el('article', { class: 'card', 'data-alert': it.alert_id, 'data-state': kind })
    };
    c.head = el('div', { class: 'card-head' });
    c.versionsBox = el('div', { class: 'versions' });
    c.actions = el('div', { class: 'card-actions' });
    c.note = el('div', { class: 'note', hidden: true, role: 'status' });
    c.detail = el('div', { class: 'detail', hidden: true });
    c.el.appendChild(c.head);
    c.el.appendChild(c.versionsBox);
    c.el.appendChild(c.actions);
    c.el.appendChild(c.note);
    c.el.appendChild(c.detail);
    if (kind === 'pending') {
      c.actions.appendChild(el('button', {
        type: 'button', class: 'primary open', text: '查看并处理',
        onclick: function (ev) { ev.target.hidden = true; openDraft(c); }
      }));
    } else if (kind === 'published') {
      c.actions.appendChild(el('button', {
        type: 'button', class: 'open', text: '查看详情与发送情况',
        onclick: function (ev) { ev.target.hidden = true; openPublished(c); }
      }));
    }
    return c;
  }

  function badges(it) {
    var lv = levelKey(it.level);
    var out = [el('span', { class: 'badge level-' + lv, text: it.level_zh || LEVEL_ZH[lv] || '' })];
    if (it.msg_type && MSG_ZH[it.msg_type]) out.push(el('span', { class: 'badge state', text: MSG_ZH[it.msg_type] }));
    if (it.below_level) out.push(el('span', { class: 'badge warn', text: '已低于发布级别' }));
    if (it.escalated_at) out.push(el('span', { class: 'badge warn', text: '已超时上报值班长' }));
    if (it.state === 'pending') {
      var n = typeof it.confirmations === 'number' ? it.confirmations : (it.confirmations || []).length;
      var need = it.confirmations_needed || 1;
      if (need > 1) {
        out.push(el('span', {
          class: 'badge second',
          text: n > 0 ? '已有' + n + '人确认，待第二名值班员确认' : '需两名值班员确认'
        }));
      }
    }
    return out;
  }

  function waitingText(it) {
    var s = it.waiting_s;
    if (typeof s === 'number') s += (Date.now() - (it._fetchedAt || Date.now())) / 1000;
    else if (it.created_at) s = (Date.now() - Date.parse(it.created_at)) / 1000;
    else return '';
    return '已等待' + fmtSpan(s);
  }

  function renderHead(c) {
    var it = c.item, lv = levelKey(it.level);
    c.el.className = 'card level-' + lv + (c.kind === 'published' && it.msg_type === 'cancel' ? ' cancelled' : '');
    c.head.textContent = '';
    c.head.appendChild(el('div', { class: 'title', text: it.headline || '' }));
    var meta = el('div', { class: 'meta' });
    badges(it).forEach(function (b) { meta.appendChild(b); });
    meta.appendChild(el('span', {}, '编号 ', idSpan(it.alert_id), it.version ? ' · 第' + it.version + '版' : ''));
    if (c.kind === 'pending') {
      meta.appendChild(el('span', { text: '生成于 ' + fmtTime(it.created_at) }));
      meta.appendChild(el('span', { class: 'waiting', text: waitingText(it) }));
    } else if (c.kind === 'rejected') {
      meta.appendChild(el('span', { text: fmtTime(it.created_at) }));
    }
    c.head.appendChild(meta);
    if (c.kind === 'published') renderVersions(c);
  }

  /* One row per published version, newest first; 解除 only on the latest. */
  function renderVersions(c) {
    var box = c.versionsBox, vs = c.versions || [c.item];
    var latest = vs[0], cancelled = latest.msg_type === 'cancel';
    box.textContent = '';
    vs.forEach(function (v, i) {
      var row = el('div', { class: 'version' + (i ? ' old' : ''), 'data-version': String(v.version) },
        el('span', { class: 'v-no', text: '第' + v.version + '版' }),
        el('span', { class: 'badge state', text: MSG_ZH[v.msg_type] || '' }),
        el('span', { class: 'v-time', text: fmtTime(v.published_at || v.confirmed_at || v.created_at) }),
        (v.superseded || i > 0) ? el('span', { class: 'v-old', text: '已被新版本取代' }) : null,
        el('span', { class: 'v-title', text: v.headline || '' }));
      if (i === 0 && !cancelled && !v.superseded && mayCancel()) {
        row.appendChild(el('button', {
          type: 'button', class: 'danger cancel', text: '解除',
          onclick: function () { askCancel(c, v); }
        }));
      }
      box.appendChild(row);
    });
  }

  function tick() {
    /* the waiting times and the expiry warning move between polls */
    Object.keys(state.cards).forEach(function (k) {
      var c = state.cards[k];
      if (c.kind !== 'pending') return;
      var w = c.head.querySelector('.waiting');
      if (w) w.textContent = waitingText(c.item);
    });
    showExpiry();
  }

  function setNote(c, text, kind) {
    c.note.textContent = text || '';
    c.note.className = 'note ' + (kind || 'error');
    c.note.hidden = !text;
  }

  /* --- one alert ---------------------------------------------------------- */

  function fetchDetail(c) {
    c.stale = false;
    c.detailAt = Date.now();
    return api('GET', '/api/v1/alerts/' + encodeURIComponent(c.item.alert_id)).then(function (r) {
      if (r.status === 401) return null;
      if (r.status !== 200) { setNote(c, errText(r.status, r.data, '读取预警')); return null; }
      return r.data;
    });
  }

  function mapImg(alertId) {
    return el('img', {
      class: 'map', alt: '位置示意图',
      src: '/api/v1/alerts/' + encodeURIComponent(alertId) + '/map.svg'
    });
  }

  function figureText(f, v) {
    if (v == null) return '未报告';
    return (f[2] === '元' ? Number(v).toLocaleString('zh-CN') : String(v)) + f[2];
  }

  /* Figures of an incident or alert: unknown is 未报告, never 0. */
  function figuresBlock(figs, kind) {
    var dl = el('dl', { class: 'figures' });
    FIGURES.forEach(function (f) {
      if (kind === 'danger' && CASUALTY[f[0]] && (!figs || figs[f[0]] == null)) return;
      dl.appendChild(el('dt', { text: f[1] }));
      dl.appendChild(el('dd', { class: 'fig-' + f[0], text: figureText(f, figs ? figs[f[0]] : null) }));
    });
    return dl;
  }

  function reasonsBlock(d) {
    var rs = d.reasons_zh || (d.incident && d.incident.reasons_zh);
    if (!Array.isArray(rs) || !rs.length) return null;
    return el('div', {}, el('h3', { text: '分级依据' }),
      el('ul', { class: 'reasons' }, ...rs.map(function (x) { return el('li', { text: String(x) }); })));
  }

  function reportsBlock(d) {
    var rs = d.reports || [];
    if (!rs.length) return null;
    var box = el('details', { class: 'reports' }, el('summary', { text: '来源报告（' + rs.length + '份）' }));
    rs.forEach(function (r) {
      var rep = r.reporter || {};
      var dl = el('dl');
      var add = function (label, node) { dl.appendChild(el('dt', { text: label })); dl.appendChild(el('dd', {}, node)); };
      add('监测站', el('span', {}, idSpan(r.station_id || ''), ' / ', idSpan(r.report_id || '')));
      add('类型', KIND_ZH[r.kind] || '');
      add('观测时间', fmtTime(r.observed_at));
      if (r.place) add('地点', r.place);
      FIGURES.forEach(function (f) {
        var v = r.figures ? r.figures[f[0]] : null;
        if (v != null) add(f[1], figureText(f, v));
      });
      if (r.causes) add('引发因素', r.causes);
      if (r.measures) add('应急处置', r.measures);
      if (r.trend) add('发展趋势', r.trend);
      if (rep.name || rep.phone) {
        dl.appendChild(el('dt', { class: 'private', text: '报告人' }));
        dl.appendChild(el('dd', { class: 'private reporter' }, idSpan((rep.name || '') + ' ' + (rep.phone || '')), '（仅内部可见）'));
      }
      box.appendChild(el('div', { class: 'report' }, dl));
    });
    return box;
  }

  function asSet(v) {
    var s = {};
    if (Array.isArray(v)) v.forEach(function (k) { s[typeof k === 'string' ? k : (k && k.field)] = true; });
    else if (v && typeof v === 'object') Object.keys(v).forEach(function (k) { s[k] = true; });
    return s;
  }

  /* The draft against the latest published version: the server's diff,
   * or one made here from the two texts. */
  function diffOf(d, p) {
    var pubs = d.published || [];
    var last = pubs[pubs.length - 1];
    if (!last) return null; /* a first alert: nothing to differ from */
    if (d.diff && typeof d.diff === 'object') return d.diff;
    var out = {};
    TEXT_FIELDS.forEach(function (f) {
      if ((last[f[0]] || '') !== (p[f[0]] || '')) out[f[0]] = { published: last[f[0]] || '', draft: p[f[0]] || '' };
    });
    return out;
  }

  function diffBlock(d, p) {
    var diff = diffOf(d, p);
    if (!diff) return null;
    var keys = Object.keys(diff);
    var pubs = d.published || [];
    var box = el('div', { class: 'diff' }, el('h3', {
      text: '与已发布版本' + (pubs.length ? '（第' + pubs[pubs.length - 1].version + '版）' : '') + '的差异'
    }));
    if (!keys.length) { box.appendChild(el('div', { class: 'muted', text: '文字与已发布版本相同' })); return box; }
    keys.forEach(function (k) {
      var x = diff[k] || {};
      box.appendChild(el('div', { class: 'diff-field', 'data-field': k },
        el('div', { class: 'diff-label', text: FIELD_ZH[k] || k }),
        el('div', { class: 'diff-old' }, el('span', { class: 'diff-tag', text: '已发布' }), el('span', { 'data-verbatim': true, text: x.published == null ? '（无）' : String(x.published) })),
        el('div', { class: 'diff-new' }, el('span', { class: 'diff-tag', text: '本稿' }), el('span', { 'data-verbatim': true, text: x.draft == null ? '（无）' : String(x.draft) }))));
    });
    return box;
  }

  /* The counter under a limited field: n/limit 字, red past the limit. */
  function counter(inp, limit) {
    var c = el('div', { class: 'counter', 'aria-live': 'polite' });
    var upd = function () {
      var n = chars(inp.value);
      c.textContent = n + '/' + limit + '字' + (n > limit ? '，超出' + (n - limit) + '字' : '');
      c.className = 'counter' + (n > limit ? ' over' : '');
    };
    inp.addEventListener('input', upd);
    upd();
    return { node: c, update: upd };
  }

  function openDraft(c) {
    c.opened = true;
    setNote(c, '');
    fetchDetail(c).then(function (d) {
      if (!d) { c.opened = false; c.actions.querySelector('.open').hidden = false; return; }
      renderDraft(c, d, null);
    });
  }

  /* Renders the pending draft of d into c. prev: the form's state before
   * a newer draft arrived ({draftId, version, base}) or null. */
  function renderDraft(c, d, prev) {
    var p = d.pending;
    c.detail.textContent = '';
    c.detail.hidden = false;
    if (!p) { finishPending(c); return; }
    if (p.created_at) learnZone(p.created_at);
    var alertId = d.alert_id || c.item.alert_id, version = p.version;
    c.draft = { id: p.draft_id, version: version, p: p, d: d, stale: {} };
    c.preview = null;

    var inc = d.incident || {};
    c.detail.appendChild(el('h3', { text: '位置' }));
    c.detail.appendChild(mapImg(alertId));
    c.detail.appendChild(el('div', { class: 'muted', text: (p.area && ((p.area.admin_name || '') + ' ' + (p.area.place || ''))) || '' }));
    c.detail.appendChild(el('h3', { text: '数据' }));
    c.detail.appendChild(figuresBlock(inc.figures || p.figures, inc.kind || p.kind));
    var rb = reasonsBlock(d);
    if (rb) c.detail.appendChild(rb);
    var rp = reportsBlock(d);
    if (rp) c.detail.appendChild(rp);
    var db = diffBlock(d, p);
    if (db) c.detail.appendChild(db);

    /* what to put in each field: the officer's unsent edits first */
    var carried = asSet(d.carried_edits || p.carried_edits);
    var changed = asSet(d.changed_facts || p.changed_facts);
    var rec = mine(storeGet(alertId, version)), carriedLocal = null;
    if (!rec) {
      var older = storeOlder(alertId, version);
      if (older && mine(older.rec)) { rec = older.rec; carriedLocal = older.v; }
    }
    var base = {};
    TEXT_FIELDS.forEach(function (f) { base[f[0]] = p[f[0]] || ''; });
    /* kept edits whose generated text changed underneath: marked until
     * the officer edits that field again */
    var stale = {};
    if (rec && rec.edits) {
      Object.keys(rec.edits).forEach(function (k) {
        if ((rec.base && rec.base[k] != null && rec.base[k] !== base[k]) || (rec.stale && rec.stale[k])) stale[k] = true;
      });
    }

    c.detail.appendChild(el('h3', { text: '预警内容（可修改）' }));
    var restored = rec && rec.edits && Object.keys(rec.edits).length;
    if (restored) {
      c.detail.appendChild(el('div', {
        class: 'note info restored',
        text: carriedLocal != null ?
          '已带入您在第' + carriedLocal + '版上未提交的修改（保存在本机）。' :
          (prev && prev.draftId !== p.draft_id ? '草稿已按新报告更新，您未提交的修改已保留。' : '已恢复您未提交的修改（保存在本机）。')
      }));
    } else if (prev && prev.draftId !== p.draft_id) {
      c.detail.appendChild(el('div', { class: 'note info restored', text: '草稿已按新报告更新。' }));
    }
    var inputs = {}, counters = {};
    TEXT_FIELDS.forEach(function (f) {
      var k = f[0], id = 'f-' + alertId + '-' + k;
      var inp = el(f[2], { id: id, name: k, class: 'edit-' + k, rows: f[2] === 'textarea' ? (k === 'situation' || k === 'response' ? '6' : '3') : null });
      inp.value = rec && rec.edits && rec.edits[k] != null ? rec.edits[k] : base[k];
      inputs[k] = inp;
      var marks = el('div', { class: 'marks' });
      if (carried[k]) marks.appendChild(el('span', { class: 'mark carried', text: '沿用上一版的人工修改' }));
      if (rec && rec.edits && rec.edits[k] != null) marks.appendChild(el('span', { class: 'mark kept', text: '未提交的修改' }));
      if ((carried[k] || (rec && rec.edits && rec.edits[k] != null)) && (changed[k] || stale[k])) {
        marks.appendChild(el('span', { class: 'mark stale', text: '来源数据已变化，请核对此处修改' }));
      }
      var cnt = counter(inp, f[3]);
      counters[k] = cnt;
      var field = el('div', { class: 'field' + (changed[k] || stale[k] ? ' changed' : ''), 'data-field': k },
        el('label', { for: id, text: f[1] }), marks, inp, cnt.node);
      if (stale[k]) {
        field.appendChild(el('div', { class: 'muted' }, '系统按新数据生成的文字：', el('span', { 'data-verbatim': true, text: base[k] })));
      }
      inp.addEventListener('input', function () {
        delete c.draft.stale[k];
        saveEdits(c, alertId, version, base, inputs);
        voidPreview(c);
      });
      c.detail.appendChild(field);
    });
    c.draft.stale = stale;
    /* carry the kept edits onto this version's key */
    if (restored) saveEdits(c, alertId, version, base, inputs);
    if (carriedLocal != null) storePut(alertId, carriedLocal, null);
    c.draft.inputs = inputs;
    c.draft.base = base;

    var need = p.confirmations_needed || 1, done = Array.isArray(p.confirmations) ? p.confirmations : [];
    if (need > 1) {
      var sn = el('div', { class: 'note second-note' }, '特大型预警需两名不同值班员确认。');
      if (done.length) {
        sn.appendChild(document.createTextNode('已确认：'));
        done.forEach(function (x, i) { if (i) sn.appendChild(document.createTextNode('、')); sn.appendChild(idSpan(x.officer)); });
        sn.appendChild(document.createTextNode('；请由另一名值班员确认发布。'));
      } else {
        sn.appendChild(document.createTextNode('尚无人确认。'));
      }
      c.detail.appendChild(sn);
    }
    c.previewBox = el('div', { class: 'preview', hidden: true });
    c.detail.appendChild(c.previewBox);
    /* the buttons and their notes under the form and the preview */
    c.el.appendChild(c.actions);
    c.el.appendChild(c.note);
    c.actions.textContent = '';
    c.actions.appendChild(el('button', {
      type: 'button', class: 'primary preview-btn', text: '预览发布内容',
      onclick: function (ev) { previewDraft(c, ev.target); }
    }));
    c.actions.appendChild(el('button', {
      type: 'button', class: 'danger reject', text: '驳回',
      onclick: function () { askReject(c); }
    }));
  }

  function currentEdits(c) {
    var edits = {};
    Object.keys(c.draft.inputs).forEach(function (k) {
      if (c.draft.inputs[k].value !== c.draft.base[k]) edits[k] = c.draft.inputs[k].value;
    });
    return edits;
  }

  function saveEdits(c, alertId, version, base, inputs) {
    var edits = {};
    Object.keys(inputs).forEach(function (k) { if (inputs[k].value !== base[k]) edits[k] = inputs[k].value; });
    var stale = {};
    Object.keys(c.draft.stale || {}).forEach(function (k) { if (edits[k] != null) stale[k] = true; });
    storePut(alertId, version, Object.keys(edits).length ?
      { officer: state.name, draft_id: c.draft.id, base: base, edits: edits, stale: stale, saved_at: Date.now() } : null);
  }

  function voidPreview(c) {
    if (!c.preview) return;
    c.preview = null;
    c.previewBox.hidden = true;
    c.previewBox.textContent = '';
    var pub = c.actions.querySelector('.confirm');
    if (pub) pub.remove();
    setNote(c, '内容已改动，请重新预览后再发布。', 'info');
  }

  /* The field an API error names ("path": "edits.headline"), focused. */
  function focusBad(c, data) {
    var m = data && /^edits\.(\w+)$/.exec(data.path || '');
    var inp = m && c.draft && c.draft.inputs[m[1]];
    if (inp) inp.focus();
  }

  function checkLimits(c) {
    var bad = [];
    TEXT_FIELDS.forEach(function (f) {
      var n = chars(c.draft.inputs[f[0]].value);
      if (n > f[3]) bad.push(f[1] + '超出' + (n - f[3]) + '字');
    });
    if (!c.draft.inputs.headline.value.trim()) bad.push('标题不能为空');
    return bad;
  }

  /* Step one of confirming: what exactly goes out. */
  function previewDraft(c, btn) {
    var bad = checkLimits(c);
    if (bad.length) { setNote(c, bad.join('；')); return; }
    var edits = currentEdits(c), draftId = c.draft.id;
    btn.disabled = true;
    setNote(c, '');
    api('POST', '/api/v1/alerts/' + encodeURIComponent(c.item.alert_id) + '/preview',
      Object.keys(edits).length ? { edits: edits } : {}).then(function (r) {
      btn.disabled = false;
      if (!c.draft || c.draft.id !== draftId) return;
      if (r.status === 404 && noRoute(r.data)) r = { status: 200, data: localPreview(c, edits) };
      if (r.status !== 200 || !r.data) { setNote(c, errText(r.status, r.data, '预览')); focusBad(c, r.data); return; }
      c.preview = { edits: edits, draftId: draftId, version: r.data.version };
      renderPreview(c.previewBox, r.data, '发布后公众将看到以下内容（第' + (r.data.version || c.draft.version) + '版）');
      var old = c.actions.querySelector('.confirm');
      if (old) old.remove();
      var over = (r.data.channels || []).filter(function (ch) { return measure(ch).over; });
      c.actions.insertBefore(el('button', {
        type: 'button', class: 'primary solid confirm', text: '确认发布以上内容',
        onclick: function (ev) { confirmDraft(c, ev.target); }
      }), c.actions.firstChild.nextSibling);
      if (over.length) setNote(c, '注意：' + over.map(function (ch) { return ch.channel; }).join('、') + '的文字超出该渠道的长度上限，请核对。', 'info');
      c.previewBox.scrollIntoView({ block: 'nearest' });
    });
  }

  /* A server without the preview route (an older one): the texts as
   * they will be confirmed, said to be without the channels' texts. */
  function noRoute(data) { return !data || !data.message && /no such resource/.test(data.error || ''); }
  function localPreview(c, edits) {
    var p = c.draft.p, inc = c.draft.d.incident || {}, a = { figures: inc.figures || p.figures, kind: inc.kind || p.kind };
    return { version: c.draft.version, alert: a, channels: [], local: TEXT_FIELDS.map(function (f) {
      return [f[1], edits[f[0]] != null ? edits[f[0]] : c.draft.base[f[0]]];
    }) };
  }

  /* The preview: the public page in a sandboxed frame, then each
   * channel's text with its length against its limit. */
  function renderPreview(box, pv, heading) {
    box.textContent = '';
    box.hidden = false;
    box.appendChild(el('h3', { text: heading }));
    if (pv.alert && pv.alert.figures) {
      box.appendChild(el('div', { class: 'muted', text: '公开的数据（未报告的数字不会显示为0）' }));
      box.appendChild(figuresBlock(pv.alert.figures, pv.alert.kind));
    }
    if (pv.page_html) {
      box.appendChild(el('div', { class: 'pv-label', text: '公开网页' }));
      var fr = el('iframe', { class: 'page-preview', title: '公开网页预览', sandbox: 'allow-same-origin' });
      fr.srcdoc = pv.page_html;
      box.appendChild(fr);
    }
    if (pv.local) {
      box.appendChild(el('div', { class: 'note info', text: '服务器暂不提供网页和各渠道文字的预览；以下是将要发布的预警文字。' }));
      pv.local.forEach(function (x) {
        box.appendChild(el('div', { class: 'pv-label', text: x[0] }));
        box.appendChild(el('div', { class: 'text-block', 'data-verbatim': true, text: x[1] }));
      });
      return;
    }
    var chs = pv.channels || [];
    box.appendChild(el('div', { class: 'pv-label', text: '各渠道发送的文字（' + chs.length + '个渠道）' }));
    chs.forEach(function (ch) {
      var m = measure(ch), over = m.over;
      var body = ch.text ? el('pre', { class: 'ch-text', 'data-verbatim': true, text: ch.text }) :
        el('div', { class: 'muted', text: '该渠道接收完整的预警数据（内容与上方公开网页一致），不是单独的一条文字。' });
      box.appendChild(el('div', { class: 'channel' + (over ? ' over' : ''), 'data-channel': ch.channel },
        el('div', { class: 'ch-head' }, el('strong', {}, idSpan(ch.channel)), ' ',
          el('span', { class: 'muted', text: CHANNEL_TYPE_ZH[ch.type] || '其他渠道' }), ' ',
          el('span', { class: 'ch-count' + (over ? ' over' : ''), text: m.text })),
        body));
    });
  }

  /* A channel text's length against its limit. A short message's limit
   * is per template parameter (one "name: value" line each). */
  function measure(ch) {
    if (!ch.text) return { over: false, text: '' };
    if (ch.type === 'sms' && ch.limit) {
      var longest = 0;
      ch.text.split('\n').forEach(function (line) {
        var i = line.indexOf(': ');
        longest = Math.max(longest, chars(i >= 0 ? line.slice(i + 2) : line));
      });
      return {
        over: longest > ch.limit,
        text: '每项最长' + longest + '字，上限' + ch.limit + '字' + (longest > ch.limit ? '，超出' + (longest - ch.limit) + '字' : '')
      };
    }
    var n = ch.chars != null ? ch.chars : chars(ch.text);
    var over = !!ch.limit && n > ch.limit;
    return { over: over, text: n + (ch.limit ? '/' + ch.limit : '') + '字' + (over ? '，超出' + (n - ch.limit) + '字' : '') };
  }

  /* Step two: publish what the preview showed, and nothing else. */
  function confirmDraft(c, btn) {
    var pv = c.preview;
    if (!pv || pv.draftId !== c.draft.id) { voidPreview(c); return; }
    var body = { draft_id: pv.draftId };
    if (Object.keys(pv.edits).length) body.edits = pv.edits;
    btn.disabled = true;
    var alertId = c.item.alert_id, headline = c.draft.inputs.headline.value;
    api('POST', '/api/v1/alerts/' + encodeURIComponent(alertId) + '/confirm', body).then(function (r) {
      btn.disabled = false;
      if (r.status !== 200) {
        setNote(c, errText(r.status, r.data, '确认发布'));
        focusBad(c, r.data);
        if (r.status === 409) refreshOpen(c);
        return;
      }
      storeDropAlert(alertId);
      if (r.data && r.data.published === false) {
        /* one of two confirmations: the second must be another officer's */
        c.preview = null;
        btn.remove();
        setNote(c, '您已确认，待第二名值班员确认后发布。', 'info');
        showMsg('已确认。特大型预警需第二名值班员确认后发布。', 'ok');
        load();
        return;
      }
      showMsg('已发布：' + headline + '（第' + (r.data.version || pv.version) + '版）。下方可查看公开页面和各渠道发送情况。', 'ok');
      c.opened = false;
      state.openAfterPublish = alertId;
      load();
    });
  }

  /* A pending card whose draft was handled or replaced elsewhere. */
  function finishPending(c) {
    c.opened = false;
    c.preview = null;
  }

  function askReject(c) {
    reasonBox(c, '驳回原因', '确认驳回', function (reason, go) {
      var body = { reason: reason };
      if (c.draft && c.draft.id) body.draft_id = c.draft.id;
      return api('POST', '/api/v1/alerts/' + encodeURIComponent(c.item.alert_id) + '/reject', body).then(function (r) {
        if (r.status !== 200) { setNote(c, errText(r.status, r.data, '驳回')); return false; }
        storeDropAlert(c.item.alert_id);
        c.opened = false;
        showMsg('已驳回：' + (c.item.headline || c.item.alert_id), 'ok');
        load();
        return true;
      });
    });
  }

  /* Asks for a reason inline (no window.prompt: it works badly on phones). */
  function reasonBox(c, label, okText, act) {
    var old = c.el.querySelector('.reason-box');
    if (old) { old.querySelector('textarea').focus(); return; }
    var id = 'r-' + c.id.replace(/[^A-Za-z0-9_-]/g, '_') + '-' + okText.length;
    var ta = el('textarea', { id: id, class: 'reason', rows: '3' });
    var cnt = counter(ta, REASON_MAX);
    var box = el('div', { class: 'reason-box' }, el('label', { for: id, text: label + '（必填）' }), ta, cnt.node);
    var go = el('button', {
      type: 'button', class: 'danger solid do-act', text: okText,
      onclick: function () {
        var reason = ta.value.trim();
        if (!reason) { setNote(c, '请填写' + label); ta.focus(); return; }
        if (chars(reason) > REASON_MAX) { setNote(c, label + '超出' + (chars(reason) - REASON_MAX) + '字'); return; }
        go.disabled = true;
        act(reason, go).then(function (ok) { go.disabled = false; if (ok) box.remove(); });
      }
    });
    box.appendChild(el('div', { class: 'row' }, go, el('button', {
      type: 'button', text: '取消', onclick: function () { box.remove(); setNote(c, ''); }
    })));
    c.actions.after(box);
    ta.focus();
    return box;
  }

  /* 解除: the reason, then the exact public text (editable), then publish that. */
  function askCancel(c, v) {
    var old = c.el.querySelector('.reason-box');
    if (old) { old.querySelector('textarea').focus(); return; }
    var box = reasonBox(c, '解除原因', '生成解除文本', function (reason) {
      return api('POST', '/api/v1/alerts/' + encodeURIComponent(c.item.alert_id) + '/cancel/preview', { reason: reason }).then(function (r) {
        if (r.status === 404 && noRoute(r.data)) r = { status: 200, data: { edits: {}, channels: [], local: [['解除原因', reason]] } };
        if (r.status !== 200 || !r.data) { setNote(c, errText(r.status, r.data, '生成解除文本')); return false; }
        cancelEditor(c, v, reason, r.data, box);
        return false; /* keep the reason box: the editor lives in it */
      });
    });
  }

  function cancelEditor(c, v, reason, pv, box) {
    var ed = box.querySelector('.cancel-editor');
    if (ed) ed.remove();
    ed = el('div', { class: 'cancel-editor' }, el('h3', { text: '公众将看到的解除内容（可修改，发布的就是这段文字）' }));
    var edits = pv.edits || {}, inputs = {};
    Object.keys(edits).forEach(function (k) {
      var f = TEXT_FIELDS.filter(function (x) { return x[0] === k; })[0] || [k, k, 'textarea', 2000];
      var id = 'cancel-' + c.id.replace(/[^A-Za-z0-9_-]/g, '_') + '-' + k;
      var inp = el(f[2], { id: id, class: 'cancel-' + k, rows: f[2] === 'textarea' ? '3' : null });
      inp.value = edits[k] == null ? '' : String(edits[k]);
      inputs[k] = inp;
      ed.appendChild(el('div', { class: 'field', 'data-field': k }, el('label', { for: id, text: FIELD_ZH[k] || '其他' }), inp, counter(inp, f[3]).node));
    });
    var pvBox = el('div', { class: 'preview' });
    ed.appendChild(pvBox);
    renderPreview(pvBox, pv, '按上述文字生成的预览');
    var pvNote = el('div', { class: 'muted', hidden: true, text: '文字已修改：发布时以上方修改后的文字为准，下方预览为修改前的样子。' });
    Object.keys(inputs).forEach(function (k) { inputs[k].addEventListener('input', function () { pvNote.hidden = false; }); });
    ed.insertBefore(pvNote, pvBox);
    var go = el('button', {
      type: 'button', class: 'danger solid do-cancel', text: '确认解除并发布',
      onclick: function () {
        var out = {}, bad = [];
        Object.keys(inputs).forEach(function (k) {
          out[k] = inputs[k].value;
          var f = TEXT_FIELDS.filter(function (x) { return x[0] === k; })[0];
          if (f && chars(out[k]) > f[3]) bad.push((FIELD_ZH[k] || k) + '超出' + (chars(out[k]) - f[3]) + '字');
        });
        if (bad.length) { setNote(c, bad.join('；')); return; }
        go.disabled = true;
        var body = pv.local ? { reason: reason } : { reason: reason, edits: out };
        api('POST', '/api/v1/alerts/' + encodeURIComponent(c.item.alert_id) + '/cancel', body).then(function (r) {
          go.disabled = false;
          if (r.status !== 200) { setNote(c, errText(r.status, r.data, '解除')); return; }
          box.remove();
          showMsg('已解除：' + (out.headline || c.item.headline || c.item.alert_id) + '（第' + (r.data && r.data.version || '') + '版）', 'ok');
          load();
        });
      }
    });
    ed.appendChild(el('div', { class: 'row' }, go));
    box.appendChild(ed);
  }

  /* --- published: the public page and the deliveries, live ------------------ */

  function openPublished(c) {
    c.opened = true;
    refreshPublished(c);
  }

  function refreshPublished(c) {
    return fetchDetail(c).then(function (d) {
      if (!d || !c.opened) return;
      var pubs = d.published || [];
      var a = pubs.length ? pubs[pubs.length - 1] : null;
      c.detail.textContent = '';
      c.detail.hidden = false;
      var url = d.public_url || '/alerts/' + encodeURIComponent(c.item.alert_id);
      c.detail.appendChild(el('p', {}, el('a', { class: 'public-link', href: url, target: '_blank', rel: 'noopener', text: '打开公开页面' })));
      if (a) {
        c.detail.appendChild(el('div', { class: 'muted', text: '第' + a.version + '版发布于 ' + fmtTime(a.confirmed_at || a.sent) }));
        if (a.cancel_reason) c.detail.appendChild(el('div', { class: 'muted', text: '解除原因：' + a.cancel_reason }));
      }
      c.deliveriesBox = deliveriesTable(c, d.deliveries);
      c.detail.appendChild(c.deliveriesBox);
      if (a) {
        c.detail.appendChild(el('h3', { text: '位置' }));
        c.detail.appendChild(mapImg(c.item.alert_id));
        c.detail.appendChild(el('h3', { text: '数据' }));
        c.detail.appendChild(figuresBlock(a.figures, a.kind));
        TEXT_FIELDS.slice(1).forEach(function (f) {
          if (!a[f[0]]) return;
          c.detail.appendChild(el('h3', { text: f[1] }));
          c.detail.appendChild(el('div', { class: 'text-block', 'data-verbatim': true, text: a[f[0]] }));
        });
      }
      var rp = reportsBlock(d);
      if (rp) c.detail.appendChild(rp);
    });
  }

  /* The ledger between two views of the alert: the rows of its latest version. */
  function refreshDeliveries(c) {
    return api('GET', '/api/v1/alerts/' + encodeURIComponent(c.item.alert_id) + '/deliveries').then(function (r) {
      if (r.status !== 200 || !r.data || !c.opened || !c.deliveriesBox) return;
      var rows = r.data.deliveries || [], top = 0;
      rows.forEach(function (x) { if (x.version > top) top = x.version; });
      var box = deliveriesTable(c, rows.filter(function (x) { return x.version === top; }));
      c.deliveriesBox.replaceWith(box);
      c.deliveriesBox = box;
    });
  }

  /* deliveries of the latest version; the older ones are history. */
  function deliveriesTable(c, ds) {
    var box = el('div', { class: 'deliveries' });
    ds = Array.isArray(ds) ? ds : [];
    box.appendChild(el('h3', { text: '各渠道发送情况（' + ds.length + '个，自动更新）' }));
    if (!ds.length) { box.appendChild(el('div', { class: 'muted', text: '无发送渠道' })); return box; }
    var rows = ds.map(function (d) {
      var resend = null;
      if (d.state === 'failed' && mayCancel()) {
        resend = el('button', {
          type: 'button', class: 'resend', text: '重发',
          onclick: function (ev) {
            ev.target.disabled = true;
            api('POST', '/api/v1/alerts/' + encodeURIComponent(c.item.alert_id) + '/deliveries/' + encodeURIComponent(d.channel) + '/resend', {}).then(function (x) {
              if (x.status !== 200) setNote(c, errText(x.status, x.data, '重发'));
              refreshPublished(c);
            });
          }
        });
      }
      var err = d.last_error && d.state !== 'delivered' ? el('details', {}, el('summary', { text: '错误详情' }), el('span', { 'data-verbatim': true, class: 'id', text: d.last_error })) : null;
      return el('tr', { class: 'delivery-' + d.state, 'data-channel': d.channel },
        el('td', {}, idSpan(d.channel), el('div', { class: 'muted', text: CHANNEL_TYPE_ZH[d.type] || '' })),
        el('td', { class: 'd-state', text: DELIVERY_ZH[d.state] || '状态未知' }),
        el('td', { text: d.delivered_at ? fmtTime(d.delivered_at) : '尝试' + (d.attempts || 0) + '次' }),
        el('td', {}, err, resend));
    });
    box.appendChild(el('table', { class: 'delivery-list' },
      el('tr', {}, el('th', { text: '渠道' }), el('th', { text: '状态' }), el('th', { text: '送达/尝试' }), el('th', {})), ...rows));
    return box;
  }

  /* --- the open cards follow the server --------------------------------------- */

  function refreshOpen(c) {
    if (c.kind === 'published') return refreshPublished(c);
    if (c.kind !== 'pending' || !c.draft) return Promise.resolve();
    return fetchDetail(c).then(function (d) {
      if (!d || !c.opened || !c.draft) return;
      var p = d.pending;
      if (!p) { finishPending(c); return; }
      if (p.draft_id !== c.draft.id || p.version !== c.draft.version) {
        /* a newer draft: keep the officer's edits (they are in
         * localStorage already), void the preview, redraw */
        var prev = { draftId: c.draft.id, version: c.draft.version };
        var hadPreview = !!c.preview;
        renderDraft(c, d, prev);
        setNote(c, '有新的报告，草稿已更新（第' + p.version + '版）' + (hadPreview ? '；之前的预览已作废，请重新预览' : '') + '。', 'info');
      }
    });
  }

  function poll() {
    clearTimeout(state.timer);
    if (!state.loggedIn) return;
    Promise.all([load(), checkSession()]).then(function () {
      if (!state.loggedIn) return null;
      return Promise.all([rwPoll(), views.mon ? views.mon.poll() : null].concat(Object.keys(state.cards).map(function (k) {
        var c = state.cards[k];
        if (!c.opened || (c.kind !== 'pending' && c.kind !== 'published')) return null;
        if (c.stale || Date.now() - (c.detailAt || 0) >= DETAIL_MS) return refreshOpen(c);
        return c.kind === 'published' ? refreshDeliveries(c) : null;
      })));
    }).then(function () {
      if (state.loggedIn) state.timer = setTimeout(poll, POLL_MS);
    });
  }

  /* After a publish the alert's card opens on the deliveries; after a
   * re-login the drafts that were open reopen with their edits. */
  function reopenAfterLogin() {
    if (state.openAfterPublish) {
      var pc = state.cards['published:' + state.openAfterPublish];
      if (pc) {
        state.openAfterPublish = null;
        var b = pc.actions.querySelector('.open');
        if (b) b.hidden = true;
        openPublished(pc);
        pc.el.scrollIntoView({ block: 'start' });
      }
    }
    var ids = openSet();
    if (!ids.length) return;
    openSet([]);
    ids.forEach(function (id) {
      var c = state.cards['pending:' + id];
      if (!c || c.opened) return;
      var b = c.actions.querySelector('.open');
      if (b) b.hidden = true;
      openDraft(c);
    });
  }

  /* --- 风险预警 (regional risk warnings, spec §11, issue 14) ---------------
   * A second view of the board: the products pending and published, one
   * card each (detail: the province map painted by level, the legend with
   * every county's name, the period, texts, who confirmed); confirming is
   * two taps (预览 shows the public page as it would read, then 确认);
   * reject and cancel take a reason. 新建 / 更正 open the compose form:
   * a level "brush" and a tap per county on the map, or the list of
   * every county (keyboard), the period, the texts; the server's
   * validation errors are shown beside their fields (by JSON Pointer). */

  var RW_LEVELS = ['red', 'orange', 'yellow', 'blue']; /* most severe first */
  var RW_LEVEL_ZH = { red: '一级（红色）', orange: '二级（橙色）', yellow: '三级（黄色）', blue: '四级（蓝色）' };
  var RW_LEVEL_SHORT = { red: '红', orange: '橙', yellow: '黄', blue: '蓝' };
  var RW_MEANING = { red: '风险很高', orange: '风险高', yellow: '风险较高', blue: '有一定风险' };
  /* the public page's fills (riskwarning_page.c) */
  var RW_FILL = { red: '#d32f2f', orange: '#f57c00', yellow: '#fbc02d', blue: '#1976d2' };
  var RW_FILL_NONE = '#eeeeee', RW_FILL_OUT = '#fafafa';
  var RW_STATE_ZH = { pending: '待确认', published: '已发布', expired: '已过期', cancelled: '已解除', rejected: '已驳回' };
  var RW_TEXT_MAX = 2000;
  /* the server's error codes (docs/riskwarnings.md) in officers' words */
  var RW_ERR_ZH = {
    required: '必须填写', format: '格式不正确', 'enum': '取值不正确', type: '类型不正确',
    future: '签发时间不能晚于当前时间10分钟以上', order: '结束时间必须晚于开始时间',
    range: '有效时段最长72小时', expired: '结束时间已经过去', empty: '不能为空',
    too_many: '数量超过上限', length: '长度须为1至2000字', bidi: '含有不允许的文字方向控制符',
    unknown: '不是区划文件中的县（市、区）', outside: '不在本服务区域内',
    conflict: '同一县（市、区）不能同时有两个等级', self: '不能更正自身',
    too_large: '内容过大', encoding: '文字编码错误', depth: '结构嵌套过深', syntax: '格式错误',
    duplicate_key: '字段重复', unknown_issuer: '发布单位未登记'
  };

  var rw = {
    regions: null, regionsAt: 0, byCode: {}, svgDoc: null, sender: '', publishMin: 'yellow',
    cards: {}, compose: null, mapSeq: 0, restoreTried: false
  };
  /* The form's unsent content, kept in the browser from the first change
   * until it is submitted or given up (a reload or an expired session
   * loses nothing); under the edits' prefix, so the login page says so. */
  var RW_KEEP = STORE_PREFIX + 'riskwarning:compose';
  function rwKeepGet() {
    try { return mine(JSON.parse(localStorage.getItem(RW_KEEP) || 'null')); } catch (e) { return null; }
  }
  function rwKeepPut(f) {
    try {
      if (!f) { localStorage.removeItem(RW_KEEP); return; }
      var values = {};
      Object.keys(f.inputs).forEach(function (k) { values[k] = f.inputs[k].value; });
      localStorage.setItem(RW_KEEP, JSON.stringify({ officer: state.name, from: f.from ? f.from.product_id : null, sel: f.sel, values: values, saved_at: Date.now() }));
    } catch (e) { /* private mode or full: the form still holds it */ }
  }

  function rwLevelPublic(lv) { return RW_LEVELS.indexOf(lv) <= RW_LEVELS.indexOf(rw.publishMin); }
  function rwCountyName(code) {
    var r = rw.byCode[code];
    return r ? (r.city || '') + r.name : code;
  }

  /* The regions and the blank map, once per login. */
  function rwRegions() {
    if (rw.regions) return Promise.resolve(rw.regions);
    return api('GET', '/api/v1/regions').then(function (r) {
      if (r.status !== 200 || !r.data) { showMsg(errText(r.status, r.data, '读取区划地图')); return null; }
      rw.regions = r.data.regions || [];
      rw.byCode = {};
      rw.regions.forEach(function (x) { rw.byCode[x.admin_code] = x; });
      rw.sender = r.data.sender || '';
      rw.publishMin = r.data.publish_min_level || 'yellow';
      rw.svgDoc = new DOMParser().parseFromString(r.data.map_svg || '<svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml');
      return rw.regions;
    });
  }

  /* A copy of the province map; levels: {admin_code: level}. The <title>
   * of each county says its name and level (hover, screen readers). */
  function rwMap(levels, label) {
    var svg = document.importNode(rw.svgDoc.documentElement, true);
    var tid = 'rwmap-title-' + (++rw.mapSeq);
    svg.setAttribute('class', 'rwmap');
    svg.setAttribute('aria-labelledby', tid);
    var t = svg.querySelector('title');
    if (t) { t.id = tid; t.textContent = label || '风险预警区域图'; }
    rwPaint(svg, levels);
    return svg;
  }
  function rwPaint(svg, levels) {
    svg.querySelectorAll('path[data-code]').forEach(function (p) {
      var code = p.getAttribute('data-code'), lv = levels[code], reg = rw.byCode[code];
      var out = reg && reg.in_service_area === false;
      p.setAttribute('fill', lv ? RW_FILL[lv] : (out ? RW_FILL_OUT : RW_FILL_NONE));
      p.setAttribute('data-level', lv || '');
      p.classList.toggle('out', !!out);
      var tt = p.querySelector('title');
      if (tt) tt.textContent = rwCountyName(code) + (lv ? '：' + RW_LEVEL_ZH[lv] : (out ? '：不在服务区域内' : ''));
    });
  }

  /* The legend: each level present with its counties' names (not only colour). */
  function rwLegend(levels, note) {
    var by = {};
    Object.keys(levels).forEach(function (code) { (by[levels[code]] = by[levels[code]] || []).push(code); });
    var ul = el('ul', { class: 'rw-legend' });
    RW_LEVELS.forEach(function (lv) {
      var codes = (by[lv] || []).sort();
      if (!codes.length) return;
      ul.appendChild(el('li', { 'data-level': lv },
        el('span', { class: 'chip lv-' + lv, text: RW_LEVEL_ZH[lv] }), ' ',
        el('span', { class: 'muted', text: RW_MEANING[lv] + '（' + codes.length + '个）' +
          (note && !rwLevelPublic(lv) ? '，不公开，仅值班台和内部渠道' : '') + '：' }),
        el('span', { class: 'rw-names', text: codes.map(rwCountyName).join('、') })));
    });
    if (!ul.children.length) ul.appendChild(el('li', { class: 'muted', text: '尚未选择任何县（市、区）' }));
    return ul;
  }

  function rwLevelsOf(product) {
    var out = {};
    ((product && product.counties) || []).forEach(function (c) { out[c.admin_code] = c.level; });
    return out;
  }

  /* --- lists -------------------------------------------------------------- */

  function rwLoad() {
    if (!state.loggedIn || state.tab !== 'rw') return Promise.resolve();
    var kinds = ['pending', 'published'];
    if ($('rw-history-box').open) kinds = kinds.concat(['expired', 'cancelled', 'rejected']);
    return Promise.all([rwRegions()].concat(kinds.map(function (st) {
      return api('GET', '/api/v1/riskwarnings?state=' + st);
    }))).then(function (res) {
      if (!state.loggedIn || !res[0]) return;
      res = res.slice(1);
      var bad = res.filter(function (r) { return r.status !== 200; })[0];
      if (bad) { if (bad.status !== 401) $('updated').textContent = errText(bad.status, bad.data, '刷新'); return; }
      var lists = {};
      kinds.forEach(function (k, i) { lists[k] = res[i].data.items || []; });
      lists.pending.concat(lists.published).forEach(function (it) { if (it.received_at) learnZone(it.received_at); });
      rwWatch(lists.pending);
      rwSync('rw-pending', lists.pending);
      rwSync('rw-published', lists.published);
      rwRestore();
      if (lists.expired) rwSync('rw-history', lists.expired.concat(lists.cancelled, lists.rejected));
      $('rw-pending-count').textContent = '（' + lists.pending.length + '）';
      $('rw-pending-count').className = lists.pending.length ? 'count' : 'count zero';
      $('updated').textContent = '已自动更新：' + fmtTime(Date.now() + (state.skewMs || 0));
    });
  }

  /* New pending products (not the officer's own) are announced on either
   * view, as new drafts are: the title mark, the banner, vibration and the
   * tone; the tab shows how many are pending. */
  function rwWatch(pending) {
    var known = {}, fresh = [];
    pending.forEach(function (it) {
      known[it.product_id] = true;
      if (rw.known && !rw.known[it.product_id] && it.source !== 'api:' + state.name) fresh.push(it.product_id);
    });
    rw.known = known;
    $('rw-tab-count').textContent = pending.length ? '（' + pending.length + '）' : '';
    if (!fresh.length) return;
    state.unseen += fresh.length;
    updateTitle(state.npending || 0);
    document.body.setAttribute('data-new-riskwarnings', String(parseInt(document.body.getAttribute('data-new-riskwarnings') || '0', 10) + fresh.length));
    showMsg('新的待确认风险预警：' + fresh.join('；') + (state.tab === 'rw' ? '' : '（点“风险预警”查看）'), 'info');
    if (navigator.vibrate && (!navigator.userActivation || navigator.userActivation.hasBeenActive)) {
      try { navigator.vibrate([200, 100, 200]); } catch (e) { /* not allowed here */ }
    }
    tone();
  }

  function rwSync(boxId, items) {
    var box = $(boxId), seen = {};
    items.forEach(function (it, i) {
      var key = it.product_id, c = rw.cards[key];
      seen[key] = true;
      if (c && c.box !== boxId) { c.el.remove(); c = null; }
      if (!c) c = rw.cards[key] = rwMakeCard(it, boxId);
      var sig = [it.state, it.confirmations, it.version, it.valid_to, it.ended_at].join('|');
      if (c.sig != null && c.sig !== sig) c.stale = true;
      c.sig = sig;
      c.item = it;
      rwHead(c);
      var at = box.children[i];
      if (at !== c.el) box.insertBefore(c.el, at || null);
    });
    Object.keys(rw.cards).forEach(function (key) {
      var c = rw.cards[key];
      if (c.box !== boxId || seen[key]) return;
      if (c.opened && boxId === 'rw-pending' && !c.handled) {
        showMsg('您打开的风险预警 ' + key + ' 已由其他值班员处理，请在已发布或历史中查看。', 'info');
      }
      c.el.remove();
      delete rw.cards[key];
    });
    var empty = box.querySelector('.empty');
    if (!items.length && !empty) box.appendChild(el('div', { class: 'empty', text: '暂无' }));
    else if (items.length && empty) empty.remove();
  }

  function rwMakeCard(it, boxId) {
    var c = {
      id: 'rw-' + it.product_id, box: boxId, item: it, opened: false,
      el: el('article', { class: 'card rw-card', 'data-product': it.product_id, 'data-state': it.state })
    };
    c.head = el('div', { class: 'card-head' });
    c.actions = el('div', { class: 'card-actions' });
    c.note = el('div', { class: 'note', hidden: true, role: 'status' });
    c.detail = el('div', { class: 'detail', hidden: true });
    [c.head, c.actions, c.note, c.detail].forEach(function (x) { c.el.appendChild(x); });
    c.actions.appendChild(el('button', {
      type: 'button', class: 'primary open', text: it.state === 'pending' ? '查看并处理' : '查看详情',
      onclick: function (ev) { ev.target.hidden = true; c.opened = true; rwRefresh(c); }
    }));
    return c;
  }

  function rwSignoffText(it) {
    return '已确认 ' + (it.confirmations || 0) + '/' + (it.signoff || 1) + ' 人';
  }

  function rwHead(c) {
    var it = c.item;
    c.el.setAttribute('data-state', it.state);
    c.head.textContent = '';
    c.head.appendChild(el('div', { class: 'title' }, '地质灾害气象风险预警 ', idSpan(it.product_id)));
    var meta = el('div', { class: 'meta' },
      el('span', { class: 'badge state', text: RW_STATE_ZH[it.state] || '状态未知' }),
      it.state === 'pending' ? el('span', { class: 'badge second rw-signoff', text: rwSignoffText(it) }) : null,
      el('span', { text: '有效时段 ' + fmtTime(it.valid_from, true) + ' 至 ' + fmtTime(it.valid_to) }),
      it.supersedes ? el('span', {}, '更正 ', idSpan(it.supersedes)) : null,
      it.reason ? el('span', { text: (it.state === 'rejected' ? '驳回原因：' : it.state === 'cancelled' ? '解除原因：' : '结束原因：') + it.reason }) : null);
    c.head.appendChild(meta);
  }

  function rwFetch(c) {
    c.stale = false;
    c.detailAt = Date.now();
    return api('GET', '/api/v1/riskwarnings/' + encodeURIComponent(c.item.product_id)).then(function (r) {
      if (r.status === 401) return null;
      if (r.status !== 200 || !r.data) { setNote(c, errText(r.status, r.data, '读取风险预警')); return null; }
      return r.data;
    });
  }

  /* The open card's detail; redrawn when its list item changed (a
   * confirmation, a new state): an open preview is voided then. */
  function rwRefresh(c) {
    return Promise.all([rwRegions(), rwFetch(c)]).then(function (x) {
      var d = x[1];
      if (!x[0] || !d || !c.opened) return;
      c.d = d;
      rwDetail(c, d);
    });
  }

  function rwDetail(c, d) {
    var p = d.product || {}, levels = rwLevelsOf(p);
    c.detail.textContent = '';
    c.detail.hidden = false;
    c.preview = null;
    c.detail.appendChild(el('h3', { text: '预警区域' }));
    c.detail.appendChild(rwMap(levels, '风险预警区域图：各县（市、区）按预警等级着色'));
    c.detail.appendChild(rwLegend(levels, true));
    c.detail.appendChild(el('h3', { text: '有效时段' }));
    c.detail.appendChild(el('div', { class: 'rw-period', text: fmtTime(p.valid_from) + ' 至 ' + fmtTime(p.valid_to) }));
    c.detail.appendChild(el('h3', { text: '发布单位' }));
    c.detail.appendChild(el('div', { 'data-verbatim': true, text: (p.issuers || []).join('、') }));
    c.detail.appendChild(el('h3', { text: '雨情' }));
    c.detail.appendChild(el('div', { class: 'text-block', 'data-verbatim': true, text: p.rain_summary || '' }));
    c.detail.appendChild(el('h3', { text: '防范建议' }));
    c.detail.appendChild(el('div', { class: 'text-block', 'data-verbatim': true, text: p.advice || '' }));
    var src = String(d.source || ''), m = /^(api|mqtt):(.*)$/.exec(src);
    c.detail.appendChild(el('div', { class: 'muted' }, '来源：', m ? (m[1] === 'api' ? '值班台/接口，' : '预报系统，') : '', idSpan(m ? m[2] : src),
      '；收到于 ' + fmtTime(d.received_at)));
    /* who confirmed, and how many more are needed */
    var by = d.confirmed_by || [];
    var sign = el('div', { class: 'rw-confirmers' }, el('h3', { text: '确认情况：' + rwSignoffText(d) }));
    if (by.length) {
      sign.appendChild(el('ul', { class: 'reasons' }, ...by.map(function (b) {
        return el('li', {}, idSpan(b.name || ''), ' 确认于 ' + fmtTime(b.at));
      })));
    } else {
      sign.appendChild(el('div', { class: 'muted', text: '尚无人确认' }));
    }
    c.detail.appendChild(sign);
    if (d.published_at) c.detail.appendChild(el('p', {}, el('a', { class: 'public-link', href: '/warnings/' + encodeURIComponent(d.product_id), target: '_blank', rel: 'noopener', text: '打开公开页面' })));
    if (d.published_at) c.detail.appendChild(rwDeliveries(c, d));
    rwActions(c, d);
  }

  /* The deliveries of the latest version, as an alert's (重发 a failed
   * one: supervisors and admins, POST …/deliveries/{channel}/resend;
   * refused once the product's valid_to has passed). */
  function rwDeliveries(c, d) {
    var all = Array.isArray(d.deliveries) ? d.deliveries : [], top = 0;
    all.forEach(function (x) { if (x.version > top) top = x.version; });
    var ds = all.filter(function (x) { return x.version === top; });
    var box = el('div', { class: 'deliveries rw-deliveries' });
    box.appendChild(el('h3', { text: '各渠道发送情况（' + ds.length + '个）' }));
    if (!ds.length) { box.appendChild(el('div', { class: 'muted', text: '无发送渠道' })); return box; }
    var rows = ds.map(function (x) {
      var resend = null;
      if (x.state === 'failed' && mayCancel()) {
        resend = el('button', {
          type: 'button', class: 'resend', text: '重发',
          onclick: function (ev) {
            ev.target.disabled = true;
            api('POST', '/api/v1/riskwarnings/' + encodeURIComponent(d.product_id) + '/deliveries/' + encodeURIComponent(x.channel) + '/resend', {}).then(function (r) {
              if (r.status !== 200) setNote(c, errText(r.status, r.data, '重发'));
              else showMsg('已重发风险预警 ' + d.product_id + ' 到渠道 ' + x.channel + '。', 'ok');
              rwRefresh(c);
            });
          }
        });
      }
      var err = x.last_error && x.state !== 'delivered' ? el('details', {}, el('summary', { text: x.last_error === 'expired' ? '已过有效期，未再发送' : '错误详情' }), el('span', { 'data-verbatim': true, class: 'id', text: x.last_error })) : null;
      return el('tr', { class: 'delivery-' + x.state, 'data-channel': x.channel },
        el('td', {}, idSpan(x.channel), el('div', { class: 'muted', text: CHANNEL_TYPE_ZH[x.type] || '' })),
        el('td', { class: 'd-state', text: DELIVERY_ZH[x.state] || '状态未知' }),
        el('td', { text: x.delivered_at ? fmtTime(x.delivered_at) : '尝试' + (x.attempts || 0) + '次' }),
        el('td', {}, err, resend));
    });
    box.appendChild(el('table', { class: 'delivery-list' },
      el('tr', {}, el('th', { text: '渠道' }), el('th', { text: '状态' }), el('th', { text: '送达/尝试' }), el('th', {})), ...rows));
    return box;
  }

  function rwActions(c, d) {
    var box = el('div', { class: 'card-actions rw-actions' });
    var mineDone = (d.confirmed_by || []).some(function (b) { return b.name === state.name; });
    c.previewBox = el('div', { class: 'preview', hidden: true });
    if (d.state === 'pending') {
      if (mineDone) {
        box.appendChild(el('div', { class: 'note info', text: '您已确认，等待其他值班员确认（' + rwSignoffText(d) + '）。' }));
      } else {
        box.appendChild(el('button', { type: 'button', class: 'primary rw-preview', text: '预览发布内容', onclick: function () { rwPreview(c, d); } }));
      }
      box.appendChild(el('button', { type: 'button', class: 'rw-correct', text: '更正', onclick: function () { rwCompose(d); } }));
      box.appendChild(el('button', { type: 'button', class: 'danger rw-reject', text: '驳回', onclick: function () { rwEnd(c, d, false); } }));
    } else if (d.state === 'published') {
      box.appendChild(el('button', { type: 'button', class: 'rw-correct', text: '更新（发布新产品取代此条）', onclick: function () { rwCompose(d); } }));
      if (mayCancel()) box.appendChild(el('button', { type: 'button', class: 'danger rw-cancel', text: '解除', onclick: function () { rwEnd(c, d, true); } }));
    }
    c.detail.appendChild(c.previewBox);
    c.detail.appendChild(box);
    c.rwActions = box;
  }

  /* Step 1 of confirming: what goes public, from the server; step 2 is
   * the button under it. */
  function rwPreview(c, d) {
    var id = d.product_id;
    api('POST', '/api/v1/riskwarnings/' + encodeURIComponent(id) + '/preview', {}).then(function (r) {
      if (r.status !== 200 || !r.data) { setNote(c, errText(r.status, r.data, '预览')); return; }
      var box = c.previewBox, pub = r.data.public || {}, levels = rwLevelsOf(d.product);
      var n = (d.confirmations || 0) + 1, need = d.signoff || 1, last = n >= need;
      box.textContent = '';
      box.hidden = false;
      box.appendChild(el('h3', { text: last ? '确认后立即发布，公众将看到以下内容' : '确认后（第' + n + '/' + need + '人）还需其他值班员确认才发布；发布时公众将看到以下内容' }));
      var pubLevels = pub.levels || [];
      box.appendChild(el('div', { class: 'pv-label', text: '公开的区域' }));
      if (!pubLevels.length) box.appendChild(el('div', { class: 'note error', text: '没有任何县（市、区）达到公开等级，公开页面上不会列出区域。' }));
      pubLevels.forEach(function (lv) {
        box.appendChild(el('div', { class: 'rw-pv-level', 'data-level': lv.level },
          el('span', { class: 'chip lv-' + lv.level, text: RW_LEVEL_ZH[lv.level] || '' }), '：',
          el('span', { text: (lv.counties || []).map(function (x) { return (x.city || '') + x.name; }).join('、') })));
      });
      var hidden = Object.keys(levels).filter(function (code) { return !rwLevelPublic(levels[code]); });
      if (hidden.length) box.appendChild(el('div', { class: 'muted rw-pv-hidden', text: '不公开（仅值班台和内部渠道）：' + hidden.map(rwCountyName).join('、') }));
      box.appendChild(el('div', { class: 'pv-label', text: '公开网页' }));
      var fr = el('iframe', { class: 'page-preview', title: '公开网页预览', sandbox: 'allow-same-origin' });
      fr.srcdoc = r.data.page_html || '';
      box.appendChild(fr);
      var go = el('button', {
        type: 'button', class: 'primary rw-confirm', text: last ? '确认发布以上内容' : '确认以上内容（第' + n + '/' + need + '人）',
        onclick: function () {
          go.disabled = true;
          api('POST', '/api/v1/riskwarnings/' + encodeURIComponent(id) + '/confirm', {}).then(function (x) {
            go.disabled = false;
            if (x.status !== 200 || !x.data) { setNote(c, errText(x.status, x.data, '确认')); rwRefresh(c); return; }
            c.handled = true;
            if (x.data.published) showMsg('已发布风险预警 ' + id + '。', 'ok');
            else showMsg('已确认风险预警 ' + id + '（' + rwSignoffText(x.data) + '），待其他值班员确认后发布。', 'ok');
            setNote(c, '');
            rwLoad().then(function () { var k = rw.cards[id]; if (k) { k.opened = true; k.actions.querySelector('.open').hidden = true; rwRefresh(k); } });
          });
        }
      });
      box.appendChild(el('div', { class: 'row' }, go));
      go.scrollIntoView({ block: 'nearest' });
    });
  }

  /* 驳回 (pending) or 解除 (published, supervisor): a reason, then the act. */
  function rwEnd(c, d, cancel) {
    var what = cancel ? '解除' : '驳回';
    var box = reasonBox(c, what + '原因', '确认' + what, function (reason) {
      return api('POST', '/api/v1/riskwarnings/' + encodeURIComponent(d.product_id) + '/' + (cancel ? 'cancel' : 'reject'), { reason: reason }).then(function (r) {
        if (r.status !== 200) { setNote(c, errText(r.status, r.data, what)); return false; }
        c.handled = true;
        showMsg('已' + what + '风险预警 ' + d.product_id + '。', 'ok');
        rwLoad();
        return true;
      });
    });
    if (box && cancel) box.insertBefore(el('div', { class: 'muted', text: '解除后公开页面显示“已解除”，并发布解除通知（CAP 解除）。' }), box.firstChild);
  }

  /* --- compose: a new product, or one replacing (supersedes) another ---- */

  function rwOffsetText() {
    var off = state.offsetMin == null ? -new Date().getTimezoneOffset() : state.offsetMin;
    var a = Math.abs(off);
    return (off < 0 ? '-' : '+') + pad(Math.floor(a / 60)) + ':' + pad(a % 60);
  }
  /* ms -> "2026-12-07T20:00" in the service's zone (a datetime-local value) */
  function rwLocalInput(ms) {
    var off = state.offsetMin == null ? -new Date().getTimezoneOffset() : state.offsetMin;
    return new Date(ms + off * 60000).toISOString().slice(0, 16);
  }
  function rwRfc3339(local) {
    if (!local) return null;
    return (local.length === 16 ? local + ':00' : local.slice(0, 19)) + rwOffsetText();
  }
  function rwNewId() {
    var t = rwLocalInput(Date.now() + (state.skewMs || 0)).replace(/[-T:]/g, '');
    var rnd = Math.floor(Math.random() * 0x10000).toString(16).toUpperCase();
    return 'ZBT-' + t + '-' + ('000' + rnd).slice(-4);
  }

  /* Opens the form; from: a product's detail (更正/更新) or null (新建). */
  function rwCompose(from) {
    rwRegions().then(function (ok) { if (ok) rwComposeOpen(from); });
  }

  function rwComposeOpen(from) {
    var slot = $('rw-compose-slot');
    slot.textContent = '';
    var p = from ? from.product || {} : null;
    var f = rw.compose = { from: from, sel: p ? rwLevelsOf(p) : {}, brush: 'red', inputs: {}, errs: {}, selects: {} };
    var form = el('form', { class: 'card rw-compose', novalidate: true, 'aria-labelledby': 'rw-compose-title' });
    f.form = form;
    form.appendChild(el('h2', { id: 'rw-compose-title', class: 'rw-compose-title' },
      from ? (from.state === 'pending' ? '更正风险预警 ' : '更新风险预警 ') : '新建风险预警', from ? idSpan(from.product_id) : null));
    if (from) {
      form.appendChild(el('div', { class: 'note info', text: from.state === 'pending' ?
        '提交后生成一条新的待确认产品取代原产品，原产品自动驳回（原因：已更正）。' :
        '提交后生成一条新的待确认产品；确认发布后取代原产品（公开为更新）。' }));
    }
    var errBox = function (key) {
      var e = el('div', { class: 'field-err', id: 'rw-err-' + key, 'data-err': key, role: 'alert', hidden: true });
      f.errs[key] = e;
      return e;
    };
    form.appendChild(errBox('general'));

    /* the map with its brush */
    var areas = el('fieldset', { class: 'rw-areas', 'data-field': 'areas' }, el('legend', { text: '预警区域：先选等级，再在地图上点县（市、区）' }));
    var brushes = el('div', { class: 'rw-brushes', role: 'group', 'aria-label': '画笔等级' });
    RW_LEVELS.concat(['none']).forEach(function (lv) {
      brushes.appendChild(el('button', {
        type: 'button', class: 'brush' + (lv === 'none' ? ' none' : ' lv-' + lv), 'data-brush': lv, 'aria-pressed': lv === f.brush ? 'true' : 'false',
        text: lv === 'none' ? '清除' : RW_LEVEL_ZH[lv],
        onclick: function () { rwBrush(lv); }
      }));
    });
    areas.appendChild(brushes);
    areas.appendChild(el('div', { class: 'muted rw-brush-now', 'aria-live': 'polite' }));
    f.map = rwMap(f.sel, '选择预警区域的地图：点一个县（市、区）设为当前画笔的等级，再点一次取消');
    f.map.addEventListener('click', function (ev) {
      var path = ev.target.closest && ev.target.closest('path[data-code]');
      if (path) rwTap(path.getAttribute('data-code'));
    });
    areas.appendChild(el('div', { class: 'rw-map-box' }, f.map));
    areas.appendChild(errBox('areas'));
    f.legend = el('div', { class: 'rw-sel-legend', 'aria-live': 'polite' });
    areas.appendChild(f.legend);
    /* every county in a list with its level: the keyboard's way, and
     * the level as text */
    var list = el('details', { class: 'rw-list' }, el('summary', { text: '按列表选择（全部' + rw.regions.length + '个县、市、区）' }));
    var byCity = {}, cities = [];
    rw.regions.forEach(function (r) {
      if (!byCity[r.city]) { byCity[r.city] = []; cities.push(r.city); }
      byCity[r.city].push(r);
    });
    cities.forEach(function (city) {
      var grp = el('fieldset', { class: 'rw-city' }, el('legend', { text: city || '其他' }));
      byCity[city].forEach(function (r) {
        var sid = 'rw-county-' + r.admin_code;
        var s = el('select', { id: sid, 'data-code': r.admin_code, disabled: r.in_service_area === false, 'aria-describedby': 'rw-err-c' + r.admin_code },
          el('option', { value: '', text: '无' }), ...RW_LEVELS.map(function (lv) { return el('option', { value: lv, text: RW_LEVEL_ZH[lv] }); }));
        s.addEventListener('change', function () { rwSet(r.admin_code, s.value || null); });
        f.selects[r.admin_code] = s;
        grp.appendChild(el('div', { class: 'rw-county', 'data-code': r.admin_code },
          el('label', { for: sid, text: r.name + (r.in_service_area === false ? '（不在服务区域内）' : '') }), s, errBox('c' + r.admin_code)));
      });
      list.appendChild(grp);
    });
    areas.appendChild(list);
    form.appendChild(areas);

    /* the period, the issuers, the texts */
    var now = Date.now() + (state.skewMs || 0), hour = 3600000;
    var from0 = p && p.valid_from && Date.parse(p.valid_from) > now ? Date.parse(p.valid_from) : Math.ceil(now / hour) * hour;
    var to0 = p && p.valid_to && Date.parse(p.valid_to) > from0 ? Date.parse(p.valid_to) : from0 + 24 * hour;
    var field = function (key, label, inp, extra) {
      inp.id = 'rw-f-' + key;
      inp.setAttribute('aria-describedby', 'rw-err-' + key);
      f.inputs[key] = inp;
      return el('div', { class: 'field', 'data-field': key }, el('label', { for: inp.id, text: label }), inp, extra || null, errBox(key));
    };
    var zone = zoneName(state.offsetMin == null ? -new Date().getTimezoneOffset() : state.offsetMin);
    var vf = el('input', { type: 'datetime-local', step: '60' }), vt = el('input', { type: 'datetime-local', step: '60' });
    vf.value = rwLocalInput(from0);
    vt.value = rwLocalInput(to0);
    form.appendChild(el('div', { class: 'rw-period-row' },
      field('valid_from', '有效时段开始（' + zone + '）', vf), field('valid_to', '有效时段结束（最长72小时）', vt)));
    var iss = el('input', { type: 'text' });
    iss.value = p && p.issuers ? p.issuers.join('、') : rw.sender;
    form.appendChild(field('issuers', '发布单位（多个用“、”分隔）', iss));
    ['rain_summary', 'advice'].forEach(function (k) {
      var ta = el('textarea', { rows: '4' });
      ta.value = p ? p[k] || '' : '';
      form.appendChild(field(k, k === 'rain_summary' ? '雨情' : '防范建议', ta, counter(ta, RW_TEXT_MAX).node));
    });
    /* what this officer left unsent in the same form (new, or on the same product) */
    var kept = rwKeepGet();
    if (kept && kept.from === (from ? from.product_id : null)) {
      f.sel = kept.sel || {};
      Object.keys(kept.values || {}).forEach(function (k) { if (f.inputs[k]) f.inputs[k].value = kept.values[k]; });
      Object.keys(f.inputs).forEach(function (k) { f.inputs[k].dispatchEvent(new Event('input')); }); /* the counters */
      form.insertBefore(el('div', { class: 'note info rw-restored', text: '已恢复您未提交的内容（保存在本机）。' }), f.errs.general);
    }
    Object.keys(f.inputs).forEach(function (k) { f.inputs[k].addEventListener('input', function () { rwKeepPut(f); }); });
    var submit = el('button', { type: 'submit', class: 'primary rw-submit', text: from ? '提交更正（待确认）' : '提交（待确认）' });
    form.appendChild(el('div', { class: 'row' }, submit,
      el('button', { type: 'button', class: 'rw-close', text: '放弃', onclick: function () { slot.textContent = ''; rw.compose = null; rwKeepPut(null); } })));
    form.addEventListener('submit', function (ev) { ev.preventDefault(); rwSubmit(f, submit); });
    slot.appendChild(form);
    rwBrush(f.brush);
    rwComposeShow(f);
    form.scrollIntoView({ block: 'start' });
  }

  function rwBrush(lv) {
    var f = rw.compose;
    f.brush = lv;
    f.form.querySelectorAll('.brush').forEach(function (b) { b.setAttribute('aria-pressed', b.getAttribute('data-brush') === lv ? 'true' : 'false'); });
    f.form.querySelector('.rw-brush-now').textContent = lv === 'none' ? '当前：清除（点县取消其等级）' : '当前画笔：' + RW_LEVEL_ZH[lv] + '（点县设为此等级，再点一次取消）';
  }
  function rwTap(code) {
    var f = rw.compose, reg = rw.byCode[code];
    if (!f) return;
    if (reg && reg.in_service_area === false) { f.form.querySelector('.rw-brush-now').textContent = rwCountyName(code) + '不在服务区域内，不能选择'; return; }
    rwSet(code, f.brush === 'none' || f.sel[code] === f.brush ? null : f.brush);
  }
  function rwSet(code, lv) {
    var f = rw.compose;
    if (lv) f.sel[code] = lv; else delete f.sel[code];
    rwComposeShow(f);
    rwKeepPut(f);
  }
  function rwComposeShow(f) {
    rwPaint(f.map, f.sel);
    Object.keys(f.selects).forEach(function (code) { f.selects[code].value = f.sel[code] || ''; });
    f.legend.textContent = '';
    f.legend.appendChild(rwLegend(f.sel, true));
  }

  function rwShowErrors(f, errors, areaCodes) {
    Object.keys(f.errs).forEach(function (k) { f.errs[k].textContent = ''; f.errs[k].hidden = true; });
    Object.keys(f.inputs).forEach(function (k) { f.inputs[k].removeAttribute('aria-invalid'); });
    var firstInput = null;
    var put = function (key, text) {
      var box = f.errs[key] || f.errs.general;
      box.appendChild(el('div', { text: text }));
      box.hidden = false;
      if (f.inputs[key]) { f.inputs[key].setAttribute('aria-invalid', 'true'); firstInput = firstInput || f.inputs[key]; }
      if (!firstInput) firstInput = box;
    };
    (errors || []).forEach(function (e) {
      var path = String(e.path || ''), code = e.code || '', msg = RW_ERR_ZH[code] || '不符合要求';
      var seg = path.split('/').slice(1), top = seg[0] || '';
      if (top === 'valid_from' || top === 'valid_to' || top === 'rain_summary' || top === 'advice') {
        put(top, msg);
      } else if (top === 'issuers') {
        put('issuers', code === 'required' || code === 'empty' ? '请填写发布单位' : (seg[1] != null ? '第' + (+seg[1] + 1) + '个发布单位' : '发布单位') + msg);
      } else if (top === 'areas') {
        var a = areaCodes[+seg[1]], county = a && seg[3] != null ? a.codes[+seg[3]] : null;
        if (county) {
          put('c' + county, msg);
          put('areas', rwCountyName(county) + '：' + msg);
        } else {
          put('areas', code === 'empty' || code === 'required' ? '请在地图上至少选择一个县（市、区）' : '预警区域' + (a ? '（' + RW_LEVEL_ZH[a.level] + '）' : '') + msg);
        }
      } else {
        var what = { issued_at: '签发时间', product_id: '产品编号', supersedes: '所更正的产品', schema: '格式版本' }[top] || '产品';
        put('general', what + msg);
      }
    });
    if (firstInput) {
      if (firstInput.classList.contains('field-err')) firstInput.setAttribute('tabindex', '-1');
      firstInput.focus();
    }
  }

  function rwSubmit(f, btn) {
    var areas = [], areaCodes = [];
    RW_LEVELS.forEach(function (lv) {
      var codes = Object.keys(f.sel).filter(function (c) { return f.sel[c] === lv; }).sort();
      if (!codes.length) return;
      areas.push({ level: lv, admin_codes: codes });
      areaCodes.push({ level: lv, codes: codes });
    });
    var issuers = f.inputs.issuers.value.split(/[、,，;；\n]/).map(function (s) { return s.trim(); }).filter(Boolean);
    var id = rwNewId();
    var product = {
      schema: 'geohazard.riskwarning/1', product_id: id,
      issued_at: rwRfc3339(rwLocalInput(Date.now() + (state.skewMs || 0))),
      issuers: issuers, areas: areas,
      supersedes: f.from ? f.from.product_id : null
    };
    /* an empty field is left out: the server says 必须填写 (required) */
    ['rain_summary', 'advice'].forEach(function (k) {
      var t = f.inputs[k].value.trim();
      if (t) product[k] = t;
    });
    var vf = rwRfc3339(f.inputs.valid_from.value), vt = rwRfc3339(f.inputs.valid_to.value);
    if (vf) product.valid_from = vf;
    if (vt) product.valid_to = vt;
    btn.disabled = true;
    api('POST', '/api/v1/riskwarnings', product).then(function (r) {
      btn.disabled = false;
      if (r.status === 400 && r.data && Array.isArray(r.data.errors)) {
        rwShowErrors(f, r.data.errors, areaCodes);
        return;
      }
      if (r.status !== 201) { rwShowErrors(f, [], areaCodes); f.errs.general.textContent = errText(r.status, r.data, '提交'); f.errs.general.hidden = false; return; }
      $('rw-compose-slot').textContent = '';
      rw.compose = null;
      rwKeepPut(null);
      var done = function (extra) {
        showMsg('已提交风险预警 ' + id + '，待确认（需' + (r.data.signoff || 1) + '名值班员确认后发布）。' + (extra || ''), 'ok');
        rwLoad();
      };
      if (f.from && f.from.state === 'pending') {
        if (rw.cards[f.from.product_id]) rw.cards[f.from.product_id].handled = true;
        api('POST', '/api/v1/riskwarnings/' + encodeURIComponent(f.from.product_id) + '/reject', { reason: '已更正，由 ' + id + ' 取代' }).then(function (x) {
          done(x.status === 200 ? '原产品已驳回。' : '原产品未能自动驳回（' + errText(x.status, x.data, '驳回') + '），请手动处理。');
        });
      } else {
        done('');
      }
    });
  }

  /* Once per login, the first time the view is shown: a form left unsent
   * (a reload, an expired session) opens again with its content. */
  function rwRestore() {
    if (rw.restoreTried || rw.compose) return;
    rw.restoreTried = true;
    var kept = rwKeepGet();
    if (!kept) return;
    if (!kept.from) { rwComposeOpen(null); return; }
    api('GET', '/api/v1/riskwarnings/' + encodeURIComponent(kept.from)).then(function (r) {
      if (r.status === 200 && r.data && !rw.compose) rwComposeOpen(r.data);
    });
  }

  /* --- the two views ------------------------------------------------------ */

  function showTab(tab) {
    state.tab = tab;
    $('alerts-view').hidden = tab !== 'alerts';
    $('rw-view').hidden = tab !== 'rw';
    $('mon-view').hidden = tab !== 'mon';
    $('tab-alerts').setAttribute('aria-pressed', tab === 'alerts' ? 'true' : 'false');
    $('tab-rw').setAttribute('aria-pressed', tab === 'rw' ? 'true' : 'false');
    $('tab-mon').setAttribute('aria-pressed', tab === 'mon' ? 'true' : 'false');
    if (tab === 'rw') rwLoad();
    if (tab === 'mon' && views.mon) views.mon.load();
  }
  $('tab-alerts').addEventListener('click', function () { showTab('alerts'); });
  $('tab-rw').addEventListener('click', function () { showTab('rw'); });
  $('tab-mon').addEventListener('click', function () { showTab('mon'); });
  $('rw-new').addEventListener('click', function () { rwCompose(null); });
  $('rw-history-box').addEventListener('toggle', function () { if ($('rw-history-box').open) rwLoad(); });

  /* each poll: the lists, and an open card whose item changed or every DETAIL_MS */
  function rwPoll() {
    if (state.tab !== 'rw') {
      /* the other view: only the pending list, for the announcement */
      return api('GET', '/api/v1/riskwarnings?state=pending').then(function (r) {
        if (r.status === 200 && r.data && state.loggedIn && state.tab !== 'rw') rwWatch(r.data.items || []);
      });
    }
    return rwLoad().then(function () {
      return Promise.all(Object.keys(rw.cards).map(function (k) {
        var c = rw.cards[k];
        if (!c.opened) return null;
        if (c.stale || Date.now() - (c.detailAt || 0) >= DETAIL_MS) {
          /* an open preview or reason box survives a mere timer refresh */
          if (!c.stale && ((c.preview || (c.previewBox && !c.previewBox.hidden)) || c.el.querySelector('.reason-box'))) return null;
          return rwRefresh(c);
        }
        return null;
      }));
    });
  }

  function rwClear() {
    Object.keys(rw.cards).forEach(function (k) { rw.cards[k].el.remove(); });
    rw.cards = {};
    rw.regions = null;
    rw.restoreTried = false;
    rw.known = null;
    rw.compose = null;
    ['rw-pending', 'rw-published', 'rw-history', 'rw-compose-slot'].forEach(function (k) { $(k).textContent = ''; });
  }

  /* --- login ---------------------------------------------------------------- */

  function clearBoard() {
    Object.keys(state.cards).forEach(function (k) { state.cards[k].el.remove(); });
    state.cards = {};
    ['pending', 'published', 'rejected'].forEach(function (k) { $(k).textContent = ''; });
    state.knownPending = null;
    rwClear();
    if (views.mon) views.mon.clear();
  }

  function showLogin(why) {
    state.loggedIn = false;
    state.csrf = null;
    state.expiresMs = null;
    clearTimeout(state.timer);
    clearBoard();
    $('expiry').hidden = true;
    $('board').hidden = true;
    $('who').hidden = true;
    $('login').hidden = false;
    $('login-why').textContent = why || '';
    $('login-why').hidden = !why;
    if (state.name && !$('login-name').value) $('login-name').value = state.name;
    updateTitle(0);
  }

  function showBoard() {
    state.loggedIn = true;
    $('login').hidden = true;
    $('board').hidden = false;
    $('who').hidden = false;
    $('who-name').textContent = '';
    $('who-name').appendChild(idSpan(state.name));
    $('who-name').appendChild(document.createTextNode('（' + (ROLE_ZH[state.role] || '其他') + '）'));
    poll();
  }

  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var btn = ev.target.querySelector('button');
    btn.disabled = true;
    unlockAudio();
    loginRequest($('login-name').value, $('login-password').value).then(function (r) {
      btn.disabled = false;
      $('login-password').value = '';
      if (r.status === 200) {
        var again = state.name === r.data.name;
        state.csrf = r.data.csrf; state.name = r.data.name; state.role = r.data.role;
        showMsg('');
        $('login-why').hidden = true;
        if (!again) openSet([]);
        showBoard();
      } else if (r.status === 401) {
        showMsg('用户名或密码错误');
      } else {
        showMsg(errText(r.status, r.data, '登录'));
      }
    });
  });

  $('logout').addEventListener('click', function () {
    api('POST', '/console/logout').then(function () {
      openSet([]);
      showLogin('');
      showMsg('已退出', 'ok');
    });
  });
  $('refresh').addEventListener('click', function () { showMsg(''); poll(); });
  $('expiry-keep').addEventListener('click', function () { checkSession(); });
  setInterval(tick, 1000);

  window.gaConsole = {
    views: views, state: state, $: $, el: el, idSpan: idSpan, api: api, errText: errText,
    fmtTime: fmtTime, fmtSpan: fmtSpan, learnZone: learnZone, showMsg: showMsg, DETAIL_MS: DETAIL_MS
  };

  /* after the other files' scripts ran (they register in views) */
  window.addEventListener('DOMContentLoaded', function () { api('GET', '/console/session').then(function (r) {
    if (r.status === 200) {
      state.csrf = r.data.csrf; state.name = r.data.name; state.role = r.data.role;
      showBoard();
    } else {
      showLogin(openSet().length ? '登录已过期，请重新登录；未提交的修改已保存在本机，登录后自动恢复。' : '');
    }
  }); });
})();
