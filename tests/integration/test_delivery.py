# ga-test-backends: sqlite pg
"""Delivery of published alerts to the channels (issue 5, "Delivery ledger"
and "Channels") against the real broker and daemon and local stand-ins of
the channels' APIs (endpoints.py), which check what the real ones check:
every channel gets a confirmed version once, with one idempotency key per
version; texts fit each channel's limit and end in a link when cut; the
mqtt channel's retained alert is replaced by a cancel; the portal down for
a while, then up: delivered once; kill -9 mid-retry and while a request
hangs, restart: delivered exactly once; Retry-After honoured; past the
deadline: failed and the supervisors told; re-send through the API; an
update or cancel follows the alert to a channel disabled since; a hanging
robot times out and is tried again; drill mode sends only to exercise
channels, within the channel's rate limit.

Every wait is bounded."""
import functools
import json
import os
import threading
import time

import paho.mqtt.client as mqtt

import flows
from endpoints import DingTalk, Feishu, Hook, Portal, WeCom
from harness import Broker, Geoalert, Runner, Station, free_port, secret_file, tmpdir

# Stations of our own in 浦口区 (320111), each a hazard point threatening
# 620 people (a large danger), at least 2 km from the others, so that
# each report opens an incident of its own.
STATIONS = flows.grid("DLV-%04d" % (i + 1) for i in range(13))

SECRETS = tmpdir("dlv-secrets")
portal = Portal("portal-token-123")
late = Portal("late-token")  # a channel with a 3 s deadline
old = Portal("old-token")  # a channel disabled later
wecom = WeCom("wecom-robot-key")
ding = DingTalk("ding-access-token", "SEC0123456789abcdef")
feishu = Feishu("feishu-hook-token", "feishu-secret-xyz")
hook = Hook()

RETRY = {"backoff_initial_ms": "200", "backoff_max_ms": "800", "timeout_ms": "1500"}
CHANNELS = {
    # no deadline (a portal's default: spec §9), late after 2 s
    "channel.portal": dict(type="portal", url=portal.url("/api/alerts"), late_after="2",
                           token_file=secret_file(SECRETS, "portal", portal.token), **RETRY),
    "channel.wecom": dict(type="wecom", url=wecom.url("/cgi-bin/webhook/send"),
                          token_file=secret_file(SECRETS, "wecom", wecom.key), **RETRY),
    "channel.dingtalk": dict(type="dingtalk", url=ding.url("/robot/send"),
                             token_file=secret_file(SECRETS, "ding", ding.token),
                             secret_file=secret_file(SECRETS, "ding-secret", ding.secret),
                             **RETRY),
    "channel.feishu": dict(type="feishu", url=feishu.url("/open-apis/bot/v2/hook/"),
                           token_file=secret_file(SECRETS, "feishu", feishu.token),
                           secret_file=secret_file(SECRETS, "feishu-secret", feishu.secret),
                           **RETRY),
    "channel.mqtt": dict(type="mqtt"),
    "channel.late": dict(type="portal", url=late.url("/api/alerts"), deadline="3",
                         token_file=secret_file(SECRETS, "late", late.token), **RETRY),
    "channel.old": dict(type="portal", url=old.url("/api/alerts"),
                        token_file=secret_file(SECRETS, "old", old.token), **RETRY),
}
ALL = ["dingtalk", "feishu", "late", "mqtt", "old", "portal", "wecom"]

runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(tmpdir("dlv-registry"), "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "发布测试站", "32011188")
extra = {"notify": {"supervisors_url": hook.url("/supervisors")}}
extra.update(CHANNELS)
ga = Geoalert(broker, stations=REGISTRY, extra=extra)
DUTY = flows.officer(ga, "duty1")
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)
BASE = ga.sections["http"]["public_base_url"]


class Watcher:
    """An MQTT subscriber to geohazard/v1/alerts/#: (retained, alert)."""

    def __init__(self):
        self.msgs = []
        self.cond = threading.Condition()
        self.c = mqtt.Client(client_id="watch-%d" % free_port(), protocol=mqtt.MQTTv311)
        self.c.on_message = self._on
        self.c.connect("127.0.0.1", broker.port, 30)
        self.c.loop_start()
        self.c.subscribe("geohazard/v1/alerts/#", qos=1)

    def _on(self, c, u, m):
        with self.cond:
            self.msgs.append((m.topic, bool(m.retain), json.loads(m.payload)))
            self.cond.notify_all()

    def wait(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.msgs:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no such MQTT message; have %r" % [
                        (t, r, a.get("alert_id"), a.get("version")) for t, r, a in self.msgs])
                self.cond.wait(left)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


watcher = Watcher()


call = functools.partial(flows.call, ga, token=DUTY)
# new_alert(edits=None): a report from a fresh station making a large
# incident; its draft confirmed (published as version 1). The alert id.
new_alert = flows.alert_maker(ga, st, DUTY, STATIONS)


def wait_state(aid, channel, version, state, timeout=15.0):
    return flows.wait_delivery(ga, DUTY, aid, channel, version, state, timeout)


def key_is(aid, version):
    k = "%s:%d" % (aid, version)
    return lambda r: r["headers"].get("idempotency-key") == k


def text_has(aid):
    return lambda r: r["status"] == 200 and aid in (r.get("text") or "")


def test_every_channel_gets_the_alert_once():
    aid = new_alert()
    t0 = time.monotonic()
    got = portal.wait(lambda r: key_is(aid, 1)(r) and r["status"] == 201, 10)
    a = got[0]["alert"]
    # the alert JSON of spec §6, as the officers' API shows it published
    code, full = call("GET", "/api/v1/alerts/" + aid)
    assert code == 200, full
    pub = [p for p in full["published"] if p["version"] == 1][0]
    for k in ("schema", "alert_id", "version", "msg_type", "headline", "level", "area",
              "figures", "sent", "references"):
        assert a[k] == pub[k], (k, a[k], pub[k])
    assert "reporter" not in json.dumps(a, ensure_ascii=False)
    # spec §6: the portal gets what /alerts/{id}.json serves, byte for
    # byte the same members, signature included; every figure there
    code, public = ga.get("/alerts/%s.json" % aid)
    assert code == 200 and a == public, (a, public)
    assert a["signature"]["key_id"] and a["figures"]["deaths"] is None, a
    assert set(a["figures"]) == {"deaths", "missing", "injured", "relocated_people",
                                 "direct_loss_cny", "threatened_people",
                                 "threatened_property_cny"}, a["figures"]
    w = wecom.wait(text_has(aid), 10)[0]
    assert a["headline"] in w["text"] and (BASE + "/alerts/" + aid) in w["text"], w["text"]
    d = ding.wait(text_has(aid), 10)[0]
    assert a["headline"] in d["text"], d["text"]
    f = feishu.wait(lambda r: r["status"] == 200 and r.get("title") == a["headline"], 10)[0]
    assert "大型" in f["text"], f["text"]
    topic, retained, m = watcher.wait(lambda m: m[2].get("alert_id") == aid)
    assert topic == "geohazard/v1/alerts/320111" and m == a, (topic, m)
    for ch in ALL:
        d = wait_state(aid, ch, 1, "delivered")
        assert d["attempts"] == 1 and d["idempotency_key"] == aid + ":1", d
        assert d["delivered_at"] and d["msg_type"] == "alert", d
    assert portal.accept_count[aid + ":1"] == 1
    print("  all 7 channels delivered in %.0f ms" % ((time.monotonic() - t0) * 1000))


def test_long_texts_fit_each_limit_and_end_in_the_link():
    long = "坡体出现多条拉张裂缝，" * 120  # 120 x 33 bytes = 3960 bytes each
    edits = {"situation": long, "causes": long, "response": long, "trend": long}
    aid = new_alert(edits)
    link = "[查看全文](%s/alerts/%s)" % (BASE, aid)
    w = wecom.wait(text_has(aid), 10)[0]
    raw = w["text"].encode("utf-8")
    assert len(raw) <= 4096 and len(raw) > 3500, len(raw)
    assert w["text"].endswith(link) and "…" in w["text"], w["text"][-80:]
    f = feishu.wait(lambda r: r["status"] == 200 and aid in r["text"], 10)[0]
    assert len(f["body"]) <= 20 * 1024, len(f["body"])
    d = ding.wait(text_has(aid), 10)[0]
    assert len(d["text"].encode()) <= 20000
    for ch in ("wecom", "feishu", "dingtalk"):
        wait_state(aid, ch, 1, "delivered")


_cancelled = []


def test_cancel_replaces_the_retained_alert_everywhere():
    aid = new_alert()
    for ch in ALL:
        wait_state(aid, ch, 1, "delivered")
    code, res = call("POST", "/api/v1/alerts/%s/cancel" % aid, token=SUP,
                     body={"reason": "险情已排除"})
    assert code == 200 and res["version"] == 2, res
    for ch in ALL:
        d = wait_state(aid, ch, 2, "delivered")
        assert d["msg_type"] == "cancel" and d["idempotency_key"] == aid + ":2", d
    c = portal.wait(lambda r: key_is(aid, 2)(r) and r["status"] == 201, 5)[0]["alert"]
    assert c["msg_type"] == "cancel" and c["references"] == [aid + ":1"], c
    assert "已解除" in wecom.wait(text_has(aid), 5, count=2)[1]["text"]
    # a newcomer to the topic sees the cancel, not the alert
    late_watcher = Watcher()
    try:
        topic, retained, m = late_watcher.wait(lambda m: m[1], 10)
        assert retained and m["alert_id"] == aid and m["msg_type"] == "cancel", m
        assert m["version"] == 2, m
    finally:
        late_watcher.close()
    _cancelled.append(aid)


def test_portal_down_then_up_delivered_once():
    portal.down()
    try:
        aid = new_alert()
        # the other channels do not wait for the portal
        wait_state(aid, "wecom", 1, "delivered")
        d = flows.wait_row(ga, DUTY, aid, "portal", lambda d: d["attempts"] >= 3,
                           "tried 3 times", timeout=10)
        assert d["state"] in ("pending", "sending") and d["last_error"], d
    finally:
        portal.up()
    wait_state(aid, "portal", 1, "delivered")
    assert portal.accept_count[aid + ":1"] == 1
    assert all(key_is(aid, 1)(r) for r in portal.of(lambda r: aid in r["body"].decode()))


def test_retry_after_is_honoured():
    # seconds
    portal.set_mode("429", n=1, retry_after="2")
    aid = new_alert()
    first = portal.wait(lambda r: key_is(aid, 1)(r) and r["status"] == 429, 10)[0]
    ok = portal.wait(lambda r: key_is(aid, 1)(r) and r["status"] == 201, 10)[0]
    assert ok["t"] - first["t"] >= 1.95, ok["t"] - first["t"]
    wait_state(aid, "portal", 1, "delivered")
    # an HTTP-date, 3 s ahead (whole seconds)
    when = time.time() + 3
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(when))
    portal.set_mode("429", n=1, retry_after=date)
    aid = new_alert()
    first = portal.wait(lambda r: key_is(aid, 1)(r) and r["status"] == 429, 10)[0]
    ok = portal.wait(lambda r: key_is(aid, 1)(r) and r["status"] == 201, 10)[0]
    assert ok["wall"] >= int(when) - 0.05, (ok["wall"], when)


def test_hanging_robot_times_out_and_is_tried_again():
    ding.set_mode("hang", n=1)
    aid = new_alert()
    hung = ding.wait(lambda r: r["answer"] == "hung", 10)[0]
    ok = ding.wait(text_has(aid), 10)[0]
    # timeout_ms 1500, then a backoff of 100..200 ms
    assert 1.4 <= ok["t"] - hung["t"] <= 4.0, ok["t"] - hung["t"]
    d = wait_state(aid, "dingtalk", 1, "delivered")
    assert d["attempts"] == 2 and "imeout" in d["last_error"], d
    # the other channels were not held up by it
    assert flows.delivery(ga, DUTY, aid, "portal")["attempts"] == 1


def test_deadline_failed_supervisors_told_then_resend():
    late.set_mode("500")
    try:
        aid = new_alert()
        d = wait_state(aid, "late", 1, "failed", timeout=15)
        assert d["attempts"] >= 2 and "500" in d["last_error"], d
        n = hook.wait(lambda r: (r.get("json") or {}).get("event") == "delivery_failed"
                      and r["json"].get("alert_id") == aid, 10)
        assert "late" in n[0]["json"]["headline"], n[0]["json"]
        # the others are not held up
        wait_state(aid, "portal", 1, "delivered")
    finally:
        late.set_mode("ok")
    # a duty officer may not re-send; a supervisor may, only what failed
    code, res = call("POST", "/api/v1/alerts/%s/deliveries/late/resend" % aid, body={})
    assert code == 403, res
    code, res = call("POST", "/api/v1/alerts/%s/deliveries/portal/resend" % aid, token=SUP,
                     body={})
    assert code == 409, res
    code, res = call("POST", "/api/v1/alerts/%s/deliveries/nosuch/resend" % aid, token=SUP,
                     body={})
    assert code == 404, res
    code, res = call("POST", "/api/v1/alerts/%s/deliveries/late/resend" % aid, token=SUP,
                     body={})
    assert code == 200 and res["state"] == "pending" and res["version"] == 1, res
    d = wait_state(aid, "late", 1, "delivered")
    assert late.accept_count[aid + ":1"] == 1
    rows = ga.query("SELECT count(*) FROM audit WHERE action = 'delivery.resend'"
                    " AND subject = ?", (aid,))
    assert rows[0][0] == 1, rows


def test_portal_never_given_up_supervisors_told_once():
    """Spec §9: the portal is retried until it answers 2xx. Past its
    late_after the supervisors hear once that it is still not done."""
    def notice(event, aid):
        return lambda r: ((r.get("json") or {}).get("event") == event
                          and r["json"].get("alert_id") == aid)

    portal.set_mode("500")
    try:
        aid = new_alert()
        n = hook.wait(notice("delivery_late", aid), 15)
        assert "portal" in n[0]["json"]["headline"], n[0]["json"]
        d = wait_state(aid, "portal", 1, "pending")
        assert d["deadline_at"] is None and "500" in d["last_error"], d
        attempts = d["attempts"]
        # more attempts (backoff 0.8 s at most), no second notice, not failed
        d = flows.wait_row(ga, DUTY, aid, "portal", lambda x: x["attempts"] >= attempts + 3,
                           "3 more attempts", timeout=15)
        assert d["state"] in ("pending", "sending"), d
        assert len(hook.of(notice("delivery_late", aid))) == 1, hook.of(notice("delivery_late", aid))
    finally:
        portal.set_mode("ok")
    wait_state(aid, "portal", 1, "delivered")
    assert portal.accept_count[aid + ":1"] == 1
    assert hook.of(notice("delivery_failed", aid)) == []
    assert "to portal not delivered after" in ga.log_text()


def test_kill9_mid_retry_and_mid_send_delivered_exactly_once():
    global ga
    # one alert whose portal answers 500 (retrying), one whose request the
    # portal accepted but never answered (the row is left sending)
    portal.set_mode("500")
    a1 = new_alert()
    portal.wait(lambda r: key_is(a1, 1)(r) and r["status"] == 500, 10, count=2)
    portal.set_mode("accept_hang")
    a2 = new_alert()
    portal.wait(lambda r: key_is(a2, 1)(r) and r["answer"] == "accepted, then hung", 10)
    # a1 may be the one hanging too; either way both are unfinished now
    ga.kill9()
    portal.set_mode("ok")
    rows = ga.query("SELECT alert_id, state, attempts FROM deliveries"
                    " WHERE channel = 'portal' AND alert_id IN (?, ?)", (a1, a2))
    assert all(r[1] in ("pending", "sending") for r in rows), rows
    assert any(r[0] == a2 and r[1] == "sending" for r in rows), rows
    ga.start()
    for aid in (a1, a2):
        wait_state(aid, "portal", 1, "delivered")
        assert portal.accept_count[aid + ":1"] == 1, portal.accept_count
        keys = {r["headers"].get("idempotency-key")
                for r in portal.of(lambda r: aid.encode() in r["body"])}
        assert keys == {aid + ":1"}, keys
    # the hung one was retried with its key and the portal said 409
    assert portal.of(lambda r: key_is(a2, 1)(r) and r["status"] == 409)
    assert "being sent when the last run ended" in ga.log_text()


def test_cancel_follows_to_a_channel_disabled_since():
    aid = new_alert()
    wait_state(aid, "old", 1, "delivered")
    assert ga.stop() == 0
    ga.sections["channel.old"]["enabled"] = "false"
    ga.write_config()
    ga.start()
    fresh = new_alert()
    wait_state(fresh, "portal", 1, "delivered")
    assert flows.delivery(ga, DUTY, fresh, "old") is None, flows.deliveries(ga, DUTY, fresh)
    assert not old.of(lambda r: fresh.encode() in r["body"])
    code, res = call("POST", "/api/v1/alerts/%s/cancel" % aid, token=SUP,
                     body={"reason": "险情已排除"})
    assert code == 200, res
    d = wait_state(aid, "old", 2, "delivered")
    assert d["msg_type"] == "cancel", d
    assert old.accept_count[aid + ":2"] == 1


def test_list_404_and_check_config_names_unknown_key():
    code, body = call("GET", "/api/v1/alerts/JS-20000101-9999/deliveries")
    assert code == 404, body
    conf = flows.edited_config(ga, "[channel.wecom]\n", "[channel.wecom]\nbogus_key = 1\n",
                               os.path.join(tmpdir("dlv-cfg"), "bad.ini"))
    rc, out = flows.check_config(conf)
    assert rc != 0 and "bogus_key" in out and conf + ":" in out, out
    rc, out = flows.check_config(ga.conf)
    assert rc == 0, out


def test_drill_mode_sends_only_to_exercise_channels():
    """A daemon of its own in drill mode (its own broker: a second daemon
    on the same broker would share the reports)."""
    drill, real = Portal("drill-token"), Portal("real-token")
    b2 = Broker().start()
    g2 = Geoalert(b2, stations=REGISTRY, name="drill", extra={
        "alerts": {"mode": "exercise"},
        "channel.drill": dict(type="portal", url=drill.url("/api/alerts"), exercise="true",
                              rate_per_s="1",
                              token_file=secret_file(SECRETS, "drill", drill.token), **RETRY),
        "channel.real": dict(type="portal", url=real.url("/api/alerts"),
                             token_file=secret_file(SECRETS, "real", real.token), **RETRY),
    })
    tok = flows.officer(g2, "duty1")
    g2.start()
    s2 = Station(b2)
    try:
        aids = []
        for sid, _, _ in STATIONS[:3]:
            rid = "drill-%s-%d" % (sid, int(time.time() * 1000))
            aid = flows.publish_large(s2, sid, rid)["incident_id"]
            flows.confirm(g2, tok, aid, poll=0.05)
            aids.append(aid)
        got = drill.wait(lambda r: r["status"] == 201, 10, count=3)
        assert sorted(r["alert"]["alert_id"] for r in got) == sorted(aids), got
        assert all(r["alert"]["status"] == "exercise" for r in got), got
        # rate_per_s = 1: confirmed within a fraction of a second, sent in
        # slots a second apart. Measured from the first arrival: a send
        # that reached the stand-in late narrows the gap after it (seen:
        # 1.06 s then 0.94 s), never the distance to the first.
        ts = sorted(r["t"] for r in got)
        assert ts[1] - ts[0] >= 0.9 and ts[2] - ts[0] >= 1.9, ts
        code, body = flows.call(g2, "GET", "/api/v1/alerts/%s/deliveries" % aids[0], tok)
        assert code == 200 and [d["channel"] for d in body["deliveries"]] == ["drill"], body
        time.sleep(0.5)
        assert real.of() == [], real.of()
    finally:
        s2.close()
        g2.stop()
        b2.stop()
        drill.close()
        real.close()


for t in (test_every_channel_gets_the_alert_once,
          test_long_texts_fit_each_limit_and_end_in_the_link,
          test_cancel_replaces_the_retained_alert_everywhere,
          test_portal_down_then_up_delivered_once,
          test_retry_after_is_honoured,
          test_hanging_robot_times_out_and_is_tried_again,
          test_deadline_failed_supervisors_told_then_resend,
          test_portal_never_given_up_supervisors_told_once,
          test_kill9_mid_retry_and_mid_send_delivered_exactly_once,
          test_cancel_follows_to_a_channel_disabled_since,
          test_list_404_and_check_config_names_unknown_key,
          test_drill_mode_sends_only_to_exercise_channels):
    runner.run(t)
watcher.close()
st.close()
for ep in (portal, late, old, wecom, ding, feishu, hook):
    ep.close()
ga.stop()
broker.stop()
runner.finish()
