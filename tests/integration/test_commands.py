"""The command-line contract (spec §7): check-config and classify."""
import json
import os
import subprocess

from harness import GEOALERT, SRC, STATIONS, Runner, tmpdir

DATA = os.path.join(SRC, "tests", "data")
runner = Runner()
d = tmpdir("cmd")


def run(*args, stdin=None):
    p = subprocess.run([GEOALERT, *args], input=stdin, capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def write(name, text):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


GOOD = """[mqtt]
url = mqtt://127.0.0.1:1883
[store]
path = %s/geoalert.db
[stations]
file = %s
[geo]
service_area = 32
[alerts]
publish_min_level = large
""" % (d, STATIONS)


def test_check_config_ok():
    rc, out, _ = run("check-config", "-c", write("good.ini", GOOD))
    assert rc == 0, out
    assert "ok (2 stations)" in out, out


def test_check_config_names_line():
    path = write("bad.ini", GOOD + "colour = red\n")
    rc, out, _ = run("check-config", "-c", path)
    assert rc == 1
    assert "bad.ini:11:" in out and "colour" in out, out


def test_check_config_bad_registry_names_feature():
    reg = json.load(open(STATIONS, encoding="utf-8"))
    reg["features"][1]["properties"]["admin_code"] = "32118"
    bad = write("stations.geojson", json.dumps(reg, ensure_ascii=False))
    rc, out, _ = run("check-config", "-c", write("badreg.ini", GOOD.replace(STATIONS, bad)))
    assert rc == 1
    assert "JS-3211-0002" in out and "admin_code" in out, out


def test_check_config_missing_secret():
    text = GOOD.replace("[store]", "username = ga\nshare_group = 9c1e5b7a\n"
                        "password_file = %s/nope\n[store]" % d)
    rc, out, _ = run("check-config", "-c", write("secret.ini", text))
    assert rc == 1 and "nope" in out, out


def test_check_config_default_share_group_with_account():
    text = GOOD.replace("[store]", "username = ga\n[store]")
    rc, out, _ = run("check-config", "-c", write("group.ini", text))
    assert rc == 1 and "share_group" in out and "secret" in out, out


def test_classify_examples():
    rc, out, _ = run("classify", os.path.join(DATA, "report-disaster-gk.json"))
    assert rc == 0, out
    c = json.loads(out)
    assert list(c) == ["kind", "level", "level_zh", "response_level", "color", "publish",
                       "reasons"], c
    assert c["kind"] == "disaster" and c["level"] == "medium" and c["publish"] is False, c
    assert c["response_level"] == "III" and c["color"] == "yellow", c
    assert c["reasons"][0].startswith("deaths+missing 3 >= 3"), c
    rc, out, _ = run("classify", "-", stdin=open(os.path.join(DATA, "report-invalid.json"),
                                               "rb").read())
    assert rc == 1
    paths = sorted(e["path"] for e in json.loads(out)["errors"])
    assert paths == ["/figures/deaths", "/figures/injured", "/hazard_type", "/observed_at",
                     "/report_id"], paths


def test_classify_with_registry():
    # with -c the registry gives the danger its 620 threatened people: large
    rc, out, _ = run("classify", "-c", write("good.ini", GOOD),
                     os.path.join(DATA, "report-danger-registry.json"))
    assert rc == 0, out
    c = json.loads(out)
    assert c["level"] == "large" and c["publish"] is True, c
    assert c["reasons"][0] == "threatened_people 620 >= 500: large", c


def test_classify_extra_large_boundary():
    r = {"schema": "geohazard.report/1", "report_id": "x", "station_id": "S",
         "kind": "disaster", "hazard_type": "debris_flow",
         "observed_at": "2026-01-01T00:00:00+08:00", "figures": {"deaths": 29, "missing": 1}}
    rc, out, _ = run("classify", "-", stdin=json.dumps(r).encode())
    assert rc == 0 and json.loads(out)["level"] == "extra_large", out
    r["figures"] = {"deaths": 29}
    rc, out, _ = run("classify", "-", stdin=json.dumps(r).encode())
    assert json.loads(out)["level"] == "large", out


def test_classify_without_config_judges_the_location():
    # spec §7: without -c only the station goes unchecked; an unknown CRS
    # or a point outside the (default) service area is refused as serve
    # would refuse it
    with open(os.path.join(DATA, "report-danger-registry.json"), encoding="utf-8") as f:
        r = json.load(f)
    r["location"] = {"crs": "EPSG:99999", "coordinates": [118.62, 32.06]}
    rc, out, _ = run("classify", "-", stdin=json.dumps(r).encode())
    assert rc == 1 and "/location/crs" in [e["path"] for e in json.loads(out)["errors"]], out
    r["location"] = {"crs": "EPSG:4326", "coordinates": [116.40, 39.90]}  # Beijing
    rc, out, _ = run("classify", "-", stdin=json.dumps(r).encode())
    assert rc == 1 and "outside_area" in [e["code"] for e in json.loads(out)["errors"]], out


def test_help():
    rc, out, err = run("--help")
    assert rc == 0 and "usage: geoalert COMMAND" in out and err == "", (rc, out, err)
    rc, out, err = run("no-such-command")
    assert rc == 2 and out == "" and "usage: geoalert COMMAND" in err, (rc, out, err)


def test_no_registry_every_station_unknown():
    # a config without [stations] file: classify -c judges as serve would
    conf = write("noreg.ini", "\n".join(l for l in GOOD.splitlines()
                                        if not l.startswith("file =")) + "\n")
    rc, out, err = run("check-config", "-c", conf)
    assert rc == 0 and "ok (0 stations)" in out, (out, err)
    assert "every report will be rejected" in err, err
    rc, out, _ = run("classify", "-c", conf, os.path.join(DATA, "report-danger-registry.json"))
    assert rc == 1, out
    errs = json.loads(out)["errors"]
    assert [(e["path"], e["code"]) for e in errs] == [("/station_id", "unknown_station")], errs
    # without -c the station is not checked at all (spec §7)
    rc, out, _ = run("classify", os.path.join(DATA, "report-danger-registry.json"))
    assert rc == 0, out


for t in (test_check_config_ok, test_check_config_names_line,
          test_check_config_bad_registry_names_feature, test_check_config_missing_secret,
          test_check_config_default_share_group_with_account, test_classify_examples, test_classify_with_registry,
          test_classify_extra_large_boundary, test_no_registry_every_station_unknown,
          test_help, test_classify_without_config_judges_the_location):
    runner.run(t)
runner.finish()
