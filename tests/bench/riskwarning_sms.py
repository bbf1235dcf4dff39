"""Risk warning SMS fan-out (issue 14; docs/benchmarks.md "Risk warnings:
SMS fan-out").

A product covering every county of the bundled regions (the 13 city
codes; levels red/orange/yellow/blue by city, so some counties are blue),
recipients spread over the county files of its public counties (R numbers
in all, as evenly as they divide) plus 1,000 numbers in the blue
counties' files, which must get nothing; one sms channel and the SMS
gateway stand-in of the integration tests. Per run a fresh product is
posted and confirmed by two officers; the time from just before the
second confirm (the one that publishes) to the gateway's acceptance of
the last batch is taken; every public number must have exactly one
message, no blue one any. Against the real broker and daemon (GEOALERT:
use a release build); every wait is bounded. Prints the figures and one
JSON line; asserts nothing about time.

Usage: GA_SOURCE_DIR=. GEOALERT=build/ci/geoalert python3 tests/bench/riskwarning_sms.py \
           [RECIPIENTS [BATCH [RUNS]]]     (50000 1000 3)
"""
import datetime
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import flows  # noqa: E402
from endpoints_weibo_sms import SmsGateway  # noqa: E402
from harness import Broker, Geoalert, secret_file, tmpdir  # noqa: E402

NR = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
BATCH = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
assert 1 <= NR <= 1000000 and 1 <= BATCH <= 1000 and 1 <= RUNS <= 9
NBLUE = 1000
TZ = datetime.timezone(datetime.timedelta(hours=8))
LEVELS = ["red", "orange", "yellow", "blue"]


def when(s):
    return (datetime.datetime.now(TZ) + datetime.timedelta(seconds=s)).isoformat(
        timespec="seconds")


def product(pid):
    areas = {}
    for c in range(1, 14):
        areas.setdefault(LEVELS[c % 4], []).append("32%02d" % c)
    return {"schema": "geohazard.riskwarning/1", "product_id": pid, "issued_at": when(0),
            "valid_from": when(3600), "valid_to": when(25 * 3600),
            "issuers": ["江苏省自然资源厅", "江苏省气象局"],
            "areas": [{"level": lv, "admin_codes": codes} for lv, codes in areas.items()],
            "rain_summary": "全省大部有中到大雨，局部暴雨。", "advice": "请加强巡查。",
            "supersedes": None}


work = tmpdir("bench-rwsms")
rcpt = os.path.join(work, "recipients")
os.mkdir(rcpt)
gw = SmsGateway("bench-rw-token", "SMS_BENCH_RW", "地灾预警", batch_max=BATCH,
                params=["level", "place"])
broker = Broker().start()
ga = Geoalert(broker, extra={"channel.sms": {
    "type": "sms", "url": gw.url("/sms/send"),
    "token_file": secret_file(work, "gw-token", gw.token),
    "template_code": gw.template_code, "sign_name": gw.sign_name,
    "params": "level=level_zh,place=admin_name", "recipients_dir": rcpt,
    "batch_size": str(BATCH)}})
tok1 = flows.officer(ga, "bench1")
tok2 = flows.officer(ga, "bench2")
ga.start()


def call(method, path, token, body=None):
    return flows.call(ga, method, path, token, body)


# The counties and their levels, from a first product (not confirmed).
code, res = call("POST", "/api/v1/riskwarnings", tok1, product("BENCH-RWSMS-PROBE"))
assert code == 201, res
counties = call("GET", "/api/v1/riskwarnings/BENCH-RWSMS-PROBE", tok1)[1]["product"]["counties"]
public = [c["admin_code"] for c in counties if c["level"] != "blue"]
blue = [c["admin_code"] for c in counties if c["level"] == "blue"]
EXPECTED, NEVER = set(), set()
NB = 0  # batches: one county file's numbers never share a batch with another's
for k, c in enumerate(public):
    n = NR // len(public) + (1 if k < NR % len(public) else 0)
    NB += (n + BATCH - 1) // BATCH
    phones = ["+86138%04d%04d" % (k, i) for i in range(n)]
    EXPECTED.update(phones)
    with open(os.path.join(rcpt, c + ".txt"), "w") as f:
        f.write("\n".join(phones) + "\n")
for k, c in enumerate(blue):
    phones = ["+86137%04d%04d" % (k, i) for i in range(NBLUE // len(blue))]
    NEVER.update(phones)
    with open(os.path.join(rcpt, c + ".txt"), "w") as f:
        f.write("\n".join(phones) + "\n")
assert len(EXPECTED) == NR

runs = []
for r in range(RUNS):
    pid = "BENCH-RWSMS-%d-%d" % (os.getpid(), r)
    assert call("POST", "/api/v1/riskwarnings", tok1, product(pid))[0] == 201
    assert call("POST", "/api/v1/riskwarnings/%s/confirm" % pid, tok1)[0] == 200
    t0 = time.monotonic()
    code, res = call("POST", "/api/v1/riskwarnings/%s/confirm" % pid, tok2)
    assert code == 200 and res["published"], res
    key = pid + ":1"
    gw.wait_batches(key, NB, 600)  # cheaper than wait_sent's 50,000 look-ups under its lock
    # the records (with arrival times) are kept once answered
    acc = gw.wait(lambda q: q.get("accepted") and q["out_id"].rsplit(":", 1)[0] == key, 60,
                  count=NB)
    got = gw.sent[key]
    assert len(got) == NR and all(n == 1 for n in got.values()), "lost or doubled numbers"
    assert not NEVER & set(got), "a blue county's number got the warning"
    refused = gw.of(lambda q: (q.get("out_id") or "").startswith(key + ":")
                    and not q.get("accepted"))
    assert not refused, [(q["out_id"], q["answer"]) for q in refused][:3]
    t_first, t_last = min(q["t"] for q in acc), max(q["t"] for q in acc)
    runs.append({"product": pid, "batches": len(acc),
                 "first_batch_ms": round((t_first - t0) * 1000, 2),
                 "last_batch_s": round(t_last - t0, 3), "per_s": round(NR / (t_last - t0), 1)})
ga.stop()
broker.stop()

print("Risk warning SMS fan-out: %d recipients over %d public counties' files (+%d in %d blue "
      "counties' files, none sent), batch_size %d, %d products"
      % (NR, len(public), len(NEVER), len(blue), BATCH, RUNS))
for r in runs:
    print("  %s: %d batches, first %.1f ms, last %.3f s after the publishing confirm: "
          "%.0f recipients/s" % (r["product"], r["batches"], r["first_batch_ms"],
                                 r["last_batch_s"], r["per_s"]))
print("  median %.0f recipients/s" % statistics.median(q["per_s"] for q in runs))
print(json.dumps({"recipients": NR, "public_counties": len(public), "blue_counties": len(blue),
                  "batch_size": BATCH, "runs": runs,
                  "median_per_s": statistics.median(q["per_s"] for q in runs)}))
