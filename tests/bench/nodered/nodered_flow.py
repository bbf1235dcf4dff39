#!/usr/bin/env python3
"""tests/bench/nodered/nodered_flow.py PORT CLIENT_ID REGISTRY OUT - writes the
Node-RED flow of the peer baseline (tests/bench/ingest.sh): mqtt in (QoS 1,
persistent session: fixed client id, clean session off) on
geohazard/v1/reports/+ -> function (validate.js) -> mqtt out (QoS 1)."""
import json
import os
import sys

port, client_id, registry, out = sys.argv[1:5]
with open(registry, encoding="utf-8") as f:
    feats = json.load(f)["features"]
ids = sorted(ft["properties"]["station_id"] for ft in feats)
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "validate.js"), encoding="utf-8") as f:
    body = f.read()
# The service area of the bench config ([geo] service_area = 32, Jiangsu):
# its bounding box, which is all a flow without a map can check.
prelude = "const STATIONS = new Set(%s);\nconst AREA = [116.3, 30.7, 121.9, 35.2];\n" % json.dumps(ids)
broker = {
    "id": "broker", "type": "mqtt-broker", "name": "bench", "broker": "127.0.0.1",
    "port": port, "clientid": client_id, "autoConnect": True, "usetls": False,
    "protocolVersion": "4", "keepalive": "60", "cleansession": False,
    "birthTopic": "", "closeTopic": "", "willTopic": "",
}
flow = [
    {"id": "tab", "type": "tab", "label": "ingest"},
    broker,
    {"id": "in", "type": "mqtt in", "z": "tab", "name": "reports",
     "topic": "geohazard/v1/reports/+", "qos": "1", "datatype": "buffer",
     "broker": "broker", "nl": False, "rap": True, "rh": 0, "inputs": 0,
     "wires": [["fn"]]},
    {"id": "fn", "type": "function", "z": "tab", "name": "validate, classify, receipt",
     "func": prelude + body, "outputs": 1, "wires": [["out"]]},
    {"id": "out", "type": "mqtt out", "z": "tab", "name": "receipts", "topic": "",
     "qos": "1", "retain": "false", "broker": "broker", "wires": []},
]
with open(out, "w", encoding="utf-8") as f:
    json.dump(flow, f)
