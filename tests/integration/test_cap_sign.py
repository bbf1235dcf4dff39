# ga-test-backends: sqlite pg
"""The XML Signature of the CAP documents (issue 5; docs/signatures.md,
"The CAP document") against the real broker and daemon: the first start
makes the CAP signing key (mode 0600) and publishes it at
/.well-known/geoalert-cap-signing-key; a published alert's
/alerts/{id}.xml (and /v{n}.xml, and a Cancel) still validates against the
OASIS CAP 1.2 schema with xmllint, verifies with the stock xmlsec1 CLI
(--trusted-pem and --pubkey-pem with the published file) and with
`geoalert verify`; a changed byte of the headline or of the status, or
another key, fails both; the key survives a restart; check-config and
serve refuse a malformed or Ed25519 CAP key by name; signing per request
keeps /alerts/{id}.xml fast."""
import functools
import json
import os
import subprocess
import tempfile
import time

import flows
from harness import GEOALERT, SRC, Broker, Geoalert, Runner, Station, now_rfc3339

DATA = os.path.join(SRC, "tests", "data")
XSD = os.path.join(DATA, "cap12.xsd")
TMP = tempfile.mkdtemp(prefix="ga-capsig-")
XMLSEC_TRIES = 40  # CAP fetches timed

runner = Runner()
broker = Broker().start()
ga = Geoalert(broker, name="ga-capsig")
KEY = os.path.join(ga.dir, "cap-signing-key.pem")
DUTY = flows.officer(ga, "duty1")
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)
STATE = {}
call = functools.partial(flows.request, ga)  # (status, headers, body bytes)
api = functools.partial(flows.call, ga)  # (status, parsed JSON)


def save(name, data):
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def run(*args):
    p = subprocess.run(list(args), capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def xmllint_ok(path):
    return run("xmllint", "--noout", "--schema", XSD, path)[0] == 0


def xmlsec_ok(path, keyfile, how="--trusted-pem"):
    rc, out, err = run("xmlsec1", "--verify", how, keyfile, path)
    return rc == 0 and "OK" in out + err


def geoalert_verify(path, *args):
    return run(GEOALERT, "verify", path, *args)


def publish(report_id):
    with open(os.path.join(DATA, "report-danger-registry.json"), encoding="utf-8") as f:
        r = json.load(f)
    r.update(report_id=report_id, station_id="JS-3201-0007", observed_at=now_rfc3339())
    st.publish("JS-3201-0007", r)
    rc = st.wait_receipt(report_id)
    assert rc["status"] == "accepted" and rc["level"] == "large", rc
    aid = rc["incident_id"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        code, body = api("POST", "/api/v1/alerts/%s/confirm" % aid, DUTY, body={})
        if code == 200 and body.get("published"):
            return aid
        time.sleep(0.2)
    raise AssertionError("could not confirm %s: %s" % (aid, body))


def test_key_made_and_published():
    assert os.stat(KEY).st_mode & 0o777 == 0o600, oct(os.stat(KEY).st_mode)
    with open(KEY) as f:
        text = f.read()
    assert "-----BEGIN PRIVATE KEY-----" in text and "-----BEGIN CERTIFICATE-----" in text
    assert "CAP signing key: generated " + KEY in ga.log_text(), ga.log_text()
    code, h, pem = call("GET", "/.well-known/geoalert-cap-signing-key")
    assert code == 200 and h["content-type"].startswith("text/plain"), (code, h)
    text = pem.decode()
    assert "ECDSA P-256" in text and "PRIVATE" not in text, text
    assert "-----BEGIN PUBLIC KEY-----" in text and "-----BEGIN CERTIFICATE-----" in text
    key_id = text.split("key_id ", 1)[1].split()[0]
    assert len(key_id) == 16 and ("key_id " + key_id) in ga.log_text()
    # openssl reads the published certificate: P-256, the key's public half
    rc, out, err = run("openssl", "x509", "-in", save("pub.pem", pem), "-noout", "-text")
    assert rc == 0 and "prime256v1" in out and "CA:FALSE" in out, out + err
    # the Ed25519 key of the JSON is another resource, another key
    code, _, ed = call("GET", "/.well-known/geoalert-signing-key")
    assert code == 200 and b"Ed25519" in ed and ed != pem
    STATE["pem"], STATE["key_id"] = pem, key_id


def test_cap_is_signed_valid_and_verifies():
    aid = publish("capsig-0001")
    STATE["aid"] = aid
    keyfile = save("pub.pem", STATE["pem"])
    code, h, raw = call("GET", "/alerts/%s.xml" % aid)
    assert code == 200 and h["content-type"].startswith("application/cap+xml"), (code, h)
    text = raw.decode()
    assert text.rstrip().endswith("</ds:Signature>\n</alert>"), text[-300:]
    assert 'Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"' in text
    assert '<ds:Reference URI="">' in text
    assert "xml-exc-c14n#" in text and "enveloped-signature" in text
    good = save("alert.xml", raw)
    assert xmllint_ok(good), run("xmllint", "--noout", "--schema", XSD, good)
    assert xmlsec_ok(good, keyfile, "--trusted-pem"), run("xmlsec1", "--verify",
                                                          "--trusted-pem", keyfile, good)
    assert xmlsec_ok(good, keyfile, "--pubkey-pem")
    rc, out, err = geoalert_verify(good, "--key", keyfile)
    assert rc == 0 and out.startswith("valid: CAP %s-1, key_id %s" % (aid, STATE["key_id"])), \
        (rc, out, err)
    rc, out, err = geoalert_verify(good, "-c", ga.conf)
    assert rc == 0 and out.startswith("valid: CAP"), (rc, out, err)
    # the versioned URL is signed too (ECDSA signatures differ each time,
    # the content does not)
    code, _, raw1 = call("GET", "/alerts/%s/v1.xml" % aid)
    assert code == 200 and xmlsec_ok(save("v1.xml", raw1), keyfile)
    STATE["xml"] = raw


def test_tampered_cap_fails():
    keyfile = save("pub.pem", STATE["pem"])
    text = STATE["xml"].decode()
    start = text.index("<headline>") + len("<headline>")
    head = text[start:text.index("</headline>")]
    last = head[-1]
    changed = {
        "headline": text.replace("<headline>" + head, "<headline>" + head[:-1]
                                 + ("甲" if last != "甲" else "乙"), 1),
        "status": text.replace("<status>Actual</status>", "<status>Test</status>", 1),
    }
    for name, t in changed.items():
        assert t != text, name
        bad = save("bad-%s.xml" % name, t.encode())
        assert xmllint_ok(bad), name  # still schema-valid: only the signature tells
        assert not xmlsec_ok(bad, keyfile, "--trusted-pem"), name
        assert not xmlsec_ok(bad, keyfile, "--pubkey-pem"), name
        rc, out, _ = geoalert_verify(bad, "--key", keyfile)
        assert rc == 1 and out.startswith("invalid"), (name, rc, out)
    # another key: an ECDSA P-256 key of our own
    other = os.path.join(TMP, "other.pem")
    rc, _, err = run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-out", other)
    assert rc == 0, err
    otherpub = os.path.join(TMP, "other.pub")
    assert run("openssl", "pkey", "-in", other, "-pubout", "-out", otherpub)[0] == 0
    good = save("alert.xml", STATE["xml"])
    assert not xmlsec_ok(good, otherpub, "--pubkey-pem")
    rc, out, _ = geoalert_verify(good, "--key", otherpub)
    assert rc == 1 and "another key" in out, out


def test_cancel_is_signed():
    aid = STATE["aid"]
    code, body = api("POST", "/api/v1/alerts/%s/cancel" % aid, SUP, body={"reason": "险情已排除"})
    assert code == 200, body
    code, _, raw = call("GET", "/alerts/%s.xml" % aid)
    assert code == 200 and b"<msgType>Cancel</msgType>" in raw and b"<references>" in raw
    path = save("cancel.xml", raw)
    assert xmllint_ok(path)
    assert xmlsec_ok(path, save("pub.pem", STATE["pem"]))


def test_fast_enough():
    """Each request signs (one ECDSA signature): time it."""
    aid = STATE["aid"]
    t0 = time.monotonic()
    for _ in range(XMLSEC_TRIES):
        code, _, _ = call("GET", "/alerts/%s.xml" % aid)
        assert code == 200
    xml_ms = (time.monotonic() - t0) * 1000 / XMLSEC_TRIES
    t0 = time.monotonic()
    for _ in range(XMLSEC_TRIES):
        code, _, _ = call("GET", "/alerts/%s.json" % aid)
        assert code == 200
    json_ms = (time.monotonic() - t0) * 1000 / XMLSEC_TRIES
    print("  /alerts/{id}.xml %.2f ms, .json %.2f ms per request (mean of %d)"
          % (xml_ms, json_ms, XMLSEC_TRIES))
    assert xml_ms < 250, xml_ms  # generous: sanitizer builds on a shared 2-core machine


def test_key_survives_restart():
    assert ga.stop() == 0, ga.log_text()
    ga.start()
    code, _, pem = call("GET", "/.well-known/geoalert-cap-signing-key")
    assert code == 200 and pem == STATE["pem"], pem  # same key and same certificate
    assert "CAP signing key: generated" not in ga.log_text().split("signal", 1)[-1]
    code, _, raw = call("GET", "/alerts/%s/v1.xml" % STATE["aid"])
    assert code == 200 and xmlsec_ok(save("after.xml", raw), save("pub.pem", STATE["pem"]))


def test_check_config_and_serve_refuse_bad_keys():
    rc, out, _ = run(GEOALERT, "check-config", "-c", ga.conf)
    assert rc == 0, out
    bad = Geoalert(broker, name="ga-capsig-bad")
    badkey = os.path.join(bad.dir, "bad.pem")
    cases = {
        "not base64": "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
        "Ed25519": "-----BEGIN PRIVATE KEY-----\n"
                   "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
                   "-----END PRIVATE KEY-----\n",
    }
    for why, text in cases.items():
        with open(badkey, "w") as f:
            f.write(text)
        os.chmod(badkey, 0o600)
        bad.sections["alerts"]["cap_signing_key_file"] = badkey
        bad.write_config()
        rc, out, _ = run(GEOALERT, "check-config", "-c", bad.conf)
        assert rc == 1 and "cap_signing_key_file" in out, (why, out)
        if why == "Ed25519":
            assert "Ed25519" in out and "P-256" in out, out
    bad.start(wait=False)
    assert bad.proc.wait(timeout=60) != 0
    assert "cap_signing_key_file" in bad.log_text(), bad.log_text()
    # a missing key is fine for check-config (serve makes it) and not made by it
    missing = os.path.join(bad.dir, "missing.pem")
    bad.sections["alerts"]["cap_signing_key_file"] = missing
    bad.write_config()
    rc, out, _ = run(GEOALERT, "check-config", "-c", bad.conf)
    assert rc == 0, out
    assert not os.path.exists(missing)


for t in (test_key_made_and_published, test_cap_is_signed_valid_and_verifies,
          test_tampered_cap_fails, test_cancel_is_signed, test_fast_enough,
          test_key_survives_restart, test_check_config_and_serve_refuse_bad_keys):
    runner.run(t)
st.close()
flows.run_clean_stop(runner, ga)
runner.finish()
