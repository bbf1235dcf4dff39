"""`geoalert store copy --from FILE.db --to URL` (spec §10, issue 12): the
real daemon on SQLite makes a deployment (accepted and rejected reports,
an incident whose alert is confirmed and delivered to a portal stand-in,
two officers, the audit trail); it is stopped and copied into a fresh
PostgreSQL database. Then: `geoalert audit verify` passes on the copy,
every table has as many rows on both sides and the same rows column by
column (raw BLOB bytes included), a second copy and a copy into another
non-empty database are refused naming a table (and leave it as it was),
and `geoalert serve` on the copy serves the alert's public page and gives
a new report the next incident number and row id.

Needs GA_TEST_PG_URL (tests/pg.sh, tests/run.sh): FAILS without it."""
import os
import sqlite3
import subprocess
import sys
import urllib.parse

import flows
from endpoints import Portal
from harness import GEOALERT, Broker, Geoalert, Runner, Station, report, secret_file, tmpdir

BASE_URL = os.environ.get("GA_TEST_PG_URL")
if not BASE_URL:
    print("FAIL test_store_copy: GA_TEST_PG_URL is unset: run it under tests/pg.sh "
          "(tests/run.sh does)", flush=True)
    sys.exit(1)

import psycopg2  # noqa: E402 - only once the URL is known to be there

STATIONS = flows.grid("CPY-%04d" % (i + 1) for i in range(3))
SECRETS = tmpdir("copy-secrets")
portal = Portal("portal-token-copy")
RETRY = {"backoff_initial_ms": "200", "backoff_max_ms": "800", "timeout_ms": "1500"}
extra = {"channel.portal": dict(type="portal", url=portal.url("/api/alerts"),
                                token_file=secret_file(SECRETS, "portal", portal.token),
                                **RETRY)}

runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(tmpdir("copy-registry"), "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "迁移测试站", "32011177")
ga = Geoalert(broker, stations=REGISTRY, extra=extra, name="ga-copy")
DUTY = flows.officer(ga, "duty1")
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)
SQLITE_DB = ga.db


def pg_url(dbname):
    u = urllib.parse.urlsplit(BASE_URL)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + dbname, u.query, u.fragment))


def create_db(name):
    con = psycopg2.connect(BASE_URL)
    con.autocommit = True
    try:
        with con.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
            cur.execute('CREATE DATABASE "%s"' % name)
    finally:
        con.close()
    return pg_url(name)


def pg_query(url, sql, args=()):
    con = psycopg2.connect(url)
    try:
        with con.cursor() as cur:
            cur.execute(sql, args)
            rows = cur.fetchall() if cur.description else None
        con.commit()
        return rows
    finally:
        con.close()


def copy(to):
    return subprocess.run([GEOALERT, "store", "copy", "--from", SQLITE_DB, "--to", to],
                          capture_output=True, text=True, timeout=600)


def sqlite_tables():
    con = sqlite3.connect(SQLITE_DB)
    try:
        return [r[0] for r in con.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name")]
    finally:
        con.close()


BATCH_ROWS = 1000  # STORE_COPY_BATCH_ROWS (src/store_copy.h)
PLACE = '同一山体 "引号" \\反斜杠 {花括号},NULL\n第二行\t'
TARGET = "ga_copy_%d" % os.getpid()
OTHER = "ga_copy_other_%d" % os.getpid()
URL = None
STATE = {}


def pg_conf(url, path):
    """ga's config with [store] url = url instead of its path, at path."""
    with open(ga.conf) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("path = %s" % SQLITE_DB, "url = %s" % url))
    return path


def test_make_deployment():
    aid = flows.new_alert(ga, st, DUTY, STATIONS[0][0])
    flows.wait_delivery(ga, DUTY, aid, "portal")
    # a second report of the same incident, and a rejected one
    # text that an array literal must escape, and the word NULL as text
    rc = st.publish(STATIONS[0][0], report(STATIONS[0][0], "cpy-second", place=PLACE,
                                           causes="NULL", trend=""))
    assert st.wait_receipt("cpy-second")["status"] == "accepted"
    st.publish(STATIONS[1][0], report(STATIONS[1][0], "cpy-bad", kind="nope"))
    assert st.wait_receipt("cpy-bad")["status"] == "rejected"
    assert rc is not None
    STATE["aid"] = aid
    # refused while serve holds the file (before the target is even tried)
    p = copy("postgresql://nobody@127.0.0.1:1/none")
    assert p.returncode == 1 and "stop geoalert serve first" in p.stderr, p.stderr
    assert ga.stop() == 0, ga.log_text()
    # a table of exactly one batch (STORE_COPY_BATCH_ROWS) and one of a
    # batch and one row, written straight into the stopped deployment
    con = sqlite3.connect(SQLITE_DB)
    with con:
        con.executemany("INSERT INTO report_counts (what, minute_ms, n) VALUES (?, ?, ?)",
                        [("cap-test", i * 60000, i) for i in range(BATCH_ROWS)])
        con.executemany("INSERT INTO login_attempts (at_ms, name, remote, ok)"
                        " VALUES (?, ?, ?, ?)",
                        [(i, "n%d" % i, "127.0.0.1", i % 2) for i in range(BATCH_ROWS + 1)])
        # 40 payloads of 64 KiB (STORE_REJECTED_RAW_MAX): their hex passes
        # STORE_COPY_BATCH_BYTES (4 MiB) after 32 rows, a second batch holds the rest
        con.executemany("INSERT INTO rejected (topic, raw, received_ms, reasons)"
                        " VALUES (?, ?, ?, '[]')",
                        [("t/big", os.urandom(65536), i) for i in range(40)])
    con.execute("ANALYZE")  # sqlite_stat1: SQLite's own, to be skipped
    con.close()
    n = dict((t, ga.query('SELECT count(*) FROM "%s"' % t)[0][0]) for t in sqlite_tables())
    for t in ("reports", "rejected", "incidents", "alert_drafts", "deliveries", "officers",
              "audit"):
        assert n[t] > 0, (t, n)
    assert n["officers"] == 2, n
    STATE["counts"] = n


def test_copy():
    global URL
    URL = create_db(TARGET)
    p = copy(URL)
    print(p.stderr, p.stdout, flush=True)
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert "row counts equal on both sides" in p.stdout, p.stdout
    assert "store copy: sqlite_stat1: skipped: SQLite's planner statistics" in p.stderr, \
        p.stderr
    for line in p.stderr.splitlines():
        assert "skipped" not in line or line.startswith("store copy: sqlite_"), line


def test_audit_verify_on_copy():
    conf = pg_conf(URL, os.path.join(ga.dir, "pg.ini"))
    p = subprocess.run([GEOALERT, "audit", "verify", "-c", conf], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    print(p.stdout.strip(), flush=True)
    # the same chain as the SQLite file's: same rows, last seq and hash
    q = subprocess.run([GEOALERT, "audit", "verify", "-c", ga.conf], capture_output=True,
                       text=True, timeout=120)
    assert q.returncode == 0 and q.stdout == p.stdout, (q.stdout, p.stdout)
    seq, h = p.stdout.split("last seq ")[1].split(" hash ")
    r = subprocess.run([GEOALERT, "audit", "verify", "-c", conf, "--anchor",
                        "%s:%s" % (seq.strip(), h.strip())],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_counts_equal():
    for t, n in STATE["counts"].items():
        got = pg_query(URL, 'SELECT count(*) FROM "%s"' % t)[0][0]
        assert got == n, (t, n, got)
    # the deployment's signing key ids came along (issue 12): serve on the
    # copy checks its key files against them (test_serve_on_copy)
    assert STATE["counts"].get("signing_keys") == 2, STATE["counts"]
    # the counters kept by triggers were copied, not counted again
    assert pg_query(URL, "SELECT channel, state, n FROM delivery_counts WHERE n > 0"
                    " ORDER BY 1, 2") == \
        pg_query(URL, "SELECT channel, state, count(*) FROM deliveries GROUP BY 1, 2"
                 " ORDER BY 1, 2")


def norm(v):
    return bytes(v) if isinstance(v, memoryview) else v


def test_rows_equal_column_by_column():
    con = sqlite3.connect(SQLITE_DB)
    compared = 0
    try:
        for t in sqlite_tables():
            info = con.execute("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid",
                               (t,)).fetchall()
            cols = [c for c, _ in info]
            pk = [c for c, k in sorted(info, key=lambda x: x[1]) if k] or cols
            sel = 'SELECT %s FROM "%s" ORDER BY %s' % (
                ", ".join('"%s"' % c for c in cols), t, ", ".join('"%s"' % c for c in pk))
            a = con.execute(sel).fetchall()
            b = [tuple(norm(v) for v in row) for row in pg_query(URL, sel)]
            assert len(a) == len(b), (t, len(a), len(b))
            for ra, rb in zip(a, b):
                for c, va, vb in zip(cols, ra, rb):
                    assert va == vb and type(va) is type(vb), (t, c, va, vb)
                compared += 1
        assert con.execute("SELECT count(*) FROM reports WHERE place = ? AND causes = 'NULL'",
                           (PLACE,)).fetchone()[0] == 1
        raw = con.execute("SELECT raw FROM rejected").fetchall()
        assert raw and all(isinstance(r[0], bytes) for r in raw), raw
        assert [r[0] for r in raw] == [bytes(r[0]) for r in pg_query(
            URL, "SELECT raw FROM rejected ORDER BY id")]
    finally:
        con.close()
    print("%d rows compared column by column" % compared, flush=True)


def test_second_copy_refused():
    before = pg_query(URL, "SELECT count(*) FROM reports")[0][0]
    p = copy(URL)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "target is not empty: table incidents holds rows" in p.stderr, p.stderr
    assert pg_query(URL, "SELECT count(*) FROM reports")[0][0] == before


def test_nonempty_target_refused():
    other = create_db(OTHER)
    # the schema made by geoalert itself (store_open migrates), then one officer
    conf = pg_conf(other, os.path.join(ga.dir, "other.ini"))
    p = subprocess.run([GEOALERT, "officer", "add", "someone", "--role", "admin", "-c", conf],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    p = copy(other)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "table audit holds rows" in p.stderr or "table officers holds rows" in p.stderr, \
        p.stderr
    assert "nothing was copied" in p.stderr, p.stderr
    assert pg_query(other, "SELECT count(*) FROM reports")[0][0] == 0
    assert pg_query(other, "SELECT count(*) FROM officers")[0][0] == 1
    # a table that is not geoalert's counts too
    third = create_db(OTHER + "_x")
    pg_query(third, "CREATE TABLE zz_extra (x int); INSERT INTO zz_extra VALUES (1)")
    p = copy(third)
    assert p.returncode == 1 and "table zz_extra holds rows" in p.stderr, p.stderr
    assert pg_query(third, "SELECT count(*) FROM reports")[0][0] == 0


def test_failure_leaves_target_empty():
    """A value PostgreSQL cannot take (text holding a NUL byte, in outbox,
    copied after incidents and reports): the copy fails naming the table,
    row and column, and the one transaction leaves every table empty."""
    bad_db = os.path.join(tmpdir("copy-bad"), "bad.db")
    src = sqlite3.connect(SQLITE_DB)
    dst = sqlite3.connect(bad_db)
    src.backup(dst)
    src.close()
    with dst:
        dst.execute("INSERT INTO outbox (topic, payload, created_ms)"
                    " VALUES ('t', CAST(x'7b00' AS TEXT), 1)")
    dst.close()
    url = create_db(OTHER + "_bad")
    p = subprocess.run([GEOALERT, "store", "copy", "--from", bad_db, "--to", url],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "table outbox, row " in p.stderr and "column payload" in p.stderr and \
        "NUL" in p.stderr, p.stderr
    assert "nothing was copied" in p.stderr, p.stderr
    for t in STATE["counts"]:
        assert pg_query(url, 'SELECT count(*) FROM "%s"' % t)[0][0] == 0, t


def test_password_in_url_refused():
    p = copy("postgresql://geoalert:s3cret@127.0.0.1:1/geoalert")
    assert p.returncode == 2 and "--password-file" in p.stderr, p.stderr
    assert "s3cret" not in p.stderr + p.stdout


def test_serve_on_copy():
    aid = STATE["aid"]
    last_seq = max(int(i.rsplit("-", 1)[1]) for (i,) in
                   ga.query("SELECT id FROM incidents"))
    day = max(i.rsplit("-", 1)[0] for (i,) in ga.query("SELECT id FROM incidents"))
    last_report = ga.query("SELECT max(id) FROM reports")[0][0]
    # the keys stay where they were, beside the SQLite file: with [store]
    # url they are named (docs/operations.md, Moving to PostgreSQL)
    ga.sections["store"] = {"url": URL}
    ga.sections["alerts"]["signing_key_file"] = os.path.join(ga.dir, "signing-key.pem")
    ga.sections["alerts"]["cap_signing_key_file"] = os.path.join(ga.dir, "cap-signing-key.pem")
    ga.write_config()
    ga.start()
    code, body = ga.get("/alerts/%s.json" % aid)
    assert code == 200 and body["alert_id"] == aid and body["version"] == 1, (code, body)
    code, _, html = flows.request(ga, "GET", "/alerts/%s" % aid)
    assert code == 200 and aid.encode() in html, code
    rc = flows.publish_large(st, STATIONS[2][0], "cpy-after")
    new = rc["incident_id"]
    assert new != aid
    if new.rsplit("-", 1)[0] == day:  # not across midnight (CST)
        assert int(new.rsplit("-", 1)[1]) == last_seq + 1, (new, last_seq)
    got = pg_query(URL, "SELECT id FROM reports WHERE report_id = 'cpy-after'")
    assert got == [(last_report + 1,)], (got, last_report)
    assert ga.stop() == 0, ga.log_text()


for fn in (test_make_deployment, test_copy, test_audit_verify_on_copy, test_counts_equal,
           test_rows_equal_column_by_column, test_second_copy_refused,
           test_nonempty_target_refused, test_failure_leaves_target_empty,
           test_password_in_url_refused, test_serve_on_copy):
    runner.run(fn)
    if runner.failed and fn in (test_make_deployment, test_copy):
        break
st.close()
runner.finish()
