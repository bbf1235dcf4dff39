# ga-test-backends: sqlite pg
"""Unknown is not zero (spec 1.1 §6; issue 10), through the real broker,
daemon and channel stand-ins: a figure no report of the incident gave is
null in /alerts/{id}.json, in what the portal receives and in the
retained alerts topic; absent from the CAP XML; 未报告 or no row on the
public page; never a 0 in a channel's text (the WeCom robot stand-in).
The registry's threatened figures reach a danger's page (the 崩塌 station
JS-3211-0002: 45 people). The page also carries the 防御指南 and the
[alerts] hotline, the map its accessible name, and a cancelled page
shows 已解除 instead of its 级响应 badge.

Every wait is bounded."""
import json
import re
import threading
import time
import xml.etree.ElementTree as ET

import paho.mqtt.client as mqtt

import flows
from endpoints import Portal, WeCom
from harness import Broker, Geoalert, Runner, Station, free_port, report, secret_file, tmpdir

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
FIGS = ("deaths", "missing", "injured", "relocated_people", "direct_loss_cny",
        "threatened_people", "threatened_property_cny")
HOTLINE = "025-83331234"

SECRETS = tmpdir("unk-secrets")
portal = Portal("portal-token-unk")
wecom = WeCom("wecom-key-unk")
RETRY = {"backoff_initial_ms": "200", "backoff_max_ms": "800", "timeout_ms": "1500"}

runner = Runner()
broker = Broker().start()
ga = Geoalert(broker, name="ga-unknown", extra={
    "alerts": {"hotline": HOTLINE},
    "channel.portal": dict(type="portal", url=portal.url("/api/alerts"),
                           token_file=secret_file(SECRETS, "portal", portal.token), **RETRY),
    "channel.wecom": dict(type="wecom", url=wecom.url("/cgi-bin/webhook/send"),
                          token_file=secret_file(SECRETS, "wecom", wecom.key), **RETRY),
    "channel.mqtt": dict(type="mqtt"),
})
DUTY = flows.officer(ga, "duty1")
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)


class Watcher:
    """geohazard/v1/alerts/#: the alerts as received."""

    def __init__(self):
        self.msgs = []
        self.cond = threading.Condition()
        self.c = mqtt.Client(client_id="unk-watch-%d" % free_port(), protocol=mqtt.MQTTv311)
        self.c.on_message = self._on
        self.c.connect("127.0.0.1", broker.port, 30)
        self.c.loop_start()
        self.c.subscribe("geohazard/v1/alerts/#", qos=1)

    def _on(self, c, u, m):
        with self.cond:
            self.msgs.append(json.loads(m.payload))
            self.cond.notify_all()

    def wait(self, aid, version, timeout=15.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for a in self.msgs:
                    if a.get("alert_id") == aid and a.get("version") == version:
                        return a
                left = deadline - time.monotonic()
                assert left > 0, "no alert %s v%d on the alerts topic" % (aid, version)
                self.cond.wait(left)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


watcher = Watcher()


def publish(station, rid, kind, hazard, figures):
    """A report published and its draft confirmed: (alert id, JSON)."""
    st.publish(station, report(station, rid, kind=kind, hazard_type=hazard, figures=figures,
                               place="测试地点"))
    rc = st.wait_receipt(rid)
    assert rc["status"] == "accepted" and rc["level"] == "large", rc
    aid = rc["incident_id"]
    res = flows.confirm(ga, DUTY, aid)
    assert res["published"], res
    code, a = flows.call(ga, "GET", "/alerts/%s.json" % aid)
    assert code == 200, a
    return aid, a


def page(aid):
    code, html = flows.call(ga, "GET", "/alerts/%s" % aid)
    assert code == 200, html
    return html


def cap_params(aid):
    code, _, raw = flows.request(ga, "GET", "/alerts/%s.xml" % aid)
    assert code == 200, raw
    root = ET.fromstring(raw)
    return {p.find(CAP + "valueName").text: p.find(CAP + "value").text
            for p in root.iter(CAP + "parameter")}


def wecom_text(aid):
    return wecom.wait(lambda r: r["status"] == 200 and aid in (r.get("text") or ""), 15)[0]["text"]


def portal_alert(aid):
    return portal.wait(lambda r: r.get("alert", {}).get("alert_id") == aid, 15)[0]["alert"]


STATE = {}


def test_danger_registry_figures_and_unknowns():
    # the 崩塌 station: 45 people from the registry; property given
    aid, a = publish("JS-3211-0002", "unk-d-1", "danger", "collapse",
                     {"threatened_property_cny": 60000000})
    STATE["danger"] = aid
    f = a["figures"]
    assert set(f) == set(FIGS), f
    assert f["threatened_people"] == 45 and f["threatened_property_cny"] == 60000000, f
    for k in ("deaths", "missing", "injured", "relocated_people", "direct_loss_cny"):
        assert f[k] is None, (k, f)
    # the portal and the alerts topic: the same figures, null and all
    assert portal_alert(aid)["figures"] == f
    assert watcher.wait(aid, 1)["figures"] == f
    # the page: threatened rows, no casualty rows, no 0
    html = page(aid)
    assert "<th>威胁人数</th><td>45人</td>" in html, html
    for bad in ("<th>死亡", "<th>失踪", "<th>受伤", "<th>直接经济损失", ">0人<", ">0元<"):
        assert bad not in html, bad
    # CAP: the known figures only
    p = cap_params(aid)
    assert p.get("threatened_people") == "45", p
    assert not set(p) & {"deaths", "missing", "injured", "relocated_people",
                         "direct_loss_cny"}, p
    # the channel's text: the registry's 45, no 0, no casualty words
    t = wecom_text(aid)
    assert "威胁45人" in t, t
    for bad in ("0人", "死亡", "失踪", "受伤"):
        assert bad not in t, (bad, t)


def test_disaster_unknowns():
    aid, a = publish("JS-3201-0007", "unk-x-1", "disaster", "landslide", {"deaths": 12})
    f = a["figures"]
    assert f["deaths"] == 12 and f["missing"] is None and f["injured"] is None, f
    assert f["direct_loss_cny"] is None, f
    assert portal_alert(aid)["figures"] == f
    assert watcher.wait(aid, 1)["figures"] == f
    html = page(aid)
    assert "<th>死亡</th><td>12人</td>" in html, html
    assert re.search(r"<th>失踪</th><td><span class=\"unknown\">未报告</span>", html), html
    assert re.search(r"<th>直接经济损失</th><td><span class=\"unknown\">未报告</span>", html)
    assert ">0人<" not in html and ">0元<" not in html
    p = cap_params(aid)
    assert p.get("deaths") == "12" and "missing" not in p and "injured" not in p, p
    t = wecom_text(aid)
    assert "12人死亡" in t, t
    for bad in ("0人", "失踪", "受伤", "未造成人员伤亡"):
        assert bad not in t, (bad, t)


def test_guide_hotline_map():
    html = page(STATE["danger"])
    assert "<h2>防御指南</h2>" in html and "陡崖" in html, html
    assert '<a href="tel:%s">%s</a>' % (HOTLINE, HOTLINE) in html, html
    assert 'role="img" aria-labelledby="map-title"><title id="map-title">位置示意图：' in html
    code, front = flows.call(ga, "GET", "/")
    assert code == 200 and "tel:" + HOTLINE in front, front


def test_cancelled_page():
    aid = STATE["danger"]
    assert "II级响应" in page(aid)
    code, body = flows.call(ga, "POST", "/api/v1/alerts/%s/cancel" % aid, SUP,
                            {"reason": "险情已排除"})
    assert code == 200, body
    deadline = time.monotonic() + 15
    while True:
        html = page(aid)
        if "lifted-banner" in html:
            break
        assert time.monotonic() < deadline, html
        time.sleep(0.1)
    assert '<span class="badge lifted">已解除</span>' in html, html
    assert "级响应" not in html and "badge resp" not in html, html
    assert "防御指南" not in html, html


for t in (test_danger_registry_figures_and_unknowns, test_disaster_unknowns,
          test_guide_hotline_map, test_cancelled_page):
    runner.run(t)
watcher.close()
st.close()
flows.run_clean_stop(runner, ga)
runner.finish()
