#!/usr/bin/env bash
# tests/pg.sh - a throw-away PostgreSQL 15 cluster for the tests (spec §10).
#
#   tests/pg.sh COMMAND [ARG...]   starts a cluster, runs COMMAND with
#                                  GA_TEST_PG_URL exported, stops the cluster
#                                  and deletes it; exits with COMMAND's status.
#                                  e.g. tests/pg.sh ctest --test-dir build/asan -R db_pg
#   source tests/pg.sh; pg_start   (tests/run.sh) starts one and exports
#                                  GA_TEST_PG_URL; pg_stop stops and deletes
#                                  it (set a trap: pg_start does not).
#
# The cluster: initdb into a fresh mktemp folder (trust authentication,
# fsync off: test data only), a postgres listening on 127.0.0.1 on a free
# port below the kernel's ephemeral range, its unix socket in the same
# folder, and a database geoalert_test owned by the superuser
# geoalert_test. Nothing assumes a server already runs; the machine's own
# clusters (Debian's "main" on 5432) are neither used nor touched.
# postgres refuses to run as root: run as root (CI), the cluster runs as the
# system user geoalert-test, created with useradd when missing.
#
# Environment: GA_PG_BINDIR (/usr/lib/postgresql/15/bin); GA_PG_SETTINGS,
# the server's settings (`-c NAME=VALUE`...) in place of the test ones
# below (tests/bench/ingest_pg.sh runs a durable server: fsync and
# synchronous_commit on).

PG_BINDIR=${GA_PG_BINDIR:-/usr/lib/postgresql/15/bin}
PG_OS_USER=geoalert-test
PG_ROLE=geoalert_test
PG_DBNAME=geoalert_test
PG_TRIES=5 # ports tried before giving up
# Test data only: nothing need survive a crash.
PG_TEST_SETTINGS='-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB'
PG_DIR=
PG_AS=()

# Runs its arguments as the cluster's owner.
pg_as() { "${PG_AS[@]}" "$@"; }

pg_start() {
	local low port try t0 t1
	t0=$(date +%s%N)
	[[ -x $PG_BINDIR/initdb ]] || {
		echo "pg.sh: no $PG_BINDIR/initdb (Debian package postgresql-15)" >&2
		return 1
	}
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/geoalert-pg.XXXXXX") || return 1
	PG_AS=()
	if [[ $(id -u) == 0 ]]; then
		if ! id "$PG_OS_USER" >/dev/null 2>&1; then
			useradd --system --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin "$PG_OS_USER" || return 1
		fi
		chown "$PG_OS_USER": "$PG_DIR" || return 1
		PG_AS=(runuser -u "$PG_OS_USER" --)
	fi
	chmod 700 "$PG_DIR"
	if ! pg_as "$PG_BINDIR/initdb" -D "$PG_DIR/data" -U "$PG_ROLE" --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1; then
		cat "$PG_DIR/initdb.log" >&2
		echo "pg.sh: initdb failed" >&2
		return 1
	fi
	low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	((low > 12000)) || low=12000
	for ((try = 0; try < PG_TRIES; try++)); do
		port=$((10000 + RANDOM % (low - 10000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		if pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR ${GA_PG_SETTINGS:-$PG_TEST_SETTINGS} -c max_connections=60" \
			start >/dev/null; then
			break
		fi
		port=
	done
	if [[ -z $port ]]; then
		tail -n 20 "$PG_DIR/server.log" >&2 2>/dev/null
		echo "pg.sh: postgres did not start (tried $PG_TRIES ports)" >&2
		return 1
	fi
	if ! pg_as "$PG_BINDIR/createdb" -h "$PG_DIR" -p "$port" -U "$PG_ROLE" "$PG_DBNAME"; then
		echo "pg.sh: createdb failed" >&2
		return 1
	fi
	export GA_TEST_PG_URL="postgresql://$PG_ROLE@127.0.0.1:$port/$PG_DBNAME"
	t1=$(date +%s%N)
	echo "pg.sh: cluster in $PG_DIR, $GA_TEST_PG_URL (up in $(((t1 - t0) / 1000000)) ms)" >&2
}

pg_stop() {
	[[ -n $PG_DIR && -d $PG_DIR ]] || return 0
	if [[ -f $PG_DIR/data/postmaster.pid ]]; then
		pg_as "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 60 stop >/dev/null 2>&1 ||
			echo "pg.sh: pg_ctl stop failed (see $PG_DIR/server.log)" >&2
	fi
	rm -rf "$PG_DIR"
	PG_DIR=
	unset GA_TEST_PG_URL
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -uo pipefail
	(($# > 0)) || {
		echo "usage: tests/pg.sh COMMAND [ARG...]" >&2
		exit 2
	}
	trap pg_stop EXIT
	trap 'exit 130' INT TERM
	pg_start || exit 1
	"$@"
	exit $?
fi
