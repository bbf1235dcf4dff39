# ga-test-backends: sqlite pg
"""No acknowledged report is lost: kill -9 of geoalert under load, broker
restarts with persistence, reports published while geoalert is down, and
[mqtt] sessions lowered while reports wait at the broker."""
import re
import time

from harness import Broker, Geoalert, Runner, Station, report, sqlite_only

STATIONS = ("JS-3201-0007", "JS-3211-0002")
HAZARD = {"JS-3201-0007": "landslide", "JS-3211-0002": "collapse"}
runner = Runner()


def answered(st, ids, timeout):
    """Waits until every id has a receipt; returns those without one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with st.lock:
            missing = [i for i in ids if i not in st.receipts]
        if not missing:
            return []
        time.sleep(0.2)
    return missing


def test_kill9_under_load():
    broker = Broker().start()
    ga = Geoalert(broker, sessions=4).start()
    st = Station(broker)
    n = 3000
    ids = ["k-%05d" % i for i in range(n)]
    infos = []
    killed = False
    for i, rid in enumerate(ids):
        s = STATIONS[i % 2]
        infos.append(st.publish(s, report(s, rid, hazard_type=HAZARD[s]), wait=False))
        if i == n // 3:
            # wait until the daemon is visibly in the middle of it
            st.wait_count(n // 5, timeout=30)
            ga.kill9()
            killed = True
    assert killed
    for info in infos:
        info.wait_for_publish(timeout=30)
    ga.start()
    missing = answered(st, ids, timeout=120)
    if missing:
        stored = ga.query("SELECT report_id FROM reports WHERE report_id IN (%s)" %
                          ",".join("?" * len(missing)), missing)
        print("  unanswered: %d, of which stored: %d" % (len(missing), len(stored)))
    assert not missing, "%d reports never answered, e.g. %s" % (len(missing), missing[:5])
    statuses = {}
    for rid in ids:
        for rc in st.receipts[rid]:
            statuses[rc["status"]] = statuses.get(rc["status"], 0) + 1
            assert rc["status"] in ("accepted", "duplicate"), rc
    stored = ga.query("SELECT COUNT(*), COUNT(DISTINCT report_id) FROM reports")[0]
    assert stored == (n, n), stored
    print("  receipts by status:", statuses, flush=True)
    st.close()
    assert ga.stop() == 0
    broker.stop()


def test_reports_wait_in_broker_across_restarts():
    broker = Broker().start()
    ga = Geoalert(broker, sessions=2).start()
    assert ga.stop() == 0  # the sessions now exist, offline, in the broker
    st = Station(broker)
    ids = ["w-%04d" % i for i in range(200)]
    for i, rid in enumerate(ids):
        s = STATIONS[i % 2]
        st.publish(s, report(s, rid, hazard_type=HAZARD[s]))
    st.close()
    # broker restart: persistence must keep the queued reports
    broker.stop()
    broker.start()
    st = Station(broker)
    ga.start()
    missing = answered(st, ids, timeout=60)
    assert not missing, "%d queued reports lost" % len(missing)
    assert ga.query("SELECT COUNT(*) FROM reports")[0][0] == 200
    # broker restart while geoalert runs: it reconnects and goes on
    broker.stop()
    code, body = ga.get("/healthz")
    assert code == 503, body
    broker.start()
    ga.wait_healthy(timeout=60)
    st2 = Station(broker)
    st2.publish("JS-3201-0007", report("JS-3201-0007", "after-restart"))
    assert st2.wait_receipt("after-restart", timeout=30)["status"] == "accepted"
    st.close()
    st2.close()
    assert ga.stop() == 0
    broker.stop()


@sqlite_only("a full disk made by SQLite's max_page_count")
def test_disk_full_refuses_then_recovers():
    broker = Broker().start()
    ga = Geoalert(broker, sessions=2)
    ga.start()
    assert ga.stop() == 0
    pages = ga.query("PRAGMA page_count")[0][0]
    # room for a few dozen reports past the schema, then SQLITE_FULL
    ga.sections["store"]["max_page_count"] = str(pages + 12)
    ga.write_config()
    ga.start()
    st = Station(broker)
    ids = ["full-%04d" % i for i in range(300)]
    for i, rid in enumerate(ids):
        s = STATIONS[i % 2]
        st.publish(s, report(s, rid, hazard_type=HAZARD[s], causes="持续强降雨" * 20))
    # Wait for the database's own verdict: a 503 may come first from a
    # session that a refusal shut and that is connecting again ("mqtt"),
    # while the writer's last commit (a small one that fitted) was fine.
    deadline = time.monotonic() + 30
    code, body = 200, {}
    while time.monotonic() < deadline:
        code, body = ga.get("/healthz")
        if code == 503 and body.get("database") == "storage full":
            break
        time.sleep(0.2)
    assert code == 503 and body["database"] == "storage full", body
    # and holds it (WRITER_FAIL_HOLD_MS): the small commits that still fit
    # between the refused groups do not turn it back to 200
    for _ in range(15):
        time.sleep(0.2)
        code, body = ga.get("/healthz")
        assert code == 503 and body["database"] == "storage full", body
    answered_now = len([i for i in ids if i in st.receipts])
    assert 0 < answered_now < len(ids), answered_now
    stored = ga.query("SELECT COUNT(*) FROM reports")[0][0]
    # every receipt is for a stored report; a stored report's receipt may
    # still wait in the outbox (its session's socket was shut by a later
    # refusal before the receipt left): it is sent after the restart
    assert answered_now <= stored < len(ids), (stored, answered_now)
    assert "not acknowledged" in ga.log_text()
    # space returns
    assert ga.stop() == 0
    ga.sections["store"]["max_page_count"] = "0"
    ga.write_config()
    ga.start()
    missing = answered(st, ids, timeout=120)
    assert not missing, "%d refused reports never stored" % len(missing)
    assert ga.query("SELECT COUNT(*) FROM reports")[0][0] == len(ids)
    print("  answered before the disk filled: %d of %d" % (answered_now, len(ids)))
    st.close()
    assert ga.stop() == 0
    broker.stop()


@sqlite_only("SQLite's file lock at start")
def test_locked_database_at_start():
    import sqlite3
    import subprocess
    broker = Broker().start()
    ga = Geoalert(broker, sessions=1)
    ga.start()
    assert ga.stop() == 0
    con = sqlite3.connect(ga.db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    p = subprocess.run([ga.proc.args[0], "serve", "-c", ga.conf], capture_output=True,
                       timeout=60)
    con.execute("ROLLBACK")
    con.close()
    assert p.returncode == 1, p
    assert b"locked by another process" in p.stderr, p.stderr
    broker.stop()


def test_fewer_sessions_strand_nothing():
    """mosquitto shares the reports queued while geoalert is down among
    every member of the shared subscription, offline ones included: with
    [mqtt] sessions lowered from 4 to 2, half of them sat in the sessions
    -2 and -3 (20 of 40 answered before the fix). Now the store records
    the sessions each run makes, and the next start drains and ends the
    ones no longer in use — and only those (no probing)."""
    broker = Broker().start()
    ga = Geoalert(broker, sessions=4).start()
    st = Station(broker)
    try:
        ga.stop()
        cid = ga.mqtt_client_id()
        recorded = [r[0] for r in ga.query("SELECT client_id FROM mqtt_sessions")]
        assert sorted(recorded) == [cid + "-%d" % i for i in range(4)], recorded
        ids = ["fs-%02d" % i for i in range(40)]
        for i, rid in enumerate(ids):
            sid = STATIONS[i % 2]
            st.publish(sid, report(sid, rid, hazard_type=HAZARD[sid]))
        ga.sections["mqtt"]["sessions"] = "2"
        ga.write_config()
        ga.start()
        assert answered(st, ids, 30) == [], "reports left at the broker"
        for rid in ids:
            assert st.receipts[rid][0]["status"] == "accepted", st.receipts[rid]
        # the two sessions are ended once they have been quiet, and forgotten
        deadline = time.monotonic() + 30
        while ga.query("SELECT count(*) FROM mqtt_sessions")[0][0] > 2:
            assert time.monotonic() < deadline, ga.log_text()
            time.sleep(0.2)
        log = ga.log_text()
        for i in (2, 3):
            old = "%s-%d" % (cid, i)
            # connected once per pass: passes that take reports, then one
            # that takes none and ends it (ingest_retire_session)
            passes = log.count("mqtt %s: a session an earlier run left" % old)
            assert passes >= 1, log
            assert len(re.findall(r"mqtt %s: session an earlier run left: \d+ reports taken, "
                                  r"session ended" % re.escape(old), log)) == 1, log
        # gone at the broker: what comes while geoalert is down again
        # goes to the two sessions left, and nothing is retired next time
        retire_lines = log.count("an earlier run left")
        ga.stop()
        more = ["fs2-%02d" % i for i in range(20)]
        for i, rid in enumerate(more):
            sid = STATIONS[i % 2]
            st.publish(sid, report(sid, rid, hazard_type=HAZARD[sid]))
        ga.start()
        assert answered(st, more, 30) == [], "reports left at the broker"
        assert ga.log_text().count("an earlier run left") == retire_lines, ga.log_text()
        stored = ga.query("SELECT count(*) FROM reports WHERE report_id LIKE 'fs%'")[0][0]
        assert stored == 60, stored
    finally:
        st.close()
        ga.stop()
        broker.stop()


def test_new_client_id_and_group_strand_nothing():
    """A changed [mqtt] share_group leaves the old filter in the resumed
    sessions (every report would come twice); a changed client_id leaves
    the old sessions at the broker with a share of the reports. Both are
    cleared at the next start, with nothing lost."""
    broker = Broker().start()
    ga = Geoalert(broker, sessions=2).start()
    st = Station(broker)
    try:
        ga.stop()
        ga.sections["mqtt"]["share_group"] = "geoalert-b"
        ga.write_config()
        ga.start()
        # the old filter is gone (UNSUBACK) before anything is sent
        deadline = time.monotonic() + 10
        while ga.log_text().count("an earlier run's filter dropped") < 2:
            assert time.monotonic() < deadline, ga.log_text()
            time.sleep(0.1)
        ids = ["sg-%02d" % i for i in range(20)]
        for i, rid in enumerate(ids):
            sid = STATIONS[i % 2]
            st.publish(sid, report(sid, rid, hazard_type=HAZARD[sid]))
        assert answered(st, ids, 30) == [], "reports not answered"
        time.sleep(1)  # a second copy would come right behind the first
        twice = [rid for rid in ids if len(st.receipts[rid]) != 1]
        assert twice == [], [(rid, st.receipts[rid]) for rid in twice]
        assert ga.log_text().count("an earlier run's filter dropped") == 2, ga.log_text()

        ga.stop()
        old = ga.sections["mqtt"]["client_id"]
        more = ["ci-%02d" % i for i in range(20)]
        for i, rid in enumerate(more):
            sid = STATIONS[i % 2]
            st.publish(sid, report(sid, rid, hazard_type=HAZARD[sid]))
        ga.sections["mqtt"]["client_id"] = old + "-b"
        ga.write_config()
        ga.start()
        assert answered(st, more, 30) == [], "reports left in the old sessions"
        deadline = time.monotonic() + 30
        while True:
            rows = sorted(r[0] for r in ga.query("SELECT client_id FROM mqtt_sessions"))
            if rows == [ga.mqtt_client_id() + "-0", ga.mqtt_client_id() + "-1"]:
                break
            assert time.monotonic() < deadline, (rows, ga.log_text())
            time.sleep(0.2)
        stored = ga.query("SELECT count(*) FROM reports WHERE report_id LIKE 'sg-%'"
                          " OR report_id LIKE 'ci-%'")[0][0]
        assert stored == 40, stored
    finally:
        st.close()
        ga.stop()
        broker.stop()


runner.run(test_kill9_under_load)
runner.run(test_disk_full_refuses_then_recovers)
runner.run(test_locked_database_at_start)
runner.run(test_reports_wait_in_broker_across_restarts)
runner.run(test_fewer_sessions_strand_nothing)
runner.run(test_new_client_id_and_group_strand_nothing)
runner.finish()
