# ga-test-backends: sqlite pg
"""The duty officers' console in headless Chromium (tests/browser/
console.test.js, playwright-core), 1366 px and 390 px wide, three officers
at once against the real broker, daemon and channel stand-ins (portal,
Weibo, SMS): log in; a second officer's list shows a new draft (the time it
took is printed; the bound is generous); edits kept across a newer draft
and across a session expiry; preview, then publish; the public page and
each channel's delivery state; an update with its difference; one card per
alert with its versions; a supervisor's 解除 with the exact public text;
a rejection; an extra-large alert confirmed by two officers; no Latin-letter words in officer-visible text; unknown
figures shown as 未报告. Screenshots land in the build directory.

console.test.js asks this script for what only it can do (publish a
report, end a session) by printing a line "@@{json}"; the answer goes back
as one JSON line on its stdin."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import flows
from endpoints import Portal
from endpoints_weibo_sms import SmsGateway, Weibo
from harness import (BUILD, SRC, Broker, Geoalert, Runner, Station, npm_install, report, secret_file,
                     tmpdir)

BROWSER = os.path.join(SRC, "tests", "browser")
CHROMIUM = os.environ.get("GA_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(BUILD, "console-shots")
PASSWORDS = {"zhang": "steep slope watch 1", "li": "river bank night 2", "wang": "county duty desk 3"}
STATIONS = flows.grid("CON-%04d" % (i + 1) for i in range(6))
DETAILS = {"place": "浦口区测试山体后坡", "causes": "连续强降雨导致坡体饱水",
           "trend": "坡体变形加速", "measures": "已组织坡下村民撤离"}

runner = Runner()




class Helper:
    """What console.test.js asks for, by name."""

    def __init__(self, g, st, portal):
        self.g, self.st, self.portal, self.n = g, st, portal, 0

    def portal_mode(self, mode):
        """The portal stand-in answers 500 ("500") or as it should ("ok")."""
        self.portal.set_mode(mode)
        return {"ok": True}

    def report(self, station, kind="danger", **fields):
        self.n += 1
        rid = "%s-%d-%d" % (station, int(time.time() * 1000), self.n)
        body = dict(DETAILS)
        body.update(fields)
        t0 = time.monotonic()
        self.st.publish(station, report(station, rid, kind=kind, **body))
        rc = self.st.wait_receipt(rid, timeout=15)
        assert rc["status"] == "accepted", rc
        return {"incident_id": rc["incident_id"], "level": rc["level"],
                "receipt_s": round(time.monotonic() - t0, 3)}

    def session(self, officer, expires_in_s, touch_later_s=0):
        """Moves the officer's sessions' expiry to now + expires_in_s; with
        touch_later_s, the daemon does not slide it for that long."""
        now = int(time.time() * 1000)
        rows = self.g.query("SELECT id FROM officers WHERE name = ?", (officer,))
        assert rows, officer
        self.g.query_write("UPDATE sessions SET expires_ms = ?, last_seen_ms = ? "
                           "WHERE officer_id = ?",
                           (now + int(expires_in_s * 1000), now + int(touch_later_s * 1000),
                            rows[0][0]))
        return {"ok": True}

    def audit(self):
        return {"actions": [a for (a,) in self.g.query("SELECT action FROM audit ORDER BY seq")]}


def query_write(g):
    def run(sql, args=()):
        g.query(sql, args)  # commits, either backend
    return run


def drive(env, helper):
    """Runs console.test.js; answers its @@ requests; returns its exit code."""
    node = shutil.which("node")
    assert node, "node is missing (apt-get install nodejs)"
    p = subprocess.Popen([node, os.path.join(BROWSER, "console.test.js")], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killer = threading.Timer(600, p.kill)  # bounded: the whole browser run
    killer.start()
    try:
        for raw in p.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            if not line.startswith("@@"):
                print(line)
                sys.stdout.flush()
                continue
            req = json.loads(line[2:])
            try:
                ans = getattr(helper, req.pop("op"))(**req)
            except Exception as e:  # noqa: BLE001 - the browser test reports it
                ans = {"error": repr(e)}
            p.stdin.write((json.dumps(ans, ensure_ascii=False) + "\n").encode())
            p.stdin.flush()
        return p.wait(timeout=30)
    finally:
        killer.cancel()


def test_console_in_chromium():
    assert os.access(CHROMIUM, os.X_OK), "%s is missing (apt-get install chromium)" % CHROMIUM
    npm_install()
    work = tmpdir("console")
    registry = os.path.join(work, "stations.geojson")
    # the 4th station's hazard point threatens 1200 people: 特大型, two confirmations
    people = {sid: 1200 if i == 3 else 620 for i, (sid, _, _) in enumerate(STATIONS)}
    flows.write_registry(registry, STATIONS, "值班台测试站", "32011155", people=people)
    rcpt = os.path.join(work, "recipients")
    os.mkdir(rcpt)
    with open(os.path.join(rcpt, "320111.txt"), "w") as f:
        f.write("13900000001\n13900000002\n")
    portal = Portal("console-portal-token")
    weibo = Weibo("2.00console-weibo", "127.0.0.1")
    sms = SmsGateway("console-sms-token", "SMS_290000009", "江苏地灾预警",
                     params=["level", "hazard", "place", "id"])
    retry = {"backoff_initial_ms": "200", "backoff_max_ms": "800", "timeout_ms": "3000"}
    broker = Broker().start()
    g = Geoalert(broker, stations=registry, name="ga-console", extra={
        "alerts": {"publish_min_level": "large", "confirmations.extra_large": "2"},
        "channel.portal": dict(type="portal", url=portal.url("/api/alerts"),
                               token_file=secret_file(work, "portal", portal.token), **retry),
        "channel.weibo": dict(type="weibo", url=weibo.url("/2/statuses/share.json"),
                              token_file=secret_file(work, "weibo", weibo.token),
                              safe_domain="127.0.0.1", **retry),
        "channel.sms": dict(type="sms", url=sms.url("/sms/send"),
                            token_file=secret_file(work, "sms", sms.token),
                            template_code=sms.template_code, sign_name=sms.sign_name,
                            params="level=level_zh, hazard=hazard_zh, place=admin_name, "
                                   "id=alert_id",
                            recipients_dir=rcpt, **retry)})
    g.query_write = query_write(g)
    flows.officer(g, "zhang", "duty_officer", PASSWORDS["zhang"])
    flows.officer(g, "li", "duty_officer", PASSWORDS["li"])
    flows.officer(g, "wang", "supervisor", PASSWORDS["wang"])
    g.start()
    st = Station(broker)
    os.makedirs(SHOTS, exist_ok=True)
    try:
        env = dict(os.environ, GA_URL="http://127.0.0.1:%d" % g.http_port,
                   GA_OFFICERS=json.dumps(PASSWORDS, ensure_ascii=False),
                   GA_STATIONS=json.dumps([s[0] for s in STATIONS]),
                   GA_SHOT_DIR=SHOTS, GA_CHROMIUM=CHROMIUM)
        rc = drive(env, Helper(g, st, portal))
        assert rc == 0, "console.test.js exited %d\n%s" % (rc, g.log_text()[-4000:])
        for name in ("login", "draft", "edits", "preview", "published", "versions", "cancel",
                     "expired", "phone-draft", "reject"):
            path = os.path.join(SHOTS, "console-%s.png" % name)
            assert os.path.getsize(path) > 5000, path
        actions = [a for (a,) in g.query("SELECT action FROM audit ORDER BY seq")]
        for a in ("login.fail", "login", "draft.view", "logout"):
            assert a in actions, actions
    finally:
        st.close()
        assert g.stop() == 0, g.log_text()
        broker.stop()
        for s in (portal, weibo, sms):
            s.close()


runner.run(test_console_in_chromium)
runner.finish()
