# ga-test-backends: sqlite pg
"""The console's 监测 view (issue 13, "officers see it") against the real
broker and daemon, device frames sent as devices send them (spec §12):

- a crack meter whose 24 h change climbs through 2/5/10/20 mm (red), a
  rain gauge at one reading a minute for 12 h with one downpour (yellow;
  720 points: the server cuts its lines to at most 600), a quiet crack
  meter (normal), and a device that falls silent (normal, offline), on
  four stations whose station_id order is not their level order;
- GET /api/v1/monitoring[/{id}]: the new fields (level_at, judged with
  the rule's metric replayed, thresholds and the latest level, since /
  until, points_total / downsampled) and the cap keeping the peak and the
  latest point;
- tests/browser/monconsole.test.js in headless Chromium at 390 px: the
  points in level order with the silent one marked, a chart per rule with
  one polyline of the API's points, threshold lines whose y maps back to
  the registry's values, a marker per level change at its time, the text
  summary as the chart's description, keyboard selection, no horizontal
  scrolling. Screenshots land in the build directory (monconsole-shots)."""
import copy
import json
import os
import shutil
import struct
import subprocess
import time

import paho.mqtt.client as mqtt

import flows
from harness import BUILD, SRC, STATIONS, Broker, Geoalert, Runner, free_port, npm_install

BROWSER = os.path.join(SRC, "tests", "browser")
CHROMIUM = os.environ.get("GA_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(BUILD, "monconsole-shots")
PASSWORD = "night shift slope 7"
MIN_MS = 60000
HOUR_MS = 3600000

RED, YELLOW, QUIET, SILENT = "JS-3211-0002", "JS-3201-0007", "MON-0003", "MON-0004"
CRACK = {"channel": "L1_LF_1", "field": "value", "metric": "change_24h",
         "blue": 2, "yellow": 5, "orange": 10, "red": 20}
RAIN = {"channel": "L3_YL_1", "field": "value", "metric": "sum_24h",
        "blue": 25, "yellow": 50, "orange": 100, "red": 150}
DEVICES = [
    {"device_code": "LF-RED-1", "station_id": RED, "interval_s": 600, "rules": [CRACK]},
    {"device_code": "YL-YEL-1", "station_id": YELLOW, "interval_s": 600, "rules": [RAIN]},
    {"device_code": "LF-QUIET-1", "station_id": QUIET, "interval_s": 600, "rules": [CRACK]},
    {"device_code": "LF-SILENT-1", "station_id": SILENT, "interval_s": 1, "rules": [CRACK]},
]

runner = Runner()
broker = Broker().start()


def rfc3339(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def type2(code, channel, points):
    body = json.dumps({code: {channel: {rfc3339(t): v for t, v in points}}}).encode()
    return b"\x02" + struct.pack(">H", len(body)) + body


def stations(d):
    """The example stations and two more (copies of the first, renamed)."""
    doc = json.load(open(STATIONS))
    for sid, name in ((QUIET, "平安村监测点"), (SILENT, "后山坡监测点")):
        f = copy.deepcopy(doc["features"][0])
        f["properties"]["station_id"] = sid
        f["properties"]["name"] = name
        doc["features"].append(f)
    path = os.path.join(d, "stations.geojson")
    with open(path, "w") as f:
        json.dump(doc, f, ensure_ascii=False)
    return path


ga = Geoalert(broker, name="ga-monconsole")
ga.sections["stations"]["file"] = stations(ga.dir)
with open(os.path.join(ga.dir, "devices.json"), "w") as f:
    json.dump({"devices": DEVICES}, f)
ga.sections["devices"] = {"file": os.path.join(ga.dir, "devices.json")}
ga.sections["mqtt"]["share_group"] = "monconsole"
ga.write_config()
TOKEN = flows.officer(ga, "zhao", "duty_officer", PASSWORD)
ga.start()

NOW = int(time.time() * 1000)
# the crack meter (as test_device_intake): a steady day at 100 mm, then
# +0.25 mm every 10 min; levels at points 9, 21, 41, 81 of the rise
T_END = NOW - HOUR_MS
T0 = (T_END - 263 * 10 * MIN_MS) // HOUR_MS * HOUR_MS
CRACK_PTS = [(T0 + k * 10 * MIN_MS, 100.0) for k in range(144)] + \
    [(T0 + (143 + i) * 10 * MIN_MS, 100 + 0.25 * i) for i in range(1, 121)]
CRACK_CHANGES = [("blue", T0 + (143 + 9) * 10 * MIN_MS), ("yellow", T0 + (143 + 21) * 10 * MIN_MS),
                 ("orange", T0 + (143 + 41) * 10 * MIN_MS), ("red", T0 + (143 + 81) * 10 * MIN_MS)]
# the rain gauge: 0.1 mm a minute for 12 h, a 2.0 mm downpour at 300
R0 = (NOW - 12 * HOUR_MS - 5 * MIN_MS) // MIN_MS * MIN_MS
RAIN_PTS = [(R0 + i * MIN_MS, 2.0 if i == 300 else 0.1) for i in range(720)]


def wait_for(what, fn, timeout=60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:  # bounded
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last %r)" % (what, last))


def feed():
    dev = mqtt.Client(client_id="monconsole-%d" % free_port(), protocol=mqtt.MQTTv5)
    dev.connect("127.0.0.1", broker.port, keepalive=30)
    dev.loop_start()

    def pub(code, channel, pts):
        # `$dp`: one session takes it, so the frames are judged in order
        dev.publish("$dp", type2(code, channel, pts), qos=1).wait_for_publish(timeout=10)

    pub("LF-SILENT-1", "L1_LF_1", [(NOW - 30 * MIN_MS, 50.0)])
    for i in range(0, len(CRACK_PTS), 100):  # in order, three frames
        pub("LF-RED-1", "L1_LF_1", CRACK_PTS[i:i + 100])
    for i in range(0, len(RAIN_PTS), 400):
        pub("YL-YEL-1", "L3_YL_1", RAIN_PTS[i:i + 400])
    pub("LF-QUIET-1", "L1_LF_1", [(NOW - k * 10 * MIN_MS, 80.0) for k in range(12, 0, -1)])
    dev.loop_stop()
    dev.disconnect()
    total = len(CRACK_PTS) + len(RAIN_PTS) + 12 + 1
    wait_for("every point stored",
             lambda: ga.query("SELECT count(*) FROM device_points")[0][0] == total)
    wait_for("the levels", lambda: dict(ga.query(
        "SELECT station_id, level FROM device_levels")) == {RED: 4, YELLOW: 2})

    def silent():
        code, body = flows.call(ga, "GET", "/api/v1/monitoring", TOKEN)
        p = [p for p in body["points"] if p["station_id"] == SILENT]
        return code == 200 and p and not p[0]["devices"][0]["online"]
    wait_for("the silent device offline", silent)


def test_api():
    feed()
    code, body = flows.call(ga, "GET", "/api/v1/monitoring", TOKEN)
    assert code == 200, (code, body)
    pts = body["points"]
    assert [p["station_id"] for p in pts] == [YELLOW, RED, QUIET, SILENT], pts  # station_id order
    by = {p["station_id"]: p for p in pts}
    assert by[RED]["level"] == "red" and by[YELLOW]["level"] == "yellow", pts
    assert by[QUIET]["level"] is None and by[QUIET]["level_at"] is None
    # level_at: the reading that made the level (the red change's point)
    assert flows.call(ga, "GET", "/api/v1/monitoring/" + RED, TOKEN)[1]["level_at"] == \
        by[RED]["level_at"]
    assert abs(iso_ms(by[RED]["level_at"]) - CRACK_CHANGES[-1][1]) < 1000, by[RED]
    assert [d["online"] for d in by[SILENT]["devices"]] == [False]
    assert [d["online"] for d in by[QUIET]["devices"]] == [True]

    code, red = flows.call(ga, "GET", "/api/v1/monitoring/" + RED, TOKEN)
    assert code == 200, (code, red)
    assert red["truncated"] is False
    assert iso_ms(red["until"]) - iso_ms(red["since"]) == 72 * HOUR_MS, (red["since"], red["until"])
    [series] = red["series"]
    assert len(series["points"]) == 264 and series["points_total"] == 264
    assert series["downsampled"] is False
    [j] = red["judged"]
    assert (j["channel"], j["field"], j["metric"]) == ("L1_LF_1", "value", "change_24h"), j
    assert j["thresholds"] == {"blue": 2, "yellow": 5, "orange": 10, "red": 20}, j
    assert len(j["points"]) == 264 and j["downsampled"] is False, len(j["points"])
    # the replayed metric: 0 over the steady day, then 0.25 mm a point
    assert [v for _, v in j["points"][:144]] == [0.0] * 144
    assert abs(j["points"][143 + 81][1] - 20.25) < 1e-9, j["points"][143 + 81]
    assert abs(j["latest"]["value"] - 30.0) < 1e-9 and j["latest"]["level"] == "red", j["latest"]
    assert [(c["to"], iso_ms(c["at"])) for c in red["changes"]] == CRACK_CHANGES, red["changes"]

    code, rain = flows.call(ga, "GET", "/api/v1/monitoring/" + YELLOW, TOKEN)
    assert code == 200, (code, rain)
    [s] = rain["series"]
    assert s["points_total"] == 720 and s["downsampled"] is True, (s["points_total"], s["downsampled"])
    # 12 h of the 72 h window: about 50 of its 299 slices, one point each
    # where the rain was steady (low = high), two around the downpour
    assert 40 < len(s["points"]) < 120, len(s["points"])
    times = [iso_ms(t) for t, _ in s["points"]]
    assert times == sorted(times), "points in time order"
    assert (rfc_s(RAIN_PTS[300][0]), 2.0) in [(iso_ms(t) // 1000, v) for t, v in s["points"]], \
        "the downpour (the peak) is kept"
    assert iso_ms(s["points"][-1][0]) // 1000 == RAIN_PTS[-1][0] // 1000, "the latest point is kept"
    [jr] = rain["judged"]
    assert jr["downsampled"] is True and jr["points_total"] == 720 and len(jr["points"]) <= 600
    assert abs(jr["latest"]["value"] - (719 * 0.1 + 2.0)) < 1e-6, jr["latest"]
    assert jr["latest"]["level"] == "yellow"
    assert abs(max(v for _, v in jr["points"]) - jr["latest"]["value"]) < 1e-6
    return red, rain


def iso_ms(s):
    """RFC 3339 (seconds, any offset) -> ms."""
    import datetime
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000)


def rfc_s(ms):
    return ms // 1000




def test_console_in_chromium():
    red, rain = STATE["api"]
    assert os.access(CHROMIUM, os.X_OK), "%s is missing (apt-get install chromium)" % CHROMIUM
    npm_install()
    node = shutil.which("node")
    assert node, "node is missing (apt-get install nodejs)"
    os.makedirs(SHOTS, exist_ok=True)
    expect = {
        "order": [RED, YELLOW, SILENT, QUIET],
        "levels": ["red", "yellow", "", ""],
        "offline": [SILENT],
        "red": {"station": RED, "judged_points": len(red["judged"][0]["points"]),
                "raw_points": len(red["series"][0]["points"]),
                "thresholds": red["judged"][0]["thresholds"],
                "latest": red["judged"][0]["latest"]["value"],
                "changes": [[to, t] for to, t in CRACK_CHANGES]},
        "rain": {"station": YELLOW, "judged_points": len(rain["judged"][0]["points"]),
                 "raw_points": len(rain["series"][0]["points"])},
    }
    env = dict(os.environ, GA_URL="http://127.0.0.1:%d" % ga.http_port, GA_OFFICER="zhao",
               GA_PASSWORD=PASSWORD, GA_EXPECT=json.dumps(expect), GA_SHOT_DIR=SHOTS,
               GA_CHROMIUM=CHROMIUM)
    r = subprocess.run([node, os.path.join(BROWSER, "monconsole.test.js")], env=env,
                       capture_output=True, timeout=600)
    out = r.stdout.decode(errors="replace")
    print(out, r.stderr.decode(errors="replace"))
    assert r.returncode == 0, "monconsole.test.js exited %d\n%s" % (r.returncode,
                                                                    ga.log_text()[-3000:])
    assert "RESULT ok" in out
    for name in ("monitoring", "monitoring-chart"):
        path = os.path.join(SHOTS, "console-%s.png" % name)
        assert os.path.getsize(path) > 5000, path


def test_answers_match_openapi():
    """The list and both details against docs/openapi.yaml's schemas
    (tests/browser/openapi.test.js, as test_openapi runs it)."""
    npm_install()
    answers = []
    for path, url in (("/api/v1/monitoring", "/api/v1/monitoring"),
                      ("/api/v1/monitoring/{station_id}", "/api/v1/monitoring/" + RED),
                      ("/api/v1/monitoring/{station_id}", "/api/v1/monitoring/" + YELLOW),
                      ("/api/v1/monitoring/{station_id}", "/api/v1/monitoring/" + SILENT)):
        code, body = flows.call(ga, "GET", url, TOKEN)
        assert code == 200, (url, code, body)
        answers.append({"path": path, "method": "get", "url": url, "status": 200,
                        "content_type": "application/json", "body": body})
    path = os.path.join(ga.dir, "answers.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(answers, f, ensure_ascii=False)
    p = subprocess.run(["node", os.path.join(BROWSER, "openapi.test.js"),
                        os.path.join(SRC, "docs", "openapi.yaml"), path],
                       cwd=BROWSER, capture_output=True, timeout=120)
    out = p.stdout.decode() + p.stderr.decode()
    print("  " + out.strip().replace("\n", "\n  "))
    assert p.returncode == 0, out
    assert "4 answers valid" in out, out


STATE = {}


def test_api_run():
    STATE["api"] = test_api()


try:
    runner.run(test_api_run)
    if "api" in STATE:
        runner.run(test_answers_match_openapi)
        runner.run(test_console_in_chromium)
    assert ga.stop() == 0, ga.log_text()[-3000:]
finally:
    broker.stop()
runner.finish()
if runner.failed:
    raise SystemExit(1)
