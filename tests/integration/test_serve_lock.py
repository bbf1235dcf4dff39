"""One `geoalert serve` per SQLite file (spec §10): a second serve on the
same database is refused with a message naming the running one, and the
lock, an fcntl lock the kernel drops with its process, never outlives a
kill -9."""
import os
import subprocess

from harness import GEOALERT, Broker, Geoalert, Runner

runner = Runner()
broker = Broker().start()
ga = Geoalert(broker)
ga.start()


def second_serve():
    return subprocess.run([GEOALERT, "serve", "-c", ga.conf], capture_output=True, timeout=60)


def test_second_serve_is_refused_naming_the_first():
    p = second_serve()
    err = p.stderr.decode()
    assert p.returncode != 0, (p.returncode, err)
    assert "in use by another geoalert serve (pid %d, geoalert)" % ga.proc.pid in err, err
    assert ga.db in err, err
    # the first one is untouched and still answers
    ga.wait_healthy(timeout=10)
    mode = os.stat(ga.db + ".lock").st_mode & 0o777
    assert mode == 0o600, oct(mode)


def test_lock_dies_with_kill9():
    ga.kill9()
    # the file stays, with the dead pid in it: it must not block a restart
    with open(ga.db + ".lock") as f:
        assert f.read().strip().isdigit()
    ga.start()
    ga.wait_healthy(timeout=30)
    p = second_serve()
    assert p.returncode != 0 and ("pid %d" % ga.proc.pid) in p.stderr.decode(), p.stderr


def test_command_line_verbs_run_beside_serve():
    p = subprocess.run([GEOALERT, "audit", "verify", "-c", ga.conf], capture_output=True,
                       timeout=60)
    assert p.returncode == 0 and p.stdout.decode().startswith("ok: "), (p.stdout, p.stderr)


for t in (test_second_serve_is_refused_naming_the_first, test_lock_dies_with_kill9,
          test_command_line_verbs_run_beside_serve):
    runner.run(t)
ga.stop()
broker.stop()
runner.finish()
