#!/usr/bin/env python3
"""The fleet of tests/bench/devices.sh: a station registry and a device
registry (spec §4, §12) that tests/tools/ga_devpub.c publishes for.

    devices_registry.py STATIONS_OUT DEVICES_OUT [SLOW [FAST [KIND]]]

SLOW devices (100 000) BF000000.. report every 10 min: nine in ten are
crack meters (L1_LF_1 value, change_24h 2/5/10/20 mm), every tenth
(index % 10 == 9) a GNSS station (L1_GP_1 horizontal, rate_per_day
5/10/30 mm/d and tangent_angle 80/85/89°); ten devices a station. FAST
devices (2 000) after them are rain gauges (L3_YL_1 value, sum_1h
20/30/50/70 and sum_24h 25/50/100/150 mm), ten a station of their own.
Each device judges one series (one window). The stations lie on a grid
inside 浦口区 (320111), 118.602-118.658 E, 32.042-32.078 N, like the
ingest benchmark's (check-config places each one).

KIND (tests/bench/devices_mem.sh) makes every device one kind instead:
crack, gnss or rain (the rules above); mixed, the default, is the fleet
above."""
import json
import sys

HAZARDS = ["landslide", "collapse", "debris_flow", "ground_collapse", "ground_fissure",
           "land_subsidence"]
CRACK = [{"channel": "L1_LF_1", "field": "value", "metric": "change_24h",
          "blue": 2, "yellow": 5, "orange": 10, "red": 20}]
GNSS = [{"channel": "L1_GP_1", "field": "horizontal", "metric": "rate_per_day",
         "yellow": 5, "orange": 10, "red": 30},
        {"channel": "L1_GP_1", "field": "horizontal", "metric": "tangent_angle",
         "v_ref_per_day": 0.5, "yellow": 80, "orange": 85, "red": 89}]
RAIN = [{"channel": "L3_YL_1", "field": "value", "metric": "sum_1h",
         "blue": 20, "yellow": 30, "orange": 50, "red": 70},
        {"channel": "L3_YL_1", "field": "value", "metric": "sum_24h",
         "blue": 25, "yellow": 50, "orange": 100, "red": 150}]


def station_id(k):
    return "FLEET-%05d" % k


def main():
    if len(sys.argv) not in (3, 4, 5, 6):
        sys.exit(__doc__)
    kind = sys.argv[5] if len(sys.argv) > 5 else "mixed"
    if kind not in ("mixed", "crack", "gnss", "rain"):
        sys.exit("KIND: mixed, crack, gnss or rain")
    slow = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    fast = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    if slow < 10 or slow % 10 or fast < 0 or fast % 10 or slow + fast > 999999:
        sys.exit("SLOW and FAST: multiples of 10, SLOW >= 10, together < 10^6")
    nst = (slow + fast) // 10
    cols = 102
    rows = (nst + cols - 1) // cols
    features = []
    for k in range(nst):
        c, r = k % cols, k // cols
        lon = 118.602 + c * (0.056 / (cols - 1))
        lat = 32.042 + (r * (0.036 / (rows - 1)) if rows > 1 else 0)
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                         "properties": {"station_id": station_id(k), "name": "fleet %d" % k,
                                        "hazard_point_id": "3201118%05d" % k,
                                        "hazard_type": HAZARDS[k % len(HAZARDS)],
                                        "admin_code": "320111", "threatened_people": 20,
                                        "threatened_property_cny": 500000}})
    with open(sys.argv[1], "w") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f, separators=(",", ":"))
    devices = []
    for i in range(slow + fast):
        if kind == "mixed":
            rules = RAIN if i >= slow else GNSS if i % 10 == 9 else CRACK
        else:
            rules = {"crack": CRACK, "gnss": GNSS, "rain": RAIN}[kind]
        devices.append({"device_code": "BF%06d" % i, "station_id": station_id(i // 10),
                        "interval_s": 600, "rules": rules})
    with open(sys.argv[2], "w") as f:
        json.dump({"devices": devices}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
