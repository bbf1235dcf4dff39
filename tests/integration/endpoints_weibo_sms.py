"""Local stand-ins for Weibo's statuses/share and an SMS gateway (the
weibo and sms channel types), on the Endpoint base of endpoints.py (modes
500 / 429 / hang / accept_hang, down / up, every request recorded):

  Weibo       POST /2/statuses/share.json, application/x-www-form-urlencoded:
              access_token, status of at most max_chars characters (code
              points) holding a link on the safe domain. Remembers the texts
              it took: the same text again is error 20019 (repeated
              content), as Weibo answers. rate(n): the next n requests get
              error 10023 (403, with Retry-After so the test need not wait
              a minute). Success: {"id": N, "idstr": "N", "text": ...}.
  SmsGateway  POST /sms/send, JSON, Authorization: Bearer: template_code,
              sign_name, params (each at most 35 characters), phones (1 to
              batch_max numbers), out_id. An out_id taken before is answered
              {"code": "DUPLICATE_OUT_ID"} and counts no message; otherwise
              every number of the batch gets one (counted per alert
              version and number in sent; batch_log lists every batch's
              outcome as decided, even when the client is gone before the
              answer is written). fail_batch(k, n): batch k (out_id ending ":k") answers
              500 n times; delay_s: each accepted batch is answered that late
              (the batch counts as sent before the wait, as a real gateway
              takes it before answering).

The numbers the gateway receives are test data; nothing logs them."""
import json
import re
import socket
import time
import urllib.parse

from endpoints import Endpoint

URL_RE = re.compile(r"https?://[^\s]+")


class Weibo(Endpoint):
    def __init__(self, token, safe_domain, max_chars=140):
        self.token, self.safe_domain, self.max_chars = token, safe_domain, max_chars
        self.texts = {}  # status -> id
        self.next_id = 4567890000000000
        self.rate_left = 0
        super().__init__()

    def rate(self, n):
        with self.lock:
            self.rate_left = n

    def _on_safe_domain(self, url):
        host = (urllib.parse.urlsplit(url).hostname or "").lower()
        d = self.safe_domain.lower()
        return host == d or host.endswith("." + d)

    def check(self, rec):
        if rec["path"] != "/2/statuses/share.json":
            return 404, {"error_code": 10014, "error": "no such api"}
        if not rec["headers"].get("content-type", "").startswith(
                "application/x-www-form-urlencoded"):
            return 400, {"error_code": 10016, "error": "miss required parameter"}
        try:
            form = urllib.parse.parse_qs(rec["body"].decode("utf-8"), keep_blank_values=True,
                                         strict_parsing=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            return 400, {"error_code": 10008, "error": "param error"}
        if form.get("access_token") != [self.token]:
            return 401, {"error_code": 21332, "error": "invalid_access_token"}
        status = (form.get("status") or [""])[0]
        if not status or len(form.get("status")) != 1:
            return 400, {"error_code": 10016, "error": "miss required parameter (status)"}
        if len(status) > self.max_chars:
            return 400, {"error_code": 20012, "error": "Text too long, please input text "
                                                      "less than 140 characters!"}
        links = URL_RE.findall(status)
        if not links or not all(self._on_safe_domain(u) for u in links):
            return 400, {"error_code": 10017, "error": "the link is not on the safe domain"}
        rec["status_text"] = status
        with self.lock:
            if self.rate_left > 0:
                self.rate_left -= 1
                rec["rated"] = True
                return 403, {"error_code": 10023,
                             "error": "User requests out of rate limit!"}
            if status in self.texts:
                return 400, {"error_code": 20019, "error": "repeat content!"}
            self.next_id += 1
            self.texts[status] = self.next_id
            wid = self.next_id
        return 200, {"id": wid, "idstr": str(wid), "text": status}

    def _answer(self, h, rec, status, answer, headers=None):
        if rec.get("rated"):
            headers = dict(headers or {}, **{"Retry-After": "1"})
        return super()._answer(h, rec, status, answer, headers)

    def posts_with(self, text):
        with self.lock:
            return [s for s in self.texts if text in s]


class SmsGateway(Endpoint):
    PARAM_MAX = 35

    def __init__(self, token, template_code, sign_name, batch_max=1000, params=None):
        self.token, self.template_code, self.sign_name = token, template_code, sign_name
        self.batch_max = batch_max
        self.params = params  # the parameter names the template takes, or None
        self.sent = {}  # "{alert_id}:{version}" -> {phone: messages}
        self.out_ids = {}  # out_id -> times accepted (must stay 1)
        self.failing = {}  # batch number -> 500s left
        self.delay_s = 0.0
        self.accepted_batches = 0
        self.batch_log = []  # (out_id, code) as decided, before the answer is written
        super().__init__()

    def fail_batch(self, k, n=1):
        with self.lock:
            self.failing[k] = n

    def check(self, rec):
        if rec["path"] != "/sms/send":
            return 404, {"code": "NotFound", "message": "no such path"}
        if rec["headers"].get("authorization") != "Bearer " + self.token:
            return 401, {"code": "InvalidAccessKeyId", "message": "bad token"}
        try:
            b = json.loads(rec["body"].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return 400, {"code": "InvalidParameter", "message": "not JSON"}
        if not isinstance(b, dict):
            return 400, {"code": "InvalidParameter", "message": "not an object"}
        if b.get("template_code") != self.template_code:
            return 200, {"code": "isv.SMS_TEMPLATE_ILLEGAL", "message": "no such template"}
        if b.get("sign_name") != self.sign_name:
            return 200, {"code": "isv.SMS_SIGNATURE_ILLEGAL", "message": "no such sign"}
        params = b.get("params")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return 200, {"code": "isv.INVALID_JSON_PARAM", "message": "params"}
        if self.params is not None and set(params) != set(self.params):
            return 200, {"code": "isv.TEMPLATE_MISSING_PARAMETERS", "message": "params"}
        for k, v in params.items():
            if len(v) > self.PARAM_MAX:
                return 200, {"code": "isv.PARAM_LENGTH_LIMIT",
                             "message": "param %s longer than %d" % (k, self.PARAM_MAX)}
        phones = b.get("phones")
        if (not isinstance(phones, list) or not 1 <= len(phones) <= self.batch_max
                or not all(isinstance(p, str) and re.fullmatch(r"\+?[0-9]{5,15}", p)
                           for p in phones)):
            return 200, {"code": "isv.MOBILE_COUNT_OVER_LIMIT", "message": "phones"}
        if len(set(phones)) != len(phones):
            return 200, {"code": "isv.MOBILE_NUMBER_ILLEGAL", "message": "a number twice"}
        out_id = b.get("out_id")
        if not isinstance(out_id, str) or not re.fullmatch(r".+:[0-9]+:[0-9]+", out_id):
            return 200, {"code": "isv.OUT_ID_ILLEGAL", "message": "out_id"}
        rec["out_id"], rec["phones"], rec["params"] = out_id, phones, params
        batch = int(out_id.rsplit(":", 1)[1])
        with self.lock:
            if self.failing.get(batch, 0) > 0:
                self.failing[batch] -= 1
                rec["failed"] = True
                self.batch_log.append((out_id, "500"))
                return 500, {"code": "InternalError", "message": "try again"}
            if out_id in self.out_ids:
                self.batch_log.append((out_id, "DUPLICATE_OUT_ID"))
                return 200, {"code": "DUPLICATE_OUT_ID", "message": "out_id taken before"}
            self.out_ids[out_id] = 1
            got = self.sent.setdefault(out_id.rsplit(":", 1)[0], {})
            for p in phones:
                got[p] = got.get(p, 0) + 1
            self.accepted_batches += 1
            self.batch_log.append((out_id, "OK"))
            self.lock.notify_all()
            delay = self.delay_s
        rec["accepted"] = True
        if delay:
            time.sleep(delay)
        return 200, {"code": "OK", "message": "OK", "biz_id": "%d^%s" % (len(phones), out_id)}

    def wait_sent(self, key, phones, timeout):
        """Until every one of phones has at least one message of key
        ("{alert_id}:{version}")."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                got = self.sent.get(key, {})
                missing = [p for p in phones if p not in got]
                if not missing:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("SmsGateway: %d of %d numbers have no message after "
                                         "%.0f s" % (len(missing), len(phones), timeout))
                self.lock.wait(min(left, 0.2))

    def _answer(self, h, rec, status, answer, headers=None):
        # the status line and headers, then the body, in two writes: without
        # TCP_NODELAY, Nagle and the client's delayed ACK hold the second
        # back 40 ms, which would make this stand-in the bottleneck
        try:
            h.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        return super()._answer(h, rec, status, answer, headers)

    def batches_of(self, key):
        """The out_ids of key accepted so far."""
        with self.lock:
            return [o for o in self.out_ids if o.rsplit(":", 1)[0] == key]

    def wait_batches(self, key, n, timeout):
        """Until n batches of key were accepted."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len([o for o in self.out_ids if o.rsplit(":", 1)[0] == key]) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("SmsGateway: %d of %d batches" % (
                        len(self.batches_of(key)), n))
                self.lock.wait(min(left, 0.2))

