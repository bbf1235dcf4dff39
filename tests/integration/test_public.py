# ga-test-backends: sqlite pg
"""The public outputs (spec §6, §8; issue 5) against the real broker and
daemon: a draft is not public until confirmed; then /alerts/{id}.json is
the published alert, signed, and `geoalert verify` accepts it and refuses
a changed byte (openssl verifies it too); /alerts/{id}.xml validates
against the OASIS CAP 1.2 schema with xmllint; /feed.atom parses and links
the CAP; the pages carry the headline, the map and never the reporter;
cancel shows 已解除 and a CAP Cancel with references; a drill-mode daemon
marks everything exercise / Exercise / 演练 and escapes what officers
typed."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import flows
from harness import GEOALERT, SRC, Broker, Geoalert, Runner, Station, now_rfc3339

DATA = os.path.join(SRC, "tests", "data")
XSD = os.path.join(DATA, "cap12.xsd")
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
ATOM = "{http://www.w3.org/2005/Atom}"
REPORTER_NAME, REPORTER_PHONE = "王建国", "13800001111"
TMP = tempfile.mkdtemp(prefix="ga-public-")

runner = Runner()
broker = Broker().start()
ga = Geoalert(broker, name="ga-public")
DUTY = flows.officer(ga, "duty1")
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)
SEEN = []  # every public body served, for the reporter check


def call(method, path, token=None, body=None, g=None):
    """(status, headers with lowercase names, body bytes)."""
    code, hdrs, raw = flows.request(g or ga, method, path, token, body)
    if not token:
        SEEN.append((path, raw))
    return code, hdrs, raw


def api(method, path, token, body=None, g=None):
    code, _, raw = call(method, path, token, body, g)
    return code, json.loads(raw)


def wait_pending(aid, token, g=None, timeout=20.0):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, body = api("GET", "/api/v1/alerts?state=pending", token, g=g)
        assert code == 200, body
        for it in body["alerts"]:
            if it["alert_id"] == aid:
                return it
        time.sleep(0.1)
    raise AssertionError("no pending draft for %s" % aid)


def large_report(report_id, station="JS-3201-0007"):
    with open(os.path.join(DATA, "report-danger-registry.json"), encoding="utf-8") as f:
        r = json.load(f)
    r.update(report_id=report_id, station_id=station, observed_at=now_rfc3339(),
             reporter={"name": REPORTER_NAME, "phone": REPORTER_PHONE})
    return r


def make_draft(station_client, report_id, token, g=None):
    station_client.publish("JS-3201-0007", large_report(report_id))
    rc = station_client.wait_receipt(report_id)
    assert rc["status"] == "accepted" and rc["level"] == "large", rc
    wait_pending(rc["incident_id"], token, g=g)
    return rc["incident_id"]


def save(name, data):
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def xmllint_ok(path):
    p = subprocess.run(["xmllint", "--noout", "--schema", XSD, path], capture_output=True,
                       timeout=60)
    return p.returncode == 0, p.stderr.decode(errors="replace")


def get_cap(aid, g=None, path=None):
    code, h, raw = call("GET", path or "/alerts/%s.xml" % aid, g=g)
    assert code == 200, (code, raw[:300])
    assert h["content-type"].startswith("application/cap+xml"), h
    f = save("%s-%d.xml" % (aid, len(SEEN)), raw)
    ok, err = xmllint_ok(f)
    assert ok, "CAP does not validate:\n%s\n%s" % (err, raw.decode())
    return ET.fromstring(raw)


AID = make_draft(st, "pub-0001", DUTY)
STATE = {}


def test_draft_is_not_public():
    for path in ("/alerts/%s" % AID, "/alerts/%s.json" % AID, "/alerts/%s.xml" % AID,
                 "/alerts/%s/v1.json" % AID, "/alerts/%s/v1.xml" % AID):
        code, _, raw = call("GET", path)
        assert code == 404, (path, code, raw[:200])
    code, _, raw = call("GET", "/")
    assert code == 200 and AID.encode() not in raw, raw[:500]
    code, _, raw = call("GET", "/feed.atom")
    assert code == 200 and AID.encode() not in raw, raw[:500]


def test_confirm_then_json_is_published_alert_and_verifies():
    code, body = api("POST", "/api/v1/alerts/%s/confirm" % AID, DUTY, body={})
    assert code == 200 and body["published"], body
    code, view = api("GET", "/api/v1/alerts/" + AID, DUTY)
    assert code == 200, view
    published = view["published"][-1]
    code, h, raw = call("GET", "/alerts/%s.json" % AID)
    assert code == 200, raw
    assert h["content-type"].startswith("application/json"), h
    assert h["content-security-policy"].startswith("default-src 'self'"), h
    alert = json.loads(raw)
    sig = alert.pop("signature")
    assert alert == published, (alert, published)
    assert alert["status"] == "actual" and alert["version"] == 1, alert
    assert alert["sent"].endswith("+08:00"), alert
    assert sig["alg"] == "Ed25519" and len(sig["key_id"]) == 16, sig
    STATE["alert"] = alert

    code, h, pem = call("GET", "/.well-known/geoalert-signing-key")
    assert code == 200 and b"-----BEGIN PUBLIC KEY-----" in pem, pem
    assert sig["key_id"].encode() in pem, pem
    keyfile = save("key.pem", pem)
    good = save("alert.json", raw)
    for args in (["--key", keyfile], ["-c", ga.conf]):
        p = subprocess.run([GEOALERT, "verify", good] + args, capture_output=True, timeout=60)
        assert p.returncode == 0 and p.stdout.startswith(b"valid"), (args, p.stdout, p.stderr)
    # the versioned URL serves the same signed document
    code, _, raw1 = call("GET", "/alerts/%s/v1.json" % AID)
    assert code == 200 and json.loads(raw1) == json.loads(raw)

    # one changed byte in the headline, in a figure, in the signature
    text = raw.decode()
    head = alert["headline"]
    changed = [text.replace(head, head[:-1] + ("甲" if head[-1] != "甲" else "乙"), 1),
               text.replace('"version": 1', '"version": 2', 1),
               text.replace(sig["value"], ("A" if sig["value"][0] != "A" else "B")
                            + sig["value"][1:])]
    for i, t in enumerate(changed):
        assert t != text, i
        bad = save("bad%d.json" % i, t.encode())
        p = subprocess.run([GEOALERT, "verify", bad, "--key", keyfile], capture_output=True,
                           timeout=60)
        assert p.returncode == 1 and p.stdout.startswith(b"invalid"), (i, p.stdout, p.stderr)
    # usage errors are 2
    p = subprocess.run([GEOALERT, "verify", good], capture_output=True, timeout=60)
    assert p.returncode == 2, p

    # standard tools: the canonical form (RFC 8785) rebuilt in Python, the
    # signature checked by openssl
    if shutil.which("openssl"):
        def norm(o):
            if isinstance(o, float) and o.is_integer():
                return int(o)
            if isinstance(o, dict):
                return {k: norm(v) for k, v in o.items()}
            if isinstance(o, list):
                return [norm(v) for v in o]
            return o
        canon = json.dumps(norm(alert), sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()
        import base64
        sigfile = save("sig.bin", base64.b64decode(sig["value"]))
        datafile = save("canon.bin", canon)
        p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", keyfile,
                            "-rawin", "-in", datafile, "-sigfile", sigfile],
                           capture_output=True, timeout=60)
        assert p.returncode == 0, (p.stdout, p.stderr)


def test_cap_validates_and_maps():
    alert = STATE["alert"]
    root = get_cap(AID)
    assert root.findtext(CAP + "identifier") == AID + "-1"
    assert root.findtext(CAP + "sender") == "127.0.0.1", root.findtext(CAP + "sender")
    assert root.findtext(CAP + "sent") == alert["sent"]
    assert not root.findtext(CAP + "sent").endswith("Z")
    assert root.findtext(CAP + "status") == "Actual"
    assert root.findtext(CAP + "msgType") == "Alert"
    assert root.find(CAP + "references") is None
    info = root.find(CAP + "info")
    assert info.findtext(CAP + "severity") == "Severe"
    assert info.findtext(CAP + "certainty") == "Likely"
    assert info.findtext(CAP + "event") == "滑坡险情"
    assert info.findtext(CAP + "headline") == alert["headline"]
    assert info.findtext(CAP + "instruction") == alert["response"]
    assert info.findtext(CAP + "web") == "http://127.0.0.1:%d/alerts/%s" % (ga.http_port, AID)
    area = info.find(CAP + "area")
    assert area.findtext(CAP + "geocode/" + CAP + "valueName") == "GB/T 2260"
    assert area.findtext(CAP + "geocode/" + CAP + "value") == alert["area"]["admin_code"]
    lat, rest = area.findtext(CAP + "circle").split(",")
    lon, radius = rest.split(" ")
    assert abs(float(lat) - alert["area"]["lat"]) < 1e-5 and float(radius) == 1.0
    assert abs(float(lon) - alert["area"]["lon"]) < 1e-5


def test_feed_links_cap():
    code, h, raw = call("GET", "/feed.atom")
    assert code == 200 and h["content-type"].startswith("application/atom+xml"), h
    feed = ET.fromstring(raw)
    assert feed.tag == ATOM + "feed"
    assert re.search(r"[+-]\d\d:\d\d$", feed.findtext(ATOM + "updated")), raw
    entries = [e for e in feed.findall(ATOM + "entry")
               if e.findtext(ATOM + "id").endswith("/alerts/%s/v1.xml" % AID)]
    assert len(entries) == 1, raw.decode()
    e = entries[0]
    assert e.findtext(ATOM + "title") == STATE["alert"]["headline"]
    assert e.findtext(ATOM + "updated") == STATE["alert"]["sent"]
    links = [l for l in e.findall(ATOM + "link") if l.get("rel") == "alternate"]
    assert len(links) == 1 and links[0].get("type") == "application/cap+xml", links
    href = links[0].get("href")
    prefix = "http://127.0.0.1:%d" % ga.http_port
    assert href.startswith(prefix), href
    root = get_cap(AID, path=href[len(prefix):])
    assert root.findtext(CAP + "identifier") == AID + "-1"


def test_pages():
    alert = STATE["alert"]
    code, h, raw = call("GET", "/")
    assert code == 200 and h["content-type"].startswith("text/html"), h
    assert "default-src 'self'" in h["content-security-policy"], h
    page = raw.decode()
    assert alert["headline"] in page and ('href="/alerts/%s"' % AID) in page, page
    assert "lv-orange" in page and "演练" not in page
    code, h, raw = call("GET", "/alerts/" + AID)
    assert code == 200 and h["content-type"].startswith("text/html"), h
    page = raw.decode()
    for text in (alert["headline"], alert["situation"], alert["response"], "<svg",
                 alert["area"]["admin_name"], 'name="viewport"', "/public.css"):
        assert text in page, (text, page)
    assert "已解除" not in page and "演练" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""), \
        "an external resource in the page"
    code, h, raw = call("GET", "/public.css")
    assert code == 200 and h["content-type"].startswith("text/css"), h


def test_unknown_and_methods():
    for path in ("/alerts/JS-20000101-9999", "/alerts/JS-20000101-9999.json",
                 "/alerts/JS-20000101-9999.xml", "/alerts/%s/v9.json" % AID,
                 "/alerts/%s/v0.json" % AID, "/alerts/%s.html" % AID, "/alerts/../etc/passwd",
                 "/alerts/", "/alerts/%s/v1" % AID, "/nothing"):
        code, _, raw = call("GET", path)
        assert code == 404, (path, code, raw[:200])
    code, h, _ = call("POST", "/alerts/" + AID, body={})
    assert code == 405 and "GET" in h["allow"], h
    code, _, _ = call("HEAD", "/alerts/%s.json" % AID)
    assert code == 200


def test_cancel():
    v1_sent = STATE["alert"]["sent"]
    code, body = api("POST", "/api/v1/alerts/%s/cancel" % AID, SUP, body={"reason": "险情已排除"})
    assert code == 200, body
    code, _, raw = call("GET", "/alerts/" + AID)
    assert code == 200 and "已解除" in raw.decode(), raw.decode()
    assert "/alerts/%s/v1.xml" % AID in raw.decode()
    code, _, raw = call("GET", "/")
    assert "已解除" in raw.decode()
    root = get_cap(AID)
    assert root.findtext(CAP + "msgType") == "Cancel"
    assert root.findtext(CAP + "identifier") == AID + "-2"
    assert root.findtext(CAP + "references") == "127.0.0.1,%s-1,%s" % (AID, v1_sent), \
        root.findtext(CAP + "references")
    code, _, raw = call("GET", "/alerts/%s.json" % AID)
    alert = json.loads(raw)
    assert alert["msg_type"] == "cancel" and alert["references"] == [AID + ":1"], alert
    assert "cancel_reason" not in alert
    p = subprocess.run([GEOALERT, "verify", save("cancel.json", raw), "-c", ga.conf],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout
    # the first version stays as it was
    root = get_cap(AID, path="/alerts/%s/v1.xml" % AID)
    assert root.findtext(CAP + "msgType") == "Alert"


def test_drill_mode_and_escaping():
    b2 = Broker().start()
    g2 = Geoalert(b2, name="ga-drill", extra={"alerts": {"mode": "exercise"}})
    duty = flows.officer(g2, "drill1", "duty_officer")
    g2.start()
    s2 = Station(b2)
    try:
        aid = make_draft(s2, "drill-0001", duty, g=g2)
        headline = "【演练】<script>alert(1)</script> & \"x\""
        code, body = api("POST", "/api/v1/alerts/%s/confirm" % aid, duty,
                         body={"edits": {"headline": headline}}, g=g2)
        assert code == 200 and body["published"], body
        code, _, raw = call("GET", "/alerts/%s.json" % aid, g=g2)
        alert = json.loads(raw)
        assert alert["status"] == "exercise" and alert["headline"] == headline, alert
        root = get_cap(aid, g=g2)
        assert root.findtext(CAP + "status") == "Exercise"
        assert root.find(CAP + "info").findtext(CAP + "headline") == headline
        for path in ("/", "/alerts/" + aid):
            code, _, raw = call("GET", path, g=g2)
            page = raw.decode()
            assert code == 200 and "演练" in page and 'class="drill"' in page, page
            assert "<script>" not in page, page
            assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;" in page, page
        code, _, raw = call("GET", "/feed.atom", g=g2)
        ET.fromstring(raw)
        # the drill daemon's key is its own
        code, _, pem = call("GET", "/.well-known/geoalert-signing-key", g=g2)
        p = subprocess.run([GEOALERT, "verify", save("drill.json", call(
            "GET", "/alerts/%s.json" % aid, g=g2)[2]), "-c", ga.conf], capture_output=True,
            timeout=60)
        assert p.returncode == 1 and b"key" in p.stdout, p.stdout
    finally:
        s2.close()
        assert g2.stop() == 0, g2.log_text()
        b2.stop()


def test_no_reporter_anywhere():
    assert SEEN, "nothing was fetched"
    for path, raw in SEEN:
        text = raw.decode("utf-8", "replace")
        assert REPORTER_NAME not in text and REPORTER_PHONE not in text, path


def test_key_file_and_check_config():
    key = os.path.join(ga.dir, "signing-key.pem")  # beside the SQLite file; harness.py under pg
    assert os.stat(key).st_mode & 0o777 == 0o600, oct(os.stat(key).st_mode)
    assert "signing key: generated" in ga.log_text()
    p = subprocess.run([GEOALERT, "check-config", "-c", ga.conf], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout
    bad = Geoalert(broker, name="ga-badkey")
    badkey = os.path.join(bad.dir, "bad.pem")
    with open(badkey, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n")
    bad.sections["alerts"]["signing_key_file"] = badkey
    bad.write_config()
    p = subprocess.run([GEOALERT, "check-config", "-c", bad.conf], capture_output=True,
                       timeout=60)
    assert p.returncode == 1 and b"signing_key_file" in p.stdout, p.stdout
    bad.start(wait=False)
    assert bad.proc.wait(timeout=60) != 0
    assert "signing_key_file" in bad.log_text()
    # a CAP sender CAP would refuse
    # (with [store] url the key files must be named: harness.py's default)
    bad.sections["alerts"]["signing_key_file"] = os.path.join(bad.dir, "signing-key.pem")
    bad.sections["alerts"]["cap_sender"] = "geo alert,1"
    bad.write_config()
    p = subprocess.run([GEOALERT, "check-config", "-c", bad.conf], capture_output=True,
                       timeout=60)
    assert p.returncode == 1 and b"cap_sender" in p.stdout, p.stdout


for t in (test_draft_is_not_public, test_confirm_then_json_is_published_alert_and_verifies,
          test_cap_validates_and_maps, test_feed_links_cap, test_pages, test_unknown_and_methods,
          test_cancel, test_drill_mode_and_escaping, test_no_reporter_anywhere,
          test_key_file_and_check_config):
    runner.run(t)
st.close()
flows.run_clean_stop(runner, ga)
runner.finish()
