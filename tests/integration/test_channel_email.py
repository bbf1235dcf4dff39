"""The email channel (issue 5, "Channels") against the real broker and
daemon and an SMTP sink (smtp_sink.py) with AUTH PLAIN: one message per
published version, read back with Python's email package (subject,
From, both parts, Message-ID, every recipient of to_file, no list in
the headers, CRLF only); a cancel threads to the alert; a 451 at the end
of DATA once is retried and taken, with the same Message-ID; the relay
down, then up: delivered; check-config names a bad address's FILE:LINE.

Every wait is bounded."""
import email
import email.policy
import http.client
import json
import os
import subprocess
import time

from harness import GEOALERT, Broker, Geoalert, Runner, Station, now_rfc3339, tmpdir
from smtp_sink import SmtpSink

STATIONS = [("EML-%04d" % (i + 1), lon, lat) for i, (lon, lat) in enumerate(
    [(lon, lat) for lat in (32.024, 32.042, 32.060) for lon in (118.602, 118.630, 118.658)])]
RCPT = ["duty@dnr.example.org", "gis-list@lists.example.org", "chief+alerts@example.com"]


def write_registry(path):
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
              "properties": {"station_id": sid, "name": "邮件测试站 %d" % (i + 1),
                             "hazard_point_id": "32011166%04d" % (i + 1),
                             "hazard_type": "landslide", "admin_code": "320111",
                             "threatened_people": 620, "threatened_property_cny": 30000000}}
             for i, (sid, lon, lat) in enumerate(STATIONS)]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f, ensure_ascii=False)


D = tmpdir("eml")
TO_FILE = os.path.join(D, "to.txt")
with open(TO_FILE, "w") as f:
    f.write("# 值班人员\n%s\n\n%s   # the GIS list\n%s\n" % tuple(RCPT))
PW_FILE = os.path.join(D, "smtp-password")
with open(PW_FILE, "w") as f:
    f.write("relay-pa55\n")
os.chmod(PW_FILE, 0o600)

sink = SmtpSink(user="geoalert", password="relay-pa55")
runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(D, "stations.geojson")
write_registry(REGISTRY)
ga = Geoalert(broker, stations=REGISTRY, extra={
    "channel.mail": {"type": "email", "url": sink.url(), "from": "alerts@dnr.example.org",
                     "to_file": TO_FILE, "username": "geoalert", "secret_file": PW_FILE,
                     "backoff_initial_ms": "200", "backoff_max_ms": "800",
                     "timeout_ms": "3000"},
})
OFFICERS = {}
for name, role in (("duty1", "duty_officer"), ("sup1", "supervisor")):
    OFFICERS[role] = subprocess.run(
        [GEOALERT, "officer", "add", name, "--role", role, "-c", ga.conf],
        capture_output=True, timeout=120, check=True).stdout.decode().strip()
ga.start()
st = Station(broker)
BASE = ga.sections["http"]["public_base_url"]


def call(method, path, body=None, role="duty_officer"):
    conn = http.client.HTTPConnection("127.0.0.1", ga.http_port, timeout=10)
    hdrs = {"Authorization": "Bearer " + OFFICERS[role]}
    data = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode()
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


_next = [0]


def new_alert():
    """A large danger from a fresh station, its draft confirmed: version 1."""
    sid = STATIONS[_next[0]][0]
    _next[0] += 1
    rid = "%s-%d" % (sid, int(time.time() * 1000))
    st.publish(sid, {"schema": "geohazard.report/1", "report_id": rid, "station_id": sid,
                     "kind": "danger", "hazard_type": "landslide",
                     "observed_at": now_rfc3339(), "place": "浦口区测试山体",
                     "causes": "连续强降雨", "trend": "变形加速", "measures": "已撤离坡下群众"})
    rc = st.wait_receipt(rid)
    assert rc["status"] == "accepted" and rc["level"] == "large", rc
    aid = rc["incident_id"]
    deadline = time.monotonic() + 20
    while True:
        code, res = call("POST", "/api/v1/alerts/%s/confirm" % aid, body={})
        if code == 200:
            assert res["published"] and res["version"] == 1, res
            return aid
        assert code in (404, 409) and time.monotonic() < deadline, (code, res)
        time.sleep(0.1)


def wait_delivered(aid, version=1, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        code, body = call("GET", "/api/v1/alerts/%s/deliveries" % aid)
        assert code == 200, body
        d = {(x["channel"], x["version"]): x for x in body["deliveries"]}.get(("mail", version))
        if d and d["state"] == "delivered":
            return d
        if time.monotonic() > deadline:
            raise AssertionError("%s v%d to mail: %r; sink answered %r" % (
                aid, version, d, sink.answers[-6:]))
        time.sleep(0.1)


def msgid(aid, version):
    return "<%s.%d@dnr.example.org>" % (aid, version)


def messages(aid, version):
    want = msgid(aid, version).encode()
    return [m for m in sink.of() if b"\r\nMessage-ID: " + want + b"\r\n" in m["data"]]


def parse(m):
    return email.message_from_bytes(m["data"], policy=email.policy.default)


def published(aid, version):
    code, full = call("GET", "/api/v1/alerts/" + aid)
    assert code == 200, full
    return [p for p in full["published"] if p["version"] == version][0]


def test_one_message_per_version_to_every_recipient():
    aid = new_alert()
    d = wait_delivered(aid)
    assert d["attempts"] == 1, d
    got = messages(aid, 1)
    assert len(got) == 1, got
    m = got[0]
    assert m["mail_from"] == "alerts@dnr.example.org" and m["user"] == "geoalert", m
    assert m["rcpt"] == RCPT, m["rcpt"]
    assert not m["bare_lf"] and b"\n" not in m["data"].replace(b"\r\n", b""), "bare LF"
    msg = parse(m)
    assert not msg.defects, msg.defects
    a = published(aid, 1)
    assert str(msg["Subject"]) == a["headline"], (str(msg["Subject"]), a["headline"])
    assert msg["Message-ID"] == msgid(aid, 1)
    assert msg["From"].addresses[0].addr_spec == "alerts@dnr.example.org"
    assert msg["From"].addresses[0].display_name == "江苏省自然资源厅", str(msg["From"])
    assert str(msg["To"]) == "undisclosed-recipients:;", str(msg["To"])
    for r in RCPT:  # the list is not shown to those on it
        assert r.encode() not in m["data"], r
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (text, html):
        for want in (a["headline"], "大型滑坡险情", "江苏省南京市浦口区", "浦口区测试山体",
                     "连续强降雨", "已撤离坡下群众", "%s/alerts/%s" % (BASE, aid)):
            assert want in part, (want, part)
        assert "演练" not in part
    assert 'href="%s/alerts/%s"' % (BASE, aid) in html
    # base64 bodies in lines of 76
    for line in m["data"].split(b"\r\n"):
        assert len(line) <= 78, line


def test_cancel_is_a_second_message_in_the_thread():
    aid = new_alert()
    wait_delivered(aid)
    code, res = call("POST", "/api/v1/alerts/%s/cancel" % aid, body={"reason": "险情已排除"},
                     role="supervisor")
    assert code == 200 and res["version"] == 2, res
    wait_delivered(aid, 2)
    assert len(messages(aid, 1)) == 1 and len(messages(aid, 2)) == 1
    msg = parse(messages(aid, 2)[0])
    assert msg["In-Reply-To"] == msgid(aid, 1), msg["In-Reply-To"]
    assert msgid(aid, 1) in str(msg["References"])
    assert "已解除" in msg.get_body(("plain",)).get_content()
    assert str(msg["Subject"]) == published(aid, 2)["headline"]


def test_451_once_is_retried_with_the_same_message_id():
    sink.fail("data", 451, n=1)
    aid = new_alert()
    d = wait_delivered(aid)
    assert d["attempts"] == 2, d
    assert ("data", 451) in sink.answers
    got = messages(aid, 1)
    assert len(got) == 1 and got[0]["rcpt"] == RCPT, got


def test_relay_down_then_up_delivered():
    sink.down()
    try:
        aid = new_alert()
        deadline = time.monotonic() + 10
        while True:
            code, body = call("GET", "/api/v1/alerts/%s/deliveries" % aid)
            d = [x for x in body["deliveries"] if x["channel"] == "mail"][0]
            if d["attempts"] >= 2:
                break
            assert time.monotonic() < deadline, d
            time.sleep(0.1)
        assert d["state"] in ("pending", "sending") and d["last_error"], d
    finally:
        sink.up()
    wait_delivered(aid, timeout=15)
    assert len(messages(aid, 1)) == 1


def test_check_config_names_a_bad_address():
    d = tmpdir("eml-cfg")
    bad = os.path.join(d, "to.txt")
    with open(bad, "w") as f:
        f.write("ok@example.org\n# fine\nnot-an-address\n")
    conf = os.path.join(d, "bad.ini")
    with open(ga.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("to_file = %s" % TO_FILE, "to_file = %s" % bad))
    p = subprocess.run([GEOALERT, "check-config", "-c", conf], capture_output=True, timeout=60)
    out = (p.stdout + p.stderr).decode()
    assert p.returncode != 0 and bad + ":3:" in out, out
    p = subprocess.run([GEOALERT, "check-config", "-c", ga.conf], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


for t in (test_one_message_per_version_to_every_recipient,
          test_cancel_is_a_second_message_in_the_thread,
          test_451_once_is_retried_with_the_same_message_id,
          test_relay_down_then_up_delivered,
          test_check_config_names_a_bad_address):
    runner.run(t)
st.close()
sink.close()
ga.stop()
broker.stop()
runner.finish()
