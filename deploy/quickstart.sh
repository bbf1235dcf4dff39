#!/usr/bin/env bash
# deploy/quickstart.sh - try geoalert on one machine (Debian 12):
#   installs the Debian packages it needs if missing, builds build/release,
#   starts a local mosquitto on loopback (port 1883, or the first free one
#   above) with persistence in var/quickstart/, starts
#   `geoalert serve -c deploy/geoalert.example.ini`, waits for /healthz and
#   prints how to send a report and watch the receipts. Ctrl-C stops both.
# Environment: GA_MQTT_PORT (first port to try, 1883), GA_HTTP_PORT (8080).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VAR=var/quickstart
BUILD=build/release
CONFIG=deploy/geoalert.example.ini

PACKAGES=(
	build-essential cmake pkg-config
	libmosquitto-dev mosquitto mosquitto-clients libjansson-dev libcurl4-openssl-dev
	libproj-dev proj-data libsqlite3-dev sqlite3 libmicrohttpd-dev libinih-dev
	libxml2-dev libsodium-dev libxmlsec1-dev libpq-dev
)

say() { printf 'quickstart: %s\n' "$*"; }

install_missing() {
	local missing=() p sudo=()
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	((${#missing[@]} == 0)) && return 0
	say "installing ${missing[*]}"
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null || {
			echo "quickstart: not root and no sudo; install: ${missing[*]}" >&2
			exit 1
		}
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

# True when something accepts connections on loopback port $1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The first free loopback port from $1 up (at most 100 tried).
first_free_port() {
	local p
	for ((p = $1; p < $1 + 100; p++)); do
		port_busy "$p" || { echo "$p"; return 0; }
	done
	echo "quickstart: no free port in $1..$(($1 + 99))" >&2
	return 1
}

# HTTP status of GET $1 on loopback port $2, or 000.
http_status() {
	local code
	{
		exec 3<>"/dev/tcp/127.0.0.1/$2" &&
			printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3 &&
			IFS=' ' read -r -t 2 _ code _ <&3 && echo "$code"
	} 2>/dev/null || echo 000
}

install_missing "${PACKAGES[@]}"

say "building $BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DGA_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target geoalert >/dev/null
GEOALERT=$BUILD/geoalert

mkdir -p "$VAR/mosquitto"
# Run as root, mosquitto drops to the `mosquitto` user: let it write its
# persistence file.
if [[ $(id -u) == 0 ]] && id mosquitto >/dev/null 2>&1; then
	chown mosquitto: "$VAR/mosquitto"
fi

MQTT_PORT=$(first_free_port "${GA_MQTT_PORT:-1883}")
HTTP_PORT=$(first_free_port "${GA_HTTP_PORT:-8080}")
sed -e "s|@PORT@|$MQTT_PORT|" -e "s|@DIR@|$ROOT/$VAR/mosquitto|" \
	deploy/mosquitto-quickstart.conf >"$VAR/mosquitto.conf"
if [[ $MQTT_PORT != 1883 || $HTTP_PORT != 8080 ]]; then
	# The example config with the ports actually free.
	sed -e "s|^url = mqtt://127.0.0.1:1883|url = mqtt://127.0.0.1:$MQTT_PORT|" \
		-e "s|^listen = 127.0.0.1:8080|listen = 127.0.0.1:$HTTP_PORT|" \
		-e "s|^public_base_url = http://127.0.0.1:8080|public_base_url = http://127.0.0.1:$HTTP_PORT|" \
		"$CONFIG" >"$VAR/geoalert.ini"
	CONFIG=$VAR/geoalert.ini
fi
"$GEOALERT" check-config -c "$CONFIG" >/dev/null || {
	"$GEOALERT" check-config -c "$CONFIG"
	exit 1
}

MQ_PID=
GA_PID=
# Stops geoalert first (it commits what is in flight), then the broker
# (it saves its queues); each gets 10 s before SIGKILL.
stop() {
	local pid i
	trap - INT TERM EXIT
	for pid in "$GA_PID" "$MQ_PID"; do
		[[ -n $pid ]] || continue
		kill -TERM "$pid" 2>/dev/null || continue
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	say "stopped"
}
trap 'printf "\n"; stop; exit 0' INT TERM
trap stop EXIT

mosquitto -c "$VAR/mosquitto.conf" >>"$VAR/mosquitto.log" 2>&1 &
MQ_PID=$!
for ((i = 0; i < 100; i++)); do
	port_busy "$MQTT_PORT" && break
	kill -0 "$MQ_PID" 2>/dev/null || break
	sleep 0.1
done
port_busy "$MQTT_PORT" || {
	tail -n 20 "$VAR/mosquitto.log" >&2
	echo "quickstart: mosquitto did not start" >&2
	exit 1
}

"$GEOALERT" serve -c "$CONFIG" >>"$VAR/geoalert.log" 2>&1 &
GA_PID=$!
for ((i = 0; i < 300; i++)); do
	[[ $(http_status /healthz "$HTTP_PORT") == 200 ]] && break
	kill -0 "$GA_PID" 2>/dev/null || break
	sleep 0.1
done
[[ $(http_status /healthz "$HTTP_PORT") == 200 ]] || {
	tail -n 20 "$VAR/geoalert.log" >&2
	echo "quickstart: geoalert did not become healthy" >&2
	exit 1
}

cat <<EOF

geoalert is running (config $CONFIG), with mosquitto on 127.0.0.1:$MQTT_PORT.

  health:   http://127.0.0.1:$HTTP_PORT/healthz   (200 now)
  console:  http://127.0.0.1:$HTTP_PORT/console/  (the duty officers' page)
  logs:     $VAR/geoalert.log, $VAR/mosquitto.log
  database: $VAR/geoalert.db

Watch the receipts, in another terminal:

  mosquitto_sub -p $MQTT_PORT -V mqttv5 -t 'geohazard/v1/receipts/#' -v

Send the sample report from station JS-3201-0007, observed now and with a
fresh report_id (the same report_id again gets a "duplicate" receipt; a time
more than 10 minutes in the future is rejected):

  cd $ROOT
  sed -e "s/\"observed_at\": *\"[^\"]*\"/\"observed_at\": \"\$(date +%Y-%m-%dT%H:%M:%S%:z)\"/" \\
      -e "s/\"report_id\": *\"[^\"]*\"/\"report_id\": \"qs-\$(date +%s)\"/" \\
      tests/data/report-danger-registry.json |
    mosquitto_pub -p $MQTT_PORT -q 1 -V mqttv5 -t geohazard/v1/reports/JS-3201-0007 -s

or as it is (its observed_at is fixed):

  mosquitto_pub -p $MQTT_PORT -q 1 -V mqttv5 -t geohazard/v1/reports/JS-3201-0007 -f tests/data/report-danger-registry.json

Classify a report without the service:  $GEOALERT classify -c $CONFIG tests/data/report-danger-registry.json

Ctrl-C stops geoalert and mosquitto.
EOF

# Until Ctrl-C, or until one of them exits on its own.
set +e
wait -n "$GA_PID" "$MQ_PID"
set -e
say "a process exited; see $VAR/geoalert.log and $VAR/mosquitto.log"
exit 1
