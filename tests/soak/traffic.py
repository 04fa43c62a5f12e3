#!/usr/bin/env python3
"""Traffic and attacks of the soak (tests/soak/run.sh), stdlib only; each
runs inside a lab node until killed (SIGTERM) or its duration ends.

  traffic.py seq-send HOST PORT PPS
      UDP datagrams of (sequence, wall time of sending), PPS per second
  traffic.py seq-recv PORT OUT
      writes "SEQ SENT RECEIVED" for every datagram to OUT
  traffic.py modbus-poll HOST INTERVAL OUT
      a Modbus/TCP read (unit 1, fc 3, registers 0..3) every INTERVAL s on
      one connection; an answer missing after 1 s, wrong or refused closes
      it and the next poll opens a new one; writes "TIME ok|fail" to OUT
  traffic.py hs-flood SECONDS PPS PUBKEY_B64 HOST:PORT SRC...
      WireGuard handshake initiations (148 bytes, random contents) to
      HOST:PORT from every address SRC in turn, PPS a second (0: as fast
      as it can): every
      other one with a valid mac1 for PUBKEY (it reaches the responder's
      X25519 unless the responder is under load), the rest with a random
      one; prints how many it sent
  traffic.py flow-flood SECONDS HOST PORT
      UDP datagrams to HOST:PORT, each from a new source port (a new flow
      for every one), as fast as it can; prints how many it sent
  traffic.py drops
      what this network namespace has counted lost so far, as
      if=N,qdisc=N,udp=N: its interfaces' receive and send drops, its
      queueing disciplines' drops, its UDP sockets' buffer errors
"""
import base64
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

STOP = False


def on_term(_sig, _frame):
    global STOP
    STOP = True


signal.signal(signal.SIGTERM, on_term)


def seq_send(host, port, pps):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    period = 1.0 / pps
    seq = 0
    nxt = time.monotonic()
    while not STOP:
        try:
            s.sendto(struct.pack("!Qd", seq, time.time()) + b"x" * 48, (host, port))
        except OSError:
            pass  # no route for a moment: the datagram is lost, as on a wire
        seq += 1
        nxt += period
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
    print(f"seq-send: {seq} sent")


def seq_recv(port, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(0.5)
    with open(out, "w", buffering=1) as f:
        while not STOP:
            try:
                b = s.recv(2048)
            except socket.timeout:
                continue
            if len(b) >= 16:
                seq, sent = struct.unpack("!Qd", b[:16])
                f.write(f"{seq} {sent:.6f} {time.time():.6f}\n")


def modbus_poll(host, interval, out):
    req_tid = 0
    conn = None
    with open(out, "w", buffering=1) as f:
        while not STOP:
            t = time.time()
            ok = False
            try:
                if conn is None:
                    conn = socket.create_connection((host, 502), timeout=1.0)
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                req_tid = (req_tid + 1) & 0xFFFF
                conn.sendall(struct.pack("!HHHBBHH", req_tid, 0, 6, 1, 3, 0, 4))
                want = struct.pack("!HHHBBB", req_tid, 0, 11, 1, 3, 8) + b"".join(
                    struct.pack("!H", 1000 + i) for i in range(4))
                got = b""
                while len(got) < len(want):
                    chunk = conn.recv(len(want) - len(got))
                    if not chunk:
                        break
                    got += chunk
                ok = got == want
            except OSError:
                ok = False
            if not ok and conn is not None:
                conn.close()
                conn = None
            f.write(f"{t:.6f} {'ok' if ok else 'fail'}\n")
            d = t + interval - time.time()
            if d > 0:
                time.sleep(d)


def hs_flood(seconds, pps, pub_b64, target, srcs):
    pub = base64.b64decode(pub_b64)
    key = hashlib.blake2s(b"mac1----" + pub).digest()
    host, port = target.rsplit(":", 1)
    socks = []
    for a in srcs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a, 0))
        s.setblocking(False)
        socks.append(s)
    dst = (host, int(port))
    start = time.monotonic()
    end = start + seconds
    sent = 0
    while not STOP and time.monotonic() < end:
        if pps:  # paced: ahead of the rate, wait
            ahead = sent / pps - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        for s in socks:
            body = b"\x01\x00\x00\x00" + os.urandom(112)
            if sent & 1:
                mac1 = hashlib.blake2s(body, key=key, digest_size=16).digest()
            else:
                mac1 = os.urandom(16)
            try:
                s.sendto(body + mac1 + bytes(16), dst)
                sent += 1
            except BlockingIOError:
                pass
    print(f"hs-flood: {sent} initiations sent from {len(srcs)} addresses")


def flow_flood(seconds, host, port):
    end = time.monotonic() + seconds
    sent = 0
    while not STOP and time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.sendto(b"new flow", (host, port))
            sent += 1
        except OSError:
            pass
        s.close()
    print(f"flow-flood: {sent} datagrams, each from a new source port")


def drops():
    def run(*cmd):
        return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)

    links = run("ip", "-s", "-j", "link")
    dropped = sum(l["stats64"]["rx"]["dropped"] + l["stats64"]["tx"]["dropped"] for l in links)
    qdisc = sum(q.get("drops", 0) for q in run("tc", "-s", "-j", "qdisc"))
    udp = [l.split() for l in open("/proc/net/snmp") if l.startswith("Udp:")]
    col = dict(zip(udp[0][1:], map(int, udp[1][1:])))
    print(f"if={dropped},qdisc={qdisc},udp={col['RcvbufErrors'] + col['SndbufErrors']}")


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "seq-send":
        seq_send(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "seq-recv":
        seq_recv(int(argv[2]), argv[3])
    elif cmd == "modbus-poll":
        modbus_poll(argv[2], float(argv[3]), argv[4])
    elif cmd == "hs-flood":
        hs_flood(float(argv[2]), int(argv[3]), argv[4], argv[5], argv[6:])
    elif cmd == "flow-flood":
        flow_flood(float(argv[2]), argv[3], int(argv[4]))
    elif cmd == "drops":
        drops()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
