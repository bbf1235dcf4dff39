#!/usr/bin/env python3
"""ga_fill.py - fills a geoalert database with many rows, fast, for the
benchmarks of issue 15 ("At scale"; tests/bench/scale.sh,
docs/benchmarks.md "Under abuse").

    ga_fill.py DB [--reports N] [--rejected N] [--incidents N]
               [--alerts N] [--channels N] [--old-every K] [--days D]
               [--age-days A]

DB is a SQLite file or a postgresql:// URL (psycopg2; the integration
tests under GA_TEST_STORE=pg). It must exist with geoalert's schema (made by `geoalert officer add` or a
first `geoalert serve`); the tables are filled directly, in one
transaction, the way the writer and the delivery worker would have left
them: N reports with a realistic raw payload (about 400 bytes), received
over the last D days (default 1: the worst case for a gauge of "the last
24 h"), ending A days ago (default 0: now), and spread over the incidents; one in K of them observed 8 days
before it arrived (flagged old), counted in the summary rows when the
schema has them; rejected payloads; incidents, most idle for a month;
published alerts, each with a delivery per channel (delivered, some
failed). Prints one JSON line: the counts and the seconds it took.

Not a test: a tool. Rows are made up; they satisfy the schema's checks
and foreign keys, nothing more."""
import argparse
import json
import sqlite3
import sys
import time

DAY_MS = 86400 * 1000


class PgDb:
    """The few calls of sqlite3's connection used here, on PostgreSQL:
    ? placeholders become %s; BEGIN/COMMIT as written."""

    def __init__(self, url):
        import psycopg2
        self.con = psycopg2.connect(url, connect_timeout=10)
        self.con.autocommit = True  # BEGIN and COMMIT are sent as statements
        self.cur = self.con.cursor()

    def execute(self, sql, args=None):
        self.cur.execute(sql.replace("?", "%s") if args is not None else sql, args)
        return self.cur.fetchall() if self.cur.description else []

    def executemany(self, sql, rows):
        self.cur.executemany(sql.replace("?", "%s"), list(rows))

    def close(self):
        self.con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--reports", type=int, default=1000000)
    ap.add_argument("--rejected", type=int, default=100000)
    ap.add_argument("--incidents", type=int, default=5000)
    ap.add_argument("--alerts", type=int, default=2000)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--old-every", type=int, default=100)
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--age-days", type=float, default=0.0)
    ap.add_argument("--station-prefix", default="FILL")
    a = ap.parse_args()
    if a.incidents < 1 or a.reports < 0 or a.old_every < 1 or a.days <= 0:
        sys.exit("ga_fill.py: bad counts")

    t0 = time.monotonic()
    pg = a.db.startswith(("postgresql://", "postgres://"))
    if pg:
        db = PgDb(a.db)
        tables = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables"
                                           " WHERE table_schema = current_schema()")}
    else:
        db = sqlite3.connect(a.db, isolation_level=None)
        db.execute("PRAGMA synchronous = OFF")  # a bench fixture: speed over durability
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "reports" not in tables:
        sys.exit("ga_fill.py: %s has no geoalert schema" % a.db)
    now = int(time.time() * 1000) - int(a.age_days * DAY_MS)
    span = int(a.days * DAY_MS)
    db.execute("BEGIN")

    # Incidents: the last 50 active (updated now), the rest idle a month.
    inc = ["FILL-%06d" % i for i in range(a.incidents)]

    def incidents():
        for i, iid in enumerate(inc):
            upd = now - (30 * DAY_MS if i < a.incidents - 50 else 60000)
            yield (iid, "landslide", "FILLHP%06d" % i, 118.6, 32.05, "320111",
                   upd - DAY_MS, upd, upd - DAY_MS, upd, 0, i % 4, 1, 1)
    db.executemany(
        "INSERT INTO incidents (id, hazard_type, hazard_point_id, lon, lat, admin_code,"
        " first_observed_ms, last_observed_ms, created_ms, updated_ms, has_disaster, level,"
        " nreports, open) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", incidents())

    pad = "（填充）" * 20
    minutes = {}

    def reports():
        for i in range(a.reports):
            recv = now - span + (span * i) // max(a.reports, 1)
            old = i % a.old_every == 0
            obs = recv - (8 * DAY_MS if old else 30000)
            if old:
                m = recv // 60000 * 60000
                minutes[m] = minutes.get(m, 0) + 1
            st = "%s-%04d" % (a.station_prefix, i % 500)
            rid = "fill-%d" % i
            raw = json.dumps({"schema": "geohazard.report/1", "report_id": rid,
                              "station_id": st, "kind": "danger",
                              "hazard_type": "landslide", "place": pad,
                              "observed_at": "2026-01-01T00:00:00+08:00"},
                             ensure_ascii=False).encode()
            yield (st, rid, "geohazard/v1/reports/" + st, raw, recv, obs, 480, "danger",
                   "landslide", 118.6, 32.05, "320111", "FILLHP", pad, "", "", "",
                   inc[i % a.incidents], i % 4)
    db.executemany(
        "INSERT INTO reports (station_id, report_id, topic, raw, received_ms, observed_ms,"
        " observed_offset_min, kind, hazard_type, lon, lat, admin_code, hazard_point_id,"
        " place, causes, trend, measures, incident_id, level)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", reports())
    if "report_counts" in tables:
        db.executemany(
            "INSERT INTO report_counts (what, minute_ms, n) VALUES ('old_observed', ?, ?)"
            " ON CONFLICT (what, minute_ms) DO UPDATE SET n = report_counts.n + excluded.n",
            sorted(minutes.items()))

    def rejected():
        for i in range(a.rejected):
            recv = now - span + (span * i) // max(a.rejected, 1)
            yield ("geohazard/v1/reports/X", b'{"schema": "nope"}' + pad.encode(), recv,
                   '[{"path":"/schema","code":"invalid","message":"x"}]')
    db.executemany("INSERT INTO rejected (topic, raw, received_ms, reasons) VALUES (?,?,?,?)",
                   rejected())

    def drafts():
        for i in range(min(a.alerts, a.incidents)):
            t = now - 30 * DAY_MS
            yield (inc[i], 1, "alert", "published", 2, "danger", "landslide", "h", "s", "c",
                   "r", "t", t, t, t, t)
    db.executemany(
        "INSERT INTO alert_drafts (alert_id, version, msg_type, state, level, kind,"
        " hazard_type, headline, situation, causes, response, trend, observed_ms,"
        " created_ms, confirmed_ms, published_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        drafts())

    ndeliveries = 0

    def deliveries():
        nonlocal ndeliveries
        for i in range(min(a.alerts, a.incidents)):
            for c in range(a.channels):
                t = now - 30 * DAY_MS
                ndeliveries += 1
                yield (inc[i], 1, "alert", "ch%d" % c,
                       "failed" if (i + c) % 97 == 0 else "delivered", 1, t, t,
                       "%s:1" % inc[i], t, t)
    db.executemany(
        "INSERT INTO deliveries (alert_id, version, msg_type, channel, state, attempts,"
        " next_attempt_ms, deadline_ms, idem_key, created_ms, delivered_ms)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)", deliveries())
    db.execute("COMMIT")
    if not pg:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(json.dumps({"reports": a.reports, "rejected": a.rejected, "incidents": a.incidents,
                      "alerts": min(a.alerts, a.incidents), "deliveries": ndeliveries,
                      "old_observed": sum(minutes.values()),
                      "seconds": round(time.monotonic() - t0, 1)}))


if __name__ == "__main__":
    main()
