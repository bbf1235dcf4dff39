/* 值班台 (duty officers' console): talks to the officer API of the same
 * server with fetch; the session cookie is HttpOnly, and every state
 * change carries the CSRF token given at login. No libraries, no build. */
'use strict';

(function () {
  var LEVEL_ZH = { extra_large: '特大型', large: '大型', medium: '中型', small: '小型' };
  var LEVEL_BY_INDEX = ['small', 'medium', 'large', 'extra_large'];
  var MSG_ZH = { alert: '首发', update: '更新', cancel: '解除' };
  var STATE_ZH = { pending: '待确认', published: '已发布', rejected: '已驳回', superseded: '已被替代' };
  var TEXT_FIELDS = [
    ['headline', '标题', 'input'],
    ['situation', '险情/灾情', 'textarea'],
    ['causes', '引发因素', 'textarea'],
    ['response', '应急处置', 'textarea'],
    ['trend', '发展趋势', 'textarea']
  ];
  var KIND_ZH = { danger: '险情', disaster: '灾情' };

  var state = { csrf: null, name: null, role: null };
  var $ = function (id) { return document.getElementById(id); };

  /* Builds an element: el('div', {class: 'x'}, 'text', child, ...). */
  function el(tag, attrs) {
    var e = document.createElement(tag);
    var k;
    for (k in attrs || {}) {
      if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null) continue;
      if (k === 'class') e.className = attrs[k];
      else if (k === 'text') e.textContent = attrs[k];
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null || c === false) continue;
      e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

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

  function fmtTime(v) {
    if (v == null || v === '') return '';
    if (typeof v === 'number') {
      var d = new Date(v);
      var p = function (n) { return (n < 10 ? '0' : '') + n; };
      return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' +
        p(d.getHours()) + ':' + p(d.getMinutes());
    }
    var s = String(v);
    var m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(s);
    return m ? m[1] + ' ' + m[2] : s;
  }

  /* Human text for an API error. */
  function errText(status, data, what) {
    var detail = data && data.error ? '（' + data.error + '）' : '';
    switch (status) {
      case 0: return what + '失败：无法连接服务器' + detail;
      case 400: return what + '失败：请求有误' + detail;
      case 401: return '登录已失效，请重新登录';
      case 403: return what + '失败：无权限' + detail;
      case 404: return what + '失败：预警不存在' + detail;
      case 409: return what + '失败：预警状态已变化，请刷新后再试' + detail;
      case 413: return what + '失败：内容过长' + detail;
      case 429: return '登录失败次数过多，请稍后再试';
      default: return what + '失败：服务器错误 ' + status + detail;
    }
  }

  /* fetch against the API: resolves {status, data}; never rejects. */
  function api(method, path, body) {
    var headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
    if (path === '/console/login') headers['X-Geoalert-Login'] = '1'; /* login CSRF: docs/security.d/http.md */
    return fetch(path, {
      method: method, headers: headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        if (r.status === 401 && path.indexOf('/console/login') < 0) showLogin();
        return { status: r.status, data: data };
      });
    }, function () { return { status: 0, data: null }; });
  }

  function showLogin() {
    state.csrf = null;
    $('board').hidden = true;
    $('who').hidden = true;
    $('login').hidden = false;
  }

  function showBoard() {
    $('login').hidden = true;
    $('board').hidden = false;
    $('who').hidden = false;
    var roleZh = { duty_officer: '值班员', supervisor: '值班长', admin: '管理员' }[state.role] || state.role;
    $('who-name').textContent = state.name + '（' + roleZh + '）';
    load();
  }

  function mayCancel() { return state.role === 'supervisor' || state.role === 'admin'; }

  /* --- lists ------------------------------------------------------------ */

  function load() {
    return Promise.all(['pending', 'published', 'rejected'].map(function (st) {
      return api('GET', '/api/v1/alerts?state=' + st);
    })).then(function (res) {
      var bad = res.filter(function (r) { return r.status !== 200; })[0];
      if (bad) { if (bad.status !== 401) showMsg(errText(bad.status, bad.data, '读取预警列表')); return; }
      renderList('pending', res[0].data.alerts || []);
      renderList('published', res[1].data.alerts || []);
      renderList('rejected', res[2].data.alerts || []);
      var np = (res[0].data.alerts || []).length;
      $('pending-count').textContent = '(' + np + ')';
      $('pending-count').className = np ? 'count' : 'count zero';
      $('updated').textContent = '更新于 ' + fmtTime(Date.now());
    });
  }

  function renderList(kind, items) {
    var box = $(kind);
    box.textContent = '';
    if (!items.length) {
      box.appendChild(el('div', { class: 'empty', text: kind === 'pending' ? '暂无待确认的预警' : '暂无' }));
      return;
    }
    /* An alert already cancelled (解除) offers no second cancel. */
    var cancelled = {};
    items.forEach(function (it) { if (it.msg_type === 'cancel') cancelled[it.alert_id] = true; });
    items.forEach(function (it) { box.appendChild(card(kind, it, cancelled[it.alert_id])); });
  }

  function badges(it) {
    var lv = levelKey(it.level);
    var out = [el('span', { class: 'badge level-' + lv, text: LEVEL_ZH[lv] || lv })];
    if (it.msg_type && MSG_ZH[it.msg_type]) out.push(el('span', { class: 'badge state', text: MSG_ZH[it.msg_type] }));
    if (it.below_level) out.push(el('span', { class: 'badge warn', text: '已低于发布级别' }));
    if (it.state === 'pending') {
      var n = confirmCount(it.confirmations), need = it.confirmations_needed || 1;
      if (need > 1) {
        out.push(el('span', {
          class: 'badge second',
          text: n > 0 ? '已有 ' + n + ' 人确认，待第二名值班员确认' : '需两名值班员确认'
        }));
      }
    }
    return out;
  }

  function confirmCount(c) {
    if (Array.isArray(c)) return c.length;
    return typeof c === 'number' ? c : 0;
  }

  function card(kind, it, cancelled) {
    var lv = levelKey(it.level);
    var c = el('article', { class: 'card level-' + lv, 'data-alert': it.alert_id, 'data-state': kind });
    var head = el('div', { class: 'card-head' },
      el('div', { class: 'title', text: it.headline || it.alert_id }),
      el('div', { class: 'meta' }, ...badges(it),
        el('span', { text: '编号 ' + it.alert_id + (it.version ? ' · 第' + it.version + '版' : '') }),
        el('span', { text: fmtTime(it.created_at) })));
    c.appendChild(head);
    var note = el('div', { class: 'note', hidden: '' });
    var actions = el('div', { class: 'card-actions' });
    var detail = el('div', { class: 'detail', hidden: '' });
    c.appendChild(actions);
    c.appendChild(note);
    c.appendChild(detail);
    if (kind === 'pending') {
      actions.appendChild(el('button', {
        type: 'button', class: 'primary open', text: '查看并处理',
        onclick: function (ev) { ev.target.hidden = true; openDraft(c, it, detail, note); }
      }));
    } else if (kind === 'published') {
      actions.appendChild(el('button', {
        type: 'button', class: 'open', text: '查看',
        onclick: function (ev) { ev.target.hidden = true; openPublished(c, it, detail, note); }
      }));
      if (mayCancel() && !cancelled) {
        actions.appendChild(el('button', {
          type: 'button', class: 'danger cancel', text: '解除',
          onclick: function () { askReason(c, note, '解除原因', '确认解除', 'cancel', it, null); }
        }));
      }
    }
    return c;
  }

  function setNote(note, text, kind) {
    note.textContent = text || '';
    note.className = 'note ' + (kind || 'error');
    note.hidden = !text;
  }

  /* --- one alert -------------------------------------------------------- */

  function fetchDetail(it, note) {
    return api('GET', '/api/v1/alerts/' + encodeURIComponent(it.alert_id)).then(function (r) {
      if (r.status !== 200) { setNote(note, errText(r.status, r.data, '读取预警')); return null; }
      return r.data;
    });
  }

  function mapImg(it) {
    return el('img', {
      class: 'map', alt: '位置示意图',
      src: '/api/v1/alerts/' + encodeURIComponent(it.alert_id) + '/map.svg'
    });
  }

  function pick(obj, names) {
    for (var i = 0; obj && i < names.length; i++) if (obj[names[i]] != null) return obj[names[i]];
    return null;
  }

  function reasonsOf(d) {
    var r = pick(d, ['reasons']) || pick(d.incident, ['reasons']) ||
      pick(d.classification, ['reasons']) || pick(d.incident && d.incident.classification, ['reasons']);
    return Array.isArray(r) ? r : [];
  }

  function reasonsBlock(d) {
    var rs = reasonsOf(d);
    if (!rs.length) return null;
    return el('div', {}, el('h3', { text: '分级依据' }),
      el('ul', { class: 'reasons' }, ...rs.map(function (x) {
        return el('li', { text: typeof x === 'string' ? x : (x.text || x.zh || x.reason || JSON.stringify(x)) });
      })));
  }

  function reportsBlock(d) {
    var rs = pick(d, ['reports']) || pick(d.incident, ['reports']) || [];
    if (!rs.length) return null;
    return el('div', {}, el('h3', { text: '来源报告（' + rs.length + '）' }), ...rs.map(function (x) {
      var r = x.report || x.raw || x;
      var rep = r.reporter || x.reporter || {};
      var f = r.figures || {};
      var rows = [
        ['监测站', (r.station_id || x.station_id || '') + ' / ' + (r.report_id || x.report_id || '')],
        ['类型', (KIND_ZH[r.kind] || r.kind || '')],
        ['观测时间', fmtTime(r.observed_at || x.observed_at)],
        ['地点', r.place || x.place],
        ['威胁人数', f.threatened_people != null ? String(f.threatened_people) : null],
        ['伤亡', (f.deaths || f.missing || f.injured) ? '死亡' + (f.deaths || 0) + ' 失踪' + (f.missing || 0) + ' 受伤' + (f.injured || 0) : null],
        ['引发因素', r.causes],
        ['应急处置', r.measures],
        ['发展趋势', r.trend]
      ];
      var dl = el('dl');
      rows.forEach(function (row) {
        if (!row[1]) return;
        dl.appendChild(el('dt', { text: row[0] }));
        dl.appendChild(el('dd', { text: row[1] }));
      });
      if (rep.name || rep.phone) {
        dl.appendChild(el('dt', { class: 'private', text: '报告人' }));
        dl.appendChild(el('dd', { class: 'private reporter', text: (rep.name || '') + ' ' + (rep.phone || '') + '（仅内部可见）' }));
      }
      return el('div', { class: 'report' }, dl);
    }));
  }

  function openDraft(c, it, detail, note) {
    setNote(note, '');
    fetchDetail(it, note).then(function (d) {
      if (!d) return;
      var p = d.pending || d.draft || null;
      detail.textContent = '';
      detail.hidden = false;
      if (!p) { setNote(note, '该预警已无待确认草稿，请刷新', 'error'); return; }
      detail.appendChild(el('h3', { text: '位置' }));
      detail.appendChild(mapImg(it));
      detail.appendChild(el('div', { class: 'muted', text: (p.area && (p.area.admin_name + ' ' + (p.area.place || ''))) || '' }));
      var rb = reasonsBlock(d);
      if (rb) detail.appendChild(rb);
      var rp = reportsBlock(d);
      if (rp) detail.appendChild(rp);
      detail.appendChild(el('h3', { text: '预警内容（可修改）' }));
      var inputs = {};
      TEXT_FIELDS.forEach(function (f) {
        var id = 'f-' + it.alert_id + '-' + f[0];
        var rows = f[2] !== 'textarea' ? null : (f[0] === 'situation' || f[0] === 'response' ? '6' : '3');
        var inp = el(f[2], { id: id, name: f[0], class: 'edit-' + f[0], rows: rows });
        inp.value = p[f[0]] || '';
        inputs[f[0]] = inp;
        detail.appendChild(el('div', { class: 'field' }, el('label', { for: id, text: f[1] }), inp));
      });
      var need = p.confirmations_needed || it.confirmations_needed || 1;
      var done = Array.isArray(p.confirmations) ? p.confirmations : [];
      if (need > 1) {
        var who = done.map(function (x) { return x.officer; }).join('、');
        detail.appendChild(el('div', {
          class: 'note second-note',
          text: '特大型预警需两名不同值班员确认。' +
            (done.length ? '已确认：' + who + '；请由另一名值班员确认发布。' : '尚无人确认。')
        }));
      }
      var actions = c.querySelector('.card-actions');
      actions.textContent = '';
      actions.appendChild(el('button', {
        type: 'button', class: 'primary confirm', text: '确认发布',
        onclick: function (ev) { confirmDraft(ev.target, it, p, inputs, note); }
      }));
      actions.appendChild(el('button', {
        type: 'button', class: 'danger reject', text: '驳回',
        onclick: function () { askReason(c, note, '驳回原因', '确认驳回', 'reject', it, p); }
      }));
      c.appendChild(actions);
      c.appendChild(note);
    });
  }

  function openPublished(c, it, detail, note) {
    fetchDetail(it, note).then(function (d) {
      if (!d) return;
      var pubs = d.published || d.versions || [];
      var a = pubs.length ? pubs[pubs.length - 1] : null;
      detail.textContent = '';
      detail.hidden = false;
      detail.appendChild(el('h3', { text: '位置' }));
      detail.appendChild(mapImg(it));
      if (a) {
        TEXT_FIELDS.slice(1).forEach(function (f) {
          if (!a[f[0]]) return;
          detail.appendChild(el('h3', { text: f[1] }));
          detail.appendChild(el('div', { class: 'text-block', text: a[f[0]] }));
        });
        detail.appendChild(el('div', { class: 'muted', text: '发布时间 ' + fmtTime(a.confirmed_at || a.sent) }));
      }
      var rp = reportsBlock(d);
      if (rp) detail.appendChild(rp);
      var box = el('div', { class: 'deliveries' });
      detail.appendChild(box);
      loadDeliveries(it, box, note);
    });
  }

  var DELIVERY_ZH = { pending: '待发送', sending: '发送中', delivered: '已送达', failed: '失败' };

  /* The delivery ledger of a published alert: one row per version and
   * channel; a failed one can be sent again by a supervisor or admin. */
  function loadDeliveries(it, box, note) {
    var path = '/api/v1/alerts/' + encodeURIComponent(it.alert_id) + '/deliveries';
    api('GET', path).then(function (r) {
      box.textContent = '';
      if (r.status !== 200) { box.appendChild(el('div', { class: 'muted', text: errText(r.status, r.data, '发送记录') })); return; }
      var ds = r.data.deliveries || [];
      box.appendChild(el('h3', { text: '发送渠道（' + ds.length + '）' }));
      if (!ds.length) { box.appendChild(el('div', { class: 'muted', text: '无' })); return; }
      var rows = ds.map(function (d) {
        var resend = null;
        if (d.state === 'failed' && mayCancel()) {
          resend = el('button', {
            type: 'button', class: 'resend', text: '重发',
            onclick: function (ev) {
              ev.target.disabled = true;
              api('POST', path + '/' + encodeURIComponent(d.channel) + '/resend', {}).then(function (x) {
                if (x.status !== 200) setNote(note, errText(x.status, x.data, '重发'), 'error');
                loadDeliveries(it, box, note);
              });
            }
          });
        }
        return el('tr', { class: 'delivery-' + d.state },
          el('td', { text: d.channel }), el('td', { text: 'v' + d.version }),
          el('td', { text: DELIVERY_ZH[d.state] || d.state }),
          el('td', { text: String(d.attempts) }),
          el('td', { class: 'muted', text: d.last_error || '' }), el('td', {}, resend));
      });
      box.appendChild(el('table', { class: 'delivery-list' },
        el('tr', {}, el('th', { text: '渠道' }), el('th', { text: '版本' }), el('th', { text: '状态' }),
          el('th', { text: '尝试' }), el('th', { text: '最后错误' }), el('th', {})), ...rows));
    });
  }

  function confirmDraft(btn, it, p, inputs, note) {
    var edits = {};
    Object.keys(inputs).forEach(function (k) {
      if (inputs[k].value !== (p[k] || '')) edits[k] = inputs[k].value;
    });
    if (!inputs.headline.value.trim()) { setNote(note, '标题不能为空'); return; }
    var body = {};
    if (Object.keys(edits).length) body.edits = edits;
    if (p.draft_id) body.draft_id = p.draft_id;
    btn.disabled = true;
    api('POST', '/api/v1/alerts/' + encodeURIComponent(it.alert_id) + '/confirm', body).then(function (r) {
      btn.disabled = false;
      if (r.status !== 200) { setNote(note, errText(r.status, r.data, '确认发布')); return; }
      if (r.data.published) showMsg('已发布：' + (inputs.headline.value) + '（第' + r.data.version + '版）', 'ok');
      else showMsg('已确认。特大型预警需第二名值班员确认后发布。', 'ok');
      load();
    });
  }

  /* Asks for a reason inline (no window.prompt: it works badly on phones). */
  function askReason(c, note, label, okText, action, it, p) {
    var old = c.querySelector('.reason-box');
    if (old) { old.querySelector('textarea').focus(); return; }
    var id = 'r-' + action + '-' + it.alert_id;
    var ta = el('textarea', { id: id, class: 'reason', rows: '3', maxlength: '1000' });
    var box = el('div', { class: 'reason-box' }, el('label', { for: id, text: label + '（必填）' }), ta);
    var go = el('button', {
      type: 'button', class: 'danger solid do-' + action, text: okText,
      onclick: function () {
        if (!ta.value.trim()) { setNote(note, '请填写' + label); ta.focus(); return; }
        var body = { reason: ta.value.trim() };
        if (p && p.draft_id) body.draft_id = p.draft_id;
        go.disabled = true;
        api('POST', '/api/v1/alerts/' + encodeURIComponent(it.alert_id) + '/' + action, body).then(function (r) {
          go.disabled = false;
          if (r.status !== 200) { setNote(note, errText(r.status, r.data, okText.replace('确认', ''))); return; }
          showMsg(action === 'reject' ? '已驳回：' + (it.headline || it.alert_id) : '已解除：' + (it.headline || it.alert_id), 'ok');
          load();
        });
      }
    });
    box.appendChild(el('div', { class: 'row' }, go, el('button', {
      type: 'button', text: '取消', onclick: function () { box.remove(); setNote(note, ''); }
    })));
    c.querySelector('.card-actions').after(box);
    ta.focus();
  }

  /* --- login ------------------------------------------------------------ */

  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var btn = ev.target.querySelector('button');
    btn.disabled = true;
    api('POST', '/console/login', { name: $('login-name').value, password: $('login-password').value }).then(function (r) {
      btn.disabled = false;
      $('login-password').value = '';
      if (r.status === 200) {
        state.csrf = r.data.csrf; state.name = r.data.name; state.role = r.data.role;
        showMsg('');
        showBoard();
      } else if (r.status === 401) {
        showMsg('用户名或密码错误');
      } else {
        showMsg(errText(r.status, r.data, '登录'));
      }
    });
  });

  $('logout').addEventListener('click', function () {
    api('POST', '/console/logout').then(function () { showMsg('已退出', 'ok'); showLogin(); });
  });
  $('refresh').addEventListener('click', function () { showMsg(''); load(); });

  api('GET', '/console/session').then(function (r) {
    if (r.status === 200) {
      state.csrf = r.data.csrf; state.name = r.data.name; state.role = r.data.role;
      showBoard();
    } else {
      showLogin();
    }
  });
})();
