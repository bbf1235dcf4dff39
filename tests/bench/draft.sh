#!/usr/bin/env bash
# tests/bench/draft.sh - the draft benchmark (docs/benchmarks.md, "Drafts"):
# time from a report's arrival to its draft being listed by the officer API,
# under a background load of small reports.
#
# Against one mosquitto of its own and one geoalert (Release build, fresh
# database, synchronous=FULL), all on loopback:
#   - the background: ga_loadgen publishes GA_BENCH_RATE small reports/s
#     (below the publish level: no drafts) from GA_BENCH_BG_STATIONS stations;
#   - the probe: ga_draftbench, GA_BENCH_PROBES times, publishes one danger
#     report of a station whose hazard point threatens 620 people (a NEW
#     large incident each time) and polls GET /api/v1/alerts?state=pending
#     every GA_BENCH_INTERVAL_US on a keep-alive connection until the draft
#     is listed; it also times the receipt; then rejects the draft (the
#     pending list stays short) and pauses GA_BENCH_GAP_MS.
# Every station lies at least 1.1 km from every other location (incidents
# of the same type join within 1000 m), and in the county it names: the
# grid points are placed with `geoalert locate`; only the six probe stations
# that share a point differ in hazard type, so they never join each other.
# Prints p50 / p99 / max of both latencies, then one JSON line. Not a timed
# test: exits non-zero only when something is lost or broken (a probe
# without its draft or receipt, a draft from the background, background
# load that stopped early), never because a target is missed.
#
# Environment (all optional):
#   GA_BENCH_PROBES       probes                              (200)
#   GA_BENCH_RATE         background reports/s                (100)
#   GA_BENCH_BG_STATIONS  background stations                 (100)
#   GA_BENCH_INTERVAL_US  API poll interval                   (1000)
#   GA_BENCH_GAP_MS       pause between probes                (100)
#   GA_BENCH_BUILD        build directory                     (build/release)
#   GA_BENCH_KEEP=1       keep the temp dir (logs, database)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROBES=${GA_BENCH_PROBES:-200}
RATE=${GA_BENCH_RATE:-100}
NBG=${GA_BENCH_BG_STATIONS:-100}
INTERVAL_US=${GA_BENCH_INTERVAL_US:-1000}
GAP_MS=${GA_BENCH_GAP_MS:-100}
BUILD=${GA_BENCH_BUILD:-$ROOT/build/release}
TIMEOUT=600 # seconds, for any one step
WARMUP=3    # seconds of background load before the first probe
BENCH_LOGS=('*.json' '*.err' ga/geoalert.log broker/mosquitto.log)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/tests/bench/lib.sh"

bench_posint "$PROBES" "$RATE" "$NBG" "$INTERVAL_US" "$GAP_MS"
((PROBES <= 2000)) || { echo "draft.sh: at most 2000 probes" >&2; exit 2; }

bench_build -DGA_TESTS=ON geoalert ga_loadgen ga_draftbench
GEOALERT=$BUILD/geoalert
LOADGEN=$BUILD/tests/ga_loadgen
PROBE=$BUILD/tests/ga_draftbench

bench_workdir ga-draftbench

# --- the registries -------------------------------------------------------------
# A grid of points in their counties (bench_grid_points, 14 a row from
# 31.850° N): the first NBG points get one background station each (hazard
# types in turn), the next ones six probe stations each, one per hazard
# type.
log "placing $NBG background and $PROBES probe stations (geoalert locate)"
bench_grid_points $((NBG + (PROBES + 5) / 6)) 14 80 31.850 >"$WORK/points.txt" ||
	fail "cannot place the stations"
/usr/bin/python3 - "$NBG" "$PROBES" "$WORK" <<'EOF' || fail "cannot make the registries"
import json, sys
nbg, nprobes, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
types = ["landslide", "collapse", "debris_flow", "ground_collapse", "ground_fissure",
         "land_subsidence"]
with open("%s/points.txt" % work) as f:
    points = [(float(lon), float(lat), code) for lon, lat, code in (l.split() for l in f)]

def feature(sid, name, hp, ht, code, lon, lat, people):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"station_id": sid, "name": name, "hazard_point_id": hp,
                           "hazard_type": ht, "admin_code": code, "threatened_people": people,
                           "threatened_property_cny": 500000 if people < 100 else 30000000}}

bg, probes = [], []
for i, (lon, lat, code) in enumerate(points[:nbg]):
    bg.append(feature("DBG-%04d" % i, "background %d" % i, "%s8%05d" % (code, i),
                      types[i % len(types)], code, lon, lat, 20))
for j, (lon, lat, code) in enumerate(points[nbg:]):
    for t, ht in enumerate(types):
        n = j * len(types) + t
        if n >= nprobes:
            break
        probes.append(feature("DPR-%04d" % n, "probe %d" % n, "%s9%05d" % (code, n), ht, code,
                              lon, lat, 620))

def dump(name, feats):
    with open("%s/%s" % (work, name), "w") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f, ensure_ascii=False)

dump("background.geojson", bg)
dump("probes.geojson", probes)
dump("stations.geojson", bg + probes)
print("%d points, %d counties" % (len(points), len({p[2] for p in points})), file=sys.stderr)
EOF

# --- the broker ------------------------------------------------------------------
bench_broker
HTTP_PORT=$(free_port)

# --- geoalert ----------------------------------------------------------------------
bench_config "draftbench-$$" "$WORK/stations.geojson" <<EOF
[alerts]
publish_min_level = large
EOF
bench_check_config
bench_officer bench-duty

bench_serve

# --- background load, then the probes -----------------------------------------------
log "background: $RATE small reports/s from $NBG stations; ${WARMUP} s warm-up"
timeout "$TIMEOUT" "$LOADGEN" --port "$MQTT_PORT" --count $((RATE * TIMEOUT)) --window 100 \
	--rate "$RATE" --stations "$WORK/background.geojson" --run-id "draftbench-bg-$$" \
	--timeout "$TIMEOUT" >"$WORK/background.out" 2>"$WORK/background.err" &
LGPID=$!
PIDS+=("$LGPID")
sleep "$WARMUP"
kill -0 "$LGPID" 2>/dev/null || fail "the background load stopped"

log "probe: $PROBES new large incidents, API polled every $INTERVAL_US us"
c0=$(cpu_ticks "$GAPID")
T0=$(now_ms)
timeout "$TIMEOUT" "$PROBE" --port "$MQTT_PORT" --http-port "$HTTP_PORT" --token "$TOKEN" \
	--probes "$WORK/probes.geojson" --count "$PROBES" --interval-us "$INTERVAL_US" \
	--gap-ms "$GAP_MS" --run-id "draftbench-$$" --timeout 10 \
	>"$WORK/probe.json" 2>"$WORK/probe.err" || fail "a probe failed"
T1=$(now_ms)
CPU=$(cpu_since "$GAPID" "$c0")
kill -0 "$LGPID" 2>/dev/null || fail "the background load stopped before the probes ended"
kill "$LGPID"
wait "$LGPID" 2>/dev/null || true

# --- a clean stop, then what the database says ----------------------------------------
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$GAPID/status")
bench_stop
DB=$WORK/ga/geoalert.db
BG_IN=$(sqlite3 "$DB" "SELECT count(*) FROM reports WHERE station_id LIKE 'DBG-%' AND received_ms BETWEEN $T0 AND $T1")
BG_ALL=$(sqlite3 "$DB" "SELECT count(*) FROM reports WHERE station_id LIKE 'DBG-%'")
DRAFTS=$(sqlite3 "$DB" "SELECT count(DISTINCT alert_id) FROM alert_drafts")
REJECTED=$(sqlite3 "$DB" "SELECT count(*) FROM alert_drafts WHERE state = 'rejected'")
[[ $DRAFTS == "$PROBES" && $REJECTED == "$PROBES" ]] ||
	fail "$DRAFTS drafts ($REJECTED rejected) for $PROBES probes: the background made drafts?"
BG_RATE=$(calc "$BG_IN * 1000 / ($T1 - $T0)")
holds "$BG_RATE >= 0.9 * $RATE" || fail "background ran at $BG_RATE reports/s, wanted $RATE"

jset "$WORK/probe.json" \
	D50='d["draft_ms"]["p50"]' D99='d["draft_ms"]["p99"]' \
	DMAX='d["draft_ms"]["max"]' DMIN='d["draft_ms"]["min"]' \
	L50='d["draft_lo_ms"]["p50"]' L99='d["draft_lo_ms"]["p99"]' \
	R50='d["receipt_ms"]["p50"]' R99='d["receipt_ms"]["p99"]' RMAX='d["receipt_ms"]["max"]' \
	RES50='d["resolution_ms"]["p50"]' RESMAX='d["resolution_ms"]["max"]' \
	POLL50='d["poll_ms"]["p50"]' POLL99='d["poll_ms"]["p99"]' POLLS='d["polls"]' \
	BEFORE='d["draft_before_receipt"]'
ELAPSED=$(calc "($T1 - $T0) / 1000")

printf '\n'
printf 'draft benchmark: %d probes, background %d reports/s (achieved %.1f/s over %.1f s, %d stored in all), %s cores\n' \
	"$PROBES" "$RATE" "$BG_RATE" "$ELAPSED" "$BG_ALL" "$(nproc)"
printf '  report -> draft listed by the API  p50 %.2f ms, p99 %.2f ms, max %.2f ms (min %.2f)  target p99 <= 50 ms: %s\n' \
	"$D50" "$D99" "$DMAX" "$DMIN" "$(yesno "$D99 <= 50")"
printf '    (lower bound: start of the last poll not listing it: p50 %.2f ms, p99 %.2f ms)\n' "$L50" "$L99"
printf '  report -> receipt                  p50 %.2f ms, p99 %.2f ms, max %.2f ms\n' "$R50" "$R99" "$RMAX"
printf '  draft listed no later than the receipt arrived: %d of %d\n' "$BEFORE" "$PROBES"
printf '  resolution (last miss start to hit end): p50 %.2f ms, max %.2f ms; poll every %d us, %d polls, poll p50 %.2f ms p99 %.2f ms\n' \
	"$RES50" "$RESMAX" "$INTERVAL_US" "$POLLS" "$POLL50" "$POLL99"
printf '  geoalert CPU during the probes %.2f s (%.0f %% of one core); peak RSS %.1f MiB\n' \
	"$CPU" "$(calc "$CPU * 100 / $ELAPSED")" "$(calc "$HWM_KB / 1024")"
printf '  %d drafts, all rejected by the probe; geoalert stopped cleanly on SIGTERM\n' "$DRAFTS"
printf '{"probes":%d,"bg_rate":%d,"bg_achieved":%.1f,"interval_us":%d,"draft_p50_ms":%.3f,"draft_p99_ms":%.3f,"draft_max_ms":%.3f,' \
	"$PROBES" "$RATE" "$BG_RATE" "$INTERVAL_US" "$D50" "$D99" "$DMAX"
printf '"draft_lo_p50_ms":%.3f,"draft_lo_p99_ms":%.3f,"receipt_p50_ms":%.3f,"receipt_p99_ms":%.3f,"receipt_max_ms":%.3f,"resolution_p50_ms":%.3f,"resolution_max_ms":%.3f,' \
	"$L50" "$L99" "$R50" "$R99" "$RMAX" "$RES50" "$RESMAX"
printf '"poll_p50_ms":%.3f,"poll_p99_ms":%.3f,"polls":%d,"draft_before_receipt":%d,"cpu_s":%.2f,"peak_rss_kib":%d}\n' \
	"$POLL50" "$POLL99" "$POLLS" "$BEFORE" "$CPU" "$HWM_KB"
