#!/usr/bin/env bash
# deploy/add-station.sh - gives a station (or geoalert, or the public) a
# user on the broker configured by deploy/mosquitto/.
#
#   add-station.sh [--password-file FILE] [--rotate] STATION_ID
#   add-station.sh [--password-file FILE] [--rotate] --account geoalert|public
#
# The user name is the station id, which the ACL's patterns turn into the
# right to publish to geohazard/v1/reports/{id} and read
# geohazard/v1/receipts/{id}, and nothing else: no per-station ACL lines
# are needed (the script checks the ACL file has the patterns). --account
# makes geoalert's own user or the public one, whose rights are the ACL's
# `user geoalert` and `user public` sections.
#
# The password is the first line of --password-file, or else generated
# (24 random bytes, base64) and printed once on stdout, the only thing
# printed there: give it to the station and forget it. It reaches
# mosquitto_passwd on its standard input, never on a command line where
# ps would show it. An existing user is refused unless --rotate (a new
# password; the old one stops working at the reload).
#
# If the broker runs (pid file), it is sent SIGHUP to re-read the password
# and ACL files; connected clients whose password no longer matches are
# disconnected.
#
# Environment: GA_MOSQ_DIR (/etc/mosquitto/geoalert: passwd and acl),
# GA_MOSQ_PIDFILE (/run/mosquitto/mosquitto.pid).
# Exit 0 on success, 1 on failure, 2 on a usage error.
set -euo pipefail

DIR=${GA_MOSQ_DIR:-/etc/mosquitto/geoalert}
PASSWD=$DIR/passwd
ACL=$DIR/acl
PIDFILE=${GA_MOSQ_PIDFILE:-/run/mosquitto/mosquitto.pid}
# Station ids are 1-64 of A-Z a-z 0-9 . _ : - (spec §2); the broker's
# password file cannot hold a ':' in a user name, and a pattern ACL needs a
# user name without / + #.
ID_RE='^[A-Za-z0-9._-]{1,64}$'
PASSWORD_MAX=256

say() { printf 'add-station: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}
usage() {
	cat >&2 <<EOF
usage: add-station.sh [--password-file FILE] [--rotate] STATION_ID
       add-station.sh [--password-file FILE] [--rotate] --account geoalert|public
EOF
	exit 2
}

pwfile='' rotate=0 account='' id=''
while (($# > 0)); do
	case $1 in
	--password-file)
		(($# >= 2)) || usage
		pwfile=$2
		shift 2
		;;
	--rotate)
		rotate=1
		shift
		;;
	--account)
		(($# >= 2)) || usage
		account=$2
		shift 2
		;;
	-*) usage ;;
	*)
		[[ -z $id ]] || usage
		id=$1
		shift
		;;
	esac
done

if [[ -n $account ]]; then
	[[ -z $id ]] || usage
	case $account in
	geoalert | public) id=$account ;;
	*) usage ;;
	esac
else
	[[ -n $id ]] || usage
	[[ $id =~ $ID_RE ]] ||
		die "station id '$id': 1-64 of A-Z a-z 0-9 . _ - (no ':' in a broker user name)"
	case $id in
	geoalert | public) die "'$id' is an account name, not a station id (see --account)" ;;
	esac
fi

command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd not found (Debian: mosquitto)"
[[ -d $DIR ]] || die "$DIR: no such directory (GA_MOSQ_DIR)"
if [[ -z $account ]]; then
	# The patterns that give a station its rights; without them the new
	# user could connect and do nothing (or, with a wider rule, too much).
	[[ -r $ACL ]] || die "$ACL: not readable"
	for rule in 'write[[:space:]]+geohazard/v1/reports/%u' 'read[[:space:]]+geohazard/v1/receipts/%u'; do
		grep -Eq "^[[:space:]]*pattern[[:space:]]+${rule}[[:space:]]*\$" "$ACL" ||
			die "$ACL lacks the station patterns (see deploy/mosquitto/acl)"
	done
fi

exists=0
if [[ -f $PASSWD ]] && grep -q "^${id//./\\.}:" "$PASSWD"; then
	exists=1
fi
if ((exists && !rotate)); then
	die "user '$id' exists in $PASSWD (--rotate gives it a new password)"
fi

if [[ -n $pwfile ]]; then
	[[ -r $pwfile ]] || die "$pwfile: not readable"
	IFS= read -r password <"$pwfile" || [[ -n ${password:-} ]] || die "$pwfile: empty"
	generated=0
else
	password=$(head -c 24 /dev/urandom | base64)
	generated=1
fi
[[ -n $password ]] || die "empty password"
((${#password} <= PASSWORD_MAX)) || die "password longer than $PASSWORD_MAX characters"

umask 027
create=()
[[ -f $PASSWD ]] || create=(-c)
# mosquitto_passwd asks twice on its standard input; its prompts go to
# stderr here so stdout carries the generated password only.
errlog=$(mktemp)
trap 'rm -f "$errlog"' EXIT
if ! printf '%s\n%s\n' "$password" "$password" |
	mosquitto_passwd "${create[@]}" "$PASSWD" "$id" >/dev/null 2>"$errlog"; then
	grep -v -e '^Password:' -e '^Reenter password:' "$errlog" >&2 || true
	die "mosquitto_passwd failed"
fi
# The broker reads the file as its own user after dropping root.
if [[ $(id -u) == 0 ]] && id mosquitto >/dev/null 2>&1; then
	chown mosquitto:mosquitto "$PASSWD"
fi
chmod 640 "$PASSWD"

if ((exists)); then
	say "user '$id': new password in $PASSWD"
else
	say "user '$id' added to $PASSWD"
fi
((generated)) && printf '%s\n' "$password"

# Reload the broker if it runs (and the pid is really a mosquitto).
if [[ -r $PIDFILE ]]; then
	pid=$(head -n 1 "$PIDFILE")
	if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == mosquitto ]]; then
		kill -HUP "$pid" && say "mosquitto ($pid) reloaded"
	else
		say "$PIDFILE: no mosquitto running; the new user counts from its next start"
	fi
else
	say "mosquitto not running (no $PIDFILE); the new user counts from its next start"
fi
exit 0
