# ga-test-backends: sqlite pg
"""/metrics and /healthz (issue 6, "Observability") against the real broker
and daemon: two large incidents and a medium one, one draft confirmed
through the API and one left pending, its deliveries to a working portal
and to one answering 500; then every gauge is read back from /metrics
(Prometheus text, parsed strictly), the draft->confirm and
confirm->delivered histograms have their sample; /healthz turns 503 with
"deliveries" once the failing delivery is older than [http]
healthz_backlog and 200 again when it goes through; stopping the broker
turns it 503 with "mqtt", restarting it 200.

Every wait is bounded."""
import os

from endpoints import Portal
from flows import call, grid, officer, wait_pending, write_registry
from harness import Broker, Geoalert, Runner, Station, now_rfc3339, secret_file, tmpdir
from obs import metrics, sample, wait_for

runner = Runner()
broker = Broker().start()
good = Portal("good-token")
bad = Portal("bad-token")
bad.set_mode("500")
D = tmpdir("metrics")
REGISTRY = os.path.join(D, "stations.geojson")
THREATENED = {"OBS-A": 620, "OBS-B": 150, "OBS-C": 620}
write_registry(REGISTRY, grid(THREATENED), "观测站", "32011177", people=THREATENED,
               property_cny=1000000)
RETRY = {"backoff_initial_ms": "200", "backoff_max_ms": "800", "timeout_ms": "1500"}
BACKLOG_S = 10
ga = Geoalert(broker, stations=REGISTRY, extra={
    "http": {"healthz_backlog": "%ds" % BACKLOG_S},
    "channel.good": dict(type="portal", url=good.url("/api/alerts"),
                         token_file=secret_file(D, "good", good.token), **RETRY),
    "channel.bad": dict(type="portal", url=bad.url("/api/alerts"),
                        token_file=secret_file(D, "bad", bad.token), **RETRY),
})
DUTY = officer(ga, "duty1")
ga.start()
st = Station(broker)
S = {}


def publish(station, rid):
    st.publish(station, {"schema": "geohazard.report/1", "report_id": rid,
                         "station_id": station, "kind": "danger",
                         "hazard_type": "landslide", "observed_at": now_rfc3339()})
    rc = st.wait_receipt(rid)
    assert rc["status"] == "accepted", rc
    return rc


def test_gauges_and_latencies():
    a = publish("OBS-A", "m-a")
    assert a["level"] == "large", a
    wait_pending(ga, DUTY, a["incident_id"])
    code, body = call(ga, "POST", "/api/v1/alerts/%s/confirm" % a["incident_id"], DUTY, {})
    assert code == 200, body
    b = publish("OBS-B", "m-b")
    assert b["level"] == "medium", b
    c = publish("OBS-C", "m-c")
    assert c["level"] == "large", c
    wait_pending(ga, DUTY, c["incident_id"])
    good.wait(lambda r: r["status"] == 201, 15)
    bad.wait(lambda r: r["status"] == 500, 15, count=2)
    S["a"] = a["incident_id"]

    def ready():
        m = metrics(ga)
        return sample(m, "geoalert_confirm_delivered_seconds_count", channel="good") == 1, m
    m = wait_for(ready, 10, "confirm->delivered observed for good")

    inc = {lv: sample(m, "geoalert_incidents", level=lv)
           for lv in ("small", "medium", "large", "extra_large")}
    assert inc == {"small": 0, "medium": 1, "large": 2, "extra_large": 0}, inc
    assert sample(m, "geoalert_drafts_pending") == 1
    dl = {(ch, s): sample(m, "geoalert_deliveries", channel=ch, state=s)
          for ch in ("good", "bad") for s in ("pending", "sending", "delivered", "failed")}
    assert dl[("good", "delivered")] == 1 and dl[("good", "pending")] == 0, dl
    assert dl[("good", "sending")] == 0 and dl[("good", "failed")] == 0, dl
    assert dl[("bad", "pending")] + dl[("bad", "sending")] == 1, dl
    assert dl[("bad", "delivered")] == 0 and dl[("bad", "failed")] == 0, dl
    assert sample(m, "geoalert_draft_confirm_seconds_count") == 1
    assert 0 < sample(m, "geoalert_draft_confirm_seconds_sum") < 60
    assert sample(m, "geoalert_draft_confirm_seconds_bucket", le="+Inf") == 1
    assert sample(m, "geoalert_reports_total", status="accepted") == 3
    assert sample(m, "geoalert_mqtt_subscribed") == sample(m, "geoalert_mqtt_sessions") == 2
    assert sample(m, "geoalert_database_ok") == 1
    assert sample(m, "geoalert_reports_old_observed") == 0


def test_healthz_backlog_pages_then_clears():
    # The failing delivery is younger than the threshold at first...
    code, body = ga.get("/healthz")
    assert body["deliveries"]["unfinished"] == 1, body
    assert body["deliveries"]["overdue_after_s"] == BACKLOG_S, body

    def unhealthy():
        code, body = ga.get("/healthz")
        return code == 503, (code, body)
    code, body = wait_for(unhealthy, BACKLOG_S + 15, "healthz 503 on the backlog")
    assert body["status"] == "unavailable" and body["problems"] == ["deliveries"], body
    assert body["deliveries"]["overdue"] == 1 and body["deliveries"]["oldest_s"] >= BACKLOG_S
    assert body["mqtt"]["subscribed"] == 2 and body["database"] == "ok", body
    assert sample(metrics(ga), "geoalert_deliveries_overdue") == 1
    # ... and once the portal takes it, healthy again.
    bad.set_mode("ok")
    bad.wait(lambda r: r["status"] == 201, 15)

    def healthy():
        code, body = ga.get("/healthz")
        return code == 200, (code, body)
    code, body = wait_for(healthy, 10, "healthz 200 after delivery")
    assert body["problems"] == [] and body["deliveries"]["unfinished"] == 0, body
    m = metrics(ga)
    assert sample(m, "geoalert_deliveries", channel="bad", state="delivered") == 1
    assert sample(m, "geoalert_deliveries_overdue") == 0
    assert sample(m, "geoalert_confirm_delivered_seconds_count", channel="bad") == 1
    # observed from the publication: at least the time the portal failed
    assert sample(m, "geoalert_confirm_delivered_seconds_sum", channel="bad") >= BACKLOG_S


def test_healthz_mqtt_down_and_back():
    broker.stop()

    def down():
        code, body = ga.get("/healthz")
        return code == 503 and "mqtt" in body["problems"], (code, body)
    code, body = wait_for(down, 20, "healthz 503 with the broker stopped")
    assert body["mqtt"]["subscribed"] < body["mqtt"]["sessions"], body
    assert sample(metrics(ga), "geoalert_mqtt_subscribed") < 2
    broker.start()

    def up():
        code, body = ga.get("/healthz")
        return code == 200, (code, body)
    code, body = wait_for(up, 40, "healthz 200 with the broker back")
    assert body["mqtt"]["subscribed"] == 2, body


def test_metrics_method_and_type():
    code, body = call(ga, "POST", "/metrics")
    assert code == 405, (code, body)
    code, body = call(ga, "POST", "/healthz")
    assert code == 405, (code, body)


for t in (test_gauges_and_latencies, test_healthz_backlog_pages_then_clears,
          test_healthz_mqtt_down_and_back, test_metrics_method_and_type):
    runner.run(t)
st.close()
good.close()
bad.close()
ga.stop()
runner.finish()
