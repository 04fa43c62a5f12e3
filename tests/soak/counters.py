"""The soak's counter consistency (tests/soak/verdict.py), on one TP's
`tpctl --json counters` taken once its traffic has stopped:
  - every packet a port received has exactly one fate counted
    (PORT_rx_packets == the sum of PORT_verdict_*, tp/dp/counters.h)
  - tpd received no more than its XDP program redirected to it on that
    port; the difference is what the AF_XDP socket's ring lost
Returns (failures, lines for the summary).

As a script (run.sh path_drops): counters.py < `tpctl --json counters`
prints socket=N,quota=N,created=N,dropped=N: what the socket lost on both
ports, the flow_quota_host drops, the flows created, the other drops."""
import json
import sys

FATES = ("forwarded", "to_control", "staged", "handed_off", "consumed", "dropped")


def redirected_by_port(c):
    """What each port's XDP program redirected to tpd's socket."""
    xdp = c["xdp"]
    return {
        "zone": xdp["zone"]["redirect"],
        "transit": sum(v for k, v in xdp["transit"].items() if k.startswith("redirect_")),
    }


def check_counters(tp, c):
    fails, lines = [], []
    s = c["stats"]
    redirected = redirected_by_port(c)
    for port in ("zone", "transit"):
        rx = s[f"{port}_rx_packets"]
        fates = {f: s[f"{port}_verdict_{f}"] for f in FATES}
        total = sum(fates.values())
        if rx != total:
            fails.append(f"counters: {tp} {port}: {rx} packets received, {total} fates counted ({fates})")
        if rx > redirected[port]:
            fails.append(f"counters: {tp} {port}: tpd received {rx}, its XDP program redirected only {redirected[port]}")
        lines.append(f"counters: {tp} {port}: XDP redirected {redirected[port]}, tpd received {rx} "
                     f"(socket lost {redirected[port] - rx}), fates " +
                     ", ".join(f"{k} {v}" for k, v in fates.items() if v))
    return fails, lines


def path_counts(c):
    s, quota = c["stats"], c["drops"]["flow_quota_host"]
    lost = sum(n - s[f"{port}_rx_packets"] for port, n in redirected_by_port(c).items())
    return f"socket={lost},quota={quota},created={c['flows']['created']},dropped={c['drops_total'] - quota}"


if __name__ == "__main__":
    print(path_counts(json.load(sys.stdin)))
