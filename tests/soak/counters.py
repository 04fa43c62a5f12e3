"""The soak's counter consistency (tests/soak/verdict.py), on one TP's
`tpctl --json counters` taken once its traffic has stopped:
  - every packet a port received has exactly one fate counted
    (PORT_rx_packets == the sum of PORT_verdict_*, tp/dp/counters.h)
  - tpd received no more than its XDP program redirected to it on that
    port; the difference is what the AF_XDP socket's ring lost
Returns (failures, lines for the summary)."""

FATES = ("forwarded", "to_control", "staged", "handed_off", "consumed", "dropped")


def check_counters(tp, c):
    fails, lines = [], []
    s, xdp = c["stats"], c["xdp"]
    redirected = {
        "zone": xdp["zone"]["redirect"],
        "transit": sum(v for k, v in xdp["transit"].items() if k.startswith("redirect_")),
    }
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
