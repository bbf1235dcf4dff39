#!/usr/bin/env bash
# tests/bench/devices.sh - the monitoring device fleet benchmark (issue 13;
# docs/benchmarks.md, "Monitoring device fleet").
#
# One mosquitto of its own on a free loopback port, the fleet of
# tests/bench/devices_registry.py (SLOW devices at one frame per 10 min,
# FAST rain gauges at one a second; one judged series each) published by
# tests/tools/ga_devpub (C, libmosquitto, QoS 1, type-2 frames on
# geohazard/v1/dp/{code}):
#   (a0) baseline: a bare `mosquitto_sub -q 1` receives N frames that
#        ga_devpub floods (window W): the machine's ceiling;
#   (c0) geoalert's RSS with the same stations and no [devices];
#   (c1) its RSS with the device registry loaded, before any frame;
#   (a)  capacity: the same N frames flooded at geoalert (every device
#        gets N / (SLOW + FAST) of them): frames stored per second (first
#        publish -> last stored, and the steady rate between 20 % and 80 %
#        stored), geoalert's CPU (utime + stime) per frame;
#   (c2) its RSS once every device's window holds points;
#   (b)  the fleet's own pace for S seconds (SLOW / 600 + FAST frames/s)
#        with L crack meters (one a station) climbing through blue,
#        yellow, orange and red: geoalert's CPU share, RSS;
#   (d)  judge latency of those 4 L level changes: the frame's publish
#        time (its reading time, ga_devpub's wall clock) -> the change
#        row's changed_ms (in the writer's transaction), and -> the
#        monitoring_level notice arriving at the officers' webhook (a
#        local HTTP sink): p50 / p99 / max.
# Prints the figures and one JSON line with everything. Not a timed test:
# exits non-zero only when something is lost or broken (a frame not
# stored, a level change or notice missing), never because a target is
# missed.
#
# Environment (all optional):
#   GA_BENCH_N        frames in (a0) and (a)           (306000)
#   GA_BENCH_WINDOW   in-flight publishes              (1000)
#   GA_BENCH_SECONDS  duration of (b)                  (90)
#   GA_BENCH_CROSS    crossing crack meters in (b)     (250)
#   GA_BENCH_SLOW / GA_BENCH_FAST  the fleet           (100000 / 2000)
#   GA_BENCH_BUILD    build directory (configured RelWithDebInfo when new)
#                                                      (build/rel)
#   GA_BENCH_INFLIGHT the bench broker's max_inflight_messages (mosquitto's
#                     default, 20, as deploy/mosquitto/mosquitto.conf): it
#                     caps the publisher's and each geoalert session's
#                     QoS 1 messages in flight
#   GA_BENCH_SESSIONS geoalert's [mqtt] sessions       (the config default, 4)
#   GA_BENCH_POLL     /metrics polls a second during (a)  (4)
#   GA_BENCH_KEEP=1   keep the temp dir (logs, database)
#   GA_BENCH_PERF=F   `perf record -g` geoalert during (a) into file F
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${GA_BENCH_N:-306000}
WINDOW=${GA_BENCH_WINDOW:-1000}
MIX_S=${GA_BENCH_SECONDS:-90}
CROSS=${GA_BENCH_CROSS:-250}
SLOW=${GA_BENCH_SLOW:-100000}
FAST=${GA_BENCH_FAST:-2000}
BUILD=${GA_BENCH_BUILD:-$ROOT/build/rel}
TIMEOUT=600 # seconds, for any one step
# /metrics polls a second while (a) runs (each reads the store's statistics)
GA_POLL_PER_S=${GA_BENCH_POLL:-4}
BENCH_LOGS=('*.json' ga/geoalert.log broker/mosquitto.log webhook.err)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/tests/bench/lib.sh"

bench_posint "$N" "$WINDOW" "$MIX_S" "$CROSS" "$SLOW" "$FAST" "$GA_POLL_PER_S"
((CROSS * 10 <= SLOW)) || { echo "$ME: GA_BENCH_CROSS * 10 must not pass GA_BENCH_SLOW" >&2; exit 2; }

[[ -f $BUILD/CMakeCache.txt ]] ||
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGA_TESTS=ON >/dev/null
cmake --build "$BUILD" -j2 --target geoalert ga_devpub >/dev/null
GEOALERT=$BUILD/geoalert
DEVPUB=$BUILD/tests/ga_devpub
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")

bench_workdir ga-bench-dev

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START=$(loadavg)
log "load average at the start: $LOAD_START ($(nproc) cores)"

# --- the fleet ----------------------------------------------------------------
/usr/bin/python3 "$ROOT/tests/bench/devices_registry.py" "$WORK/stations.geojson" \
	"$WORK/devices.json" "$SLOW" "$FAST"
NDEV=$((SLOW + FAST))

# --- the broker and the officers' webhook ---------------------------------------
bench_broker "${GA_BENCH_INFLIGHT:+max_inflight_messages $GA_BENCH_INFLIGHT}"
HTTP_PORT=$(free_port)
HOOK_PORT=$(free_port)
# One line per POST: its arrival (ms, wall clock) and its body.
/usr/bin/python3 - "$HOOK_PORT" "$WORK/webhook.log" >/dev/null 2>"$WORK/webhook.err" <<'EOF' &
import http.server, sys, time
out = open(sys.argv[2], "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        out.write("%d %s\n" % (time.time() * 1000, body.decode("utf-8", "replace").replace("\n", " ")))
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
PIDS+=("$!")
wait_port "$HOOK_PORT" 10

write_config() { # [DEVICES_FILE]
	bench_config "bench-dev-$$" "$WORK/stations.geojson" \
		"${GA_BENCH_SESSIONS:+sessions = $GA_BENCH_SESSIONS}" <<EOF
[notify]
officers_url = http://127.0.0.1:$HOOK_PORT/officers
${1:+[devices]
file = $1}
EOF
}

rss_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# geoalert's frames counted so far with outcome $1.
frames() {
	curl -s "http://127.0.0.1:$HTTP_PORT/metrics" |
		awk -v o="$1" '$1 == "geoalert_device_frames_total{outcome=\"" o "\"}" { n = $2 } END { print n + 0 }'
}

# --- (a0) baseline: bare mosquitto_sub ---------------------------------------------
log "(a0) baseline: mosquitto_sub -q 1 receives $N frames (window $WINDOW)"
SUB=(mosquitto_sub -p "$MQTT_PORT" -q 1 -V mqttv5 -c -i "bench-dev-sub" -t 'geohazard/v1/dp/+')
timeout 10 "${SUB[@]}" -E
t0=$(now)
(
	TIMEFORMAT='%U %S'
	time timeout "$TIMEOUT" "${SUB[@]}" -C "$N" >/dev/null
) 2>"$WORK/sub.time" &
SUBPID=$!
PIDS+=("$SUBPID")
bc0=$(cpu_ticks "$BROKERPID")
timeout "$TIMEOUT" "$DEVPUB" --flood --port "$MQTT_PORT" --count "$N" --window "$WINDOW" \
	--slow "$SLOW" --fast "$FAST" >"$WORK/a0.json" || fail "(a0) ga_devpub did not get every PUBACK"
wait "$SUBPID" || fail "mosquitto_sub did not receive $N frames"
t1=$(now)
ELAPSED_A0=$(calc "$t1 - $t0")
RATE_A0=$(calc "$N / $ELAPSED_A0")
BROKER_US_A0=$(calc "($(cpu_ticks "$BROKERPID") - $bc0) * 1000000 / $(getconf CLK_TCK) / $N")
SUB_US_A0=$(calc "$(tail -n 1 "$WORK/sub.time" | awk '{ print $1 + $2 }') * 1000000 / $N")
jset "$WORK/a0.json" PUB_RATE_A0='d["rate"]' PUB_CPU_A0='d["cpu_s"]'
PUB_US_A0=$(calc "$PUB_CPU_A0 * 1000000 / $N")
timeout 10 mosquitto_sub -p "$MQTT_PORT" -V mqttv5 -i "bench-dev-sub" -t x -E >/dev/null
LOAD_A0=$(loadavg)

# --- (c0) RSS without devices -------------------------------------------------------
write_config
bench_check_config
log "(c0) geoalert without [devices]"
bench_serve
sleep 2
RSS_C0=$(rss_kib "$GAPID" VmRSS)
bench_stop

# --- (c1) the registry loaded ---------------------------------------------------------
write_config "$WORK/devices.json"
"$GEOALERT" check-config -c "$WORK/ga/geoalert.ini" >"$WORK/check.err" 2>&1 ||
	{ cat "$WORK/check.err" >&2; fail "check-config refused the fleet"; }
log "(c1) geoalert with $NDEV devices"
ts=$(now)
bench_serve
START_S=$(calc "$(now) - $ts")
sleep 2
RSS_C1=$(rss_kib "$GAPID" VmRSS)

# --- (a) capacity ---------------------------------------------------------------------------
log "(a) capacity: $N frames flooded at geoalert"
c0=$(cpu_ticks "$GAPID")
bc0=$(cpu_ticks "$BROKERPID")
t0=$(now)
if [[ -n ${GA_BENCH_PERF:-} ]]; then
	perf record -g -o "$GA_BENCH_PERF" -p "$GAPID" 2>"$WORK/perf.err" &
	PERFPID=$!
fi
timeout "$TIMEOUT" "$DEVPUB" --flood --port "$MQTT_PORT" --count "$N" --window "$WINDOW" \
	--slow "$SLOW" --fast "$FAST" >"$WORK/a.json" &
PUBPID=$!
PIDS+=("$PUBPID")
: >"$WORK/a.samples"
for ((i = 0; i < TIMEOUT * GA_POLL_PER_S; i++)); do
	n=$(frames stored)
	echo "$(now) $n" >>"$WORK/a.samples"
	((n >= N)) && break
	kill -0 "$GAPID" 2>/dev/null || fail "geoalert exited"
	sleep "$(calc "1 / $GA_POLL_PER_S")"
done
t1=$(now)
CPU_A=$(cpu_since "$GAPID" "$c0")
BROKER_US_A=$(calc "($(cpu_ticks "$BROKERPID") - $bc0) * 1000000 / $(getconf CLK_TCK) / $N")
[[ -n ${PERFPID:-} ]] && { kill -INT "$PERFPID"; wait "$PERFPID" || true; }
wait "$PUBPID" || fail "(a) ga_devpub did not get every PUBACK"
STORED_A=$(frames stored)
((STORED_A == N)) || fail "(a) $STORED_A of $N frames stored"
ELAPSED_A=$(calc "$t1 - $t0")
RATE_A=$(calc "$N / $ELAPSED_A")
US_A=$(calc "$CPU_A * 1000000 / $N")
# The steady rate: between the samples at 20 % and 80 % stored.
RATE_A_STEADY=$(awk -v n="$N" '$2 >= 0.2 * n && !t1 { t1 = $1; n1 = $2 } $2 >= 0.8 * n && !t2 { t2 = $1; n2 = $2 }
	END { printf "%.1f", (t2 > t1 ? (n2 - n1) / (t2 - t1) : 0) }' "$WORK/a.samples")
jset "$WORK/a.json" PUB_RATE_A='d["rate"]' PUB_CPU_A='d["cpu_s"]'
PUB_US_A=$(calc "$PUB_CPU_A * 1000000 / $N")
LOAD_A=$(loadavg)
sleep 2
RSS_C2=$(rss_kib "$GAPID" VmRSS)

# --- (b) + (d) the fleet's pace, with level changes ---------------------------------------
log "(b) the fleet's pace for $MIX_S s ($SLOW / 600 + $FAST frames/s), $CROSS stations climbing"
base=$(frames stored)
c0=$(cpu_ticks "$GAPID")
bc0=$(cpu_ticks "$BROKERPID")
t0=$(now)
timeout "$TIMEOUT" "$DEVPUB" --mix --port "$MQTT_PORT" --seconds "$MIX_S" --cross "$CROSS" \
	--window "$WINDOW" --slow "$SLOW" --fast "$FAST" >"$WORK/b.json" ||
	fail "(b) ga_devpub did not get every PUBACK"
t1=$(now)
CPU_B=$(cpu_since "$GAPID" "$c0")
BROKER_CPU_B=$(calc "($(cpu_ticks "$BROKERPID") - $bc0) / $(getconf CLK_TCK)")
LOAD_B=$(loadavg)
jset "$WORK/b.json" SENT_B='d["sent"]' RATE_B='d["rate"]' LATE_B='d["late_ms_max"]' \
	PUB_CPU_B='d["cpu_s"]' NCROSS='d["cross"]'
ELAPSED_B=$(calc "$t1 - $t0")
for ((i = 0; i < 600; i++)); do
	(($(frames stored) - base >= SENT_B)) && break
	sleep 0.1
done
STORED_B=$(($(frames stored) - base))
((STORED_B == SENT_B)) || fail "(b) $STORED_B of $SENT_B frames stored"
RSS_B=$(rss_kib "$GAPID" VmRSS)
HWM_B=$(rss_kib "$GAPID" VmHWM)
WANT=$((4 * CROSS))
for ((i = 0; i < 300; i++)); do
	(($(grep -c '"monitoring_level"' "$WORK/webhook.log" 2>/dev/null || true) >= WANT)) && break
	sleep 0.1
done
bench_stop

# --- (d) latency: the store's rows and the webhook's arrivals ------------------------------------
/usr/bin/python3 - "$WORK/ga/geoalert.db" "$WORK/webhook.log" "$CROSS" >"$WORK/d.json" <<'EOF'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cross = int(sys.argv[3])
want = {"FLEET-%05d" % s for s in range(cross)}
rows = db.execute("SELECT station_id, to_level, t_ms, changed_ms FROM device_level_changes").fetchall()
names = {1: "blue", 2: "yellow", 3: "orange", 4: "red"}
t = {}
other = 0
for st, to, t_ms, ch in rows:
    if st in want:
        t[(st, names.get(to, str(to)))] = (t_ms, ch)
    else:
        other += 1
hook = {}
for line in open(sys.argv[2], encoding="utf-8"):
    ms, body = line.split(" ", 1)
    d = json.loads(body)
    if d.get("event") != "monitoring_level":
        continue
    key = (d["monitoring"]["station_id"], d["monitoring"]["to"])
    hook.setdefault(key, int(ms))
def pct(v, p):
    v = sorted(v)
    if not v:
        return None
    k = max(1, min(len(v), int(p / 100 * len(v) + 0.999999)))
    return v[k - 1]
store = [ch - t_ms for t_ms, ch in t.values()]
notice = [hook[k] - t[k][0] for k in t if k in hook]
levels = sorted({k[1] for k in t})
print(json.dumps({"changes": len(t), "other_changes": other, "notices": len(notice),
    "levels": levels,
    "store_ms": {"p50": pct(store, 50), "p99": pct(store, 99), "max": pct(store, 100)},
    "notice_ms": {"p50": pct(notice, 50), "p99": pct(notice, 99), "max": pct(notice, 100)}}))
EOF
jset "$WORK/d.json" NCHG='d["changes"]' NOTHER='d["other_changes"]' NNOTICE='d["notices"]' \
	ST50='d["store_ms"]["p50"]' ST99='d["store_ms"]["p99"]' STMAX='d["store_ms"]["max"]' \
	NO50='d["notice_ms"]["p50"]' NO99='d["notice_ms"]["p99"]' NOMAX='d["notice_ms"]["max"]'
((NCHG == WANT)) || fail "(d) $NCHG of $WANT level changes stored"
((NOTHER == 0)) || fail "(d) $NOTHER level changes at stations that should not change"
((NNOTICE == WANT)) || fail "(d) $NNOTICE of $WANT level-change notices reached the webhook"

# --- report ---------------------------------------------------------------------------------------
SHARE_B=$(calc "$CPU_B / $ELAPSED_B * 100")
PER_CH_C1=$(calc "($RSS_C1 - $RSS_C0) * 1024 / $NDEV")
PER_CH_C2=$(calc "($RSS_C2 - $RSS_C0) * 1024 / $NDEV")
PER_CH_FILL=$(calc "($RSS_C2 - $RSS_C1) * 1024 / $NDEV")
US_B=$(calc "$CPU_B * 1000000 / $SENT_B")
SIZES=$("$DEVPUB" --sizes)
printf '\n'
printf 'build %s, %s cores, load average start %s, broker max_inflight_messages %s, %s sessions\n' \
	"$BUILD_TYPE" "$(nproc)" "$LOAD_START" "${GA_BENCH_INFLIGHT:-20 (default)}" "${GA_BENCH_SESSIONS:-4 (default)}"
printf '(a0) mosquitto_sub -q 1:   %8.0f frames/s (publisher alone %.0f/s; broker %.1f µs, sub %.1f µs, publisher %.1f µs a frame; load %s)\n' \
	"$RATE_A0" "$PUB_RATE_A0" "$BROKER_US_A0" "$SUB_US_A0" "$PUB_US_A0" "$LOAD_A0"
printf '(a)  geoalert capacity:    %8.0f frames/s (steady 20-80 %%: %.0f/s) = %.2f of (a0); CPU %.1f µs a frame; broker %.1f µs, publisher %.1f µs a frame; load %s\n' \
	"$RATE_A" "$RATE_A_STEADY" "$(calc "$RATE_A / $RATE_A0")" "$US_A" "$BROKER_US_A" "$PUB_US_A" "$LOAD_A"
# shellcheck disable=SC2153 # RATE_B is set by jset
printf '(b)  fleet pace %s s:      %8.0f frames/s sent (%s; late at worst %s ms): geoalert CPU %.1f %% of a core (%.1f µs a frame), broker %.1f %%, publisher %.1f %%; RSS %s KiB (peak %s); load %s\n' \
	"$MIX_S" "$RATE_B" "$SENT_B" "$LATE_B" "$SHARE_B" "$US_B" "$(calc "$BROKER_CPU_B / $ELAPSED_B * 100")" \
	"$(calc "$PUB_CPU_B / $ELAPSED_B * 100")" "$RSS_B" "$HWM_B" "$LOAD_B"
printf '(c)  RSS: no devices %s KiB; %s devices loaded %s KiB (%.0f B a channel); windows filled %s KiB (%.0f B a channel; filled - loaded %.0f B); start %.1f s\n' \
	"$RSS_C0" "$NDEV" "$RSS_C1" "$PER_CH_C1" "$RSS_C2" "$PER_CH_C2" "$PER_CH_FILL" "$START_S"
printf '     sizes: %s\n' "$SIZES"
printf '(d)  %s level changes: publish -> change row p50 %s / p99 %s / max %s ms; -> webhook p50 %s / p99 %s / max %s ms\n' \
	"$NCHG" "$ST50" "$ST99" "$STMAX" "$NO50" "$NO99" "$NOMAX"
printf 'targets: >= 20000 frames/s %s; <= 1 KiB a channel %s; p99 <= 100 ms (webhook) %s\n' \
	"$(yesno "$RATE_A >= 20000")" "$(yesno "$PER_CH_C2 <= 1024")" "$(yesno "$NO99 <= 100")"
printf '{"build":"%s","inflight":"%s","sessions":"%s","load_start":"%s","n":%s,"devices":%s,"rate_a0":%.1f,"rate_a":%.1f,"rate_a_steady":%s,"ratio_a":%.3f,"cpu_us_a":%.2f,"broker_us_a0":%.2f,"broker_us_a":%.2f,"pub_us_a0":%.2f,"load_a0":"%s","load_a":"%s","mix_s":%s,"sent_b":%s,"cpu_share_b":%.2f,"cpu_us_b":%.2f,"rss_b_kib":%s,"hwm_b_kib":%s,"load_b":"%s","rss_c0_kib":%s,"rss_c1_kib":%s,"rss_c2_kib":%s,"per_channel_c1":%.1f,"per_channel_c2":%.1f,"per_channel_fill":%.1f,"sizes":%s,"start_s":%.2f,"changes":%s,"store_ms":{"p50":%s,"p99":%s,"max":%s},"notice_ms":{"p50":%s,"p99":%s,"max":%s}}\n' \
	"$BUILD_TYPE" "${GA_BENCH_INFLIGHT:-20}" "${GA_BENCH_SESSIONS:-4}" "$LOAD_START" "$N" "$NDEV" "$RATE_A0" "$RATE_A" "$RATE_A_STEADY" "$(calc "$RATE_A / $RATE_A0")" "$US_A" \
	"$BROKER_US_A0" "$BROKER_US_A" "$PUB_US_A0" "$LOAD_A0" "$LOAD_A" "$MIX_S" "$SENT_B" "$SHARE_B" "$US_B" "$RSS_B" "$HWM_B" \
	"$LOAD_B" "$RSS_C0" "$RSS_C1" "$RSS_C2" "$PER_CH_C1" "$PER_CH_C2" "$PER_CH_FILL" "$SIZES" "$START_S" "$NCHG" \
	"$ST50" "$ST99" "$STMAX" "$NO50" "$NO99" "$NOMAX"
