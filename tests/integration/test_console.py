"""The duty officers' console in headless Chromium (tests/browser/
console.test.js, playwright-core): log in, see the pending draft of a
large incident, edit the headline, confirm, see it published. The real
broker and daemon; screenshots land in the build directory."""
import json
import os
import shutil
import subprocess
import time
import urllib.request

from harness import BUILD, GEOALERT, SRC, Broker, Geoalert, Runner, Station, now_rfc3339

BROWSER = os.path.join(SRC, "tests", "browser")
CHROMIUM = os.environ.get("GA_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "console test password"

runner = Runner()


def npm_install():
    """node_modules is not in git: install playwright-core from the lock file."""
    if os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")):
        return
    npm = shutil.which("npm")
    assert npm, "npm is missing (apt-get install npm)"
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BROWSER, check=True,
                   timeout=600)


def pending(g, token, alert_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        req = urllib.request.Request(
            "http://127.0.0.1:%d/api/v1/alerts?state=pending" % g.http_port,
            headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, timeout=5) as r:
            for it in json.loads(r.read())["alerts"]:
                if it["alert_id"] == alert_id:
                    return it
        time.sleep(0.1)
    raise AssertionError("no pending draft for %s" % alert_id)


def test_console_in_chromium():
    assert os.access(CHROMIUM, os.X_OK), "%s is missing (apt-get install chromium)" % CHROMIUM
    npm_install()
    broker = Broker().start()
    g = Geoalert(broker, name="ga-console")
    pw = os.path.join(g.dir, "officer.pw")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    p = subprocess.run([GEOALERT, "officer", "add", "zhang", "--role", "duty_officer", "-c",
                        g.conf, "--password-file", pw], capture_output=True, timeout=120,
                       check=True)
    token = p.stdout.decode().strip()
    g.start()
    st = Station(broker)
    try:
        with open(os.path.join(SRC, "tests", "data", "report-danger-registry.json"),
                  encoding="utf-8") as f:
            r = json.load(f)
        r.update(report_id="console-0001", observed_at=now_rfc3339(),
                 reporter={"name": "王建国", "phone": "13800001111"})
        st.publish("JS-3201-0007", r)
        rc = st.wait_receipt("console-0001")
        assert rc["status"] == "accepted" and rc["level"] == "large", rc
        pending(g, token, rc["incident_id"])
        env = dict(os.environ, GA_URL="http://127.0.0.1:%d" % g.http_port, GA_OFFICER="zhang",
                   GA_PASSWORD=PASSWORD, GA_ALERT_ID=rc["incident_id"], GA_SHOT_DIR=BUILD,
                   GA_CHROMIUM=CHROMIUM)
        node = shutil.which("node")
        assert node, "node is missing (apt-get install nodejs)"
        p = subprocess.run([node, os.path.join(BROWSER, "console.test.js")], env=env,
                           timeout=300, capture_output=True)
        print(p.stdout.decode(errors="replace"), end="")
        print(p.stderr.decode(errors="replace"), end="")
        assert p.returncode == 0, "console.test.js exited %d" % p.returncode
        assert os.path.getsize(os.path.join(BUILD, "console.png")) > 10000
        assert os.path.getsize(os.path.join(BUILD, "console-phone.png")) > 10000
        # what the browser did is in the audit trail
        actions = [a for (a,) in g.query("SELECT action FROM audit ORDER BY seq")]
        for a in ("login.fail", "login", "draft.view", "logout"):
            assert a in actions, actions
    finally:
        st.close()
        assert g.stop() == 0, g.log_text()
        broker.stop()


runner.run(test_console_in_chromium)
runner.finish()
