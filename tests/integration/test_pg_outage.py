# ga-test-backends: pg
"""Issue 12, test 5 (spec §10): PostgreSQL stopped for 20 s mid-stream.

A station streams a bounded run of reports; PostgreSQL (a cluster of this
test's own, pgcluster.Postgres, so it can be stopped) gets a fast
shutdown (SIGINT, as pg_ctl stop -m fast) a quarter of the way through and
is started again 20 s later. While it is down:
- no report published after the stop is answered (a receipt would claim a
  report stored that cannot be), and geoalert does not PUBACK what it has
  not stored: the broker keeps it and delivers it again (were one PUBACKed
  unstored, it would be missing at the end);
- /healthz answers 503 and names the database.
Afterwards every report is stored exactly once and answered `accepted`.

PostgreSQL only (GA_TEST_STORE=pg). Every wait is bounded; no assertion
on time: the 20 s and the pacing only shape the run."""
import threading
import time

from harness import STORE, Broker, Geoalert, Runner, Station, report
from pgcluster import Postgres

if STORE != "pg":
    raise SystemExit("test_pg_outage.py: PostgreSQL only (GA_TEST_STORE=pg)")

runner = Runner()

STATIONS = ["JS-3201-0007", "JS-3211-0002"]
HAZARD = {"JS-3201-0007": "landslide", "JS-3211-0002": "collapse"}
TOTAL = 600          # reports in the stream
PACE_S = 0.05        # between two publishes: the stream lasts 30 s or more
STOP_AFTER = 150     # reports answered before PostgreSQL is stopped
DOWN_S = 20


def test_postgres_stopped_mid_stream():
    pg = Postgres(name="pgoutage")
    broker = Broker().start()
    ga = Geoalert(broker, sessions=2, name="pgoutage", store_url=pg.url()).start()
    st = Station(broker)
    ids = ["pgo-%04d" % i for i in range(TOTAL)]
    published = []          # ids, in order, once the broker has them
    after_stop = set()      # published once PostgreSQL was down
    down = threading.Event()
    errors = []

    def stream():
        try:
            for i, rid in enumerate(ids):
                s = STATIONS[i % 2]
                st.publish(s, report(s, rid, hazard_type=HAZARD[s]))
                if down.is_set():  # published and PUBACKed by the broker while down
                    after_stop.add(rid)
                published.append(rid)
                time.sleep(PACE_S)
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(repr(e))

    t = threading.Thread(target=stream, daemon=True)
    t.start()
    # a quarter of the way through, the stream going on (geoalert writing):
    # the stop lands mid-stream; what is published during the shutdown
    # itself may or may not be stored before it: counted in neither set
    for rid in ids[:STOP_AFTER]:
        st.wait_receipt(rid, timeout=60)
    pg.stop()  # fast shutdown, waited for
    down.set()
    t_down = time.monotonic()
    health = None
    while time.monotonic() - t_down < DOWN_S:
        code, body = ga.get("/healthz")
        if code == 503 and "database" in body["problems"]:
            health = body
        assert ga.proc.poll() is None, "geoalert exited while the database was down"
        time.sleep(0.5)
    with st.lock:
        early = sorted(r for r in after_stop if r in st.receipts)
    waiting = len(after_stop)
    pg.start()
    down.clear()
    assert health is not None, "/healthz never named the database while it was down"
    assert health["database"] != "ok", health
    assert not early, "answered while the database was down: %r" % early[:5]
    assert waiting > 0, "nothing was published while the database was down"

    t.join(timeout=120)
    assert not t.is_alive() and not errors, errors
    assert len(published) == TOTAL
    missing = []
    for rid in ids:
        try:
            st.wait_receipt(rid, timeout=120 if not missing else 1)
        except AssertionError:
            missing.append(rid)
    assert not missing, "%d reports never answered: %r" % (len(missing), missing[:5])
    with st.lock:
        statuses = {rid: [r["status"] for r in st.receipts[rid]] for rid in ids}
    bad = {rid: s for rid, s in statuses.items() if s[0] != "accepted"
           or any(x not in ("accepted", "duplicate") for x in s)}
    assert not bad, "not answered accepted: %r" % list(bad.items())[:5]
    n, distinct = ga.query("SELECT count(*), count(DISTINCT report_id) FROM reports"
                           " WHERE report_id LIKE 'pgo-%'")[0]
    assert n == distinct == TOTAL, (n, distinct)
    code, body = ga.get("/healthz")
    deadline = time.monotonic() + 60
    while code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        code, body = ga.get("/healthz")
    assert code == 200, body
    print("  published while down: %d; receipts: %d (%d duplicate)"
          % (waiting, sum(len(s) for s in statuses.values()),
             sum(s.count("duplicate") for s in statuses.values())))
    st.close()
    assert ga.stop() == 0
    broker.stop()
    pg.destroy()


runner.run(test_postgres_stopped_mid_stream)
runner.finish()
