"""`geoalert officer add` (spec §7) and `geoalert audit verify`: the token is
printed once and stored only hashed, a taken name is refused, and verify
catches rows edited or deleted behind the append-only triggers' back."""
import hashlib
import os
import re
import sqlite3
import subprocess

from harness import GEOALERT, Broker, Geoalert, Runner, tmpdir

runner = Runner()


def run(*args):
    p = subprocess.run([GEOALERT, *args], capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def setup(name):
    d = tmpdir(name)
    db = os.path.join(d, "geoalert.db")
    conf = os.path.join(d, "geoalert.ini")
    with open(conf, "w") as f:
        f.write("[store]\npath = %s\n" % db)
    return d, db, conf


def add(conf, name, role="duty_officer", *extra):
    return run("officer", "add", name, "--role", role, "-c", conf, *extra)


def token_of(out):
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", lines[0]), out
    return lines[0]


def verify(conf, *extra):
    return run("audit", "verify", "-c", conf, *extra)


def query(db, sql, args=()):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def tamper(db, sql):
    con = sqlite3.connect(db, timeout=10)
    try:
        con.executescript("DROP TRIGGER IF EXISTS audit_no_update;"
                          "DROP TRIGGER IF EXISTS audit_no_delete;" + sql)
    finally:
        con.close()


def test_add_prints_token_once_and_stores_its_hash():
    d, db, conf = setup("officer-add")
    rc, out, err = add(conf, "alice")
    assert rc == 0, err
    token = token_of(out)
    assert "alice" in err and "duty_officer" in err, err
    rows = query(db, "SELECT name, role, token_hash, password_hash FROM officers")
    assert rows == [("alice", "duty_officer", hashlib.sha256(token.encode()).hexdigest(),
                     None)], rows
    for path in (db, db + "-wal"):
        if os.path.exists(path):
            with open(path, "rb") as f:
                assert token.encode() not in f.read(), path
    # Same name again: refused, with a message, no token, nothing stored.
    rc, out, err = add(conf, "alice", "admin")
    assert rc != 0
    assert out == "", out
    assert "alice" in err and "exists" in err, err
    assert query(db, "SELECT count(*) FROM officers") == [(1,)]
    # A second officer gets a different token.
    rc, out, err = add(conf, "bob", "supervisor")
    assert rc == 0, err
    assert token_of(out) != token
    audit = query(db, "SELECT seq, action, subject, officer_id FROM audit ORDER BY seq")
    assert audit == [(1, "officer.add", "officer:1", None),
                     (2, "officer.add", "officer:2", None)], audit


def test_usage_errors():
    d, db, conf = setup("officer-usage")
    rc, out, err = add(conf, "carol", "root")
    assert rc == 2 and "unknown role" in err, err
    rc, _, err = run("officer", "add", "carol", "-c", conf)
    assert rc == 2 and "usage" in err, err
    rc, _, err = run("officer", "add", "carol", "--role", "admin")
    assert rc == 2 and "usage" in err, err
    rc, _, err = add(conf, "has space")
    assert rc == 1 and "name" in err, err
    rc, _, err = run("officer", "add", "--password", "x", "carol", "--role", "admin", "-c", conf)
    assert rc == 2, err
    rc, _, err = run("audit", "verify")
    assert rc == 2 and "usage" in err, err


def test_password_file():
    d, db, conf = setup("officer-pw")
    pw = os.path.join(d, "pw")
    with open(pw, "w") as f:
        f.write("a long enough password\n")
    rc, out, err = add(conf, "dora", "admin", "--password-file", pw)
    assert rc == 0, err
    token_of(out)
    (h,) = query(db, "SELECT password_hash FROM officers WHERE name = 'dora'")[0]
    assert h.startswith("$argon2id$"), h
    with open(db, "rb") as f:
        assert b"a long enough password" not in f.read()
    with open(pw, "w") as f:
        f.write("short\n")
    rc, out, err = add(conf, "erik", "admin", "--password-file", pw)
    assert rc == 1 and "at least" in err and out == "", err
    rc, out, err = add(conf, "erik", "admin", "--password-file", os.path.join(d, "missing"))
    assert rc == 1 and "missing" in err, err


def test_audit_verify_and_tamper():
    d, db, conf = setup("audit")
    for name in ("a1", "a2", "a3", "a4"):
        rc, _, err = add(conf, name)
        assert rc == 0, err
    rc, out, err = verify(conf)
    assert rc == 0, out + err
    m = re.fullmatch(r"ok: 4 rows, last seq 4 hash ([0-9a-f]{64})\n", out)
    assert m, out
    last = m.group(1)
    assert query(db, "SELECT hash FROM audit WHERE seq = 4") == [(last,)]
    # An anchor taken now holds.
    rc, out, _ = verify(conf, "--anchor", "4:" + last)
    assert rc == 0, out
    # The triggers refuse edits and deletes.
    for sql in ("UPDATE audit SET detail = '{}' WHERE seq = 2", "DELETE FROM audit WHERE seq = 2"):
        con = sqlite3.connect(db, timeout=10)
        try:
            con.execute(sql)
            con.commit()
            raise AssertionError("trigger let through: " + sql)
        except sqlite3.DatabaseError as e:
            assert "append-only" in str(e), e
        finally:
            con.close()
    # Cut the tail: not visible alone, visible against the anchor.
    tamper(db, "DELETE FROM audit WHERE seq = 4;")
    rc, out, _ = verify(conf)
    assert rc == 0 and "last seq 3" in out, out
    rc, out, _ = verify(conf, "--anchor", "4:" + last)
    assert rc == 1 and "seq 4" in out and "tail" in out, out
    # Edit a row: named.
    tamper(db, "UPDATE audit SET detail = '{\"name\":\"mallory\"}' WHERE seq = 2;")
    rc, out, _ = verify(conf)
    assert rc == 1, out
    assert out.startswith("bad: seq 2:") and "edited" in out, out


def test_audit_verify_deleted_row():
    d, db, conf = setup("audit-del")
    for name in ("b1", "b2", "b3"):
        assert add(conf, name)[0] == 0
    tamper(db, "DELETE FROM audit WHERE seq = 2;")
    rc, out, _ = verify(conf)
    assert rc == 1, out
    assert out.startswith("bad: seq 2:") and "missing" in out, out


def test_add_while_daemon_runs():
    """The commands share the database with a running service (WAL)."""
    broker = Broker().start()
    ga = Geoalert(broker, name="officer-live").start()
    try:
        for name in ("live1", "live2"):
            rc, out, err = add(ga.conf, name, "supervisor")
            assert rc == 0, err
            token_of(out)
        rc, out, err = verify(ga.conf)
        assert rc == 0 and out.startswith("ok: 2 rows"), out + err
        ga.wait_healthy(timeout=10)
    finally:
        assert ga.stop() == 0, ga.log_text()
        broker.stop()


runner.run(test_add_prints_token_once_and_stores_its_hash)
runner.run(test_usage_errors)
runner.run(test_password_file)
runner.run(test_audit_verify_and_tamper)
runner.run(test_audit_verify_deleted_row)
runner.run(test_add_while_daemon_runs)
runner.finish()
