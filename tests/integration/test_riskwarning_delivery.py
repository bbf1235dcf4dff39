# ga-test-backends: sqlite pg
"""Delivery of published risk warnings (spec §11, issue 14) through the
delivery ledger, against the real broker, daemon, SQLite and the channel
stand-ins: the spec's example product, confirmed by two officers, reaches
the portal once with Idempotency-Key {product_id}:{version} (also across
a kill -9 while the portal holds the request), the SMS gateway with the
numbers of exactly the files of its yellow-or-above counties (their
cities' and province's too), each number once with a text naming its own
file's counties at their levels; the blue county reaches only the channel
configured internal. The mqtt channel retains each version's signed
public JSON (what /warnings/{id}.json serves) on
geohazard/v1/warnings/{product_id}, a cancel replacing it, and clears it
at valid_to; a blue-only product is not published there. An update
(supersedes) and a cancel (version 2) are delivered once per channel. The officer API's detail lists the
deliveries, `geoalert report timeliness` their times. A supersedes naming
no product is rejected at /supersedes; /metrics counts the products apart
from reports.

Every wait is bounded."""
import copy
import datetime
import json
import os
import subprocess
import threading
import time
import urllib.request

import paho.mqtt.client as mqtt

import flows
from endpoints import Portal, WeCom
from endpoints_weibo_sms import SmsGateway
from harness import SRC, Broker, Geoalert, Runner, Station, free_port, secret_file, tmpdir

ISSUER = "JS-QXJ"
EXAMPLE = json.load(open(os.path.join(SRC, "tests", "data", "riskwarning.json"),
                         encoding="utf-8"))
TZ = datetime.timezone(datetime.timedelta(hours=8))
PUBLIC_SCHEMA = "geohazard.riskwarning.public/1"


class RwPortal(Portal):
    """The portal stand-in, also taking a risk warning's public JSON: its
    key must be "{product_id}:{version}" of the body."""

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
        rec["warning"] = a
        return 201, {"ok": True}


WORK = tmpdir("rwdlv")
RCPT = os.path.join(WORK, "recipients")
os.mkdir(RCPT)


def numbers(prefix, n):
    return ["+86%s%05d" % (prefix, i) for i in range(n)]


# The example: red 320115, orange 320111 320117, yellow 320281 320282,
# blue 321181. Files: each county's, 南京市 (3201) and 无锡市 (3202), the
# province's; 扬州市 (3210, whose only county here is blue) and a county
# of no level must get nothing.
FILES = {
    "320115": numbers("139001", 30), "320111": numbers("139002", 25),
    "320117": numbers("139003", 7), "320281": numbers("139004", 12),
    "320282": numbers("139005", 9), "321181": numbers("139006", 11),
    "320102": numbers("139007", 5), "320100": numbers("139008", 6),
    "320200": numbers("139009", 4), "321000": numbers("139010", 8),
    "320000": numbers("139011", 3),
}
# shared numbers: one in a red county and its city, one in an orange and a
# yellow county (it gets the orange county's text), one in the blue
# county and the province (it gets the province's text)
SHARED_CITY, SHARED_LEVELS, SHARED_BLUE = "+8613999900001", "+8613999900002", "+8613999900003"
FILES["320115"].append(SHARED_CITY)
FILES["320100"].append(SHARED_CITY)
FILES["320111"].append(SHARED_LEVELS)
FILES["320281"].append(SHARED_LEVELS)
FILES["321181"].append(SHARED_BLUE)
FILES["320000"].append(SHARED_BLUE)
for code, phones in FILES.items():
    with open(os.path.join(RCPT, code + ".txt"), "w") as f:
        f.write("# %s\n%s\n" % (code, "\n".join(reversed(phones))))
PUBLIC_FILES = ["320115", "320111", "320117", "320281", "320282", "320100", "320200", "320000"]
EXPECTED = sorted(set(p for c in PUBLIC_FILES for p in FILES[c]))
NEVER = (set(FILES["321181"]) | set(FILES["320102"]) | set(FILES["321000"])) - {SHARED_BLUE}

portal = RwPortal("portal-token-rw")
wecom = WeCom("wecom-public-key")
officers = WeCom("wecom-officers-key")
gw = SmsGateway("sms-gw-token-rw", "SMS_290000002", "江苏地灾预警", batch_max=10,
                params=["level", "place"])
RETRY = {"backoff_initial_ms": "200", "backoff_max_ms": "800", "timeout_ms": "1500"}
runner = Runner()
broker = Broker().start()
ga = Geoalert(broker, extra={
    "riskwarning": {"issuers": ISSUER},
    "channel.portal": dict(type="portal", url=portal.url("/api/alerts"),
                           token_file=secret_file(WORK, "portal", portal.token), **RETRY),
    "channel.wecom": dict(type="wecom", url=wecom.url("/cgi-bin/webhook/send"),
                          token_file=secret_file(WORK, "wecom", wecom.key), **RETRY),
    "channel.officers": dict(type="wecom", url=officers.url("/cgi-bin/webhook/send"),
                             internal="true",
                             token_file=secret_file(WORK, "officers", officers.key), **RETRY),
    "channel.sms": dict(type="sms", url=gw.url("/sms/send"),
                        token_file=secret_file(WORK, "sms", gw.token),
                        template_code=gw.template_code, sign_name=gw.sign_name,
                        params="level=level_zh, place=admin_name", recipients_dir=RCPT,
                        batch_size="10", **RETRY),
    "channel.mqtt": dict(type="mqtt"),
})
DUTY = flows.officer(ga, "duty1", "duty_officer")
DUTY2 = flows.officer(ga, "duty2", "duty_officer")
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)
CHANNELS = ["mqtt", "officers", "portal", "sms", "wecom"]
TOPIC = "geohazard/v1/warnings/"
SENTINEL = "geohazard/v1/test-sentinel/"


class Watcher:
    """An MQTT subscriber to geohazard/v1/warnings/# (and the test's
    sentinel topic): (topic, retained, payload bytes) in arrival order."""

    def __init__(self):
        self.msgs = []
        self.cond = threading.Condition()
        self.c = mqtt.Client(client_id="rwwatch-%d" % free_port(), protocol=mqtt.MQTTv311)
        self.c.on_message = self._on
        self.c.connect("127.0.0.1", broker.port, 30)
        self.c.loop_start()
        self.c.subscribe([(TOPIC + "#", 1), (SENTINEL + "#", 1)])

    def _on(self, c, u, m):
        with self.cond:
            self.msgs.append((m.topic, bool(m.retain), bytes(m.payload)))
            self.cond.notify_all()

    def wait(self, pred, timeout=15.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.msgs:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no such MQTT message; have %r" % [
                        (t, r, len(p)) for t, r, p in self.msgs])
                self.cond.wait(left)

    def on(self, pid):
        with self.cond:
            return [m for m in self.msgs if m[0] == TOPIC + pid]

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def retained(pid):
    """What a new subscriber gets retained on pid's topic (a list): the
    broker sends the retained messages of a subscription before a publish
    made after it, so once a sentinel published after the subscription
    arrives, every retained message is in."""
    w = Watcher()
    try:
        mark = SENTINEL + str(free_port())
        # published until it arrives: the subscription may not be in yet
        deadline = time.monotonic() + 15.0
        while not [m for m in w.msgs if m[0] == mark]:
            assert time.monotonic() < deadline, "sentinel never arrived"
            st.client.publish(mark, b"x", qos=1).wait_for_publish(timeout=10)
            with w.cond:
                w.cond.wait(0.5)
        return [(r, p) for t, r, p in w.on(pid) if r]
    finally:
        w.close()


def public_json(pid):
    with urllib.request.urlopen("http://127.0.0.1:%d/warnings/%s.json" % (ga.http_port, pid),
                                timeout=10) as r:
        return json.loads(r.read())


watcher = Watcher()


def when(offset_s):
    return (datetime.datetime.now(TZ) + datetime.timedelta(seconds=offset_s)).isoformat(
        timespec="seconds")


def product(pid, **fields):
    p = copy.deepcopy(EXAMPLE)
    p.update(product_id=pid, issued_at=when(0), valid_from=when(3600), valid_to=when(25 * 3600))
    p.update(fields)
    return p


def call(method, path, token=DUTY, body=None):
    return flows.call(ga, method, path, token, body)


def publish(p):
    code, body = call("POST", "/api/v1/riskwarnings", body=p)
    assert code == 201, body
    assert call("POST", "/api/v1/riskwarnings/%s/confirm" % p["product_id"])[0] == 200
    code, body = call("POST", "/api/v1/riskwarnings/%s/confirm" % p["product_id"], token=DUTY2)
    assert code == 200 and body["published"] is True, body


def deliveries(pid):
    code, body = call("GET", "/api/v1/riskwarnings/%s" % pid)
    assert code == 200, body
    return body["deliveries"]


def wait_delivered(pid, version, channels=CHANNELS, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            rows = [d for d in deliveries(pid) if d["version"] == version]
        except (OSError, AssertionError):
            rows = []  # the daemon restarting
        if sorted(d["channel"] for d in rows) == sorted(channels) and all(
                d["state"] == "delivered" for d in rows):
            return rows
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)


def texts(ep, pid):
    return [r["text"] for r in ep.of(lambda r: r.get("text") and pid in r["text"])]


def sms_params(key):
    """{phone: params} of the batches of key."""
    out = {}
    for r in gw.of(lambda r: r.get("accepted") and r["out_id"].rsplit(":", 1)[0] == key):
        for p in r["phones"]:
            assert p not in out, "%s twice" % p
            out[p] = r["params"]
    return out


def test_example_delivered_everywhere():
    pid = "JS-FX-DLV-01"
    publish(product(pid))
    rows = wait_delivered(pid, 1)
    assert all(d["idempotency_key"] == pid + ":1" and d["msg_type"] == "alert" for d in rows), rows
    assert {d["channel"]: d["type"] for d in rows}["sms"] == "sms"

    # the portal: once, the public JSON without the blue county, signed
    assert portal.accept_count == {pid + ":1": 1}, portal.accept_count
    got = portal.accepted[pid + ":1"]
    assert got["version"] == 1 and got["state"] == "published", got
    assert [lv["level"] for lv in got["levels"]] == ["red", "orange", "yellow"], got["levels"]
    assert "321181" not in json.dumps(got) and "仪征" not in json.dumps(got, ensure_ascii=False)
    assert "signature" in got or any(k.startswith("sig") for k in got), sorted(got)

    # SMS: exactly the numbers of the public counties' files, each once
    gw.wait_sent(pid + ":1", EXPECTED, 30)
    by = sms_params(pid + ":1")
    assert sorted(by) == EXPECTED, (len(by), len(EXPECTED))
    assert not NEVER & set(by), sorted(NEVER & set(by))[:3]
    assert all(n == 1 for n in gw.sent[pid + ":1"].values())
    names = {c["admin_code"]: c["name"] for c in json.loads(ga.query(
        "SELECT product FROM riskwarnings WHERE product_id = ?", (pid,))[0][0])["counties"]}
    for code, level in (("320115", "一级（红色）"), ("320111", "二级（橙色）"),
                        ("320282", "三级（黄色）")):
        p = by[FILES[code][0]]
        assert p["level"] == level and p["place"] == names[code] + level[3:5], (code, p)
    # 南京市's file: its three counties at their levels
    city = by[FILES["320100"][0]]
    assert city["level"] == "一级（红色）", city
    assert city["place"] == "%s红色，%s、%s橙色" % (names["320115"], names["320111"],
                                                names["320117"]), city
    assert by[SHARED_CITY]["place"] == names["320115"] + "红色", by[SHARED_CITY]
    assert by[SHARED_LEVELS]["place"] == names["320111"] + "橙色", by[SHARED_LEVELS]
    prov = by[SHARED_BLUE]
    assert names["321181"] not in prov["place"] and len(prov["place"]) <= 35, prov
    assert all(len(v) <= 35 for p in by.values() for v in p.values())

    # blue only in the internal group's message
    pub, internal = texts(wecom, pid), texts(officers, pid)
    assert len(pub) == 1 and len(internal) == 1, (pub, internal)
    assert names["320115"] in pub[0] and names["321181"] not in pub[0], pub[0]
    assert names["321181"] in internal[0] and "四级（蓝色）" in internal[0], internal[0]
    assert "/warnings/%s" % pid in pub[0] and "防御建议" in pub[0], pub[0]
    # mqtt: once, the signed public JSON /warnings/{id}.json serves
    got = watcher.on(pid)
    assert len(got) == 1, got
    doc = json.loads(got[0][2])
    assert doc == public_json(pid) and doc["version"] == 1, doc
    assert "321181" not in got[0][2].decode(), doc
    assert "signature" in doc or any(k.startswith("sig") for k in doc), sorted(doc)
    assert [json.loads(p) for r, p in retained(pid)] == [doc]
    # the clearing row waits for valid_to; nothing on the alerts' topics
    clear = [d for d in deliveries(pid) if d["channel"] == "mqtt" and d["version"] != 1]
    assert [(d["state"], d["idempotency_key"]) for d in clear] == [("pending", pid + ":clear")]
    assert not [m for m in watcher.msgs if m[0].startswith("geohazard/v1/alerts/")]


def test_update_and_cancel_once_per_version():
    a, b = "JS-FX-DLV-UPD-A", "JS-FX-DLV-UPD-B"
    publish(product(a))
    wait_delivered(a, 1)
    publish(product(b, supersedes=a, advice="雨势加强，请继续转移受威胁群众。"))
    rows = wait_delivered(b, 1)
    assert {d["msg_type"] for d in rows} == {"update"}, rows
    assert portal.accepted[b + ":1"]["supersedes"] == a
    # mqtt: the replaced product's retained message is cleared at once
    # (not at its own valid_to, hours away), the update's is there
    watcher.wait(lambda m: m[0] == TOPIC + a and m[2] == b"", timeout=30)
    assert [len(p) > 0 for t, r, p in watcher.on(a)] == [True, False], watcher.on(a)
    assert retained(a) == []
    assert [json.loads(p) for r, p in retained(b)] == [public_json(b)]
    assert any("雨势加强" in t for t in texts(wecom, b))
    code, body = call("POST", "/api/v1/riskwarnings/%s/cancel" % b, token=SUP,
                      body={"reason": "降雨减弱"})
    assert code == 200 and body["version"] == 2 and body["state"] == "cancelled", body
    rows = wait_delivered(b, 2)
    assert {(d["msg_type"], d["idempotency_key"]) for d in rows} == {("cancel", b + ":2")}, rows
    c = portal.accepted[b + ":2"]
    assert c["state"] == "cancelled" and c["version"] == 2, c
    gw.wait_sent(b + ":2", EXPECTED, 30)
    for key in (a + ":1", b + ":1", b + ":2"):
        assert portal.accept_count[key] == 1, portal.accept_count
        assert sorted(sms_params(key)) == EXPECTED, key
    assert any("已解除" in t for t in texts(wecom, b)), texts(wecom, b)
    # the Cancel CAP is version 2 and references version 1
    with urllib.request.urlopen("http://127.0.0.1:%d/warnings/%s.xml" % (ga.http_port, b),
                                timeout=10) as r:
        xml = r.read().decode()
    assert "<identifier>%s-2</identifier>" % b in xml and "<msgType>Cancel</msgType>" in xml
    assert ",%s-1," % b in xml, xml[:1000]
    # mqtt: the cancelled JSON replaced the retained version 1
    assert [json.loads(p)["version"] for t, r, p in watcher.on(b)] == [1, 2]
    kept = retained(b)
    assert len(kept) == 1 and json.loads(kept[0][1]) == public_json(b), kept
    assert json.loads(kept[0][1])["state"] == "cancelled"


def test_blue_only_goes_to_internal_only():
    pid = "JS-FX-DLV-BLUE"
    publish(product(pid, areas=[{"level": "blue", "admin_codes": ["321181"]}]))
    wait_delivered(pid, 1, channels=["officers"])
    time.sleep(1.0)  # nothing else is due; give a stray row a chance to show
    assert [d["channel"] for d in deliveries(pid)] == ["officers"]
    assert pid + ":1" not in portal.accepted and pid + ":1" not in gw.sent
    assert not texts(wecom, pid) and len(texts(officers, pid)) == 1
    assert not watcher.on(pid) and not retained(pid)


def test_expiry_clears_retained():
    pid = "JS-FX-DLV-EXPIRE"
    publish(product(pid, valid_from=when(-60), valid_to=when(6)))
    wait_delivered(pid, 1)
    assert [json.loads(p) for r, p in retained(pid)] == [public_json(pid)]
    # at valid_to: a zero-length retained publish, the clearing row delivered
    watcher.wait(lambda m: m[0] == TOPIC + pid and m[2] == b"", timeout=60)
    assert [len(p) > 0 for t, r, p in watcher.on(pid)] == [True, False]
    deadline = time.monotonic() + 15.0  # the PUBACK recorded
    while True:
        clear = [d for d in deliveries(pid) if d["channel"] == "mqtt" and d["version"] != 1]
        if [(d["state"], d["msg_type"]) for d in clear] == [("delivered", "cancel")]:
            break
        assert time.monotonic() < deadline, clear
        time.sleep(0.2)
    assert retained(pid) == []


def test_portal_once_across_kill9():
    pid = "JS-FX-DLV-KILL"
    portal.set_mode("accept_hang")
    publish(product(pid))
    portal.wait(lambda r: r.get("warning", {}).get("product_id") == pid
                and r["answer"] == "accepted, then hung", 15)
    ga.kill9()
    portal.set_mode("ok")
    rows = ga.query("SELECT state FROM deliveries WHERE alert_id = ? AND channel = 'portal'",
                    ("rw:" + pid,))
    assert rows == [("sending",)], rows
    ga.start()
    wait_delivered(pid, 1)
    assert portal.accept_count[pid + ":1"] == 1, portal.accept_count
    keys = {r["headers"].get("idempotency-key")
            for r in portal.of(lambda r: pid.encode() in r["body"])}
    assert keys == {pid + ":1"}, keys
    assert portal.of(lambda r: pid.encode() in r["body"] and r["status"] == 409)
    assert sorted(sms_params(pid + ":1")) == EXPECTED


def test_unknown_supersedes_rejected():
    code, body = call("POST", "/api/v1/riskwarnings",
                      body=product("JS-FX-DLV-ORPHAN", supersedes="JS-FX-NEVER-SEEN"))
    assert code == 400, body
    assert ("/supersedes", "unknown") in {(e["path"], e["code"]) for e in body["errors"]}, body
    assert not ga.query("SELECT 1 FROM riskwarnings WHERE product_id = 'JS-FX-DLV-ORPHAN'")
    # the same on MQTT: a rejected receipt, stored raw
    raw = json.dumps(product("JS-FX-DLV-ORPHAN2", supersedes="JS-FX-NEVER-SEEN"),
                     ensure_ascii=False).encode()
    st.client.publish("geohazard/v1/riskwarnings/%s" % ISSUER, raw, qos=1).wait_for_publish(
        timeout=10)
    r = st.wait_receipt("JS-FX-DLV-ORPHAN2")
    assert r["status"] == "rejected", r
    assert ("/supersedes", "unknown") in {(e["path"], e["code"]) for e in r["errors"]}, r
    assert ga.query("SELECT count(*) FROM rejected WHERE raw = ?", (raw,))[0][0] == 1
    assert not ga.query("SELECT 1 FROM riskwarnings WHERE product_id = 'JS-FX-DLV-ORPHAN2'")


def test_metrics_count_products_apart_from_reports():
    raw = json.dumps(product("JS-FX-DLV-METRICS"), ensure_ascii=False).encode()
    st.client.publish("geohazard/v1/riskwarnings/%s" % ISSUER, raw, qos=1).wait_for_publish(
        timeout=10)
    assert st.wait_receipt("JS-FX-DLV-METRICS")["status"] == "accepted"
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % ga.http_port, timeout=10) as r:
        text = r.read().decode()
    assert 'geoalert_riskwarnings_total{status="accepted"} 1' in text, text[:3000]
    assert 'geoalert_riskwarnings_total{status="rejected"} 1' in text, text[:3000]
    assert 'geoalert_reports_total{status="accepted"}' not in text, \
        [ln for ln in text.splitlines() if "reports_total" in ln]


def test_timeliness_delivered_per_channel():
    p = subprocess.run([os.environ["GEOALERT"], "report", "timeliness", "--since", "2000-01-01",
                        "-c", ga.conf], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rw = {w["product_id"]: w for w in json.loads(p.stdout)["riskwarnings"]}
    w = rw["JS-FX-DLV-01"]
    assert sorted(w["delivered_at"]) == CHANNELS, w
    assert all(t >= w["published_at"][:19] for t in w["delivered_at"].values()), w
    assert w["published_before_valid_from"] is True, w
    assert sorted(rw["JS-FX-DLV-BLUE"]["delivered_at"]) == ["officers"]
    watcher.close()


def test_internal_key_checked():
    """internal takes true/false, and only on the officers' group types."""
    code, out = flows.check_config(ga.conf)
    assert code == 0, out
    bad = flows.edited_config(ga, "internal = true", "internal = maybe",
                              os.path.join(WORK, "bad-value.ini"))
    code, out = flows.check_config(bad)
    assert code != 0 and "[channel.officers] internal" in out and "true or false" in out, out
    on_sms = flows.edited_config(ga, "[channel.sms]\n", "[channel.sms]\ninternal = true\n",
                                 os.path.join(WORK, "bad-type.ini"))
    code, out = flows.check_config(on_sms)
    assert code != 0 and "[channel.sms] internal: unknown key for type sms" in out, out


for t in (test_internal_key_checked, test_unknown_supersedes_rejected, test_metrics_count_products_apart_from_reports,
          test_example_delivered_everywhere, test_update_and_cancel_once_per_version,
          test_blue_only_goes_to_internal_only, test_expiry_clears_retained,
          test_portal_once_across_kill9,
          test_timeliness_delivered_per_channel):
    runner.run(t)
runner.finish()
