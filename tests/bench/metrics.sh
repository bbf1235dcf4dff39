#!/usr/bin/env bash
# tests/bench/metrics.sh - the cost of a /metrics scrape on a large database
# (issue 15, "At scale"; docs/benchmarks.md, "Under abuse").
#
# Makes a database with geoalert's schema (`geoalert officer add`), fills it
# with tests/tools/ga_fill.py (GA_BENCH_REPORTS reports received over the
# last day, a tenth as many rejections, idle incidents, published alerts
# with their deliveries), starts geoalert on it and times GA_BENCH_SCRAPES
# scrapes of /metrics (and as many of /healthz), one after the other, from
# a client on loopback: p50 / p99 / max in ms. Prints one JSON line.
# Not a timed test: it exits non-zero only when something is broken.
#
# Environment (all optional):
#   GA_BENCH_REPORTS  reports stored                        (1000000)
#   GA_BENCH_SCRAPES  scrapes timed                         (200)
#   GA_BENCH_BUILD    build directory                       (build/release)
#   GA_BENCH_GEOALERT another geoalert binary (e.g. main's, for a before
#                     figure: the schema is the one it makes)
#   GA_BENCH_KEEP=1   keep the temp dir
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NREPORTS=${GA_BENCH_REPORTS:-1000000}
NSCRAPES=${GA_BENCH_SCRAPES:-200}
BUILD=${GA_BENCH_BUILD:-$ROOT/build/release}
BENCH_LOGS=(ga/geoalert.log officer.err)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/tests/bench/lib.sh"

bench_posint "$NREPORTS" "$NSCRAPES"
if [[ -z ${GA_BENCH_GEOALERT:-} ]]; then
	bench_build geoalert
fi
GEOALERT=${GA_BENCH_GEOALERT:-$BUILD/geoalert}

bench_workdir ga-metrics
REGISTRY=$WORK/stations.geojson
cat >"$REGISTRY" <<'EOF'
{"type": "FeatureCollection", "features": [
{"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.62, 32.05]},
 "properties": {"station_id": "BENCH-0000", "name": "bench", "hazard_point_id": "320111900000",
  "hazard_type": "landslide", "admin_code": "320111", "threatened_people": 20,
  "threatened_property_cny": 500000}}]}
EOF
bench_broker
HTTP_PORT=$(free_port)
bench_config "metrics-$$" "$REGISTRY" </dev/null
bench_officer duty1 # makes the schema

log "filling $WORK/ga/geoalert.db with $NREPORTS reports"
/usr/bin/python3 "$ROOT/tests/tools/ga_fill.py" "$WORK/ga/geoalert.db" --reports "$NREPORTS" \
	--rejected $((NREPORTS / 10)) >"$WORK/fill.json" || fail "ga_fill.py failed"
log "$(cat "$WORK/fill.json"), $(du -m "$WORK/ga/geoalert.db" | cut -f1) MB"

bench_serve
log "timing $NSCRAPES scrapes of /metrics and /healthz"
/usr/bin/python3 - "$HTTP_PORT" "$NSCRAPES" "$WORK/fill.json" "$(du -m "$WORK/ga/geoalert.db" | cut -f1)" <<'EOF' >"$WORK/result.json" || fail "scrapes failed"
import http.client, json, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
fill = json.load(open(sys.argv[3]))
out = {"db_mb": int(sys.argv[4]), "fill": fill}
for path in ("/metrics", "/healthz"):
    ms = []
    for _ in range(n):  # bounded
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        t = time.perf_counter()
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        ms.append((time.perf_counter() - t) * 1000)
        c.close()
        if path == "/metrics" and r.status != 200:
            sys.exit("%s: %d" % (path, r.status))
    if path == "/metrics":
        line = [l for l in body.decode().splitlines()
                if l.startswith("geoalert_reports_old_observed ")]
        out["old_observed_gauge"] = float(line[0].split()[1]) if line else None
    ms.sort()
    out[path] = {"p50": round(ms[len(ms) // 2], 2), "p99": round(ms[int(len(ms) * 0.99) - 1], 2),
                 "max": round(ms[-1], 2), "n": n}
print(json.dumps(out))
EOF
bench_stop
cat "$WORK/result.json"
