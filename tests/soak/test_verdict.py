#!/usr/bin/env python3
"""The soak's assertions (verdict.py, counters.py) on made-up runs, one row
per case: each must hold or fail exactly as its row says, so a soak that
passes is one whose checks can fail. Run by ctest (soak_verdict, label unit)."""
import json
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1_800_000_000.0
DUR = 300.0
# faults: (name, lossy, start, end) relative to T0
FAULTS = [("kill-tpd", 1, 60.0, 61.0), ("push", 0, 120.0, 125.0)]


def counters(rx=1000, fwd=990, drop=10, redirect=1000):
    stats = {f"{p}_{k}": 0 for p in ("zone", "transit")
             for k in ("rx_packets",) + tuple(f"verdict_{v}" for v in
                                              ("forwarded", "to_control", "staged", "handed_off",
                                               "consumed", "dropped"))}
    stats.update(zone_rx_packets=rx, zone_verdict_forwarded=fwd, zone_verdict_dropped=drop)
    return {"stats": stats, "xdp": {"zone": {"redirect": redirect},
                                    "transit": {"redirect_data": 0, "redirect_handshake": 0}}}


# a flow flood at 200 s and its path counts (run.sh path_drops): of 1000
# datagrams, tp2 dropped 30, tp3's socket lost 5, tp3 refused 900 and let
# 10 through, so 55 are counted nowhere; z2-h1 (the udp flow's sender, not
# on the flood's path) lost 2
FLOOD = ("flow-flood", 1, 200.0, 211.0)
FLOOD_LOG = """path before z2-h1:if=0,qdisc=0,udp=0 z2-h2:if=0,qdisc=0,udp=0 tp2:if=7,qdisc=0,udp=0 \
transit:if=0,qdisc=0,udp=0 z4-h1:if=0,qdisc=0,udp=0 tp3:socket=1,quota=100,created=50,dropped=4
flow-flood: 1000 datagrams, each from a new source port
path after z2-h1:if=0,qdisc=0,udp=2 z2-h2:if=0,qdisc=0,udp=0 tp2:if=37,qdisc=0,udp=0 \
transit:if=0,qdisc=0,udp=0 z4-h1:if=0,qdisc=0,udp=0 tp3:socket=6,quota=1000,created=60,dropped=4
"""


def make(d, udp_gap=None, poll_fail=None, rss_last=70000, clear=0, c=None, pids=1, tp1_last=60000,
         flood=False):
    open(f"{d}/start.txt", "w").write(f"{T0}")
    open(f"{d}/end.txt", "w").write(f"{T0 + DUR}")
    with open(f"{d}/faults.log", "w") as f:
        for n, lossy, a, b in FAULTS + ([FLOOD] if flood else []):
            f.write(f"{n} {lossy} {T0 + a} {T0 + b}\n")
    if flood:
        open(f"{d}/floods.txt", "w").write(FLOOD_LOG)
    with open(f"{d}/udp.txt", "w") as f:
        for i in range(int(DUR * 100)):
            t = i / 100
            if udp_gap and udp_gap[0] <= t < udp_gap[1]:
                continue
            f.write(f"{i} {T0 + t:.6f} {T0 + t + 0.001:.6f}\n")
    with open(f"{d}/modbus.txt", "w") as f:
        for i in range(int(DUR * 10)):
            t = i / 10
            bad = poll_fail is not None and abs(t - poll_fail) < 0.05
            f.write(f"{T0 + t:.6f} {'fail' if bad else 'ok'}\n")
    with open(f"{d}/ping.txt", "w") as f:
        for i in range(1, int(DUR * 5)):
            f.write(f"[{T0 + i / 5 + 0.0005:.6f}] 64 bytes from 10.1.0.10: icmp_seq={i} ttl=62 time=0.5 ms\n")
    r = json.dumps({"end": {"sum_received": {"bytes": 50_000_000}}})
    open(f"{d}/iperf.json", "w").write(f"{r}\n#end\n")
    with open(f"{d}/rss.log", "w") as f:
        for i in range(0, int(DUR), 5):
            kb = 70000 if i < DUR / 2 else rss_last
            pid = 100 if pids == 1 or i < DUR / 2 else 101
            tp1 = (200, 60000) if i < DUR / 2 else (201, tp1_last)  # restarted at half time
            f.write(f"{T0 + i} tp3 {pid} {kb}\n{T0 + i} tp1 {tp1[0]} {tp1[1]}\n")
    pcap = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    for _ in range(clear):
        pcap += struct.pack("<IIII", 0, 0, 60, 60) + bytes(60)
    open(f"{d}/clear.pcap", "wb").write(pcap)
    for tp in ("tp1", "tp3"):
        json.dump(c if (c and tp == "tp3") else counters(), open(f"{d}/counters-{tp}.txt", "w"))


CASES = [
    # name, make() arguments, passes, a text the output must hold
    ("clean run", {}, True, "every assertion holds"),
    ("loss inside a lossy fault's window", {"udp_gap": (60.2, 63.0)}, True, "every assertion holds"),
    ("loss long after a fault", {"udp_gap": (200.0, 201.0)}, False, "outside every lossy fault's window"),
    ("loss past the grace after a fault", {"udp_gap": (60.2, 80.0)}, False, "outside every lossy fault's window"),
    ("loss during a push (not lossy)", {"udp_gap": (121.0, 122.0)}, False, "outside every lossy fault's window"),
    ("a failed Modbus poll outside faults", {"poll_fail": 150.0}, False, "modbus: a poll lost"),
    ("a failed Modbus poll in a window", {"poll_fail": 60.5}, True, "every assertion holds"),
    ("memory grows", {"rss_last": 90000}, False, "memory: tp3 grew"),
    ("memory within noise", {"rss_last": 72000}, True, "every assertion holds"),
    ("tp3 restarted", {"pids": 2}, False, "tp3 ran as 2 processes"),
    ("tp1's later instance bigger", {"tp1_last": 70000}, False, "memory: tp1's last instance peaked"),
    ("an inner address in clear", {"clear": 1}, False, "clear: 1 packets"),
    ("a received packet without a fate", {"c": counters(rx=1000, fwd=989)}, False,
     "1000 packets received, 999 fates counted"),
    ("a flow flood: where its datagrams were lost", {"flood": True, "udp_gap": (200.5, 200.6)}, True,
     "flow-flood 1 at 200.0 s: 1000 sent; lost where counted: z2-h1 udp 2, tp2 if 30, tp3 socket 5; "
     "tp3 refused 900 (flow_quota_host), created 10 flows; not counted anywhere: about 55; "
     "the udp flow lost 10"),
    ("more received than redirected", {"c": counters(rx=1000, redirect=999)}, False,
     "its XDP program redirected only 999"),
]


def main():
    bad = 0
    for name, kw, passes, text in CASES:
        with tempfile.TemporaryDirectory() as d:
            make(d, **kw)
            r = subprocess.run([sys.executable, f"{HERE}/verdict.py", d, "15", "1"],
                               capture_output=True, text=True)
            ok = (r.returncode == 0) == passes and text in r.stdout
            print(f"{'ok  ' if ok else 'FAIL'} {name}")
            if not ok:
                bad += 1
                print(r.stdout + r.stderr)
    print(f"{len(CASES) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
