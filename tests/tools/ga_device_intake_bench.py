"""Device frames through the real broker, daemon and SQLite, as fast as
one Python process publishes them (docs/devices.md, "Intake, measured").

    tests/tools/ga_device_intake_bench.py DEVICES FRAMES

DEVICES crack meters (one change_24h rule each) on the shared topic, 4
publishers, QoS 1, type-2 frames of one point each; prints the frames
stored per second (first publish -> all stored) and geoalert's CPU per
frame. Uses build/ci (release) unless GA_BUILD_DIR says otherwise.
Bounded: gives up 300 s after the first publish."""
import json
import os
import struct
import sys
import time

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
os.environ.setdefault("GA_SOURCE_DIR", SRC)
os.environ.setdefault("GA_BUILD_DIR", os.path.join(SRC, "build", "ci"))
os.environ.setdefault("GEOALERT", os.path.join(os.environ["GA_BUILD_DIR"], "geoalert"))
import paho.mqtt.client as mqtt  # noqa: E402

from harness import Broker, Geoalert, free_port  # noqa: E402

NDEV, NFRAMES, NPUB = int(sys.argv[1]), int(sys.argv[2]), 4
broker = Broker().start()
ga = Geoalert(broker, name="devbench", sessions=4)
path = os.path.join(ga.dir, "devices.json")
codes = ["B-%05d" % i for i in range(NDEV)]
rule = {"channel": "L1_LF_1", "field": "value", "metric": "change_24h", "blue": 2, "yellow": 5, "orange": 10, "red": 20}
json.dump({"devices": [{"device_code": c, "station_id": "JS-3201-0007" if i % 2 else "JS-3211-0002", "interval_s": 600, "rules": [rule]} for i, c in enumerate(codes)]}, open(path, "w"))
ga.sections["devices"] = {"file": path}
ga.sections["mqtt"]["share_group"] = "devbench"
ga.write_config()
ga.start()
pubs = []
for _ in range(NPUB):
    c = mqtt.Client(client_id="bp-%d" % free_port(), protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000); c.max_queued_messages_set(0)
    c.connect("127.0.0.1", broker.port, keepalive=60); c.loop_start(); pubs.append(c)
base = int(time.time() * 1000) - 3600 * 1000 - NFRAMES
payloads = []
for k in range(NFRAMES):  # one point each, a millisecond apart
    c, t = codes[k % NDEV], base + k
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 1000)) + ".%03dZ" % (t % 1000)
    body = json.dumps({c: {"L1_LF_1": {stamp: 100.0 + k * 1e-6}}}).encode()
    payloads.append(("geohazard/v1/dp/" + c, b"\x02" + struct.pack(">H", len(body)) + body))


def cpu():
    with open("/proc/%d/stat" % ga.proc.pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
c0 = cpu(); t0 = time.monotonic()
for k, (t, p) in enumerate(payloads):
    pubs[k % NPUB].publish(t, p, qos=1)
t_pub = time.monotonic() - t0
while True:
    n = ga.query("SELECT count(*) FROM device_points")[0][0]
    if n >= NFRAMES or time.monotonic() - t0 > 300:
        break
    time.sleep(0.2)
t1 = time.monotonic() - t0; c1 = cpu()
print("devices %d frames %d stored %d: publish %.1f s, stored in %.1f s = %.0f frames/s; geoalert CPU %.1f s = %.0f us/frame" % (NDEV, NFRAMES, n, t_pub, t1, n / t1, c1 - c0, (c1 - c0) / max(n, 1) * 1e6))
for c in pubs: c.loop_stop(); c.disconnect()
ga.stop(); broker.stop()
