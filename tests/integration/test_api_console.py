# ga-test-backends: sqlite pg
"""The officer API the console is built on (issue 10), against the real
broker and daemon and a stand-in Weibo: list items with msg_type,
level_zh, created_at in the service's zone and waiting_s; the detail with
reasons_zh, deliveries and public_url; a preview of exactly what goes out
(the public page, each channel's text with its length and limit) that
publishes nothing; limits counted in characters with the field and limit
in a Chinese error; edits to version 1 carried into the draft of version 2
with the difference from the published version; the 解除 text shown
before the cancel and published as edited; GET /api/v1/session.

Every wait is bounded."""
import json
import os
import re

import flows
from endpoints_weibo_sms import Weibo
from harness import Broker, Geoalert, Runner, Station, secret_file, tmpdir

STATIONS = flows.grid("CON-%04d" % (i + 1) for i in range(9))
PASSWORD = "correct horse battery"
WORK = tmpdir("apiconsole")
weibo = Weibo("2.00weibo-token_xyz", "localhost")
runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(WORK, "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "控制台测试站", "32011177")
CHANNEL = {"type": "weibo", "url": weibo.url("/2/statuses/share.json"),
           "token_file": secret_file(WORK, "weibo-token", weibo.token),
           "safe_domain": "localhost", "backoff_initial_ms": "200", "backoff_max_ms": "800",
           "timeout_ms": "1500"}
ga = Geoalert(broker, stations=REGISTRY, extra={"channel.weibo": CHANNEL})
BASE = "http://alerts.localhost:%d" % ga.http_port
ga.sections["http"]["public_base_url"] = BASE
ga.write_config()
DUTY = flows.officer(ga, "duty1", "duty_officer", PASSWORD)
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)

ZONE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def call(method, path, token=DUTY, body=None):
    return flows.call(ga, method, path, token, body)


def pending_alert(station, people=None):
    """A large danger of station, pending: its alert id."""
    rid = "%s-%d" % (station, int(flows.time.time() * 1000))
    fields = dict(flows.DETAILS)
    if people is not None:
        fields["figures"] = {"threatened_people": people}
    rc = flows.publish_large(st, station, rid, **fields)
    flows.wait_pending(ga, DUTY, rc["incident_id"])
    return rc["incident_id"]


def no_latin(text):
    """Officer-facing text: no Latin words (names and ids aside)."""
    assert not LATIN_WORD.search(text), text


def test_list_items_and_detail():
    aid = pending_alert(STATIONS[0][0])
    it = flows.listed(ga, DUTY, aid)
    assert it["msg_type"] == "alert" and it["level_zh"] == "大型", it
    assert ZONE.match(it["created_at"]), it["created_at"]
    assert isinstance(it["waiting_s"], int) and 0 <= it["waiting_s"] < 600, it
    assert it["superseded"] is False, it
    code, v = call("GET", "/api/v1/alerts/" + aid)
    assert code == 200, v
    assert v["reasons_zh"] and all(isinstance(r, str) for r in v["reasons_zh"]), v
    for r in v["reasons_zh"]:
        no_latin(r)
    assert v["reasons_zh"][0].startswith("威胁人数"), v["reasons_zh"]
    assert v["carried_edits"] == [] and v["changed_facts"] == [] and v["diff"] == {}, v
    assert v["deliveries"] == [] and v["public_url"] is None, v


def test_preview_is_what_goes_out_and_publishes_nothing():
    aid = pending_alert(STATIONS[1][0])
    code, res = call("POST", "/api/v1/alerts/%s/preview" % aid,
                     body={"edits": {"headline": "【大型滑坡险情】预览的标题"}})
    assert code == 200, res
    assert res["alert_id"] == aid and res["version"] == 1, res
    assert res["alert"]["headline"] == "【大型滑坡险情】预览的标题", res["alert"]
    assert ZONE.match(res["alert"]["sent"]), res["alert"]["sent"]
    assert "预览的标题" in res["page_html"] and res["page_html"].startswith("<!DOCTYPE"), \
        res["page_html"][:200]
    (ch,) = res["channels"]
    assert ch["channel"] == "weibo" and ch["type"] == "weibo", ch
    assert ch["limit"] == 140 and ch["chars"] == len(ch["text"]) <= 140, ch
    assert ch["text"].endswith(" %s/alerts/%s" % (BASE, aid)), ch["text"]
    assert "预览的标题" in ch["text"], ch["text"]
    # nothing was published, confirmed or sent
    assert flows.listed(ga, DUTY, aid)["confirmations"] == 0
    assert flows.listed(ga, DUTY, aid, "published") is None
    assert weibo.posts_with(aid) == []
    # the preview of a long text: the channel's text is cut to its limit
    long = "坡体出现多条拉张裂缝，" * 150  # 1650 characters
    code, res = call("POST", "/api/v1/alerts/%s/preview" % aid,
                     body={"edits": {"headline": "长文预览", "situation": long}})
    assert code == 200, res
    (ch,) = res["channels"]
    assert ch["chars"] == 140 and len(ch["text"]) == 140, ch
    # then confirming publishes exactly what was previewed
    code, done = call("POST", "/api/v1/alerts/%s/confirm" % aid,
                      body={"edits": {"headline": "长文预览", "situation": long}})
    assert code == 200 and done["published"], done
    assert done["public_url"] == "%s/alerts/%s" % (BASE, aid), done
    code, pub = call("GET", "/alerts/%s.json" % aid, token=None)
    assert code == 200, pub
    for k in ("headline", "situation", "causes", "response", "trend", "version"):
        assert pub[k] == res["alert"][k], k
    # the page previewed is the page published (its times aside)
    code, hdrs, page = flows.request(ga, "GET", "/alerts/" + aid)
    assert code == 200
    digits = re.compile(r"\d+")
    assert digits.sub("#", page.decode()) == digits.sub("#", res["page_html"]), \
        "the published page differs from its preview"
    flows.wait_delivery(ga, DUTY, aid, "weibo")
    (post,) = weibo.posts_with("%s/alerts/%s" % (BASE, aid))
    assert post == ch["text"], (post, ch["text"])
    code, v = call("GET", "/api/v1/alerts/" + aid)
    (d,) = v["deliveries"]
    assert d["channel"] == "weibo" and d["state"] == "delivered" and d["attempts"] == 1, d
    assert ZONE.match(d["delivered_at"]), d
    assert v["public_url"] == done["public_url"], v


def test_limits_in_characters_with_field_and_limit():
    aid = pending_alert(STATIONS[2][0])
    path = "/api/v1/alerts/%s/preview" % aid
    code, res = call("POST", path, body={"edits": {"headline": "字" * 120}})
    assert code == 200, res
    for action in ("preview", "confirm"):
        code, res = call("POST", "/api/v1/alerts/%s/%s" % (aid, action),
                         body={"edits": {"headline": "字" * 121}})
        assert code == 400, res
        assert res == {"error": "too_long", "message": "标题超过120个字",
                       "path": "edits.headline", "limit": 120}, res
    code, res = call("POST", path, body={"edits": {"trend": "字" * 2001}})
    assert code == 400 and res["limit"] == 2000 and res["path"] == "edits.trend", res
    code, res = call("POST", path, body={"edits": {"title": "x"}})
    assert code == 400 and res["error"] == "unknown_field", res
    code, res = call("POST", path, body={"edits": {"headline": ""}})
    assert code == 400 and res["error"] == "empty" and res["message"] == "标题不能为空", res
    code, res = call("POST", path, body={"draft_id": 999999})
    assert code == 409, res
    no_latin(res["message"].replace(aid, ""))
    code, res = call("POST", "/api/v1/alerts/%s/cancel" % aid, DUTY, body={"reason": "x"})
    assert code == 403 and res["message"] == "值班员无权解除预警", res
    code, res = call("GET", "/api/v1/alerts/JS-20000101-9999")
    assert code == 404 and res["error"] == "not_found", res
    no_latin(res["message"])
    # bodies that are not JSON objects: where, in Chinese
    for raw, words in ((b'{"edits": {}, "edits": {}}', "重复"), (b"{x", "格式错误"),
                       (b"[1]", "对象")):
        conn = flows.http.client.HTTPConnection("127.0.0.1", ga.http_port, timeout=10)
        conn.request("POST", path, body=raw, headers={"Authorization": "Bearer " + DUTY,
                                                      "Content-Type": "application/json"})
        r = conn.getresponse()
        res = json.loads(r.read())
        conn.close()
        assert r.status == 400 and res["error"] == "bad_body" and words in res["message"], res
        no_latin(res["message"].replace("JSON", ""))
    assert flows.listed(ga, DUTY, aid)["confirmations"] == 0


def test_edits_carried_into_the_next_version():
    station = STATIONS[3][0]
    aid = pending_alert(station, people=600)
    code, res = call("POST", "/api/v1/alerts/%s/confirm" % aid,
                     body={"edits": {"headline": "值班员改的标题", "trend": "值班员写的趋势。"}})
    assert code == 200 and res["published"], res
    # more people threatened: version 2's draft keeps the officer's texts
    rid = "%s-v2" % station
    fields = dict(flows.DETAILS)
    fields["figures"] = {"threatened_people": 700}
    flows.publish_large(st, station, rid, **fields)
    for _ in range(200):
        code, v = call("GET", "/api/v1/alerts/" + aid)
        if v.get("pending"):
            break
        flows.time.sleep(0.1)
    p = v["pending"]
    assert p and p["version"] == 2 and p["msg_type"] == "update", v
    assert p["headline"] == "值班员改的标题" and p["trend"] == "值班员写的趋势。", p
    assert sorted(v["carried_edits"]) == ["headline", "trend"], v
    assert v["changed_facts"] == [], v
    assert set(v["diff"]) == {"situation"}, v["diff"]
    assert "700" in v["diff"]["situation"]["draft"], v["diff"]
    assert "600" in v["diff"]["situation"]["published"], v["diff"]
    it = flows.listed(ga, DUTY, aid, "published")
    assert it["version"] == 1 and it["superseded"] is False, it


def test_cancel_shows_its_text_first_and_publishes_it_as_edited():
    aid = pending_alert(STATIONS[4][0])
    flows.confirm(ga, DUTY, aid)
    path = "/api/v1/alerts/%s/cancel" % aid
    code, res = call("POST", path + "/preview", SUP, body={"reason": "险情已排除"})
    assert code == 200, res
    assert set(res["edits"]) == {"headline", "situation", "causes", "response", "trend"}, res
    assert res["edits"]["headline"].startswith("【解除】"), res["edits"]
    assert res["alert"]["msg_type"] == "cancel" and res["version"] == 2, res
    assert res["edits"]["headline"] in res["page_html"]
    (ch,) = res["channels"]
    assert ch["channel"] == "weibo" and ch["chars"] <= 140, ch
    assert flows.listed(ga, DUTY, aid, "published")["version"] == 1  # nothing done yet
    code, res2 = call("POST", path + "/preview", DUTY, body={"reason": "x"})
    assert code == 403, res2
    edits = dict(res["edits"], headline="【解除】主管改过的解除标题")
    code, again = call("POST", path + "/preview", SUP, body={"reason": "险情已排除",
                                                            "edits": edits})
    assert code == 200 and again["edits"] == edits, again
    code, done = call("POST", path, SUP, body={"reason": "险情已排除", "edits": edits})
    assert code == 200 and done["state"] == "cancelled" and done["version"] == 2, done
    code, pub = call("GET", "/alerts/%s.json" % aid, token=None)
    assert pub["msg_type"] == "cancel" and pub["headline"] == "【解除】主管改过的解除标题", pub
    for k in ("situation", "response"):
        assert pub[k] == res["edits"][k], k
    code, hdrs, page = flows.request(ga, "GET", "/alerts/" + aid)
    digits = re.compile(r"\d+")
    assert digits.sub("#", page.decode()) == digits.sub("#", again["page_html"]), \
        "the published 解除 page differs from its preview"
    # version 1 is now superseded in the list; a second cancel is a conflict
    items = [i for i in call("GET", "/api/v1/alerts?state=published")[1]["alerts"]
             if i["alert_id"] == aid]
    assert {i["version"]: i["superseded"] for i in items} == {1: True, 2: False}, items
    code, res = call("POST", path + "/preview", SUP, body={"reason": "x"})
    assert code == 409, res
    code, res = call("POST", path, SUP, body={"reason": "x", "edits": {"headline": 3}})
    assert code == 400 and res["path"] == "edits.headline", res


def test_session():
    code, s = call("GET", "/api/v1/session")
    assert code == 200, s
    assert s["name"] == "duty1" and s["role"] == "duty_officer" and s["role_zh"] == "值班员", s
    assert s["by_session"] is False and s["expires_at"] is None, s
    assert ZONE.match(s["server_time"]), s
    assert s["utc_offset"] == "+08:00", s
    code, h, raw = flows.request(ga, "POST", "/console/login",
                                 body={"name": "duty1", "password": PASSWORD},
                                 headers=flows.LOGIN_HEADERS)
    assert code == 200, raw
    cookie = [c for c in h.get("set-cookie", "").split(",") if "geoalert_session=" in c]
    value = cookie[0].split("geoalert_session=")[1].split(";")[0]
    conn = flows.http.client.HTTPConnection("127.0.0.1", ga.http_port, timeout=10)
    conn.request("GET", "/api/v1/session", headers={"Cookie": "geoalert_session=" + value})
    r = conn.getresponse()
    s = json.loads(r.read())
    conn.close()
    assert r.status == 200 and s["by_session"] is True, s
    assert ZONE.match(s["expires_at"]) and s["idle_expires_at"] == s["expires_at"], s
    assert s["idle_timeout_s"] > 0, s
    code, res = call("GET", "/api/v1/session", token="A" * 43)
    assert code == 401 and res["error"] == "unauthorized", res
    no_latin(res["message"])


def test_background_polls_do_not_keep_the_session():
    """The console marks the requests it makes while the officer is away
    (X-Geoalert-Background): they must not slide the idle timeout, or an
    unattended console would stay logged in for ever; any other request
    slides it."""
    code, h, raw = flows.request(ga, "POST", "/console/login",
                                 body={"name": "duty1", "password": PASSWORD},
                                 headers=flows.LOGIN_HEADERS)
    assert code == 200, raw
    cookie = [c for c in h.get("set-cookie", "").split(",") if "geoalert_session=" in c]
    value = cookie[0].split("geoalert_session=")[1].split(";")[0]

    def session(background):
        hdrs = {"Cookie": "geoalert_session=" + value}
        if background:
            hdrs["X-Geoalert-Background"] = "1"
        code, _, raw = flows.request(ga, "GET", "/api/v1/session", headers=hdrs)
        assert code == 200, raw
        return json.loads(raw)["expires_at"]

    # ten minutes idle: past the touch interval, well inside the timeout
    ga.query("UPDATE sessions SET expires_ms = expires_ms - 600000,"
             " last_seen_ms = last_seen_ms - 600000")
    before = session(True)
    assert session(True) == before, before
    code, _, raw = flows.request(ga, "GET", "/api/v1/alerts?state=pending",
                                 headers={"Cookie": "geoalert_session=" + value,
                                          "X-Geoalert-Background": "1"})
    assert code == 200, raw
    assert session(True) == before
    after = session(False)
    assert after > before, (before, after)


for t in (test_list_items_and_detail, test_preview_is_what_goes_out_and_publishes_nothing,
          test_limits_in_characters_with_field_and_limit,
          test_edits_carried_into_the_next_version,
          test_cancel_shows_its_text_first_and_publishes_it_as_edited, test_session,
          test_background_polls_do_not_keep_the_session):
    runner.run(t)
ga.stop()
weibo.close()
broker.stop()
runner.finish()
