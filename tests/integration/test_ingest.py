# ga-test-backends: sqlite pg
"""Reports in, receipts out, everything stored: the real broker, daemon
and SQLite file."""
import json
import os
import re
import shutil
import signal
import time

from harness import (SRC, STATIONS, Broker, Geoalert, Runner, Station, now_rfc3339, report,
                     tmpdir)

DATA = os.path.join(SRC, "tests", "data")

broker = Broker().start()
ga = Geoalert(broker).start()
st = Station(broker)
runner = Runner()


def load(name, **override):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        r = json.load(f)
    r.update(override)
    return r


def error_paths(receipt):
    return sorted(e["path"] for e in receipt["errors"])


def test_healthz():
    code, body = ga.get("/healthz")
    assert code == 200, body
    assert body["status"] == "ok"
    assert body["mqtt"]["subscribed"] == body["mqtt"]["sessions"] == 2


def test_accepted_danger_from_registry():
    r = load("report-danger-registry.json", observed_at=now_rfc3339(),
             report_id="acc-0001")
    st.publish("JS-3201-0007", r)
    rc = st.wait_receipt("acc-0001")
    assert rc["_topic"] == "geohazard/v1/receipts/JS-3201-0007"
    assert rc["schema"] == "geohazard.receipt/1"
    assert rc["status"] == "accepted", rc
    assert re.fullmatch(r"JS-\d{8}-\d{4}", rc["incident_id"]), rc
    # 620 threatened people from the hazard point in the registry: large
    assert rc["level"] == "large", rc
    assert rc["received_at"].endswith("+08:00"), rc
    assert rc["errors"] == []
    rows = ga.query("SELECT raw FROM reports WHERE station_id=? AND report_id=?",
                    ("JS-3201-0007", "acc-0001"))
    assert len(rows) == 1
    assert json.loads(rows[0][0]) == r


def test_duplicate_changes_nothing():
    r = report("JS-3201-0007", "dup-0001")
    st.publish("JS-3201-0007", r)
    first = st.wait_receipt("dup-0001")
    assert first["status"] == "accepted"
    before = ga.query("SELECT COUNT(*) FROM reports")[0][0]
    st.publish("JS-3201-0007", r)
    second = st.wait_receipt("dup-0001", count=2)
    assert second["status"] == "duplicate", second
    assert second["incident_id"] == first["incident_id"]
    assert ga.query("SELECT COUNT(*) FROM reports")[0][0] == before


def test_invalid_example_all_errors():
    raw = open(os.path.join(DATA, "report-invalid.json"), "rb").read()
    st.publish("JS-3201-0007", raw)
    rc = st.wait_receipt("bad id with spaces")
    assert rc["status"] == "rejected"
    assert rc["incident_id"] is None and rc["level"] is None
    paths = error_paths(rc)
    for p in ("/report_id", "/hazard_type", "/observed_at", "/figures/deaths",
              "/figures/injured"):
        assert p in paths, (p, rc)
    rows = ga.query("SELECT raw, reasons FROM rejected WHERE raw = ?", (raw,))
    assert len(rows) == 1, "rejected payload not stored raw"
    assert "/figures/deaths" in rows[0][1]


def test_garbage_is_stored_and_answered():
    payloads = [b"", b"\xff\xfe\x00binary", b"[1,2]", b"{\"a\":1,\"a\":2}",
                b"{" * 5000, b"x" * 70000]
    n0 = len(st.receipts.get(None, []))
    for p in payloads:
        st.publish("JS-3211-0002", p)
    for i in range(len(payloads)):
        rc = st.wait_receipt(None, count=n0 + i + 1)
        assert rc["status"] == "rejected"
        assert rc["_topic"] == "geohazard/v1/receipts/JS-3211-0002"
        assert rc["errors"] and rc["errors"][0]["path"] == "", rc
    codes = sorted(e["errors"][0]["code"] for e in st.receipts[None][n0:])
    assert "too_large" in codes and "encoding" in codes and "depth" in codes, codes
    assert "duplicate_key" in codes, codes
    # each stored raw; one past the 64 KiB cap keeps the first 64 KiB and
    # its true length (issue 15)
    for p in payloads:
        assert ga.query("SELECT COUNT(*) FROM rejected WHERE raw = ? AND raw_len = ?",
                        (p[:65536], len(p)))[0][0] == 1, p[:20]


def test_station_checks():
    st.publish("JS-3211-0002", report("JS-3201-0007", "mismatch-1"))
    rc = st.wait_receipt("mismatch-1")
    assert rc["status"] == "rejected"
    assert [e["code"] for e in rc["errors"] if e["path"] == "/station_id"] == \
        ["station_mismatch"], rc
    st.publish("XX-9999", report("XX-9999", "unknown-1"))
    rc = st.wait_receipt("unknown-1")
    assert rc["_topic"] == "geohazard/v1/receipts/XX-9999"
    assert rc["status"] == "rejected"
    assert "unknown_station" in [e["code"] for e in rc["errors"]], rc


def test_disaster_in_gauss_krueger():
    r = load("report-disaster-gk.json", observed_at=now_rfc3339(), report_id="gk-0001")
    st.publish("JS-3211-0002", r)
    rc = st.wait_receipt("gk-0001")
    assert rc["status"] == "accepted", rc
    # deaths 2 + missing 1 = 3 and loss 1.8 M: medium
    assert rc["level"] == "medium", rc
    row = ga.query("SELECT admin_code, lon, lat FROM reports WHERE report_id='gk-0001'")[0]
    assert row[0] == "321183", row
    assert 118.9 < row[1] < 119.4 and 31.9 < row[2] < 32.4, row


def test_xian80_warning():
    # Xian 1980 has no datum shift to CGCS2000 in proj.db: accepted, warned
    r = report("JS-3201-0007", "xian-1",
               location={"crs": "EPSG:2385", "coordinates": [370432.85, 3549208.87]})
    st.publish("JS-3201-0007", r)
    rc = st.wait_receipt("xian-1")
    assert rc["status"] == "accepted", rc
    assert [w["path"] for w in rc.get("warnings", [])] == ["/location/crs"], rc
    row = ga.query("SELECT admin_code FROM reports WHERE report_id='xian-1'")[0]
    assert row[0] == "320111", row


def test_outside_service_area():
    r = report("JS-3201-0007", "sh-1", location={"crs": "EPSG:4490",
                                                 "coordinates": [121.47, 31.23]})
    st.publish("JS-3201-0007", r)
    rc = st.wait_receipt("sh-1")
    assert rc["status"] == "rejected", rc
    assert rc["errors"][0]["path"] == "/location/coordinates", rc
    assert "outside" in rc["errors"][0]["message"], rc


def test_grouping_and_level_recomputed():
    # a disaster at the same hazard point joins the danger incident and
    # raises its level: 12 dead and missing is large either way, 31 extra large
    a = report("JS-3201-0007", "grp-1")
    st.publish("JS-3201-0007", a)
    ra = st.wait_receipt("grp-1")
    b = report("JS-3201-0007", "grp-2", kind="disaster",
               figures={"deaths": 20, "missing": 11})
    st.publish("JS-3201-0007", b)
    rb = st.wait_receipt("grp-2")
    assert rb["incident_id"] == ra["incident_id"], (ra, rb)
    assert rb["level"] == "extra_large", rb
    # another hazard type at the same place is another incident
    c = report("JS-3201-0007", "grp-3", hazard_type="ground_fissure")
    st.publish("JS-3201-0007", c)
    rc = st.wait_receipt("grp-3")
    assert rc["status"] == "accepted"
    assert rc["incident_id"] != ra["incident_id"]


def test_unknown_incident_rejected():
    r = report("JS-3201-0007", "inc-x", incident_id="JS-19990101-0001")
    st.publish("JS-3201-0007", r)
    rc = st.wait_receipt("inc-x")
    assert rc["status"] == "rejected", rc
    assert error_paths(rc) == ["/incident_id"], rc


def test_future_and_past_times():
    st.publish("JS-3201-0007", report("JS-3201-0007", "fut-1", observed_at=now_rfc3339(700)))
    rc = st.wait_receipt("fut-1")
    assert rc["status"] == "rejected" and error_paths(rc) == ["/observed_at"], rc
    st.publish("JS-3201-0007", report("JS-3201-0007", "fut-2", observed_at=now_rfc3339(500)))
    assert st.wait_receipt("fut-2")["status"] == "accepted"


def test_registry_reload():
    d = tmpdir("reg")
    path = os.path.join(d, "stations.geojson")
    shutil.copy(STATIONS, path)
    # its own share group: the stopped daemon's persistent sessions still
    # hold their share of the first group
    g2 = Geoalert(broker, stations=path, sessions=1, name="reload",
                  extra={"mqtt": {"share_group": "reload"}}).start()
    s2 = Station(broker)
    s2.publish("NEW-0001", report("NEW-0001", "new-1"))
    # both daemons answer on the shared receipt topic; wait for g2's
    rc = s2.wait_receipt("new-1")
    assert rc["status"] == "rejected" and "unknown_station" in rc["errors"][0]["code"], rc
    with open(path, encoding="utf-8") as f:
        reg = json.load(f)
    reg["features"].append({
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [118.63, 32.06]},
        "properties": {"station_id": "NEW-0001", "name": "新站", "hazard_point_id": "320111019999",
                       "hazard_type": "collapse", "admin_code": "320111",
                       "threatened_people": 10, "threatened_property_cny": 100000}})
    with open(path, "w", encoding="utf-8") as f:
        json.dump(reg, f, ensure_ascii=False)
    g2.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "registry loaded" not in g2.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "registry loaded" in g2.log_text()
    s2.publish("NEW-0001", report("NEW-0001", "new-2", hazard_type="collapse"))
    assert s2.wait_receipt("new-2")["status"] == "accepted"
    # a broken registry is refused and the old one kept
    with open(path, "w") as f:
        f.write('{"type": "FeatureCollection", "features": [{"type": "Feature"}]}')
    g2.signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "refused" not in g2.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "station registry refused" in g2.log_text(), g2.log_text()
    s2.publish("NEW-0001", report("NEW-0001", "new-3", hazard_type="collapse"))
    assert s2.wait_receipt("new-3")["status"] == "accepted"
    s2.close()
    assert g2.stop() == 0


def test_no_registry_every_station_unknown():
    """Spec §2: station_id must be in the registry. A daemon without a
    [stations] file has none: it takes no report (it took them all)."""
    g3 = Geoalert(broker, sessions=1, name="noreg", extra={"mqtt": {"share_group": "noreg"}})
    del g3.sections["stations"]
    g3.write_config()
    g3.start()
    s3 = Station(broker)
    try:
        s3.publish("JS-3201-0007", report("JS-3201-0007", "noreg-1"))
        rc = s3.wait_receipt("noreg-1")
        assert rc["status"] == "rejected", rc
        assert [(e["path"], e["code"]) for e in rc["errors"]] == \
            [("/station_id", "unknown_station")], rc
        assert "no [stations] file: every report will be rejected" in g3.log_text()
    finally:
        s3.close()
        assert g3.stop() == 0


def test_metrics():
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % ga.http_port, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    lines = dict(l.rsplit(" ", 1) for l in text.splitlines() if l and not l.startswith("#"))
    assert int(lines['geoalert_reports_total{status="accepted"}']) >= 4, text
    assert int(lines['geoalert_reports_total{status="duplicate"}']) >= 1, text
    assert int(lines['geoalert_reports_total{status="rejected"}']) >= 6, text
    assert int(lines['geoalert_rejections_total{reason="station_mismatch"}']) >= 1, text
    n = int(lines["geoalert_report_receipt_seconds_count"])
    assert n >= 11 and int(lines['geoalert_report_receipt_seconds_bucket{le="+Inf"}']) == n
    assert lines["geoalert_mqtt_subscribed"] == "2", text
    # a large incident was made: its draft's latency is recorded
    assert int(lines["geoalert_report_draft_seconds_count"]) >= 1, text


def test_sigterm_exits_cleanly():
    assert ga.stop() == 0
    assert "stopped" in ga.log_text()


# The reload test runs a second daemon on the same broker; it must not
# share the first one's subscription group, so it runs after the others.
for t in (test_healthz, test_accepted_danger_from_registry, test_duplicate_changes_nothing,
          test_invalid_example_all_errors, test_garbage_is_stored_and_answered,
          test_station_checks, test_disaster_in_gauss_krueger, test_xian80_warning,
          test_outside_service_area, test_metrics, test_grouping_and_level_recomputed,
          test_unknown_incident_rejected, test_future_and_past_times, test_sigterm_exits_cleanly,
          test_registry_reload, test_no_registry_every_station_unknown):
    runner.run(t)
st.close()
broker.stop()
runner.finish()
