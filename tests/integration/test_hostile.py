# ga-test-backends: sqlite pg
"""Hostile text and hostile payloads against the real broker, daemon and
SQLite file (issue 15, "Hostile text"):

- a report with a bidirectional control in a text is rejected at the
  field (code bidi); a figure past its bound at the field (code range);
- a report whose place and causes hold markdown, HTML, mentions and links,
  confirmed by an officer whose edits hold bidi controls, reaches the
  WeCom robot with none of it live, and the public JSON, page, CAP and
  Atom with no bidi control;
- a 5 MiB payload (the harness broker has no size limit) is rejected and
  answered, its row holds the first 64 KiB, its true length and SHA-256,
  and the daemon's peak RSS (VmHWM) grows by less than a bound: the one
  copy libmosquitto reads the packet into, plus a margin."""
import hashlib
import os
import pwd
import re
import subprocess
import threading

import flows
from endpoints import WeCom
import paho.mqtt.client as mqtt
from harness import (SRC, Broker, Geoalert, Runner, Station, _procs, free_port, report,
                     secret_file, tmpdir, wait_port)

SECRETS = tmpdir("hostile-secrets")
wecom = WeCom("wecom-robot-key")
RAW_MAX = 65536
BIG = 5 << 20
# libmosquitto reads the packet whole and copies its payload out of it
# (handle__publish): 2 * BIG, out of geoalert's hands. Everything else
# the daemon does with it must fit in this margin. Before the cap the
# ingest copy, the SQLite record and the pages of the row cost several
# times BIG more (the probe saw a 94 MB peak).
HWM_MARGIN = 6 << 20

runner = Runner()
broker = Broker().start()
ga = Geoalert(broker, name="ga-hostile", extra={
    "channel.wecom": dict(type="wecom", url=wecom.url("/cgi-bin/webhook/send"),
                          token_file=secret_file(SECRETS, "wecom", wecom.key),
                          backoff_initial_ms="200", backoff_max_ms="800", timeout_ms="1500")})
DUTY = flows.officer(ga, "duty1")
ga.start()
st = Station(broker)

# U+202A..U+202E, U+2066..U+2069 and the marks U+200E, U+200F, U+061C
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
PLACE = ("[紧急：点此查看撤离路线](http://evil.example/phish) ![t](http://evil.example/track.png)"
         " <font color=\"warning\">假消息</font> \u200f1 2")


def hwm_kb():
    with open("/proc/%d/status" % ga.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def errors(rc):
    return [(e["path"], e["code"]) for e in rc["errors"]]


def test_bidi_rejected_at_field():
    for i, (field, text) in enumerate([("place", "青山村\u202e后山"),
                                       ("causes", "降雨\u2066 1 2\u2069"),
                                       ("measures", "\u202a撤离")]):
        rid = "bidi-%d" % i
        st.publish("JS-3201-0007", report("JS-3201-0007", rid, **{field: text}))
        rc = st.wait_receipt(rid)
        assert rc["status"] == "rejected", rc
        assert errors(rc) == [("/" + field, "bidi")], rc


def test_figures_bounded_at_field():
    cases = [("threatened_people", 1e308), ("deaths", 100000001),
             ("direct_loss_cny", 1.0000000000001e13)]
    for i, (fig, v) in enumerate(cases):
        rid = "range-%d" % i
        st.publish("JS-3201-0007", report("JS-3201-0007", rid, figures={fig: v}))
        rc = st.wait_receipt(rid)
        assert rc["status"] == "rejected", rc
        assert errors(rc) == [("/figures/" + fig, "range")], rc
    st.publish("JS-3201-0007", report("JS-3201-0007", "range-ok",
                                      figures={"threatened_people": 100000000}))
    assert st.wait_receipt("range-ok")["status"] == "accepted"


def test_published_text_has_no_live_markup_nor_bidi():
    rid = "hostile-%d" % os.getpid()
    aid = flows.publish_large(st, "JS-3201-0007", rid, place=PLACE,
                              causes="<@all> <at user_id=\"all\">所有人</at> @所有人",
                              figures={"threatened_people": 620})["incident_id"]
    edits = {"headline": "【大型滑坡险情】\u202e反向标题", "situation": "险情\u2066 1 2\u2069 " + PLACE}
    res = flows.confirm(ga, DUTY, aid, {"edits": edits})
    assert res["published"], res
    text = wecom.wait(lambda r: r["status"] == 200 and aid in (r.get("text") or ""), 15)[0]["text"]
    for live in ("](http://evil", "![t]", "<font color=\"warning\">假消息", "<@all>", "<at ",
                 "@所有人", "evil.example", "://evil"):
        assert live not in text, (live, text)
    assert "点此查看撤离路线" in text and "假消息" in text and "所有人" in text, text
    assert not BIDI.search(text), text
    for path in ("/alerts/%s.json" % aid, "/alerts/%s" % aid, "/alerts/%s.xml" % aid,
                 "/feed.atom", "/"):
        code, _, raw = flows.request(ga, "GET", path)
        assert code == 200, (path, code)
        body = raw.decode("utf-8")
        assert "反向标题" in body or path == "/", (path, body[:400])
        m = BIDI.search(body) or re.search(r"\\u(202[a-eA-E]|206[6-9]|200[eEfF]|061[cC])", body)
        assert not m, (path, m.group(0).encode("unicode_escape"), body[:400])


def test_5mib_payload_kept_capped():
    # warm up: a rejected payload past the cap, and an accepted report
    st.publish("JS-3211-0002", b"y" * (RAW_MAX + 1))
    st.wait_receipt(None, count=1)
    st.publish("JS-3201-0007", report("JS-3201-0007", "warm-1"))
    st.wait_receipt("warm-1")
    before = hwm_kb()
    payload = bytes((i * 131 + (i >> 16)) & 0xFF for i in range(BIG))
    st.publish("JS-3211-0002", payload)
    rc = st.wait_receipt(None, count=2, timeout=60)
    after = hwm_kb()
    assert rc["status"] == "rejected", rc
    assert errors(rc) == [("", "too_large")], rc
    grew = (after - before) * 1024
    print("VmHWM %d kB -> %d kB: +%.1f MiB for a %d MiB payload" % (
        before, after, grew / 1048576, BIG >> 20), flush=True)
    assert grew <= 2 * BIG + HWM_MARGIN, (before, after)
    rows = ga.query("SELECT raw, raw_len, raw_sha256 FROM rejected WHERE raw_len = ?", (BIG,))
    assert len(rows) == 1, rows
    raw, n, sha = rows[0]
    assert raw == payload[:RAW_MAX], (len(raw), raw[:16])
    assert n == BIG and sha == hashlib.sha256(payload).hexdigest(), (n, sha)
    # the warm-up one past the cap: 64 KiB of it, its length and hash
    rows = ga.query("SELECT length(raw), raw_sha256 FROM rejected WHERE raw_len = ?",
                    (RAW_MAX + 1,))
    assert rows == [(RAW_MAX, hashlib.sha256(b"y" * (RAW_MAX + 1)).hexdigest())], rows


def test_quickstart_broker_refuses_oversize():
    """The quickstart's broker takes a 64 KiB report and refuses a packet
    past max_packet_size at the door (the sender is disconnected, nothing
    is forwarded): the lever that keeps big payloads out of geoalert."""
    d = tmpdir("qs-broker")
    port = free_port()
    with open(os.path.join(SRC, "deploy", "mosquitto-quickstart.conf")) as f:
        conf = f.read().replace("@PORT@", str(port)).replace("@DIR@", d)
    assert "max_packet_size 262144" in conf
    path = os.path.join(d, "mosquitto.conf")
    with open(path, "w") as f:
        f.write(conf.replace("log_dest stderr", "log_dest stderr\nuser %s" %
                             pwd.getpwuid(os.getuid()).pw_name))
    proc = subprocess.Popen(["mosquitto", "-c", path], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _procs.append(proc)
    wait_port(port)
    got, cond = [], threading.Condition()

    def on_message(c, u, msg):
        with cond:
            got.append(len(msg.payload))
            cond.notify_all()

    sub = mqtt.Client(client_id="qs-sub", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    subscribed = threading.Event()
    sub.on_subscribe = lambda *a, **k: subscribed.set()
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    sub.subscribe("geohazard/v1/reports/#", qos=1)
    assert subscribed.wait(10)
    gone = threading.Event()
    pub = mqtt.Client(client_id="qs-pub", protocol=mqtt.MQTTv5)
    pub.on_disconnect = lambda *a, **k: gone.set()
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    pub.publish("geohazard/v1/reports/S1", b"a" * RAW_MAX, qos=1).wait_for_publish(10)
    pub.publish("geohazard/v1/reports/S1", b"b" * (256 << 10), qos=1)
    assert gone.wait(10), "the broker kept a sender past max_packet_size"
    pub.loop_stop()
    marker = mqtt.Client(client_id="qs-marker", protocol=mqtt.MQTTv5)
    marker.connect("127.0.0.1", port)
    marker.loop_start()
    marker.publish("geohazard/v1/reports/S1", b"m", qos=1).wait_for_publish(10)
    with cond:
        assert cond.wait_for(lambda: 1 in got, 10), got
    assert got == [RAW_MAX, 1], got  # the big one never forwarded
    for c in (marker, sub):
        c.loop_stop()
        c.disconnect()
    proc.terminate()
    proc.wait(timeout=20)


for t in (test_quickstart_broker_refuses_oversize, test_bidi_rejected_at_field, test_figures_bounded_at_field,
          test_published_text_has_no_live_markup_nor_bidi, test_5mib_payload_kept_capped):
    runner.run(t)
flows.run_clean_stop(runner, ga)
st.close()
wecom.close()
runner.finish()
