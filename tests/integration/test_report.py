# ga-test-backends: sqlite pg
"""`geoalert report timeliness`: per incident the times from first report to
draft, confirmation (and who) and delivery, and per month median and worst."""
import csv
import io
import json
import subprocess
import urllib.request

from harness import GEOALERT, Broker, Geoalert, Runner, Station, report
from endpoints import Portal

runner = Runner()
broker = Broker().start()
portal = Portal("portal-token")
ga = Geoalert(broker, extra={"channel.portal": {"type": "portal", "url": portal.url("/api/alerts"),
                                                "token_file": "TOKEN"}})
with open(ga.dir + "/portal.token", "w") as f:
    f.write("portal-token\n")
ga.sections["channel.portal"]["token_file"] = ga.dir + "/portal.token"
ga.write_config()


def run(*args):
    return subprocess.run([GEOALERT, *args], capture_output=True, timeout=60)


token = run("officer", "add", "wang", "--role", "duty_officer", "-c", ga.conf).stdout.decode().strip()
ga.start()
st = Station(broker)


def confirm(aid):
    req = urllib.request.Request("http://127.0.0.1:%d/api/v1/alerts/%s/confirm"
                                 % (ga.http_port, aid), data=b"{}", method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def test_timeliness():
    # one confirmed and delivered incident, one left as a draft
    st.publish("JS-3201-0007", report("JS-3201-0007", "t-1"))
    a = st.wait_receipt("t-1")["incident_id"]
    st.publish("JS-3211-0002", report("JS-3211-0002", "t-2", kind="disaster",
                                      hazard_type="collapse", figures={"deaths": 12}))
    b = st.wait_receipt("t-2")["incident_id"]
    assert confirm(a)["published"] is True
    import time
    deadline = time.monotonic() + 20
    while not portal.accepted and time.monotonic() < deadline:
        time.sleep(0.1)
    assert portal.accepted, "portal got nothing"
    time.sleep(0.5)  # the delivery's commit follows the portal's answer
    p = run("report", "timeliness", "--since", "2000-01-01", "-c", ga.conf)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    inc = {i["incident_id"]: i for i in out["incidents"]}
    assert set(inc) == {a, b}, out
    assert inc[a]["confirmed_by"] == ["wang"], inc[a]
    assert inc[a]["draft_at"] and inc[a]["confirmed_at"], inc[a]
    assert inc[a]["delivered_at"]["portal"].endswith("+08:00"), inc[a]
    assert inc[b]["confirmed_at"] is None and inc[b]["delivered_at"] == {}, inc[b]
    assert inc[b]["level"] == "large"
    (month,) = out["months"]
    assert month["incidents"] == 2
    assert month["report_to_draft"]["count"] == 2
    assert month["draft_to_confirm"]["count"] == 1
    assert month["confirm_to_delivered"]["count"] == 1
    assert 0 <= month["confirm_to_delivered"]["median_s"] < 30, month
    # csv: one row per incident and channel, then the monthly block
    p = run("report", "timeliness", "--since", "2000-01-01", "--format", "csv", "-c", ga.conf)
    assert p.returncode == 0, p.stderr
    head, _, summary = p.stdout.decode().partition("\n\n")
    rows = list(csv.DictReader(io.StringIO(head)))
    assert {r["incident_id"] for r in rows} == {a, b}
    assert [r["channel"] for r in rows if r["incident_id"] == a] == ["portal"]
    assert "confirm_to_delivered,1," in summary, summary
    # nothing since tomorrow; bad arguments are refused
    p = run("report", "timeliness", "--since", "2999-01-01", "-c", ga.conf)
    assert json.loads(p.stdout)["incidents"] == []
    assert run("report", "timeliness", "--since", "yesterday", "-c", ga.conf).returncode == 1
    assert run("report", "timeliness", "-c", ga.conf).returncode == 2


runner.run(test_timeliness)
st.close()
ga.stop()
portal.close()
broker.stop()
runner.finish()
