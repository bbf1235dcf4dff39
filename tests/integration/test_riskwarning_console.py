# ga-test-backends: sqlite pg
"""The console's 风险预警 view in headless Chromium at 390 px
(tests/browser/rwconsole.test.js, playwright-core), against the real
broker and daemon ([riskwarning] signoff = 2, three officers): a product
composed by tapping counties on the province map, a validation error
shown at its field, submitted, pending; confirmed by two officers, each
with a preview and a second tap; published, /warnings/{id} shows the
counties at their levels; a pending product corrected (the old one
rejected); a rejection and a cancel with their reasons. Then the API and
the audit log are checked for what the browser did. Screenshots land in
the build directory (rwconsole-shots).

Also: GET /api/v1/regions and POST …/preview over HTTP (roles, 404)."""
import copy
import datetime
import json
import os
import shutil
import subprocess
import time

import flows
from harness import BUILD, SRC, Broker, Geoalert, Runner, npm_install

BROWSER = os.path.join(SRC, "tests", "browser")
CHROMIUM = os.environ.get("GA_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(BUILD, "rwconsole-shots")
PASSWORDS = {"zhang": "steep slope watch 1", "li": "river bank night 2", "wang": "county duty desk 3"}
TZ = datetime.timezone(datetime.timedelta(hours=8))
EXAMPLE = json.load(open(os.path.join(SRC, "tests", "data", "riskwarning.json"), encoding="utf-8"))

runner = Runner()
broker = Broker().start()
ga = Geoalert(broker, name="ga-rwconsole")
TOK = {n: flows.officer(ga, n, "supervisor" if n == "wang" else "duty_officer", pw)
       for n, pw in PASSWORDS.items()}
ga.start()




def product(product_id):
    p = copy.deepcopy(EXAMPLE)
    now = datetime.datetime.now(TZ)
    p.update(product_id=product_id, issued_at=now.isoformat(timespec="seconds"),
             valid_from=(now + datetime.timedelta(hours=1)).isoformat(timespec="seconds"),
             valid_to=(now + datetime.timedelta(hours=25)).isoformat(timespec="seconds"))
    return p


def test_regions_and_preview_api():
    t0 = time.monotonic()
    code, hdrs, raw = flows.request(ga, "GET", "/api/v1/regions", TOK["li"])
    took = time.monotonic() - t0
    assert code == 200, (code, raw[:200])
    body = json.loads(raw)
    print("  measured: GET /api/v1/regions %d bytes (map %d bytes, %d counties) in %.0f ms"
          % (len(raw), len(body["map_svg"]), len(body["regions"]), took * 1000))
    codes = [r["admin_code"] for r in body["regions"]]
    assert len(codes) > 90 and "320115" in codes, len(codes)
    assert body["map_svg"].count("<path data-code=") == len(codes)
    assert body["publish_min_level"] == "yellow" and body["sender"], body["sender"]
    assert flows.call(ga, "GET", "/api/v1/regions")[0] == 401
    assert flows.call(ga, "POST", "/api/v1/regions", TOK["li"])[0] == 405
    assert flows.call(ga, "POST", "/api/v1/riskwarnings", TOK["li"],
                      product("RWC-API-01"))[0] == 201
    code, pv = flows.call(ga, "POST", "/api/v1/riskwarnings/RWC-API-01/preview", TOK["li"])
    assert code == 200, (code, pv)
    levels = {lv["level"]: [c["admin_code"] for c in lv["counties"]]
              for lv in pv["public"]["levels"]}
    assert levels == {"red": ["320115"], "orange": ["320111", "320117"],
                      "yellow": ["320281", "320282"]}, levels
    assert "江宁区：一级（红色）" in pv["page_html"] and "丹阳市：" not in pv["page_html"]
    assert "data-code" not in pv["page_html"]  # the public map names no code
    # nothing was confirmed or published by the preview
    code, d = flows.call(ga, "GET", "/api/v1/riskwarnings/RWC-API-01", TOK["li"])
    assert d["state"] == "pending" and d["confirmations"] == 0, d
    assert flows.call(ga, "POST", "/api/v1/riskwarnings/NOPE-1/preview", TOK["li"])[0] == 404
    assert flows.call(ga, "GET", "/api/v1/riskwarnings/RWC-API-01/preview", TOK["li"])[0] == 405


def test_console_in_chromium():
    assert os.access(CHROMIUM, os.X_OK), "%s is missing (apt-get install chromium)" % CHROMIUM
    npm_install()
    node = shutil.which("node")
    assert node, "node is missing (apt-get install nodejs)"
    pending = "RWC-PENDING-01"
    assert flows.call(ga, "POST", "/api/v1/riskwarnings", TOK["wang"], product(pending))[0] == 201
    os.makedirs(SHOTS, exist_ok=True)
    env = dict(os.environ, GA_URL="http://127.0.0.1:%d" % ga.http_port,
               GA_OFFICERS=json.dumps(PASSWORDS), GA_PENDING_ID=pending,
               GA_SHOT_DIR=SHOTS, GA_CHROMIUM=CHROMIUM)
    r = subprocess.run([node, os.path.join(BROWSER, "rwconsole.test.js")], env=env,
                       capture_output=True, timeout=600)
    out = r.stdout.decode(errors="replace")
    print(out, r.stderr.decode(errors="replace"))
    assert r.returncode == 0, "rwconsole.test.js exited %d\n%s" % (r.returncode,
                                                                   ga.log_text()[-3000:])
    res = json.loads([ln for ln in out.splitlines() if ln.startswith("RESULT ")][-1][7:])
    pid, cid = res["product_id"], res["correction_id"]
    # what the browser did, as the API has it
    code, d = flows.call(ga, "GET", "/api/v1/riskwarnings/" + pid, TOK["li"])
    assert code == 200 and d["state"] == "cancelled", d
    assert [c["name"] for c in d["confirmed_by"]] == ["zhang", "li"], d["confirmed_by"]
    assert d["source"] == "api:zhang" and d["reason"] == "降雨已减弱，风险解除", d
    counties = {c["admin_code"]: c["level"] for c in d["product"]["counties"]}
    assert counties == {"320115": "red", "320111": "orange", "320117": "orange",
                        "320281": "yellow", "320282": "yellow", "321181": "blue"}, counties
    code, old = flows.call(ga, "GET", "/api/v1/riskwarnings/" + pending, TOK["li"])
    assert old["state"] == "rejected" and cid in old["reason"], old
    code, new = flows.call(ga, "GET", "/api/v1/riskwarnings/" + cid, TOK["li"])
    assert new["state"] == "rejected" and new["supersedes"] == pending, new
    assert new["reason"] == "区域需与气象局重新会商", new
    assert "320115" not in [c["admin_code"] for c in new["product"]["counties"]]
    rows = ga.query("SELECT action, subject FROM audit WHERE action LIKE 'riskwarning.%'")
    mine = [a for (a, s) in rows if s == pid]
    assert mine == ["riskwarning.received", "riskwarning.confirm", "riskwarning.confirm",
                    "riskwarning.publish", "riskwarning.cancel"], mine
    for name in ("rw-compose", "rw-error", "rw-preview", "rw-published"):
        path = os.path.join(SHOTS, "console-%s.png" % name)
        assert os.path.getsize(path) > 5000, path


runner.run(test_regions_and_preview_api)
runner.run(test_console_in_chromium)
assert ga.stop() == 0
broker.stop()
runner.finish()
if runner.failed:
    raise SystemExit(1)
