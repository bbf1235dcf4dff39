"""The PostgreSQL rigs of pgcluster.py, tested through psycopg2 before
geoalert runs on them (issue 12 test 4 is built on AutoFailover):

- Postgres: a row committed survives kill -9 of the whole server;
- AutoFailover: with a synchronous standby, kill -9 of the primary's
  machine (postgres and its keeper) in the middle of a stream of
  single-row commits loses no row whose COMMIT returned, and a client on
  the multi-host URL (target_session_attrs=read-write) writes again on the
  promoted standby by itself. Prints kill -> first write on the new
  primary; no timed assertion (the machine is noisy).

GA_PGAF_DEFAULT_TIMEOUTS=1 keeps pg_auto_failover's default detection and
promotion timeouts (the figures an operator gets; about a minute) instead
of the lowered ones the test uses."""
import os
import threading
import time

import psycopg2

import pgcluster
from harness import Runner

runner = Runner()
FAST = os.environ.get("GA_PGAF_DEFAULT_TIMEOUTS") != "1"
KILL_AFTER = 300  # acknowledged commits before the kill
AFTER_KILL = 50  # commits on the new primary before the writer stops
WRITER_DEADLINE = 150.0  # s, the whole stream, kill and failover included


def test_postgres_single_survives_kill9():
    pg = pgcluster.Postgres(name="pgsingle")
    try:
        c = pg.connect()
        cur = c.cursor()
        cur.execute("CREATE TABLE t (id int PRIMARY KEY, body text NOT NULL)")
        for i in range(200):
            cur.execute("INSERT INTO t VALUES (%s, %s)", (i, "row %d" % i))
        c.commit()
        c.close()
        pg.kill9()
        try:
            pg.connect(timeout=2).close()
            raise AssertionError("postgres still answers after kill9")
        except psycopg2.OperationalError:
            pass
        pg.start()
        c = pg.connect()
        cur = c.cursor()
        cur.execute("SELECT count(*), min(id), max(id) FROM t")
        assert cur.fetchone() == (200, 0, 199)
        c.close()
        pg.stop()
        pg.start()
        pg.connect().close()
    finally:
        pg.destroy()
    assert not os.path.exists(pg.dir)


class Writer(threading.Thread):
    """Inserts ids 0, 1, 2... one transaction each on the multi-host URL;
    on an error reconnects (bounded) and goes on with the next id. acked:
    (id, monotonic time the COMMIT returned, server port) per COMMIT that
    returned; in_doubt: the ids whose COMMIT was sent and failed (the
    server may or may not have it). Stops after AFTER_KILL commits on a
    server other than the first one (the promoted standby)."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.acked = []
        self.in_doubt = []
        self.errors = []
        self.first_port = None
        self.stop_reason = None

    def run(self):
        deadline = time.monotonic() + WRITER_DEADLINE
        conn = port = None
        i = moved = 0
        while time.monotonic() < deadline:
            if conn is None:
                try:
                    conn = pgcluster.connect(self.url, timeout=2)
                    cur = conn.cursor()
                    cur.execute("SELECT inet_server_port()")
                    port = cur.fetchone()[0]
                    conn.rollback()
                    if self.first_port is None:
                        self.first_port = port
                except psycopg2.Error as e:
                    self.errors.append(str(e).strip().splitlines()[0])
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.1)
                    continue
            try:
                cur = conn.cursor()
                cur.execute("INSERT INTO t (id) VALUES (%s)", (i,))
            except psycopg2.Error as e:
                self.errors.append(str(e).strip().splitlines()[0])
                conn.close()
                conn = None
                i += 1  # the INSERT never committed: skip the id, not in doubt
                continue
            try:
                conn.commit()
            except psycopg2.Error as e:
                self.errors.append(str(e).strip().splitlines()[0])
                self.in_doubt.append(i)
                conn.close()
                conn = None
                i += 1
                continue
            self.acked.append((i, time.monotonic(), port))
            i += 1
            if port != self.first_port:
                moved += 1
                if moved >= AFTER_KILL:
                    self.stop_reason = "done"
                    break
        else:
            self.stop_reason = "deadline"
        if conn is not None:
            conn.close()


def test_failover_loses_no_acknowledged_commit():
    t0 = time.monotonic()
    af = pgcluster.AutoFailover(fast=FAST)
    print("pg_auto_failover formation up in %.1f s (monitor + primary + standby); %s" %
          (time.monotonic() - t0, "lowered timeouts" if FAST else "default timeouts"),
          flush=True)
    try:
        # a COMMIT waits for the standby: quorum replication to it is on
        names = af.sync_standby_names()
        assert names.startswith("ANY 1 ("), names
        c = pgcluster.connect(af.node_url(af.primary))
        c.autocommit = True
        cur = c.cursor()
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == "on"
        cur.execute("SELECT sync_state FROM pg_stat_replication")
        assert [r[0] for r in cur.fetchall()] == ["quorum"]
        cur.execute("CREATE TABLE t (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())")
        c.close()

        w = Writer(af.url())
        w.start()
        deadline = time.monotonic() + 60
        while len(w.acked) < KILL_AFTER and w.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(w.acked) >= KILL_AFTER, (len(w.acked), w.errors[-3:])
        acked_before = len(w.acked)
        t_kill = af.kill9_primary()
        t_promoted = af.wait_promoted(timeout=120 if FAST else 240)
        w.join(timeout=WRITER_DEADLINE + 10)
        assert not w.is_alive(), "writer still running"
        assert w.stop_reason == "done", (w.stop_reason, w.errors[-3:])
        assert w.first_port == af.ports["node1"], (w.first_port, af.ports)
        new_port = af.ports[af.primary]
        first_new = min(t for _, t, port in w.acked if port == new_port)
        assert first_new > t_kill
        print("kill -9 of the primary after %d commits: monitor shows the standby promoted "
              "and writable after %.1f s; first commit on the multi-host URL after %.1f s; "
              "%d commits acknowledged in all, %d in doubt, %d client errors (first: %s)" %
              (acked_before, t_promoted - t_kill, first_new - t_kill, len(w.acked),
               len(w.in_doubt), len(w.errors), w.errors[:1]), flush=True)

        # every acknowledged row is on the new primary; nothing else but
        # the commits in doubt (at most the one in flight at the kill)
        c = pgcluster.connect(af.url())
        cur = c.cursor()
        cur.execute("SELECT pg_is_in_recovery(), inet_server_port()")
        assert cur.fetchone() == (False, af.ports[af.primary])
        cur.execute("SELECT id FROM t")
        ids = {r[0] for r in cur.fetchall()}
        c.close()
        acked = {i for i, _, _ in w.acked}
        assert len(acked) == len(w.acked)
        missing = sorted(acked - ids)
        assert not missing, "acknowledged commits lost: %d, first %s" % (len(missing),
                                                                          missing[:10])
        extra = ids - acked
        assert extra <= set(w.in_doubt), sorted(extra - set(w.in_doubt))[:10]
        assert len(w.in_doubt) <= 1, w.in_doubt
        assert len(ids) == len(acked) + len(extra)
    except BaseException:
        print(af.logs_tail(), flush=True)
        raise
    finally:
        af.stop()
    assert not os.path.exists(af.dir)


for t in (test_postgres_single_survives_kill9, test_failover_loses_no_acknowledged_commit):
    runner.run(t)
runner.finish()
