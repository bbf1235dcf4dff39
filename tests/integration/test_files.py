"""Files holding secrets under umask 022 (issue 15): the database, its -wal
and -shm (phones, password hashes) and backups are 0600; one left 0644 by
an older geoalert is tightened; a signing key open to group or others
(either: the Ed25519 one and the CAP XML-DSig one) stops `serve` and
`check-config`, naming the file and `chmod 600 FILE`."""
import os
import stat
import subprocess

from harness import GEOALERT, Broker, Geoalert, Runner, Station, report

# What a login shell usually has: files are created 0644 unless the
# program asks for less. Every process below inherits it.
os.umask(0o022)

runner = Runner()
broker = Broker().start()


def run(*args):
    p = subprocess.run([GEOALERT, *args], capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_control_umask_022_makes_0644():
    """The control: under this umask a plain file is 0644, so the 0600s
    below are geoalert's doing."""
    d = Geoalert(broker, name="files-control").dir
    p = os.path.join(d, "plain")
    with open(p, "w") as f:
        f.write("x")
    assert mode(p) == 0o644, oct(mode(p))


def test_database_wal_shm_and_backup_0600():
    ga = Geoalert(broker, name="files-db").start()
    try:
        st = Station(broker)
        st.publish("JS-3201-0007", report("JS-3201-0007", "files-0001",
                                          reporter={"name": "王建国", "phone": "13800001111"}))
        st.wait_receipt("files-0001")
        st.close()
        # The daemon holds the database open: the -wal and -shm exist.
        for suffix in ("", "-wal", "-shm"):
            assert os.path.exists(ga.db + suffix), suffix
            assert mode(ga.db + suffix) == 0o600, (suffix, oct(mode(ga.db + suffix)))
        # Both signing keys, made at this first start.
        for key in ("signing-key.pem", "cap-signing-key.pem"):
            p = os.path.join(ga.dir, key)
            assert mode(p) == 0o600, (key, oct(mode(p)))
        # A backup taken while it runs.
        dest = os.path.join(ga.dir, "backup.db")
        rc, out, err = run("backup", dest, "-c", ga.conf)
        assert rc == 0, err
        assert mode(dest) == 0o600, oct(mode(dest))
        for suffix in ("-wal", "-shm", "-journal"):
            assert not os.path.exists(dest + suffix), suffix
        # Over an existing 0644 file, the backup is 0600 too.
        with open(dest, "w") as f:
            f.write("")
        os.chmod(dest, 0o644)
        rc, out, err = run("backup", dest, "-c", ga.conf)
        assert rc == 0, err
        assert mode(dest) == 0o600, oct(mode(dest))
    finally:
        assert ga.stop() == 0, ga.log_text()


def test_database_made_by_a_command_0600_and_old_one_tightened():
    ga = Geoalert(broker, name="files-cmd")
    rc, out, err = run("officer", "add", "tomas", "--role", "admin", "-c", ga.conf)
    assert rc == 0, err
    assert mode(ga.db) == 0o600, oct(mode(ga.db))
    # A database left 0644 by an older geoalert: tightened, and said.
    os.chmod(ga.db, 0o644)
    rc, out, err = run("officer", "token", "tomas", "-c", ga.conf)
    assert rc == 0, err
    assert mode(ga.db) == 0o600, oct(mode(ga.db))
    assert ga.db in err and "644" in err and "600" in err, err
    # The daemon tightens it too, and its -wal and -shm follow.
    os.chmod(ga.db, 0o640)
    ga.start()
    try:
        for suffix in ("", "-wal", "-shm"):
            assert mode(ga.db + suffix) == 0o600, (suffix, oct(mode(ga.db + suffix)))
        assert "640" in ga.log_text(), ga.log_text()
    finally:
        assert ga.stop() == 0, ga.log_text()


def test_loose_signing_keys_refused():
    ga = Geoalert(broker, name="files-keys")
    ga.start()  # makes both keys, 0600
    assert ga.stop() == 0, ga.log_text()
    rc, out, _ = run("check-config", "-c", ga.conf)
    assert rc == 0, out
    for key, option in (("signing-key.pem", "signing_key_file"),
                        ("cap-signing-key.pem", "cap_signing_key_file")):
        path = os.path.join(ga.dir, key)
        for loose in (0o644, 0o640, 0o604):
            os.chmod(path, loose)
            rc, out, _ = run("check-config", "-c", ga.conf)
            assert rc == 1, (key, oct(loose), out)
            assert option in out and path in out, out
            assert "chmod 600 " + path in out, out
        before = os.path.getsize(ga.log) if os.path.exists(ga.log) else 0
        ga.start(wait=False)
        assert ga.proc.wait(timeout=60) != 0, key
        log = ga.log_text()[before:]
        assert option in log and "chmod 600 " + path in log, log
        os.chmod(path, 0o600)
        rc, out, _ = run("check-config", "-c", ga.conf)
        assert rc == 0, (key, out)
    # Put right, it serves again.
    ga.start()
    assert ga.stop() == 0, ga.log_text()


try:
    runner.run(test_control_umask_022_makes_0644)
    runner.run(test_database_wal_shm_and_backup_0600)
    runner.run(test_database_made_by_a_command_0600_and_old_one_tightened)
    runner.run(test_loose_signing_keys_refused)
finally:
    broker.stop()
runner.finish()
