# ga-test-backends: sqlite pg
"""When does libmosquitto acknowledge a QoS 1 message? geoalert's no-loss
guarantee rests on the answer (src/ingest.h), so it is shown here against
the real broker with tests/tools/ga_acktest.c, and then with geoalert:

- manual (geoalert's loop): with mosquitto_threaded_set, a PUBACK queued by
  mosquitto_loop_read stays queued until mosquitto_loop_write: a process
  killed before that has NOT acknowledged: the broker redelivers;
- threaded: the same holds while on_message blocks in a loop thread;
- non-threaded (the control): the PUBACK left before on_message ran: no
  redelivery. This shows the test can tell the two apart;
- refusal: shutting the socket down inside on_message keeps the PUBACK
  from leaving: the message is redelivered on reconnect."""
import os
import subprocess
import time

import paho.mqtt.client as mqtt

from harness import TOOLS, Broker, Runner, _procs

ACKTEST = os.path.join(TOOLS, "ga_acktest")


def start(mode, port, cid, topic):
    p = subprocess.Popen([ACKTEST, mode, str(port), cid, topic], stdout=subprocess.PIPE,
                         text=True)
    _procs.append(p)
    return p


def expect_line(p, want, timeout=10.0):
    import select
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.2)
        if r:
            line = p.stdout.readline()
            if not line:
                break
            if line.strip() == want:
                return True
    return False


def publish(port, topic, payload):
    c = mqtt.Client(client_id="pub-%s" % payload, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.publish(topic, payload, qos=1).wait_for_publish(timeout=5)
    c.loop_stop()
    c.disconnect()


def killed_in_callback(broker, mode, cid, topic, payload):
    """Kill -9 while on_message blocks; return whether the message came back."""
    p = start(mode, broker.port, cid, topic)
    assert expect_line(p, "ready"), "acktest did not subscribe"
    publish(broker.port, topic, payload)
    assert expect_line(p, "got " + payload), "message not delivered"
    time.sleep(1.0)  # ample time for a PUBACK to leave, if it were going to
    p.kill()
    p.wait()
    d = start("drain", broker.port, cid, topic)
    got = expect_line(d, "got " + payload, timeout=5)
    d.wait(timeout=10)
    return got


broker = Broker(persistence=False).start()
runner = Runner()


def test_manual_loop_acks_only_on_write():
    assert killed_in_callback(broker, "manual", "ack-manual", "t/manual", "m0"), \
        "manual loop acknowledged without loop_write: reports could be lost"


def test_threaded_acks_after_callback():
    assert killed_in_callback(broker, "threaded", "ack-threaded", "t/threaded", "m1"), \
        "threaded mode acknowledged before on_message returned: reports could be lost"


def test_nonthreaded_acks_before_callback():
    assert not killed_in_callback(broker, "nonthreaded", "ack-plain", "t/plain", "m2"), \
        "control failed: the non-threaded loop did not acknowledge early"


def test_refusal_brings_redelivery():
    p = start("refuse", broker.port, "ack-refuse", "t/refuse")
    assert expect_line(p, "ready")
    publish(broker.port, "t/refuse", "m3")
    assert expect_line(p, "got m3")
    assert expect_line(p, "refused")
    assert expect_line(p, "got m3", timeout=8), "refused message was not redelivered"
    p.wait(timeout=10)


runner.run(test_manual_loop_acks_only_on_write)
runner.run(test_threaded_acks_after_callback)
runner.run(test_nonthreaded_acks_before_callback)
runner.run(test_refusal_brings_redelivery)


def test_geoalert_killed_before_commit():
    """The daemon itself: its commit is held up by a lock another process
    holds on the database; kill -9 meanwhile; the report must come back."""
    from harness import Geoalert, Station, report
    ga = Geoalert(broker, sessions=1, name="ackga").start()
    st = Station(broker)
    release = ga.hold_writes()
    st.publish("JS-3201-0007", report("JS-3201-0007", "held-1"))
    time.sleep(1.0)  # delivered, waiting on the lock (busy timeout 2 s)
    ga.kill9()
    release()
    assert "held-1" not in st.receipts, "answered before it was stored"
    assert ga.query("SELECT COUNT(*) FROM reports WHERE report_id='held-1'")[0][0] == 0
    ga.start()
    rc = st.wait_receipt("held-1", timeout=20)
    assert rc["status"] == "accepted", rc
    assert ga.query("SELECT COUNT(*) FROM reports WHERE report_id='held-1'")[0][0] == 1
    st.close()
    assert ga.stop() == 0


runner.run(test_geoalert_killed_before_commit)
broker.stop()
runner.finish()
