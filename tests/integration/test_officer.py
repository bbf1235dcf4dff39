# ga-test-backends: sqlite pg
"""`geoalert officer add` (spec §7) and `geoalert audit verify`: the token is
printed once and stored only hashed, a taken name is refused, and verify
catches rows edited or deleted behind the append-only triggers' back.
`officer disable|enable|token|password` (issue 15): through the command line and
against the HTTP API and console of a running daemon, each audited; common
and trivial passwords refused."""
import hashlib
import http.client
import json
import os
import re
import sqlite3
import subprocess

from harness import (GEOALERT, STORE, Broker, Geoalert, Runner, pg_database, pg_query,
                     secret_file, tmpdir)

runner = Runner()


def run(*args):
    p = subprocess.run([GEOALERT, *args], capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def setup(name, create=True):
    """A config of a store of its own: db is the SQLite file's path or,
    under GA_TEST_STORE=pg, a fresh database's URL (create=False: one
    that does not exist)."""
    d = tmpdir(name)
    conf = os.path.join(d, "geoalert.ini")
    if STORE == "pg":
        db = pg_database(name) if create else pg_database(name).rsplit("/", 1)[0] + "/none"
        # with [store] url the signing keys must be named (src/config.c)
        line = ("url = %s\n[alerts]\nsigning_key_file = %s/signing-key.pem\n"
                "cap_signing_key_file = %s/cap-signing-key.pem" % (db, d, d))
    else:
        db = os.path.join(d, "geoalert.db")
        line = "path = %s" % db
    with open(conf, "w") as f:
        f.write("[store]\n%s\n" % line)
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
    if STORE == "pg":
        return pg_query(db, sql, args)
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def tamper(db, sql):
    """sql behind the append-only triggers' back."""
    if STORE == "pg":
        # a superuser's session that fires no triggers (tests/pg.sh's role)
        pg_query(db, "SET session_replication_role = replica;" + sql)
        return
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
    # bob's id: 2 on SQLite; PostgreSQL's sequence gave the refused insert
    # a number of its own (sequences are not rolled back)
    ids = query(db, "SELECT id FROM officers ORDER BY id")
    audit = query(db, "SELECT seq, action, subject, officer_id FROM audit ORDER BY seq")
    assert audit == [(1, "officer.add", "officer:%d" % ids[0][0], None),
                     (2, "officer.add", "officer:%d" % ids[1][0], None)], (audit, ids)
    assert ids[0][0] == 1 and (STORE == "pg" or ids[1][0] == 2), ids


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
    if STORE == "sqlite":
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
        try:
            query(db, sql)
            raise AssertionError("trigger let through: " + sql)
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001 - sqlite3 or psycopg2's error
            assert "append-only" in str(e), e
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


def audit_actions(db):
    return [r[0] for r in query(db, "SELECT action FROM audit ORDER BY seq")]


def test_common_and_trivial_passwords_refused():
    d, db, conf = setup("officer-weak")
    cases = [("12345678", "consecutive"), ("aaaaaaaa", "one character repeated"),
             ("abcabcabc", "pattern"), ("football", "common passwords"),
             ("FOOTBALL", "common passwords"), ("kestrel-on-duty", "name")]
    for pw, why in cases:
        rc, out, err = add(conf, "kestrel", "admin", "--password-file",
                           secret_file(d, "pw", pw))
        assert rc == 1 and out == "", (pw, rc, out, err)
        assert "password refused" in err and why in err, (pw, err)
        assert pw not in err, err  # the message never repeats the password
    assert query(db, "SELECT count(*) FROM officers") == [(0,)]
    rc, out, err = add(conf, "kestrel", "admin", "--password-file",
                       secret_file(d, "pw", "amber lantern over the quarry"))
    assert rc == 0, err
    token_of(out)


def test_disable_enable_token_cli():
    d, db, conf = setup("officer-disable")
    rc, out, err = add(conf, "otto", "supervisor")
    assert rc == 0, err
    old = token_of(out)
    assert add(conf, "pia")[0] == 0
    # token: a new one on stdout alone, only its hash stored, the old gone
    rc, out, err = run("officer", "token", "otto", "-c", conf)
    assert rc == 0, err
    new = token_of(out)
    assert new != old
    assert "otto" in err and "old one no longer works" in err, err
    (h,) = query(db, "SELECT token_hash FROM officers WHERE name = 'otto'")[0]
    assert h == hashlib.sha256(new.encode()).hexdigest(), h
    assert query(db, "SELECT count(*) FROM officers WHERE token_hash = ?",
                 (hashlib.sha256(old.encode()).hexdigest(),)) == [(0,)]
    # disable, twice (the second changes nothing and records nothing), enable
    rc, out, err = run("officer", "disable", "otto", "-c", conf)
    assert rc == 0 and out == "" and "disabled" in err, (out, err)
    assert query(db, "SELECT disabled FROM officers WHERE name = 'otto'") == [(1,)]
    rc, _, err = run("officer", "disable", "otto", "-c", conf)
    assert rc == 0 and "already" in err, err
    assert query(db, "SELECT disabled FROM officers WHERE name = 'pia'") == [(0,)]
    rc, _, err = run("officer", "enable", "otto", "-c", conf)
    assert rc == 0 and "enabled" in err, err
    assert query(db, "SELECT disabled FROM officers WHERE name = 'otto'") == [(0,)]
    # unknown officer, usage, missing database
    for verb in ("disable", "enable", "token"):
        rc, out, err = run("officer", verb, "nobody", "-c", conf)
        assert rc == 1 and out == "" and "no officer named nobody" in err, (verb, out, err)
        rc, _, err = run("officer", verb, "otto")
        assert rc == 2 and "usage" in err, err
        rc, _, err = run("officer", verb, "-c", conf)
        assert rc == 2 and "usage" in err, err
    d2, db2, conf2 = setup("officer-nodb", create=False)
    rc, _, err = run("officer", "disable", "otto", "-c", conf2)
    if STORE == "sqlite":
        assert rc == 1 and "not found" in err, err
        assert not os.path.exists(db2)
    else:  # no such database: nothing created either
        assert rc == 1, err
    # every change audited, none of the secrets in the trail, chain intact
    assert audit_actions(db) == ["officer.add", "officer.add", "officer.token",
                                 "officer.disable", "officer.enable"], audit_actions(db)
    rows = query(db, "SELECT subject, officer_id, detail FROM audit WHERE seq > 2 ORDER BY seq")
    for subject, oid, detail in rows:
        assert subject == "officer:1" and oid is None, rows
        assert json.loads(detail)["name"] == "otto", detail
        assert new not in detail and old not in detail and h not in detail, detail
    rc, out, err = verify(conf)
    assert rc == 0 and out.startswith("ok: 5 rows"), out + err


def api(ga, method, path, token=None, cookie=None, body=None, headers=None):
    """(status, parsed JSON body) of one request to ga."""
    conn = http.client.HTTPConnection("127.0.0.1", ga.http_port, timeout=10)
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = "Bearer " + token
    if cookie:
        hdrs["Cookie"] = "geoalert_session=" + cookie
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        cookies = r.headers.get_all("Set-Cookie") or []
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return r.status, parsed, cookies
    finally:
        conn.close()


def login(ga, name, password):
    """A console session cookie's value, or None when the login is refused.
    (X-Geoalert-Login: the header the console sends, issue 15's login CSRF.)"""
    code, body, cookies = api(ga, "POST", "/console/login",
                              body={"name": name, "password": password},
                              headers={"X-Geoalert-Login": "1"})
    if code != 200:
        return None
    for c in cookies:
        if c.startswith("geoalert_session="):
            return c.split(";")[0].split("=", 1)[1]
    raise AssertionError("login without a cookie: %r" % cookies)


def test_disable_and_token_against_running_daemon():
    """The daemon refuses a disabled officer's token, password and open
    session, and a rotated-away token, from the next request on."""
    pw = "amber lantern over the quarry"
    broker = Broker().start()
    ga = Geoalert(broker, name="officer-revoke")
    rc, out, err = add(ga.conf, "quinn", "supervisor", "--password-file",
                       secret_file(ga.dir, "quinn.pw", pw))
    assert rc == 0, err
    token = token_of(out)
    rc, out, err = add(ga.conf, "rosa", "duty_officer")
    assert rc == 0, err
    other = token_of(out)
    ga.start()
    try:
        path = "/api/v1/alerts?state=pending"
        assert api(ga, "GET", path, token)[0] == 200
        cookie = login(ga, "quinn", pw)
        assert cookie, "quinn cannot log in"
        assert api(ga, "GET", "/console/session", cookie=cookie)[0] == 200
        assert api(ga, "GET", path, cookie=cookie)[0] == 200

        # a new token: the old one refused at once, the new one accepted
        rc, out, err = run("officer", "token", "quinn", "-c", ga.conf)
        assert rc == 0, err
        new = token_of(out)
        code, body, _ = api(ga, "GET", path, token)
        assert code == 401, body
        assert api(ga, "GET", path, new)[0] == 200
        assert api(ga, "GET", "/console/session", cookie=cookie)[0] == 200

        # disabled: token, open session and password all refused at once
        rc, _, err = run("officer", "disable", "quinn", "-c", ga.conf)
        assert rc == 0, err
        code, body, _ = api(ga, "GET", path, new)
        assert code == 401, body
        code, body, _ = api(ga, "GET", "/console/session", cookie=cookie)
        assert code == 401, body
        assert api(ga, "GET", path, cookie=cookie)[0] == 401
        assert login(ga, "quinn", pw) is None
        assert query(ga.db or ga.url, "SELECT count(*) FROM sessions s JOIN officers o"
                            " ON o.id = s.officer_id WHERE o.name = 'quinn'") == [(0,)]
        # another officer is not touched
        assert api(ga, "GET", path, other)[0] == 200

        # enabled again: the current token and the password work; the
        # session ended by disabling stays ended
        rc, _, err = run("officer", "enable", "quinn", "-c", ga.conf)
        assert rc == 0, err
        assert api(ga, "GET", path, new)[0] == 200
        assert api(ga, "GET", path, token)[0] == 401
        assert api(ga, "GET", "/console/session", cookie=cookie)[0] == 401
        cookie2 = login(ga, "quinn", pw)
        assert cookie2 and api(ga, "GET", "/console/session", cookie=cookie2)[0] == 200

        acts = [a for a in audit_actions(ga.db or ga.url) if a.startswith("officer.")]
        assert acts == ["officer.add", "officer.add", "officer.token", "officer.disable",
                        "officer.enable"], acts
        rc, out, err = verify(ga.conf)
        assert rc == 0 and out.startswith("ok: "), out + err
        ga.wait_healthy(timeout=10)
    finally:
        assert ga.stop() == 0, ga.log_text()
        broker.stop()


def test_password_change_against_running_daemon():
    """`officer password`: the new password logs in, the old one and every
    open session of theirs are refused at once; a common password is
    refused with nothing changed; --none removes console login while the
    API token keeps working; each change one audit row without secrets."""
    old_pw, new_pw = "amber lantern over the quarry", "slate ridge under winter rain"
    broker = Broker().start()
    ga = Geoalert(broker, name="officer-password")
    rc, out, err = add(ga.conf, "uli", "duty_officer", "--password-file",
                       secret_file(ga.dir, "uli.pw", old_pw))
    assert rc == 0, err
    token = token_of(out)
    ga.start()
    try:
        path = "/api/v1/alerts?state=pending"
        cookie = login(ga, "uli", old_pw)
        assert cookie and api(ga, "GET", "/console/session", cookie=cookie)[0] == 200
        (h0,) = query(ga.db or ga.url, "SELECT password_hash FROM officers WHERE name = 'uli'")[0]

        # refused by the policy: nothing changes, the session lives on
        rc, out, err = run("officer", "password", "uli", "-c", ga.conf, "--password-file",
                           secret_file(ga.dir, "weak.pw", "football"))
        assert rc == 1 and out == "", (out, err)
        assert query(ga.db or ga.url,
                     "SELECT password_hash FROM officers WHERE name = 'uli'") == [(h0,)]
        assert api(ga, "GET", "/console/session", cookie=cookie)[0] == 200
        # usage: neither or both of --password-file and --none
        assert run("officer", "password", "uli", "-c", ga.conf)[0] == 2
        assert run("officer", "password", "uli", "-c", ga.conf, "--none", "--password-file",
                   secret_file(ga.dir, "x.pw", new_pw))[0] == 2
        rc, _, err = run("officer", "password", "nobody", "-c", ga.conf, "--none")
        assert rc == 1 and "no officer named nobody" in err, err

        rc, out, err = run("officer", "password", "uli", "-c", ga.conf, "--password-file",
                           secret_file(ga.dir, "new.pw", new_pw))
        assert rc == 0 and out == "" and "new console password" in err, (out, err)
        (h1,) = query(ga.db or ga.url, "SELECT password_hash FROM officers WHERE name = 'uli'")[0]
        assert h1 != h0 and h1.startswith("$argon2id$"), h1
        assert api(ga, "GET", "/console/session", cookie=cookie)[0] == 401
        assert login(ga, "uli", old_pw) is None
        cookie2 = login(ga, "uli", new_pw)
        assert cookie2 and api(ga, "GET", "/console/session", cookie=cookie2)[0] == 200
        assert api(ga, "GET", path, token)[0] == 200

        rc, _, err = run("officer", "password", "uli", "-c", ga.conf, "--none")
        assert rc == 0 and "no console password" in err, err
        assert query(ga.db or ga.url,
                     "SELECT password_hash FROM officers WHERE name = 'uli'") == [(None,)]
        assert api(ga, "GET", "/console/session", cookie=cookie2)[0] == 401
        assert login(ga, "uli", new_pw) is None
        assert api(ga, "GET", path, token)[0] == 200

        acts = [a for a in audit_actions(ga.db or ga.url) if a.startswith("officer.")]
        assert acts == ["officer.add", "officer.password", "officer.password"], acts
        rows = query(ga.db or ga.url, "SELECT detail FROM audit WHERE action = 'officer.password'"
                     " ORDER BY seq")
        details = [json.loads(d) for (d,) in rows]
        assert [d["password"] for d in details] == [True, False], details
        assert details[0]["sessions_ended"] == 1, details
        for (d,) in rows:
            assert new_pw not in d and h1 not in d and old_pw not in d, d
        rc, out, err = verify(ga.conf)
        assert rc == 0 and out.startswith("ok: "), out + err
    finally:
        assert ga.stop() == 0, ga.log_text()
        broker.stop()


runner.run(test_add_prints_token_once_and_stores_its_hash)
runner.run(test_usage_errors)
runner.run(test_password_file)
runner.run(test_audit_verify_and_tamper)
runner.run(test_audit_verify_deleted_row)
runner.run(test_add_while_daemon_runs)
runner.run(test_common_and_trivial_passwords_refused)
runner.run(test_disable_enable_token_cli)
runner.run(test_disable_and_token_against_running_daemon)
runner.run(test_password_change_against_running_daemon)
runner.finish()
