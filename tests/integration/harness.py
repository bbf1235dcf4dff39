"""Integration test harness: the real mosquitto broker, the real geoalert
daemon and a real store, all on loopback ports picked free.

The store backend is a parameter (spec §10, issue 12): GA_TEST_STORE=sqlite
(the default) gives each Geoalert a SQLite file in its temp dir;
GA_TEST_STORE=pg gives each one a fresh database of its own in the
PostgreSQL cluster at GA_TEST_PG_URL (tests/pg.sh starts one), created
here and dropped at exit. ga.query() reads either. A test about SQLite
itself is marked @sqlite_only("why") and skipped under pg.

Every wait is bounded; every process started here is stopped at exit."""
import atexit
import datetime
import fcntl
import json
import os
import pwd
import random
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("GA_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("GA_BUILD_DIR") or os.path.join(SRC, "build")
GEOALERT = os.environ.get("GEOALERT") or os.path.join(BUILD, "geoalert")
TOOLS = os.path.join(BUILD, "tests")
STATIONS = os.path.join(SRC, "geo", "stations.example.geojson")
CST = datetime.timezone(datetime.timedelta(hours=8))

STORE = os.environ.get("GA_TEST_STORE") or "sqlite"
PG_URL = os.environ.get("GA_TEST_PG_URL") or ""
if STORE not in ("sqlite", "pg"):
    raise SystemExit("harness: GA_TEST_STORE=%r: sqlite or pg" % STORE)
if STORE == "pg" and not PG_URL:
    # never quietly fall back to SQLite: a .pg run that tested SQLite
    # would pass for a PostgreSQL run
    raise SystemExit("harness: GA_TEST_STORE=pg but no GA_TEST_PG_URL "
                     "(run under tests/pg.sh)")

_procs = []
_pg_dbs = []  # databases made here, dropped at exit


def _pg_admin():
    import psycopg2
    con = psycopg2.connect(PG_URL, connect_timeout=10)
    con.autocommit = True
    return con


def pg_database(name):
    """CREATE DATABASE of a fresh name in the cluster at GA_TEST_PG_URL;
    returns its URL (the admin URL with that database)."""
    db = "ga_%s_%d_%d" % ("".join(c for c in name if c.isalnum())[:20].lower(),
                          os.getpid(), len(_pg_dbs))
    con = _pg_admin()
    try:
        with con.cursor() as cur:
            cur.execute("CREATE DATABASE %s" % db)
    finally:
        con.close()
    _pg_dbs.append(db)
    u = urllib.parse.urlsplit(PG_URL)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + db, u.query, u.fragment))


def _pg_drop_all():
    if not _pg_dbs:
        return
    try:
        con = _pg_admin()
    except Exception as e:  # noqa: BLE001 - the cluster may be gone: say so
        print("harness: cannot drop %s: %s" % (", ".join(_pg_dbs), e), flush=True)
        return
    try:
        with con.cursor() as cur:
            for db in _pg_dbs:
                cur.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
    finally:
        con.close()
    del _pg_dbs[:]


def pg_query(url, sql, args=()):
    """sql with SQLite's ? placeholders on the PostgreSQL database at
    url; rows as a list of tuples, BYTEA as bytes (as sqlite3 gives BLOB)."""
    import psycopg2
    con = psycopg2.connect(url, connect_timeout=10)
    try:
        con.autocommit = True
        with con.cursor() as cur:
            if args:
                cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(args))
            else:
                cur.execute(sql)
            if cur.description is None:
                return []
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                    for row in cur.fetchall()]
    finally:
        con.close()


def sqlite_only(why):
    """Marks a test about SQLite itself (its file, WAL, page limits...):
    Runner skips it under GA_TEST_STORE=pg, saying why."""
    def mark(fn):
        fn.sqlite_only = why
        return fn
    return mark


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    _pg_drop_all()


atexit.register(_cleanup)


def tmpdir(name):
    return tempfile.mkdtemp(prefix="ga-%s-" % name)


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A free port below the kernel's ephemeral range. A port the kernel
    hands out (bind to 0) is one it may also give a client socket of a
    test running alongside (test_http_abuse opens thousands) between this
    probe and the server's bind: seen as "address in use" in a CI run."""
    low = min(_ephemeral_low(), 65536)
    if low > 12000:
        for _ in range(200):
            port = random.randrange(10000, low)
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def npm_install(needs=("playwright-core",)):
    """tests/browser/node_modules is not in git: npm ci from the lock file
    when a package of needs is missing, once: a lock keeps two tests that
    ctest runs side by side from installing into the same folder at once."""
    browser = os.path.join(SRC, "tests", "browser")

    def have():
        return all(os.path.isdir(os.path.join(browser, "node_modules", n)) for n in needs)

    if have():
        return
    npm = shutil.which("npm")
    assert npm, "npm is missing (apt-get install npm)"
    with open(os.path.join(tempfile.gettempdir(), "geoalert-npm-ci.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not have():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=browser, check=True,
                           timeout=600)


def wait_until(pred, timeout, what, step=0.2):
    """Calls pred every step s until it returns a true value (returned);
    AssertionError naming what after timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("%s: not within %.0f s" % (what, timeout))


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("port %d did not open in %.0f s" % (port, timeout))


def secret_file(d, name, value):
    """Writes value and a newline to the file d/name, then makes it mode
    0600 (geoalert refuses a secret others may read); returns its path."""
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(value + "\n")
    os.chmod(p, 0o600)
    return p


def now_rfc3339(offset_s=0):
    t = datetime.datetime.now(CST) + datetime.timedelta(seconds=offset_s)
    return t.replace(microsecond=0).isoformat()


class PortHold:
    """A port kept ours while its server is down: a listening socket on
    it that resets every connection at once, so that a client finds the
    server down (its request fails at once) and no other process can take
    the port meanwhile. Tests run side by side (ctest -j): once, while a
    portal stand-in was down for two minutes, another test's stand-in was
    given its port by free_port() and answered geoalert's requests.

    PortHold(port=P) binds P (it must be free: the server just stopped);
    PortHold(sock=S) takes the listening socket S of a stopped server.
    release() returns the listening socket (for the next server on the
    port, with no moment where the port is free); close() frees it."""

    def __init__(self, port=None, sock=None):
        if sock is None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as e:
                sock.close()
                raise AssertionError("port %d taken while its server was down: %s"
                                     % (port, e))
            sock.listen(64)
        self.sock = sock
        self.stop = threading.Event()
        sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            # RST, not FIN: refused, as near as a listening socket can
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()

    def release(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.settimeout(None)
        return self.sock

    def close(self):
        self.release().close()

    def assert_down(self):
        """A connection to the port is reset: down as clients see it."""
        port = self.sock.getsockname()[1]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                assert s.recv(1) == b"", "port %d answers while down" % port
        except ConnectionResetError:
            pass


def report(station, report_id, kind="danger", hazard_type="landslide", **fields):
    r = {
        "schema": "geohazard.report/1",
        "report_id": report_id,
        "station_id": station,
        "kind": kind,
        "hazard_type": hazard_type,
        "observed_at": now_rfc3339(),
    }
    r.update(fields)
    return r


class Broker:
    """A mosquitto of its own, persistence on, on a free port."""

    def __init__(self, persistence=True, extra=""):
        self.dir = tmpdir("broker")
        self.port = free_port()
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        self.log = os.path.join(self.dir, "mosquitto.log")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\n" % self.port)
            f.write("allow_anonymous true\n")
            # as root, mosquitto would switch to its own user, who cannot
            # write the persistence file into our temp dir
            f.write("user %s\n" % pwd.getpwuid(os.getuid()).pw_name)
            f.write("persistence %s\n" % ("true" if persistence else "false"))
            f.write("persistence_location %s/\n" % self.dir)
            # Reports wait here while geoalert is down: never drop them.
            f.write("max_queued_messages 0\n")
            f.write("max_queued_bytes 0\n")
            f.write(extra)
        self.proc = None
        self.hold = None  # the port, while stopped (PortHold)

    def start(self):
        if self.hold is not None:  # mosquitto binds it itself
            self.hold.close()
            self.hold = None
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        _procs.append(self.proc)
        wait_port(self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.hold = PortHold(port=self.port)


class Geoalert:
    """The daemon with a config of its own in a temp dir."""

    def __init__(self, broker, stations=STATIONS, sessions=2, extra=None, name="ga",
                 store_url=None):
        """store_url (GA_TEST_STORE=pg only): a database of the test's own
        cluster (pgcluster.Postgres) instead of a fresh one at GA_TEST_PG_URL."""
        self.dir = tmpdir(name)
        self.broker = broker
        self.http_port = free_port()
        # SQLite: the file; PostgreSQL: None (a test that opens the file
        # itself is about SQLite: @sqlite_only) and url is the database
        self.db = os.path.join(self.dir, "geoalert.db") if STORE == "sqlite" else None
        if store_url is not None and STORE != "pg":
            raise AssertionError("store_url wants GA_TEST_STORE=pg")
        self.url = (store_url or pg_database(name)) if STORE == "pg" else None
        self.conf = os.path.join(self.dir, "geoalert.ini")
        self.log = os.path.join(self.dir, "geoalert.log")
        self.sections = {
            "mqtt": {"url": "mqtt://127.0.0.1:%d" % broker.port,
                     "client_id": "ga-%d" % self.http_port, "sessions": str(sessions)},
            "store": {"path": self.db} if STORE == "sqlite" else {"url": self.url},
            "http": {"listen": "127.0.0.1:%d" % self.http_port,
                     "public_base_url": "http://127.0.0.1:%d" % self.http_port},
            "stations": {"file": stations},
            "geo": {"service_area": "32"},
            "alerts": {"publish_min_level": "large"},
        }
        if STORE == "pg":
            # with [store] url the key files must be named (src/config.c:
            # every instance signs with the same keys): in the temp dir,
            # where SQLite's default "beside the database" puts them
            self.sections["alerts"]["signing_key_file"] = os.path.join(self.dir,
                                                                       "signing-key.pem")
            self.sections["alerts"]["cap_signing_key_file"] = os.path.join(
                self.dir, "cap-signing-key.pem")
        for sec, kv in (extra or {}).items():
            self.sections.setdefault(sec, {}).update(kv)
        self.write_config()
        self.proc = None

    def write_config(self):
        with open(self.conf, "w") as f:
            for sec, kv in self.sections.items():
                f.write("[%s]\n" % sec)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, v))

    def start(self, wait=True):
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([GEOALERT, "serve", "-c", self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        _procs.append(self.proc)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("geoalert exited %d:\n%s" % (self.proc.returncode,
                                                                  self.log_text()))
            try:
                code, body = self.get("/healthz")
                last = (code, body)
                if code == 200:
                    return body
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("geoalert not healthy: %r\n%s" % (last, self.log_text()))

    def get(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.http_port, path),
                                        timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            return self.proc.wait(timeout=timeout)
        return self.proc.returncode if self.proc else None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def mqtt_client_id(self):
        """[mqtt] client_id as geoalert uses it (its sessions add -N): on
        PostgreSQL with -INSTANCE appended, [cluster] instance or the host
        name (src/config.c: instances sharing a database need ids of
        their own)."""
        cid = self.sections["mqtt"]["client_id"]
        if STORE == "pg":
            cid += "-" + self.sections.get("cluster", {}).get("instance", socket.gethostname())
        return cid

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def query(self, sql, args=()):
        """sql (SQLite's ? placeholders) on this instance's store, either
        backend; rows as a list of tuples."""
        if STORE == "pg":
            return pg_query(self.url, sql, args)
        con = sqlite3.connect(self.db, timeout=10)
        try:
            rows = con.execute(sql, args).fetchall()
            con.commit()  # an UPDATE too
            return rows
        finally:
            con.close()

    def hold_writes(self):
        """Takes the store's write lock from outside as another writer
        would (SQLite: BEGIN EXCLUSIVE on the file; PostgreSQL: the
        advisory lock every store transaction takes, STORE_PG_TXN_LOCK in
        src/store_pg.c); returns a function that releases it."""
        if STORE == "pg":
            import psycopg2
            con = psycopg2.connect(self.url, connect_timeout=10)
            cur = con.cursor()  # psycopg2 opens the transaction itself
            cur.execute("SELECT pg_advisory_xact_lock(%d)" % 0x67656f7478)
        else:
            con = sqlite3.connect(self.db, isolation_level=None, timeout=10)
            con.execute("BEGIN EXCLUSIVE")

        def release():
            con.rollback()
            con.close()
        return release


class Station:
    """An MQTT 5 client that publishes reports and collects receipts."""

    def __init__(self, broker, client_id=None):
        self.receipts = {}  # report_id -> [receipt, ...]
        self.arrived = {}  # report_id -> time.monotonic() of its first receipt
        self.all = []
        self.lock = threading.Condition()
        self.client = mqtt.Client(client_id=client_id or "station-%d" % free_port(),
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(0)
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a, **k: self.subscribed.set()
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()
        self.client.subscribe("geohazard/v1/receipts/#", qos=1)
        assert self.subscribed.wait(10), "receipt subscription not granted"

    def _on_message(self, client, userdata, msg):
        body = json.loads(msg.payload)
        body["_topic"] = msg.topic
        with self.lock:
            self.all.append(body)
            self.receipts.setdefault(body.get("report_id"), []).append(body)
            self.arrived.setdefault(body.get("report_id"), time.monotonic())
            self.lock.notify_all()

    def publish(self, station, payload, wait=True):
        if isinstance(payload, dict):
            payload = json.dumps(payload, ensure_ascii=False).encode()
        info = self.client.publish("geohazard/v1/reports/%s" % station, payload, qos=1)
        if wait:
            info.wait_for_publish(timeout=10)
        return info

    def wait_receipt(self, report_id, timeout=15.0, count=1):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.receipts.get(report_id, [])) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no receipt for %r in %.0f s" % (report_id, timeout))
                self.lock.wait(left)
            return self.receipts[report_id][count - 1]

    def wait_count(self, n, timeout=60.0):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.all) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return len(self.all)
                self.lock.wait(left)
            return len(self.all)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class LogWatch:
    """Notes when text next appears in a daemon's log (once more than when
    made; polled every 50 ms from a thread, for at most timeout s): .seen
    is its time.monotonic(), None until then. For the failover figures the
    tests print (the logs carry no timestamps); never asserted on."""

    def __init__(self, daemon, text, timeout=120.0):
        self.seen = None
        self._stop = threading.Event()
        before = daemon.log_text().count(text)

        def poll():
            deadline = time.monotonic() + timeout
            while not self._stop.is_set() and time.monotonic() < deadline:
                if daemon.log_text().count(text) > before:
                    self.seen = time.monotonic()
                    return
                self._stop.wait(0.05)

        self._thread = threading.Thread(target=poll, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()


class Runner:
    """Tiny test runner: each test a function; prints a closing line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, fn):
        name = fn.__name__
        why = getattr(fn, "sqlite_only", None)
        if why and STORE != "sqlite":
            print("SKIP %s (SQLite only: %s)" % (name, why), flush=True)
            return
        t0 = time.monotonic()
        try:
            fn()
            self.passed += 1
            print("PASS %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
        except Exception:  # noqa: BLE001 - report every failure, go on
            import traceback
            self.failed += 1
            print("FAIL %s" % name, flush=True)
            traceback.print_exc()

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        _cleanup()
        raise SystemExit(1 if self.failed else 0)
