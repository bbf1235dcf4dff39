"""`geoalert locate` (spec §7): the real binary, bundled regions, and a
config with a service area and a Helmert for Xian 1980."""
import json
import os
import subprocess
import sys
import tempfile

GEOALERT = os.environ["GEOALERT"]
failures = 0


def locate(*args):
    p = subprocess.run([GEOALERT, "locate", *args], capture_output=True, text=True,
                       timeout=60)
    out = json.loads(p.stdout) if p.stdout.strip() else None
    return p.returncode, out, p.stderr


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
    if not cond:
        failures += 1


rc, out, _ = locate("--crs", "EPSG:4549", "420005.4", "3559577.0")
check("GK example", rc == 0 and out == {"lon": 119.1520002, "lat": 32.1570003,
                                        "admin_code": "321183",
                                        "admin_name": "江苏省镇江市句容市"}, out)
check("keys in contract order", rc == 0 and list(out) == ["lon", "lat", "admin_code",
                                                          "admin_name"], out)

rc, out, _ = locate("--crs", "EPSG:4490", "119.81846", "31.34271")
check("lon/lat", rc == 0 and out["admin_code"] == "320282"
      and out["admin_name"] == "江苏省无锡市宜兴市", out)

rc, out, _ = locate("--crs", "EPSG:4490", "121.47", "31.23")
check("outside every region", rc == 0 and out["admin_code"] is None
      and out["admin_name"] is None and abs(out["lon"] - 121.47) < 1e-9, out)

rc, out, _ = locate("--crs", "EPSG:999999", "1", "2")
check("unknown CRS", rc == 1 and out["errors"][0]["path"] == "/crs", out)

rc, out, _ = locate("--crs", "EPSG:4549", "3559577.0", "420005.4")
check("northing first is refused", rc == 1 and out["errors"][0]["path"] == "/coordinates",
      out)

rc, out, _ = locate("--crs", "EPSG:4490", "inf", "32")
check("non-finite", rc == 1 and out["errors"][0]["path"] == "/coordinates", out)

rc, out, err = locate("--crs", "EPSG:2385", "420005.4", "3559577.0")
check("Xian 1980 warns", rc == 0 and "ballpark" in err and out["admin_code"] == "321183",
      err)

rc, out, err = locate("--crs", "EPSG:4490")
check("usage", rc == 2 and out is None and "usage" in err, err)

with tempfile.TemporaryDirectory() as d:
    cfg = os.path.join(d, "geoalert.ini")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write("[geo]\nservice_area = 32\nhelmert.4610 = -100.5,-50.2,-80.3,0,0,0,0\n")
    rc, out, err = locate("-c", cfg, "--crs", "EPSG:2385", "420005.4", "3559577.0")
    if rc == 0:
        check("Helmert from config", abs(out["lon"] - 119.1531904) < 2e-7
              and abs(out["lat"] - 32.1563475) < 2e-7 and "ballpark" not in err, (out, err))
    else:
        check("config accepted", False, (rc, out, err))

sys.exit(1 if failures else 0)
