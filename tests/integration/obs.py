"""Helpers of the observability tests (test_metrics.py, test_clock.py):
a station registry of our own, officers, the officer API, /metrics parsed
from the Prometheus text format. Every wait is bounded."""
import http.client
import json
import re
import subprocess
import time

from harness import GEOALERT

# Hazard points in 浦口区 (320111), at least 2 km apart, so that each
# station's report opens an incident of its own.
GRID = [(118.602, 32.024), (118.630, 32.024), (118.658, 32.024), (118.602, 32.042),
        (118.630, 32.042), (118.658, 32.042)]


def write_registry(path, threatened):
    """threatened: {station_id: people}; stations placed on GRID in order."""
    feats = []
    for i, (sid, people) in enumerate(threatened.items()):
        lon, lat = GRID[i]
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"station_id": sid, "name": "观测站 %d" % (i + 1),
                           "hazard_point_id": "32011177%04d" % (i + 1),
                           "hazard_type": "landslide", "admin_code": "320111",
                           "threatened_people": people,
                           "threatened_property_cny": 1000000}})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f, ensure_ascii=False)


def officer(ga, name, role="duty_officer"):
    p = subprocess.run([GEOALERT, "officer", "add", name, "--role", role, "-c", ga.conf],
                       capture_output=True, timeout=120, check=True)
    return p.stdout.decode().strip()


def call(ga, method, path, token=None, body=None):
    """(status, parsed JSON or text)."""
    conn = http.client.HTTPConnection("127.0.0.1", ga.http_port, timeout=10)
    hdrs = {}
    if token:
        hdrs["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        if (r.getheader("Content-Type") or "").startswith("application/json"):
            return r.status, json.loads(raw)
        return r.status, raw.decode("utf-8", "replace")
    finally:
        conn.close()


def wait_pending(ga, token, alert_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, body = call(ga, "GET", "/api/v1/alerts?state=pending", token)
        assert code == 200, body
        for it in body["alerts"]:
            if it["alert_id"] == alert_id:
                return it
        time.sleep(0.05)
    raise AssertionError("no pending draft for %s in %.0f s" % (alert_id, timeout))


_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def _unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_metrics(text):
    """{(name, ((label, value), ...)): float}; checks the text's form on
    the way: every sample line parses, every family has one TYPE line
    before its samples."""
    out = {}
    typed = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in typed, "two TYPE lines for %s" % name
            typed[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = _LINE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.groups()
        base = re.sub(r'_(bucket|sum|count)$', "", name)
        assert name in typed or base in typed, "sample before its TYPE: %r" % line
        pairs = []
        if labels:
            pos = 0
            while pos < len(labels):
                lm = _LABEL.match(labels, pos)
                assert lm, "bad labels in %r" % line
                pairs.append((lm.group(1), _unescape(lm.group(2))))
                pos = lm.end()
        key = (name, tuple(sorted(pairs)))
        assert key not in out, "sample twice: %r" % line
        out[key] = float(value)
    return out


def metrics(ga):
    code, text = call(ga, "GET", "/metrics")
    assert code == 200, (code, text)
    return parse_metrics(text)


def sample(m, name, **labels):
    """The value of one sample; None when absent."""
    return m.get((name, tuple(sorted(labels.items()))))


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        ok, last = pred()
        if ok:
            return last
        time.sleep(0.1)
    raise AssertionError("%s: not within %.0f s; last %r" % (what, timeout, last))
