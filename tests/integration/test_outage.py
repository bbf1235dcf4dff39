# ga-test-backends: sqlite pg
"""A long outage (issue 6, "Faults": portal and channel endpoints down for
minutes) against the real broker and daemon: the portal, a WeCom robot and
the officers' webhook are all down for GA_OUTAGE_SECONDS (120 by default)
while reports keep coming and three alerts are confirmed; geoalert is
killed with -9 in the middle of it and restarted. Then the endpoints come
back, and:

- every report of the outage was answered and stored once;
- each alert reaches the portal and the robot exactly once, with its
  idempotency key (the portal refuses a key twice with 409; the robot
  counts texts);
- each draft's notice reaches the officers' webhook (kept in the notices
  table through the outage and the kill).

Everything runs on 127.0.0.1; every wait is bounded."""
import os
import threading
import time

import flows
from endpoints import Hook, Portal, WeCom
from harness import Broker, Geoalert, Runner, Station, report, secret_file, tmpdir

OUTAGE_S = float(os.environ.get("GA_OUTAGE_SECONDS", "120"))
BACKOFF_MAX_MS = 15000  # after the endpoints return, a row waits at most this
ALERTS = 3
REPORTS = 600  # small reports streamed during the outage, below the publish level

# Hazard points threatening 620 people (large dangers), 3 km apart, in 浦口区.
BIG = [("OUT-%04d" % (i + 1), 118.602 + 0.028 * i, 32.042) for i in range(ALERTS)]
SMALL = [("OUT-S%03d" % (i + 1), 118.610 + 0.010 * i, 32.075) for i in range(3)]
DETAILS = dict(flows.DETAILS, place="浦口区断网测试点")


class Robot(WeCom):
    """The WeCom stand-in, counting the texts it took per alert id."""

    def __init__(self, key):
        self.taken = {}
        super().__init__(key)

    def check(self, rec):
        status, answer = super().check(rec)
        if answer.get("errcode") == 0:
            with self.lock:
                for aid in list(self.taken):
                    if aid in rec["text"]:
                        self.taken[aid] += 1
        return status, answer


runner = Runner()
SECRETS = tmpdir("out-secrets")
portal = Portal("outage-portal-token")
robot = Robot("outage-robot-key")
officers = Hook()
RETRY = {"backoff_initial_ms": "1000", "backoff_max_ms": str(BACKOFF_MAX_MS),
         "timeout_ms": "2000"}
broker = Broker().start()
REGISTRY = os.path.join(tmpdir("out-registry"), "stations.geojson")
flows.write_registry(REGISTRY, BIG + SMALL, "断网测试站", "32011177",
                     people={sid: 620 for sid, _, _ in BIG} | {sid: 3 for sid, _, _ in SMALL},
                     property_cny={sid: 30000000 for sid, _, _ in BIG}
                     | {sid: 10000 for sid, _, _ in SMALL})
ga = Geoalert(broker, stations=REGISTRY, extra={
    "notify": {"officers_url": officers.url("/officers")},
    "channel.portal": dict(type="portal", url=portal.url("/api/alerts"),
                           token_file=secret_file(SECRETS, "portal", portal.token), **RETRY),
    "channel.wecom": dict(type="wecom", url=robot.url("/cgi-bin/webhook/send"),
                          token_file=secret_file(SECRETS, "wecom", robot.key),
                          rate_per_min="600", **RETRY),
})
DUTY = flows.officer(ga, "duty1")
ga.start()
st = Station(broker)


def confirm_alert(sid):
    return flows.new_alert(ga, st, DUTY, sid, details=DETAILS, receipt_timeout=30,
                           confirm_timeout=30, poll=0.2)


def stream(n, t_end, sent):
    """Publishes n more small reports spread until t_end (monotonic)."""
    first = len(sent)
    for i in range(n):
        sid = SMALL[i % len(SMALL)][0]
        rid = "small-%d" % (first + i)
        st.publish(sid, report(sid, rid, **DETAILS), wait=False)
        sent.append(rid)
        left = t_end - time.monotonic()
        if left > 0:
            time.sleep(min(left / max(n - i, 1), 0.5))


def test_minutes_down_kill9_then_everything_once():
    t0 = time.monotonic()
    for ep in (portal, robot, officers):
        ep.down()
    aids = []
    sent = []
    streamer = threading.Thread(target=stream, args=(REPORTS // 2, t0 + OUTAGE_S / 2, sent))
    streamer.start()
    for sid, _, _ in BIG:
        aid = confirm_alert(sid)
        aids.append(aid)
        robot.taken[aid] = 0
    # deliveries are being tried and failing
    deadline = time.monotonic() + 30
    while True:
        rows = flows.deliveries(ga, DUTY, aids[0])
        tried = [d for d in rows if d["attempts"] >= 2]
        if len(tried) == 2:
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.5)
    assert all(d["state"] != "delivered" for d in rows), rows
    streamer.join(timeout=OUTAGE_S)

    # halfway: kill -9, start again (the endpoints are still down)
    ga.kill9()
    ga.start(wait=False)
    streamer = threading.Thread(target=stream, args=(REPORTS - REPORTS // 2, t0 + OUTAGE_S,
                                                     sent))
    streamer.start()
    streamer.join(timeout=OUTAGE_S + 30)
    left = t0 + OUTAGE_S - time.monotonic()
    if left > 0:
        time.sleep(left)
    for ep in (portal, robot, officers):
        ep.up()
    t_up = time.monotonic()

    # everything arrives, once
    for aid in aids:
        portal.wait(lambda r, k=aid + ":1": r["status"] == 201 and
                    r["headers"].get("idempotency-key") == k, timeout=BACKOFF_MAX_MS / 1000 + 30)
        officers.wait(lambda r, a=aid: r["status"] == 200 and (r.get("json") or {}).get(
            "alert_id") == a and r["json"].get("event") == "draft", timeout=60)
    deadline = time.monotonic() + BACKOFF_MAX_MS / 1000 + 30
    while any(robot.taken[a] < 1 for a in aids):
        assert time.monotonic() < deadline, robot.taken
        time.sleep(0.2)
    waited = time.monotonic() - t_up
    time.sleep(3)  # nothing more comes
    for aid in aids:
        assert portal.accept_count[aid + ":1"] == 1, portal.accept_count
        assert robot.taken[aid] == 1, robot.taken
        rows = flows.deliveries(ga, DUTY, aid)
        assert {d["channel"]: d["state"] for d in rows} == {
            "portal": "delivered", "wecom": "delivered"}, rows
        notes = officers.of(lambda r, a=aid: (r.get("json") or {}).get("alert_id") == a)
        assert len(notes) == 1, notes
    # every report of the outage answered (redelivered ones as duplicates)
    for rid in sent:
        rc = st.wait_receipt(rid, timeout=60)
        assert rc["status"] in ("accepted", "duplicate"), rc
    stored = ga.query("SELECT count(*) FROM reports WHERE report_id LIKE 'small-%'")[0][0]
    assert stored == len(sent) == REPORTS, (stored, len(sent))
    print("outage %.0f s; delivered %.1f s after the endpoints came back" % (OUTAGE_S, waited))


runner.run(test_minutes_down_kill9_then_everything_once)
st.close()
ga.stop()
broker.stop()
for ep in (portal, robot, officers):
    ep.close()
runner.finish()
