"""Local stand-ins for the channels' real HTTP APIs, each on a free
loopback port in a thread of its own, checking what the real API checks:

  Portal    POST {path}: Content-Type application/json, Authorization:
            Bearer {token}, Idempotency-Key = "{alert_id}:{version}" of the
            body; a key accepted before is refused with 409.
  WeCom     POST /cgi-bin/webhook/send?key=KEY: msgtype markdown, content
            valid UTF-8 of at most 4096 bytes; errcode.
  DingTalk  POST /robot/send?access_token=T&timestamp=MS&sign=S: timestamp
            within an hour, sign = base64(HMAC-SHA256(secret,
            "MS\\nsecret")); msgtype markdown; errcode.
  Feishu    POST /open-apis/bot/v2/hook/{token}: body at most 20 KB,
            timestamp within an hour, sign = base64(HMAC-SHA256(key =
            "TS\\nsecret", empty message)); code.
  Hook      any POST recorded (the supervisors' webhook).

Each can be told at run time to answer 500, 429 with a Retry-After, or
hang (mode), for the next n requests or until told otherwise, or be taken
down (port closed) and brought back up on the same port. Every request is
recorded with its arrival time (monotonic) and what was answered."""
import base64
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
import urllib.parse

from harness import PortHold, free_port


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that time out or are killed reset their connections


def stop_serving(server, lock, conns):
    """Shuts server down, then every connection of conns (a set guarded by
    lock), kept-alive ones too; its listening socket is handed to a
    PortHold (returned): the port stays ours, and refuses, until
    serve_again()."""
    server.shutdown()
    hold = PortHold(sock=server.socket)
    with lock:
        conns = list(conns)
    for c in conns:
        try:
            c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return hold


def serve_again(cls, port, handler, hold):
    """A cls server (socketserver) with handler on port: on the listening
    socket hold (stop_serving's) when there is one, so the port is never
    free in between; serving from a thread of its own."""
    if hold is None:
        server = cls(("127.0.0.1", port), handler)
    else:
        server = cls(("127.0.0.1", port), handler, bind_and_activate=False)
        server.socket.close()
        server.socket = hold.release()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Recorder:
    """Reading what a stand-in took. A subclass keeps self.lock (a
    threading.Condition, notified on every record added), names the list
    of its records in RECORDS, and says in _short(got, count, timeout)
    what a wait that timed out lacked."""

    RECORDS = "requests"

    def of(self, pred=None):
        """The records pred holds for (every one without pred), oldest first."""
        with self.lock:
            return [r for r in getattr(self, self.RECORDS) if pred is None or pred(r)]

    def wait(self, pred, timeout, count=1):
        """Every record pred holds for, once there are count of them;
        AssertionError (with _short's text) after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                got = [r for r in getattr(self, self.RECORDS) if pred(r)]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(self._short(got, count, timeout))
                self.lock.wait(min(left, 0.2))

    def _short(self, got, count, timeout):
        return "%s: %d of %d records in %.0f s" % (type(self).__name__, len(got), count,
                                                   timeout)


class Endpoint(Recorder):
    """Base: records requests, applies the failure mode, then check()."""

    HANG_S = 30.0

    def __init__(self):
        self.lock = threading.Condition()
        self.requests = []  # dicts: t, path, query, headers, body, status, answer
        self.mode = "ok"  # ok | 500 | 429 | hang | accept_hang
        self.mode_left = None  # None: until changed; n: next n requests, then ok
        self.retry_after = "1"
        self.port = free_port()
        self.server = None
        self.hold = None  # the port while down (harness.PortHold)
        self.hanging = threading.Event()
        self.conns = set()
        self.up()

    # --- control ---------------------------------------------------------
    def set_mode(self, mode, n=None, retry_after="1"):
        with self.lock:
            self.mode, self.mode_left, self.retry_after = mode, n, retry_after
            if mode not in ("hang", "accept_hang"):
                self.hanging.set()  # release whoever hangs
            else:
                self.hanging.clear()

    def up(self):
        ep = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # Answers go out in two writes (headers, body): without
                # this, Nagle and the client's delayed ACK add ~40 ms to
                # every answer on a kept-alive connection.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with ep.lock:
                    ep.conns.add(self.connection)

            def finish(self):
                with ep.lock:
                    ep.conns.discard(self.connection)
                super().finish()

            def do_POST(self):  # noqa: N802 - http.server's name
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                ep._handle(self, body)

            def log_message(self, *args):
                pass

        self.server = serve_again(_Server, self.port, Handler, self.hold)
        self.hold = None

    def down(self):
        self.hanging.set()
        # keep-alive connections too: down is down
        self.hold = stop_serving(self.server, self.lock, self.conns)
        self.hold.assert_down()

    def close(self):
        if self.hold is None:
            self.down()
        self.hold.close()

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # --- reading (of, wait: Recorder) ------------------------------------
    def _short(self, got, count, timeout):
        return "%s: %d of %d requests in %.0f s; have %r" % (
            type(self).__name__, len(got), count, timeout,
            [(r["path"], r["status"], r["answer"]) for r in self.requests[-5:]])

    # --- serving ---------------------------------------------------------
    def _handle(self, h, body):
        u = urllib.parse.urlsplit(h.path)
        rec = {"t": time.monotonic(), "wall": time.time(), "path": u.path,
               "query": urllib.parse.parse_qs(u.query, keep_blank_values=True),
               "headers": {k.lower(): v for k, v in h.headers.items()}, "body": body,
               "status": None, "answer": None}
        with self.lock:
            mode = self.mode
            if self.mode_left is not None:
                self.mode_left -= 1
                if self.mode_left <= 0:
                    self.mode, self.mode_left = "ok", None
            retry_after = self.retry_after
        if mode == "hang":
            self._record(rec, 0, "hung")
            self.hanging.wait(self.HANG_S)
            return self._drop(h)
        if mode == "500":
            return self._answer(h, rec, 500, {"error": "internal"})
        if mode == "429":
            return self._answer(h, rec, 429, {"error": "slow down"},
                                {"Retry-After": retry_after})
        status, answer = self.check(rec)
        if mode == "accept_hang":
            self._record(rec, 0, "accepted, then hung")
            self.hanging.wait(self.HANG_S)
            return self._drop(h)
        return self._answer(h, rec, status, answer)

    def _record(self, rec, status, answer):
        rec["status"], rec["answer"] = status, answer
        with self.lock:
            self.requests.append(rec)
            self.lock.notify_all()

    def _drop(self, h):
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _answer(self, h, rec, status, answer, headers=None):
        data = json.dumps(answer, ensure_ascii=False).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
        except OSError:
            pass
        self._record(rec, status, answer)

    def check(self, rec):
        return 200, {}


def _json(rec):
    try:
        return json.loads(rec["body"].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class Portal(Endpoint):
    def __init__(self, token, path="/api/alerts"):
        self.token, self.path = token, path
        self.accepted = {}  # key -> body
        self.accept_count = {}  # key -> times accepted (must stay 1)
        super().__init__()

    def check(self, rec):
        h = rec["headers"]
        if rec["path"] != self.path:
            return 404, {"error": "no such path"}
        if h.get("authorization") != "Bearer " + self.token:
            return 401, {"error": "bad token"}
        if not h.get("content-type", "").startswith("application/json"):
            return 415, {"error": "not JSON"}
        a = _json(rec)
        if not isinstance(a, dict) or a.get("schema") != "geohazard.alert/1":
            return 400, {"error": "not an alert"}
        key = h.get("idempotency-key")
        if key != "%s:%s" % (a.get("alert_id"), a.get("version")):
            return 400, {"error": "bad Idempotency-Key %r" % key}
        with self.lock:
            if key in self.accepted:
                return 409, {"error": "already have %s" % key}
            self.accepted[key] = a
            self.accept_count[key] = self.accept_count.get(key, 0) + 1
        rec["alert"] = a
        return 201, {"ok": True}


class WeCom(Endpoint):
    LIMIT = 4096

    def __init__(self, key):
        self.key = key
        super().__init__()

    def check(self, rec):
        if rec["path"] != "/cgi-bin/webhook/send":
            return 404, {"errcode": 404, "errmsg": "no such path"}
        if rec["query"].get("key") != [self.key]:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        b = _json(rec)
        if not isinstance(b, dict) or b.get("msgtype") != "markdown":
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        content = (b.get("markdown") or {}).get("content")
        if not isinstance(content, str) or not content:
            return 200, {"errcode": 44004, "errmsg": "empty content"}
        if len(content.encode("utf-8")) > self.LIMIT:
            return 200, {"errcode": 40058, "errmsg": "content exceed max length 4096"}
        rec["text"] = content
        return 200, {"errcode": 0, "errmsg": "ok"}


class DingTalk(Endpoint):
    def __init__(self, token, secret):
        self.token, self.secret = token, secret
        super().__init__()

    def sign(self, ts):
        s = "%s\n%s" % (ts, self.secret)
        mac = hmac.new(self.secret.encode(), s.encode(), hashlib.sha256).digest()
        return base64.b64encode(mac).decode()

    def check(self, rec):
        q = rec["query"]
        if rec["path"] != "/robot/send":
            return 404, {"errcode": 404, "errmsg": "no such path"}
        if q.get("access_token") != [self.token]:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        ts = (q.get("timestamp") or [""])[0]
        if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 3600 * 1000:
            return 200, {"errcode": 310000, "errmsg": "timestamp out of range"}
        # parse_qs has URL-decoded it, as DingTalk does
        if (q.get("sign") or [""])[0] != self.sign(ts):
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        b = _json(rec)
        md = (b or {}).get("markdown") or {}
        if (b or {}).get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
            return 200, {"errcode": 40035, "errmsg": "bad markdown"}
        rec["text"] = md["text"]
        return 200, {"errcode": 0, "errmsg": "ok"}


class Feishu(Endpoint):
    LIMIT = 20 * 1024

    def __init__(self, token, secret):
        self.token, self.secret = token, secret
        super().__init__()

    def sign(self, ts):
        key = ("%s\n%s" % (ts, self.secret)).encode()
        return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()

    def check(self, rec):
        if rec["path"] != "/open-apis/bot/v2/hook/" + self.token:
            return 404, {"code": 19001, "msg": "param invalid: incoming webhook access token"}
        if len(rec["body"]) > self.LIMIT:
            return 400, {"code": 9499, "msg": "request body exceeds 20KB"}
        b = _json(rec)
        if not isinstance(b, dict):
            return 400, {"code": 9499, "msg": "Bad Request"}
        ts = str(b.get("timestamp", ""))
        if not ts.isdigit() or abs(int(ts) - time.time()) > 3600:
            return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
        if b.get("sign") != self.sign(ts):
            return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
        if b.get("msg_type") != "interactive":
            return 200, {"code": 19002, "msg": "params error, msg_type need"}
        try:
            rec["title"] = b["card"]["header"]["title"]["content"]
            rec["text"] = b["card"]["elements"][0]["content"]
        except (KeyError, IndexError, TypeError):
            return 200, {"code": 11246, "msg": "card invalid"}
        return 200, {"code": 0, "msg": "success"}


class Hook(Endpoint):
    def check(self, rec):
        rec["json"] = _json(rec)
        return 200, {"ok": True}
