#!/usr/bin/env python3
"""Numbered UDP streams for tests/lab/tpd-workers (run inside lab nodes).

  seq.py send HOST PORT FLOWS COUNT   FLOWS sockets (one source port each),
                                      COUNT datagrams each, interleaved
  seq.py recv PORT OUT FLOWS COUNT    receive until every datagram came or
                                      3 s pass without one; write a JSON
                                      summary to OUT: received, flows,
                                      reordered (a datagram behind a later
                                      one of its own flow), duplicates

Each datagram carries its flow's sequence number (8 bytes, big-endian).
"""
import json
import socket
import struct
import sys
import time


def send(host, port, flows, count):
    socks = []
    for _ in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 0))
        socks.append(s)
    for i in range(count):
        for s in socks:
            s.sendto(struct.pack("!Q", i) + b"x" * 56, (host, port))
        if i % 50 == 49:
            time.sleep(0.01)  # ~4 kpps for 16 flows: the stream, not a flood


def recv(port, out, flows, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("0.0.0.0", port))
    s.settimeout(30)  # the first one
    last, seen = {}, set()
    received = reordered = duplicates = 0
    while received < flows * count:
        try:
            d, (_, sport) = s.recvfrom(2048)
        except socket.timeout:
            break
        s.settimeout(3)
        seq = struct.unpack("!Q", d[:8])[0]
        if (sport, seq) in seen:
            duplicates += 1
            continue
        seen.add((sport, seq))
        received += 1
        if seq < last.get(sport, -1):
            reordered += 1
        last[sport] = max(seq, last.get(sport, -1))
    with open(out, "w") as f:
        json.dump({"received": received, "flows": len(last), "reordered": reordered,
                   "duplicates": duplicates}, f)


def main():
    if sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        recv(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))


if __name__ == "__main__":
    main()
