"""What the integration tests do again and again, done once: a station
registry of our own, officers and their tokens, the officer API, a large
report published and its draft confirmed, the deliveries of an alert and
the waits on them. Each function takes the Geoalert / Station it works
with; every wait is bounded."""
import http.client
import json
import subprocess
import time

from harness import GEOALERT, report, secret_file

# Hazard points in 浦口区 (320111), on a grid about 2.6 km by 2 km: each
# station's report opens an incident of its own. Row by row, west to east
# (a row added keeps the earlier points where they were; every point
# checked with `geoalert locate`).
GRID = [(lon, lat) for lat in (32.024, 32.042, 32.060, 32.078, 32.096)
        for lon in (118.602, 118.630, 118.658)]

# What a report adds to make the alert's text worth checking.
DETAILS = {"place": "浦口区测试山体", "causes": "连续强降雨", "trend": "变形加速",
           "measures": "已撤离坡下群众"}


def grid(ids):
    """[(station_id, lon, lat)]: the station ids given placed on GRID in
    order (at most len(GRID) of them)."""
    ids = list(ids)
    assert len(ids) <= len(GRID), "%d stations, %d grid points" % (len(ids), len(GRID))
    return [(sid, lon, lat) for sid, (lon, lat) in zip(ids, GRID)]


def write_registry(path, stations, name, hazard_point, people=620, property_cny=30000000):
    """Writes a station registry (GeoJSON) to path: one landslide hazard
    point in 320111 per (station_id, lon, lat) of stations, the i-th (from
    1) named "{name} {i}" with hazard point id "{hazard_point}{i:04d}".
    people and property_cny: the threatened people and property, one
    number for every station or a dict by station id. The defaults (620
    people, 30 million yuan) make a danger report a large incident."""
    def of(v, sid):
        return v[sid] if isinstance(v, dict) else v

    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
              "properties": {"station_id": sid, "name": "%s %d" % (name, i + 1),
                             "hazard_point_id": "%s%04d" % (hazard_point, i + 1),
                             "hazard_type": "landslide", "admin_code": "320111",
                             "threatened_people": of(people, sid),
                             "threatened_property_cny": of(property_cny, sid)}}
             for i, (sid, lon, lat) in enumerate(stations)]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f, ensure_ascii=False)


def officer(ga, name, role="duty_officer", password=None):
    """`geoalert officer add` on ga's config (before or while it runs):
    the new officer's API token. With password, also a password for the
    console's login (given through a 0600 file in ga's dir)."""
    args = [GEOALERT, "officer", "add", name, "--role", role, "-c", ga.conf]
    if password:
        args += ["--password-file", secret_file(ga.dir, name + ".pw", password)]
    p = subprocess.run(args, capture_output=True, timeout=120, check=True)
    return p.stdout.decode().strip()


# What the console's own script sends with a login (login CSRF, issue 15).
LOGIN_HEADERS = {"X-Geoalert-Login": "1"}


def request(ga, method, path, token=None, body=None, headers=None):
    """One HTTP request to ga: (status, headers with lowercase names, body
    bytes). token: sent as a Bearer token; body: sent as JSON (UTF-8);
    headers: more request headers."""
    conn = http.client.HTTPConnection("127.0.0.1", ga.http_port, timeout=10)
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def call(ga, method, path, token=None, body=None):
    """request(), answered with (status, parsed JSON): a JSON answer
    parsed, an empty one None, another one its text."""
    code, hdrs, raw = request(ga, method, path, token, body)
    if hdrs.get("content-type", "").startswith("application/json") or not raw:
        return code, json.loads(raw or b"null")
    return code, raw.decode("utf-8", "replace")


def listed(ga, token, alert_id, state="pending"):
    """The item of alert_id in GET /api/v1/alerts?state=state, or None."""
    code, body = call(ga, "GET", "/api/v1/alerts?state=" + state, token)
    assert code == 200, body
    for it in body["alerts"]:
        if it["alert_id"] == alert_id:
            return it
    return None


def wait_pending(ga, token, alert_id, timeout=20.0, poll=0.05):
    """alert_id's item among the pending drafts, once it is there (asked
    every poll seconds); AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        it = listed(ga, token, alert_id)
        if it is not None:
            return it
        time.sleep(poll)
    raise AssertionError("no pending draft for %s in %.0f s" % (alert_id, timeout))


def publish_large(st, station, report_id, timeout=15.0, **fields):
    """Publishes a danger report (harness.report plus fields) of station
    through st; asserts its receipt (within timeout seconds) says
    accepted, level large. Returns the receipt."""
    st.publish(station, report(station, report_id, **fields))
    rc = st.wait_receipt(report_id, timeout=timeout)
    assert rc["status"] == "accepted" and rc["level"] == "large", rc
    return rc


def confirm(ga, token, alert_id, body=None, timeout=20.0, poll=0.1):
    """POST /api/v1/alerts/{alert_id}/confirm with body ({} without) every
    poll seconds while it answers 404 or 409 (no draft yet), until it
    answers 200, for at most timeout seconds; any other answer or the
    time out is an AssertionError. Returns the 200's body."""
    path = "/api/v1/alerts/%s/confirm" % alert_id
    deadline = time.monotonic() + timeout
    while True:
        code, res = call(ga, "POST", path, token, {} if body is None else body)
        if code == 200:
            return res
        assert code in (404, 409) and time.monotonic() < deadline, (code, res)
        time.sleep(poll)


def new_alert(ga, st, token, station, edits=None, details=DETAILS, receipt_timeout=15.0,
              confirm_timeout=20.0, poll=0.1):
    """A large danger from station (report id "{station}-{ms}", the report
    carrying details) through st, its draft confirmed on ga by token's
    officer (with edits, if any): asserts it was published as version 1.
    Returns the alert id. The timeouts and poll: publish_large's and
    confirm's."""
    rid = "%s-%d" % (station, int(time.time() * 1000))
    aid = publish_large(st, station, rid, receipt_timeout, **details)["incident_id"]
    res = confirm(ga, token, aid, {"edits": edits} if edits else {}, confirm_timeout, poll)
    assert res["published"] and res["version"] == 1, res
    return aid


def deliveries(ga, token, alert_id):
    """The rows of GET /api/v1/alerts/{alert_id}/deliveries (asserted 200)."""
    code, body = call(ga, "GET", "/api/v1/alerts/%s/deliveries" % alert_id, token)
    assert code == 200, body
    return body["deliveries"]


def delivery(ga, token, alert_id, channel, version=1):
    """The delivery row of alert_id's version to channel, or None."""
    return {(d["channel"], d["version"]): d
            for d in deliveries(ga, token, alert_id)}.get((channel, version))


def wait_row(ga, token, alert_id, channel, pred, what, version=1, timeout=15.0, detail=None,
             retry_errors=False):
    """delivery(), once there is one and pred(row) holds (asked every
    0.1 s); AssertionError after timeout seconds, saying the row, what
    (what was waited for) and detail() if given. retry_errors: a refused
    connection or an answer other than 200 is asked again (a daemon
    restarting) instead of failing."""
    path = "/api/v1/alerts/%s/deliveries" % alert_id
    deadline = time.monotonic() + timeout
    d = None
    while True:
        try:
            code, body = call(ga, "GET", path, token)
        except OSError:
            if not retry_errors:
                raise
            code, body = 0, None
        assert code == 200 or retry_errors, body
        if code == 200:
            d = {(x["channel"], x["version"]): x
                 for x in body["deliveries"]}.get((channel, version))
            if d and pred(d):
                return d
        if time.monotonic() > deadline:
            raise AssertionError("%s v%d to %s: %r, not %s%s" % (
                alert_id, version, channel, d if code == 200 else (code, body), what,
                "; " + detail() if detail else ""))
        time.sleep(0.1)


def wait_delivery(ga, token, alert_id, channel, version=1, state="delivered", timeout=15.0,
                  detail=None, retry_errors=False):
    """wait_row() until the row's state is state."""
    return wait_row(ga, token, alert_id, channel, lambda d: d["state"] == state, state,
                    version, timeout, detail, retry_errors)


def alert_maker(ga, st, token, stations, **kw):
    """new_alert(edits=None): each call flows.new_alert() (with kw) from
    the next station of stations ((station_id, ...) each), a fresh one
    so that each alert is an incident of its own."""
    fresh = (s[0] for s in stations)

    def make(edits=None):
        return new_alert(ga, st, token, next(fresh), edits, **kw)
    return make


def edited_config(ga, old, new, path):
    """Writes ga's config file with old replaced by new to path; returns
    path."""
    with open(ga.conf) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace(old, new))
    return path


def check_config(conf):
    """`geoalert check-config -c conf`: (exit status, stdout and stderr as
    text)."""
    p = subprocess.run([GEOALERT, "check-config", "-c", conf], capture_output=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).decode()


def run_clean_stop(runner, ga):
    """Runs test_clean_stop with runner: ga stops with exit status 0 (under
    ASan: nothing done before leaked)."""
    def test_clean_stop():
        assert ga.stop() == 0, ga.log_text()
    runner.run(test_clean_stop)
