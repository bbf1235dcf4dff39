#!/usr/bin/env bash
# tests/bench/delivery.sh - the delivery benchmark (docs/benchmarks.md,
# "Delivery"): confirm -> delivered latency.
#
# Against one mosquitto of its own, geoalert (a release build, fresh
# database, synchronous=FULL) and the local stand-ins of the channels'
# APIs (tests/integration/endpoints.py, which check keys, tokens and
# signatures): N times, one at a time, a report makes a large incident,
# its draft is confirmed through the officer API, and the time from just
# before the confirm request to the arrival of the version at each
# channel's endpoint (the portal, WeCom, DingTalk, Feishu, and a
# subscriber to the mqtt channel's topic) is taken. The robots' rate
# limits are lifted (rate_per_min = 0) since these are local endpoints.
# Prints p50 / p99 / max per channel, then one JSON line. Not a timed
# test: it exits non-zero only when something is lost or broken.
#
# Environment (all optional):
#   GA_BENCH_N      alerts confirmed               (100)
#   GA_BENCH_BUILD  build directory                (build/release)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${GA_BENCH_N:-100}
BUILD=${GA_BENCH_BUILD:-$ROOT/build/release}
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "delivery.sh: not a positive integer: $N" >&2; exit 2; }
[[ -x $BUILD/geoalert ]] || { echo "delivery.sh: no $BUILD/geoalert (set GA_BENCH_BUILD)" >&2; exit 2; }

exec env GA_SOURCE_DIR="$ROOT" GA_BUILD_DIR="$BUILD" GEOALERT="$BUILD/geoalert" \
	GA_BENCH_N="$N" PYTHONPATH="$ROOT/tests/integration" /usr/bin/python3 - <<'PY'
import json
import os
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

from endpoints import DingTalk, Feishu, Portal, WeCom
from harness import GEOALERT, Broker, Geoalert, free_port, now_rfc3339, tmpdir

N = int(os.environ["GA_BENCH_N"])
TYPES = ["landslide", "collapse", "debris_flow", "ground_collapse", "ground_fissure",
         "land_subsidence"]
# A grid of points 1 km apart in 浦口区, each with a station of every
# hazard type: every station's report opens an incident of its own.
POINTS = [(118.602 + c * 0.0112, 32.042 + r * 0.0095) for r in range(4) for c in range(6)]
STATIONS = [("BDL-%03d-%d" % (i, t), lon, lat, TYPES[t])
            for t in range(len(TYPES)) for i, (lon, lat) in enumerate(POINTS)]
assert N <= len(STATIONS), "GA_BENCH_N at most %d" % len(STATIONS)

work = tmpdir("bench-delivery")
reg = os.path.join(work, "stations.geojson")
with open(reg, "w", encoding="utf-8") as f:
    json.dump({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"station_id": sid, "name": sid, "hazard_point_id": "3201117%03d%02d" % (i, 0),
                        "hazard_type": ht, "admin_code": "320111", "threatened_people": 620,
                        "threatened_property_cny": 30000000}}
        for i, (sid, lon, lat, ht) in enumerate(STATIONS)]}, f, ensure_ascii=False)


def secret(name, value):
    p = os.path.join(work, name)
    with open(p, "w") as f:
        f.write(value + "\n")
    return p


portal = Portal("bench-token")
wecom = WeCom("bench-key")
ding = DingTalk("bench-ding", "SECbench")
feishu = Feishu("bench-feishu", "fsbench")
broker = Broker().start()
ga = Geoalert(broker, stations=reg, extra={
    "channel.portal": {"type": "portal", "url": portal.url("/api/alerts"),
                       "token_file": secret("p", portal.token)},
    "channel.wecom": {"type": "wecom", "url": wecom.url("/cgi-bin/webhook/send"),
                      "token_file": secret("w", wecom.key), "rate_per_min": "0"},
    "channel.dingtalk": {"type": "dingtalk", "url": ding.url("/robot/send"),
                         "token_file": secret("d", ding.token),
                         "secret_file": secret("ds", ding.secret), "rate_per_min": "0"},
    "channel.feishu": {"type": "feishu", "url": feishu.url("/open-apis/bot/v2/hook/"),
                       "token_file": secret("f", feishu.token),
                       "secret_file": secret("fs", feishu.secret), "rate_per_min": "0",
                       "rate_per_s": "0"},
    "channel.mqtt": {"type": "mqtt"},
})
tok = subprocess.run([GEOALERT, "officer", "add", "bench", "--role", "duty_officer", "-c",
                      ga.conf], capture_output=True, timeout=120, check=True).stdout.decode().strip()
ga.start()

arrived = {}  # alert_id -> monotonic arrival on mqtt
cond = threading.Condition()


def on_msg(c, u, m):
    a = json.loads(m.payload)
    with cond:
        arrived.setdefault(a["alert_id"], time.monotonic())
        cond.notify_all()


sub = mqtt.Client(client_id="bench-sub-%d" % free_port(), protocol=mqtt.MQTTv311)
sub.on_message = on_msg
sub.connect("127.0.0.1", broker.port, 30)
sub.loop_start()
sub.subscribe("geohazard/v1/alerts/#", qos=1)
pub = mqtt.Client(client_id="bench-pub-%d" % free_port(), protocol=mqtt.MQTTv5)
pub.connect("127.0.0.1", broker.port, 30)
pub.loop_start()
rcv = {}
rcond = threading.Condition()


def on_receipt(c, u, m):
    r = json.loads(m.payload)
    with rcond:
        rcv[r.get("report_id")] = r
        rcond.notify_all()


pub.on_message = on_receipt
pub.subscribe("geohazard/v1/receipts/#", qos=1)
time.sleep(0.5)

import http.client


def call(method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", ga.http_port, timeout=10)
    try:
        conn.request(method, path, body=json.dumps(body or {}).encode(),
                     headers={"Authorization": "Bearer " + tok,
                              "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def wait(pred, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.002)
    raise SystemExit("bench: timed out")


lat = {k: [] for k in ("confirm_response", "portal", "wecom", "dingtalk", "feishu", "mqtt", "all")}
for i in range(N):
    sid, lon, la, ht = STATIONS[i]
    rid = "bench-%d-%d" % (i, os.getpid())
    pub.publish("geohazard/v1/reports/" + sid, json.dumps(
        {"schema": "geohazard.report/1", "report_id": rid, "station_id": sid, "kind": "danger",
         "hazard_type": ht, "observed_at": now_rfc3339()}, ensure_ascii=False), qos=1)
    with rcond:
        rcond.wait_for(lambda: rid in rcv, 20)
    r = rcv.get(rid)
    if not r or r["status"] != "accepted" or r.get("level") != "large":
        raise SystemExit("bench: report %s not a large incident: %r" % (rid, r))
    aid = r["incident_id"]
    wait(lambda: any(a["alert_id"] == aid for a in
                     call("GET", "/api/v1/alerts?state=pending")[1]["alerts"]))
    t0 = time.monotonic()
    code, res = call("POST", "/api/v1/alerts/%s/confirm" % aid)
    t1 = time.monotonic()
    assert code == 200 and res["published"], res
    key = aid + ":1"
    tp = wait(lambda: [x["t"] for x in portal.of(lambda x: x["headers"].get("idempotency-key") == key
                                                  and x["status"] == 201)])[0]
    tw = wait(lambda: [x["t"] for x in wecom.of(lambda x: aid in (x.get("text") or ""))])[0]
    td = wait(lambda: [x["t"] for x in ding.of(lambda x: aid in (x.get("text") or ""))])[0]
    tf = wait(lambda: [x["t"] for x in feishu.of(lambda x: aid in (x.get("text") or ""))])[0]
    with cond:
        cond.wait_for(lambda: aid in arrived, 20)
    tm = arrived[aid]
    for k, t in (("confirm_response", t1), ("portal", tp), ("wecom", tw), ("dingtalk", td),
                 ("feishu", tf), ("mqtt", tm), ("all", max(tp, tw, td, tf, tm))):
        lat[k].append((t - t0) * 1000)

assert all(v == 1 for v in portal.accept_count.values()) and len(portal.accept_count) == N
ga.stop()
broker.stop()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


out = {"n": N}
print("confirm -> delivered, %d alerts one at a time (ms):" % N)
print("  %-17s %8s %8s %8s" % ("", "p50", "p99", "max"))
for k, xs in lat.items():
    out[k] = {"p50": round(pct(xs, 50), 2), "p99": round(pct(xs, 99), 2), "max": round(max(xs), 2)}
    print("  %-17s %8.2f %8.2f %8.2f" % (k, out[k]["p50"], out[k]["p99"], out[k]["max"]))
print(json.dumps(out))
PY
