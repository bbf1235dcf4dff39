# ga-test-backends: sqlite pg
"""Re-sending a failed risk warning delivery, and deliveries still due at
the product's valid_to (spec §11, issue 14), against the real broker,
daemon, store and portal stand-ins.

- A channel with a 3 s deadline (a portal-type stand-in) answering 500
  until the deadline: the row is failed and the supervisors told; then a
  duty officer may not re-send (403), nothing that is not failed is
  re-sent (409), an unknown channel or product is 404; a supervisor's
  re-send makes it pending again and it is delivered once, with the same
  Idempotency-Key {product_id}:1; one audit row riskwarning.resend.
- A product valid for 10 s whose portal answers 500 past its valid_to:
  the row is failed with last_error "expired" (the supervisors told) and
  never sent after, even once the portal answers again; a re-send of it
  is refused (409).
- A product superseded by an update while its portal row is still due:
  the old one is never sent (failed, "expired"), the update once.
- The console's 风险预警 view (tests/browser/rwresend.test.js, Chromium
  at 390 px): a supervisor sees the failed row, taps 重发; delivered
  once, one audit row.

Every wait is bounded."""
import copy
import datetime
import json
import os
import shutil
import subprocess
import time

import flows
from endpoints import Hook, Portal
from harness import BUILD, SRC, Broker, Geoalert, Runner, secret_file, tmpdir

EXAMPLE = json.load(open(os.path.join(SRC, "tests", "data", "riskwarning.json"),
                         encoding="utf-8"))
TZ = datetime.timezone(datetime.timedelta(hours=8))
PUBLIC_SCHEMA = "geohazard.riskwarning.public/1"


class RwPortal(Portal):
    """The portal stand-in taking a risk warning's public JSON: its key
    must be "{product_id}:{version}" of the body."""

    def check(self, rec):
        try:
            a = json.loads(rec["body"].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            a = None
        if not isinstance(a, dict) or a.get("schema") != PUBLIC_SCHEMA:
            return super().check(rec)
        h = rec["headers"]
        if rec["path"] != self.path or h.get("authorization") != "Bearer " + self.token:
            return 401, {"error": "bad token or path"}
        key = h.get("idempotency-key")
        if key != "%s:%s" % (a.get("product_id"), a.get("version")):
            return 400, {"error": "bad Idempotency-Key %r" % key}
        with self.lock:
            if key in self.accepted:
                return 409, {"error": "already have %s" % key}
            self.accepted[key] = a
            self.accept_count[key] = self.accept_count.get(key, 0) + 1
        return 201, {"ok": True}


WORK = tmpdir("rwresend")
portal = RwPortal("portal-token-rs")
late = RwPortal("late-token-rs")
hook = Hook()
RETRY = {"backoff_initial_ms": "200", "backoff_max_ms": "800", "timeout_ms": "1500"}
runner = Runner()
broker = Broker().start()
ga = Geoalert(broker, name="ga-rwresend", extra={
    "notify": {"supervisors_url": hook.url("/supervisors")},
    "channel.portal": dict(type="portal", url=portal.url("/api/alerts"),
                           token_file=secret_file(WORK, "portal", portal.token), **RETRY),
    "channel.late": dict(type="portal", url=late.url("/api/alerts"), deadline="3",
                         token_file=secret_file(WORK, "late", late.token), **RETRY),
})
DUTY = flows.officer(ga, "duty1", "duty_officer")
DUTY2 = flows.officer(ga, "duty2", "duty_officer")
SUP = flows.officer(ga, "sup1", "supervisor")
WANG_PW = "county duty desk 9"
flows.officer(ga, "wang", "supervisor", WANG_PW)
ga.start()
BROWSER = os.path.join(SRC, "tests", "browser")
CHROMIUM = os.environ.get("GA_CHROMIUM", "/usr/bin/chromium")


def when(offset_s):
    return (datetime.datetime.now(TZ) + datetime.timedelta(seconds=offset_s)).isoformat(
        timespec="seconds")


def product(pid, valid_from, valid_to):
    p = copy.deepcopy(EXAMPLE)
    p.update(product_id=pid, issued_at=when(0), valid_from=when(valid_from),
             valid_to=when(valid_to), supersedes=None)
    return p


def call(method, path, token=DUTY, body=None):
    return flows.call(ga, method, path, token, body)


def publish(p):
    code, body = call("POST", "/api/v1/riskwarnings", body=p)
    assert code == 201, body
    assert call("POST", "/api/v1/riskwarnings/%s/confirm" % p["product_id"])[0] == 200
    code, body = call("POST", "/api/v1/riskwarnings/%s/confirm" % p["product_id"], token=DUTY2)
    assert code == 200 and body["published"] is True, body


def row(pid, channel):
    code, body = call("GET", "/api/v1/riskwarnings/%s" % pid)
    assert code == 200, body
    rows = [d for d in body["deliveries"] if d["channel"] == channel]
    assert len(rows) == 1, body["deliveries"]
    return rows[0]


def wait_row(pid, channel, pred, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        d = row(pid, channel)
        if pred(d):
            return d
        assert time.monotonic() < deadline, "%s: %s" % (what, d)
        time.sleep(0.1)


def told_failed(pid):
    """The supervisors' notice of a failed delivery of pid (its ledger
    subject is rw:{product_id})."""
    n = hook.wait(lambda r: (r.get("json") or {}).get("event") == "delivery_failed"
                  and r["json"].get("alert_id") == "rw:" + pid, 10)
    return n[0]["json"]


def resend(pid, channel, token=SUP):
    return call("POST", "/api/v1/riskwarnings/%s/deliveries/%s/resend" % (pid, channel),
                token=token, body={})


def test_failed_then_resent_once():
    pid = "JS-FX-RESEND-01"
    late.set_mode("500")
    try:
        publish(product(pid, 0, 24 * 3600))
        d = wait_row(pid, "late", lambda d: d["state"] == "failed", "late failed")
        assert d["attempts"] >= 2 and "500" in d["last_error"], d
        assert d["idempotency_key"] == pid + ":1", d
        told = told_failed(pid)
        assert told["url"].endswith("/warnings/" + pid), told
        assert "[late]" in told["headline"], told
        # the portal was not held up by it
        wait_row(pid, "portal", lambda d: d["state"] == "delivered", "portal delivered")
    finally:
        late.set_mode("ok")
    assert late.accept_count.get(pid + ":1") is None, late.accept_count
    # who may, what may be re-sent
    code, res = resend(pid, "late", token=DUTY)
    assert code == 403, res
    code, res = resend(pid, "portal")
    assert code == 409, res
    code, res = resend(pid, "nosuch")
    assert code == 404, res
    code, res = resend("JS-FX-NOSUCH", "late")
    assert code == 404, res
    code, res = call("GET", "/api/v1/riskwarnings/%s/deliveries/late/resend" % pid, token=SUP)
    assert code == 405, res
    code, res = resend(pid, "late")
    assert code == 200 and res == {"product_id": pid, "channel": "late", "version": 1,
                                   "state": "pending"}, res
    d = wait_row(pid, "late", lambda d: d["state"] == "delivered", "late delivered")
    assert d["idempotency_key"] == pid + ":1", d
    assert late.accept_count == {pid + ":1": 1}, late.accept_count
    assert late.accepted[pid + ":1"]["product_id"] == pid
    # the row is delivered now: nothing to re-send
    code, res = resend(pid, "late")
    assert code == 409, res
    rows = ga.query("SELECT officer_id, detail FROM audit WHERE action = 'riskwarning.resend'"
                    " AND subject = ?", (pid,))
    assert len(rows) == 1, rows
    detail = json.loads(rows[0][1])
    assert detail["channel"] == "late" and detail["version"] == 1, detail


def test_not_sent_after_valid_to():
    pid = "JS-FX-EXPIRE-01"
    key = pid + ":1"
    portal.set_mode("500")
    try:
        publish(product(pid, 0, 10))
        d = wait_row(pid, "portal", lambda d: d["state"] == "failed", "portal failed", timeout=30)
        assert d["last_error"] == "expired", d
        assert d["attempts"] >= 1 and d["delivered_at"] is None, d
        assert "[portal]" in told_failed(pid)["headline"]
    finally:
        portal.set_mode("ok")
    # never sent after: the row is failed, the worker does not take it again
    code, res = resend(pid, "portal")
    assert code == 409 and "有效期" in json.dumps(res, ensure_ascii=False), res
    assert portal.accept_count.get(key) is None, portal.accept_count
    # the product expires by itself (the writer's tick, within a second)
    deadline = time.monotonic() + 10
    while call("GET", "/api/v1/riskwarnings/%s" % pid)[1]["state"] != "expired":
        assert time.monotonic() < deadline, "not expired"
        time.sleep(0.1)
    assert portal.accept_count.get(key) is None, portal.accept_count


def test_not_sent_once_superseded():
    """A product whose portal row is still due when an update supersedes
    it: the old one is not sent (failed, "expired"), the update is, once."""
    old, new = "JS-FX-SUPER-01", "JS-FX-SUPER-02"
    portal.set_mode("500")
    try:
        publish(product(old, 0, 24 * 3600))
        wait_row(old, "portal", lambda d: d["attempts"] >= 1, "old attempted")
        p = product(new, 0, 24 * 3600)
        p["supersedes"] = old
        publish(p)
        d = wait_row(old, "portal", lambda d: d["state"] == "failed", "old failed")
        assert d["last_error"] == "expired", d
    finally:
        portal.set_mode("ok")
    wait_row(new, "portal", lambda d: d["state"] == "delivered", "update delivered")
    assert portal.accept_count.get(new + ":1") == 1, portal.accept_count
    assert portal.accept_count.get(old + ":1") is None, portal.accept_count
    code, body = call("GET", "/api/v1/riskwarnings/%s" % old)
    assert body["state"] == "expired" and new in body["reason"], body
    code, res = resend(old, "portal")
    assert code == 409, res


def test_console_resend():
    """The 风险预警 view: a supervisor re-sends the failed row with 重发
    (tests/browser/rwresend.test.js at 390 px); delivered once."""
    assert os.access(CHROMIUM, os.X_OK), "%s is missing (apt-get install chromium)" % CHROMIUM
    node = shutil.which("node")
    assert node, "node is missing (apt-get install nodejs)"
    assert os.path.isdir(os.path.join(BROWSER, "node_modules", "playwright-core")), \
        "npm ci in tests/browser first (test_riskwarning_console does it)"
    pid = "JS-FX-RESEND-WEB"
    late.set_mode("500")
    try:
        publish(product(pid, 0, 24 * 3600))
        wait_row(pid, "late", lambda d: d["state"] == "failed", "late failed")
    finally:
        late.set_mode("ok")
    shots = os.path.join(BUILD, "rwconsole-shots")
    os.makedirs(shots, exist_ok=True)
    env = dict(os.environ, GA_URL="http://127.0.0.1:%d" % ga.http_port, GA_OFFICER="wang",
               GA_PASSWORD=WANG_PW, GA_PRODUCT_ID=pid, GA_CHANNEL="late", GA_SHOT_DIR=shots,
               GA_CHROMIUM=CHROMIUM)
    r = subprocess.run([node, os.path.join(BROWSER, "rwresend.test.js")], env=env,
                       capture_output=True, timeout=300)
    print(r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"))
    assert r.returncode == 0, "rwresend.test.js exited %d" % r.returncode
    wait_row(pid, "late", lambda d: d["state"] == "delivered", "late delivered")
    assert late.accept_count.get(pid + ":1") == 1, late.accept_count
    rows = ga.query("SELECT count(*) FROM audit WHERE action = 'riskwarning.resend'"
                    " AND subject = ?", (pid,))
    assert rows[0][0] == 1, rows


for t in (test_failed_then_resent_once, test_not_sent_after_valid_to,
          test_not_sent_once_superseded, test_console_resend):
    runner.run(t)
runner.finish()
