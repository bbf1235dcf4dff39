#!/usr/bin/env bash
# tests/bench/delivery.sh - the delivery benchmark (docs/benchmarks.md,
# "Delivery"): confirm -> delivered latency, nine channels.
#
# Against one mosquitto of its own, geoalert (a release build, fresh
# database, synchronous=FULL) and the local stand-ins of the channels'
# APIs of the integration tests (which check keys, tokens, signatures and
# sizes): N times, one at a time, a report makes a large incident, its
# draft is confirmed through the officer API, and the time from just
# before the confirm request to the arrival of the version at each of
# nine channels is taken, all on one clock (time.monotonic in this one
# Python process, where every stand-in runs):
#   portal, wecom, dingtalk, feishu   endpoints.py: the one request
#   mqtt        a subscriber to the channel's topic: the message
#   wechat_mp   endpoints_wechat.py: the freepublish/submit of the
#               alert's draft (after draft/add; the first alert also
#               fetches the access token)
#   weibo       endpoints_weibo_sms.py: the statuses/share with its link
#   sms         endpoints_weibo_sms.py: the last batch accepted for the
#               county's GA_BENCH_SMS_NUMBERS numbers (one batch of 100 at
#               most, by default)
#   email       smtp_sink.py (AUTH PLAIN, 3 recipients): the end of DATA
#               of the message whose Message-ID is the alert's
# The robots' rate limits are lifted (rate_per_min = 0, Feishu's
# rate_per_s = 0 too) since these are local endpoints. The HTTP stand-ins
# are subclassed here to answer with TCP_NODELAY, as SmsGateway and the
# SMTP sink do themselves: Python's servers write a status line and
# headers, then the body (SMTP: each line of a multi-line reply) in
# separate writes, and Nagle holding
# the second until libcurl's delayed ACK of the first adds 40 ms to a
# request now and then (to nearly every wechat_mp submit, which follows
# its draft/add on the same connection); a real API does not, and this
# is the stand-in's time, not geoalert's. GA_BENCH_NODELAY=0 measures
# them as they are.
#
# Prints p50 / p99 / max per channel and for all nine, then one JSON line
# (with the access tokens WeChat issued and the SMTP sessions the sink
# saw). Not a timed test: it exits non-zero only when something is lost
# (not delivered within 20 s) or delivered twice.
#
# Environment (all optional):
#   GA_BENCH_N            alerts confirmed          (100)
#   GA_BENCH_SMS_NUMBERS  numbers in the county     (20)
#   GA_BENCH_NODELAY      stand-ins with TCP_NODELAY (1)
#   GA_BENCH_BUILD        build directory           (build/release)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${GA_BENCH_N:-100}
NSMS=${GA_BENCH_SMS_NUMBERS:-20}
NODELAY=${GA_BENCH_NODELAY:-1}
BUILD=${GA_BENCH_BUILD:-$ROOT/build/release}
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$ROOT/tests/bench/lib.sh"
bench_posint "$N" "$NSMS"
[[ $NODELAY == [01] ]] || { echo "delivery.sh: GA_BENCH_NODELAY: 0 or 1" >&2; exit 2; }
((NSMS <= 100000)) || { echo "delivery.sh: GA_BENCH_SMS_NUMBERS at most 100000" >&2; exit 2; }
[[ -x $BUILD/geoalert ]] || { echo "delivery.sh: no $BUILD/geoalert (set GA_BENCH_BUILD)" >&2; exit 2; }

exec env GA_SOURCE_DIR="$ROOT" GA_BUILD_DIR="$BUILD" GEOALERT="$BUILD/geoalert" \
	GA_BENCH_N="$N" GA_BENCH_SMS_NUMBERS="$NSMS" GA_BENCH_NODELAY="$NODELAY" PYTHONPATH="$ROOT/tests/integration" \
	/usr/bin/python3 - <<'PY'
import http.client
import json
import os
import socket
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

from endpoints import DingTalk, Feishu, Portal, WeCom
from endpoints_wechat import WeChatMP
from endpoints_weibo_sms import SmsGateway, Weibo
from harness import GEOALERT, Broker, Geoalert, free_port, now_rfc3339, tmpdir
from smtp_sink import SmtpSink

N = int(os.environ["GA_BENCH_N"])
NSMS = int(os.environ["GA_BENCH_SMS_NUMBERS"])
NODELAY = os.environ["GA_BENCH_NODELAY"] == "1"
SMS_BATCH = 100
SMS_NBATCH = (NSMS + SMS_BATCH - 1) // SMS_BATCH
WAIT_S = 20.0  # longer than this and a delivery counts as lost
TYPES = ["landslide", "collapse", "debris_flow", "ground_collapse", "ground_fissure",
         "land_subsidence"]
# A grid of points 1 km apart in 浦口区, each with a station of every
# hazard type: every station's report opens an incident of its own.
POINTS = [(118.602 + c * 0.0112, 32.042 + r * 0.0095) for r in range(4) for c in range(6)]
STATIONS = [("BDL-%03d-%d" % (i, t), lon, lat, TYPES[t])
            for t in range(len(TYPES)) for i, (lon, lat) in enumerate(POINTS)]
assert N <= len(STATIONS), "GA_BENCH_N at most %d" % len(STATIONS)

work = tmpdir("bench-delivery")
reg = os.path.join(work, "stations.geojson")
with open(reg, "w", encoding="utf-8") as f:
    json.dump({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"station_id": sid, "name": sid, "hazard_point_id": "3201117%03d%02d" % (i, 0),
                        "hazard_type": ht, "admin_code": "320111", "threatened_people": 620,
                        "threatened_property_cny": 30000000}}
        for i, (sid, lon, lat, ht) in enumerate(STATIONS)]}, f, ensure_ascii=False)


def secret(name, value):
    p = os.path.join(work, name)
    with open(p, "w") as f:
        f.write(value + "\n")
    os.chmod(p, 0o600)
    return p


# the sms channel's recipients: NSMS numbers for 浦口区 (320111) only
rcpt_dir = os.path.join(work, "recipients")
os.mkdir(rcpt_dir)
PHONES = ["+86139%08d" % (i * 7919 % 100000000) for i in range(NSMS)]
with open(os.path.join(rcpt_dir, "320111.txt"), "w") as f:
    f.write("\n".join(PHONES) + "\n")
mail_to = os.path.join(work, "to.txt")
with open(mail_to, "w") as f:
    f.write("duty@dnr.example.org\ngis-list@lists.example.org\nchief+alerts@example.com\n")



def nodelay(sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def quick(cls):
    """cls answering with TCP_NODELAY (see the head of this script)."""
    if not NODELAY:
        return cls

    class Quick(cls):
        def _answer(self, h, rec, status, answer, headers=None):
            nodelay(h.connection)
            return super()._answer(h, rec, status, answer, headers)

    return Quick


portal = quick(Portal)("bench-token")
wecom = quick(WeCom)("bench-key")
ding = quick(DingTalk)("bench-ding", "SECbench")
feishu = quick(Feishu)("bench-feishu", "fsbench")
wmp = quick(WeChatMP)("wx1234567890abcdef", "bench-app-secret", "THUMB_MEDIA_1")
weibo = quick(Weibo)("2.00bench-weibo", "localhost")
gw = SmsGateway("bench-sms", "SMS_290000001", "江苏地灾预警", batch_max=SMS_BATCH,
                params=["level", "hazard", "place", "id"])
sink = SmtpSink(user="geoalert", password="bench-relay-pw")  # answers with TCP_NODELAY
broker = Broker().start()
ga = Geoalert(broker, stations=reg, extra={
    "channel.portal": {"type": "portal", "url": portal.url("/api/alerts"),
                       "token_file": secret("p", portal.token)},
    "channel.wecom": {"type": "wecom", "url": wecom.url("/cgi-bin/webhook/send"),
                      "token_file": secret("w", wecom.key), "rate_per_min": "0"},
    "channel.dingtalk": {"type": "dingtalk", "url": ding.url("/robot/send"),
                         "token_file": secret("d", ding.token),
                         "secret_file": secret("ds", ding.secret), "rate_per_min": "0"},
    "channel.feishu": {"type": "feishu", "url": feishu.url("/open-apis/bot/v2/hook/"),
                       "token_file": secret("f", feishu.token),
                       "secret_file": secret("fs", feishu.secret), "rate_per_min": "0",
                       "rate_per_s": "0"},
    "channel.mqtt": {"type": "mqtt"},
    "channel.wechat": {"type": "wechat_mp", "url": wmp.url(""), "appid": wmp.appid,
                       "secret_file": secret("wx", wmp.secret), "thumb_media_id": wmp.thumb},
    "channel.weibo": {"type": "weibo", "url": weibo.url("/2/statuses/share.json"),
                      "token_file": secret("wb", weibo.token), "safe_domain": "localhost"},
    "channel.sms": {"type": "sms", "url": gw.url("/sms/send"),
                    "token_file": secret("sms", gw.token), "template_code": gw.template_code,
                    "sign_name": gw.sign_name,
                    "params": "level=level_zh, hazard=hazard_zh, place=admin_name, id=alert_id",
                    "recipients_dir": rcpt_dir, "batch_size": str(SMS_BATCH)},
    "channel.mail": {"type": "email", "url": sink.url(), "from": "alerts@dnr.example.org",
                     "to_file": mail_to, "username": sink.user,
                     "secret_file": secret("smtp", sink.password)},
})
# Weibo takes only links on its safe domain: the alerts' public pages are
# on a subdomain of localhost (the bench talks to the daemon on 127.0.0.1)
BASE = "http://alerts.localhost:%d" % ga.http_port
ga.sections["http"]["public_base_url"] = BASE
ga.write_config()
tok = subprocess.run([GEOALERT, "officer", "add", "bench", "--role", "duty_officer", "-c",
                      ga.conf], capture_output=True, timeout=120, check=True).stdout.decode().strip()
ga.start()

arrived = {}  # alert_id -> monotonic arrival on mqtt
cond = threading.Condition()


def on_msg(c, u, m):
    a = json.loads(m.payload)
    with cond:
        arrived.setdefault(a["alert_id"], time.monotonic())
        cond.notify_all()


sub = mqtt.Client(client_id="bench-sub-%d" % free_port(), protocol=mqtt.MQTTv311)
sub.on_message = on_msg
sub.connect("127.0.0.1", broker.port, 30)
sub.loop_start()
sub.subscribe("geohazard/v1/alerts/#", qos=1)
pub = mqtt.Client(client_id="bench-pub-%d" % free_port(), protocol=mqtt.MQTTv5)
pub.connect("127.0.0.1", broker.port, 30)
pub.loop_start()
rcv = {}
rcond = threading.Condition()


def on_receipt(c, u, m):
    r = json.loads(m.payload)
    with rcond:
        rcv[r.get("report_id")] = r
        rcond.notify_all()


pub.on_message = on_receipt
pub.subscribe("geohazard/v1/receipts/#", qos=1)
time.sleep(0.5)


def call(method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", ga.http_port, timeout=10)
    try:
        conn.request(method, path, body=json.dumps(body or {}).encode(),
                     headers={"Authorization": "Bearer " + tok,
                              "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def wait(what, pred, deadline):
    """pred's value once true; the bench fails when it is not by deadline."""
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise SystemExit("bench: %s: not within %.0f s: lost" % (what, WAIT_S))
        time.sleep(0.002)


def wechat_t(aid):
    """The arrival of the freepublish/submit of aid's draft."""
    url = "%s/alerts/%s" % (BASE, aid)
    mids = {m for m, a in wmp.article(lambda a: a.get("content_source_url") == url)}
    ts = [r["t"] for r in wmp.of_path("/cgi-bin/freepublish/submit", ok=True)
          if r["json"].get("media_id") in mids]
    return ts[0] if ts else None


def sms_t(key):
    """The arrival of the last of key's batches, once all are accepted."""
    ts = [r["t"] for r in gw.of(lambda r: r.get("accepted") and
                                r["out_id"].rsplit(":", 1)[0] == key)]
    return max(ts) if len(ts) >= SMS_NBATCH else None


CHANNELS = ["portal", "wecom", "dingtalk", "feishu", "mqtt", "wechat_mp", "weibo", "sms",
            "email"]
lat = {k: [] for k in ["confirm_response"] + CHANNELS + ["all"]}
for i in range(N):
    sid, lon, la, ht = STATIONS[i]
    rid = "bench-%d-%d" % (i, os.getpid())
    pub.publish("geohazard/v1/reports/" + sid, json.dumps(
        {"schema": "geohazard.report/1", "report_id": rid, "station_id": sid, "kind": "danger",
         "hazard_type": ht, "observed_at": now_rfc3339()}, ensure_ascii=False), qos=1)
    with rcond:
        rcond.wait_for(lambda: rid in rcv, 20)
    r = rcv.get(rid)
    if not r or r["status"] != "accepted" or r.get("level") != "large":
        raise SystemExit("bench: report %s not a large incident: %r" % (rid, r))
    aid = r["incident_id"]
    wait("draft of " + aid, lambda: any(a["alert_id"] == aid for a in
                                        call("GET", "/api/v1/alerts?state=pending")[1]["alerts"]),
         time.monotonic() + WAIT_S)
    t0 = time.monotonic()
    code, res = call("POST", "/api/v1/alerts/%s/confirm" % aid)
    t1 = time.monotonic()
    assert code == 200 and res["published"], res
    key = aid + ":1"
    msgid = ("Message-ID: <%s.1@" % aid).encode()
    dl = t0 + WAIT_S
    t = {}
    t["portal"] = wait(key + " portal", lambda: [x["t"] for x in portal.of(
        lambda x: x["headers"].get("idempotency-key") == key and x["status"] == 201)], dl)[0]
    t["wecom"] = wait(key + " wecom", lambda: [x["t"] for x in wecom.of(
        lambda x: aid in (x.get("text") or ""))], dl)[0]
    t["dingtalk"] = wait(key + " dingtalk", lambda: [x["t"] for x in ding.of(
        lambda x: aid in (x.get("text") or ""))], dl)[0]
    t["feishu"] = wait(key + " feishu", lambda: [x["t"] for x in feishu.of(
        lambda x: aid in (x.get("text") or ""))], dl)[0]
    with cond:
        cond.wait_for(lambda: aid in arrived, max(0.0, dl - time.monotonic()))
    if aid not in arrived:
        raise SystemExit("bench: %s mqtt: not within %.0f s: lost" % (key, WAIT_S))
    t["mqtt"] = arrived[aid]
    t["wechat_mp"] = wait(key + " wechat_mp", lambda: wechat_t(aid), dl)
    t["weibo"] = wait(key + " weibo", lambda: [x["t"] for x in weibo.of(
        lambda x: x["status"] == 200 and aid in x.get("status_text", ""))], dl)[0]
    t["sms"] = wait(key + " sms", lambda: sms_t(key), dl)
    t["email"] = wait(key + " email", lambda: [m["t"] for m in sink.of(
        lambda m: msgid in m["data"])], dl)[0]
    lat["confirm_response"].append((t1 - t0) * 1000)
    for k in CHANNELS:
        lat[k].append((t[k] - t0) * 1000)
    lat["all"].append((max(t.values()) - t0) * 1000)

time.sleep(0.5)  # a late repeat would show below
ga.stop()
broker.stop()
twice = []
if len(portal.accept_count) != N or any(v != 1 for v in portal.accept_count.values()):
    twice.append("portal %r" % portal.accept_count)
if len(wmp.publishes) != N or any(v != 1 for v in wmp.publishes.values()):
    twice.append("wechat_mp: %d drafts, publishes %r" % (len(wmp.drafts), wmp.publishes))
if len(weibo.texts) != N:
    twice.append("weibo: %d posts" % len(weibo.texts))
if len(gw.out_ids) != N * SMS_NBATCH or any(
        sorted(v.values()) != [1] * NSMS or sorted(v) != sorted(PHONES) for v in gw.sent.values()):
    twice.append("sms: %d batches" % len(gw.out_ids))
if len(sink.messages) != N:
    twice.append("email: %d messages" % len(sink.messages))
for name, ep in (("wecom", wecom), ("dingtalk", ding), ("feishu", feishu)):
    if len(ep.of(lambda x: x.get("text"))) != N:
        twice.append("%s: %d messages" % (name, len(ep.of(lambda x: x.get("text")))))
if len(arrived) != N:
    twice.append("mqtt: %d alerts" % len(arrived))
if twice:
    raise SystemExit("bench: not exactly once: " + "; ".join(twice))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


out = {"n": N, "sms_numbers": NSMS, "nodelay": NODELAY, "wechat_tokens": wmp.issued,
       "smtp_sessions": len(sink.sessions)}
print("confirm -> delivered, %d alerts one at a time (ms):" % N)
print("  %-18s %8s %8s %8s" % ("", "p50", "p99", "max"))
for k, xs in lat.items():
    out[k] = {"p50": round(pct(xs, 50), 2), "p99": round(pct(xs, 99), 2), "max": round(max(xs), 2)}
    print("  %-18s %8.2f %8.2f %8.2f" % ("all nine channels" if k == "all" else k,
                                         out[k]["p50"], out[k]["p99"], out[k]["max"]))
print(json.dumps(out))
PY
