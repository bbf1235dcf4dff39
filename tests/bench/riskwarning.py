"""Risk warning benchmark (issue 14; docs/benchmarks.md "Risk warnings").

A product covering every county of the bundled regions (all 13 city
codes, levels red/orange/yellow/blue by city), against the real broker
and daemon (GEOALERT: use a Release build), every loop bounded:

- intake -> listed: POST /api/v1/riskwarnings, then GET
  /api/v1/riskwarnings?state=pending until it is listed; N products;
- intake (MQTT) -> listed: the product published on
  geohazard/v1/riskwarnings/{issuer} (QoS 1), then GET ?state=pending
  until it is listed; N products;
- confirm -> published: the second officer's confirm (the request that
  publishes); N products;
- the CAP of the product: its size and GET /warnings/{id}.xml (render +
  XML signature) time; the HTML page's size and time; also the first GET
  of each product's CAP (a render each: the server keeps the last 8);
- confirm -> portal: from just before the publishing confirm to the
  arrival of the product at a portal stand-in (endpoints.Endpoint,
  answering 201); N products.

Prints the figures; asserts nothing about time (the machine is noisy).
Usage: GA_SOURCE_DIR=. GEOALERT=build/ci/geoalert python3 tests/bench/riskwarning.py [N]
"""
import datetime
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import flows  # noqa: E402
from endpoints import Endpoint  # noqa: E402
from harness import Broker, Geoalert, Station, secret_file, tmpdir  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
TZ = datetime.timezone(datetime.timedelta(hours=8))
LEVELS = ["red", "orange", "yellow", "blue"]
ISSUER = "BENCH-QXJ"


def when(s):
    return (datetime.datetime.now(TZ) + datetime.timedelta(seconds=s)).isoformat(
        timespec="seconds")


def product(pid):
    areas = {}
    for c in range(1, 14):
        areas.setdefault(LEVELS[c % 4], []).append("32%02d" % c)
    return {"schema": "geohazard.riskwarning/1", "product_id": pid, "issued_at": when(0),
            "valid_from": when(3600), "valid_to": when(25 * 3600),
            "issuers": ["江苏省自然资源厅", "江苏省气象局"],
            "areas": [{"level": lv, "admin_codes": codes} for lv, codes in areas.items()],
            "rain_summary": "预计全省有大到暴雨。", "advice": "请加强巡查。", "supersedes": None}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def show(name, xs):
    print("%-24s n=%d p50=%.1f ms p99=%.1f ms max=%.1f ms" % (
        name, len(xs), pct(xs, 50), pct(xs, 99), max(xs)))


def main():
    broker = Broker(persistence=False).start()
    portal = Endpoint()  # records every POST, answers 200
    ga = Geoalert(broker, extra={"riskwarning": {"issuers": ISSUER}, "channel.portal": {
        "type": "portal", "url": portal.url("/api/alerts"),
        "token_file": secret_file(tmpdir("bench-rw"), "portal", "bench-portal")}})
    t1 = flows.officer(ga, "b1", "duty_officer")
    t2 = flows.officer(ga, "b2", "duty_officer")
    ga.start()
    st = Station(broker)
    # The publisher's own Nagle would hold the product's last segment for
    # the broker's delayed ACK (40 ms on Linux): a property of this
    # Python client, not of geoalert (mosquitto and libmosquitto set
    # TCP_NODELAY). Off, so the figure is the intake's.
    sock = st.client.socket()
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listed, confirmed, at_portal, mqtt_listed, first_cap = [], [], [], [], []
    try:
        for i in range(N):
            pid = "BENCH-%04d" % i
            t0 = time.perf_counter()
            code, body = flows.call(ga, "POST", "/api/v1/riskwarnings", t1, product(pid))
            assert code == 201, body
            for _ in range(1000):  # bounded
                code, body = flows.call(ga, "GET", "/api/v1/riskwarnings?state=pending", t1)
                if any(it["product_id"] == pid for it in body["items"]):
                    break
            else:
                raise AssertionError("never listed")
            listed.append((time.perf_counter() - t0) * 1000)
            assert flows.call(ga, "POST", "/api/v1/riskwarnings/%s/confirm" % pid, t1)[0] == 200
            t0, m0 = time.perf_counter(), time.monotonic()
            code, body = flows.call(ga, "POST", "/api/v1/riskwarnings/%s/confirm" % pid, t2)
            confirmed.append((time.perf_counter() - t0) * 1000)
            assert code == 200 and body["published"], body
            key = "%s:1" % pid
            rec = portal.wait(lambda r: r["headers"].get("idempotency-key") == key, 30)
            at_portal.append((rec[0]["t"] - m0) * 1000)
        for i in range(N):
            pid = "BENCH-MQTT-%04d" % i
            payload = json.dumps(product(pid), ensure_ascii=False).encode()
            t0 = time.perf_counter()
            st.client.publish("geohazard/v1/riskwarnings/%s" % ISSUER, payload, qos=1)
            for _ in range(5000):  # bounded
                code, body = flows.call(ga, "GET", "/api/v1/riskwarnings?state=pending", t1)
                if any(it["product_id"] == pid for it in body["items"]):
                    break
            else:
                raise AssertionError("never listed")
            mqtt_listed.append((time.perf_counter() - t0) * 1000)
        for i in range(N):
            t0 = time.perf_counter()
            code, _, xml = flows.request(ga, "GET", "/warnings/BENCH-%04d.xml" % i)
            first_cap.append((time.perf_counter() - t0) * 1000)
            assert code == 200, (i, code, xml[:300])
        cap, page = [], []
        for _ in range(50):
            t0 = time.perf_counter()
            code, _, xml = flows.request(ga, "GET", "/warnings/BENCH-0000.xml")
            cap.append((time.perf_counter() - t0) * 1000)
            assert code == 200
            t0 = time.perf_counter()
            code, _, html = flows.request(ga, "GET", "/warnings/BENCH-0000")
            page.append((time.perf_counter() - t0) * 1000)
            assert code == 200
        counties = len(json.loads(flows.request(ga, "GET", "/warnings/BENCH-0000.json")[2])
                       ["levels"][0]["counties"])
        print("product: %d city codes, public levels red/orange/yellow (blue internal)" % 13)
        show("intake -> listed", listed)
        show("intake (MQTT) -> listed", mqtt_listed)
        show("confirm -> published", confirmed)
        show("confirm -> portal", at_portal)
        show("GET .xml (CAP, signed)", cap)
        show("first GET .xml (render)", first_cap)
        show("GET page (HTML + map)", page)
        print("CAP %d bytes (%d <info>, %d <geocode>, %d <polygon>); page %d bytes; "
              "first level %d counties" % (len(xml), xml.count(b"<info>"),
                                           xml.count(b"<geocode>"), xml.count(b"<polygon>"),
                                           len(html), counties))
    finally:
        st.close()
        ga.stop()
        broker.stop()
        portal.close()


main()
