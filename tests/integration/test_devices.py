# ga-test-backends: sqlite pg
"""Monitoring devices (spec §12, issue 13): the [devices] file is checked
by `check-config` with FILE:LINE errors, refused at start when bad, and
reloaded on SIGHUP (a bad file refused, the old one kept)."""
import json
import os
import shutil
import signal
import subprocess
import time

from harness import GEOALERT, SRC, Broker, Geoalert, Runner

runner = Runner()
broker = Broker().start()
EXAMPLE = os.path.join(SRC, "tests", "data", "devices", "devices.json")


def run(*args):
    p = subprocess.run([GEOALERT, *args], capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def wait_log(ga, text, start, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in ga.log_text()[start:]:
            return
        time.sleep(0.1)
    raise AssertionError("%r not in the log:\n%s" % (text, ga.log_text()[start:]))


def test_check_config_and_reload():
    ga = Geoalert(broker, name="devices-config")
    path = os.path.join(ga.dir, "devices.json")
    shutil.copy(EXAMPLE, path)
    ga.sections["devices"] = {"file": path}
    ga.write_config()
    rc, out, _ = run("check-config", "-c", ga.conf)
    assert rc == 0, out
    assert "%s: ok (1 devices)" % path in out, out

    # red below orange on the example's first rule (line 8 starts it)
    doc = json.load(open(EXAMPLE))
    doc["devices"][0]["rules"][0]["red"] = 9
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    rc, out, _ = run("check-config", "-c", ga.conf)
    assert rc == 1, out
    assert out.startswith("%s:8: " % path) and "levels not increasing" in out, out
    # and serve refuses to start on it
    ga.start(wait=False)
    assert ga.proc.wait(timeout=60) != 0
    assert "levels not increasing" in ga.log_text()

    shutil.copy(EXAMPLE, path)
    ga.start()
    before = len(ga.log_text())
    # a bad file on SIGHUP: refused, the old one kept
    with open(path, "w") as f:
        f.write('{"devices": [\n{"device_code": "X", "station_id": "NO-SUCH"}]}')
    ga.signal(signal.SIGHUP)
    wait_log(ga, "reload: device registry refused, keeping the old one", before)
    assert "%s:2: device X: unknown station NO-SUCH" % path in ga.log_text()[before:]
    # a good one with two devices: loaded
    doc = json.load(open(EXAMPLE))
    second = dict(doc["devices"][0], device_code="SK00EA0D1307987")
    doc["devices"].append(second)
    with open(path, "w") as f:
        json.dump(doc, f)
    before = len(ga.log_text())
    ga.signal(signal.SIGHUP)
    wait_log(ga, "reload: device registry loaded, 2 devices", before)
    assert ga.stop() == 0, ga.log_text()


try:
    runner.run(test_check_config_and_reload)
finally:
    broker.stop()
runner.finish()
