"""A small SMTP server (RFC 5321) on a free loopback port, standing in for
a mail relay: EHLO/HELO, AUTH PLAIN (with or without an initial
response), MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT, each in a
thread of its own. It checks what a relay checks: commands in order,
AUTH before MAIL when a user is set, addresses in angle brackets, lines
ending in CRLF, and records each message taken:

  {"t", "mail_from", "rcpt": [...], "data": bytes, "user", "bare_lf",
   "tls": bool, "tls_version": "TLSv1.3" or None}

fail(stage, code, n) answers code instead of 250 at "mail", "rcpt" or
"data" (the end of the message: the message is then not taken) for the
next n times.

TLS, with a certificate (make_certs(): a throwaway CA and a server
certificate for 127.0.0.1 and localhost, made with the openssl CLI):
tls="starttls" offers STARTTLS (RFC 3207) in EHLO until the session is
in TLS, answers it 220 and then speaks TLS; the client must say EHLO
again (all state is forgotten). With require_tls as well (a relay set to
"encrypt"), AUTH is not offered in clear and MAIL or AUTH before
STARTTLS is answered "530 5.7.0 Must issue a STARTTLS command first".
tls="implicit" (smtps) speaks TLS from the first byte of every
connection. A handshake that fails (the client rejected the
certificate) ends the session and is recorded in tls_failures.

Every wait is bounded."""
import base64
import os
import socket
import socketserver
import ssl
import subprocess
import threading
import time

from endpoints import Recorder, serve_again, stop_serving
from harness import free_port

LINE_MAX = 1000  # RFC 5321 4.5.3.1.6, CRLF included
DATA_MAX = 10 * 1024 * 1024


TIMEOUT_S = 30  # a silent client, a stalled handshake


def make_certs(d, name="relay", hosts=("127.0.0.1", "localhost")):
    """A new CA and a server certificate it signed for hosts (IP
    addresses or names, in subjectAltName), EC P-256, valid 2 days, made
    with the openssl CLI in d (files named after name): {"ca", "cert",
    "key"} paths. Each call makes a CA of its own, so a second call gives
    a certificate the first CA does not vouch for."""
    def openssl(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)

    f = {k: os.path.join(d, "%s-%s" % (name, k)) for k in
         ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt", "server.ext", "ca.srl")}
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", f["ca.key"], "-out", f["ca.crt"], "-days", "2",
            "-subj", "/CN=%s test CA" % name)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f["server.key"], "-out", f["server.csr"], "-subj", "/CN=%s" % hosts[0])
    with open(f["server.ext"], "w") as out:
        out.write("subjectAltName=%s\n" % ",".join(
            ("IP:" if h.replace(".", "").isdigit() or ":" in h else "DNS:") + h for h in hosts))
    openssl("x509", "-req", "-in", f["server.csr"], "-CA", f["ca.crt"], "-CAkey", f["ca.key"],
            "-CAserial", f["ca.srl"], "-CAcreateserial", "-out", f["server.crt"], "-days", "2",
            "-extfile", f["server.ext"])
    return {"ca": f["ca.crt"], "cert": f["server.crt"], "key": f["server.key"]}


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class _Conn:
    """One client's connection: its socket (an SSLSocket once in TLS) and
    buffered reader and writer over it."""

    def __init__(self, sock):
        self.sock, self.tls = sock, None  # tls: the negotiated version
        self._files()

    def _files(self):
        self.rfile = self.sock.makefile("rb")
        self.wfile = self.sock.makefile("wb")

    def start_tls(self, ctx):
        """The TLS handshake as the server (new reader and writer: what
        the old reader held is dropped); ssl.SSLError when it fails."""
        self.rfile.close()
        self.wfile.close()
        self.sock = ctx.wrap_socket(self.sock, server_side=True)
        self.tls = self.sock.version()
        self._files()

    def shutdown(self, how):  # for stop_serving()
        self.sock.shutdown(how)


class SmtpSink(Recorder):
    RECORDS = "messages"

    def __init__(self, user=None, password=None, hostname="sink.example", tls=None, cert=None,
                 require_tls=False):
        """tls: None (plain SMTP), "starttls" or "implicit", with cert a
        make_certs() result (its cert and key are used)."""
        assert tls in (None, "starttls", "implicit"), tls
        assert (tls is None) == (cert is None), "tls needs a cert and a cert a tls mode"
        assert not require_tls or tls == "starttls", "require_tls is for tls=\"starttls\""
        self.user, self.password, self.hostname = user, password, hostname
        self.tls, self.require_tls, self.ctx = tls, require_tls, None
        if cert is not None:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            self.ctx.load_cert_chain(cert["cert"], cert["key"])
        self.lock = threading.Condition()
        self.messages = []
        self.sessions = []  # per connection: list of commands seen
        self.failures = {}  # stage -> [code, n]
        self.answers = []  # (stage, code) of every MAIL/RCPT/DATA answer
        self.tls_failures = []  # str(ssl.SSLError) of every failed handshake
        self.port = free_port()
        self.server = None
        self.hold = None  # the port while down (harness.PortHold)
        self.conns = set()
        self.up()

    def up(self):
        """Listens (again) on the same port."""
        sink = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                sock = self.request
                sock.settimeout(TIMEOUT_S)
                # multi-line replies are several writes: no Nagle delay
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn = None
                try:
                    conn = _Conn(sock)
                    with sink.lock:
                        sink.conns.add(conn)
                    if sink.tls == "implicit" and not sink._start_tls(conn):
                        return
                    sink._session(conn)
                except (OSError, ValueError):
                    pass
                finally:
                    with sink.lock:
                        sink.conns.discard(conn)
                    if conn is not None:
                        for f in (conn.wfile, conn.rfile):
                            try:
                                f.close()
                            except (OSError, ValueError):
                                pass
                        if conn.sock is not sock:  # the SSLSocket took sock's descriptor
                            conn.sock.close()

        self.server = serve_again(_Server, self.port, Handler, self.hold)
        self.hold = None

    def down(self):
        """Stops serving and drops the open connections (a client may
        keep one for the next message): every connection is reset until
        up() (the port stays ours: harness.PortHold)."""
        self.hold = stop_serving(self.server, self.lock, self.conns)

    def close(self):
        if self.hold is None:
            self.down()
        self.hold.close()

    def url(self, scheme=None):
        """smtp://127.0.0.1:PORT (smtps:// for an implicit TLS sink)."""
        if scheme is None:
            scheme = "smtps" if self.tls == "implicit" else "smtp"
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def _start_tls(self, conn):
        """conn's handshake; False (recorded in tls_failures) when it
        failed."""
        try:
            conn.start_tls(self.ctx)
            return True
        except ssl.SSLError as e:
            with self.lock:
                self.tls_failures.append(str(e))
                self.lock.notify_all()
            return False

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
    def _session(self, conn):
        seen = []
        with self.lock:
            self.sessions.append(seen)

        def say(text):
            conn.wfile.write(text.encode() + b"\r\n")
            conn.wfile.flush()

        def line():
            raw = conn.rfile.readline(LINE_MAX + 1)
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
            clear_refused = self.require_tls and not conn.tls
            if verb == "EHLO":
                helo = True
                caps = ["SIZE %d" % DATA_MAX, "8BITMIME"]
                if self.tls == "starttls" and not conn.tls:
                    caps.append("STARTTLS")
                if self.user and not clear_refused:
                    caps.append("AUTH PLAIN")
                lines = [self.hostname] + caps
                for i, c in enumerate(lines):
                    say("250%s%s" % ("-" if i < len(lines) - 1 else " ", c))
            elif verb == "HELO":
                helo = True
                say("250 %s" % self.hostname)
            elif verb == "STARTTLS":
                if self.tls != "starttls" or conn.tls:
                    say("503 5.5.1 STARTTLS not possible now")
                elif arg:
                    say("501 5.5.4 STARTTLS takes no parameters")
                else:
                    say("220 2.0.0 ready to start TLS")
                    if not self._start_tls(conn):
                        return
                    # RFC 3207 4.2: forget all that was said in clear
                    helo, user, mail_from, rcpt = False, None, None, []
            elif verb in ("AUTH", "MAIL") and clear_refused:
                if verb == "MAIL":
                    self._answered("mail", 530)
                say("530 5.7.0 Must issue a STARTTLS command first")
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
                data, bare_lf = self._data(conn.rfile)
                code = self._failure("data")
                self._answered("data", code or 250)
                if code:
                    say("%d 4.3.0 temporary failure, try again" % code)
                else:
                    with self.lock:
                        self.messages.append({"t": time.monotonic(), "mail_from": mail_from,
                                              "rcpt": rcpt, "data": data, "user": user,
                                              "bare_lf": bare_lf, "tls": bool(conn.tls),
                                              "tls_version": conn.tls})
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
