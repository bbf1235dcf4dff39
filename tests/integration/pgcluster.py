"""Throwaway PostgreSQL for the integration tests (spec §10, issue 12).

Postgres      one cluster: initdb in a temp folder, 127.0.0.1 and a free port,
              its unix socket in the temp folder, trust auth (loopback only),
              start / stop / kill9, a database created.
AutoFailover  pg_auto_failover on loopback: a monitor, a primary and a
              synchronous standby, each its own data folder and free port;
              kill9_primary() takes the primary's machine away for good,
              wait_promoted() waits until the standby took over.

PostgreSQL refuses to run as root: when the tests run as root (CI), every
server runs as the system user geoalert-test (created with useradd if
missing) and the temp folders are given to it. Every wait is bounded;
every process started here is killed and every folder removed at exit, a
failed test included. Stdlib and psycopg2 (Debian python3-psycopg2) only."""
import atexit
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import psycopg2

from harness import free_port

PGBIN = os.environ.get("GA_PGBIN", "/usr/lib/postgresql/15/bin")
PG_AUTOCTL = os.environ.get("GA_PG_AUTOCTL", "/usr/bin/pg_autoctl")
TEST_USER = "geoalert-test"

_live = []  # every Postgres / AutoFailover not yet destroyed


def _cleanup():
    for c in list(_live):
        c.destroy()


atexit.register(_cleanup)


def _user():
    """(uid, gid, name) the servers run as: ourselves, or geoalert-test
    when we are root (created here the first time)."""
    if os.geteuid() != 0:
        pw = pwd.getpwuid(os.geteuid())
        return pw.pw_uid, pw.pw_gid, pw.pw_name
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", TEST_USER],
                       check=True, timeout=30)
        pw = pwd.getpwnam(TEST_USER)
    return pw.pw_uid, pw.pw_gid, pw.pw_name


def _traversable(path):
    """Whether every folder from / to path lets others through (o+x)."""
    path = os.path.abspath(path)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


def _mkdir_for(user, name):
    """A fresh temp folder (0700) owned by the servers' user, in a place
    that user can reach (a root-only TMPDIR would not do: then /tmp); the
    path stays short, the unix socket's path has a 107-byte cap."""
    base = tempfile.gettempdir()
    if user[0] != os.geteuid() and not _traversable(base):
        base = "/tmp"
    d = tempfile.mkdtemp(prefix="ga-%s-" % name, dir=base)
    os.chown(d, user[0], user[1])
    return d


def _popen_as(user, args, log, env=None):
    """Starts args as user in a session of its own, output appended to log."""
    kw = {}
    if os.geteuid() == 0:
        kw = dict(user=user[0], group=user[1], extra_groups=[])
    with open(log, "ab") as out:
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, **kw)


def _run_as(user, args, env=None, timeout=60):
    kw = {}
    if os.geteuid() == 0:
        kw = dict(user=user[0], group=user[1], extra_groups=[])
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                       timeout=timeout, **kw)
    if p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(args), p.returncode,
                                                     p.stdout.decode(errors="replace"),
                                                     p.stderr.decode(errors="replace")))
    return p


def _descendants(root):
    """root and every process under it (a snapshot from /proc). Postgres's
    children call setsid(), so a process group does not hold them all."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _kill_tree(proc, timeout=10.0):
    """SIGKILL to proc and everything under it at once (a machine that is
    gone), then reaps proc and waits, bounded, until none of them is left."""
    if proc is None:
        return
    pids = _descendants(proc.pid) if proc.poll() is None else []
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout
    for p in pids:
        while time.monotonic() < deadline and os.path.exists("/proc/%d" % p):
            try:
                with open("/proc/%d/stat" % p) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break  # a zombie of a parent already dead: init reaps it
            except OSError:
                break
            time.sleep(0.02)


def _kill_strays(folder):
    """SIGKILL to any process still naming folder on its command line: a
    postgres or pg_autoctl service whose parent died before us was reparented
    out of our tree (postgres's own children exit when it is gone)."""
    me = os.getpid()
    needle = (folder.rstrip("/") + "/").encode()  # its files, not a longer name
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if needle in f.read():
                    os.kill(int(d), signal.SIGKILL)
        except OSError:
            pass


def _wait(what, fn, timeout, step=0.1):
    """Calls fn until it returns a true value (returned); exceptions count
    as 'not yet'. Raises AssertionError naming what after timeout s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - not ready yet
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError("%s: not after %.0f s (last: %r)" % (what, timeout, last))
        time.sleep(step)


def connect(url_or_dsn, timeout=5, **kw):
    """psycopg2 connection with a bounded connect."""
    return psycopg2.connect(url_or_dsn, connect_timeout=max(1, int(timeout)), **kw)


class Postgres:
    """One throwaway PostgreSQL cluster. start() runs postgres itself (not
    pg_ctl) as our child, so kill9() and the exit clean-up own it."""

    SUPERUSER = "postgres"

    def __init__(self, dbname="geoalert", name="pg", settings=None):
        self.user = _user()
        self.dir = _mkdir_for(self.user, name)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.dbname = dbname
        self.proc = None
        _run_as(self.user, [os.path.join(PGBIN, "initdb"), "-D", self.data, "-U", self.SUPERUSER,
                            "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"],
                timeout=120)
        # trust on loopback and the socket only: initdb --auth=trust wrote
        # local / 127.0.0.1/32 / ::1 lines, listen_addresses keeps it there
        conf = {"listen_addresses": "'127.0.0.1'", "port": str(self.port),
                "unix_socket_directories": "'%s'" % self.dir, "max_connections": "100",
                "fsync": "on", "synchronous_commit": "on"}
        conf.update(settings or {})
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\n# geoalert tests (pgcluster.py)\n")
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, v))
        _live.append(self)
        self.start()
        c = self.connect("postgres")
        c.autocommit = True  # CREATE DATABASE refuses a transaction block
        c.cursor().execute('CREATE DATABASE "%s"' % dbname)
        c.close()

    def start(self, timeout=30.0):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = _popen_as(self.user, [os.path.join(PGBIN, "postgres"), "-D", self.data],
                              self.log)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("postgres exited %d; see %s" % (self.proc.returncode,
                                                                      self.log))
            self.connect("postgres").close()
            return True

        try:
            _wait("postgres on port %d" % self.port, up, timeout)
        except AssertionError as e:
            if self.proc.poll() is not None:  # not a wait: an exit
                raise AssertionError("%s\n%s" % (e, self.log_tail())) from None
            raise
        return self

    def url(self, dbname=None):
        return "postgresql://%s@127.0.0.1:%d/%s" % (self.SUPERUSER, self.port,
                                                    dbname or self.dbname)

    def connect(self, dbname=None, timeout=5):
        return connect(self.url(dbname), timeout)

    def stop(self, timeout=30.0):
        """Fast shutdown (SIGINT); SIGKILL past timeout. Keeps the data."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(self.proc)

    def kill9(self):
        """SIGKILL to the postmaster and every backend at once."""
        _kill_tree(self.proc)

    def log_tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def destroy(self):
        """Kills what runs and removes the folder; idempotent."""
        _kill_tree(self.proc)
        self.proc = None
        _kill_strays(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in _live:
            _live.remove(self)


class AutoFailover:
    """pg_auto_failover on 127.0.0.1: a monitor and two Postgres nodes, the
    second a synchronous standby of the first (replication-quorum true: a
    COMMIT on the primary returns only once the standby has the WAL).

    fast=True lowers the monitor's failure detection and the promotion wait
    (pgautofailover.* settings, and the keepers' network_partition_timeout
    below primary_demote_timeout as in the defaults) so a test fails over
    in seconds; fast=False keeps pg_auto_failover's defaults, the figures an
    operator gets out of the box."""

    # monitor settings for fast=True (the defaults in the comment)
    FAST = {
        "pgautofailover.health_check_period": 1000,  # 5000 ms
        "pgautofailover.health_check_timeout": 1000,  # 5000 ms
        "pgautofailover.health_check_max_retries": 1,  # 2
        "pgautofailover.health_check_retry_delay": 500,  # 2000 ms
        "pgautofailover.node_considered_unhealthy_timeout": 3000,  # 20000 ms
        "pgautofailover.primary_demote_timeout": 5000,  # 30000 ms
    }
    FAST_NETWORK_PARTITION_TIMEOUT = 3  # keeper, s (default 20)

    def __init__(self, dbname="geoalert", fast=True, timeout=120.0):
        self.user = _user()
        self.dir = _mkdir_for(self.user, "pgaf")
        self.dbname = dbname
        self.fast = fast
        self.procs = {}  # name -> Popen of `pg_autoctl ... --run`
        self.ports = {}
        self.killed = set()
        self.revived = {}  # name -> times run again during the set-up
        run = os.path.join(self.dir, "run")
        os.mkdir(run, 0o700)
        os.chown(run, self.user[0], self.user[1])
        # pg_autoctl keeps its config and state under XDG_* (else ~/.config,
        # ~/.local/share, /tmp/pg_autoctl), and puts postgres's socket where
        # PG_REGRESS_SOCK_DIR says (else /var/run/postgresql, not ours)
        self.env = {
            "PATH": PGBIN + ":/usr/bin:/bin",
            "HOME": self.dir,
            "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
            "XDG_DATA_HOME": os.path.join(self.dir, "share"),
            "XDG_RUNTIME_DIR": run,
            "PGHOST": self.dir,
            "PG_REGRESS_SOCK_DIR": self.dir,
            "LANG": "C.UTF-8",
        }
        _live.append(self)
        try:
            self._start(timeout)
        except BaseException:
            print(self.logs_tail(), flush=True)
            self.destroy()
            raise

    # -- set-up ------------------------------------------------------------
    def _autoctl(self, name, args, run=True):
        log = os.path.join(self.dir, name + ".log")
        cmd = [PG_AUTOCTL] + args + ["--pgctl", os.path.join(PGBIN, "pg_ctl")]
        if run:
            cmd.append("--run")
        self.procs[name] = _popen_as(self.user, cmd, log, env=self.env)

    # pg_autoctl's supervisor stops a node for good when its node-active
    # service fails five times within a second. Seen once, in a clean-clone
    # run under load: right after `config set` on the running node1, the
    # restarted service looked for postgres on the default port (5432) and
    # the whole node exited; the formation then never came. An operator's
    # unit (Restart=always) would start it again: so does the set-up, with
    # the port given, at most REVIVE_MAX times a node.
    REVIVE_MAX = 2

    def _revive(self, name):
        p = self.procs[name]
        if p.poll() is None:
            return True
        n = self.revived.get(name, 0)
        if n >= self.REVIVE_MAX:
            raise RuntimeError("pg_autoctl %s exited %d (run again %d times)"
                               % (name, p.returncode, n))
        self.revived[name] = n + 1
        print("pg_autoctl %s exited %d during the set-up: run again" % (name, p.returncode),
              flush=True)
        cmd = [PG_AUTOCTL, "run", "--pgdata", self.pgdata(name), "--pgport", str(self.ports[name])]
        self.procs[name] = _popen_as(self.user, cmd, os.path.join(self.dir, name + ".log"),
                                     env=self.env)
        return True

    def _nodes_up(self, names, want):
        for n in names:
            self._revive(n)
        return self._states_are(want)

    def _start(self, timeout):
        deadline = time.monotonic() + timeout
        left = lambda: max(1.0, deadline - time.monotonic())  # noqa: E731
        mport = self.ports["monitor"] = free_port()
        self._autoctl("monitor", ["create", "monitor", "--pgdata", self.pgdata("monitor"),
                                  "--pgport", str(mport), "--hostname", "127.0.0.1",
                                  "--listen", "127.0.0.1", "--auth", "trust", "--no-ssl"])
        self.monitor_url = ("postgresql://autoctl_node@127.0.0.1:%d/pg_auto_failover"
                            "?sslmode=disable" % mport)
        _wait("monitor up", lambda: self._alive("monitor") and self._monitor_su().close() is None,
              left())
        if self.fast:
            c = self._monitor_su()
            c.autocommit = True
            cur = c.cursor()
            for k, v in self.FAST.items():
                cur.execute("ALTER SYSTEM SET %s = %d" % (k, v))
            cur.execute("SELECT pg_reload_conf()")
            c.close()
        for i, name in enumerate(("node1", "node2")):
            if i == 1:
                # pg_autoctl runs pg_basebackup with its default spread
                # checkpoint: with the dirty buffers of initdb and CREATE
                # DATABASE that took 95 s here. An immediate checkpoint
                # first leaves the spread one nothing to pace.
                c = connect(self.node_url("node1", "postgres"), 3)
                c.autocommit = True
                c.cursor().execute("CHECKPOINT")
                c.close()
            port = self.ports[name] = free_port()
            self._autoctl(name, [
                "create", "postgres", "--pgdata", self.pgdata(name), "--pgport", str(port),
                "--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--name", name,
                "--dbname", self.dbname, "--monitor", self.monitor_url, "--auth", "trust",
                "--no-ssl", "--replication-quorum", "true", "--candidate-priority", "50"])
            want = {"node1": "single"} if i == 0 else {"node1": "primary", "node2": "secondary"}
            up = ["node1"] if i == 0 else ["node1", "node2"]
            _wait("formation: %s" % want, lambda: self._nodes_up(up, want), left(), step=0.25)
            if self.fast:
                _run_as(self.user, [PG_AUTOCTL, "config", "set", "--pgdata", self.pgdata(name),
                                    "timeout.network_partition_timeout",
                                    str(self.FAST_NETWORK_PARTITION_TIMEOUT)], env=self.env)
        self.primary, self.standby = "node1", "node2"
        # a COMMIT on the primary must wait for the standby
        _wait("synchronous_standby_names set on the primary",
              lambda: all(self._revive(n) for n in ("node1", "node2"))
              and self.sync_standby_names(), left())

    def pgdata(self, name):
        return os.path.join(self.dir, name)

    def _alive(self, name):
        p = self.procs[name]
        if p.poll() is not None:
            raise RuntimeError("pg_autoctl %s exited %d" % (name, p.returncode))
        return True

    def _monitor_su(self):
        # the monitor's superuser is the OS user that ran initdb: the socket
        return psycopg2.connect(host=self.dir, port=self.ports["monitor"], user=self.user[2],
                                dbname="pg_auto_failover", connect_timeout=3)

    # -- state -------------------------------------------------------------
    def states(self):
        """{node name: (reported state, assigned state)} from the monitor."""
        c = connect(self.monitor_url, 3)
        try:
            cur = c.cursor()
            cur.execute("SELECT nodename, current_group_state, assigned_group_state "
                        "FROM pgautofailover.current_state('default')")
            return {r[0]: (r[1], r[2]) for r in cur.fetchall()}
        finally:
            c.close()

    def _states_are(self, want):
        s = self.states()
        return all(s.get(n) == (st, st) for n, st in want.items())

    def sync_standby_names(self):
        c = connect(self.node_url(self.primary), 3)
        try:
            cur = c.cursor()
            cur.execute("SHOW synchronous_standby_names")
            return cur.fetchone()[0]
        finally:
            c.close()

    def node_url(self, name, dbname=None):
        return "postgresql://%s@127.0.0.1:%d/%s" % (self.user[2], self.ports[name],
                                                    dbname or self.dbname)

    def url(self, dbname=None):
        """The multi-host URL geoalert is given: libpq tries each host and
        keeps the one that accepts writes."""
        return "postgresql://%s@127.0.0.1:%d,127.0.0.1:%d/%s?target_session_attrs=read-write" % (
            self.user[2], self.ports["node1"], self.ports["node2"], dbname or self.dbname)

    # -- faults ------------------------------------------------------------
    def kill9_primary(self):
        """SIGKILL to the primary's pg_autoctl (its keeper) and postgres, all
        at once: the machine is gone for good. Returns time.monotonic()
        just after the kill."""
        name = self.primary
        _kill_tree(self.procs[name])
        self.killed.add(name)
        return time.monotonic()

    def kill9_node(self, name):
        """SIGKILL to node name's (or the monitor's) pg_autoctl and postgres;
        returns time.monotonic() just after."""
        _kill_tree(self.procs[name])
        self.killed.add(name)
        if name == self.standby:
            self.standby = None
        return time.monotonic()

    def wait_promoted(self, timeout=90.0):
        """Waits until the former standby is primary for the monitor
        (wait_primary: its standby is gone, so it is alone) and commits a
        write; returns time.monotonic() at that commit."""
        name = self.standby

        def promoted():
            st = self.states().get(name)
            if not st or st[0] not in ("wait_primary", "primary", "single"):
                return None
            c = connect(self.node_url(name), 2)
            try:
                c.cursor().execute("CREATE TABLE IF NOT EXISTS pgcluster_probe (at timestamptz)")
                c.cursor().execute("INSERT INTO pgcluster_probe VALUES (now())")
                c.commit()
                return time.monotonic()
            finally:
                c.close()

        t = _wait("%s promoted" % name, promoted, timeout, step=0.1)
        self.primary, self.standby = name, None
        return t

    # -- tear-down ---------------------------------------------------------
    def logs_tail(self, n=15):
        out = []
        for name in self.procs:
            try:
                with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                    out.append("--- %s\n%s" % (name, "".join(f.readlines()[-n:])))
            except OSError:
                pass
        return "\n".join(out)

    def stop(self):
        """Everything down (SIGKILL: nothing here is kept) and the folder
        removed. Idempotent."""
        self.destroy()

    def destroy(self):
        # nodes first: a keeper that loses its monitor only logs
        for name in ("node2", "node1", "monitor"):
            if name in self.procs:
                _kill_tree(self.procs[name])
        self.procs = {}
        _kill_strays(self.dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self in _live:
            _live.remove(self)
