# ga-test-backends: sqlite pg
"""Clock (issue 6, "Faults"): with [alerts] utc_offset = -03:30 (negative,
not a whole hour) a receipt's received_at, the incident id's date, the
published alert's sent/confirmed_at/observed_at (as the portal gets it and
/alerts/{id}.json serves it) and the CAP <sent> and <onset> all carry the
configured offset and the right instant; with [stations] max_observed_age
= 3d a report observed 4 days ago is accepted but flagged in its receipt
(JSON Pointer /observed_at) and counted in /metrics, one observed 2 days
ago is not.

Every wait is bounded."""
import datetime
import os
import xml.etree.ElementTree as ET

from endpoints import Portal
from flows import call, grid, officer, wait_pending, write_registry
from harness import CST, Broker, Geoalert, Runner, Station, secret_file, tmpdir
from obs import metrics, sample, wait_for

OFFSET = "-03:30"
TZ = datetime.timezone(-datetime.timedelta(hours=3, minutes=30))
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"

runner = Runner()
broker = Broker().start()
portal = Portal("clock-token")
D = tmpdir("clock")
REGISTRY = os.path.join(D, "stations.geojson")
THREATENED = {"CLK-A": 620, "CLK-B": 40}
write_registry(REGISTRY, grid(THREATENED), "观测站", "32011177", people=THREATENED,
               property_cny=1000000)
tok = secret_file(D, "portal", portal.token)
ga = Geoalert(broker, stations=REGISTRY, extra={
    "alerts": {"utc_offset": OFFSET},
    "stations": {"max_observed_age": "3d"},
    "channel.portal": {"type": "portal", "url": portal.url("/api/alerts"), "token_file": tok,
                       "backoff_initial_ms": "200", "backoff_max_ms": "800"},
})
DUTY = officer(ga, "duty1")
ga.start()
st = Station(broker)
S = {}


def report(station, rid, observed):
    return {"schema": "geohazard.report/1", "report_id": rid, "station_id": station,
            "kind": "danger", "hazard_type": "landslide",
            "observed_at": observed.replace(microsecond=0).isoformat()}


def at_offset(text, before, after, what):
    """text is RFC 3339 at -03:30 and names an instant in [before, after]."""
    assert text.endswith(OFFSET), (what, text)
    t = datetime.datetime.fromisoformat(text)
    assert t.utcoffset() == TZ.utcoffset(None), (what, text)
    assert before - datetime.timedelta(seconds=1) <= t <= after + datetime.timedelta(seconds=1), \
        (what, text, before, after)
    return t


def test_receipt_and_incident_id():
    before = datetime.datetime.now(datetime.timezone.utc)
    st.publish("CLK-A", report("CLK-A", "clk-1", datetime.datetime.now(CST)))
    rc = st.wait_receipt("clk-1")
    after = datetime.datetime.now(datetime.timezone.utc)
    assert rc["status"] == "accepted" and rc["level"] == "large", rc
    t = at_offset(rc["received_at"], before, after, "received_at")
    # JS-YYYYMMDD-NNNN: the day at the configured offset
    assert rc["incident_id"].split("-")[1] == t.astimezone(TZ).strftime("%Y%m%d"), rc
    assert "warnings" not in rc, rc
    S["aid"] = rc["incident_id"]
    S["observed"] = before


def test_alert_times():
    aid = S["aid"]
    wait_pending(ga, DUTY, aid)
    before = datetime.datetime.now(datetime.timezone.utc)
    code, body = call(ga, "POST", "/api/v1/alerts/%s/confirm" % aid, DUTY, {})
    after = datetime.datetime.now(datetime.timezone.utc)
    assert code == 200, body
    rec = portal.wait(lambda r: r["status"] == 201, 15)[0]
    a = rec["alert"]
    at_offset(a["sent"], before, after, "sent")
    at_offset(a["confirmed_at"], before, after, "confirmed_at")
    at_offset(a["observed_at"], S["observed"] - datetime.timedelta(seconds=1), after,
              "observed_at")
    code, served = call(ga, "GET", "/alerts/%s.json" % aid)
    assert code == 200 and served["sent"] == a["sent"], (code, served)
    code, xml = call(ga, "GET", "/alerts/%s.xml" % aid)
    assert code == 200, (code, xml[:200])
    root = ET.fromstring(xml.encode())
    sent = root.find(CAP + "sent").text
    assert sent == a["sent"], (sent, a["sent"])
    onset = root.find(CAP + "info/" + CAP + "onset")
    assert onset is not None and onset.text == a["observed_at"], (onset, a["observed_at"])


def test_old_observed_at_flagged():
    now = datetime.datetime.now(CST)
    st.publish("CLK-B", report("CLK-B", "clk-old", now - datetime.timedelta(days=4)))
    rc = st.wait_receipt("clk-old")
    assert rc["status"] == "accepted" and rc["errors"] == [], rc
    assert len(rc["warnings"]) == 1, rc
    w = rc["warnings"][0]
    assert w["path"] == "/observed_at" and w["code"] == "old", w
    assert "max_observed_age" in w["message"], w
    # 2 days is within the configured bound: no warning
    st.publish("CLK-B", report("CLK-B", "clk-2d", now - datetime.timedelta(days=2)))
    rc = st.wait_receipt("clk-2d")
    assert rc["status"] == "accepted" and "warnings" not in rc, rc
    # stored as observed, counted in /metrics
    rows = ga.query("SELECT received_ms - observed_ms FROM reports WHERE report_id = 'clk-old'")
    assert 4 * 86400e3 - 60e3 < rows[0][0] < 4 * 86400e3 + 60e3, rows
    m = wait_for(lambda: (lambda m: (sample(m, "geoalert_reports_old_observed") == 1, m))(
        metrics(ga)), 5, "old-observed gauge")
    assert sample(m, "geoalert_reports_total", status="accepted") == 3


for t in (test_receipt_and_incident_id, test_alert_times, test_old_observed_at_flagged):
    runner.run(t)
st.close()
portal.close()
ga.stop()
runner.finish()
