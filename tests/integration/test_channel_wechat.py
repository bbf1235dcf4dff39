"""The wechat_mp channel (issue 5, "Channels") against the real broker and
daemon and a stand-in of the WeChat official account API
(endpoints_wechat.py) that checks what the real one checks: a confirmed
alert becomes exactly one draft, published once; the access token is
fetched once and reused across alerts, fetched again once expired; a
submit that fails is retried with the same media_id (still one draft),
even across a kill -9; 45009 waits as a rate limit; check-config names
a missing key's FILE:LINE.

Every wait is bounded."""
import functools
import os
import time

import flows
from endpoints_wechat import WeChatMP
from harness import Broker, Geoalert, Runner, Station, secret_file, tmpdir

# Stations of our own in 浦口区 (320111), each a hazard point threatening
# 620 people (a large danger), 2 km or more apart: one incident each.
STATIONS = flows.grid("WMP-%04d" % (i + 1) for i in range(9))

SECRETS = tmpdir("wmp-secrets")
mp = WeChatMP("wx1234567890abcdef", "app-secret-0123456789", "THUMB_MEDIA_1")
runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(tmpdir("wmp-registry"), "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "公众号测试站", "32011177")
ga = Geoalert(broker, stations=REGISTRY, extra={
    "channel.wechat": dict(type="wechat_mp", url=mp.url(""), appid=mp.appid,
                           secret_file=secret_file(SECRETS, "wx", mp.secret),
                           thumb_media_id=mp.thumb, backoff_initial_ms="200",
                           backoff_max_ms="800", timeout_ms="1500"),
})
DUTY = flows.officer(ga, "duty1")
ga.start()
st = Station(broker)
BASE = ga.sections["http"]["public_base_url"]
call = functools.partial(flows.call, ga, token=DUTY)
new_alert = flows.alert_maker(ga, st, DUTY, STATIONS)  # a fresh station's, version 1


def wait_delivered(aid, timeout=15.0):
    return flows.wait_delivery(ga, DUTY, aid, "wechat", timeout=timeout,
                               detail=lambda: "API saw %r" % [
                                   (r["path"], r["answer"]) for r in mp.of()[-6:]])


def drafts_of(aid):
    url = "%s/alerts/%s" % (BASE, aid)
    return mp.article(lambda a: a.get("content_source_url") == url)


def published_alert(aid):
    code, full = call("GET", "/api/v1/alerts/" + aid)
    assert code == 200, full
    return [p for p in full["published"] if p["version"] == 1][0]


def test_one_draft_one_publish():
    aid = new_alert()
    d = wait_delivered(aid)
    assert d["attempts"] == 1, d
    drafts = drafts_of(aid)
    assert len(drafts) == 1, drafts
    mid, art = drafts[0]
    assert mp.publishes.get(mid) == 1, mp.publishes
    a = published_alert(aid)
    head = a["headline"].encode()
    title = art["title"].encode()
    assert len(title) <= 64 and (title == head or (title.endswith("…".encode()) and
                                                   head.startswith(title[:-3]))), art["title"]
    html = art["content"]
    for want in ("大型", "滑坡", "江苏省南京市浦口区", "浦口区测试山体", "连续强降雨",
                 "已撤离坡下群众", 'href="%s/alerts/%s"' % (BASE, aid)):
        assert want in html, (want, html)
    assert "演练" not in html and "<script" not in html
    assert art["author"] == "江苏省自然资源厅", art["author"]
    assert art["thumb_media_id"] == mp.thumb and art["need_open_comment"] == 0, art
    # the submit named that draft
    subs = mp.of_path("/freepublish/submit", ok=True)
    assert [r["json"]["media_id"] for r in subs].count(mid) == 1


def test_token_reused_across_alerts():
    issued = mp.issued
    a1, a2 = new_alert(), new_alert()
    wait_delivered(a1)
    wait_delivered(a2)
    assert mp.issued == issued, (mp.issued, issued)
    toks = {r["query"]["access_token"][0] for r in mp.of()
            if r["path"] != "/cgi-bin/stable_token"}
    assert len(toks) == 1, toks
    for aid in (a1, a2):
        (mid, _), = drafts_of(aid)
        assert mp.publishes[mid] == 1


def test_expired_token_fetched_again():
    issued = mp.issued
    mp.expire_tokens()
    aid = new_alert()
    d = wait_delivered(aid)
    assert mp.issued == issued + 1, (mp.issued, issued)
    assert mp.of(lambda r: isinstance(r["answer"], dict)
                 and r["answer"].get("errcode") == 42001), "no 42001 answered"
    assert d["attempts"] == 1, d  # fetched again within the attempt
    (mid, _), = drafts_of(aid)
    assert mp.publishes[mid] == 1


def test_submit_error_retried_with_the_same_media_id():
    mp.fail("/cgi-bin/freepublish/submit", -1, n=1)
    aid = new_alert()
    d = wait_delivered(aid)
    assert d["attempts"] == 2, d
    drafts = drafts_of(aid)
    assert len(drafts) == 1, drafts
    mid = drafts[0][0]
    subs = [r for r in mp.of_path("/freepublish/submit") if r["json"]["media_id"] == mid]
    assert [r["answer"]["errcode"] for r in subs] == [-1, 0], subs
    assert mp.publishes[mid] == 1


def test_kill9_after_the_draft_publishes_that_draft():
    mp.fail("/cgi-bin/freepublish/submit", -1, n=1000)
    aid = new_alert()
    deadline = time.monotonic() + 15
    while not (drafts_of(aid) and len(mp.of_path("/freepublish/submit", ok=False)) >= 2):
        assert time.monotonic() < deadline, mp.of()[-4:]
        time.sleep(0.1)
    ga.kill9()
    mp.fail("/cgi-bin/freepublish/submit", -1, n=0)
    ga.start()
    wait_delivered(aid, timeout=20)
    drafts = drafts_of(aid)
    assert len(drafts) == 1, drafts
    assert mp.publishes[drafts[0][0]] == 1


def test_rate_limit_45009_waits():
    mp.rate(1)
    aid = new_alert()
    d = flows.wait_row(ga, DUTY, aid, "wechat", lambda d: "45009" in (d["last_error"] or ""),
                       "refused with 45009", timeout=10)
    n = len(mp.of())
    time.sleep(2.5)  # a plain retry would come within 800 ms
    assert len(mp.of()) == n, [(r["path"], r["answer"]) for r in mp.of()[n:]]
    assert d["state"] in ("pending", "sending"), d


def test_check_config_names_a_missing_key():
    conf = flows.edited_config(ga, "thumb_media_id = ", "old_thumb = ",
                               os.path.join(tmpdir("wmp-cfg"), "bad.ini"))
    rc, out = flows.check_config(conf)
    assert rc != 0 and conf + ":" in out and "old_thumb" in out, out
    flows.edited_config(ga, "thumb_media_id = %s\n" % mp.thumb, "", conf)
    rc, out = flows.check_config(conf)
    assert rc != 0 and conf + ":" in out and "thumb_media_id" in out, out


for t in (test_one_draft_one_publish,
          test_token_reused_across_alerts,
          test_expired_token_fetched_again,
          test_submit_error_retried_with_the_same_media_id,
          test_kill9_after_the_draft_publishes_that_draft,
          test_check_config_names_a_missing_key,
          test_rate_limit_45009_waits):
    runner.run(t)
st.close()
mp.close()
ga.stop()
broker.stop()
runner.finish()
