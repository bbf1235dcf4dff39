# ga-test-backends: sqlite pg
"""The wechat_mp channel (issue 5, "Channels") against the real broker and
daemon and a stand-in of the WeChat official account API
(endpoints_wechat.py) that checks what the real one checks: a confirmed
alert becomes exactly one draft, published once; the access token is
fetched once and reused across alerts, fetched again once expired; a
submit that fails is retried with the same media_id (still one draft),
even across a kill -9; a submit only queues the publication:
freepublish/get is polled until it says published (one submit), a
refused one (status 4) fails at once (the first poll; long before the
deadline) without a second submit,
and a kill -9 between submit and get resumes at the poll of the same
publish_id; 45009 waits as a rate limit; check-config names a missing
key's FILE:LINE.

Every wait is bounded."""
import functools
import os
import re
import time

import flows
from endpoints_wechat import WeChatMP
from harness import Broker, Geoalert, Runner, Station, secret_file, tmpdir

# Stations of our own in 浦口区 (320111), each a hazard point threatening
# 620 people (a large danger), 2 km or more apart: one incident each.
STATIONS = flows.grid("WMP-%04d" % (i + 1) for i in range(12))

SECRETS = tmpdir("wmp-secrets")
mp = WeChatMP("wx1234567890abcdef", "app-secret-0123456789", "THUMB_MEDIA_1")
# a second account, for a publication that fails
mp2 = WeChatMP("wx2222222222abcdef", "app-secret-2222222222", "THUMB_MEDIA_2")
runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(tmpdir("wmp-registry"), "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "公众号测试站", "32011177")
ga = Geoalert(broker, stations=REGISTRY, extra={
    "channel.wechat": dict(type="wechat_mp", url=mp.url(""), appid=mp.appid,
                           secret_file=secret_file(SECRETS, "wx", mp.secret),
                           thumb_media_id=mp.thumb, backoff_initial_ms="200",
                           backoff_max_ms="800", timeout_ms="1500"),
    "channel.wxshort": dict(type="wechat_mp", url=mp2.url(""), appid=mp2.appid,
                            secret_file=secret_file(SECRETS, "wx2", mp2.secret),
                            thumb_media_id=mp2.thumb, backoff_initial_ms="200",
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


def drafts_of(aid, api=mp):
    url = "%s/alerts/%s" % (BASE, aid)
    return api.article(lambda a: a.get("content_source_url") == url)


def gets_of(pid, api=mp):
    """The freepublish/get requests for publish_id pid, oldest first."""
    return api.of(lambda r: r["path"] == "/cgi-bin/freepublish/get"
                  and r["json"].get("publish_id") == pid)


def submits_of(mid, api=mp):
    """The freepublish/submit requests naming media_id mid."""
    return api.of(lambda r: r["path"] == "/cgi-bin/freepublish/submit"
                  and r["json"].get("media_id") == mid)


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


def test_polled_until_published():
    mp.statuses([1, 1, 0])
    try:
        aid = new_alert()
        d = wait_delivered(aid)
    finally:
        mp.statuses([0])
    assert d["attempts"] == 3, d  # two answers "publishing", then published
    (mid, _), = drafts_of(aid)
    assert len(submits_of(mid)) == 1 and mp.publishes[mid] == 1, submits_of(mid)
    pid, = mp.publish_ids(mid)
    gets = gets_of(pid)
    assert [r["answer"]["publish_status"] for r in gets] == [1, 1, 0], gets
    assert all(r["t"] > submits_of(mid)[0]["t"] for r in gets)
    log = ga.log_text()
    assert "publish_id %s: publishing (status 1)" % pid in log, log[-2000:]
    assert mp.article_url(pid) in log, log[-2000:]


def test_review_failed_fails_without_resubmit():
    mp2.statuses([4])
    try:
        aid = new_alert()
        d = flows.wait_delivery(ga, DUTY, aid, "wxshort", state="failed",
                                timeout=15,
                                detail=lambda: "API saw %r" % [
                                    (r["path"], r["answer"]) for r in mp2.of()[-6:]])
    finally:
        mp2.statuses([0])
    (mid, _), = drafts_of(aid, mp2)
    pid, = mp2.publish_ids(mid)
    err = d["last_error"] or ""
    assert "publish_id %s: status 4 (platform review failed), fail_idx [1]" % pid in err, d
    assert len(submits_of(mid, mp2)) == 1 and mp2.publishes[mid] == 1, mp2.publishes
    gets = gets_of(pid, mp2)
    assert [r["answer"]["publish_status"] for r in gets] == [4], gets  # not polled again
    assert re.search(r"%s version 1 to wxshort failed after \d+ attempts: .*status 4" % aid,
                     ga.log_text()), ga.log_text()[-2000:]  # supervisors told with it
    # the same alert went to the other account as usual
    assert wait_delivered(aid)["state"] == "delivered"


def test_kill9_after_submit_resumes_at_the_poll():
    mp.statuses([1])
    try:
        aid = new_alert()
        deadline = time.monotonic() + 15
        while not (drafts_of(aid) and mp.publish_ids(drafts_of(aid)[0][0])
                   and gets_of(mp.publish_ids(drafts_of(aid)[0][0])[0])):
            assert time.monotonic() < deadline, mp.of()[-4:]
            time.sleep(0.05)
    finally:
        mp.statuses([0])
    ga.kill9()
    (mid, _), = drafts_of(aid)
    pid, = mp.publish_ids(mid)
    (scratch,), = ga.query("SELECT scratch FROM deliveries WHERE alert_id = ? AND"
                           " channel = 'wechat'", (aid,))
    assert scratch.endswith("poll:" + pid), scratch
    before = len(gets_of(pid))
    mp.set_statuses(pid, [0])
    ga.start()
    wait_delivered(aid, timeout=20)
    gets = gets_of(pid)
    assert len(gets) > before and gets[-1]["answer"]["publish_status"] == 0, gets
    assert len(submits_of(mid)) == 1 and mp.publishes[mid] == 1, mp.publishes
    assert len(drafts_of(aid)) == 1 and mp.publish_ids(mid) == [pid]


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
          test_polled_until_published,
          test_review_failed_fails_without_resubmit,
          test_kill9_after_submit_resumes_at_the_poll,
          test_check_config_names_a_missing_key,
          test_rate_limit_45009_waits):
    runner.run(t)
st.close()
mp.close()
mp2.close()
ga.stop()
broker.stop()
runner.finish()
