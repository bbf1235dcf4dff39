"""`geoalert backup PATH -c FILE` while the daemon ingests: the copy opens,
passes PRAGMA integrity_check and holds every report whose receipt (the
daemon's acknowledgement: it leaves only after the commit) arrived before
the backup started; and the documented restore (stop, copy over, remove
-wal/-shm, start) brings the service back on the copy."""
import os
import shutil
import sqlite3
import subprocess
import threading
import time

from harness import GEOALERT, Broker, Geoalert, Runner, Station, report, tmpdir

STATION = "JS-3201-0007"
PRELOAD = 1500  # reports stored before the backup, so it has pages to copy
RATE_BATCH = 25  # reports per burst of the background publisher
RATE_SLEEP = 0.02  # seconds between bursts (~1,000 reports/s at most)
STREAM_MAX = 20000  # the background publisher stops here whatever happens

broker = Broker().start()
ga = Geoalert(broker).start()
runner = Runner()
out_dir = tmpdir("backup-out")


class TimedStation(Station):
    """A Station that also notes when each receipt arrived."""

    def __init__(self, *a, **k):
        self.arrived = {}  # report_id -> monotonic time of the first receipt
        super().__init__(*a, **k)

    def _on_message(self, client, userdata, msg):
        t = time.monotonic()
        super()._on_message(client, userdata, msg)
        with self.lock:
            for body in self.all[-1:]:
                rid = body.get("report_id")
                if rid not in self.arrived and body.get("status") == "accepted":
                    self.arrived[rid] = t


st = TimedStation(broker)


def run_backup(dest, conf=None):
    return subprocess.run([GEOALERT, "backup", dest, "-c", conf or ga.conf],
                          capture_output=True, text=True, timeout=120)


def report_ids(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {r[0] for r in con.execute("SELECT report_id FROM reports WHERE station_id=?",
                                          (STATION,))}
    finally:
        con.close()


class Publisher(threading.Thread):
    """Publishes reports in bursts until told to stop."""

    def __init__(self, prefix):
        super().__init__(daemon=True)
        self.prefix = prefix
        self.sent = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set() and self.sent < STREAM_MAX:
            for _ in range(RATE_BATCH):
                st.publish(STATION, report(STATION, "%s-%06d" % (self.prefix, self.sent)),
                           wait=False)
                self.sent += 1
            time.sleep(RATE_SLEEP)


def test_backup_while_ingesting():
    for i in range(PRELOAD):
        st.publish(STATION, report(STATION, "pre-%06d" % i), wait=False)
    assert st.wait_count(PRELOAD, timeout=120) >= PRELOAD, "preload not receipted"

    pub = Publisher("live")
    pub.start()
    # let the stream run so that receipts are arriving when the backup starts
    deadline = time.monotonic() + 30
    while pub.sent < 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    dest = os.path.join(out_dir, "geoalert-backup.db")
    with st.lock:
        t_start = time.monotonic()
        acked = {rid for rid, t in st.arrived.items() if t < t_start}
    res = run_backup(dest)
    t_end = time.monotonic()
    time.sleep(1.0)  # the stream goes on after the backup
    pub.halt.set()
    pub.join(timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("backup: %s: " % dest), res.stdout
    live_acked = {r for r in acked if r.startswith("live-")}
    assert len(live_acked) > 0, "no live report was receipted before the backup"

    in_backup = report_ids(dest)
    missing = acked - in_backup
    assert not missing, "%d acknowledged reports missing from the backup, e.g. %s" % (
        len(missing), sorted(missing)[:5])

    # the daemon kept ingesting: everything sent is stored in the end, and
    # the live database has reports the backup does not
    total = PRELOAD + pub.sent
    assert st.wait_count(total, timeout=120) >= total
    code, body = ga.get("/healthz")
    assert code == 200, body
    live = {r[0] for r in ga.query("SELECT report_id FROM reports WHERE station_id=?",
                                   (STATION,))}
    assert in_backup <= live
    assert len(live - in_backup) > 0, "nothing stored after the backup"
    print("  backup of %d reports in %.2f s while ingesting; %d receipted before it, "
          "%d stored after" % (len(in_backup), t_end - t_start, len(acked),
                               len(live - in_backup)), flush=True)
    test_backup_while_ingesting.dest = dest
    test_backup_while_ingesting.count = len(in_backup)


def test_backup_replaces_and_refuses_the_database():
    dest = os.path.join(out_dir, "again.db")
    with open(dest, "w") as f:
        f.write("not a database")
    res = run_backup(dest)
    assert res.returncode == 0, res.stderr
    assert len(report_ids(dest)) >= PRELOAD
    # the database itself (by another name) is refused and left alone
    before = ga.query("SELECT COUNT(*) FROM reports")[0][0]
    res = run_backup(ga.db)
    assert res.returncode == 1 and "the database itself" in res.stderr, res
    os.symlink(ga.db, os.path.join(out_dir, "link.db"))
    res = run_backup(os.path.join(out_dir, "link.db"))
    assert res.returncode == 1 and "the database itself" in res.stderr, res
    assert ga.query("SELECT COUNT(*) FROM reports")[0][0] >= before
    # no temporary files left beside the destinations
    # (the -wal and -shm beside them are this test's readers' own)
    assert not [n for n in os.listdir(out_dir) if ".tmp-" in n], os.listdir(out_dir)
    # a database that does not exist is not created by the backup
    conf = os.path.join(out_dir, "..", os.path.basename(out_dir) + "-missing.ini")
    with open(conf, "w") as f:
        f.write("[store]\npath = %s\n" % os.path.join(out_dir, "nothing.db"))
    res = run_backup(os.path.join(out_dir, "x.db"), conf)
    assert res.returncode == 1 and "not found" in res.stderr, res
    assert not os.path.exists(os.path.join(out_dir, "nothing.db"))
    os.unlink(conf)


def test_refused_on_postgresql():
    """With [store] url the command refuses, naming PostgreSQL's own tools,
    and neither backs up [store] path's default nor writes the destination
    (no server needed: it refuses before connecting)."""
    d = tmpdir("backup-pg")
    conf = os.path.join(d, "pg.ini")
    with open(conf, "w") as f:
        f.write("[store]\nurl = postgresql://ga@127.0.0.1:1/ga\n[alerts]\n"
                "signing_key_file = %s/k.pem\ncap_signing_key_file = %s/ck.pem\n" % (d, d))
    dest = os.path.join(d, "x.db")
    res = run_backup(dest, conf)
    assert res.returncode == 1 and "pg_dump" in res.stderr, res
    assert not os.path.exists(dest)


def test_restore():
    """The procedure of docs/operations.md, Backup and restore."""
    dest = test_backup_while_ingesting.dest
    count = test_backup_while_ingesting.count
    assert ga.stop() == 0
    shutil.copyfile(dest, ga.db)
    for side in ("-wal", "-shm"):
        if os.path.exists(ga.db + side):
            os.unlink(ga.db + side)
    ga.start()
    assert ga.query("SELECT COUNT(*) FROM reports WHERE station_id=?",
                    (STATION,))[0][0] == count
    # a report from the backup is known: sending it again is a duplicate
    st.publish(STATION, report(STATION, "pre-000000"))
    rc = st.wait_receipt("pre-000000", count=2)
    assert rc["status"] == "duplicate", rc
    code, body = ga.get("/healthz")
    assert code == 200, body


runner.run(test_backup_while_ingesting)
runner.run(test_backup_replaces_and_refuses_the_database)
runner.run(test_restore)
runner.run(test_refused_on_postgresql)
st.close()
runner.finish()
