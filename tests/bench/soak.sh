#!/usr/bin/env bash
# tests/bench/soak.sh - the soak of issue 15 ("At scale"; docs/benchmarks.md,
# "Under abuse"): reports at a steady rate for many minutes while readers
# work, the WAL's size and the receipts' latency watched throughout.
#
# One mosquitto of its own, geoalert (synchronous=FULL, fresh database or
# one filled with old reports, see GA_SOAK_OLD) and, for GA_SOAK_MINUTES:
#   - ga_loadgen publishing GA_SOAK_RATE reports/s with QoS 1 and waiting
#     for every receipt, one run per minute: the receipt latency of each
#     minute (p50 / p99 / max);
#   - a scraper reading /metrics and /healthz every second;
#   - with GA_SOAK_READER_MS > 0, a reader on a connection of its own
#     (like an operator's sqlite3 or a report tool): read transactions
#     of that many ms, back to back, from two connections taking turns,
#     so that some snapshot is always held;
#   - the size of the -wal file every 5 s.
# Prints a table per minute and one JSON line. Not a timed test: it exits
# non-zero only when a report goes unanswered or something breaks.
#
# Environment (all optional):
#   GA_SOAK_MINUTES    minutes of load                       (10)
#   GA_SOAK_RATE       reports/s                             (1000)
#   GA_SOAK_READER_MS  length of the reader's transactions   (0: no reader)
#   GA_SOAK_OLD        reports received 100 days ago to fill the database
#                      with first (retention then deletes them during the
#                      soak; keep_reports_days = 90)              (0)
#   GA_SOAK_STATIONS   stations                              (200)
#   GA_BENCH_BUILD     build directory                       (build/release)
#   GA_BENCH_GEOALERT  another geoalert binary (A/B)
#   GA_BENCH_KEEP=1    keep the temp dir
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MINUTES=${GA_SOAK_MINUTES:-10}
RATE=${GA_SOAK_RATE:-1000}
READER_MS=${GA_SOAK_READER_MS:-0}
OLD=${GA_SOAK_OLD:-0}
NSTATIONS=${GA_SOAK_STATIONS:-200}
BUILD=${GA_BENCH_BUILD:-$ROOT/build/release}
TIMEOUT=300
BENCH_LOGS=('*.json' ga/geoalert.log broker/mosquitto.log reader.log)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/tests/bench/lib.sh"

bench_posint "$MINUTES" "$RATE" "$NSTATIONS"
[[ $READER_MS =~ ^[0-9]+$ && $OLD =~ ^[0-9]+$ ]] || { echo "$ME: bad GA_SOAK_READER_MS/GA_SOAK_OLD" >&2; exit 2; }
bench_build -DGA_TESTS=ON geoalert ga_loadgen
GEOALERT=${GA_BENCH_GEOALERT:-$BUILD/geoalert}
LOADGEN=$BUILD/tests/ga_loadgen

bench_workdir ga-soak
REGISTRY=$WORK/stations.geojson
awk -v n="$NSTATIONS" 'BEGIN {
	split("landslide collapse debris_flow ground_collapse ground_fissure land_subsidence", ht, " ");
	cols = 20; rows = int((n + cols - 1) / cols);
	printf "{\"type\": \"FeatureCollection\", \"features\": [\n";
	for (i = 0; i < n; i++) {
		c = i % cols; r = int(i / cols);
		lon = 118.602 + c * (0.056 / (cols - 1));
		lat = 32.042 + (rows > 1 ? r * (0.036 / (rows - 1)) : 0);
		printf "%s{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": [%.5f, %.5f]},", (i ? ",\n" : ""), lon, lat;
		printf " \"properties\": {\"station_id\": \"SOAK-%04d\", \"name\": \"soak %d\", \"hazard_point_id\": \"3201119%05d\",", i, i, i;
		printf " \"hazard_type\": \"%s\", \"admin_code\": \"320111\", \"threatened_people\": 20, \"threatened_property_cny\": 500000}}", ht[i % 6 + 1];
	}
	printf "\n]}\n";
}' >"$REGISTRY"

bench_broker
HTTP_PORT=$(free_port)
bench_config "soak-$$" "$REGISTRY" </dev/null
DB=$WORK/ga/geoalert.db
if ((OLD > 0)); then
	bench_officer duty1 # makes the schema
	log "filling the database with $OLD reports received 100 days ago"
	/usr/bin/python3 "$ROOT/tests/tools/ga_fill.py" "$DB" --reports "$OLD" --rejected $((OLD / 10)) \
		--days 1 --age-days 100 >"$WORK/fill.json" || fail "ga_fill.py failed"
fi
bench_serve

# --- watchers: WAL size, scraper, reader ----------------------------------------
(
	t0=$(now_ms)
	while :; do
		printf '%d %d\n' $((($(now_ms) - t0) / 1000)) "$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)"
		sleep 5
	done
) >"$WORK/wal.txt" &
PIDS+=($!)
/usr/bin/python3 - "$HTTP_PORT" >"$WORK/scrape.txt" 2>&1 <<'EOF' &
import http.client, sys, time
port = int(sys.argv[1])
while True:  # stopped by the script
    for path in ("/metrics", "/healthz"):
        t = time.perf_counter()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", path)
            c.getresponse().read()
            c.close()
            print("%s %.2f" % (path, (time.perf_counter() - t) * 1000), flush=True)
        except OSError as e:
            print("%s error %s" % (path, e), flush=True)
    time.sleep(1)
EOF
PIDS+=($!)
if ((READER_MS > 0)); then
	/usr/bin/python3 - "$DB" "$READER_MS" >"$WORK/reader.log" 2>&1 <<'EOF' &
import sqlite3, sys, threading, time
path, hold = sys.argv[1], int(sys.argv[2]) / 1000.0
def reader(offset):
    time.sleep(offset)
    db = sqlite3.connect(path, isolation_level=None, timeout=10)
    while True:  # stopped by the script
        db.execute("BEGIN")
        db.execute("SELECT count(*) FROM incidents").fetchone()  # takes the snapshot
        time.sleep(hold)
        db.execute("COMMIT")
for k in range(2):
    threading.Thread(target=reader, args=(k * hold / 2,), daemon=True).start()
while True:
    time.sleep(60)
EOF
	PIDS+=($!)
fi

# --- the load, a minute at a time ---------------------------------------------
N=$((RATE * 60))
for ((m = 1; m <= MINUTES; m++)); do
	timeout "$TIMEOUT" "$LOADGEN" --port "$MQTT_PORT" --count "$N" --window 1000 --rate "$RATE" \
		--stations "$REGISTRY" --receipts --run-id "soak-$m-$$" --timeout "$TIMEOUT" \
		>"$WORK/m$m.json" || fail "minute $m: not every report was answered"
	jset "$WORK/m$m.json" P50='d["latency_ms"]["p50"]' P99='d["latency_ms"]["p99"]' \
		PMAX='d["latency_ms"]["max"]' ACH='d["rate"]'
	WAL=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
	log "minute $m: $ACH reports/s, receipt p50 $P50 ms, p99 $P99 ms, max $PMAX ms; WAL $((WAL / 1024)) KiB"
done
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$GAPID/status")
bench_stop
DB_MB=$(du -m "$DB" | cut -f1)
STORED=$(sqlite3 "$DB" "SELECT count(*) FROM reports")
LEFT_OLD=$(sqlite3 "$DB" "SELECT count(*) FROM reports WHERE report_id LIKE 'fill-%'")

/usr/bin/python3 - "$WORK" "$MINUTES" "$RATE" "$READER_MS" "$OLD" "$DB_MB" "$STORED" "$LEFT_OLD" "$HWM_KB" <<'EOF'
import json, os, sys
work, minutes = sys.argv[1], int(sys.argv[2])
rate, reader_ms, old, db_mb, stored, left_old, hwm = (int(x) for x in sys.argv[3:])
per_min = []
for m in range(1, minutes + 1):
    d = json.load(open(os.path.join(work, "m%d.json" % m)))
    per_min.append({"minute": m, "rate": round(d["rate"]), "p50": d["latency_ms"]["p50"],
                    "p99": d["latency_ms"]["p99"], "max": d["latency_ms"]["max"]})
wal = [tuple(int(x) for x in l.split()) for l in open(os.path.join(work, "wal.txt"))]
scr = {}
for l in open(os.path.join(work, "scrape.txt")):
    p = l.split()
    if len(p) == 2:
        scr.setdefault(p[0], []).append(float(p[1]))
def pct(v, q):
    v = sorted(v)
    return round(v[min(len(v) - 1, int(len(v) * q))], 2) if v else None
print("\nminute  rate/s  p50 ms  p99 ms  max ms  WAL KiB at the minute's end")
for r in per_min:
    t = r["minute"] * 60
    w = ([b for s, b in wal if s <= t + 5] or [0])[-1]  # the sample at the minute's end
    print("%6d  %6d  %6.2f  %6.2f  %6.2f  %d" % (r["minute"], r["rate"], r["p50"], r["p99"],
                                              r["max"], w // 1024))
print("WAL max %d KiB over the run (sampled every 5 s)" % (max(b for _, b in wal) // 1024))
for p, v in scr.items():
    print("%s: %d scrapes, p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (p, len(v), pct(v, .5),
                                                                     pct(v, .99), max(v)))
print(json.dumps({"minutes": minutes, "rate": rate, "reader_ms": reader_ms, "old": old,
                  "per_minute": per_min, "wal_max_kib": max(b for _, b in wal) // 1024,
                  "wal_kib": [[s, b // 1024] for s, b in wal], "db_mb": db_mb,
                  "reports_stored": stored, "old_left": left_old, "peak_rss_kib": hwm,
                  "scrape_ms": {p: {"p50": pct(v, .5), "p99": pct(v, .99), "max": max(v)}
                                for p, v in scr.items()}}))
EOF
