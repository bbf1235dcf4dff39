"""A small SMTP server (RFC 5321) on a free loopback port, standing in for
a mail relay: EHLO/HELO, AUTH PLAIN (with or without an initial
response), MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT, each in a
thread of its own. It checks what a relay checks: commands in order,
AUTH before MAIL when a user is set, addresses in angle brackets, lines
ending in CRLF, and records each message taken:

  {"t", "mail_from", "rcpt": [...], "data": bytes, "user", "bare_lf"}

fail(stage, code, n) answers code instead of 250 at "mail", "rcpt" or
"data" (the end of the message: the message is then not taken) for the
next n times. Every wait is bounded."""
import base64
import socket
import socketserver
import threading
import time

from endpoints import Recorder, stop_serving
from harness import free_port

LINE_MAX = 1000  # RFC 5321 4.5.3.1.6, CRLF included
DATA_MAX = 10 * 1024 * 1024


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SmtpSink(Recorder):
    RECORDS = "messages"

    def __init__(self, user=None, password=None, hostname="sink.example"):
        self.user, self.password, self.hostname = user, password, hostname
        self.lock = threading.Condition()
        self.messages = []
        self.sessions = []  # per connection: list of commands seen
        self.failures = {}  # stage -> [code, n]
        self.answers = []  # (stage, code) of every MAIL/RCPT/DATA answer
        self.port = free_port()
        self.server = None
        self.conns = set()
        self.up()

    def up(self):
        """Listens (again) on the same port."""
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def handle(self):
                # multi-line replies are several writes: no Nagle delay
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with sink.lock:
                    sink.conns.add(self.connection)
                try:
                    sink._session(self.rfile, self.wfile)
                except (OSError, ValueError):
                    pass
                finally:
                    with sink.lock:
                        sink.conns.discard(self.connection)

        self.server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        """Stops listening and drops the open connections (a client may
        keep one for the next message): refused until up()."""
        stop_serving(self.server, self.lock, self.conns)

    def close(self):
        self.down()

    def url(self, scheme="smtp"):
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def fail(self, stage, code, n=1):
        with self.lock:
            self.failures[stage] = [code, n]

    def _failure(self, stage):
        with self.lock:
            f = self.failures.get(stage)
            if not f or f[1] <= 0:
                return None
            f[1] -= 1
            return f[0]

    # of, wait: Recorder, over self.messages
    def _short(self, got, count, timeout):
        return "smtp sink: %d of %d messages in %.0f s; answers %r" % (
            len(got), count, timeout, self.answers[-6:])

    # --- the protocol ----------------------------------------------------
    def _session(self, rfile, wfile):
        seen = []
        with self.lock:
            self.sessions.append(seen)

        def say(text):
            wfile.write(text.encode() + b"\r\n")
            wfile.flush()

        def line():
            raw = rfile.readline(LINE_MAX + 1)
            if not raw:
                raise OSError("closed")
            if len(raw) > LINE_MAX or not raw.endswith(b"\r\n"):
                say("500 5.5.2 line too long or not ending in CRLF")
                raise OSError("bad line")
            return raw[:-2].decode("utf-8", "replace")

        say("220 %s ESMTP geoalert test sink" % self.hostname)
        helo, user, mail_from, rcpt = False, None, None, []
        while True:
            cmd = line()
            verb = cmd.split(" ", 1)[0].upper()
            arg = cmd[len(verb):].strip()
            seen.append(verb)
            if verb == "EHLO":
                helo = True
                caps = ["SIZE %d" % DATA_MAX, "8BITMIME"]
                if self.user:
                    caps.append("AUTH PLAIN")
                lines = [self.hostname] + caps
                for i, c in enumerate(lines):
                    say("250%s%s" % ("-" if i < len(lines) - 1 else " ", c))
            elif verb == "HELO":
                helo = True
                say("250 %s" % self.hostname)
            elif verb == "AUTH":
                parts = arg.split(" ", 1)
                if not helo or not self.user or parts[0].upper() != "PLAIN" or user:
                    say("503 5.5.1 AUTH not possible now")
                    continue
                resp = parts[1] if len(parts) > 1 else None
                if resp is None:
                    say("334 ")
                    resp = line()
                try:
                    _, u, p = base64.b64decode(resp, validate=True).decode().split("\0")
                except (ValueError, UnicodeDecodeError):
                    say("501 5.5.2 bad AUTH PLAIN response")
                    continue
                if (u, p) != (self.user, self.password):
                    say("535 5.7.8 authentication credentials invalid")
                    continue
                user = u
                say("235 2.7.0 authenticated")
            elif verb == "MAIL":
                if not helo:
                    say("503 5.5.1 EHLO first")
                elif self.user and not user:
                    say("530 5.7.0 authentication required")
                elif mail_from is not None:
                    say("503 5.5.1 nested MAIL")
                elif not arg.upper().startswith("FROM:<") or ">" not in arg:
                    say("501 5.1.7 bad sender address syntax")
                else:
                    code = self._failure("mail")
                    self._answered("mail", code or 250)
                    if code:
                        say("%d 4.3.0 try again later" % code)
                        continue
                    mail_from = arg[6:arg.index(">")]
                    say("250 2.1.0 ok")
            elif verb == "RCPT":
                if mail_from is None:
                    say("503 5.5.1 MAIL first")
                elif not arg.upper().startswith("TO:<") or ">" not in arg:
                    say("501 5.1.3 bad recipient address syntax")
                else:
                    code = self._failure("rcpt")
                    self._answered("rcpt", code or 250)
                    if code:
                        say("%d 4.2.0 mailbox busy" % code)
                        continue
                    rcpt.append(arg[4:arg.index(">")])
                    say("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpt:
                    say("503 5.5.1 RCPT first")
                    continue
                say("354 end data with <CR><LF>.<CR><LF>")
                data, bare_lf = self._data(rfile)
                code = self._failure("data")
                self._answered("data", code or 250)
                if code:
                    say("%d 4.3.0 temporary failure, try again" % code)
                else:
                    with self.lock:
                        self.messages.append({"t": time.monotonic(), "mail_from": mail_from,
                                              "rcpt": rcpt, "data": data, "user": user,
                                              "bare_lf": bare_lf})
                        self.lock.notify_all()
                    say("250 2.0.0 ok: queued as %d" % len(self.messages))
                mail_from, rcpt = None, []
            elif verb == "RSET":
                mail_from, rcpt = None, []
                say("250 2.0.0 ok")
            elif verb == "NOOP":
                say("250 2.0.0 ok")
            elif verb == "QUIT":
                say("221 2.0.0 bye")
                return
            else:
                say("502 5.5.2 command not recognized")

    def _answered(self, stage, code):
        with self.lock:
            self.answers.append((stage, code))

    @staticmethod
    def _data(rfile):
        """The message up to CRLF.CRLF, dot-unstuffed; and whether any
        line ended in a bare LF (or ran past LINE_MAX)."""
        out, bare_lf, size = [], False, 0
        while True:
            raw = rfile.readline(LINE_MAX + 1)
            if not raw:
                raise OSError("closed in DATA")
            size += len(raw)
            if size > DATA_MAX:
                raise OSError("message too big")
            if not raw.endswith(b"\r\n"):
                bare_lf = True
            if raw == b".\r\n":
                return b"".join(out), bare_lf
            if raw.startswith(b"."):
                raw = raw[1:]
            out.append(raw)


if __name__ == "__main__":  # a quick look: python3 smtp_sink.py, then send to it
    s = SmtpSink()
    print("listening on", s.url())
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        s.close()
