# ga-test-backends: sqlite pg
"""The sms channel type against the real broker and daemon and a local SMS
gateway stand-in (endpoints_weibo_sms.SmsGateway), which checks the bearer
token, template code, sign name, the parameters' names and lengths, the
batch size, and dedupes out_id: a confirmed alert reaches every number of
its county's list and its city's list exactly once, in batches of
batch_size; the gateway failing batch 3 makes the delivery go on from batch
3 (batches 1 and 2 are not sent again); geoalert killed -9 in the middle of
the fan-out (gateway slowed) and restarted: every number still exactly one
message, the batches accepted before the kill not sent again.

Every wait is bounded."""
import os

import flows
from endpoints_weibo_sms import SmsGateway
from harness import Broker, Geoalert, Runner, Station, secret_file, tmpdir

STATIONS = flows.grid("SMS-%04d" % (i + 1) for i in range(9))
N_COUNTY = 1000
BATCH = 100
PARAMS = ["level", "hazard", "place", "id"]

WORK = tmpdir("sms")
RCPT = os.path.join(WORK, "recipients")
os.mkdir(RCPT)
# 浦口区 (320111): 1000 numbers, unsorted, with comments; 南京市 (320100):
# 20 more, 5 of them also in the county's list
COUNTY = ["+86139%08d" % (i * 7919 % 100000000) for i in range(N_COUNTY)]
CITY = COUNTY[:5] + ["1370000%04d" % i for i in range(15)]
with open(os.path.join(RCPT, "320111.txt"), "w") as f:
    f.write("# 浦口区 alert recipients\n\n")
    for i, p in enumerate(reversed(COUNTY)):
        f.write("%s%s\n" % (p, "   # 村组 %d" % i if i % 10 == 0 else ""))
with open(os.path.join(RCPT, "320100.txt"), "w") as f:
    f.write("\n".join(CITY) + "\n")
# another county's list: never used for these alerts
with open(os.path.join(RCPT, "320102.txt"), "w") as f:
    f.write("+8615000000000\n")
ALL = sorted(set(COUNTY) | set(CITY))
assert len(ALL) == N_COUNTY + 15
NBATCH = (len(ALL) + BATCH - 1) // BATCH

gw = SmsGateway("sms-gw-token-9", "SMS_290000001", "江苏地灾预警", batch_max=BATCH, params=PARAMS)
runner = Runner()
broker = Broker().start()
REGISTRY = os.path.join(WORK, "stations.geojson")
flows.write_registry(REGISTRY, STATIONS, "短信测试站", "32011166")
ga = Geoalert(broker, stations=REGISTRY, extra={"channel.sms": {
    "type": "sms", "url": gw.url("/sms/send"),
    "token_file": secret_file(WORK, "sms-token", gw.token),
    "template_code": gw.template_code, "sign_name": gw.sign_name,
    "params": "level=level_zh, hazard=hazard_zh, place=admin_name, id=alert_id",
    "recipients_dir": RCPT, "batch_size": str(BATCH),
    "backoff_initial_ms": "200", "backoff_max_ms": "800", "timeout_ms": "3000"}})
DUTY = flows.officer(ga, "duty1")
ga.start()
st = Station(broker)
new_alert = flows.alert_maker(ga, st, DUTY, STATIONS, details={"place": "浦口区测试山体"})


def row(aid):
    """aid's version 1 to sms, once delivered (asked again while the
    daemon restarts)."""
    return flows.wait_delivery(ga, DUTY, aid, "sms", timeout=30.0, retry_errors=True)


def requests_of(aid):
    return gw.of(lambda r: (r.get("out_id") or "").startswith(aid + ":1:"))


def assert_each_once(aid):
    got = gw.sent.get(aid + ":1", {})
    assert sorted(got) == ALL, (len(got), len(ALL))
    many = [n for n in got.values() if n != 1]
    assert not many, "%d numbers got more than one message" % len(many)
    assert sorted(gw.batches_of(aid + ":1")) == sorted(
        "%s:1:%d" % (aid, k) for k in range(1, NBATCH + 1))


def test_every_number_of_county_and_city_once():
    aid = new_alert()
    d = row(aid)
    assert d["attempts"] == 1, d
    assert_each_once(aid)
    reqs = requests_of(aid)
    assert len(reqs) == NBATCH, len(reqs)  # nothing sent twice
    assert [len(r["phones"]) for r in reqs] == [BATCH] * (NBATCH - 1) + [
        len(ALL) - BATCH * (NBATCH - 1)]
    p = reqs[0]["params"]
    assert p == {"level": "大型", "hazard": "滑坡", "place": "江苏省南京市浦口区", "id": aid}, p
    assert "+8615000000000" not in gw.sent[aid + ":1"]


def test_500_on_batch_3_goes_on_from_batch_3():
    gw.fail_batch(3, 1)
    aid = new_alert()
    d = row(aid)
    assert d["attempts"] == 2 and "500" in d["last_error"], d
    assert_each_once(aid)
    by = {}
    for r in requests_of(aid):
        by.setdefault(int(r["out_id"].rsplit(":", 1)[1]), []).append(r["status"])
    assert by[1] == [200] and by[2] == [200], by  # not sent again
    assert by[3] == [500, 200], by
    assert all(by[k] == [200] for k in range(4, NBATCH + 1)), by


def test_kill9_mid_fanout_every_number_once():
    gw.delay_s = 0.3
    aid = new_alert()
    gw.wait_batches(aid + ":1", 4, 30)
    ga.kill9()
    before = set(gw.batches_of(aid + ":1"))
    assert len(before) < NBATCH, "the fan-out ended before the kill"
    gw.delay_s = 0.0
    ga.start()
    d = row(aid)
    assert_each_once(aid)
    by = {}
    for o, code in list(gw.batch_log):
        if o.startswith(aid + ":1:"):
            by.setdefault(o, []).append(code)
    # at most the batch in flight at the kill was sent again (and was
    # answered DUPLICATE_OUT_ID); those accepted and recorded before were not
    again = [o for o, codes in by.items() if len(codes) > 1]
    assert len(again) <= 1, by
    assert all(by[o] == ["OK", "DUPLICATE_OUT_ID"] for o in again), by
    assert len(by["%s:1:1" % aid]) == 1 and len(by) == NBATCH, by
    print("  killed after %d of %d batches; sent again: %s; attempts %d"
          % (len(before), NBATCH, again or "none", d["attempts"]))


for t in (test_every_number_of_county_and_city_once, test_500_on_batch_3_goes_on_from_batch_3,
          test_kill9_mid_fanout_every_number_once):
    runner.run(t)
ga.stop()
gw.close()
broker.stop()
runner.finish()
