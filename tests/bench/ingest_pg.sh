#!/usr/bin/env bash
# tests/bench/ingest_pg.sh - ingest on PostgreSQL with one and two instances
# against SQLite with one (issue 12; docs/benchmarks.md, "PostgreSQL and
# several instances").
#
# One run starts a throw-away PostgreSQL 15 of its own (tests/pg.sh, but
# durable: fsync, synchronous_commit and full_page_writes on, as SQLite's
# synchronous=FULL), then for ROUNDS rounds runs each MODE in turn
# (interleaved, so that a change in the machine's load falls on every mode
# alike):
#   sqlite    one geoalert, [store] path (a fresh file)
#   pg1       one geoalert, [store] url (a fresh database), [cluster] instance
#   pg2       two geoalerts on one fresh database: the same share_group,
#             client_id made unique by the instance (bench-a, bench-b)
#   pg1-NAME  as pg1 with another geoalert binary, for each NAME=BINARY of
#             GA_BENCH_ALT (the A/B of the savepoints: a build with
#             -DGA_BENCH_NO_SAVEPOINT=ON runs every write without one, with
#             -DGA_BENCH_ALL_SAVEPOINTS=ON every write under one)
# Each run gets a mosquitto of its own (a stopped geoalert's persistent
# sessions would keep taking a share of the reports) and does:
#   warm-up   GA_BENCH_WARM reports, not measured (connections, prepared
#             statements, caches);
#   (b)       N reports, W in flight, ga_loadgen waits for every receipt:
#             receipts/s (ga_loadgen's own clock, first publish to last
#             receipt) and CPU us per report of each geoalert process
#             (utime + stime / N), of the PostgreSQL server (postmaster and
#             its children) and of the broker;
#   (c)       RATE reports/s for SECONDS s: p50 / p99 / max receipt latency;
# then stops each geoalert with SIGTERM (exit 0 required) and checks that
# every report is stored once.
# Prints a line per run, then a table of the medians per mode with the
# ratios against sqlite, each ratio the median of the rounds' own ratios
# (pg1 against the sqlite run of the same round), the load average before
# and after, and one JSON line per run. Not a timed test: it exits non-zero
# only when something is lost or broken.
#
# Environment (all optional):
#   GA_BENCH_N        reports in (b)                  (10000)
#   GA_BENCH_WARM     warm-up reports                 (1000)
#   GA_BENCH_WINDOW   in-flight publishes             (1000)
#   GA_BENCH_RATE     reports/s in (c)                (1000)
#   GA_BENCH_SECONDS  duration of (c)                 (10)
#   GA_BENCH_STATIONS stations in the bench registry  (200)
#   GA_BENCH_ROUNDS   rounds                          (3)
#   GA_BENCH_MODES    modes of a round                ("sqlite pg1 pg2", and
#                     pg1-NAME for each NAME of GA_BENCH_ALT)
#   GA_BENCH_BUILD    build directory                 (build/rel; configured
#                     RelWithDebInfo when it is not there yet)
#   GA_BENCH_ALT      "NAME=BINARY ...": other geoalert binaries, run as pg1
#   GA_BENCH_PERF=F   record `perf record -g -a` (system-wide) during the
#                     (b) of the first run of GA_BENCH_PERF_MODE (pg1) into
#                     F; the geoalert pids are logged (perf report --pid)
#   GA_BENCH_PG_STATS=1  load pg_stat_statements: each PostgreSQL run's
#                     statements (calls, rows, time; top 25 by total time)
#                     go to WORK/runK-MODE/statements.txt, and calls per
#                     report to the run's line
#   GA_BENCH_KEEP=1   keep the temp dir (logs)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${GA_BENCH_N:-10000}
WARM=${GA_BENCH_WARM:-1000}
WINDOW=${GA_BENCH_WINDOW:-1000}
RATE=${GA_BENCH_RATE:-1000}
SECONDS_C=${GA_BENCH_SECONDS:-10}
NSTATIONS=${GA_BENCH_STATIONS:-200}
ROUNDS=${GA_BENCH_ROUNDS:-3}
BUILD=${GA_BENCH_BUILD:-$ROOT/build/rel}
declare -A ALT=()
read -r -a alts <<<"${GA_BENCH_ALT:-}"
for a in "${alts[@]}"; do
	[[ $a == *=* && -x ${a#*=} ]] || { echo "ingest_pg.sh: GA_BENCH_ALT: not NAME=BINARY: $a" >&2; exit 2; }
	ALT[${a%%=*}]=${a#*=}
done
if [[ -n ${GA_BENCH_MODES:-} ]]; then
	read -r -a MODES <<<"$GA_BENCH_MODES"
else
	MODES=(sqlite pg1 pg2)
	for a in "${alts[@]}"; do MODES+=("pg1-${a%%=*}"); done
fi
TIMEOUT=300 # seconds, for any one step
BENCH_LOGS=('*.json' 'run*/ga-*/geoalert.log' 'run*/broker/mosquitto.log')
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/tests/bench/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../pg.sh
source "$ROOT/tests/pg.sh"

bench_posint "$N" "$WARM" "$WINDOW" "$RATE" "$SECONDS_C" "$NSTATIONS" "$ROUNDS"
for m in "${MODES[@]}"; do
	case $m in
	sqlite | pg1 | pg2) ;;
	pg1-*) [[ -n ${ALT[${m#pg1-}]:-} ]] || { echo "$ME: $m needs GA_BENCH_ALT=${m#pg1-}=BINARY" >&2; exit 2; } ;;
	*) echo "$ME: unknown mode $m" >&2; exit 2 ;;
	esac
done

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGA_TESTS=ON >/dev/null
fi
cmake --build "$BUILD" -j2 --target geoalert ga_loadgen >/dev/null
GEOALERT=$BUILD/geoalert
LOADGEN=$BUILD/tests/ga_loadgen

bench_workdir ga-bench-pg
# pg_stop (the cluster) before bench_cleanup (the processes, the folder).
trap 'pg_stop; bench_cleanup' EXIT

REGISTRY=$WORK/stations.geojson
bench_registry "$NSTATIONS" >"$REGISTRY"
mkdir -p "$WORK/keys"

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -At "$PG_ADMIN" -c "$1"; }

# A durable server, as SQLite's synchronous=FULL: the settings are
# PostgreSQL's defaults (fsync, synchronous_commit, full_page_writes on;
# shared_buffers 128MB).
PG_SET="-c shared_buffers=128MB -c synchronous_commit=on -c fsync=on"
[[ ${GA_BENCH_PG_STATS:-0} == 1 ]] && PG_SET+=" -c shared_preload_libraries=pg_stat_statements"
GA_PG_SETTINGS=$PG_SET pg_start >&2 || fail "PostgreSQL did not start"
PG_ADMIN=$GA_TEST_PG_URL
[[ ${GA_BENCH_PG_STATS:-0} == 1 ]] && psql_admin "CREATE EXTENSION pg_stat_statements"
PG_POSTMASTER=$(head -n 1 "$PG_DIR/data/postmaster.pid")

# CPU ticks of the PostgreSQL server: the postmaster and its children (the
# backends of geoalert's connections, the WAL writer, the checkpointer...).
pg_ticks() {
	local p files=("/proc/$PG_POSTMASTER/stat")
	for p in $(ps -o pid= --ppid "$PG_POSTMASTER"); do
		files+=("/proc/$p/stat")
	done
	# A child may exit between ps and cat (an autovacuum worker): its
	# file is skipped, not an error (pipefail would end the script).
	{ cat "${files[@]}" 2>/dev/null || true; } | awk '{ t += $14 + $15 } END { print t + 0 }'
}

db_url() {
	local u=${PG_ADMIN%/*}
	echo "$u/$1"
}

# serve DIR BINARY: geoalert serve in DIR on its config; waits for /healthz
# on the port in DIR/port; sets SPID.
serve() {
	local dir=$1 bin=$2 port i
	port=$(cat "$dir/port")
	(cd "$dir" && exec "$bin" serve -c geoalert.ini) >"$dir/geoalert.log" 2>&1 &
	SPID=$!
	PIDS+=("$SPID")
	for ((i = 0; i < 400; i++)); do
		[[ $(http_status /healthz "$port") == 200 ]] && return 0
		kill -0 "$SPID" 2>/dev/null || fail "geoalert in $dir exited"
		sleep 0.05
	done
	fail "geoalert in $dir not healthy in 20 s"
}

# config DIR STORE_LINES: DIR/geoalert.ini for the run's broker.
config() {
	local dir=$1 port
	mkdir -p "$dir"
	port=$(free_port)
	echo "$port" >"$dir/port"
	{
		printf '[mqtt]\nurl = mqtt://127.0.0.1:%s\nclient_id = bench\n' "$MQTT_PORT"
		printf '[store]\n%s\n' "$2"
		printf '[http]\nlisten = 127.0.0.1:%s\npublic_base_url = http://127.0.0.1:%s\n' "$port" "$port"
		printf '[stations]\nfile = %s\n[geo]\nservice_area = 32\n' "$REGISTRY"
		printf '[alerts]\nsigning_key_file = %s\ncap_signing_key_file = %s\n' \
			"$WORK/keys/signing-key.pem" "$WORK/keys/cap-key.pem"
		(($# < 3)) || printf '%s\n' "$3"
	} >"$dir/geoalert.ini"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# run MODE ROUND: one run; appends a JSON line to $WORK/runs.jsonl.
run() {
	local mode=$1 k=$2 rd dbname url bin=$GEOALERT gpids=() dirs=() i
	local -a c0
	local bc0 pc0 load0 load1 stored want cpus=() cpu_sum=0 pg_s broker_s perfpid=
	rd=$WORK/run$k-$mode
	mkdir -p "$rd"
	# the broker's files in this run's folder (WORK for the call only)
	WORK=$rd bench_broker
	[[ $mode != pg1-* ]] || bin=${ALT[${mode#pg1-}]}
	case $mode in
	sqlite)
		config "$rd/ga-a" "path = $rd/ga-a/geoalert.db"
		dirs=("$rd/ga-a")
		;;
	pg1 | pg1-* | pg2)
		dbname="bench_r${k}_${mode//-/_}"
		psql_admin "CREATE DATABASE $dbname"
		url=$(db_url "$dbname")
		config "$rd/ga-a" "url = $url" $'[cluster]\ninstance = bench-a\ntakeover_after = 30'
		dirs=("$rd/ga-a")
		if [[ $mode == pg2 ]]; then
			config "$rd/ga-b" "url = $url" $'[cluster]\ninstance = bench-b\ntakeover_after = 30'
			dirs+=("$rd/ga-b")
		fi
		;;
	esac
	# One after the other: the first makes the schema (and, in the first
	# run, the signing keys the others read).
	for i in "${!dirs[@]}"; do
		serve "${dirs[$i]}" "$bin"
		gpids+=("$SPID")
	done
	load0=$(loadavg)
	timeout "$TIMEOUT" "$LOADGEN" --port "$MQTT_PORT" --count "$WARM" --window "$WINDOW" \
		--stations "$REGISTRY" --receipts --run-id "w$k-$mode" --timeout "$TIMEOUT" >"$rd/warm.json" ||
		fail "$mode round $k: warm-up: not every receipt"
	if [[ -n ${GA_BENCH_PERF:-} && $mode == "${GA_BENCH_PERF_MODE:-pg1}" && $k == 1 ]]; then
		perf record -q -F 999 -g -a -o "$GA_BENCH_PERF" 2>"$rd/perf.log" &
		perfpid=$!
		PIDS+=("$perfpid")
		sleep 1
	fi
	c0=()
	for i in "${!gpids[@]}"; do c0+=("$(cpu_ticks "${gpids[$i]}")"); done
	bc0=$(cpu_ticks "$BROKERPID")
	pc0=$(pg_ticks)
	[[ ${GA_BENCH_PG_STATS:-0} != 1 ]] || psql_admin "SELECT pg_stat_statements_reset()" >/dev/null
	timeout "$TIMEOUT" "$LOADGEN" --port "$MQTT_PORT" --count "$N" --window "$WINDOW" \
		--stations "$REGISTRY" --receipts --run-id "b$k-$mode" --timeout "$TIMEOUT" >"$rd/b.json" ||
		fail "$mode round $k: (b) not every receipt"
	for i in "${!gpids[@]}"; do
		cpus+=("$(cpu_since "${gpids[$i]}" "${c0[$i]}")")
		cpu_sum=$(calc "$cpu_sum + ${cpus[$i]}")
	done
	broker_s=$(cpu_since "$BROKERPID" "$bc0")
	pg_s=$(calc "($(pg_ticks) - $pc0) / $(getconf CLK_TCK)")
	if [[ ${GA_BENCH_PG_STATS:-0} == 1 && $mode != sqlite ]]; then
		psql -X -P pager=off "$PG_ADMIN" -c "SELECT calls, round(calls::numeric / $N, 2) AS per_report,
			rows, round(total_exec_time::numeric, 1) AS ms, left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
			FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25" >"$rd/statements.txt"
		log "$mode round $k: $(psql_admin "SELECT round(sum(calls)::numeric / $N, 1) FROM pg_stat_statements") statements per report (during (b), every connection; $rd/statements.txt)"
	fi
	if [[ -n $perfpid ]]; then
		kill -INT "$perfpid"
		wait "$perfpid" || true
		log "profile of $mode (b) in $GA_BENCH_PERF: perf report -i $GA_BENCH_PERF --no-children --pid $(IFS=,; echo "${gpids[*]}") (geoalert) or --comm postgres"
	fi
	timeout "$TIMEOUT" "$LOADGEN" --port "$MQTT_PORT" --count "$((RATE * SECONDS_C))" --window "$WINDOW" \
		--rate "$RATE" --stations "$REGISTRY" --receipts --run-id "c$k-$mode" --timeout "$TIMEOUT" \
		>"$rd/c.json" || fail "$mode round $k: (c) not every receipt"
	load1=$(loadavg)
	for i in "${!gpids[@]}"; do
		kill -TERM "${gpids[$i]}"
	done
	for i in "${!gpids[@]}"; do
		wait "${gpids[$i]}" || fail "$mode round $k: geoalert ${dirs[$i]} exited $? on SIGTERM"
	done
	kill -TERM "$BROKERPID"
	wait "$BROKERPID" || true
	want=$((WARM + N + RATE * SECONDS_C))
	if [[ $mode == sqlite ]]; then
		stored=$(sqlite3 "$rd/ga-a/geoalert.db" "SELECT count(*), count(DISTINCT station_id || ' ' || report_id) FROM reports")
	else
		stored=$(psql -X -At -F'|' "$url" -c "SELECT count(*), count(DISTINCT (station_id, report_id)) FROM reports")
		psql_admin "DROP DATABASE $dbname"
	fi
	[[ $stored == "$want|$want" ]] || fail "$mode round $k: stored (all|distinct) $stored, expected $want"
	/usr/bin/python3 - "$rd" "$mode" "$k" "$N" "$pg_s" "$broker_s" "$load0" "$load1" "${cpus[@]}" \
		>>"$WORK/runs.jsonl" <<'EOF'
import json, sys
rd, mode, k, n, pg_s, broker_s, load0, load1 = sys.argv[1:9]
cpus = [float(x) for x in sys.argv[9:]]
n = int(n)
b = json.load(open(rd + "/b.json"))
c = json.load(open(rd + "/c.json"))
print(json.dumps({
    "mode": mode, "round": int(k), "n": n, "rate": b["rate"], "elapsed_s": b["elapsed_s"],
    "cpu_us": [round(x * 1e6 / n, 1) for x in cpus],
    "cpu_us_sum": round(sum(cpus) * 1e6 / n, 1),
    "pg_us": round(float(pg_s) * 1e6 / n, 1) if mode != "sqlite" else None,
    "broker_us": round(float(broker_s) * 1e6 / n, 1),
    "c_rate": c["rate"], "p50_ms": c["latency_ms"]["p50"], "p99_ms": c["latency_ms"]["p99"],
    "max_ms": c["latency_ms"]["max"], "load_before": load0, "load_after": load1}))
EOF
	tail -n 1 "$WORK/runs.jsonl" | /usr/bin/python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
print("  round %d %-8s %6.0f receipts/s  CPU us/report %s (sum %.0f), postgres %s, broker %.0f;"
      " p99 %.1f ms at %.0f/s; load %s -> %s" % (d["round"], d["mode"], d["rate"],
      "+".join("%.0f" % x for x in d["cpu_us"]), d["cpu_us_sum"],
      "-" if d["pg_us"] is None else "%.0f" % d["pg_us"], d["broker_us"], d["p99_ms"],
      d["c_rate"], d["load_before"], d["load_after"]))' >&2
}

log "N=$N (after $WARM warm-up), window $WINDOW, $RATE/s for $SECONDS_C s; $ROUNDS rounds of: ${MODES[*]}"
log "PostgreSQL $(psql -X -At "$PG_ADMIN" -c 'SHOW server_version'), fsync $(psql -X -At "$PG_ADMIN" -c 'SHOW fsync'), synchronous_commit $(psql -X -At "$PG_ADMIN" -c 'SHOW synchronous_commit'); $(nproc) cores; load $(loadavg)"
for ((k = 1; k <= ROUNDS; k++)); do
	for m in "${MODES[@]}"; do
		run "$m" "$k"
	done
done

/usr/bin/python3 - "$WORK/runs.jsonl" "$N" "$RATE" "$(nproc)" <<'EOF'
import json, statistics as st, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
n, rate, ncpu = sys.argv[2], sys.argv[3], sys.argv[4]
modes = []
for r in runs:
    if r["mode"] not in modes:
        modes.append(r["mode"])
by = {m: [r for r in runs if r["mode"] == m] for m in modes}
base = {r["round"]: r for r in by.get("sqlite", [])}
names = {"sqlite": "SQLite, 1 instance", "pg1": "PostgreSQL, 1 instance",
         "pg2": "PostgreSQL, 2 instances"}
names.update({m: "PostgreSQL, 1 instance, " + m[4:] for m in modes if m.startswith("pg1-")})
med = lambda xs: st.median(xs) if xs else float("nan")
print()
print("ingest on PostgreSQL (issue 12): N=%s, %d rounds, %s cores; medians over the rounds;"
      " ratios: median of each round's run / that round's SQLite run" % (n, max(r["round"] for r in runs), ncpu))
print("| mode | receipts/s | x SQLite | CPU us/report, each geoalert | postgres us/report | p99 ms at %s/s | x SQLite |" % rate)
print("|---|---:|---:|---:|---:|---:|---:|")
for m in modes:
    rs = by[m]
    ratio = [r["rate"] / base[r["round"]]["rate"] for r in rs if r["round"] in base]
    pratio = [r["p99_ms"] / base[r["round"]]["p99_ms"] for r in rs if r["round"] in base]
    cpu = " + ".join("%.0f" % med([r["cpu_us"][i] for r in rs]) for i in range(len(rs[0]["cpu_us"])))
    pgus = med([r["pg_us"] for r in rs if r["pg_us"] is not None])
    print("| %s | %.0f | %.2f | %s | %s | %.1f | %.2f |" % (
        names[m], med([r["rate"] for r in rs]), med(ratio), cpu,
        "-" if pgus != pgus else "%.0f" % pgus, med([r["p99_ms"] for r in rs]), med(pratio)))
print()
print("load average (1, 5, 15 min) before (b) of each run: " +
      "; ".join("%s r%d %s" % (r["mode"], r["round"], r["load_before"]) for r in runs))
if "pg1" in by and "sqlite" in by:
    r1 = med([r["rate"] / base[r["round"]]["rate"] for r in by["pg1"] if r["round"] in base])
    print("target PostgreSQL x1 >= 0.7 x SQLite: %.2f %s" % (r1, "met" if r1 >= 0.7 else "MISSED"))
if "pg1" in by and "pg2" in by:
    one = {r["round"]: r for r in by["pg1"]}
    r2 = med([r["rate"] / one[r["round"]]["rate"] for r in by["pg2"] if r["round"] in one])
    print("target two instances not slower than one: pg2 / pg1 = %.2f %s" % (r2, "met" if r2 >= 1.0 else "MISSED"))
for m in modes:
    if not m.startswith("pg1-") or "pg1" not in by:
        continue
    one = {r["round"]: r for r in by["pg1"]}
    r3 = med([r["rate"] / one[r["round"]]["rate"] for r in by[m] if r["round"] in one])
    print("%s / pg1: rate %.2f; CPU us/report %.0f / %.0f (geoalert), %.0f / %.0f (postgres)" % (
        m, r3, med([r["cpu_us_sum"] for r in by[m]]), med([r["cpu_us_sum"] for r in by["pg1"]]),
        med([r["pg_us"] for r in by[m]]), med([r["pg_us"] for r in by["pg1"]])))
for r in runs:
    print(json.dumps(r))
EOF
