# ga-test-backends: sqlite pg
"""Regional risk warnings (spec §11, issue 14) against the real broker,
daemon and SQLite: intake on MQTT (stored before the PUBACK, receipt by
product_id, duplicates, rejections stored raw with reasons, an issuer not
listed, hostile products with the service up) and on POST
/api/v1/riskwarnings (201 / 400 / 409), then the sign-off: two different
officers confirm (a second confirm by the same one is 409), edits, reject,
cancel, and an audit row for each step."""
import copy
import datetime
import json
import os
import re
import subprocess
import tempfile
import time

import flows
from harness import SRC, Broker, Geoalert, Runner, Station

ISSUER = "JS-QXJ"
EXAMPLE = json.load(open(os.path.join(SRC, "tests", "data", "riskwarning.json"),
                         encoding="utf-8"))
TZ = datetime.timezone(datetime.timedelta(hours=8))

runner = Runner()
broker = Broker().start()
ga = Geoalert(broker, extra={"riskwarning": {"issuers": "JS-ZRZYT %s" % ISSUER}})
DUTY = flows.officer(ga, "duty1", "duty_officer")
DUTY2 = flows.officer(ga, "duty2", "duty_officer")
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)


def when(offset_s):
    return (datetime.datetime.now(TZ) + datetime.timedelta(seconds=offset_s)).isoformat(
        timespec="seconds")


def product(product_id, **fields):
    """The spec's example, valid from an hour from now for 24 h."""
    p = copy.deepcopy(EXAMPLE)
    p.update(product_id=product_id, issued_at=when(0), valid_from=when(3600),
             valid_to=when(25 * 3600))
    p.update(fields)
    return p


def publish(payload, issuer=ISSUER):
    if isinstance(payload, dict):
        payload = json.dumps(payload, ensure_ascii=False).encode()
    st.client.publish("geohazard/v1/riskwarnings/%s" % issuer, payload,
                      qos=1).wait_for_publish(timeout=10)


def call(method, path, token=DUTY, body=None):
    return flows.call(ga, method, path, token, body)


def audit(product_id):
    return [r[0] for r in ga.query("SELECT action FROM audit WHERE subject = ? ORDER BY seq",
                                   (product_id,))]


def test_mqtt_intake():
    p = product("JS-FX-MQTT-01")
    raw = json.dumps(p, ensure_ascii=False).encode()
    publish(raw)
    r = st.wait_receipt("JS-FX-MQTT-01")
    assert r["status"] == "accepted", r
    assert r["_topic"] == "geohazard/v1/receipts/%s" % ISSUER, r
    assert r["errors"] == [] and r["incident_id"] is None, r
    rows = ga.query("SELECT state, source, raw, product FROM riskwarnings"
                    " WHERE product_id = 'JS-FX-MQTT-01'")
    assert len(rows) == 1 and rows[0][0] == "pending" and rows[0][1] == "mqtt:" + ISSUER, rows
    assert rows[0][2] == raw
    counties = json.loads(rows[0][3])["counties"]
    assert [(c["admin_code"], c["level"]) for c in counties] == [
        ("320115", "red"), ("320111", "orange"), ("320117", "orange"),
        ("320281", "yellow"), ("320282", "yellow"), ("321181", "blue")], counties
    assert counties[0]["name"] == "江宁区", counties[0]
    assert audit("JS-FX-MQTT-01") == ["riskwarning.received"]

    # The same product_id again: duplicate, nothing more stored.
    publish(product("JS-FX-MQTT-01", advice="另一份"))
    r = st.wait_receipt("JS-FX-MQTT-01", count=2)
    assert r["status"] == "duplicate", r
    assert ga.query("SELECT count(*) FROM riskwarnings")[0][0] >= 1
    (stored,), = ga.query("SELECT product FROM riskwarnings WHERE product_id = 'JS-FX-MQTT-01'")
    stored = json.loads(stored) if isinstance(stored, str) else stored  # TEXT or jsonb
    assert stored["advice"] == EXAMPLE["advice"], stored


def test_mqtt_rejected():
    # A city code whose counties are already at other levels, a county
    # unknown, valid_to before valid_from: every problem at its pointer.
    p = product("JS-FX-BAD-01", valid_to=when(1800))
    p["areas"][2]["admin_codes"].append("3201")
    p["areas"][3]["admin_codes"].append("329999")
    raw = json.dumps(p, ensure_ascii=False).encode()
    publish(raw)
    r = st.wait_receipt("JS-FX-BAD-01")
    assert r["status"] == "rejected", r
    got = {(e["path"], e["code"]) for e in r["errors"]}
    assert ("/valid_to", "order") in got, got
    assert ("/areas/2/admin_codes/2", "conflict") in got, got
    assert ("/areas/3/admin_codes/1", "unknown") in got, got
    rows = ga.query("SELECT raw, reasons FROM rejected WHERE topic = ?",
                    ("geohazard/v1/riskwarnings/%s" % ISSUER,))
    assert any(row[0] == raw and "conflict" in row[1] for row in rows), rows
    assert not ga.query("SELECT 1 FROM riskwarnings WHERE product_id = 'JS-FX-BAD-01'")

    # An issuer not in [riskwarning] issuers.
    publish(product("JS-FX-STRANGER-01"), issuer="someone")
    r = st.wait_receipt("JS-FX-STRANGER-01")
    assert r["status"] == "rejected" and r["_topic"] == "geohazard/v1/receipts/someone", r
    assert ("", "unknown_issuer") in {(e["path"], e["code"]) for e in r["errors"]}, r


def test_hostile():
    """5,000 codes, deep JSON, bad UTF-8, a huge payload: rejected, the
    service up, a good product still taken afterwards."""
    before = ga.query("SELECT count(*) FROM rejected")[0][0]
    many = product("JS-FX-HOSTILE-01")
    many["areas"] = [{"level": "yellow", "admin_codes": ["320115"] * 5000}]
    publish(many)
    r = st.wait_receipt("JS-FX-HOSTILE-01")
    assert r["status"] == "rejected", r
    assert ("/areas/0/admin_codes", "too_many") in {(e["path"], e["code"])
                                                     for e in r["errors"]}, r
    areas = product("JS-FX-HOSTILE-02")
    areas["areas"] = [{"level": "yellow", "admin_codes": ["320115"]}] * 1000
    publish(areas)
    r = st.wait_receipt("JS-FX-HOSTILE-02")
    assert r["status"] == "rejected", r
    publish(b'{"product_id":"x","a":' + b"[" * 5000 + b"]" * 5000 + b"}")
    publish(b'{"schema":"geohazard.riskwarning/1","product_id":"\xff\xfe"}')
    publish(b"{" + b" " * 300000 + b"}")
    deadline = time.monotonic() + 20
    while ga.query("SELECT count(*) FROM rejected")[0][0] < before + 5:
        assert time.monotonic() < deadline, "hostile products not all stored as rejected"
        time.sleep(0.1)
    assert ga.get("/healthz")[0] == 200
    publish(product("JS-FX-AFTER-01"))
    assert st.wait_receipt("JS-FX-AFTER-01")["status"] == "accepted"


def test_api_intake():
    code, body = call("POST", "/api/v1/riskwarnings", body=product("JS-FX-API-01"))
    assert code == 201, (code, body)
    assert body["state"] == "pending" and body["product_id"] == "JS-FX-API-01", body
    assert body["version"] == 1 and body["confirmations"] == 0, body
    src = ga.query("SELECT source FROM riskwarnings WHERE product_id = 'JS-FX-API-01'")
    assert src == [("api:duty1",)], src
    code, body = call("POST", "/api/v1/riskwarnings", body=product("JS-FX-API-01"))
    assert code == 409 and body["error"] == "duplicate" and body["state"] == "pending", body
    bad = product("JS-FX-API-02", areas=[])
    code, body = call("POST", "/api/v1/riskwarnings", body=bad)
    assert code == 400, (code, body)
    assert {(e["path"], e["code"]) for e in body["errors"]} == {("/areas", "empty")}, body
    assert ga.query("SELECT count(*) FROM rejected WHERE topic = '/api/v1/riskwarnings'")[0][0] \
        >= 1
    code, _ = call("POST", "/api/v1/riskwarnings", token=None, body=product("JS-FX-API-03"))
    assert code == 401
    code, _ = call("GET", "/api/v1/riskwarnings?state=nonsense")
    assert code == 400
    code, _ = call("GET", "/api/v1/riskwarnings/no-such-product")
    assert code == 404
    code, _ = call("PUT", "/api/v1/riskwarnings")
    assert code == 405


def test_signoff():
    pid = "JS-FX-SIGN-01"
    assert call("POST", "/api/v1/riskwarnings", body=product(pid))[0] == 201
    code, body = call("GET", "/api/v1/riskwarnings?state=pending")
    assert code == 200 and pid in [i["product_id"] for i in body["items"]], body
    item = [i for i in body["items"] if i["product_id"] == pid][0]
    for k in ("product_id", "version", "state", "valid_from", "valid_to", "confirmations"):
        assert k in item, item

    code, body = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid)
    assert code == 200 and body["published"] is False and body["confirmations"] == 1, body
    code, body = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid)
    assert code == 409, (code, body)
    # A bad edit changes nothing and confirms nothing.
    code, body = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid, token=DUTY2,
                      body={"edits": {"areas": []}})
    assert code == 400, (code, body)
    code, body = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid, token=DUTY2,
                      body={"edits": {"advice": "立即转移受威胁群众。"}})
    assert code == 200 and body["published"] is True and body["state"] == "published", body
    code, body = call("GET", "/api/v1/riskwarnings/%s" % pid)
    assert code == 200 and body["product"]["advice"] == "立即转移受威胁群众。", body
    assert [c["name"] for c in body["confirmed_by"]] == ["duty1", "duty2"], body
    assert body["published_at"] is not None, body
    code, _ = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid, token=SUP)
    assert code == 409
    code, body = call("POST", "/api/v1/riskwarnings/%s/reject" % pid, body={"reason": "x"})
    assert code == 409, (code, body)
    code, body = call("POST", "/api/v1/riskwarnings/%s/cancel" % pid, token=SUP,
                      body={"reason": "降雨减弱"})
    assert code == 200 and body["state"] == "cancelled" and body["reason"] == "降雨减弱", body
    code, _ = call("POST", "/api/v1/riskwarnings/%s/cancel" % pid, token=SUP,
                   body={"reason": "again"})
    assert code == 409
    assert audit(pid) == ["riskwarning.received", "riskwarning.confirm",
                          "riskwarning.confirm", "riskwarning.publish",
                          "riskwarning.cancel"], audit(pid)
    code, body = call("GET", "/api/v1/riskwarnings?state=cancelled")
    assert pid in [i["product_id"] for i in body["items"]], body


def get_raw(path):
    code, hdrs, raw = flows.request(ga, "GET", path)
    return code, hdrs, raw


def cap_valid(xml):
    """xmllint against the OASIS CAP 1.2 schema (tests/data/cap12.xsd)."""
    with tempfile.NamedTemporaryFile(suffix=".xml", delete=False) as f:
        f.write(xml)
    try:
        p = subprocess.run(["xmllint", "--noout", "--schema",
                            os.path.join(SRC, "tests", "data", "cap12.xsd"), f.name],
                           capture_output=True, timeout=60)
        return p.returncode == 0, p.stderr.decode(errors="replace")
    finally:
        os.unlink(f.name)


def test_publication():
    """The example confirmed twice: its CAP valid, one <info> per public
    level, a geocode per public county, blue (321181) in none of the
    public forms; pending and unknown products are 404; a cancel is CAP
    Cancel."""
    pid = "JS-FX-PUB-01"
    assert call("POST", "/api/v1/riskwarnings", body=product(pid))[0] == 201
    assert get_raw("/warnings/%s" % pid)[0] == 404  # pending: not public
    assert get_raw("/warnings/%s.xml" % pid)[0] == 404
    assert call("POST", "/api/v1/riskwarnings/%s/confirm" % pid)[0] == 200
    code, body = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid, token=DUTY2)
    assert code == 200 and body["published"] is True, body

    code, hdrs, xml = get_raw("/warnings/%s.xml" % pid)
    assert code == 200 and hdrs["content-type"].startswith("application/cap+xml"), code
    ok, err = cap_valid(xml)
    assert ok, err
    text = xml.decode()
    assert text.count("<info>") == 3, text[:2000]
    assert text.count("<geocode>") == 5
    for sev in ("Extreme", "Severe", "Moderate"):
        assert "<severity>%s</severity>" % sev in text
    assert "Minor" not in text and "321181" not in text
    assert "<msgType>Alert</msgType>" in text
    assert text.rstrip().endswith("</ds:Signature>\n</alert>"), text[-300:]
    for poly in re.findall(r"<polygon>([^<]*)</polygon>", text):
        pairs = poly.split()
        assert 4 <= len(pairs) <= 100 and pairs[0] == pairs[-1], len(pairs)
        lat, lon = map(float, pairs[0].split(","))
        assert 30 < lat < 36 and 116 < lon < 122, pairs[0]

    # Served again from the cache: the same bytes.
    assert get_raw("/warnings/%s.xml" % pid)[2] == xml

    code, hdrs, raw = get_raw("/warnings/%s.json" % pid)
    assert code == 200, code
    pub = json.loads(raw)
    assert [lv["level"] for lv in pub["levels"]] == ["red", "orange", "yellow"], pub
    assert "321181" not in raw.decode() and "signature" in pub, pub.keys()

    code, hdrs, raw = get_raw("/warnings/%s" % pid)
    page = raw.decode()
    assert code == 200 and hdrs["content-type"].startswith("text/html"), code
    assert "<svg" in page and page.count("<path") == 95, page.count("<path")
    assert "江宁区" in page and "321181" not in page
    assert page.count('fill="#1976d2"') == 0  # blue is not drawn
    assert page.count('fill="#d32f2f"') == 1 and page.count('fill="#fbc02d"') == 2
    assert "加强巡查排查" in page

    feed = get_raw("/feed.atom")[2].decode()
    assert "/warnings/%s.xml" % pid in feed and 'term="published"' in feed, feed[:1500]

    # The front page lists it above the alerts.
    front = get_raw("/")[2].decode()
    assert "当前地质灾害气象风险预警" in front, front[:1500]
    assert front.index('href="/warnings/%s"' % pid) < front.index("当前发布"), front[:1500]

    code, _ = call("POST", "/api/v1/riskwarnings/%s/cancel" % pid, token=SUP,
                   body={"reason": "降雨减弱"})
    assert code == 200
    assert 'href="/warnings/%s"' % pid not in get_raw("/")[2].decode()
    code, _, xml = get_raw("/warnings/%s.xml" % pid)
    assert code == 200 and b"<msgType>Cancel</msgType>" in xml
    assert cap_valid(xml)[0]
    assert "已解除" in get_raw("/warnings/%s" % pid)[2].decode()
    assert "【已解除】地质灾害气象风险预警" in get_raw("/feed.atom")[2].decode()
    assert get_raw("/warnings/no-such")[0] == 404
    assert get_raw("/warnings/%s.txt" % pid)[0] == 404
    assert flows.request(ga, "POST", "/warnings/%s" % pid)[0] == 405


def state_of(pid, g=None):
    rows = (g or ga).query("SELECT state FROM riskwarnings WHERE product_id = ?", (pid,))
    return rows[0][0] if rows else None


def wait_state(pid, want, timeout=30.0, g=None):
    deadline = time.monotonic() + timeout
    while state_of(pid, g) != want:
        assert time.monotonic() < deadline, "%s: %s, not %s" % (pid, state_of(pid, g), want)
        time.sleep(0.2)


def publish_short(g, tok1, tok2, pid, seconds):
    """A product valid from a minute ago for `seconds` more, published."""
    p = product(pid, issued_at=when(-60), valid_from=when(-60), valid_to=when(seconds))
    assert flows.call(g, "POST", "/api/v1/riskwarnings", tok1, p)[0] == 201
    assert flows.call(g, "POST", "/api/v1/riskwarnings/%s/confirm" % pid, tok1)[0] == 200
    code, body = flows.call(g, "POST", "/api/v1/riskwarnings/%s/confirm" % pid, tok2)
    assert code == 200 and body["published"] is True, body
    return p


def test_expiry():
    """A product valid for a few seconds expires by itself: it leaves /,
    stays in the history (its page says so), an audit row."""
    pid = "JS-FX-SHORT-01"
    publish_short(ga, DUTY, DUTY2, pid, 12)
    assert 'href="/warnings/%s"' % pid in get_raw("/")[2].decode()
    wait_state(pid, "expired")
    assert 'href="/warnings/%s"' % pid not in get_raw("/")[2].decode()
    code, body = call("GET", "/api/v1/riskwarnings?state=expired")
    assert pid in [i["product_id"] for i in body["items"]], body
    assert "已过有效期" in get_raw("/warnings/%s" % pid)[2].decode()
    feed = get_raw("/feed.atom")[2].decode()
    assert "【已过有效期】" in feed and 'term="expired"' in feed, feed[:2000]
    assert audit(pid)[-1] == "riskwarning.expire", audit(pid)


def test_expiry_after_kill9():
    """Killed (kill -9) while a product is valid, started again after its
    valid_to: it expires at once."""
    g2 = Geoalert(broker, name="ga2")
    t1 = flows.officer(g2, "k1", "duty_officer")
    t2 = flows.officer(g2, "k2", "duty_officer")
    g2.start()
    try:
        p = publish_short(g2, t1, t2, "JS-FX-KILL-01", 12)
        g2.kill9()
        assert state_of("JS-FX-KILL-01", g2) == "published"
        end = datetime.datetime.fromisoformat(p["valid_to"])
        left = (end - datetime.datetime.now(TZ)).total_seconds()
        time.sleep(max(0.0, left) + 1.0)  # bounded: at most the 12 s of validity
        g2.start()
        wait_state("JS-FX-KILL-01", "expired", g=g2)
    finally:
        assert g2.stop() == 0


def test_timeliness():
    """`geoalert report timeliness` lists the products: issued, received,
    who confirmed when, published, and whether before valid_from."""
    p = subprocess.run([os.environ["GEOALERT"], "report", "timeliness", "--since", "2000-01-01",
                        "-c", ga.conf], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    rw = {w["product_id"]: w for w in out["riskwarnings"]}
    w = rw["JS-FX-SIGN-01"]
    assert [c["name"] for c in w["confirmed_by"]] == ["duty1", "duty2"], w
    assert w["published_at"] and w["published_before_valid_from"] is True, w
    assert w["issued_at"] and w["received_at"] and w["delivered_at"] == {}, w
    assert rw["JS-FX-REJ-01"]["published_before_valid_from"] is None
    p = subprocess.run([os.environ["GEOALERT"], "report", "timeliness", "--since", "2000-01-01",
                        "--format", "csv", "-c", ga.conf], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    assert "product_id,state,issued_at" in text
    assert '"JS-FX-SIGN-01","cancelled",' in text and '"duty1;duty2"' in text, text[-2000:]


def test_update():
    """A product superseding a published one: CAP Update referencing it;
    the old one leaves the current ones (expired, "superseded by")."""
    a, b = "JS-FX-UPD-01", "JS-FX-UPD-02"
    for pid, sup in ((a, None), (b, a)):
        assert call("POST", "/api/v1/riskwarnings", body=product(pid, supersedes=sup))[0] == 201
        assert call("POST", "/api/v1/riskwarnings/%s/confirm" % pid)[0] == 200
        code, body = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid, token=DUTY2)
        assert code == 200 and body["published"] is True, body
    code, body = call("GET", "/api/v1/riskwarnings/%s" % a)
    assert body["state"] == "expired" and body["reason"] == "superseded by " + b, body
    code, _, xml = get_raw("/warnings/%s.xml" % b)
    text = xml.decode()
    assert code == 200 and "<msgType>Update</msgType>" in text, text[:800]
    assert re.search(r"<references>[^,<]+,%s-1,[^<]+</references>" % a, text), text[:800]
    assert cap_valid(xml)[0]
    front = get_raw("/")[2].decode()
    assert 'href="/warnings/%s"' % b in front and 'href="/warnings/%s"' % a not in front
    assert audit(a)[-1] == "riskwarning.superseded", audit(a)


def test_reject():
    pid = "JS-FX-REJ-01"
    assert call("POST", "/api/v1/riskwarnings", body=product(pid))[0] == 201
    code, _ = call("POST", "/api/v1/riskwarnings/%s/reject" % pid, body={})
    assert code == 400
    code, body = call("POST", "/api/v1/riskwarnings/%s/reject" % pid,
                      body={"reason": "县名有误，请更正后重发"})
    assert code == 200 and body["state"] == "rejected", body
    code, _ = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid)
    assert code == 409
    code, _ = call("POST", "/api/v1/riskwarnings/%s/cancel" % pid, token=SUP,
                   body={"reason": "x"})
    assert code == 409
    assert audit(pid) == ["riskwarning.received", "riskwarning.reject"], audit(pid)


def test_signoff_config():
    """[riskwarning] signoff = 1 publishes on the first confirmation."""
    g1 = Geoalert(broker, name="ga1", extra={"riskwarning": {"signoff": "1"}})
    tok = flows.officer(g1, "solo", "duty_officer")
    g1.start()
    try:
        assert flows.call(g1, "POST", "/api/v1/riskwarnings", tok,
                          product("JS-FX-ONE-01"))[0] == 201
        code, body = flows.call(g1, "POST", "/api/v1/riskwarnings/JS-FX-ONE-01/confirm", tok)
        assert code == 200 and body["published"] is True, body
    finally:
        assert g1.stop() == 0


def test_publication_all_counties():
    """Every county of the province (all 13 city codes, red): the
    largest CAP there is, its outlines cut into pieces of at most 100
    points (docs/riskwarnings.md "Polygons"), signed and valid; a
    geocode per county, each ring closed, "lat,lon"."""
    pid = "JS-FX-ALL-01"
    p = product(pid)
    p["areas"] = [{"level": "red", "admin_codes": ["32%02d" % c for c in range(1, 14)]}]
    assert call("POST", "/api/v1/riskwarnings", body=p)[0] == 201
    assert call("POST", "/api/v1/riskwarnings/%s/confirm" % pid)[0] == 200
    code, body = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid, token=DUTY2)
    assert code == 200 and body["published"] is True, body
    code, hdrs, xml = get_raw("/warnings/%s.xml" % pid)
    assert code == 200, xml[:300]
    ok, err = cap_valid(xml)
    assert ok, err
    text = xml.decode()
    assert text.count("<info>") == 1 and text.count("<geocode>") == 95, text[:500]
    polys = re.findall(r"<polygon>([^<]*)</polygon>", text)
    assert len(polys) > 95, len(polys)  # counties cut into pieces
    for poly in polys:
        pairs = poly.split()
        assert 4 <= len(pairs) <= 100 and pairs[0] == pairs[-1], len(pairs)
        lat, lon = map(float, pairs[0].split(","))
        assert 30 < lat < 36 and 116 < lon < 122, pairs[0]
    assert text.rstrip().endswith("</ds:Signature>\n</alert>"), text[-300:]


for t in (test_mqtt_intake, test_mqtt_rejected, test_hostile, test_api_intake, test_signoff,
          test_publication, test_publication_all_counties, test_reject, test_signoff_config, test_expiry,
          test_expiry_after_kill9, test_timeliness, test_update):
    runner.run(t)
st.close()
assert ga.stop() == 0, ga.log_text()[-3000:]
runner.finish()
if runner.failed:
    raise SystemExit(1)
