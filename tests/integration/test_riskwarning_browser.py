# ga-test-backends: sqlite pg
"""The public page of a risk warning in headless Chromium
(tests/browser/riskwarning.test.js, playwright-core) at 390 px and
1366 px: the example product published by two officers, then the map
fits the phone's width without a sideways scroll, every public county
coloured by its level (1 red, 2 orange, 2 yellow), nothing blue, the
legend visible at 12 px or more. Screenshots land in the build
directory (riskwarning-shots)."""
import datetime
import json
import os
import shutil
import subprocess

import flows
from harness import BUILD, SRC, Broker, Geoalert, Runner, npm_install

BROWSER = os.path.join(SRC, "tests", "browser")
SHOTS = os.path.join(BUILD, "riskwarning-shots")
TZ = datetime.timezone(datetime.timedelta(hours=8))

runner = Runner()
broker = Broker().start()
ga = Geoalert(broker)
T1 = flows.officer(ga, "p1", "duty_officer")
T2 = flows.officer(ga, "p2", "duty_officer")
ga.start()




def test_page_at_390():
    npm_install()
    p = json.load(open(os.path.join(SRC, "tests", "data", "riskwarning.json"), encoding="utf-8"))
    now = datetime.datetime.now(TZ)
    p.update(product_id="JS-FX-BROWSER-01", issued_at=now.isoformat(timespec="seconds"),
             valid_from=(now + datetime.timedelta(hours=1)).isoformat(timespec="seconds"),
             valid_to=(now + datetime.timedelta(hours=25)).isoformat(timespec="seconds"))
    assert flows.call(ga, "POST", "/api/v1/riskwarnings", T1, p)[0] == 201
    assert flows.call(ga, "POST", "/api/v1/riskwarnings/JS-FX-BROWSER-01/confirm", T1)[0] == 200
    code, body = flows.call(ga, "POST", "/api/v1/riskwarnings/JS-FX-BROWSER-01/confirm", T2)
    assert code == 200 and body["published"], body
    os.makedirs(SHOTS, exist_ok=True)
    node = shutil.which("node")
    assert node, "node is missing (apt-get install nodejs)"
    counts = {"#d32f2f": 1, "#f57c00": 2, "#fbc02d": 2, "#1976d2": 0}
    r = subprocess.run([node, os.path.join(BROWSER, "riskwarning.test.js"),
                        "http://127.0.0.1:%d/warnings/JS-FX-BROWSER-01" % ga.http_port,
                        json.dumps(counts), SHOTS], capture_output=True, timeout=300)
    print(r.stdout.decode(), r.stderr.decode())
    assert r.returncode == 0, r.stderr.decode()


runner.run(test_page_at_390)
assert ga.stop() == 0
broker.stop()
runner.finish()
if runner.failed:
    raise SystemExit(1)
