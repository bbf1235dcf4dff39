"""Measures, on AutoFailover (pgcluster.py), what the failover test does not:
a client committing one row per transaction on the multi-host URL while
(1) the standby's machine is killed, (2) the monitor's machine is killed.
Prints the longest COMMIT and the commits done in the next seconds; asserts
nothing timed. Not a ctest test (it adds two formations to the run):
    /usr/bin/python3 tests/integration/measure_pgcluster.py
GA_PGAF_DEFAULT_TIMEOUTS=1 keeps pg_auto_failover's default timeouts."""
import os
import time

import pgcluster

FAST = os.environ.get("GA_PGAF_DEFAULT_TIMEOUTS") != "1"
WINDOW = 15.0 if FAST else 60.0  # s of commits after the kill


def stream(af, kill, window):
    """Commits for 2 s, kills, commits for window s (bounded); returns
    (longest commit after the kill, commits after the kill, the standby
    names on the primary at the end)."""
    c = pgcluster.connect(af.url())
    cur = c.cursor()
    # the bound on a stalled COMMIT (it would return with a WARNING, the
    # row committed on the primary only: see it as a 120 s longest)
    cur.execute("SET statement_timeout = '120s'")
    cur.execute("CREATE TABLE IF NOT EXISTS m (id serial PRIMARY KEY)")
    c.commit()
    t_end = time.monotonic() + 2
    while time.monotonic() < t_end:
        cur.execute("INSERT INTO m DEFAULT VALUES")
        c.commit()
    t_kill = kill()
    longest, n = 0.0, 0
    while time.monotonic() < t_kill + window:
        t = time.monotonic()
        cur.execute("INSERT INTO m DEFAULT VALUES")
        c.commit()  # a stall is what is measured
        longest = max(longest, time.monotonic() - t)
        n += 1
    c.close()
    return longest, n, af.sync_standby_names()


for what in ("standby", "monitor"):
    af = pgcluster.AutoFailover(fast=FAST)
    try:
        name = "node2" if what == "standby" else "monitor"
        longest, n, names = stream(af, lambda: af.kill9_node(name), WINDOW)
        states = af.states() if what == "standby" else "(monitor gone)"
        print("%s killed (%s timeouts): longest COMMIT after it %.1f s; %d commits in the %.0f s "
              "after; synchronous_standby_names then %r; monitor: %s" %
              (what, "lowered" if FAST else "default", longest, n, WINDOW, names, states),
              flush=True)
    finally:
        af.stop()
