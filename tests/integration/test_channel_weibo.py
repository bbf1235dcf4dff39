# ga-test-backends: sqlite pg
"""The weibo channel type against the real broker and daemon and a local
stand-in of Weibo's statuses/share (endpoints_weibo_sms.Weibo), which checks
the token, the form, at most 140 characters and the link on the safe
domain, and answers 20019 for a text it has: a confirmed alert is posted
once, with the link to its public page; a long one is cut to exactly 140
characters ending in "…" and the link; a rate error (10023) is retried; an
attempt whose answer was lost is tried again, Weibo says 20019 and it
counts as delivered, still one post; a public_base_url off the safe domain
stops the start with FILE:LINE.

Every wait is bounded."""
import os

import flows
from endpoints_weibo_sms import Weibo
from harness import Broker, Geoalert, Runner, Station, secret_file, tmpdir

STATIONS = flows.grid("WBO-%04d" % (i + 1) for i in range(9))

WORK = tmpdir("weibo")
weibo = Weibo("2.00weibo-token_xyz", "localhost")
runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(WORK, "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "微博测试站", "32011177")
CHANNEL = {"type": "weibo", "url": weibo.url("/2/statuses/share.json"),
           "token_file": secret_file(WORK, "weibo-token", weibo.token),
           "safe_domain": "localhost", "backoff_initial_ms": "200", "backoff_max_ms": "800",
           "timeout_ms": "1500"}
ga = Geoalert(broker, stations=REGISTRY, extra={"channel.weibo": CHANNEL})
# the links are on a subdomain of the safe domain (the test talks to the
# daemon on 127.0.0.1 all the same)
BASE = "http://alerts.localhost:%d" % ga.http_port
ga.sections["http"]["public_base_url"] = BASE
ga.write_config()
DUTY = flows.officer(ga, "duty1")
ga.start()
st = Station(broker)
new_alert = flows.alert_maker(ga, st, DUTY, STATIONS)


def row(aid):
    """aid's version 1 to weibo, once delivered."""
    return flows.wait_delivery(ga, DUTY, aid, "weibo")


def link(aid):
    return "%s/alerts/%s" % (BASE, aid)


def test_confirmed_alert_is_posted_once_with_its_link():
    aid = new_alert()
    d = row(aid)
    assert d["attempts"] == 1 and d["idempotency_key"] == aid + ":1", d
    posts = weibo.posts_with(link(aid))
    assert len(posts) == 1, posts
    s = posts[0]
    assert s.endswith(" " + link(aid)), s
    assert len(s) <= 140 and "【大型滑坡险情】" in s, s
    code, a = flows.call(ga, "GET", "/api/v1/alerts/" + aid, DUTY)
    assert a["published"][0]["headline"] in s, (a["published"][0]["headline"], s)
    reqs = weibo.of(lambda r: link(aid) in (r.get("status_text") or ""))
    assert len(reqs) == 1 and reqs[0]["status"] == 200, reqs


def test_long_text_is_cut_to_exactly_140_with_the_link():
    long = "坡体出现多条拉张裂缝，后缘下错约三十厘米，" * 20
    aid = new_alert({"situation": long})
    row(aid)
    (s,) = weibo.posts_with(link(aid))
    assert len(s) == 140, (len(s), s)
    assert s.endswith("… " + link(aid)), s
    assert "坡体出现多条拉张裂缝" in s


def test_rate_error_is_retried():
    weibo.rate(1)
    aid = new_alert()
    d = row(aid)
    assert d["attempts"] == 2 and "10023" in d["last_error"], d
    rated = weibo.of(lambda r: r.get("rated") and link(aid) in r.get("status_text", ""))
    ok = weibo.of(lambda r: r["status"] == 200 and link(aid) in r.get("status_text", ""))
    assert len(rated) == 1 and len(ok) == 1, (rated, ok)
    assert ok[0]["t"] - rated[0]["t"] >= 0.95, ok[0]["t"] - rated[0]["t"]


def test_lost_answer_then_20019_counts_as_delivered_once():
    weibo.set_mode("accept_hang", n=1)
    aid = new_alert()
    d = row(aid)
    assert d["attempts"] == 2 and "imeout" in d["last_error"], d
    # Weibo took the first; the retry was told 20019; one post all the same
    assert len(weibo.posts_with(link(aid))) == 1
    rep = weibo.of(lambda r: link(aid) in r.get("status_text", "") and r["status"] == 400)
    assert len(rep) == 1 and rep[0]["answer"]["error_code"] == 20019, rep
    assert "20019" in ga.log_text()


def test_link_off_the_safe_domain_stops_the_start():
    other = Geoalert(broker, stations=REGISTRY, name="ga-weibo-bad", extra={
        "channel.weibo": dict(CHANNEL, safe_domain="weibo-safe.example")})
    other.start(wait=False)
    rc = other.proc.wait(timeout=30)
    assert rc != 0
    text = other.log_text()
    # the key's line in the file
    with open(other.conf) as f:
        line = [i + 1 for i, l in enumerate(f) if l.startswith("safe_domain")][0]
    assert "%s:%d: [channel.weibo] safe_domain" % (other.conf, line) in text, text


for t in (test_confirmed_alert_is_posted_once_with_its_link,
          test_long_text_is_cut_to_exactly_140_with_the_link, test_rate_error_is_retried,
          test_lost_answer_then_20019_counts_as_delivered_once,
          test_link_off_the_safe_domain_stops_the_start):
    runner.run(t)
ga.stop()
weibo.close()
broker.stop()
runner.finish()
