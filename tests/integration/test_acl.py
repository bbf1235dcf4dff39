# ga-test-backends: sqlite pg
"""The production broker set-up of deploy/mosquitto/ (mosquitto.conf and
acl) and deploy/add-station.sh, run on the real mosquitto with TLS (a CA
and server certificate made here with openssl) and the real geoalert
connected over TLS as its own user. Only paths and ports of the
configuration are changed (each change is asserted to apply).

Shown: a station publishes only to its own report topic (PUBACK 0x87 "not
authorized" and nothing delivered otherwise) and reads only its own
receipts; the public reads alerts and cannot publish; geoalert reads every
report through its shared subscription and writes receipts and alerts;
passwords are checked, and a station added while the broker runs counts
at once (SIGHUP)."""
import json
import os
import re
import shutil
import ssl
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

from harness import SRC, Geoalert, Runner, free_port, report, tmpdir, wait_port

DEPLOY = os.path.join(SRC, "deploy")
ADD_STATION = os.path.join(DEPLOY, "add-station.sh")
A = "JS-3201-0007"  # both in geo/stations.example.geojson
B = "JS-3211-0002"
NOT_AUTHORIZED = 0x87
WAIT = 10.0  # seconds, for anything that should happen
# geoalert's share group is a secret of its config (see the ACL file):
# a station that knows it can join the group and take reports away.
GROUP = "ga-" + os.urandom(12).hex()
SHARE = "$share/%s/geohazard/v1/reports/+" % GROUP

runner = Runner()
D = tmpdir("acl")
ETC = os.path.join(D, "conf")
CERTS = os.path.join(D, "certs")
os.makedirs(ETC)
os.makedirs(CERTS)
PIDFILE = os.path.join(D, "mosquitto.pid")
TLS_PORT, LOCAL_PORT, PUBLIC_PORT = free_port(), free_port(), free_port()


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def make_certs():
    ca_key, ca = os.path.join(CERTS, "ca.key"), os.path.join(CERTS, "ca.crt")
    key, csr = os.path.join(CERTS, "server.key"), os.path.join(CERTS, "server.csr")
    crt, ext = os.path.join(CERTS, "server.crt"), os.path.join(CERTS, "server.ext")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=test CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", ext)
    return ca


CA = make_certs()


def broker_conf():
    """deploy/mosquitto/mosquitto.conf with this test's paths and ports."""
    with open(os.path.join(DEPLOY, "mosquitto", "mosquitto.conf")) as f:
        text = f.read()
    subs = [
        (r"(?m)^pid_file .*$", "pid_file %s" % PIDFILE),
        (r"(?m)^persistence_location .*$", "persistence_location %s/" % D),
        (r"(?m)^log_dest file .*$", "log_dest stderr"),
        (r"(?m)^listener 8883$", "listener %d 127.0.0.1" % TLS_PORT),
        (r"(?m)^listener 1883 127\.0\.0\.1$", "listener %d 127.0.0.1" % LOCAL_PORT),
        # the optional public listener, switched on
        (r"(?m)^#listener 8884$", "listener %d 127.0.0.1" % PUBLIC_PORT),
        (r"(?m)^#((?:protocol|certfile|keyfile|tls_version|allow_anonymous|password_file"
         r"|acl_file|max_connections) .*)$", r"\1"),
        (r"/etc/mosquitto/certs/", CERTS + "/"),
        (r"/etc/mosquitto/geoalert/", ETC + "/"),
    ]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text)
        assert n > 0, "mosquitto.conf no longer has %r" % pattern
    live = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert not [ln for ln in live if re.search(r"\s/(etc|var|run)/", ln)], \
        "a production path is left"
    # as root, mosquitto would switch to its own user
    text += "\nuser %s\n" % os.environ.get("USER", "root")
    path = os.path.join(D, "mosquitto.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def add_station(*args, password_file=None):
    cmd = [ADD_STATION] + (["--password-file", password_file] if password_file else []) + list(
        args)
    env = dict(os.environ, GA_MOSQ_DIR=ETC, GA_MOSQ_PIDFILE=PIDFILE)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def new_user(*args):
    res = add_station(*args)
    assert res.returncode == 0, res.stderr
    password = res.stdout.strip()
    assert len(password) >= 24 and "\n" not in password, res.stdout
    return password, res


class Client:
    """An MQTT 5 client that notes PUBACK and SUBACK reason codes and
    every message it gets."""

    def __init__(self, port, user=None, password=None, tls=True, name=None):
        self.messages = []
        self.cond = threading.Condition()
        self.puback = {}  # mid -> reason code
        self.suback = {}  # mid -> [reason codes]
        self.connack = None
        owner = self

        class C(mqtt.Client):
            # paho 1.6 does not hand the PUBACK's reason code to on_publish
            def _handle_pubackcomp(self, cmd):
                mid = int.from_bytes(self._in_packet["packet"][:2], "big")
                rc = self._in_packet["packet"][2] if self._in_packet["remaining_length"] > 2 else 0
                with owner.cond:
                    owner.puback[mid] = rc
                    owner.cond.notify_all()
                return super()._handle_pubackcomp(cmd)

        self.c = C(client_id=name or "t-%d" % free_port(), protocol=mqtt.MQTTv5)
        if user is not None:
            self.c.username_pw_set(user, password)
        if tls:
            self.c.tls_set(ca_certs=CA, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()
        with self.cond:
            self.cond.wait_for(lambda: self.connack is not None, WAIT)
        assert self.connack is not None, "no CONNACK"

    def _on_connect(self, c, u, flags, rc, props=None):
        with self.cond:
            self.connack = rc.value if hasattr(rc, "value") else rc
            self.cond.notify_all()

    def _on_message(self, c, u, msg):
        with self.cond:
            self.messages.append((msg.topic, msg.payload))
            self.cond.notify_all()

    def _on_subscribe(self, c, u, mid, codes, props=None):
        with self.cond:
            self.suback[mid] = [x.value for x in codes]
            self.cond.notify_all()

    def subscribe(self, topic, qos=1):
        rc, mid = self.c.subscribe(topic, qos=qos)
        assert rc == 0
        with self.cond:
            assert self.cond.wait_for(lambda: mid in self.suback, WAIT), "no SUBACK"
            return self.suback[mid][0]

    def publish(self, topic, payload, retain=False):
        """QoS 1; returns the PUBACK's reason code."""
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        with self.cond:
            assert self.cond.wait_for(lambda: info.mid in self.puback, WAIT), "no PUBACK"
            return self.puback[info.mid]

    def wait_for(self, payload):
        with self.cond:
            ok = self.cond.wait_for(lambda: any(p == payload for _, p in self.messages), WAIT)
            assert ok, "%r not received; got %r" % (payload, self.messages)

    def got(self, payload):
        with self.cond:
            return [t for t, p in self.messages if p == payload]

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def publish_once(port, user, password, topic, payload, tls=True):
    """Publishes once (QoS 1) on a connection of its own and returns the
    PUBACK's reason code. mosquitto 2.0.11 closes the connection after a
    refusal (PUBACK 0x87, then the socket): a client that goes on would
    lose its session, so refusals are tried on throwaway connections."""
    c = Client(port, user, password, tls)
    try:
        assert c.connack == 0, "connect refused: 0x%02x" % c.connack
        return c.publish(topic, payload)
    finally:
        c.close()


def connack_of(port, user=None, password=None, tls=True):
    c = Client(port, user, password, tls)
    rc = c.connack
    c.close()
    return rc


# --- the set-up, the way an operator does it -------------------------------
shutil.copy(os.path.join(DEPLOY, "mosquitto", "acl"), os.path.join(ETC, "acl"))
GA_PASSWORD, _ = new_user("--account", "geoalert")
with open(os.path.join(D, "public-password"), "w") as f:
    f.write("public\n")
res = add_station("--account", "public", password_file=os.path.join(D, "public-password"))
assert res.returncode == 0 and res.stdout == "", res
PW_A, res = new_user(A)
assert "not running" in res.stderr, res.stderr

conf = broker_conf()
log = open(os.path.join(D, "mosquitto.log"), "a")
broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=log, stderr=subprocess.STDOUT)
for port in (TLS_PORT, LOCAL_PORT, PUBLIC_PORT):
    wait_port(port)

# B is added while the broker runs: the script's SIGHUP makes it count.
PW_B, res = new_user(B)
assert "reloaded" in res.stderr, res.stderr
time.sleep(0.5)  # the broker handles the SIGHUP in its loop

# geoalert's own MQTT client for the checks; the daemon itself below
watcher = Client(LOCAL_PORT, "geoalert", GA_PASSWORD, tls=False, name="watcher")


def test_passwords():
    assert connack_of(TLS_PORT, A, PW_A) == 0
    assert connack_of(TLS_PORT, B, PW_B) == 0, "B, added while running, refused"
    # 0x86 bad user name or password, or 0x87 not authorized
    assert connack_of(TLS_PORT, A, PW_B) in (0x86, 0x87), "A let in with B's password"
    assert connack_of(TLS_PORT, "JS-9999-0001", PW_A) in (0x86, 0x87), "unknown user let in"
    assert connack_of(TLS_PORT) == NOT_AUTHORIZED, "anonymous let in on the station listener"
    assert connack_of(LOCAL_PORT, tls=False) == NOT_AUTHORIZED
    assert connack_of(PUBLIC_PORT) == 0, "anonymous refused on the public listener"
    assert connack_of(PUBLIC_PORT, "public", "public") == 0
    # the script refuses what it must
    assert add_station(A).returncode == 1, "an existing station added twice"
    assert add_station("JS:1").returncode == 1
    assert add_station("geoalert").returncode == 1
    assert add_station("a/b").returncode == 1 and add_station("a+b").returncode == 1


def test_geoalert_shared_subscription():
    rc = watcher.subscribe(SHARE)
    assert rc < 0x80, "shared subscription refused: 0x%02x" % rc
    sa = Client(TLS_PORT, A, PW_A)
    sb = Client(TLS_PORT, B, PW_B)
    try:
        assert sa.publish("geohazard/v1/reports/%s" % A, b"own-a") == 0
        assert sb.publish("geohazard/v1/reports/%s" % B, b"own-b") == 0
        watcher.wait_for(b"own-a")
        watcher.wait_for(b"own-b")
        assert watcher.got(b"own-a") == ["geohazard/v1/reports/%s" % A]
    finally:
        sa.close()
        sb.close()


def test_station_cannot_publish_as_another():
    for topic, payload in (("geohazard/v1/reports/%s" % B, b"forged-by-a"),
                           ("geohazard/v1/reports/x/%s" % A, b"deeper-a"),
                           ("geohazard/v1/receipts/%s" % A, b"receipt-by-a"),
                           ("geohazard/v1/alerts/32", b"alert-by-a")):
        assert publish_once(TLS_PORT, A, PW_A, topic, payload) == NOT_AUTHORIZED, topic
    # The broker decided on each before its PUBACK left; a report of A's
    # own sent after them reaches geoalert, so they would have by now.
    assert publish_once(TLS_PORT, A, PW_A, "geohazard/v1/reports/%s" % A, b"marker-a") < 0x80
    watcher.wait_for(b"marker-a")
    for p in (b"forged-by-a", b"deeper-a"):
        assert watcher.got(p) == [], "%r reached geoalert" % p


def test_share_group_secret():
    """mosquitto 2.0.11 grants any SUBSCRIBE, $share ones too, and a shared
    subscription hands each message to one member, checking the reader's
    rights only then: a member that may not read it drops it. A station
    that guessed the group would swallow its share of every station's
    reports; not knowing it, it takes none."""
    n = 20
    sa = Client(TLS_PORT, A, PW_A)
    sb = Client(TLS_PORT, B, PW_B)
    try:
        for group in ("geoalert", "ga", "default"):
            sa.subscribe("$share/%s/geohazard/v1/reports/+" % group)
        for i in range(n):
            assert sb.publish("geohazard/v1/reports/%s" % B, b"sg-%d" % i) < 0x80
        watcher.wait_for(b"sg-%d" % (n - 1))
        got = [p for _, p in watcher.messages if p.startswith(b"sg-")]
        assert len(got) == n, "geoalert got %d of %d reports" % (len(got), n)
        assert sa.messages == []
        # the hazard itself, for the record: A in the same group
        sa.subscribe(SHARE)
        for i in range(n):
            assert sb.publish("geohazard/v1/reports/%s" % B, b"sh-%d" % i) < 0x80
        assert sb.publish("geohazard/v1/reports/%s" % B, b"sh-end") < 0x80
        time.sleep(0.5)
        got = [p for _, p in watcher.messages if p.startswith(b"sh-")]
        print("  a station in geoalert's own share group: geoalert got %d of %d reports"
              % (len(got), n + 1), flush=True)
        sa.c.unsubscribe(SHARE)
    finally:
        sa.close()
        sb.close()


def test_station_reads_only_own_receipts():
    """mosquitto 2.0.11's acl_file grants every SUBSCRIBE and checks each
    message at delivery against the reader's rights: whatever A subscribes
    to, it gets its own receipts only."""
    sa = Client(TLS_PORT, A, PW_A)
    sb = Client(TLS_PORT, B, PW_B)
    try:
        assert sa.subscribe("geohazard/v1/receipts/%s" % A) < 0x80
        assert sb.subscribe("geohazard/v1/receipts/%s" % B) < 0x80
        codes = [sa.subscribe(f) for f in ("geohazard/v1/receipts/%s" % B,
                                           "geohazard/v1/receipts/#", "geohazard/v1/reports/+",
                                           "#", "$share/g/geohazard/v1/receipts/+")]
        print("  SUBACK codes for A's subscriptions to B's receipts, receipts/#, reports/+, #,"
              " $share/g/geohazard/v1/receipts/+: %s" % ", ".join("0x%02x" % c for c in codes),
              flush=True)
        assert watcher.publish("geohazard/v1/receipts/%s" % B, b"receipt-b") < 0x80
        assert sb.publish("geohazard/v1/reports/%s" % B, b"report-b") < 0x80
        assert watcher.publish("geohazard/v1/alerts/320100", b"alert-0") < 0x80
        assert watcher.publish("geohazard/v1/receipts/%s" % A, b"receipt-a") < 0x80
        sb.wait_for(b"receipt-b")
        watcher.wait_for(b"report-b")
        sa.wait_for(b"receipt-a")
        # A's receipt went out last through the same broker: B's receipt,
        # B's report or the alert would be there by now had A been allowed
        assert sa.got(b"receipt-b") == [], "A read B's receipt"
        assert sa.got(b"report-b") == [], "A read B's report"
        assert sa.got(b"alert-0") == [], "A read an alert"
        # once per matching subscription (receipts/A, receipts/#, #)
        assert set(sa.got(b"receipt-a")) == {"geohazard/v1/receipts/%s" % A}
    finally:
        sa.close()
        sb.close()


def test_public_reads_alerts_only():
    anon = Client(PUBLIC_PORT)
    named = Client(PUBLIC_PORT, "public", "public")
    try:
        for c in (anon, named):
            assert c.subscribe("geohazard/v1/alerts/#") < 0x80
            c.subscribe("geohazard/v1/receipts/#")
            c.subscribe("geohazard/v1/reports/#")
        assert watcher.publish("geohazard/v1/alerts/320100", b"alert-1", retain=True) < 0x80
        anon.wait_for(b"alert-1")
        named.wait_for(b"alert-1")
        for user, pw in ((None, None), ("public", "public")):
            for topic in ("geohazard/v1/reports/%s" % A, "geohazard/v1/reports/public",
                          "geohazard/v1/alerts/320100", "geohazard/v1/receipts/%s" % A):
                rc = publish_once(PUBLIC_PORT, user, pw, topic, b"by-public")
                assert rc == NOT_AUTHORIZED, (user, topic, rc)
        assert watcher.publish("geohazard/v1/receipts/%s" % A, b"receipt-for-a") < 0x80
        assert watcher.publish("geohazard/v1/alerts/320100", b"alert-2", retain=True) < 0x80
        anon.wait_for(b"alert-2")
        named.wait_for(b"alert-2")
        assert watcher.got(b"by-public") == []
        for c in (anon, named):
            assert c.got(b"by-public") == [] and c.got(b"receipt-for-a") == []
    finally:
        anon.close()
        named.close()
    # a new public reader gets the retained alert
    late = Client(PUBLIC_PORT)
    try:
        late.subscribe("geohazard/v1/alerts/#")
        late.wait_for(b"alert-2")
    finally:
        late.close()


def test_geoalert_writes_only_receipts_and_alerts():
    assert watcher.publish("geohazard/v1/receipts/%s" % B, b"r") < 0x80
    assert watcher.publish("geohazard/v1/alerts/320100", b"alert-3", retain=True) < 0x80
    assert publish_once(LOCAL_PORT, "geoalert", GA_PASSWORD, "geohazard/v1/reports/%s" % A,
                        b"report-by-geoalert", tls=False) == NOT_AUTHORIZED
    for topic in ("geohazard/v1/reports/geoalert", "other/topic"):
        assert publish_once(LOCAL_PORT, "geoalert", GA_PASSWORD, topic, b"x",
                            tls=False) == NOT_AUTHORIZED, topic


def test_daemon_over_tls_with_its_user():
    """The real geoalert, user geoalert, over TLS on the stations' listener:
    A's report is stored and receipted to A only; A's report forged as B is
    never stored."""
    pwfile = os.path.join(D, "geoalert-password")
    with open(pwfile, "w") as f:
        f.write(GA_PASSWORD + "\n")

    class Port:
        port = TLS_PORT

    ga = Geoalert(Port, extra={"mqtt": {"url": "mqtts://127.0.0.1:%d" % TLS_PORT,
                                        "username": "geoalert", "password_file": pwfile,
                                        "ca_file": CA, "share_group": GROUP}})
    # the watcher's session must not take reports from the daemon's group
    watcher.c.unsubscribe(SHARE)
    ga.start()
    sa = Client(TLS_PORT, A, PW_A)
    sb = Client(TLS_PORT, B, PW_B)
    try:
        assert sa.subscribe("geohazard/v1/receipts/%s" % A) < 0x80
        assert sb.subscribe("geohazard/v1/receipts/%s" % B) < 0x80
        forged = json.dumps(report(B, "forged-0001")).encode()
        assert publish_once(TLS_PORT, A, PW_A, "geohazard/v1/reports/%s" % B,
                            forged) == NOT_AUTHORIZED
        own = json.dumps(report(A, "acl-0001")).encode()
        assert sa.publish("geohazard/v1/reports/%s" % A, own) < 0x80
        deadline = time.monotonic() + WAIT
        receipt = None
        while time.monotonic() < deadline and receipt is None:
            with sa.cond:
                for _, p in sa.messages:
                    body = json.loads(p)
                    if body.get("report_id") == "acl-0001":
                        receipt = body
            time.sleep(0.05)
        assert receipt is not None, "no receipt for A's report:\n%s" % ga.log_text()
        assert receipt["status"] == "accepted", receipt
        assert ga.query("SELECT station_id, report_id FROM reports") == [(A, "acl-0001")]
        assert ga.query("SELECT COUNT(*) FROM rejected")[0][0] == 0
        assert sb.messages == [], "B got something: %r" % sb.messages
        code, body = ga.get("/healthz")
        assert code == 200, body
    finally:
        sa.close()
        sb.close()
        assert ga.stop() == 0


def test_rotate():
    new_pw, res = new_user("--rotate", A)
    assert "reloaded" in res.stderr, res.stderr
    assert new_pw != PW_A
    deadline = time.monotonic() + WAIT
    while connack_of(TLS_PORT, A, PW_A) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert connack_of(TLS_PORT, A, PW_A) != 0, "the old password still works"
    assert connack_of(TLS_PORT, A, new_pw) == 0


try:
    runner.run(test_passwords)
    runner.run(test_geoalert_shared_subscription)
    runner.run(test_station_cannot_publish_as_another)
    runner.run(test_share_group_secret)
    runner.run(test_station_reads_only_own_receipts)
    runner.run(test_public_reads_alerts_only)
    runner.run(test_geoalert_writes_only_receipts_and_alerts)
    runner.run(test_daemon_over_tls_with_its_user)
    runner.run(test_rotate)
finally:
    watcher.close()
    broker.terminate()
    try:
        broker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        broker.kill()
        broker.wait()
    if runner.failed:
        with open(os.path.join(D, "mosquitto.log"), errors="replace") as f:
            print("--- mosquitto.log (tail)\n" + "".join(f.readlines()[-40:]))
runner.finish()
