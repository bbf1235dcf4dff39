# shellcheck shell=bash
# tests/bench/lib.sh - what the shell benchmarks share; sourced (bash),
# never run, after the script sets ROOT and BUILD and, for fail(),
# BENCH_LOGS: globs under $WORK whose files' tails explain a failure.
# Messages start with ME, the script's name.
#
#   bench_posint VALUE...     exit 2 unless each is a positive integer
#   bench_build [-DOPT]... TARGET...  configure $BUILD (Release) and build
#   bench_workdir PREFIX      WORK=a new temp dir, PIDS=(); on exit the
#                             PIDS are stopped and WORK removed (kept
#                             with GA_BENCH_KEEP=1)
#   bench_broker [LINE]...    a mosquitto of its own on MQTT_PORT
#                             (BROKERPID), LINEs added to its config
#   bench_config ID STATIONS [MQTT_LINE]  $WORK/ga/geoalert.ini: the
#                             broker, $WORK/ga/geoalert.db, the API on
#                             HTTP_PORT, [geo] service_area = 32; stdin:
#                             what follows
#   bench_serve [WRAP]        geoalert serve in $WORK/ga (GAPID), then
#                             waits for /healthz on HTTP_PORT
#   bench_stop                SIGTERM to geoalert; fail unless it exits 0
#   bench_check_config        fail unless `geoalert check-config` accepts
#                             $WORK/ga/geoalert.ini with no station outside
#                             its county
#   bench_officer NAME        TOKEN=the API token of a new duty officer
#   bench_registry N          prints a registry of N stations on a grid in
#                             浦口区 (320111), BENCH-0000...
#   bench_grid_points NEED COLS ROWS LAT0  prints the first NEED points of
#                             a grid that lie in a county of Jiangsu, one
#                             "lon lat admin_code" a line

ME=$(basename "$0")

log() { printf '== %s\n' "$*" >&2; }

# Reports a failure with the logs that explain it, keeps the temp dir, exits 1.
fail() {
	local f p
	echo "$ME: $*" >&2
	for p in "${BENCH_LOGS[@]}"; do
		for f in "$WORK"/$p; do
			[[ -s $f ]] && { echo "--- $f (tail)" >&2; tail -n 15 "$f" >&2; }
		done
	done
	GA_BENCH_KEEP=1
	exit 1
}

bench_posint() {
	local v
	for v in "$@"; do
		[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "$ME: not a positive integer: $v" >&2; exit 2; }
	done
}

bench_build() {
	local opts=() targets=() a
	for a in "$@"; do
		if [[ $a == -D* ]]; then opts+=("$a"); else targets+=("$a"); fi
	done
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "${opts[@]}" >/dev/null
	cmake --build "$BUILD" -j2 --target "${targets[@]}" >/dev/null
}

bench_cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${GA_BENCH_KEEP:-0} == 1 ]]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}

bench_workdir() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	PIDS=()
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 seconds for a TCP port on loopback to accept.
wait_port() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "$ME: port $1 did not open" >&2
	return 1
}

# HTTP status of GET $1 on loopback port $2, or 000.
http_status() {
	local line
	{
		exec 3<>"/dev/tcp/127.0.0.1/$2" &&
			printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3 &&
			IFS=' ' read -r -t 2 _ line _ <&3 && echo "$line"
	} 2>/dev/null || echo 000
}

now() { date +%s.%N; }
now_ms() { date +%s%3N; }

# CPU time (user + system, in clock ticks) process $1 has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Seconds of CPU process $1 has used since cpu_ticks said $2.
cpu_since() { calc "($(cpu_ticks "$1") - $2) / $(getconf CLK_TCK)"; }

# Arithmetic on decimals: calc EXPR prints it; holds EXPR exits 0 when true.
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
holds() { awk "BEGIN { exit !($1) }"; }
yesno() { if holds "$1"; then echo met; else echo MISSED; fi; }

# JSON field of a one-line object: jget FILE EXPR (EXPR in Python, on `d`).
jget() {
	/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# Many fields at once: jset FILE NAME=EXPR... sets each NAME to what jget
# FILE EXPR prints (a one-line value); returns 1, setting none, when the
# file or an EXPR fails.
jset() {
	local file=$1 out a i=0
	local -a vals
	shift
	out=$(/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for a in sys.argv[2:]:
    print(eval(a.split("=", 1)[1]))' "$file" "$@") || return 1
	mapfile -t vals <<<"$out"
	for a in "$@"; do
		printf -v "${a%%=*}" '%s' "${vals[i++]}"
	done
}

# No persistence; never drop a queued QoS 1 message (the setting the
# integration tests use); per-message latency is measured: no Nagle delay
# in the broker either.
# shellcheck disable=SC2120 # LINEs are optional
bench_broker() {
	MQTT_PORT=$(free_port)
	mkdir -p "$WORK/broker"
	{
		printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT"
		printf 'max_queued_messages 0\nmax_queued_bytes 0\nset_tcp_nodelay true\n'
		(($# == 0)) || printf '%s\n' "$@"
	} >"$WORK/broker/mosquitto.conf"
	mosquitto -c "$WORK/broker/mosquitto.conf" >"$WORK/broker/mosquitto.log" 2>&1 &
	BROKERPID=$!
	PIDS+=("$BROKERPID")
	wait_port "$MQTT_PORT" 10
}

bench_config() {
	mkdir -p "$WORK/ga"
	{
		printf '[mqtt]\nurl = mqtt://127.0.0.1:%s\nclient_id = %s\n' "$MQTT_PORT" "$1"
		(($# < 3)) || printf '%s\n' "$3"
		printf '[store]\npath = %s\n' "$WORK/ga/geoalert.db"
		printf '[http]\nlisten = 127.0.0.1:%s\npublic_base_url = http://127.0.0.1:%s\n' \
			"$HTTP_PORT" "$HTTP_PORT"
		printf '[stations]\nfile = %s\n[geo]\nservice_area = 32\n' "$2"
		cat
	} >"$WORK/ga/geoalert.ini"
}

# Under a WRAP (e.g. valgrind) geoalert gets 60 s to be healthy, else 10 s.
# shellcheck disable=SC2120 # WRAP is optional
bench_serve() {
	local wrap=${1:-} i
	# shellcheck disable=SC2086 # wrap is a command line
	(cd "$WORK/ga" && exec $wrap "$GEOALERT" serve -c geoalert.ini) >"$WORK/ga/geoalert.log" 2>&1 &
	GAPID=$!
	PIDS+=("$GAPID")
	for ((i = 0; i < ${wrap:+1}200; i++)); do
		[[ $(http_status /healthz "$HTTP_PORT") == 200 ]] && break
		kill -0 "$GAPID" 2>/dev/null || fail "geoalert exited"
		sleep 0.05
	done
	[[ $(http_status /healthz "$HTTP_PORT") == 200 ]] || fail "geoalert not healthy"
}

bench_stop() {
	local rc=0
	kill -TERM "$GAPID"
	wait "$GAPID" || rc=$?
	[[ $rc == 0 ]] || fail "geoalert exited $rc on SIGTERM"
}

# check-config's output goes to $WORK/check.err, and to stderr when it
# fails or finds a station outside its county.
bench_check_config() {
	if ! "$GEOALERT" check-config -c "$WORK/ga/geoalert.ini" >"$WORK/check.err" 2>&1 ||
		grep -qi 'lies in\|known region' "$WORK/check.err"; then
		cat "$WORK/check.err" >&2
		fail "the bench registry or config is not right"
	fi
}

# shellcheck disable=SC2034 # TOKEN is the script's
bench_officer() {
	TOKEN=$(timeout 120 "$GEOALERT" officer add "$1" --role duty_officer \
		-c "$WORK/ga/geoalert.ini" 2>"$WORK/officer.err") || fail "officer add failed"
}

# A grid over Nanjing from (118.600, LAT0): COLS points a row, 0.012° of
# longitude apart (1.13 km at 32° N), rows 0.010° of latitude apart
# (1.11 km), at most ROWS rows: any two points are more than 1000 m apart.
# Each point is placed with `geoalert locate`; the first NEED that lie in
# a county of Jiangsu (32xxxx) are printed in grid order.
bench_grid_points() {
	/usr/bin/python3 - "$GEOALERT" "$@" <<'EOF'
import json, subprocess, sys
geoalert, need, cols, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lat0 = float(sys.argv[5])
points = []
for k in range(cols * rows):  # bounded
    if len(points) >= need:
        break
    lon = round(118.600 + (k % cols) * 0.012, 4)
    lat = round(lat0 + (k // cols) * 0.010, 4)
    out = subprocess.run([geoalert, "locate", "--crs", "EPSG:4490", str(lon), str(lat)],
                         capture_output=True, timeout=30)
    if out.returncode != 0:
        continue
    code = json.loads(out.stdout).get("admin_code")
    if code and code.startswith("32"):
        points.append((lon, lat, code))
if len(points) < need:
    sys.exit("only %d of %d grid points lie in a county" % (len(points), need))
for p in points:
    print("%r %r %s" % p)
EOF
}

# 浦口区 (320111): 118.60–118.66 E, 32.04–32.08 N lies inside it (the
# scripts check each point with `geoalert check-config`, which warns about
# any station outside its county). 20 stations a row.
bench_registry() {
	awk -v n="$1" 'BEGIN {
		split("landslide collapse debris_flow ground_collapse ground_fissure land_subsidence", ht, " ");
		cols = 20; rows = int((n + cols - 1) / cols);
		printf "{\"type\": \"FeatureCollection\", \"features\": [\n";
		for (i = 0; i < n; i++) {
			c = i % cols; r = int(i / cols);
			lon = 118.602 + c * (0.056 / (cols - 1));
			lat = 32.042 + (rows > 1 ? r * (0.036 / (rows - 1)) : 0);
			printf "%s{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", \"coordinates\": [%.5f, %.5f]},", (i ? ",\n" : ""), lon, lat;
			printf " \"properties\": {\"station_id\": \"BENCH-%04d\", \"name\": \"bench %d\", \"hazard_point_id\": \"3201119%05d\",", i, i, i;
			printf " \"hazard_type\": \"%s\", \"admin_code\": \"320111\", \"threatened_people\": 20, \"threatened_property_cny\": 500000}}", ht[i % 6 + 1];
		}
		printf "\n]}\n";
	}'
}
