#!/usr/bin/env python3
"""Parsing and arithmetic of tests/bench/lab-compare.sh, kept here so that
they can be tested without root or a lab (`lab_compare.py selftest`, ctest
label unit).

    lab_compare.py valid IPERF.json             status 0: a result, not an error
    lab_compare.py cost STAT0 STAT1 IPERF.json  "sent delivered loss% busy_s us/pkt"
    lab_compare.py udp IPERF.json               "kpps_delivered loss%"
    lab_compare.py tcp IPERF.json               "Gbit/s"
    lab_compare.py ping COUNT < ping-output     "p50_us p99_us replies"
    lab_compare.py report RESULTS ENV           the markdown tables
    lab_compare.py selftest

STAT0/STAT1 are files holding the first ("cpu ") line of /proc/stat, read
just before and just after the run. RESULTS has one "PATH REP METRIC VALUE"
line per measurement; ENV is a JSON object of what the script measured about
the run (see lab-compare.sh).
"""
import json
import os
import re
import sys

# (b) busy time: every cpu state that is work, not waiting; jiffies -> s.
# /proc/stat "cpu" columns: user nice system idle iowait irq softirq steal ...
BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)

PATHS = (
    ("kernel", "kernel routing in clear, no tunnel"),
    ("tpd1", "two tpd (xdp mode), 1 worker"),
    ("tpd2", "two tpd (xdp mode), 2 workers"),
    ("wg", "two wireguard-go"),
    ("nebula", "two Nebula nodes"),
)
PEERS = ("wg", "nebula")


def median(values):
    """The median; the mean of the middle two for an even count."""
    v = sorted(values)
    if not v:
        raise ValueError("median of nothing")
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def percentile(sorted_values, q):
    """The nearest-rank-below percentile that tpd-pipeline.sh uses:
    element int(n * q), the last for q near 1."""
    n = len(sorted_values)
    return sorted_values[min(n - 1, int(n * q))]


def busy_seconds(stat_line, clk_tck):
    """Busy time of all cpus so far, in seconds, from /proc/stat's 'cpu' line."""
    f = stat_line.split()
    if not f or f[0] != "cpu":
        raise ValueError("not the cpu line of /proc/stat: %r" % stat_line)
    jiffies = [int(x) for x in f[1:]]
    return sum(jiffies[i] for i in BUSY_COLUMNS if i < len(jiffies)) / clk_tck


def udp_counts(r):
    """(sent, delivered) datagrams of an iperf3 -u -J client result.
    Delivered: what the receiver counted minus the gaps it saw; the
    difference to sent includes datagrams lost at the end of the run."""
    if "error" in r:
        raise ValueError("iperf3: %s" % r["error"])
    e = r["end"]
    sent = e["sum_sent"]["packets"]
    rx = e["sum_received"]
    return sent, rx["packets"] - rx["lost_packets"]


def cost(stat0, stat1, r, clk_tck):
    """(sent, delivered, loss %, busy s, us of busy time per delivered packet)."""
    sent, delivered = udp_counts(r)
    busy = busy_seconds(stat1, clk_tck) - busy_seconds(stat0, clk_tck)
    loss = 100.0 * (sent - delivered) / sent if sent else 100.0
    us = 1e6 * busy / delivered if delivered else float("inf")
    return sent, delivered, loss, busy, us


def udp_rate(r):
    """(kpps delivered, loss %) of an iperf3 -u -J client result."""
    sent, delivered = udp_counts(r)
    secs = r["end"]["sum_received"]["seconds"]
    loss = 100.0 * (sent - delivered) / sent if sent else 100.0
    return delivered / secs / 1e3, loss


def tcp_rate(r):
    if "error" in r:
        raise ValueError("iperf3: %s" % r["error"])
    return r["end"]["sum_received"]["bits_per_second"] / 1e9


def ping_stats(text, count):
    """(p50 us, p99 us, replies) of ping's output; fewer than 90 % replies
    is an error, not a number."""
    t = sorted(float(m) * 1000 for m in re.findall(r"time=([0-9.]+) ms", text))
    if len(t) <= 0.9 * count:
        raise ValueError("only %d replies of %d" % (len(t), count))
    return percentile(t, 0.5), percentile(t, 0.99), len(t)


def load_results(lines):
    """{(path, metric): [values in rep order]} from 'PATH REP METRIC VALUE' lines."""
    res = {}
    for line in lines:
        f = line.split()
        if not f:
            continue
        path, rep, metric, value = f[0], int(f[1]), f[2], float(f[3])
        res.setdefault((path, metric), []).append((rep, value))
    return {k: [v for _, v in sorted(vs)] for k, vs in res.items()}


def fmt(x, digits=1):
    return "-" if x is None else "%.*f" % (digits, x)


def ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b


class Report:
    def __init__(self, res, env):
        self.res = res
        self.env = env
        self.skipped = env.get("skipped", {})

    def med(self, path, metric):
        v = self.res.get((path, metric))
        return median(v) if v else None

    def mx(self, path, metric):
        v = self.res.get((path, metric))
        return max(v) if v else None

    def spread(self, path, metric, digits):
        """'median (min-max)': how far apart the repetitions were."""
        v = self.res.get((path, metric))
        if not v:
            return "-"
        return "%s (%s-%s)" % (fmt(median(v), digits), fmt(min(v), digits), fmt(max(v), digits))

    def added(self, path, metric):
        """Median of the path minus the median of kernel routing."""
        a, k = self.med(path, metric), self.med("kernel", metric)
        return None if a is None or k is None else a - k

    def better_peer(self, metric):
        """(name, added) of the peer that adds less."""
        c = [(self.added(p, metric), p) for p in PEERS if self.added(p, metric) is not None]
        if not c:
            return None, None
        a, p = min(c)
        return p, a

    def rows(self):
        for key, label in PATHS:
            if key in self.skipped:
                yield key, label, "not measured: " + self.skipped[key]
            elif any(k[0] == key for k in self.res):
                yield key, label, None

    def tpd_paths(self):
        return [(k, label) for k, label, skip in self.rows() if k.startswith("tpd") and not skip]

    def text(self):
        e = self.env
        peer_name = dict(PATHS)
        out = []
        w = out.append
        w("Measured by:")
        w("")
        w("```")
        w(e["command"])
        w("```")
        w("")
        w("Environment, as measured by the script: kernel %s, %s, nproc %s; %s; nebula %s; "
          "iperf3 %s; tpd %s. Load average at start: %s. %d interleaved repetitions "
          "(repetition 1 of every path, then repetition 2, ...); every number is the "
          "median of the repetitions. Wall time %s s."
          % (e["kernel"], e["cpu"], e["nproc"], e["wireguard_go"], e["nebula"],
             e["iperf3"], e["tpd"], e["loadavg"], e["reps"], e.get("wall", "?")))
        w("")
        w("Path: z2-h1 -> z4-h1 across tp2 and tp3 (deploy/lab.sh, LAB_ROUTING=none). "
          "tpd: tp2's control on core 0 and worker on core 1, tp3 the other way round, "
          "worker_priority 0, the default idle back-off (idle_wait). wireguard-go and "
          "Nebula: a tun device in each TP namespace and routes for the zone prefixes "
          "over it; Nebula with a static host map (no lighthouse), certificates with the "
          "zone prefixes as subnets, unsafe_routes, and an inbound firewall that allows "
          "group z2 (tp2's certificate) udp/tcp 5000 and icmp on tp3, as the lab policy "
          "allows z2 -> z4. Tunnel MTU 1420 on both.")
        w("")
        # (b)
        w("### (b) CPU cost per packet at a fixed offered load, lab")
        w("")
        w("iperf3 -u at %s packets/s for %s s, payloads of 64 B and of 1392 B (1420-byte "
          "IP packets, the largest that fits all three tunnels unfragmented). Cost: "
          "whole-machine busy time from /proc/stat (all cpus: user + nice + system + irq + "
          "softirq + steal) over the iperf3 client's run, divided by the datagrams "
          "delivered (received minus lost, as the receiver counted them); the kernel's cpu "
          "time accounting: %s. \"added\": the "
          "path's median minus kernel routing's median. Loss: the largest of the "
          "repetitions, (sent - delivered) / sent."
          % (e["pps"], e["secs"], e.get("accounting", "not recorded")))
        w("")
        w("| path | 64 B us/pkt (min-max) | 64 B added | 64 B max loss % | "
          "1420 B us/pkt (min-max) | 1420 B added | 1420 B max loss % |")
        w("|---|---|---|---|---|---|---|")
        for key, label, skip in self.rows():
            if skip:
                w("| %s | %s | | | | | |" % (label, skip))
                continue
            cells = []
            for size in ("64", "1420"):
                m = "cost" + size
                cells += [self.spread(key, m, 2),
                          "-" if key == "kernel" else fmt(self.added(key, m), 2),
                          fmt(self.mx(key, "loss" + size), 2)]
            w("| %s | %s |" % (label, " | ".join(cells)))
        w("")
        for key, label in self.tpd_paths():
            parts = []
            for size, target in (("64", "1/5 = 0.20"), ("1420", "1/3 = 0.33")):
                p, a = self.better_peer("cost" + size)
                r = ratio(self.added(key, "cost" + size), a)
                why = "" if r is not None or a is None else \
                    ", whose added cost is not above 0: the machine's noise is larger"
                parts.append("%s B: %s (better peer: %s%s; target <= %s)"
                             % (size, fmt(r, 2), peer_name.get(p, "-"), why, target))
            w("Added cost, %s / better of wireguard-go and Nebula: %s." % (label, "; ".join(parts)))
            w("")
        # (c)
        w("### (c) Ping RTT added over kernel routing, lab")
        w("")
        w("`ping -i 0.002 -c %s` per repetition; p50 and p99 of each repetition, then "
          "the median over the repetitions; \"added\": the path's median minus kernel "
          "routing's. Normal scheduling (no SCHED_FIFO), tpd's idle back-off on."
          % e["pings"])
        w("")
        w("| path | replies (min) | p50 us | p99 us (min-max) | p50 added | p99 added |")
        w("|---|---|---|---|---|---|")
        for key, label, skip in self.rows():
            if skip:
                w("| %s | %s | | | | |" % (label, skip))
                continue
            k = key == "kernel"
            n = self.res.get((key, "replies"))
            w("| %s | %s | %s | %s | %s | %s |" % (
                label, "-" if not n else "%d" % min(n), fmt(self.med(key, "p50"), 0),
                self.spread(key, "p99", 0), "-" if k else fmt(self.added(key, "p50"), 0),
                "-" if k else fmt(self.added(key, "p99"), 0)))
        w("")
        for key, label in self.tpd_paths():
            parts = []
            for m in ("p50", "p99"):
                p, a = self.better_peer(m)
                parts.append("%s %s (better peer: %s)" % (
                    m, fmt(ratio(self.added(key, m), a), 2), peer_name.get(p, "-")))
            w("RTT added, %s / better of wireguard-go and Nebula: %s; target <= 0.33."
              % (label, "; ".join(parts)))
            w("")
        # (d)
        w("### (d) iperf3 throughput, lab")
        w("")
        w("iperf3 %s s: TCP one stream; UDP 64-byte payloads at full rate (-b 0), "
          "datagrams delivered per second and the loss." % e["secs"])
        w("")
        w("| path | TCP Gbit/s | UDP 64 B kpps delivered | UDP 64 B loss % "
          "| UDP 64 B runs without a result |")
        w("|---|---|---|---|---|")
        for key, label, skip in self.rows():
            if skip:
                w("| %s | %s | | | |" % (label, skip))
                continue
            w("| %s | %s | %s | %s | %d |" % (label, fmt(self.med(key, "tcp"), 3),
                                               fmt(self.med(key, "udpkpps"), 1),
                                               fmt(self.med(key, "udploss"), 1),
                                               len(self.res.get((key, "udpfail"), []))))
        w("")
        return "\n".join(out)


def selftest():
    fails = []

    def check(what, got, want):
        if isinstance(want, float) and isinstance(got, float):
            good = abs(got - want) < 1e-9 * max(1.0, abs(want))
        else:
            good = got == want
        if not good:
            fails.append("%s: got %r, want %r" % (what, got, want))

    check("median odd", median([5, 1, 3]), 3)
    check("median five", median([9, 2, 7, 4, 100]), 7)
    check("median even", median([4, 1, 3, 2]), 2.5)
    check("median one", median([42]), 42)
    check("p50 of 1..100", percentile(list(range(1, 101)), 0.5), 51)
    check("p99 of 1..100", percentile(list(range(1, 101)), 0.99), 100)
    check("p99 of 1..3000", percentile(list(range(1, 3001)), 0.99), 2971)
    # user nice system idle iowait irq softirq steal guest guest_nice
    s0 = "cpu  100 10 50 9999 77 5 20 3 0 0"
    s1 = "cpu  400 10 150 19999 99 6 40 4 0 0"
    check("busy s0", busy_seconds(s0, 100), 1.88)
    # busy: +300 user +100 system +1 irq +20 softirq +1 steal; idle, iowait not
    check("busy delta", busy_seconds(s1, 100) - busy_seconds(s0, 100), 4.22)
    try:
        busy_seconds("cpu0 1 2 3", 100)
        fails.append("a per-cpu line was taken for the total")
    except ValueError:
        pass
    r = {"end": {"sum_sent": {"packets": 100000, "seconds": 5.0},
                 "sum_received": {"packets": 99990, "lost_packets": 40, "seconds": 5.0}}}
    check("udp counts", udp_counts(r), (100000, 99950))
    sent, dl, loss, busy, us = cost(s0, s1, r, 100)
    check("cost sent", sent, 100000)
    check("cost delivered", dl, 99950)
    check("cost loss %", loss, 0.05)
    check("cost busy", busy, 4.22)
    check("cost us/pkt", us, 4.22e6 / 99950)
    k, l = udp_rate(r)
    check("udp kpps", k, 19.99)
    check("udp loss", l, 0.05)
    check("tcp", tcp_rate({"end": {"sum_received": {"bits_per_second": 1.5e9}}}), 1.5)
    try:
        udp_counts({"error": "unable to connect"})
        fails.append("an iperf3 error was read as a result")
    except ValueError:
        pass
    pings = "".join("64 bytes from 10.4.0.10: icmp_seq=%d ttl=62 time=0.%03d ms\n" % (i, i)
                    for i in range(1, 101))
    check("ping", ping_stats(pings, 100), (51.0, 100.0, 100))
    try:
        ping_stats(pings, 200)
        fails.append("half the replies passed")
    except ValueError:
        pass
    lines = []
    # kernel cost64 1..5 (median 3); tpd1 11..15 (13, added 10); wg 31..35
    # (33, added 30); nebula 51..55 (added 50): ratio 10/30
    for rep in range(1, 6):
        for path, base in (("kernel", 0), ("tpd1", 10), ("wg", 30), ("nebula", 50)):
            lines.append("%s %d cost64 %d" % (path, rep, base + rep))
            lines.append("%s %d cost1420 %d" % (path, rep, 2 * base + rep))
            lines.append("%s %d loss64 0" % (path, rep))
            lines.append("%s %d p99 %d" % (path, rep, 100 + 6 * base - rep))
    lines.insert(3, "")
    res = load_results(reversed(lines))  # rep order restored from the REP column
    check("results in rep order", res[("tpd1", "cost64")], [11, 12, 13, 14, 15])
    rep = Report(res, {"skipped": {"tpd2": "tpd: worker_cores: 2 workers listed"}})
    check("median kernel", rep.med("kernel", "cost64"), 3)
    check("added tpd1", rep.added("tpd1", "cost64"), 10)
    check("better peer", rep.better_peer("cost64"), ("wg", 30))
    check("ratio", ratio(rep.added("tpd1", "cost64"), rep.better_peer("cost64")[1]), 1 / 3)
    check("p99 added", rep.added("nebula", "p99"), 300)
    check("rows", [k for k, _, s in rep.rows()], ["kernel", "tpd1", "tpd2", "wg", "nebula"])
    check("skipped row", [s for k, _, s in rep.rows() if k == "tpd2"],
          ["not measured: tpd: worker_cores: 2 workers listed"])
    check("tpd paths", [k for k, _ in rep.tpd_paths()], ["tpd1"])
    check("spread", rep.spread("wg", "cost64", 1), "33.0 (31.0-35.0)")
    env = {"command": "sudo tests/bench/lab-compare.sh build-bench", "kernel": "6.1.0",
           "cpu": "Some CPU", "nproc": "2", "wireguard_go": "wireguard-go v0", "nebula": "1.6.1",
           "iperf3": "3.12", "tpd": "abc1234", "loadavg": "0.50 0.40 0.30", "reps": 5,
           "secs": "5", "pings": "3000", "pps": "20000", "wall": "600",
           "accounting": "tick sampling at 250 Hz per cpu",
           "skipped": {"tpd2": "tpd: no"}}
    text = Report(res, env).text()
    for want in ("kernel 6.1.0, Some CPU, nproc 2", "Load average at start: 0.50 0.40 0.30",
                 "5 interleaved repetitions", "tick sampling at 250 Hz per cpu",
                 "| two tpd (xdp mode), 2 workers | not measured: tpd: no |",
                 "64 B: 0.33 (better peer: two wireguard-go; target <= 1/5 = 0.20)",
                 "| two Nebula nodes | 53.00 (51.00-55.00) | 50.00 | 0.00 |"):
        if want not in text:
            fails.append("report lacks %r" % want)
    for f in fails:
        print("FAIL", f)
    print("lab_compare selftest: %d failed" % len(fails) if fails else "lab_compare selftest: all passed")
    return 1 if fails else 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    clk = os.sysconf("SC_CLK_TCK")
    if cmd == "cost":
        stat0, stat1 = (open(f).readline() for f in argv[2:4])
        sent, dl, loss, busy, us = cost(stat0, stat1, json.load(open(argv[4])), clk)
        print("%d %d %.3f %.3f %.3f" % (sent, dl, loss, busy, us))
    elif cmd == "udp":
        print("%.1f %.2f" % udp_rate(json.load(open(argv[2]))))
    elif cmd == "tcp":
        print("%.3f" % tcp_rate(json.load(open(argv[2]))))
    elif cmd == "ping":
        print("%.0f %.0f %d" % ping_stats(sys.stdin.read(), int(argv[2])))
    elif cmd == "report":
        with open(argv[2]) as f:
            res = load_results(f)
        with open(argv[3]) as f:
            env = json.load(f)
        print(Report(res, env).text())
    elif cmd == "valid":
        try:
            r = json.load(open(argv[2]))
            return 1 if "error" in r or "end" not in r else 0
        except ValueError:
            return 1
    elif cmd == "selftest":
        return selftest()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
