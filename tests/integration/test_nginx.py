# ga-test-backends: sqlite pg
"""deploy/nginx/geoalert.conf in front of the real geoalert: the file as
shipped, with only its ports, certificate and cache paths changed, passes
`nginx -t` and then serves: TLS with HSTS, bodies past the API's 64 KiB cap
refused by nginx (413), the API never cached, public pages cached (MISS
then HIT), anything but GET/HEAD on them refused, a failed login counted
against the real client (X-Forwarded-For, [http] trusted_proxies). Needs
nginx (Debian: nginx-light) and openssl."""
import http.client
import json
import os
import shutil
import ssl
import subprocess
import urllib.error
import urllib.request

import flows
from harness import SRC, Broker, Geoalert, Runner, free_port, tmpdir

runner = Runner()
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
assert os.path.exists(NGINX), "nginx is not installed (Debian: apt-get install nginx-light)"

D = tmpdir("nginx")
for sub in ("conf", "logs", "cache", "acme", "tmp"):
    os.makedirs(os.path.join(D, sub))
HTTP_PORT, HTTPS_PORT = free_port(), free_port()
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", os.path.join(D, "k.pem"),
                "-out", os.path.join(D, "c.pem"), "-days", "2", "-subj",
                "/CN=alerts.example.gov.cn"], check=True, capture_output=True, timeout=60)

broker = Broker().start()
ga = Geoalert(broker, extra={"http": {"trusted_proxies": "127.0.0.1 ::1"}})
flows.officer(ga, "duty1", "duty_officer", "correct horse battery")
ga.start()


def site_conf():
    with open(os.path.join(SRC, "deploy", "nginx", "geoalert.conf")) as f:
        conf = f.read()
    for old, new in (
            ("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % ga.http_port),
            ("/var/cache/nginx/geoalert", os.path.join(D, "cache")),
            ("/etc/ssl/geoalert/fullchain.pem", os.path.join(D, "c.pem")),
            ("/etc/ssl/geoalert/privkey.pem", os.path.join(D, "k.pem")),
            ("root /var/www/acme;", "root %s;" % os.path.join(D, "acme")),
            ("listen 80;", "listen 127.0.0.1:%d;" % HTTP_PORT),
            ("listen [::]:80;", ""),
            ("listen 443 ssl http2;", "listen 127.0.0.1:%d ssl http2;" % HTTPS_PORT),
            ("listen [::]:443 ssl http2;", "")):
        assert old in conf, "geoalert.conf no longer has %r" % old
        conf = conf.replace(old, new)
    return conf


with open(os.path.join(D, "conf", "geoalert.conf"), "w") as f:
    f.write(site_conf())
MAIN = os.path.join(D, "conf", "nginx.conf")
with open(MAIN, "w") as f:
    tmp = os.path.join(D, "tmp")
    # as root, the workers would run as nobody and not reach the temp dir
    f.write("user root;\n" if os.getuid() == 0 else "")
    f.write("pid %s/nginx.pid;\nerror_log %s/logs/error.log;\nevents {}\nhttp {\n"
            "  access_log %s/logs/access.log;\n"
            "  client_body_temp_path %s/body; proxy_temp_path %s/proxy;\n"
            "  fastcgi_temp_path %s/fcgi; uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;\n"
            "  include %s/conf/geoalert.conf;\n}\n" % ((D, D, D) + (tmp,) * 5 + (D,)))

CTX = ssl.create_default_context(cafile=os.path.join(D, "c.pem"))
CTX.check_hostname = False


def req(path, data=None, method=None, scheme="https"):
    port = HTTPS_PORT if scheme == "https" else HTTP_PORT
    r = urllib.request.Request("%s://127.0.0.1:%d%s" % (scheme, port, path), data=data,
                               method=method)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=CTX),
                                         NoRedirect())
    try:
        with opener.open(r, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def test_config_check():
    res = subprocess.run([NGINX, "-t", "-p", D, "-c", MAIN], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 0, res.stderr
    subprocess.run([NGINX, "-p", D, "-c", MAIN], check=True, timeout=30)


def test_tls_and_health():
    code, h, body = req("/healthz")
    assert code == 200, (code, body)
    assert h["Strict-Transport-Security"].startswith("max-age=31536000"), dict(h)
    code, h, _ = req("/healthz", scheme="http")
    assert code == 301 and h["Location"].startswith("https://"), (code, dict(h))


def test_body_cap():
    code, _, _ = req("/api/v1/alerts/x/confirm", data=b"{" + b" " * 70000 + b"}",
                     method="POST")
    assert code == 413, code
    # at the cap nginx lets it through (geoalert answers: no token)
    code, h, _ = req("/api/v1/alerts/x/confirm", data=b"{" + b" " * (64 * 1024 - 2) + b"}",
                     method="POST")
    assert code == 401, code
    assert "X-Cache" not in h and "no-store" in h.get("Cache-Control", ""), dict(h)


def test_public_cached():
    code, h, _ = req("/")
    if code == 404:
        raise AssertionError("geoalert serves no public page at / (build without them?)")
    assert code == 200 and h["X-Cache"] in ("MISS", "EXPIRED"), (code, dict(h))
    code, h, _ = req("/")
    assert code == 200 and h["X-Cache"] == "HIT", (code, dict(h))
    code, _, _ = req("/", data=b"x", method="POST")
    assert code == 403, code


def test_login_sees_the_real_client():
    """Behind nginx, geoalert counts a failed login against the client's
    address (X-Forwarded-For from a trusted proxy), not 127.0.0.1; what the
    client wrote in X-Forwarded-For itself is replaced by nginx."""
    conn = http.client.HTTPSConnection("127.0.0.1", HTTPS_PORT, timeout=10, context=CTX,
                                       source_address=("127.0.0.7", 0))
    try:
        conn.request("POST", "/console/login",
                     body=json.dumps({"name": "duty1", "password": "not the password"}),
                     headers={"Content-Type": "application/json", "X-Geoalert-Login": "1",
                              "X-Forwarded-For": "6.6.6.6"})
        r = conn.getresponse()
        r.read()
        assert r.status == 401, r.status
    finally:
        conn.close()
    rows = ga.query("SELECT remote FROM login_attempts")
    assert rows == [("127.0.0.7",)], rows


try:
    runner.run(test_config_check)
    runner.run(test_tls_and_health)
    runner.run(test_body_cap)
    runner.run(test_public_cached)
    runner.run(test_login_sees_the_real_client)
finally:
    subprocess.run([NGINX, "-p", D, "-c", MAIN, "-s", "stop"], capture_output=True, timeout=30)
    ga.stop()
    broker.stop()
runner.finish()
