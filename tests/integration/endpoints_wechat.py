"""A stand-in for the WeChat official account API (api.weixin.qq.com) on a
free loopback port (endpoints.Endpoint: failure modes, records, waits),
checking what the real API checks. It answers HTTP 200 with an errcode,
as the real one does.

  POST /cgi-bin/stable_token   {"grant_type": "client_credential", "appid",
       "secret", "force_refresh"?} -> {"access_token", "expires_in"}. As the
       real stable token: while a token is valid it is handed out again,
       with what is left of its life. 40013 bad appid, 40125 bad secret,
       40002 bad grant_type.
  POST /cgi-bin/draft/add?access_token=T   {"articles": [...]} -> media_id.
       Each article: title 1..64 bytes (45003), author at most 16
       characters (45110), digest at most 128 (45004), content non-empty
       (44004) and under 20000 characters (45002), content_source_url,
       thumb_media_id a known image (40007).
  POST /cgi-bin/freepublish/submit?access_token=T   {"media_id"} -> errcode
       0 and a publish_id; an unknown media_id 40007.
  POST /cgi-bin/freepublish/get?access_token=T   {"publish_id"} ->
       {"publish_id", "publish_status", "fail_idx"}, on 0 also
       "article_id" and "article_detail": {"count", "item": [{"idx",
       "article_url"}]}, as the real one (0 published, 1 publishing, 2
       original-content check failed, 3 failed, 4 review failed, 5 deleted,
       6 banned; fail_idx the refused articles, from 1, on 2 and 4). An
       unknown publish_id 40007 (the stand-in's choice). Each publish_id
       answers a sequence of statuses, one per get, the last repeated:
       statuses(seq) sets it for the ones submitted from then on ([0]: at
       once), set_statuses(publish_id, seq) for one submitted already.

A missing token is 41001, an unknown one 40001, an expired one 42001.
rate(n) answers 45009 to the next n API calls; fail(path, errcode, n)
answers errcode on the next n calls to path; expire_tokens() ends every
token's life now. drafts: media_id -> article; publishes: media_id ->
times published (stays 1 when nothing is published twice); submitted:
publish_id -> media_id; polled: publish_id -> gets answered."""
import itertools
import time

from endpoints import Endpoint, _json

TITLE_MAX = 64
AUTHOR_MAX = 16
DIGEST_MAX = 128
CONTENT_MAX = 20000


class WeChatMP(Endpoint):
    def __init__(self, appid, secret, thumb_media_id, ttl=7200):
        self.appid, self.secret, self.thumb = appid, secret, thumb_media_id
        self.ttl = ttl
        self.tokens = {}  # token -> expiry (time.time())
        self.current = None
        self.issued = 0  # stable_token calls answered with a token
        self.drafts = {}  # media_id -> article
        self.publishes = {}  # media_id -> times
        self.rate_left = 0
        self.fails = {}  # path -> [errcode, n]
        self.submitted = {}  # publish_id -> media_id
        self.polled = {}  # publish_id -> gets answered
        self.seq = [0]  # publish_status answers of a new publish_id
        self.seqs = {}  # publish_id -> its sequence
        self._ids = itertools.count(1)
        super().__init__()

    # --- control ---------------------------------------------------------
    def rate(self, n):
        with self.lock:
            self.rate_left = n

    def fail(self, path, errcode, n=1):
        with self.lock:
            self.fails[path] = [errcode, n]

    def statuses(self, seq):
        """The publish_status answers (the last repeated) of each
        publish_id submitted from now on."""
        assert seq and all(0 <= n <= 6 for n in seq), seq
        with self.lock:
            self.seq = list(seq)

    def set_statuses(self, publish_id, seq):
        """The publish_status answers of publish_id from its next get."""
        assert seq and all(0 <= n <= 6 for n in seq), seq
        with self.lock:
            self.seqs[publish_id] = list(seq)
            self.polled[publish_id] = 0

    def publish_ids(self, media_id):
        """The publish_ids media_id was submitted as, in order."""
        with self.lock:
            return [p for p, m in self.submitted.items() if m == media_id]

    def expire_tokens(self):
        with self.lock:
            for t in self.tokens:
                self.tokens[t] = time.time() - 1

    def of_path(self, suffix, ok=None):
        """Requests to a path ending in suffix; ok: only errcode 0 ones
        (True) or only failed ones (False)."""
        def pred(r):
            if not r["path"].endswith(suffix):
                return False
            if ok is None:
                return True
            good = isinstance(r["answer"], dict) and r["answer"].get("errcode", 0) == 0
            return good == ok
        return self.of(pred)

    # --- serving ---------------------------------------------------------
    @staticmethod
    def _err(code, msg):
        return 200, {"errcode": code, "errmsg": msg}

    def check(self, rec):
        path = rec["path"]
        if path not in ("/cgi-bin/stable_token", "/cgi-bin/draft/add",
                        "/cgi-bin/freepublish/submit", "/cgi-bin/freepublish/get"):
            return 404, {"errcode": 404, "errmsg": "no such path"}
        b = _json(rec)
        rec["json"] = b if isinstance(b, dict) else {}
        with self.lock:
            if self.rate_left > 0:
                self.rate_left -= 1
                return self._err(45009, "reach max api daily quota limit")
            f = self.fails.get(path)
            if f and f[1] > 0:
                f[1] -= 1
                return self._err(f[0], "injected failure")
        if not isinstance(b, dict):
            return self._err(47001, "data format error")
        if path == "/cgi-bin/stable_token":
            return self._token(b)
        tok = (rec["query"].get("access_token") or [""])[0]
        with self.lock:
            exp = self.tokens.get(tok)
        if not tok:
            return self._err(41001, "access_token missing")
        if exp is None:
            return self._err(40001, "invalid credential, access_token is invalid or not latest")
        if exp <= time.time():
            return self._err(42001, "access_token expired")
        if path == "/cgi-bin/draft/add":
            return self._draft(b)
        if path == "/cgi-bin/freepublish/get":
            return self._get(b)
        return self._submit(b)

    def _token(self, b):
        if b.get("grant_type") != "client_credential":
            return self._err(40002, "invalid grant_type")
        if b.get("appid") != self.appid:
            return self._err(40013, "invalid appid")
        if b.get("secret") != self.secret:
            return self._err(40125, "invalid appsecret")
        now = time.time()
        with self.lock:
            if (self.current is None or self.tokens.get(self.current, 0) <= now
                    or b.get("force_refresh")):
                self.current = "TOKEN-%d-%d" % (next(self._ids), int(now))
                self.tokens[self.current] = now + self.ttl
            self.issued += 1
            left = int(self.tokens[self.current] - now)
            return 200, {"access_token": self.current, "expires_in": left}

    def _draft(self, b):
        arts = b.get("articles")
        if not isinstance(arts, list) or not arts:
            return self._err(40003, "articles missing")
        for a in arts:
            if not isinstance(a, dict):
                return self._err(47001, "data format error")
            title = a.get("title")
            if not isinstance(title, str) or not title or len(title.encode()) > TITLE_MAX:
                return self._err(45003, "title size out of limit")
            if len(a.get("author") or "") > AUTHOR_MAX:
                return self._err(45110, "author size out of limit")
            if len(a.get("digest") or "") > DIGEST_MAX:
                return self._err(45004, "description size out of limit")
            content = a.get("content")
            if not isinstance(content, str) or not content:
                return self._err(44004, "empty content")
            if len(content) >= CONTENT_MAX or len(content.encode()) >= 1 << 20:
                return self._err(45002, "content size out of limit")
            if a.get("thumb_media_id") != self.thumb:
                return self._err(40007, "invalid media_id")
            if not str(a.get("content_source_url", "")).startswith(("http://", "https://")):
                return self._err(45005, "invalid content_source_url")
        with self.lock:
            mid = "MEDIA_%d_%s" % (next(self._ids), "x" * 20)
            self.drafts[mid] = arts[0]
        return 200, {"media_id": mid, "item": []}

    def _submit(self, b):
        mid = b.get("media_id")
        with self.lock:
            if mid not in self.drafts:
                return self._err(40007, "invalid media_id")
            self.publishes[mid] = self.publishes.get(mid, 0) + 1
            pid = str(2247500000 + next(self._ids))
            self.submitted[pid] = mid
            self.seqs[pid] = list(self.seq)
            self.polled[pid] = 0
            return 200, {"errcode": 0, "errmsg": "ok", "publish_id": pid}

    def _get(self, b):
        pid = b.get("publish_id")
        with self.lock:
            if not isinstance(pid, str) or pid not in self.submitted:
                return self._err(40007, "invalid publish_id")
            seq = self.seqs[pid]
            status = seq[min(self.polled[pid], len(seq) - 1)]
            self.polled[pid] += 1
        a = {"publish_id": pid, "publish_status": status,
             "fail_idx": [1] if status in (2, 4) else []}
        if status == 0:
            a["article_id"] = "ART_" + pid
            a["article_detail"] = {"count": 1, "item": [
                {"idx": 1, "article_url": self.article_url(pid)}]}
        return 200, a

    @staticmethod
    def article_url(publish_id):
        """The permanent link the stand-in gives publish_id's article."""
        return "https://mp.weixin.qq.com/s/ART_" + publish_id

    def article(self, pred):
        """The drafts whose article matches pred, as (media_id, article)."""
        with self.lock:
            return [(m, a) for m, a in self.drafts.items() if pred(a)]
