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
import functools
import os

import flows
from harness import Broker, Geoalert, Runner, Station, secret_file, tmpdir
from smtp_sink import SmtpSink

STATIONS = flows.grid("EML-%04d" % (i + 1) for i in range(9))
RCPT = ["duty@dnr.example.org", "gis-list@lists.example.org", "chief+alerts@example.com"]

D = tmpdir("eml")
TO_FILE = os.path.join(D, "to.txt")
with open(TO_FILE, "w") as f:
    f.write("# 值班人员\n%s\n\n%s   # the GIS list\n%s\n" % tuple(RCPT))
PW_FILE = secret_file(D, "smtp-password", "relay-pa55")

sink = SmtpSink(user="geoalert", password="relay-pa55")
runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(D, "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "邮件测试站", "32011166")
ga = Geoalert(broker, stations=REGISTRY, extra={
    "channel.mail": {"type": "email", "url": sink.url(), "from": "alerts@dnr.example.org",
                     "to_file": TO_FILE, "username": "geoalert", "secret_file": PW_FILE,
                     "backoff_initial_ms": "200", "backoff_max_ms": "800",
                     "timeout_ms": "3000"},
})
DUTY = flows.officer(ga, "duty1")
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)
BASE = ga.sections["http"]["public_base_url"]
call = functools.partial(flows.call, ga, token=DUTY)
new_alert = flows.alert_maker(ga, st, DUTY, STATIONS)  # a fresh station's, version 1


def wait_delivered(aid, version=1, timeout=15.0):
    return flows.wait_delivery(ga, DUTY, aid, "mail", version, timeout=timeout,
                               detail=lambda: "sink answered %r" % (sink.answers[-6:],))


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
                     token=SUP)
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
        d = flows.wait_row(ga, DUTY, aid, "mail", lambda d: d["attempts"] >= 2,
                           "tried twice", timeout=10)
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
    conf = flows.edited_config(ga, "to_file = %s" % TO_FILE, "to_file = %s" % bad,
                               os.path.join(d, "bad.ini"))
    rc, out = flows.check_config(conf)
    assert rc != 0 and bad + ":3:" in out, out
    rc, out = flows.check_config(ga.conf)
    assert rc == 0, out


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
