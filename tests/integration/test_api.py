# ga-test-backends: sqlite pg
"""The officer API and the console's login (spec §8, issue 4) against the
real broker and daemon: every status code, a report making a large
incident whose draft is listed, confirmed with an edited headline and
published, sessions with their cookie flags, CSRF and the login rate
limit."""
import http.client
import json
import os
import time

import flows
from harness import SRC, Broker, Geoalert, Runner, Station, now_rfc3339

DATA = os.path.join(SRC, "tests", "data")
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'")
PASSWORD = "correct horse battery"

runner = Runner()
broker = Broker().start()
ga = Geoalert(broker, extra={"alerts": {"confirmations.extra_large": "2"}})


DUTY = flows.officer(ga, "duty1", "duty_officer", PASSWORD)
DUTY2 = flows.officer(ga, "duty2", "duty_officer")
SUP = flows.officer(ga, "sup1", "supervisor", PASSWORD)
ga.start()
st = Station(broker)


def call(method, path, token=None, body=None, headers=None, g=None, src=None):
    """(status, headers as a dict of lowercase names, parsed JSON or text);
    src: the client's address (any of 127/8)."""
    g = g or ga
    conn = http.client.HTTPConnection("127.0.0.1", g.http_port, timeout=10,
                                      source_address=(src, 0) if src else None)
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = "Bearer " + token
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body, ensure_ascii=False)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode()
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        h = {k.lower(): v for k, v in r.getheaders()}
        h["set-cookie-all"] = r.headers.get_all("Set-Cookie") or []
        if h.get("content-type", "").startswith("application/json"):
            return r.status, h, json.loads(raw)
        return r.status, h, raw.decode("utf-8", "replace")
    finally:
        conn.close()


def wait_pending(alert_id=None, token=DUTY, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, _, body = call("GET", "/api/v1/alerts?state=pending", token)
        assert code == 200, body
        for it in body["alerts"]:
            if alert_id is None or it["alert_id"] == alert_id:
                return it
        time.sleep(0.1)
    raise AssertionError("no pending draft for %r in %.0f s" % (alert_id, timeout))


def large_report(report_id):
    with open(os.path.join(DATA, "report-danger-registry.json"), encoding="utf-8") as f:
        r = json.load(f)
    r.update(report_id=report_id, observed_at=now_rfc3339(),
             reporter={"name": "王建国", "phone": "13800001111"})
    return r


# One large incident shared by the draft tests, made once.
_draft = {}


def draft():
    if not _draft:
        st.publish("JS-3201-0007", large_report("api-0001"))
        rc = st.wait_receipt("api-0001")
        assert rc["status"] == "accepted" and rc["level"] == "large", rc
        _draft.update(wait_pending(rc["incident_id"]))
    return _draft


def login(name, password, g=None, src=None):
    return call("POST", "/console/login", body={"name": name, "password": password}, g=g,
                src=src, headers={"X-Geoalert-Login": "1"})


def cookie_of(h):
    for c in h["set-cookie-all"]:
        if c.startswith("geoalert_session="):
            return c
    raise AssertionError("no session cookie in %r" % h["set-cookie-all"])


def test_401_without_or_with_bad_token():
    for hdrs in ({}, {"Authorization": "Bearer " + "A" * 43},
                 {"Authorization": "Basic ZHV0eTE6eA=="}, {"Authorization": "Bearer " + "x" * 500},
                 {"Cookie": "geoalert_session=nonsense"}):
        code, h, body = call("GET", "/api/v1/alerts", headers=hdrs)
        assert code == 401, (hdrs, code, body)
        assert h["www-authenticate"].startswith("Bearer"), h
        assert body["error"], body
    code, _, body = call("POST", "/api/v1/alerts/JS-1/confirm", body={})
    assert code == 401, body


def test_list_and_unknown_state():
    code, h, body = call("GET", "/api/v1/alerts", DUTY)
    assert code == 200 and isinstance(body["alerts"], list), body
    assert h["cache-control"] == "no-store"
    for st_ in ("pending", "published", "rejected"):
        code, _, body = call("GET", "/api/v1/alerts?state=" + st_, DUTY)
        assert code == 200, (st_, body)
    code, _, body = call("GET", "/api/v1/alerts?state=bogus", DUTY)
    assert code == 400 and "state" in body["error"], body
    code, _, body = call("GET", "/api/v1/alerts?state=superseded", DUTY)
    assert code == 400, body


def test_404_and_405():
    code, _, body = call("GET", "/api/v1/alerts/JS-20000101-9999", DUTY)
    assert code == 404, body
    code, _, body = call("POST", "/api/v1/alerts/JS-20000101-9999/confirm", DUTY, body={})
    assert code == 404, body
    code, _, body = call("POST", "/api/v1/alerts/JS-20000101-9999/reject", DUTY,
                         body={"reason": "x"})
    assert code == 404, body
    code, _, body = call("GET", "/api/v1/alerts/JS-20000101-9999/map.svg", DUTY)
    assert code == 404, body
    for path in ("/api/v1/nothing", "/api/v1/alerts/JS-1/publish", "/api/v2/alerts",
                 "/api/v1/alerts/..%2f..%2fetc", "/nothing"):
        code, _, body = call("GET", path, DUTY)
        assert code == 404, (path, code, body)
    code, h, body = call("DELETE", "/api/v1/alerts", DUTY)
    assert code == 405 and h["allow"] == "GET", (code, h, body)
    code, h, body = call("GET", "/api/v1/alerts/JS-1/confirm", DUTY)
    assert code == 405 and h["allow"] == "POST", (code, h, body)
    code, h, body = call("POST", "/api/v1/alerts/JS-1", DUTY, body={})
    assert code == 405, body


def test_draft_listed_with_reporter_and_map():
    d = draft()
    assert d["level"] == "large", d
    assert d["state"] == "pending", d
    assert d["incident_id"] == d["alert_id"], d
    assert "大型" in d["headline"] and "滑坡" in d["headline"], d
    code, _, body = call("GET", "/api/v1/alerts/" + d["alert_id"], DUTY)
    assert code == 200, body
    text = json.dumps(body, ensure_ascii=False)
    # officers see the reporter; the draft text never carries them
    assert "13800001111" in text and "王建国" in text, text
    assert "13800001111" not in json.dumps(body.get("pending"), ensure_ascii=False)
    code, h, svg = call("GET", "/api/v1/alerts/%s/map.svg" % d["alert_id"], DUTY)
    assert code == 200, svg
    assert h["content-type"] == "image/svg+xml", h
    assert svg.startswith("<svg") and "<path" in svg and "<circle" in svg, svg[:200]
    assert len(svg) < 64 * 1024, len(svg)


def test_400_bad_bodies():
    d = draft()
    base = "/api/v1/alerts/%s/" % d["alert_id"]
    cases = [
        ("confirm", "{"),
        ("confirm", "[]"),
        ("confirm", '{"edits": {"headline": "a", "headline": "b"}}'),
        ("confirm", {"edits": {"bogus": "x"}}),
        ("confirm", {"edits": "headline"}),
        ("confirm", {"edits": {"headline": 5}}),
        ("confirm", {"draft_id": "one"}),
        ("confirm", {"publish": True}),
        ("reject", {}),
        ("reject", {"reason": ""}),
        ("reject", {"reason": 3}),
        ("reject", ""),
        ("reject", {"reason": "x", "why": "y"}),
    ]
    for action, body in cases:
        code, _, resp = call("POST", base + action, DUTY, body=body,
                             headers={"Content-Type": "application/json"})
        assert code == 400, (action, body, code, resp)
        assert isinstance(resp["error"], str) and resp["error"], resp
    # still pending: none of these did anything
    assert wait_pending(d["alert_id"])["state"] == "pending"


def test_413_body_past_cap():
    d = draft()
    big = json.dumps({"reason": "x" * (65 * 1024)})
    code, _, body = call("POST", "/api/v1/alerts/%s/reject" % d["alert_id"], DUTY, body=big)
    assert code == 413, (code, body)
    # at the cap exactly the body is read (and refused for its content)
    at = '{"reason": "%s"}' % ("x" * (64 * 1024 - 14))
    assert len(at) == 64 * 1024
    code, _, body = call("POST", "/api/v1/alerts/%s/reject" % d["alert_id"], DUTY, body=at)
    assert code == 400, (code, body)
    # chunked, no Content-Length: counted as it comes
    conn = http.client.HTTPConnection("127.0.0.1", ga.http_port, timeout=10)
    conn.putrequest("POST", "/api/v1/alerts/%s/reject" % d["alert_id"])
    conn.putheader("Authorization", "Bearer " + DUTY)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b"x" * 8192
    for _ in range(10):
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.send(b"0\r\n\r\n")
    r = conn.getresponse()
    assert r.status == 413, r.status
    conn.close()
    assert wait_pending(d["alert_id"])["state"] == "pending"


def test_403_duty_officer_cancelling():
    d = draft()
    code, _, body = call("POST", "/api/v1/alerts/%s/cancel" % d["alert_id"], DUTY,
                         body={"reason": "test"})
    assert code == 403, body
    assert body["error"] == "forbidden" and "解除" in body["message"], body


def test_confirm_with_edited_headline_publishes():
    d = draft()
    aid = d["alert_id"]
    code, _, body = call("GET", "/api/v1/alerts/" + aid, DUTY)
    assert code == 200, body
    headline = "【大型滑坡险情】测试编辑后的标题"
    edits = {"edits": {"headline": headline}}
    draft_id = (body.get("pending") or {}).get("draft_id")
    if draft_id:
        edits["draft_id"] = draft_id
    code, _, body = call("POST", "/api/v1/alerts/%s/confirm" % aid, DUTY, body=edits)
    assert code == 200, body
    assert body == {"alert_id": aid, "version": 1, "state": "published", "published": True,
                    "public_url": "http://127.0.0.1:%d/alerts/%s" % (ga.http_port, aid)}, body
    code, _, body = call("GET", "/api/v1/alerts?state=published", DUTY)
    assert code == 200
    mine = [it for it in body["alerts"] if it["alert_id"] == aid]
    assert len(mine) == 1 and mine[0]["headline"] == headline, body
    code, _, body = call("GET", "/api/v1/alerts?state=pending", DUTY)
    assert aid not in [it["alert_id"] for it in body["alerts"]], body
    # 409: confirming twice, rejecting what is published
    code, _, body = call("POST", "/api/v1/alerts/%s/confirm" % aid, DUTY, body={})
    assert code == 409, body
    code, _, body = call("POST", "/api/v1/alerts/%s/confirm" % aid, SUP, body={})
    assert code == 409, body
    code, _, body = call("POST", "/api/v1/alerts/%s/reject" % aid, DUTY, body={"reason": "x"})
    assert code == 409, body
    # a supervisor cancels (解除); cancelling again is a conflict
    code, _, body = call("POST", "/api/v1/alerts/%s/cancel" % aid, SUP,
                         body={"reason": "险情已排除"})
    assert code == 200, body
    assert body["alert_id"] == aid, body
    code, _, body = call("POST", "/api/v1/alerts/%s/cancel" % aid, SUP,
                         body={"reason": "险情已排除"})
    assert code == 409, body


def test_two_officers_for_extra_large():
    r = {"schema": "geohazard.report/1", "report_id": "api-xl-0001",
         "station_id": "JS-3211-0002", "kind": "danger", "hazard_type": "collapse",
         "observed_at": now_rfc3339(), "figures": {"threatened_people": 1500}}
    st.publish("JS-3211-0002", r)
    rc = st.wait_receipt("api-xl-0001")
    assert rc["status"] == "accepted" and rc["level"] == "extra_large", rc
    aid = rc["incident_id"]
    it = wait_pending(aid)
    assert it["confirmations"] == 0 and it["confirmations_needed"] == 2, it
    path = "/api/v1/alerts/%s/confirm" % aid
    code, _, body = call("POST", path, DUTY, body={})
    assert code == 200, body
    assert body == {"alert_id": aid, "version": 1, "state": "pending", "published": False,
                    "confirmations": 1}, body
    # the same officer twice does not count
    code, _, body = call("POST", path, DUTY, body={})
    assert code == 409, body
    assert wait_pending(aid)["confirmations"] == 1
    code, _, body = call("POST", path, DUTY2, body={})
    assert code == 200, body
    assert body == {"alert_id": aid, "version": 1, "state": "published", "published": True,
                    "public_url": "http://127.0.0.1:%d/alerts/%s" % (ga.http_port, aid)}, body
    code, _, body = call("POST", path, SUP, body={})
    assert code == 409, body


def test_static_console_files_and_headers():
    code, h, page = call("GET", "/console/")
    assert code == 200, page
    assert h["content-type"] == "text/html; charset=utf-8", h
    assert h["cache-control"] == "no-store", h
    assert h["content-security-policy"] == CSP, h
    assert h["x-content-type-options"] == "nosniff", h
    assert h["referrer-policy"] == "no-referrer", h
    assert "值班" in page and 'src="app.js"' in page, page[:300]
    assert "http://" not in page and "https://" not in page
    code, h, js = call("GET", "/console/app.js")
    assert code == 200 and h["content-type"].startswith("text/javascript"), h
    assert "X-CSRF-Token" in js
    code, h, css = call("GET", "/console/app.css")
    assert code == 200 and h["content-type"].startswith("text/css"), h
    code, h, _ = call("GET", "/console")
    assert code == 301 and h["location"] == "/console/", h
    for path in ("/console/../CMakeLists.txt", "/console/%2e%2e/CMakeLists.txt",
                 "/console/README.md", "/console/app.js/", "/console//etc/passwd",
                 "/console/app.css/x"):
        code, _, body = call("GET", path)
        assert code == 404, (path, code, body)
    code, h, _ = call("POST", "/console/")
    assert code == 405, code


def test_login_session_cookie_csrf_logout():
    code, _, body = login("duty1", "wrong password")
    assert code == 401, body
    code, _, body = call("POST", "/console/login", body="{",
                         headers={"X-Geoalert-Login": "1", "Content-Type": "application/json"})
    assert code == 400, body
    code, _, body = call("POST", "/console/login", body={"name": "duty1"},
                         headers={"X-Geoalert-Login": "1"})
    assert code == 400, body
    code, h, body = login("duty1", PASSWORD)
    assert code == 200, body
    assert body["name"] == "duty1" and body["role"] == "duty_officer", body
    csrf = body["csrf"]
    assert len(csrf) >= 40, csrf
    sc = cookie_of(h)
    attrs = [a.strip() for a in sc.split(";")]
    value = attrs[0].split("=", 1)[1]
    assert len(value) >= 43, sc
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/" in attrs, sc
    assert "Secure" not in attrs, sc
    # the database keeps only the hash of the cookie
    rows = ga.query("SELECT id FROM sessions")
    assert value not in [r[0] for r in rows], rows
    cookie = {"Cookie": "geoalert_session=" + value}
    code, _, body = call("GET", "/console/session", headers=cookie)
    assert code == 200 and body == {"name": "duty1", "role": "duty_officer", "csrf": csrf}, body
    code, _, body = call("GET", "/api/v1/alerts?state=pending", headers=cookie)
    assert code == 200, body
    # state changes need the CSRF token
    path = "/api/v1/alerts/JS-20000101-9999/reject"
    code, _, body = call("POST", path, body={"reason": "x"}, headers=cookie)
    assert code == 403 and body["error"] == "csrf", body
    assert body["message"] == "缺少或错误的 X-CSRF-Token", body
    # one character changed (never to itself: 1 run in 64 ended in "A")
    wrong = csrf[:-1] + ("B" if csrf[-1] == "A" else "A")
    code, _, body = call("POST", path, body={"reason": "x"},
                         headers=dict(cookie, **{"X-CSRF-Token": wrong}))
    assert code == 403, body
    code, _, body = call("POST", path, body={"reason": "x"},
                         headers=dict(cookie, **{"X-CSRF-Token": csrf}))
    assert code == 404, body
    code, _, body = call("POST", "/console/logout", headers=cookie)
    assert code == 403, body
    code, h, body = call("POST", "/console/logout", headers=dict(cookie, **{"X-CSRF-Token": csrf}))
    assert code == 200, body
    assert "Max-Age=0" in cookie_of(h), h
    code, _, body = call("GET", "/console/session", headers=cookie)
    assert code == 401, body
    code, _, body = call("GET", "/api/v1/alerts", headers=cookie)
    assert code == 401, body
    # audit: login, failed login (no officer, the name, no password), logout
    rows = ga.query("SELECT officer_id, action, detail FROM audit WHERE action IN "
                    "('login', 'login.fail', 'logout') ORDER BY seq")
    actions = [r[1] for r in rows]
    assert "login" in actions and "logout" in actions and "login.fail" in actions, rows
    for oid, action, detail in rows:
        assert PASSWORD not in detail and "wrong password" not in detail, detail
        if action == "login.fail":
            assert oid is None and json.loads(detail)["name"] == "duty1", (oid, detail)
        else:
            assert oid is not None, rows


def test_session_form_login_and_idle_expiry():
    # a form login is refused (login CSRF, issue 15: test_http_abuse.py)
    code, h, body = call("POST", "/console/login",
                         body="name=sup1&password=" + PASSWORD.replace(" ", "+"),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert code == 403, body
    code, h, body = login("sup1", PASSWORD)
    assert code == 200 and body["role"] == "supervisor", body
    value = cookie_of(h).split(";")[0].split("=", 1)[1]
    # the idle timeout slides: an expired row is refused
    ga.query("UPDATE sessions SET expires_ms = 1")
    code, _, body = call("GET", "/console/session",
                         headers={"Cookie": "geoalert_session=" + value})
    assert code == 401, body


def test_secure_cookie_and_login_rate_limit():
    """The limit is keyed on name and address (issue 15): failures from one
    client never lock out the right password from another."""
    g2 = Geoalert(broker, name="ga-secure", extra={"console": {
        "secure_cookies": "true", "login_max_failures": "3",
        "login_address_max_failures": "5", "login_window": "10m"}})
    flows.officer(g2, "sec1", "duty_officer", PASSWORD)
    g2.start()
    try:
        code, h, body = login("sec1", PASSWORD, g=g2)
        assert code == 200, body
        attrs = [a.strip() for a in cookie_of(h).split(";")]
        assert "Secure" in attrs and "HttpOnly" in attrs and "SameSite=Strict" in attrs, attrs
        # this name from this address: three failures, then even the right
        # password waits there ...
        for _ in range(3):
            code, _, body = login("sec1", "not the password", g=g2, src="127.0.0.2")
            assert code == 401, body
        code, h, body = login("sec1", PASSWORD, g=g2, src="127.0.0.2")
        assert code == 429, body
        assert int(h["retry-after"]) == 600, h
        # ... but not from another client
        code, _, body = login("sec1", PASSWORD, g=g2, src="127.0.0.3")
        assert code == 200, body
        code, _, body = login("ghost", "whatever1", g=g2, src="127.0.0.3")
        assert code == 401, body
        # the address that failed: other names until five failures in all
        for name in ("ghost2", "ghost3"):
            code, _, body = login(name, "whatever1", g=g2, src="127.0.0.2")
            assert code == 401, body
        code, _, body = login("ghost4", "whatever1", g=g2, src="127.0.0.2")
        assert code == 429, body
        rows = g2.query("SELECT officer_id, detail FROM audit WHERE action = 'login.fail'")
        assert len(rows) == 6, rows
        assert all(oid is None for oid, _ in rows), rows
        assert not any(json.loads(d)["throttled"] for _, d in rows), rows
        assert not any("not the password" in d for _, d in rows), rows
    finally:
        assert g2.stop() == 0
    # the two refused logins: one summary row for the address (at the stop,
    # before the window ended)
    rows = g2.query("SELECT detail FROM audit WHERE action = 'login.throttled'")
    assert len(rows) == 1, rows
    d = json.loads(rows[0][0])
    assert d["remote"] == "127.0.0.2" and d["count"] == 2, d


def test_newer_draft_supersedes_pending():
    def fissure(rid, people):
        return {"schema": "geohazard.report/1", "report_id": rid, "station_id": "JS-3211-0002",
                "kind": "danger", "hazard_type": "ground_fissure", "observed_at": now_rfc3339(),
                "figures": {"threatened_people": people}}
    st.publish("JS-3211-0002", fissure("api-sup-1", 600))
    rc = st.wait_receipt("api-sup-1")
    assert rc["level"] == "large", rc
    aid = rc["incident_id"]
    first = wait_pending(aid)
    # new figures for the same incident: a new draft replaces the pending one
    st.publish("JS-3211-0002", fissure("api-sup-2", 800))
    assert st.wait_receipt("api-sup-2")["incident_id"] == aid
    deadline = time.monotonic() + 10
    while wait_pending(aid)["draft_id"] == first["draft_id"] and time.monotonic() < deadline:
        time.sleep(0.05)
    second = wait_pending(aid)
    assert second["draft_id"] != first["draft_id"], (first, second)
    code, _, body = call("GET", "/api/v1/alerts?state=pending", DUTY)
    assert [it["alert_id"] for it in body["alerts"]].count(aid) == 1, body
    # the same report again changes nothing: no third draft
    st.publish("JS-3211-0002", fissure("api-sup-3", 800))
    st.wait_receipt("api-sup-3")
    assert wait_pending(aid)["draft_id"] == second["draft_id"]
    # confirming the draft that was replaced is a conflict; the current one publishes
    path = "/api/v1/alerts/%s/confirm" % aid
    code, _, body = call("POST", path, DUTY, body={"draft_id": first["draft_id"]})
    assert code == 409, body
    code, _, body = call("POST", path, DUTY, body={"draft_id": second["draft_id"]})
    assert code == 200 and body["published"] is True, body


def other_incident(rid, hazard_type, people):
    """A large danger of another hazard type at JS-3211-0002: an incident
    of its own; its pending draft."""
    st.publish("JS-3211-0002", {"schema": "geohazard.report/1", "report_id": rid,
                                "station_id": "JS-3211-0002", "kind": "danger",
                                "hazard_type": hazard_type, "observed_at": now_rfc3339(),
                                "figures": {"threatened_people": people}})
    rc = st.wait_receipt(rid)
    assert rc["status"] == "accepted" and rc["level"] == "large", rc
    return wait_pending(rc["incident_id"])


def test_reject_then_listed_as_rejected():
    d = other_incident("api-rej-1", "debris_flow", 700)
    aid = d["alert_id"]
    body = {"reason": "现场核查为误报", "draft_id": d["draft_id"]}
    code, _, res = call("POST", "/api/v1/alerts/%s/reject" % aid, DUTY, body=body)
    assert code == 200, res
    code, _, res = call("GET", "/api/v1/alerts?state=rejected", DUTY)
    assert code == 200, res
    mine = [it for it in res["alerts"] if it["alert_id"] == aid]
    assert len(mine) == 1 and mine[0]["draft_id"] == d["draft_id"], res
    code, _, res = call("GET", "/api/v1/alerts?state=pending", DUTY)
    assert aid not in [it["alert_id"] for it in res["alerts"]], res
    code, _, res = call("GET", "/api/v1/alerts?state=published", DUTY)
    assert aid not in [it["alert_id"] for it in res["alerts"]], res
    # nothing public, and a second reject is a conflict
    assert ga.get("/alerts/%s.json" % aid)[0] == 404
    code, _, res = call("POST", "/api/v1/alerts/%s/reject" % aid, DUTY, body={"reason": "x"})
    assert code == 409, res
    rows = ga.query("SELECT count(*) FROM audit WHERE action = 'draft.reject' AND subject = ?",
                    (aid,))
    assert rows[0][0] == 1, rows


def test_confirm_with_every_text_edited():
    d = other_incident("api-edit-1", "ground_collapse", 650)
    aid = d["alert_id"]
    edits = {"headline": "【大型地面塌陷险情】编辑后的标题", "situation": "编辑后的险情描述。",
             "causes": "编辑后的引发因素。", "response": "编辑后的应急处置。",
             "trend": "编辑后的发展趋势。"}
    code, _, res = call("POST", "/api/v1/alerts/%s/confirm" % aid, DUTY,
                        body={"draft_id": d["draft_id"], "edits": edits})
    assert code == 200 and res["published"] is True, res
    code, public = ga.get("/alerts/%s.json" % aid)
    assert code == 200, public
    for k, v in edits.items():
        assert public[k] == v, (k, public[k])
    # the audit trail says which fields the officer changed
    rows = ga.query("SELECT detail FROM audit WHERE action = 'draft.edit' AND subject = ?",
                    (aid,))
    assert len(rows) == 1, rows
    fields = json.loads(rows[0][0])["fields"]
    assert sorted(fields) == sorted(edits), fields


for t in (test_401_without_or_with_bad_token, test_list_and_unknown_state, test_404_and_405,
          test_draft_listed_with_reporter_and_map, test_400_bad_bodies, test_413_body_past_cap,
          test_403_duty_officer_cancelling, test_confirm_with_edited_headline_publishes,
          test_two_officers_for_extra_large, test_newer_draft_supersedes_pending,
          test_reject_then_listed_as_rejected, test_confirm_with_every_text_edited,
          test_static_console_files_and_headers, test_login_session_cookie_csrf_logout,
          test_session_form_login_and_idle_expiry, test_secure_cookie_and_login_rate_limit):
    runner.run(t)
st.close()
flows.run_clean_stop(runner, ga)  # under ASan: no leak of any request above
runner.finish()
