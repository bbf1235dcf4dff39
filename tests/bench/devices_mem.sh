#!/usr/bin/env bash
# tests/bench/devices_mem.sh - memory a monitoring-device channel costs,
# by device kind (issue 13: <= 1 KiB a channel; docs/benchmarks.md,
# "Monitoring device fleet"). The (c0)/(c1) phases of devices.sh alone,
# once per kind: geoalert's VmRSS 2 s after start with the stations and
# no [devices] (c0), then with a registry of SLOW + FAST devices all of
# one kind (tests/bench/devices_registry.py KIND) loaded, before any
# frame (c1); per channel = (c1 - c0) / devices. No frame is sent: the
# windows are allocated whole at start (devices.sh's (c2) - (c1), every
# window holding points, is ~40 B a channel: SQLite's cache and MQTT
# buffers). Prints one line per kind and one JSON line.
#
# Environment (all optional):
#   GA_BENCH_SLOW / GA_BENCH_FAST  devices (100000 / 2000; one kind all)
#   GA_BENCH_KINDS    the kinds measured         ("mixed crack gnss rain")
#   GA_BENCH_BUILD    build directory            (build/rel)
#   GA_BENCH_KEEP=1   keep the temp dir
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SLOW=${GA_BENCH_SLOW:-100000}
FAST=${GA_BENCH_FAST:-2000}
KINDS=${GA_BENCH_KINDS:-mixed crack gnss rain}
BUILD=${GA_BENCH_BUILD:-$ROOT/build/rel}
BENCH_LOGS=(ga/geoalert.log broker/mosquitto.log)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/tests/bench/lib.sh"

bench_posint "$SLOW" "$FAST"
[[ -f $BUILD/CMakeCache.txt ]] ||
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGA_TESTS=ON >/dev/null
cmake --build "$BUILD" -j2 --target geoalert >/dev/null
GEOALERT=$BUILD/geoalert

bench_workdir ga-bench-devmem
NDEV=$((SLOW + FAST))
log "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
bench_broker
HTTP_PORT=$(free_port)

rss_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
write_config() { # [DEVICES_FILE]
	bench_config "bench-devmem-$$" "$WORK/stations.geojson" <<EOC
${1:+[devices]
file = $1}
EOC
}

/usr/bin/python3 "$ROOT/tests/bench/devices_registry.py" "$WORK/stations.geojson" \
	"$WORK/devices-mixed.json" "$SLOW" "$FAST" mixed
write_config
bench_check_config
log "(c0) geoalert without [devices]"
bench_serve
sleep 2
RSS_C0=$(rss_kib "$GAPID" VmRSS)
bench_stop

json="{\"devices\":$NDEV,\"rss_c0_kib\":$RSS_C0"
printf '(c0) no devices: %s KiB\n' "$RSS_C0"
for kind in $KINDS; do
	/usr/bin/python3 "$ROOT/tests/bench/devices_registry.py" "$WORK/stations.geojson" \
		"$WORK/devices-$kind.json" "$SLOW" "$FAST" "$kind"
	write_config "$WORK/devices-$kind.json"
	"$GEOALERT" check-config -c "$WORK/ga/geoalert.ini" >"$WORK/check.err" 2>&1 ||
		{ cat "$WORK/check.err" >&2; fail "check-config refused the $kind fleet"; }
	log "(c1) geoalert with $NDEV devices, $kind"
	bench_serve
	sleep 2
	rss=$(rss_kib "$GAPID" VmRSS)
	bench_stop
	per=$(calc "($rss - $RSS_C0) * 1024 / $NDEV")
	printf '(c1) %-5s %s devices loaded: %s KiB, %.0f B a channel\n' "$kind" "$NDEV" "$rss" "$per"
	json+=",\"rss_c1_${kind}_kib\":$rss,\"per_channel_${kind}\":$(printf '%.1f' "$per")"
done
printf '%s,"load_end":"%s"}\n' "$json" "$(cut -d' ' -f1-3 /proc/loadavg)"
