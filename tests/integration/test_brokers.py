# ga-test-backends: sqlite pg
"""Two brokers (issue 12, test 3; spec §10): [mqtt] url names both, and
geoalert keeps its sessions on each. Stations are split between the
brokers; mid-stream the second broker is killed with -9 for good and its
stations move to the first, publishing again every report they had no
receipt for, then go on there. Then:

- every report is stored exactly once, nothing is lost;
- every report is answered on the broker its station listens on:
  `accepted`, or `duplicate` for a report stored before the broker died
  (its first copy came in on the dead broker); nothing is rejected;
- while the second broker is down the instance stays healthy (every
  session on the first broker subscribed) and says which broker is down
  (/healthz "warnings" and brokers, /metrics per broker);
- the session registry knows each session's broker;
- the receipts left in the outbox for the dead broker (made sure of: just
  before the kill the store is held while reports come in, and broker 2
  frozen before they commit) are recorded with it; once it is taken out of
  [mqtt] url, the next start sends them on broker 1, where the moved
  stations get them.

On PostgreSQL two instances share the database and both brokers. Prints
the time from the kill to the moved stations' first receipt
(docs/high-availability.md). Every wait is bounded."""
import os
import re
import signal
import time

import flows
from harness import (STORE, Broker, Geoalert, Runner, Station, report, tmpdir, wait_until)

N_STATIONS = 40
N_REPORTS = 1200
KILL_AT = N_REPORTS // 2
WINDOW = 100  # reports a station client keeps unacknowledged at its broker
# Paced below what an ASan build stores, so the time from the kill to the
# moved stations' first receipt is the failover's, not a queue's.
PACE_S = 0.02
HOLD_N = 40  # reports read while the store is held, just before the kill

runner = Runner()

d = tmpdir("brokers")
stations = []
for i in range(N_STATIONS):
    c, r = i % 10, i // 10
    stations.append(("BR-%04d" % i, 118.602 + c * (0.056 / 9), 32.042 + r * (0.030 / 3)))
registry = os.path.join(d, "stations.geojson")
# 20 people each: small incidents, no drafts to wait for
flows.write_registry(registry, stations, "多代理测试", "3201119", people=20)
# stations 0..19 on broker 1, 20..39 on broker 2
ON_MQ2 = {sid for k, (sid, _, _) in enumerate(stations) if k >= N_STATIONS // 2}

mq1 = Broker().start()
mq2 = Broker().start()
URLS = "mqtt://127.0.0.1:%d mqtt://127.0.0.1:%d" % (mq1.port, mq2.port)


def instance(name, store_url=None):
    extra = {"mqtt": {"url": URLS}}
    if STORE == "pg":
        # not about takeovers: long enough that a loaded machine never makes
        # one (a heartbeat late by seconds)
        extra["cluster"] = {"instance": name, "takeover_after": "60"}
        # one pair of keys for all instances (spec §10): made by the first
        extra["alerts"] = {"signing_key_file": os.path.join(d, "signing-key.pem"),
                           "cap_signing_key_file": os.path.join(d, "cap-key.pem")}
    ga = Geoalert(mq1, stations=registry, sessions=2, name=name, extra=extra,
                  store_url=store_url)
    ga.sections["mqtt"]["client_id"] = "ga-brokers"  # the same on all: made unique on pg
    ga.write_config()
    return ga


a = instance("node-a").start()
nodes = [a]
if STORE == "pg":
    nodes.append(instance("node-b", store_url=a.url).start())



_moved = []  # the moved stations' client, for the next test


def metric(ga, name, broker_url):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % ga.http_port, timeout=10) as r:
        text = r.read().decode()
    m = re.search(r'^%s\{broker="%s"\} (\S+)$' % (name, re.escape(broker_url)), text, re.M)
    assert m, "%s for %s not in /metrics" % (name, broker_url)
    return float(m.group(1))


class TimedStation(Station):
    """A Station that notes when each receipt came (time.monotonic)."""

    def _on_message(self, client, userdata, msg):
        t = time.monotonic()
        super()._on_message(client, userdata, msg)
        with self.lock:
            self.all[-1]["_t"] = t


def station_of(receipt):
    return receipt["_topic"].rsplit("/", 1)[-1]


def test_sessions_on_each_broker():
    for ga in nodes:
        ga.wait_healthy()  # 200 once one broker has all its sessions
        body = wait_until(lambda: (lambda b: b if b["mqtt"]["subscribed"] == 4 else None)(
            ga.get("/healthz")[1]), 20, "every session on both brokers")
        urls = [b["url"] for b in body["mqtt"]["brokers"]]
        assert urls == URLS.split(), body
        assert all(b["sessions"] == 2 and b["subscribed"] == 2
                   for b in body["mqtt"]["brokers"]), body
        assert body["warnings"] == [] and body["problems"] == [], body
    rows = a.query("SELECT broker, client_id FROM mqtt_sessions ORDER BY broker, client_id")
    want = sorted((u, "%s-%d" % (ga.mqtt_client_id(), i))
                  for u in URLS.split() for ga in nodes for i in range(2))
    assert sorted(rows) == want, rows


def test_one_broker_killed_its_stations_move():
    st1 = Station(mq1)  # the stations of broker 1, for the whole test
    st2 = Station(mq2)  # the stations of broker 2, until it dies
    ids = {}  # report id -> station
    infos = {1: [], 2: []}
    t0 = time.monotonic()
    for i in range(KILL_AT):
        sid = stations[i % N_STATIONS][0]
        rid = "br-%05d" % i
        ids[rid] = sid
        k = 2 if sid in ON_MQ2 else 1
        infos[k].append((st2 if k == 2 else st1).publish(sid, report(sid, rid), wait=False))
        if len(infos[k]) > WINDOW:
            infos[k][-WINDOW - 1].wait_for_publish(timeout=30)
        time.sleep(PACE_S)
    # Broker 2 dies mid-stream (its last WINDOW reports in flight), for
    # good. Just before, receipts are made to be left for it: the store is
    # held while HOLD_N more reports come in (read, waiting for their
    # commit), broker 2 is frozen, the store let go: the commits go
    # through, and their receipts to broker 2 are never acknowledged.
    release = a.hold_writes()
    for i in range(KILL_AT, KILL_AT + HOLD_N):
        sid = stations[i % N_STATIONS][0]
        rid = "br-%05d" % i
        ids[rid] = sid
        (st2 if sid in ON_MQ2 else st1).publish(sid, report(sid, rid), wait=False)
        time.sleep(PACE_S)
    mq2.proc.send_signal(signal.SIGSTOP)
    release()
    time.sleep(1.0)
    mq2.proc.kill()
    mq2.proc.wait()
    killed = time.monotonic()
    st2.client.loop_stop()
    # Its stations move to broker 1 and publish again what they had no
    # receipt for.
    moved = TimedStation(mq1)
    _moved.append(moved)
    with st2.lock:
        answered_before = set(st2.receipts)
    again = sorted(rid for rid, sid in ids.items() if sid in ON_MQ2 and rid not in answered_before)
    for rid in again:
        moved.publish(ids[rid], report(ids[rid], rid), wait=False)
    # ... and go on there, with the others.
    for i in range(KILL_AT + HOLD_N, N_REPORTS):
        sid = stations[i % N_STATIONS][0]
        rid = "br-%05d" % i
        ids[rid] = sid
        info = (moved if sid in ON_MQ2 else st1).publish(sid, report(sid, rid), wait=False)
        infos[1].append(info)
        if len(infos[1]) > WINDOW:
            infos[1][-WINDOW - 1].wait_for_publish(timeout=30)
        time.sleep(PACE_S)
    last_publish = time.monotonic()
    print("  published %d reports in %.1f s; broker 2 killed after %d; %d published again"
          % (N_REPORTS, last_publish - t0, KILL_AT + HOLD_N, len(again)), flush=True)

    # While broker 2 is down: healthy on broker 1, and it says which is down.
    for ga in nodes:
        code, body = ga.get("/healthz")
        assert code == 200, (code, body)
        assert body["warnings"] == ["mqtt"] and body["problems"] == [], body
        b1, b2 = body["mqtt"]["brokers"]
        assert (b1["subscribed"], b2["subscribed"]) == (2, 0), body
        assert metric(ga, "geoalert_mqtt_broker_subscribed", b1["url"]) == 2
        assert metric(ga, "geoalert_mqtt_broker_subscribed", b2["url"]) == 0

    def receipts_for(client, mine):
        """report id -> its receipts on client, for the stations in mine."""
        out = {}
        with client.lock:
            for rc in client.all:
                if station_of(rc) in mine:
                    out.setdefault(rc["report_id"], []).append(rc)
        return out

    mq1_stations = {sid for sid, _, _ in stations} - ON_MQ2

    def answered():
        got = set(receipts_for(st1, mq1_stations))
        got |= answered_before
        got |= set(receipts_for(moved, ON_MQ2))
        return set(ids) <= got

    try:
        wait_until(answered, 120, "a receipt for every report")
    finally:
        print("  all answered %.1f s after the last publish"
              % (time.monotonic() - last_publish), flush=True)
    # kill -> the moved stations' first receipt (docs/high-availability.md)
    with moved.lock:
        t_first = min(rc["_t"] for rc in moved.all if station_of(rc) in ON_MQ2)
    print("  broker 2 killed -> first receipt to a moved station: %.2f s" % (t_first - killed),
          flush=True)

    # Stored exactly once each.
    n, distinct = a.query("SELECT count(*), count(DISTINCT report_id) FROM reports"
                          " WHERE report_id LIKE 'br-%'")[0]
    assert (n, distinct) == (N_REPORTS, N_REPORTS), (n, distinct)
    assert a.query("SELECT count(*) FROM rejected")[0][0] == 0

    # Every receipt accepted or duplicate. A duplicate says the report was
    # stored from another copy: the one a moved station sent to broker 2
    # before it died (a report it published again), or a copy the broker
    # delivered again (then that copy's receipt said accepted, on the same
    # broker: receipts are not lost on a live one).
    statuses = {}
    for client, mine in ((st1, mq1_stations), (moved, ON_MQ2)):
        for rid, rcs in receipts_for(client, mine).items():
            for rc in rcs:
                statuses[rc["status"]] = statuses.get(rc["status"], 0) + 1
                assert rc["status"] in ("accepted", "duplicate"), rc
                if rc["status"] == "duplicate":
                    assert rid in again or any(r["status"] == "accepted" for r in rcs), rcs
    with st2.lock:
        for rcs in st2.receipts.values():
            for rc in rcs:
                assert rc["status"] == "accepted", rc
    print("  receipts by status:", statuses, "(before the kill on broker 2: %d)"
          % len(answered_before), flush=True)
    # The moved stations' reports after the move, and those they sent
    # again that were not stored before: accepted.
    later = receipts_for(moved, ON_MQ2)
    for rid, sid in ids.items():
        if sid in ON_MQ2 and int(rid[3:]) >= KILL_AT + HOLD_N:
            assert any(rc["status"] == "accepted" for rc in later[rid]), later.get(rid)
    assert statuses.get("duplicate", 0) > 0, statuses  # the held ones at least
    st1.close()


def test_receipts_left_for_the_dead_broker_reach_the_moved_stations():
    """The outbox records each receipt's broker: those committed for
    broker 2 and never acknowledged by it wait for it. Named out of [mqtt]
    url, it is no longer known: at the next start they go on every broker
    (the moved stations listen on broker 1) and leave the outbox."""
    moved = _moved[0]
    # broker 1's acknowledgements of the last receipts clear their rows
    wait_until(lambda: a.query("SELECT count(*) FROM outbox WHERE broker = ?",
                               (URLS.split()[0],))[0][0] == 0, 30, "broker 1's receipts acked")
    left = a.query("SELECT broker, topic, payload FROM outbox")
    assert left and all(b == URLS.split()[1] for b, _, _ in left), left
    print("  %d receipts left in the outbox for broker 2" % len(left), flush=True)
    for ga in nodes:
        ga.stop()
    import json
    want = {}
    for _, topic, payload in left:
        want[json.loads(payload)["report_id"]] = json.loads(payload)["status"]
    # Started again with broker 2 still named and still dead: serving on
    # broker 1 at once; its receipts wait in the table for it.
    for ga in nodes:
        ga.start()
        code, body = ga.get("/healthz")
        assert code == 200 and body["warnings"] == ["mqtt"], (code, body)
    time.sleep(2)
    n = a.query("SELECT count(*) FROM outbox WHERE broker = ?", (URLS.split()[1],))[0][0]
    assert n == len(left), (n, len(left))
    for ga in nodes:
        assert ga.stop() == 0
    with moved.lock:
        before = {rid: len(rcs) for rid, rcs in moved.receipts.items()}
    for ga in nodes:
        ga.sections["mqtt"]["url"] = URLS.split()[0]
        ga.write_config()
        ga.start()
    wait_until(lambda: a.query("SELECT count(*) FROM outbox WHERE broker = ?",
                               (URLS.split()[1],))[0][0] == 0,
               30, "the receipts left for broker 2 sent")
    for rid, status in want.items():
        rc = moved.wait_receipt(rid, timeout=15, count=before.get(rid, 0) + 1)
        assert rc["status"] == status, (rc, status)
    moved.close()


for t in (test_sessions_on_each_broker, test_one_broker_killed_its_stations_move,
          test_receipts_left_for_the_dead_broker_reach_the_moved_stations):
    runner.run(t)
for ga in nodes:
    ga.stop()
mq1.stop()
runner.finish()
