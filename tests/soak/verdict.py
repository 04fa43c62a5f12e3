#!/usr/bin/env python3
"""The soak's assertions (tests/soak/run.sh), on what it left in its work
folder W: verdict.py W GRACE PUSHES. Prints the summary; exit 1 if any
assertion fails (each failure is printed with FAIL:)."""
import json
import re
import struct
import sys

W, GRACE, PUSHES = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
T0 = float(open(f"{W}/start.txt").read())
T1 = float(open(f"{W}/end.txt").read())
FAULTS = []  # (name, lossy, start, end)
for line in open(f"{W}/faults.log"):
    n, lossy, a, b = line.split()
    FAULTS.append((n, lossy == "1", float(a), float(b)))
failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}")


def window_of(lo, hi):
    """The lossy fault whose window holds the loss interval [lo, hi]."""
    for f in FAULTS:
        if f[1] and lo >= f[2] - 1 and hi <= f[3] + GRACE:
            return f
    return None


def rel(t):
    return f"{t - T0:.1f} s"


# per fault: what each flow lost in its window
lost = {i: {"udp": 0, "modbus": 0, "ping": 0, "back": 0.0} for i in range(len(FAULTS))}


def account(kind, lo, hi, n, what):
    f = window_of(lo, hi)
    if f is None:
        near = [x for x in FAULTS if x[2] - 5 <= hi and lo <= x[3] + GRACE + 5]
        fail(f"{kind}: {what} lost between {rel(lo)} and {rel(hi)}, outside every lossy fault's "
             f"window (near: {', '.join(x[0] + ' at ' + rel(x[2]) for x in near) or 'none'})")
        return
    i = FAULTS.index(f)
    lost[i][kind] += n
    lost[i]["back"] = max(lost[i]["back"], hi - f[2])


def gaps(seq_time):
    """(first missing, last missing, send time before, send time after) of
    every run of missing sequence numbers between the first and the last
    one seen."""
    seqs = sorted(seq_time)
    for a, b in zip(seqs, seqs[1:]):
        if b > a + 1:
            yield a + 1, b - 1, seq_time[a], seq_time[b]


# --- udp: numbered datagrams ----------------------------------------------------
udp = {}
for line in open(f"{W}/udp.txt"):
    p = line.split()
    if len(p) == 3:
        udp[int(p[0])] = float(p[1])
udp_missing = 0
for a, b, lo, hi in gaps(udp):
    udp_missing += b - a + 1
    account("udp", lo, hi, b - a + 1, f"datagrams {a}..{b}")
dur = T1 - T0
if len(udp) < 0.5 * 100 * dur:
    fail(f"udp: only {len(udp)} datagrams arrived in {dur:.0f} s at 100/s")

# --- modbus: polls ----------------------------------------------------------------
polls = [line.split() for line in open(f"{W}/modbus.txt")]
ok = sum(1 for p in polls if p[1] == "ok")
bad = [float(p[0]) for p in polls if p[1] == "fail"]
for t in bad:
    account("modbus", t, t + 1, 1, "a poll")
if ok < 0.5 * 10 * dur:
    fail(f"modbus: only {ok} polls answered in {dur:.0f} s at 10/s")

# --- ping: replies by icmp_seq (-D: the reply's wall time) ------------------------
ping = {}
for line in open(f"{W}/ping.txt"):
    m = re.match(r"\[(\d+\.\d+)\] .* icmp_seq=(\d+) .*time=([\d.]+) ms", line)
    if m:
        ping[int(m.group(2))] = float(m.group(1)) - float(m.group(3)) / 1000
ping_missing = 0
for a, b, lo, hi in gaps(ping):
    ping_missing += b - a + 1
    account("ping", lo, hi, b - a + 1, f"pings {a}..{b}")
if len(ping) < 0.5 * 5 * dur:
    fail(f"ping: only {len(ping)} answered in {dur:.0f} s at 5/s")

# --- tcp: iperf3 runs ---------------------------------------------------------------
runs, runs_ok, tcp_bytes = 0, 0, 0
for doc in open(f"{W}/iperf.json").read().split("#end"):
    doc = doc.strip()
    if not doc:
        continue
    runs += 1
    try:
        r = json.loads(doc)
    except ValueError:
        continue
    if "error" not in r:
        runs_ok += 1
        tcp_bytes += r["end"]["sum_received"]["bytes"]
if runs_ok == 0:
    fail("tcp: no iperf3 run completed")

# --- memory: tp3's resident set, first quarter against last ------------------------
rss = {"tp1": [], "tp3": []}
for line in open(f"{W}/rss.log"):
    t, tp, pid, kb = line.split()
    rss[tp].append((float(t), int(pid), int(kb)))
pids3 = {p for _, p, _ in rss["tp3"]}
if len(pids3) != 1:
    fail(f"tp3 ran as {len(pids3)} processes (it is never restarted)")
q = dur / 4
first = [kb for t, _, kb in rss["tp3"] if t <= T0 + q]
last = [kb for t, _, kb in rss["tp3"] if t >= T1 - q]
rss_first = sum(first) / len(first) if first else 0
rss_last = sum(last) / len(last) if last else 0
if not first or not last:
    fail("memory: no samples of tp3")
elif rss_last > rss_first * 1.05 + 4096:
    fail(f"memory: tp3 grew from {rss_first:.0f} KiB (first quarter) to {rss_last:.0f} KiB (last)")
tp1_max = {}
for _, pid, kb in rss["tp1"]:
    tp1_max[pid] = max(tp1_max.get(pid, 0), kb)
# tp1 is restarted by every kill-tpd: its instances, first against last
inst = list(tp1_max.values())
if len(inst) >= 2 and inst[-1] > inst[0] * 1.05 + 4096:
    fail(f"memory: tp1's last instance peaked at {inst[-1]} KiB, its first at {inst[0]} KiB")

# --- nothing in clear on the transit network ----------------------------------------
raw = open(f"{W}/clear.pcap", "rb").read()
clear, off = 0, 24
while off + 16 <= len(raw):
    clear += 1
    off += 16 + struct.unpack_from("<I", raw, off + 8)[0]
if len(raw) < 24:
    fail("clear: tcpdump wrote no capture")
if clear:
    fail(f"clear: {clear} packets with a zone address on the transit network (clear.pcap)")

# --- counters -------------------------------------------------------------------------
sys.path.insert(0, sys.path[0])
from counters import check_counters  # noqa: E402

counter_lines = []
for tp in ("tp1", "tp3"):
    msgs, lines = check_counters(tp, json.load(open(f"{W}/counters-{tp}.txt")))
    for msg in msgs:
        fail(msg)
    counter_lines += lines

# --- flow floods: where their datagrams were lost (run.sh path_drops) -------------
# Each flood is "path before", its "flow-flood: N datagrams" and "path after";
# the counts of its path (z2-h2 -> tp2 -> transit -> tp3) across it, the
# rest of what it sent (less what tp3 refused or let through) is what no
# counter holds: wireguard-go's own queues
def snapshot(line):
    return {node: {k: int(v) for k, v in (kv.split("=") for kv in counts.split(","))}
            for node, counts in (part.split(":", 1) for part in line.split()[2:])}


FLOOD_PATH = ("z2-h2", "tp2", "transit")
try:
    flood_log = open(f"{W}/floods.txt").read().splitlines()
except FileNotFoundError:
    flood_log = []
floods = []  # (path before, datagrams sent, path after) of each flow-flood
for line in flood_log:
    if line.startswith("path before "):
        before = snapshot(line)
    elif line.startswith("flow-flood: "):
        sent = int(line.split()[1])
    elif line.startswith("path after "):
        floods.append((before, sent, snapshot(line)))
flood_lines = []
flow_floods = [i for i, f in enumerate(FAULTS) if f[0] == "flow-flood"]
for n, (i, (before, sent, after)) in enumerate(zip(flow_floods, floods), 1):
    d = {node: {k: v - before[node].get(k, 0) for k, v in c.items()} for node, c in after.items() if node in before}
    t3 = d.get("tp3", {})
    counted = [f"{node} {k} {v}" for node, c in d.items() for k, v in c.items()
               if v and not (node == "tp3" and k in ("quota", "created"))]
    on_path = sum(sum(d.get(node, {}).values()) for node in FLOOD_PATH) + t3.get("socket", 0) + t3.get("dropped", 0)
    unc = sent - t3.get("quota", 0) - t3.get("created", 0) - on_path
    flood_lines.append(f"flow-flood {n} at {rel(FAULTS[i][2])}: {sent} sent; lost where counted: "
                       f"{', '.join(counted) or 'nowhere'}; tp3 refused {t3.get('quota', 0)} "
                       f"(flow_quota_host), created {t3.get('created', 0)} flows; "
                       f"not counted anywhere: about {unc}; the udp flow lost {lost[i]['udp']}")

# --- summary ----------------------------------------------------------------------------
print(f"soak: {dur / 60:.1f} minutes, {len(FAULTS)} faults ({PUSHES} policy pushes)")
print("| # | fault | at | took s | lossy | udp lost | modbus failed | pings lost | back after s |")
print("|---|---|---:|---:|---|---:|---:|---:|---:|")
for i, (n, lossy, a, b) in enumerate(FAULTS):
    L = lost[i]
    print(f"| {i + 1} | {n} | {rel(a)} | {b - a:.1f} | {'yes' if lossy else 'no'} | {L['udp']} | "
          f"{L['modbus']} | {L['ping']} | {L['back']:.1f} |")
print(f"udp: {len(udp)} datagrams received, {udp_missing} lost")
print(f"modbus: {ok} polls answered, {len(bad)} failed")
print(f"ping: {len(ping)} answered, {ping_missing} lost")
print(f"tcp: {runs_ok} of {runs} iperf3 runs completed, {tcp_bytes * 8 / dur / 1e6:.1f} Mbit/s on average")
print(f"memory: tp3 {rss_first / 1024:.1f} MiB in the first quarter, {rss_last / 1024:.1f} MiB in the last; "
      f"tp1 instances at most {', '.join(f'{v / 1024:.1f}' for v in tp1_max.values())} MiB")
print(f"clear: {clear} packets with a zone address on the transit network")
for line in counter_lines:
    print(line)
for line in flood_lines:
    print(line)
print(f"{len(failures)} assertions failed" if failures else "every assertion holds")
sys.exit(1 if failures else 0)
