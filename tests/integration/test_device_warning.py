# ga-test-backends: sqlite pg
"""Drafts of kind warning (spec §12, issue 13 "Judging"): a crack meter
whose 24 h change climbs through 2/5/10/20 mm makes exactly one draft at
orange (kind warning, written from the reading) and, once that is
published, one update at red; a kill -9 in the middle of the series
makes no second draft; confirming through the API publishes the alert
JSON and a CAP 1.2 that validates against the OASIS schema; falling back
below blue for clear_after proposes a 解除 (cancel) draft, which confirmed
publishes a CAP Cancel."""
import json
import os
import struct
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import paho.mqtt.client as mqtt

from harness import SRC, STATIONS, Broker, Geoalert, Runner, free_port
from flows import call, confirm, officer, request

runner = Runner()
broker = Broker().start()

STATION = "JS-3201-0007"
CODE = "SK00EA0D1307986"
MIN_MS = 60000
HOUR_MS = 3600000
XSD = os.path.join(SRC, "tests", "data", "cap12.xsd")
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def rfc3339(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def type2(code, channel, points):
    body = json.dumps({code: {channel: {rfc3339(t): v for t, v in points}}}).encode()
    return b"\x02" + struct.pack(">H", len(body)) + body


class Device:
    def __init__(self):
        self.client = mqtt.Client(client_id="warn-%d" % free_port(), protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()

    def send(self, points, wait=False):
        """One frame a point on `$dp` (session 0 alone: in order)."""
        info = None
        for t, v in points:
            info = self.client.publish("$dp", type2(CODE, "L1_LF_1", [(t, v)]), qos=1)
        if wait and info is not None:
            info.wait_for_publish(timeout=10)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def wait_for(what, fn, timeout=60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:  # bounded by the deadline
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last %r)" % (what, last))


def daemon(name):
    ga = Geoalert(broker, name=name, sessions=2)
    path = os.path.join(ga.dir, "devices.json")
    with open(path, "w") as f:
        json.dump({"devices": [{"device_code": CODE, "station_id": STATION, "interval_s": 600,
                                "rules": [{"channel": "L1_LF_1", "field": "value",
                                           "metric": "change_24h", "blue": 2, "yellow": 5,
                                           "orange": 10, "red": 20}]}]}, f)
    # clear_after short (reading time) so that the fall fits the test;
    # draft_min_level as its default, said out loud
    ga.sections["devices"] = {"file": path, "clear_after": "20m", "draft_min_level": "orange"}
    ga.sections["mqtt"]["share_group"] = name
    ga.sections["stations"]["file"] = STATIONS
    ga.write_config()
    return ga


def points(ga):
    return ga.query("SELECT count(*) FROM device_points WHERE device_code = ?", (CODE,))[0][0]


def drafts(ga):
    return ga.query("SELECT alert_id, msg_type, state, kind, level, version FROM alert_drafts"
                    " ORDER BY id")


def crack_series():
    """A steady day at 100 mm, then +0.25 mm every 10 min for 120 points
    (the 24 h change is 0.25 * i at point i): blue, yellow, orange, red
    at points 9, 21, 41, 81 (confirm_points 2). Ends an hour ago."""
    now = int(time.time() * 1000)
    t_end = now - HOUR_MS
    t0 = (t_end - 263 * 10 * MIN_MS) // HOUR_MS * HOUR_MS
    steady = [(t0 + k * 10 * MIN_MS, 100.0) for k in range(144)]
    rising = [(t0 + (143 + i) * 10 * MIN_MS, 100 + 0.25 * i) for i in range(1, 121)]
    return steady, rising


def trend_rate(pts):
    """The least-squares rate (mm a day, timestamps to the second) over
    the points the judge's window holds when the last of pts is the
    latest: those of its hour and the 24 before (docs/devices.md), as
    the draft prints it (two decimals, no trailing zeros)."""
    hour = pts[-1][0] // HOUR_MS
    w = [(t // 1000, v) for t, v in pts if t >= (hour - 24) * HOUR_MS]
    mt = sum(t for t, _ in w) / len(w)
    mv = sum(v for _, v in w) / len(w)
    slope = (sum((t - mt) * (v - mv) for t, v in w) / sum((t - mt) ** 2 for t, _ in w))
    return ("%.2f" % (slope * 86400)).rstrip("0").rstrip(".")


def xmllint_ok(raw):
    with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as f:
        f.write(raw)
    try:
        p = subprocess.run(["xmllint", "--noout", "--schema", XSD, f.name],
                           capture_output=True, timeout=60)
        return p.returncode == 0, p.stderr.decode(errors="replace")
    finally:
        os.unlink(f.name)


def public(ga, aid, version):
    """The published alert JSON and CAP of aid's latest version; the CAP
    validated against the OASIS CAP 1.2 schema."""
    code, hdrs, raw = request(ga, "GET", "/alerts/%s.json" % aid)
    assert code == 200, (code, raw[:300])
    a = json.loads(raw)
    assert a["version"] == version, a
    code, hdrs, raw = request(ga, "GET", "/alerts/%s.xml" % aid)
    assert code == 200, (code, raw[:300])
    ok, err = xmllint_ok(raw)
    assert ok, "CAP does not validate:\n%s\n%s" % (err, raw.decode())
    return a, ET.fromstring(raw)


def cap(doc, path):
    e = doc.find(path.replace("cap:", CAP))
    return e.text if e is not None else None


def test_warning_drafts():
    ga = daemon("warn-crack")
    ga.start()
    token = officer(ga, "warn-officer")
    dev = Device()
    steady, rising = crack_series()
    dev.send(steady)
    wait_for("the steady day", lambda: points(ga) == 144)
    # up to point 50 (orange at 41), kill -9 while the frames around
    # orange are in flight
    dev.send(rising[:50])
    wait_for("some rising points", lambda: points(ga) >= 144 + 36)
    ga.kill9()
    ga.start()
    wait_for("the first 50 rising points", lambda: points(ga) == 194)
    levels = ga.query("SELECT to_level FROM device_level_changes ORDER BY id")
    assert levels == [(1,), (2,), (3,)], levels
    # exactly one draft, at orange, of kind warning, made from the reading
    d = drafts(ga)
    assert len(d) == 1, d
    aid, msg_type, state, kind, level, version = d[0]
    assert (msg_type, state, kind, level, version) == ("alert", "pending", "warning", 2, None), d
    code, body = call(ga, "GET", "/api/v1/alerts?state=pending", token)
    assert code == 200, body
    [item] = [a for a in body["alerts"] if a["alert_id"] == aid]
    assert item["level"] == "orange" and item["level_zh"] == "警戒级", item
    assert "滑坡监测预警·警戒级" in item["headline"], item
    code, full = call(ga, "GET", "/api/v1/alerts/" + aid, token)
    assert code == 200, full
    situation = full["pending"]["situation"]
    for want in ("裂缝计", CODE, "L1_LF_1", "24小时变化量达10.25毫米", "已超过警戒级阈值10毫米",
                 "超出0.25毫米"):
        assert want in situation, (want, situation)
    assert "毫米/天" in full["pending"]["trend"] and "增大" in full["pending"]["trend"], full
    # the rate of the series up to the orange point (41), hand-computed:
    # the crack meter's window keeps no least-squares sums, the draft
    # reads them from the stored points (ingest_device.c idev_trend)
    want = trend_rate(steady + rising[:41]) + "毫米/天"
    assert want in full["pending"]["trend"], (want, full["pending"]["trend"])
    # the incident was opened without a report
    assert ga.query("SELECT nreports, hazard_point_id FROM incidents WHERE id = ?",
                    (aid,))[0][0] == 0
    assert ga.query("SELECT incident_id FROM device_incidents WHERE station_id = ?",
                    (STATION,)) == [(aid,)]

    # confirmed through the API: published, alert JSON and CAP
    confirm(ga, token, aid)
    a, doc = public(ga, aid, 1)
    assert (a["kind"], a["level"], a["level_zh"], a["color"], a["msg_type"]) == \
        ("warning", "orange", "警戒级", "orange", "alert"), a
    assert a["figures"]["threatened_people"] is not None, a["figures"]
    assert cap(doc, "cap:msgType") == "Alert"
    assert cap(doc, "cap:info/cap:event") == "滑坡监测预警"
    assert cap(doc, "cap:info/cap:category") == "Geo"
    assert cap(doc, "cap:info/cap:severity") == "Severe"
    assert cap(doc, "cap:info/cap:urgency") == "Immediate"
    assert cap(doc, "cap:info/cap:certainty") == "Likely"

    # the rest of the series: red at point 81 makes one update draft
    dev.send(rising[50:], wait=True)
    wait_for("all points", lambda: points(ga) == 264)
    wait_for("the update draft", lambda: len(drafts(ga)) == 2)
    d = drafts(ga)
    assert d[1][:5] == (aid, "update", "pending", "warning", 3), d
    assert d[0][1:3] == ("alert", "published"), d
    confirm(ga, token, aid)
    a, doc = public(ga, aid, 2)
    assert (a["msg_type"], a["level"], a["color"]) == ("update", "red", "red"), a
    assert "警戒级升为警报级" in a["situation"], a["situation"]
    assert a["references"] == [aid + ":1"], a
    assert cap(doc, "cap:msgType") == "Update"
    assert cap(doc, "cap:info/cap:severity") == "Extreme"
    assert cap(doc, "cap:references") is not None

    # a clean restart makes nothing again
    assert ga.stop() == 0, ga.log_text()
    ga.start()
    time.sleep(1)
    assert len(drafts(ga)) == 2

    # back below blue: 100.5 mm (24 h change 0.5 mm) every 10 min after
    # the series; the level falls to none once below for clear_after
    # (20 min of reading time) and a 解除 is proposed, once
    t_last = rising[-1][0]
    dev.send([(t_last + k * 10 * MIN_MS, 100.5) for k in range(1, 6)], wait=True)
    wait_for("the fall", lambda: ga.query(
        "SELECT level FROM device_levels WHERE station_id = ?", (STATION,)) == [(0,)])
    wait_for("the 解除 draft", lambda: len(drafts(ga)) == 3)
    d = drafts(ga)
    assert d[2][:4] == (aid, "cancel", "pending", "warning"), d
    code, full = call(ga, "GET", "/api/v1/alerts/" + aid, token)
    assert code == 200, full
    assert full["pending"]["headline"].startswith("【解除·滑坡监测预警】"), full["pending"]
    assert "已满20分钟" in full["pending"]["situation"], full["pending"]
    confirm(ga, token, aid)
    a, doc = public(ga, aid, 3)
    assert a["msg_type"] == "cancel", a
    assert cap(doc, "cap:msgType") == "Cancel"
    assert len(ga.query("SELECT id FROM alert_drafts")) == 3
    # every draft audited once
    made = ga.query("SELECT count(*) FROM audit WHERE action = 'draft.create' AND subject = ?",
                    (aid,))[0][0]
    assert made == 3, made
    dev.close()
    assert ga.stop() == 0, ga.log_text()


try:
    runner.run(test_warning_drafts)
finally:
    broker.stop()
runner.finish()
