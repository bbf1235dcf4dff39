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

A missing token is 41001, an unknown one 40001, an expired one 42001.
rate(n) answers 45009 to the next n API calls; fail(path, errcode, n)
answers errcode on the next n calls to path; expire_tokens() ends every
token's life now. drafts: media_id -> article; publishes: media_id ->
times published (stays 1 when nothing is published twice)."""
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
        self._ids = itertools.count(1)
        super().__init__()

    # --- control ---------------------------------------------------------
    def rate(self, n):
        with self.lock:
            self.rate_left = n

    def fail(self, path, errcode, n=1):
        with self.lock:
            self.fails[path] = [errcode, n]

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
                        "/cgi-bin/freepublish/submit"):
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
            return 200, {"errcode": 0, "errmsg": "ok", "publish_id": str(next(self._ids))}

    def article(self, pred):
        """The drafts whose article matches pred, as (media_id, article)."""
        with self.lock:
            return [(m, a) for m, a in self.drafts.items() if pred(a)]
