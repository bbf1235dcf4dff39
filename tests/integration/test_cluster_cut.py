# ga-test-backends: pg
"""A live instance that loses its lease stops its sessions (issue 12, spec
§10). Two instances on one PostgreSQL database and one broker; instance A
reaches the database through a small TCP proxy of this test's own (below:
threads, bounded) that the test cuts (every connection closed, new ones
refused) while a station streams reports, then restores. While A is cut:

- A lets its MQTT sessions go before B may take them over: its /healthz
  says paused with no session subscribed, and its log says why, once;
- B takes A over (claims it, drains and ends A's sessions at the broker).

The proxy is restored as soon as B's claim on A is in the database: A comes
back while B is still at work, waits for B's takeover to end, joins again
and resumes (fresh sessions, recorded again for A). At the end every
report is stored exactly once and answered `accepted`, and A's client ids
never bounced between two holders: mosquitto never closed one of A's
connections because the same id connected elsewhere ("already connected,
closing old connection", the session takeover ping-pong), and each id
connected only a bounded number of times.

PostgreSQL only: needs GA_TEST_PG_URL (tests/run.sh or tests/pg.sh). Every
wait is bounded; no assertion on time (the figures are printed)."""
import json
import os
import re
import socket
import threading
import time
import urllib.parse

import harness
from harness import Broker, Geoalert, Runner, Station, free_port, report, tmpdir

try:
    import psycopg2
except ImportError:  # pragma: no cover - tests/run.sh installs python3-psycopg2
    psycopg2 = None

N_REPORTS = 1500
PACE_S = 0.01        # between publishes: the stream outlasts the cut
CUT_AT = 300         # reports answered before A's database is cut
TAKEOVER_S = 6
STATIONS = ["JS-3201-0007", "JS-3211-0002"]
HAZARD = {"JS-3201-0007": "landslide", "JS-3211-0002": "collapse"}
PROXY_CONNS_MAX = 64  # connections the proxy holds at once; more are closed

runner = Runner()
ADMIN = os.environ.get("GA_TEST_PG_URL")
if not ADMIN or psycopg2 is None:
    print("FAIL setup: GA_TEST_PG_URL unset or psycopg2 missing: this test needs PostgreSQL"
          " (run it through tests/run.sh or tests/pg.sh)")
    raise SystemExit(1)

DBNAME = "ga_cut_%d" % os.getpid()
_admin = psycopg2.connect(ADMIN)
_admin.autocommit = True
_admin.cursor().execute("CREATE DATABASE %s" % DBNAME)
_u = urllib.parse.urlsplit(ADMIN)
URL = urllib.parse.urlunsplit((_u.scheme, _u.netloc, "/" + DBNAME, _u.query, ""))


def wait_until(pred, timeout, what):
    # every 0.1 s: the times this test prints are read off these polls
    return harness.wait_until(pred, timeout, what, step=0.1)


def pg(sql, args=()):
    con = psycopg2.connect(URL, connect_timeout=5)
    try:
        with con.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        con.close()


class Proxy:
    """A loopback TCP proxy to PostgreSQL that can be cut: cut() closes
    every connection and the listening socket (new connections are
    refused), restore() listens again on the same port. A thread per
    direction per connection, at most PROXY_CONNS_MAX connections."""

    def __init__(self, host, port):
        self.up = (host, port)
        self.port = free_port()
        self.lock = threading.Lock()
        self.conns = []     # (client, upstream) sockets
        self.lsock = None
        self.accepted = 0
        self.restore()

    def restore(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        with self.lock:
            self.lsock = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def cut(self):
        with self.lock:
            s, self.lsock = self.lsock, None
            conns, self.conns = self.conns, []
        s.close()
        for pair in conns:
            for x in pair:
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                x.close()

    def _accept(self, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return  # cut
            try:
                u = socket.create_connection(self.up, timeout=5)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            with self.lock:
                if self.lsock is not s or len(self.conns) >= PROXY_CONNS_MAX:
                    c.close()
                    u.close()
                    continue
                self.conns.append((c, u))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c), daemon=True).start()

    def _pump(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self.lock:
            self.conns = [p for p in self.conns if p != (a, b) and p != (b, a)]


proxy = Proxy(_u.hostname, _u.port)
URL_A = urllib.parse.urlunsplit((_u.scheme, "%s@127.0.0.1:%d" % (_u.username, proxy.port),
                                 "/" + DBNAME, _u.query, ""))

d = tmpdir("cut")
broker = Broker().start()


def instance(name, url):
    ga = Geoalert(broker, sessions=2, name=name,
                  extra={"cluster": {"instance": name, "takeover_after": str(TAKEOVER_S)},
                         # one pair of keys for both (spec §10)
                         "alerts": {"signing_key_file": os.path.join(d, "signing-key.pem"),
                                    "cap_signing_key_file": os.path.join(d, "cap-key.pem")}})
    ga.sections["store"].pop("path", None)
    ga.sections["store"]["url"] = url
    ga.sections["mqtt"]["client_id"] = "ga-cut"  # made unique: ga-cut-node-a-N
    ga.write_config()
    return ga


a = instance("node-a", URL_A)
b = instance("node-b", URL)
a.start()
b.start()
st = Station(broker)
A_IDS = ["ga-cut-node-a-0", "ga-cut-node-a-1"]



def health(ga):
    try:
        return ga.get("/healthz")[1]
    except OSError:
        return None


def test_cut_a_pauses_b_takes_over_a_resumes():
    wait_until(lambda: pg("SELECT count(*) FROM mqtt_sessions WHERE instance = 'node-a'")
               == [(2,)], 20, "A's sessions recorded")
    for ga in (a, b):
        wait_until(lambda: (health(ga) or {}).get("mqtt", {}).get("subscribed") == 2, 30,
                   "%s subscribed" % ga.sections["cluster"]["instance"])
    ids = ["cut-%05d" % i for i in range(N_REPORTS)]
    errors = []

    def stream():
        try:
            infos = []
            for i, rid in enumerate(ids):
                s = STATIONS[i % 2]
                infos.append(st.publish(s, report(s, rid, hazard_type=HAZARD[s]), wait=False))
                if i >= 50:  # a window of 50 unacknowledged at the broker
                    infos[i - 50].wait_for_publish(timeout=30)
                time.sleep(PACE_S)
            for info in infos[-50:]:
                info.wait_for_publish(timeout=30)
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(repr(e))

    t = threading.Thread(target=stream, daemon=True)
    t.start()
    for rid in ids[:CUT_AT]:
        st.wait_receipt(rid, timeout=60)

    # The cut: A's connections to the database closed, new ones refused.
    proxy.cut()
    t_cut = time.monotonic()
    h = wait_until(lambda: (lambda x: x if x and x["mqtt"].get("paused") else None)(health(a)),
                   3 * TAKEOVER_S, "A paused")
    t_paused = time.monotonic()
    # Paused: no session subscribed, every session let go at the broker
    wait_until(lambda: (health(a) or {}).get("mqtt", {}).get("subscribed") == 0, 10,
               "A's sessions disconnected")
    assert "mqtt" in h["problems"], h
    # B claims A (A's heartbeat is older than takeover_after)
    wait_until(lambda: pg("SELECT taken_by FROM cluster_instances WHERE name = 'node-a'")
               in ([("node-b",)], []), 4 * TAKEOVER_S, "B claimed A")
    t_claimed = time.monotonic()
    # Back while B is (most likely) still draining A's sessions.
    proxy.restore()
    t_restore = time.monotonic()
    wait_until(lambda: "node-a taken over" in b.log_text(), 60, "B's takeover of A ended")
    t_taken = time.monotonic()
    wait_until(lambda: (lambda x: x and not x["mqtt"].get("paused")
                        and x["mqtt"].get("subscribed") == 2)(health(a)), 60, "A resumed")
    t_resumed = time.monotonic()
    t.join(timeout=120)
    assert not t.is_alive() and not errors, errors
    print("cut -> A paused %.1f s, -> B's claim %.1f s; restored (%.1f s after the cut);"
          " B's takeover ended %.1f s after the cut; A resumed %.1f s after the restore"
          % (t_paused - t_cut, t_claimed - t_cut, t_restore - t_cut, t_taken - t_cut,
             t_resumed - t_restore))

    def answered():
        with st.lock:
            return all(any(r.get("status") == "accepted" for r in st.receipts.get(rid, []))
                       for rid in ids)

    try:
        wait_until(answered, 60, "an accepted receipt for every report")
    finally:
        with st.lock:
            ok = sum(1 for rid in ids
                     if any(r.get("status") == "accepted" for r in st.receipts.get(rid, [])))
            dup = sum(1 for rs in st.receipts.values() for r in rs
                      if r.get("status") == "duplicate")
        print("accepted receipts for %d of %d reports; %d duplicate receipts"
              % (ok, N_REPORTS, dup))
    n, distinct = pg("SELECT count(*), count(DISTINCT (station_id, report_id)) FROM reports"
                     " WHERE report_id LIKE 'cut-%%'")[0]
    assert n == N_REPORTS and distinct == N_REPORTS, (n, distinct)

    # A is back in the cluster, its sessions recorded for it again.
    rows = pg("SELECT name, taken_by FROM cluster_instances ORDER BY name")
    assert rows == [("node-a", None), ("node-b", None)], rows
    sess = pg("SELECT instance, client_id FROM mqtt_sessions ORDER BY client_id")
    assert sorted(sess) == [("node-a", A_IDS[0]), ("node-a", A_IDS[1]),
                            ("node-b", "ga-cut-node-b-0"), ("node-b", "ga-cut-node-b-1")], sess

    # Said once each: the pause (why) and the resume.
    alog = a.log_text()
    assert alog.count("MQTT sessions paused") == 1, alog[-3000:]
    assert alog.count("MQTT sessions resumed") == 1, alog[-3000:]
    waited = "is taking it over" in alog
    print("A %s B's takeover before it resumed" % ("waited for" if waited else "came back after"))

    # No ping-pong. A never connected its ids while paused, and nobody
    # took them from it after its resume (A's log, in order) ...
    paused_at = alog.index("MQTT sessions paused")
    resumed_at = alog.index("MQTT sessions resumed")
    for cid in A_IDS:
        assert "mqtt %s: connected" % cid not in alog[paused_at:resumed_at], alog[paused_at:]
        assert "mqtt %s: disconnected" % cid not in alog[resumed_at:], alog[resumed_at:]
    # ... and at the broker, an id was closed for a new connection only
    # between two of B's own takeover passes (the broker may read the next
    # pass's CONNECT before the last one's DISCONNECT), each id connected
    # a bounded number of times (A at start and at the resume, B's passes,
    # A's own reconnects between the cut and the pause).
    with open(broker.log, errors="replace") as f:
        blog = f.read()
    blog_b = b.log_text()
    for cid in A_IDS:
        bounced = len(re.findall(r"Client %s already connected" % re.escape(cid), blog))
        connects = len(re.findall(r"New client connected from \S+ as %s " % re.escape(cid),
                                  blog))
        passes = blog_b.count("mqtt %s: a session an earlier run left" % cid)
        print("%s: %d connections at the broker, %d of B's takeover passes, %d closed for a"
              " new connection" % (cid, connects, passes, bounced))
        assert passes >= 1, blog_b[-3000:]
        assert bounced <= passes - 1, blog[-3000:]
        assert connects <= 2 + passes + 10, connects
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"paused_s": t_paused - t_cut, "claimed_s": t_claimed - t_cut,
                   "resumed_s": t_resumed - t_restore}, f)


runner.run(test_cut_a_pauses_b_takes_over_a_resumes)
st.close()
a.stop()
b.stop()
broker.stop()
proxy.cut()
_admin.cursor().execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DBNAME)
_admin.close()
runner.finish()
