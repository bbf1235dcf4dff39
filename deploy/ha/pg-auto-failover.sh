#!/usr/bin/env bash
# deploy/ha/pg-auto-failover.sh - sets up geoalert's database on three Debian 12
# hosts with pg_auto_failover (docs/high-availability.md, spec §10):
#
#   mon.geo.internal  the monitor (decides who is primary; holds no geoalert data)
#   db1.geo.internal  PostgreSQL node, primary at set-up
#   db2.geo.internal  PostgreSQL node, synchronous standby at set-up
#
# Run as root, one role per host, in this order:
#   mon:  deploy/ha/pg-auto-failover.sh monitor
#   db1:  deploy/ha/pg-auto-failover.sh node db1     (becomes primary)
#   db1:  deploy/ha/pg-auto-failover.sh app-role     (geoalert's role; once)
#   db2:  deploy/ha/pg-auto-failover.sh node db2     (becomes synchronous standby)
#   mon:  deploy/ha/pg-auto-failover.sh check
#
# Secrets are read from files you create first (first line, mode 0600,
# owner root), never passed on a command line:
#   all hosts:  /etc/geoalert-db/autoctl-node-password   monitor access (autoctl_node)
#   db1, db2:   /etc/geoalert-db/replication-password     pgautofailover_replicator
#   db1:        /etc/geoalert-db/geoalert-password        geoalert's role (the same
#               text goes in /etc/geoalert/db-password on node-a and node-b)
#
# What it was tested with: the same pg_autoctl commands, on one machine and
# 127.0.0.1 ports, --auth trust and --no-ssl, in
# tests/integration/pgcluster.py (AutoFailover); this three-host version with
# passwords and TLS has not been run here. Read each step before running it.
#
# Synchronous replication: with one standby and --replication-quorum true,
# pg_auto_failover sets synchronous_standby_names = 'ANY 1 (...)' on the
# primary: a COMMIT returns once the standby has flushed its WAL (checked by
# tests/integration/test_pgcluster.py). If the standby is lost, the primary
# goes to wait_primary and turns synchronous replication OFF so that writes
# go on (pg_auto_failover prefers availability there); until a standby is
# back, a second failure loses what was written meanwhile. Watch for it:
# `pg_autoctl show state` on the monitor says wait_primary.
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
PGDATA=/var/lib/postgresql/15/pgaf
PORT=5432
DOMAIN=geo.internal
MONITOR_HOST=mon.$DOMAIN
SECRETS=/etc/geoalert-db
# The geoalert nodes that connect to the database (pg_hba.conf on db1 and db2).
APP_NETS=("10.0.1.21/32" "10.0.1.22/32")
MONITOR_URL="postgres://autoctl_node@$MONITOR_HOST:$PORT/pg_auto_failover?sslmode=require"

as_pg() { runuser -u postgres -- env PGDATA="$PGDATA" PATH="$PGBIN:/usr/bin:/bin" "$@"; }

secret() { # prints the first line of $SECRETS/$1, refusing a file others may read
	local f=$SECRETS/$1
	[[ -r $f ]] || { echo "missing $f" >&2; exit 1; }
	[[ $(stat -c %a "$f") == 600 ]] || { echo "$f: mode must be 0600" >&2; exit 1; }
	head -n1 "$f"
}

common() {
	apt-get install -y postgresql-15 postgresql-15-auto-failover pg-auto-failover-cli
	# Debian's own cluster "main" would hold port 5432; pg_autoctl runs ours.
	if pg_lsclusters -h | grep -q '^15 *main'; then
		pg_dropcluster --stop 15 main
	fi
	install -d -o postgres -g postgres -m 700 "$(dirname "$PGDATA")"
	# libpq reads the monitor password from ~postgres/.pgpass (keepers and
	# pg_autoctl commands), and the replication password for pg_basebackup.
	local pgpass=/var/lib/postgresql/.pgpass
	{
		echo "$MONITOR_HOST:$PORT:pg_auto_failover:autoctl_node:$(secret autoctl-node-password)"
		if [[ -r $SECRETS/replication-password ]]; then
			echo "*:$PORT:replication:pgautofailover_replicator:$(secret replication-password)"
		fi
	} >"$pgpass"
	chown postgres:postgres "$pgpass"
	chmod 600 "$pgpass"
}

systemd_unit() {
	# The unit pg_autoctl itself prints for this PGDATA (deploy/ha/pgautofailover.service
	# is an example of it): Restart=always, runs `pg_autoctl run` as postgres.
	as_pg pg_autoctl -q show systemd --pgdata "$PGDATA" >/etc/systemd/system/pgautofailover.service
	systemctl daemon-reload
	systemctl enable --now pgautofailover
}

wait_state() { # waits (bounded) until node $1 is single, primary or secondary
	local ok='(single|primary|secondary)'
	for _ in $(seq 1 120); do
		if as_pg pg_autoctl show state --pgdata "$PGDATA" 2>/dev/null |
			grep -Eq "^ *$1 +\|.*\| +$ok +\| +$ok *\$"; then
			return 0
		fi
		sleep 2
	done
	echo "$1 not single, primary or secondary after 240 s: pg_autoctl show state" >&2
	exit 1
}

case ${1:-} in
monitor)
	common
	as_pg pg_autoctl create monitor --pgctl "$PGBIN/pg_ctl" --pgdata "$PGDATA" \
		--pgport "$PORT" --hostname "$MONITOR_HOST" --auth scram-sha-256 --ssl-self-signed
	systemd_unit
	sleep 5
	pw=$(secret autoctl-node-password)
	as_pg psql -X -v ON_ERROR_STOP=1 -p "$PORT" -d pg_auto_failover -v pw="$pw" \
		<<<"ALTER USER autoctl_node PASSWORD :'pw';"
	# Failure detection and promotion: pg_auto_failover's defaults (a
	# failover in about a minute, docs/high-availability.md). To lower them,
	# as tests/integration/pgcluster.py does, keep primary_demote_timeout
	# above the keepers' timeout.network_partition_timeout (20 s): a primary
	# cut off from the monitor stops taking writes after that timeout, and
	# only then may the standby be promoted:
	#   ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 20000;
	#   ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 30000;
	#   SELECT pg_reload_conf();
	;;
node)
	name=${2:?usage: $0 node NAME (db1 or db2)}
	common
	[[ -r $SECRETS/replication-password ]] || { echo "missing $SECRETS/replication-password" >&2; exit 1; }
	# The first node registered becomes the primary (state single, then
	# primary when the second joins); the second is cloned from it with
	# pg_basebackup and becomes a synchronous standby (replication-quorum).
	as_pg pg_autoctl create postgres --pgctl "$PGBIN/pg_ctl" --pgdata "$PGDATA" \
		--pgport "$PORT" --hostname "$name.$DOMAIN" --name "$name" --dbname geoalert \
		--monitor "$MONITOR_URL" --auth scram-sha-256 --ssl-self-signed \
		--replication-quorum true --candidate-priority 50
	as_pg pg_autoctl config set --pgdata "$PGDATA" replication.password "$(secret replication-password)"
	# geoalert's own connections, from the two geoalert nodes only. Edited on
	# each node: pg_hba.conf is not replicated after the standby's first copy.
	for net in "${APP_NETS[@]}"; do
		line="hostssl geoalert geoalert $net scram-sha-256"
		grep -qxF "$line" "$PGDATA/pg_hba.conf" || echo "$line" >>"$PGDATA/pg_hba.conf"
	done
	systemd_unit
	wait_state "$name"
	;;
app-role)
	# On the primary, once, after `node db1`: the password of the replication
	# user and geoalert's role reach the standby by replication.
	rpw=$(secret replication-password)
	gpw=$(secret geoalert-password)
	as_pg psql -X -v ON_ERROR_STOP=1 -p "$PORT" -d geoalert -v rpw="$rpw" -v gpw="$gpw" <<-'SQL'
		ALTER USER pgautofailover_replicator PASSWORD :'rpw';
		CREATE ROLE geoalert LOGIN PASSWORD :'gpw';
		ALTER DATABASE geoalert OWNER TO geoalert;
		ALTER SCHEMA public OWNER TO geoalert;
	SQL
	;;
check)
	# Expect one primary and one secondary, and on the primary
	# synchronous_standby_names = 'ANY 1 (pgautofailover_standby_N)'.
	as_pg pg_autoctl show state --pgdata "$PGDATA"
	as_pg pg_autoctl show settings --pgdata "$PGDATA"
	;;
*)
	sed -n '2,21p' "$0"
	exit 2
	;;
esac
