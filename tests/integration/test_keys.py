"""The keys a deployment signs with (issue 12, spec §10;
docs/high-availability.md, Signing keys): the first serve on a database
records its key ids; an instance B whose key files differ is refused
before it serves anything, naming the key file, both ids and the way out;
a key file B made at that start (it was missing: a new machine, a
forgotten copy) is removed again; `geoalert keys check` says the same
without starting; `geoalert keys adopt` records B's keys (refused on
SQLite while serve runs), B then starts and A, with the old keys, is
refused until it has B's files.

On PostgreSQL B is a second instance on A's database, A running; on
SQLite B is another config on A's file, A stopped (one serve per file).
Every wait is bounded."""
# ga-test-backends: sqlite pg
import os
import re
import shutil
import socket
import subprocess
import urllib.request

from harness import GEOALERT, STORE, Broker, Geoalert, Runner

runner = Runner()
broker = Broker().start()
PG = STORE == "pg"


def node(name, store_url=None):
    ga = Geoalert(broker, name=name, store_url=store_url,
                  extra={"cluster": {"instance": name}} if PG else None)
    # both keys in the node's own dir, named (on SQLite the default would
    # be beside the database, which is A's)
    ga.sections["alerts"]["signing_key_file"] = os.path.join(ga.dir, "signing-key.pem")
    ga.sections["alerts"]["cap_signing_key_file"] = os.path.join(ga.dir, "cap-signing-key.pem")
    ga.write_config()
    return ga


a = node("keys-a")
b = node("keys-b", store_url=a.url if PG else None)
if not PG:
    b.sections["store"]["path"] = a.db
    b.db = a.db
    b.write_config()
A_KEY, A_CAP = a.sections["alerts"]["signing_key_file"], a.sections["alerts"]["cap_signing_key_file"]
B_KEY, B_CAP = b.sections["alerts"]["signing_key_file"], b.sections["alerts"]["cap_signing_key_file"]
STATE = {}


def served_ids(ga):
    """The key ids the instance publishes (/.well-known/...)."""
    out = []
    for what in ("geoalert-signing-key", "geoalert-cap-signing-key"):
        with urllib.request.urlopen("http://127.0.0.1:%d/.well-known/%s"
                                    % (ga.http_port, what), timeout=5) as r:
            out.append(re.search(r"key_id ([0-9a-f]{16})", r.read().decode()).group(1))
    return tuple(out)


def recorded():
    return dict(a.query("SELECT purpose, key_id FROM signing_keys"))


def keys(cmd, ga):
    return subprocess.run([GEOALERT, "keys", cmd, "-c", ga.conf], capture_output=True,
                          text=True, timeout=60)


def refused(ga):
    """Starts ga, which must exit non-zero without serving; its log of
    this start."""
    before = os.path.getsize(ga.log) if os.path.exists(ga.log) else 0
    ga.start(wait=False)
    rc = ga.proc.wait(timeout=60)
    log = ga.log_text()[before:]
    assert rc != 0, log
    with socket.socket() as s:  # nothing of it was published: no HTTP server
        assert s.connect_ex(("127.0.0.1", ga.http_port)) != 0
    assert "refusing to start" in log and "geoalert keys adopt -c" in log, log
    return log


def test_first_start_records():
    a.start()
    STATE["a"] = served_ids(a)
    assert recorded() == {"alert": STATE["a"][0], "cap": STATE["a"][1]}, recorded()
    assert "key_id %s recorded in the database" % STATE["a"][0] in a.log_text()
    if not PG:
        assert a.stop() == 0, a.log_text()


def test_fresh_keys_refused_and_removed():
    """B's key files are missing: B makes them, finds the database records
    others, refuses and removes what it made."""
    log = refused(b)
    for option, path, rec in (("signing_key_file", B_KEY, STATE["a"][0]),
                              ("cap_signing_key_file", B_CAP, STATE["a"][1])):
        assert re.search(r"\[alerts\] %s %s: key_id [0-9a-f]{16} is not the key this"
                         r" deployment signs with: the database records key_id %s"
                         % (option, re.escape(path), rec), log), log
        assert "%s %s: made at this start (the file was missing): removed again" % (
            option, path) in log, log
        assert not os.path.exists(path), path
    assert "was made at this start" in log, log
    assert recorded() == {"alert": STATE["a"][0], "cap": STATE["a"][1]}, recorded()
    if PG:
        assert a.query("SELECT count(*) FROM cluster_instances WHERE name = 'keys-b'") == [(0,)]
        assert served_ids(a) == STATE["a"]  # A is untouched


def test_other_key_file_refused_and_kept():
    """B has a key file of its own (not made by serve) for alerts and A's
    CAP key: only the alert key is named, and its file stays."""
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", B_KEY], check=True,
                   capture_output=True, timeout=30)
    os.chmod(B_KEY, 0o600)
    shutil.copy(A_CAP, B_CAP)
    os.chmod(B_CAP, 0o600)
    chk = keys("check", b)
    assert chk.returncode == 1, chk
    m = re.search(r"signing_key_file %s: key_id ([0-9a-f]{16}), recorded %s .*DIFFERENT"
                  % (re.escape(B_KEY), STATE["a"][0]), chk.stdout)
    assert m, chk.stdout
    STATE["b"] = (m.group(1), STATE["a"][1])
    assert re.search(r"cap_signing_key_file %s: key_id %s, recorded %s .*: ok"
                     % (re.escape(B_CAP), STATE["a"][1], STATE["a"][1]), chk.stdout), chk.stdout
    log = refused(b)
    assert "signing_key_file %s: key_id %s is not the key this deployment signs with: the" \
        " database records key_id %s" % (B_KEY, STATE["b"][0], STATE["a"][0]) in log, log
    assert "cap_signing_key_file %s: key_id" % B_CAP not in log, log
    assert "made at this start" not in log, log
    assert os.path.exists(B_KEY)
    assert keys("check", a).returncode == 0


def test_adopt_then_b_starts_and_a_needs_the_copy():
    if not PG:
        a.start()  # the SQLite file's serve: adopt waits for it to stop
        p = keys("adopt", b)
        assert p.returncode == 1 and "stop geoalert serve first" in p.stderr, p
        assert recorded()["alert"] == STATE["a"][0]
    assert a.stop() == 0, a.log_text()
    p = keys("adopt", b)
    assert p.returncode == 0, p
    assert "signing_key_file %s: key_id %s recorded (was %s)" % (
        B_KEY, STATE["b"][0], STATE["a"][0]) in p.stdout, p.stdout
    assert "cap_signing_key_file %s: key_id %s: recorded already" % (
        B_CAP, STATE["b"][1]) in p.stdout, p.stdout
    assert recorded() == {"alert": STATE["b"][0], "cap": STATE["b"][1]}, recorded()
    b.start()
    assert served_ids(b) == STATE["b"]
    if not PG:
        assert b.stop() == 0, b.log_text()
    # A still has the old alert key: refused, its file kept
    log = refused(a)
    assert "signing_key_file %s: key_id %s" % (A_KEY, STATE["a"][0]) in log, log
    assert os.path.exists(A_KEY)
    # the documented fix: copy the key files from a running instance
    shutil.copy(B_KEY, A_KEY)
    a.start()
    assert served_ids(a) == STATE["b"]
    assert a.stop() == 0, a.log_text()
    if PG:
        assert b.stop() == 0, b.log_text()


try:
    for t in (test_first_start_records, test_fresh_keys_refused_and_removed,
              test_other_key_file_refused_and_kept,
              test_adopt_then_b_starts_and_a_needs_the_copy):
        runner.run(t)
finally:
    a.stop()
    b.stop()
    broker.stop()
runner.finish()
