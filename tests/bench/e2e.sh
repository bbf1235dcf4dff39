#!/usr/bin/env bash
# tests/bench/e2e.sh - the end-to-end benchmark (docs/benchmarks.md, "End to
# end"): a station's report published -> the draft listed by the officer
# API -> a scripted confirmation through the API -> the alert received by
# the portal. Machine time = (draft listed - report published) + (portal
# received - confirmation sent): the officer's own delay is left out.
#
# Against one mosquitto of its own and one geoalert (Release build, fresh
# database, synchronous=FULL) with one portal channel to a local portal
# stand-in, all on loopback. The probe (Python, paho, in one process: every
# time is its time.monotonic(), one clock) does GA_BENCH_K times, one after
# the other:
#   - publish (QoS 1) a danger report of a new station whose hazard point
#     threatens 620 people: a new `large` incident;
#   - poll GET /api/v1/alerts?state=pending every GA_BENCH_POLL_MS on a
#     keep-alive connection until its draft is listed;
#   - POST /api/v1/alerts/{id}/confirm at once;
#   - wait for the portal stand-in (in the probe, answering 201) to have
#     read the alert's POST; check its Idempotency-Key;
#   - pause GA_BENCH_GAP_MS.
# Stations lie on a grid 0.012° x 0.010° (> 1.1 km apart, incidents of the
# same type join within 1 km), each placed in its county with
# `geoalert locate`. Prints p50 / p99 / max of the machine time and of its
# two legs, then one JSON line. Not a timed test: exits non-zero only when
# something is lost or broken (no draft, no delivery, a confirmation
# refused), never because the target (p99 <= 1 s) is missed.
#
# Environment (all optional):
#   GA_BENCH_K        incidents                    (50, at most 500)
#   GA_BENCH_POLL_MS  API poll interval, ms         (2)
#   GA_BENCH_GAP_MS   pause between incidents, ms  (100)
#   GA_BENCH_BUILD    build directory              (build/release)
#   GA_BENCH_KEEP=1   keep the temp dir (logs, database)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
K=${GA_BENCH_K:-50}
POLL_MS=${GA_BENCH_POLL_MS:-2}
GAP_MS=${GA_BENCH_GAP_MS:-100}
BUILD=${GA_BENCH_BUILD:-$ROOT/build/release}
TIMEOUT=600 # seconds, for the whole probe
BENCH_LOGS=('*.err' ga/geoalert.log broker/mosquitto.log)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/tests/bench/lib.sh"

bench_posint "$K" "$POLL_MS" "$GAP_MS"
((K <= 500)) || { echo "e2e.sh: at most 500 incidents" >&2; exit 2; }

bench_build geoalert
GEOALERT=$BUILD/geoalert

bench_workdir ga-e2e

# --- the registry ------------------------------------------------------------------
log "placing $K stations (geoalert locate)"
bench_grid_points "$K" 20 60 31.700 >"$WORK/points.txt" || fail "cannot place the stations"
/usr/bin/python3 - "$WORK" <<'EOF' || fail "cannot make the registry"
import json, sys
work = sys.argv[1]
feats = []
with open("%s/points.txt" % work) as f:
    for i, (lon, lat, code) in enumerate(l.split() for l in f):
        lon, lat = float(lon), float(lat)
        feats.append({"type": "Feature",
                      "geometry": {"type": "Point", "coordinates": [lon, lat]},
                      "properties": {"station_id": "E2E-%04d" % i, "name": "e2e %d" % i,
                                     "hazard_point_id": "%s7%05d" % (code, i),
                                     "hazard_type": "landslide", "admin_code": code,
                                     "threatened_people": 620,
                                     "threatened_property_cny": 30000000}})
with open("%s/stations.geojson" % work, "w") as f:
    json.dump({"type": "FeatureCollection", "features": feats}, f, ensure_ascii=False)
EOF

# --- the broker ------------------------------------------------------------------
bench_broker
HTTP_PORT=$(free_port)
PORTAL_PORT=$(free_port)

# --- geoalert ----------------------------------------------------------------------
bench_config "e2e-$$" "$WORK/stations.geojson" <<EOF
[alerts]
publish_min_level = large
[channel.portal]
type = portal
url = http://127.0.0.1:$PORTAL_PORT/api/alerts
token_file = $WORK/ga/portal.token
EOF
PORTAL_TOKEN=e2e-portal-$$-$RANDOM
printf '%s\n' "$PORTAL_TOKEN" >"$WORK/ga/portal.token"
chmod 600 "$WORK/ga/portal.token"
bench_check_config
bench_officer e2e-duty

bench_serve

# --- the probe ------------------------------------------------------------------------
log "probe: $K incidents, API polled every $POLL_MS ms, portal on :$PORTAL_PORT"
c0=$(cpu_ticks "$GAPID")
T0=$(now_ms)
timeout "$TIMEOUT" /usr/bin/python3 - "$MQTT_PORT" "$HTTP_PORT" "$PORTAL_PORT" "$TOKEN" \
	"$PORTAL_TOKEN" "$K" "$POLL_MS" "$GAP_MS" "$WORK/stations.geojson" \
	>"$WORK/probe.json" 2>"$WORK/probe.err" <<'EOF' || fail "the probe failed"
import datetime, http.client, http.server, json, sys, threading, time
import paho.mqtt.client as mqtt

mqtt_port, http_port, portal_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
token, portal_token = sys.argv[4], sys.argv[5]
k, poll_s, gap_s = int(sys.argv[6]), int(sys.argv[7]) / 1000.0, int(sys.argv[8]) / 1000.0
stations = [f["properties"]["station_id"] for f in json.load(open(sys.argv[9]))["features"]]
STEP_S = 30.0  # any one wait
clock = time.monotonic

got = {}  # alert_id -> monotonic time its POST was read
cond = threading.Condition()

class Portal(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        t = clock()
        ok = self.headers.get("Authorization") == "Bearer " + portal_token
        a = json.loads(body) if ok else {}
        ok = ok and self.headers.get("Idempotency-Key") == "%s:%s" % (a.get("alert_id"),
                                                                        a.get("version"))
        data = b'{"ok":true}' if ok else b'{"error":"bad request"}'
        self.send_response(201 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if ok:
            with cond:
                got.setdefault(a["alert_id"], t)
                cond.notify_all()
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", portal_port), Portal)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()

cli = mqtt.Client(client_id="e2e-probe-%d" % portal_port, protocol=mqtt.MQTTv5)
cli.connect("127.0.0.1", mqtt_port, keepalive=30)
cli.loop_start()
api = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
auth = {"Authorization": "Bearer " + token}

def pending():
    api.request("GET", "/api/v1/alerts?state=pending", headers=auth)
    r = api.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit("list: %d %s" % (r.status, body[:200]))
    return [it["alert_id"] for it in json.loads(body)["alerts"]]

draft_ms, deliver_ms, machine_ms, confirm_call_ms = [], [], [], []
polls = 0
cst = datetime.timezone(datetime.timedelta(hours=8))
for i in range(k):
    sid = stations[i]
    rep = {"schema": "geohazard.report/1", "report_id": "e2e-%d" % i, "station_id": sid,
           "kind": "danger", "hazard_type": "landslide",
           "observed_at": datetime.datetime.now(cst).replace(microsecond=0).isoformat()}
    payload = json.dumps(rep).encode()
    t0 = clock()
    cli.publish("geohazard/v1/reports/" + sid, payload, qos=1)
    aid = None
    while aid is None:
        ids = pending()
        polls += 1
        if ids:
            aid = ids[0]
            break
        if clock() - t0 > STEP_S:
            sys.exit("no draft for %s in %.0f s" % (sid, STEP_S))
        time.sleep(poll_s)
    t1 = clock()
    if len(ids) != 1:
        sys.exit("%d drafts pending, want 1: %r" % (len(ids), ids))
    t2 = clock()
    api.request("POST", "/api/v1/alerts/%s/confirm" % aid, body=b"{}",
                headers=dict(auth, **{"Content-Type": "application/json"}))
    r = api.getresponse()
    body = r.read()
    t2b = clock()
    if r.status != 200:
        sys.exit("confirm %s: %d %s" % (aid, r.status, body[:200]))
    with cond:
        while aid not in got:
            left = t2 + STEP_S - clock()
            if left <= 0:
                sys.exit("the portal did not get %s in %.0f s" % (aid, STEP_S))
            cond.wait(left)
        t3 = got[aid]
    draft_ms.append((t1 - t0) * 1000)
    deliver_ms.append((t3 - t2) * 1000)
    machine_ms.append(((t1 - t0) + (t3 - t2)) * 1000)
    confirm_call_ms.append((t2b - t2) * 1000)
    time.sleep(gap_s)

def stats(v):
    s = sorted(v)
    def pct(p):
        return s[min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))]
    return {"p50": pct(50), "p99": pct(99), "max": s[-1], "min": s[0],
            "mean": sum(s) / len(s)}

json.dump({"k": k, "machine_ms": stats(machine_ms), "draft_ms": stats(draft_ms),
           "deliver_ms": stats(deliver_ms), "confirm_call_ms": stats(confirm_call_ms),
           "polls": polls, "deliveries": len(got)}, sys.stdout)
cli.loop_stop()
srv.shutdown()
EOF
T1=$(now_ms)
CPU=$(cpu_since "$GAPID" "$c0")

# --- a clean stop, then what the database says --------------------------------------
bench_stop
DB=$WORK/ga/geoalert.db
PUB=$(sqlite3 "$DB" "SELECT count(*) FROM alert_drafts WHERE state = 'published'")
DLV=$(sqlite3 "$DB" "SELECT count(*) FROM deliveries WHERE channel = 'portal' AND state = 'delivered'")
[[ $PUB == "$K" && $DLV == "$K" ]] || fail "$PUB published, $DLV delivered, want $K each"

jset "$WORK/probe.json" \
	M50='d["machine_ms"]["p50"]' M99='d["machine_ms"]["p99"]' MMAX='d["machine_ms"]["max"]' \
	D50='d["draft_ms"]["p50"]' D99='d["draft_ms"]["p99"]' DMAX='d["draft_ms"]["max"]' \
	V50='d["deliver_ms"]["p50"]' V99='d["deliver_ms"]["p99"]' VMAX='d["deliver_ms"]["max"]' \
	C50='d["confirm_call_ms"]["p50"]' C99='d["confirm_call_ms"]["p99"]'
ELAPSED=$(calc "($T1 - $T0) / 1000")

printf '\n'
printf 'end-to-end benchmark: %d incidents, API polled every %d ms, %s cores, %.1f s\n' \
	"$K" "$POLL_MS" "$(nproc)" "$ELAPSED"
printf '  machine time (report -> draft listed) + (confirm sent -> portal has it)\n'
printf '                                     p50 %.1f ms, p99 %.1f ms, max %.1f ms  target p99 <= 1000 ms: %s\n' \
	"$M50" "$M99" "$MMAX" "$(yesno "$M99 <= 1000")"
printf '  report published -> draft listed   p50 %.1f ms, p99 %.1f ms, max %.1f ms\n' "$D50" "$D99" "$DMAX"
printf '  confirm sent -> portal has it      p50 %.1f ms, p99 %.1f ms, max %.1f ms\n' "$V50" "$V99" "$VMAX"
printf '    (of which the confirm call itself p50 %.1f ms, p99 %.1f ms)\n' "$C50" "$C99"
printf '  geoalert CPU %.2f s; %d published, %d delivered to the portal; clean stop on SIGTERM\n' \
	"$CPU" "$PUB" "$DLV"
printf '{"k":%d,"poll_ms":%d,"machine_p50_ms":%.3f,"machine_p99_ms":%.3f,"machine_max_ms":%.3f,' \
	"$K" "$POLL_MS" "$M50" "$M99" "$MMAX"
printf '"draft_p50_ms":%.3f,"draft_p99_ms":%.3f,"deliver_p50_ms":%.3f,"deliver_p99_ms":%.3f,"confirm_p50_ms":%.3f,"cpu_s":%.2f}\n' \
	"$D50" "$D99" "$V50" "$V99" "$C50" "$CPU"
