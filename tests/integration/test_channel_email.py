# ga-test-backends: sqlite pg
"""The email channel (issue 5, "Channels") against the real broker and
daemon and an SMTP sink (smtp_sink.py) with AUTH PLAIN: one message per
published version, read back with Python's email package (subject,
From, both parts, Message-ID, every recipient of to_file, no list in
the headers, CRLF only); a cancel threads to the alert; a 451 at the end
of DATA once is retried and taken, with the same Message-ID; the relay
down, then up: delivered; check-config names a bad address's FILE:LINE.

Over TLS, with certificates of a throwaway CA (smtp_sink.make_certs)
that the channels trust through ca_file: STARTTLS on a relay that
requires it (AUTH PLAIN only after it), and smtps://, each delivered
and taken in TLS. Refused, never delivered, with last_error saying why:
a relay whose certificate another CA signed (no AUTH, no MAIL sent to
it); smtps:// without ca_file (the system's store does not know the
test CA); starttls = true against a relay that does not offer STARTTLS
(nothing sent in clear); no starttls against a relay that requires it
(its 530). check-config refuses an unreadable or non-PEM ca_file.

Every wait is bounded."""
import email
import email.policy
import functools
import os
import time

import flows
from harness import Broker, Geoalert, Runner, Station, secret_file, tmpdir
from smtp_sink import SmtpSink, make_certs

STATIONS = flows.grid("EML-%04d" % (i + 1) for i in range(12))
RCPT = ["duty@dnr.example.org", "gis-list@lists.example.org", "chief+alerts@example.com"]

D = tmpdir("eml")
TO_FILE = os.path.join(D, "to.txt")
with open(TO_FILE, "w") as f:
    f.write("# 值班人员\n%s\n\n%s   # the GIS list\n%s\n" % tuple(RCPT))
PW_FILE = secret_file(D, "smtp-password", "relay-pa55")

sink = SmtpSink(user="geoalert", password="relay-pa55")
GOOD, ROGUE = make_certs(D, "relay"), make_certs(D, "rogue")
sink_tls = SmtpSink(user="geoalert", password="relay-pa55", tls="starttls", cert=GOOD,
                    require_tls=True)
sink_smtps = SmtpSink(user="geoalert", password="relay-pa55", tls="implicit", cert=GOOD)
sink_rogue = SmtpSink(user="geoalert", password="relay-pa55", tls="starttls", cert=ROGUE)
sink_clear = SmtpSink(user="geoalert", password="relay-pa55")  # offers no STARTTLS
sink_opt = SmtpSink(user="geoalert", password="relay-pa55", tls="starttls", cert=GOOD)
SINKS = (sink, sink_tls, sink_smtps, sink_rogue, sink_clear, sink_opt)


def mail_channel(url, **kw):
    c = {"type": "email", "url": url, "from": "alerts@dnr.example.org", "to_file": TO_FILE,
         "username": "geoalert", "secret_file": PW_FILE, "backoff_initial_ms": "200",
         "backoff_max_ms": "800", "timeout_ms": "15000"}
    c.update(kw)
    return c


# The refused ones give up after 20 s: every alert of this file goes to
# every channel, and a retry each second for the whole run is only load.
REFUSED = {"backoff_max_ms": "1000", "deadline": "20"}
runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(D, "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "邮件测试站", "32011166")
ga = Geoalert(broker, stations=REGISTRY, extra={
    "channel.mail": {"type": "email", "url": sink.url(), "from": "alerts@dnr.example.org",
                     "to_file": TO_FILE, "username": "geoalert", "secret_file": PW_FILE,
                     "backoff_initial_ms": "200", "backoff_max_ms": "800",
                     "timeout_ms": "15000"},
    "channel.mail_starttls": mail_channel(sink_tls.url(), starttls="true", ca_file=GOOD["ca"]),
    "channel.mail_smtps": mail_channel(sink_smtps.url(), ca_file=GOOD["ca"]),
    "channel.mail_rogue": mail_channel(sink_rogue.url(), starttls="true", ca_file=GOOD["ca"],
                                       **REFUSED),
    "channel.mail_system_cas": mail_channel(sink_smtps.url(), **REFUSED),
    "channel.mail_no_starttls": mail_channel(sink_clear.url(), starttls="true",
                                             ca_file=GOOD["ca"], **REFUSED),
    "channel.mail_in_clear": mail_channel(sink_tls.url(), **REFUSED),
    # one relay that offers STARTTLS, two channels with the same login
    "channel.mail_opt_clear": mail_channel(sink_opt.url()),
    "channel.mail_opt_tls": mail_channel(sink_opt.url(), starttls="true", ca_file=GOOD["ca"]),
})
DUTY = flows.officer(ga, "duty1")
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)
BASE = ga.sections["http"]["public_base_url"]
call = functools.partial(flows.call, ga, token=DUTY)
_new_alert = flows.alert_maker(ga, st, DUTY, STATIONS)  # a fresh station's, version 1
ALERTS = []  # every alert made here: each goes to every channel


def new_alert():
    aid = _new_alert()
    ALERTS.append(aid)
    return aid


def wait_delivered(aid, version=1, timeout=15.0, channel="mail", s=sink):
    return flows.wait_delivery(ga, DUTY, aid, channel, version, timeout=timeout,
                               detail=lambda: "sink answered %r, handshakes failed %r" % (
                                   s.answers[-6:], s.tls_failures[-3:]))


def wait_refused(aid, channel, s, timeout=15.0):
    """The row of aid's version 1 to channel once it was tried twice and
    not delivered: still pending, last_error set."""
    d = flows.wait_row(ga, DUTY, aid, channel, lambda d: d["attempts"] >= 2, "tried twice",
                       timeout=timeout, detail=lambda: "; sessions %r" % (s.sessions[-3:],))
    assert d["state"] in ("pending", "sending") and d["last_error"], d
    return d


def msgid(aid, version):
    return "<%s.%d@dnr.example.org>" % (aid, version)


def messages(aid, version, s=sink):
    want = msgid(aid, version).encode()
    return [m for m in s.of() if b"\r\nMessage-ID: " + want + b"\r\n" in m["data"]]


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


def summary(msgs):
    return [dict((k, v) for k, v in m.items() if k != "data") for m in msgs]


def check_tls_message(aid, s):
    """aid's one message in s: taken in TLS after AUTH, whole."""
    got = messages(aid, 1, s)
    assert len(got) == 1, summary(got)
    m = got[0]
    assert m["tls"] and m["tls_version"] in ("TLSv1.2", "TLSv1.3"), m
    assert m["user"] == "geoalert" and m["mail_from"] == "alerts@dnr.example.org", m
    assert m["rcpt"] == RCPT, m["rcpt"]
    msg = parse(m)
    assert not msg.defects, msg.defects
    a = published(aid, 1)
    assert str(msg["Subject"]) == a["headline"] and msg["Message-ID"] == msgid(aid, 1)
    assert "%s/alerts/%s" % (BASE, aid) in msg.get_body(("plain",)).get_content()
    # the same texts as the plain channel's copy
    wait_delivered(aid)
    plain = parse(messages(aid, 1)[0])
    for kind in ("plain", "html"):
        assert msg.get_body((kind,)).get_content() == plain.get_body((kind,)).get_content()


def test_starttls_then_auth_then_the_message():
    aid = new_alert()
    d = wait_delivered(aid, channel="mail_starttls", s=sink_tls)
    assert d["attempts"] == 1, d
    check_tls_message(aid, sink_tls)
    # EHLO again after STARTTLS, and AUTH only then (RFC 3207 4.2)
    first = [x for x in sink_tls.sessions if "STARTTLS" in x][0]
    assert first[:5] == ["EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL"], first
    for x in sink_tls.sessions:  # the password never in clear, on any channel
        assert "AUTH" not in x or x.index("STARTTLS") < x.index("AUTH"), x


def test_smtps_the_message_in_tls():
    aid = new_alert()
    d = wait_delivered(aid, channel="mail_smtps", s=sink_smtps)
    assert d["attempts"] == 1, d
    check_tls_message(aid, sink_smtps)


def test_untrusted_certificate_refused():
    aid = new_alert()
    d = wait_refused(aid, "mail_rogue", sink_rogue)
    assert "SSL certificate problem" in d["last_error"], d  # curl's detail
    assert messages(aid, 1, sink_rogue) == []
    deadline = time.monotonic() + 5  # the sink's thread may still be on it
    while not sink_rogue.tls_failures and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sink_rogue.tls_failures, "the sink saw no failed handshake"
    assert "unknown ca" in sink_rogue.tls_failures[0].lower(), sink_rogue.tls_failures
    for x in sink_rogue.sessions:  # nothing said to the impostor after STARTTLS
        assert "AUTH" not in x and "MAIL" not in x, x
    # the same relay through a channel that trusts its CA delivers
    # (mail_starttls): the refusal is the certificate, not the sink
    wait_delivered(aid, channel="mail_starttls", s=sink_tls)


def test_default_trust_is_the_system_store():
    aid = new_alert()
    d = wait_refused(aid, "mail_system_cas", sink_smtps)
    assert "SSL certificate problem" in d["last_error"], d
    wait_delivered(aid, channel="mail_smtps", s=sink_smtps)  # with ca_file: delivered
    assert len(messages(aid, 1, sink_smtps)) == 1


def test_starttls_required_but_not_offered():
    aid = new_alert()
    d = wait_refused(aid, "mail_no_starttls", sink_clear)
    # curl's name and its detail, e.g. "Requested SSL level failed:
    # STARTTLS not supported. (server said 250)"
    assert "SSL" in d["last_error"] and "STARTTLS not supported" in d["last_error"], d
    assert messages(aid, 1, sink_clear) == [] and sink_clear.of() == []
    assert sink_clear.sessions, "geoalert never connected"
    for x in sink_clear.sessions:  # nothing in clear: no password, no message
        assert "AUTH" not in x and "MAIL" not in x and "DATA" not in x, x


def test_relay_requiring_tls_refuses_clear_with_530():
    aid = new_alert()
    d = wait_refused(aid, "mail_in_clear", sink_tls)
    assert "530" in d["last_error"], d
    assert ("mail", 530) in sink_tls.answers
    assert len(messages(aid, 1, sink_tls)) <= 1  # mail_starttls's copy only
    wait_delivered(aid, channel="mail_starttls", s=sink_tls)
    assert len(messages(aid, 1, sink_tls)) == 1


def test_tls_connection_never_shared_with_clear():
    """Every alert went to mail_opt_clear and mail_opt_tls, which differ
    only in starttls: one copy in clear and one in TLS each, never one
    channel's message on the other's connection."""
    new_alert()
    for aid in ALERTS:
        for ch in ("mail_opt_clear", "mail_opt_tls"):
            wait_delivered(aid, channel=ch, s=sink_opt)
        got = messages(aid, 1, sink_opt)
        assert sorted(m["tls"] for m in got) == [False, True], (aid, summary(got))
    for x in sink_opt.sessions:  # a connection per message
        assert x.count("DATA") <= 1, x
    assert len(ALERTS) >= 10, ALERTS


def test_check_config_ca_file():
    d = tmpdir("eml-ca")
    old = "ca_file = %s" % GOOD["ca"]
    for path, want in ((os.path.join(d, "missing.pem"), "missing.pem"),
                       (GOOD["key"], "no PEM certificate")):
        conf = flows.edited_config(ga, old, "ca_file = %s" % path, os.path.join(d, "c.ini"))
        rc, out = flows.check_config(conf)
        assert rc != 0 and conf + ":" in out and "ca_file" in out and want in out, out


for t in (test_one_message_per_version_to_every_recipient,
          test_cancel_is_a_second_message_in_the_thread,
          test_451_once_is_retried_with_the_same_message_id,
          test_relay_down_then_up_delivered,
          test_check_config_names_a_bad_address,
          test_starttls_then_auth_then_the_message,
          test_smtps_the_message_in_tls,
          test_untrusted_certificate_refused,
          test_default_trust_is_the_system_store,
          test_starttls_required_but_not_offered,
          test_relay_requiring_tls_refuses_clear_with_530,
          test_tls_connection_never_shared_with_clear,
          test_check_config_ca_file):
    runner.run(t)
st.close()
for s in SINKS:
    s.close()
flows.run_clean_stop(runner, ga)  # under ASan: nothing leaked, OpenSSL's too
broker.stop()
runner.finish()
