#!/usr/bin/env python3
"""A tiny Modbus/TCP server and client for the lab test (stdlib only).

  modbus.py server PORT
      holding register N reads as N + 1000; a write (fc 6) is answered
      with the echo of the request; any other function gets exception 1
  modbus.py read HOST UNIT ADDR QTY [--split]
  modbus.py write HOST UNIT ADDR VALUE
      one request on a new connection; --split sends the ADU in two TCP
      segments (TCP_NODELAY, 5 bytes, a pause, the rest).
      Exit 0: the expected answer; 1: no answer within 2 s; 2: a wrong one.
  modbus.py pipeline HOST UNIT ADDR QTY N TID
      on one connection: N reads of QTY registers from ADDR, transaction
      ids TID, TID + 1, ..., each in its own segment sent at once
      (TCP_NODELAY, no pause), then their N answers; then one more read
      on the same connection. Exit 0: every answer right; 1: one missing
      within 8 s (a retransmission gets the RTO's time); 2: a wrong one.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from probe import serve_tcp_with  # noqa: E402  (the lab's shared helpers)


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def recv_adu(c):
    mbap = recv_exact(c, 7)
    _tid, proto, length, _unit = struct.unpack(">HHHB", mbap)
    if proto != 0 or not 2 <= length <= 254:
        raise ValueError("bad MBAP")
    return mbap + recv_exact(c, length - 1)


def answer(req):
    tid, _p, _l, unit = struct.unpack(">HHHB", req[:7])
    pdu = req[7:]
    fc = pdu[0]
    if fc == 3:
        addr, qty = struct.unpack(">HH", pdu[1:5])
        data = b"".join(struct.pack(">H", (addr + i + 1000) & 0xFFFF) for i in range(qty))
        out = bytes([3, len(data)]) + data
    elif fc == 6:
        out = pdu
    else:
        out = bytes([fc | 0x80, 1])
    return struct.pack(">HHHB", tid, 0, len(out) + 1, unit) + out


def serve(port):
    def one(c):
        with c:
            try:
                while True:
                    c.sendall(answer(recv_adu(c)))
            except (EOFError, ValueError, OSError):
                return

    serve_tcp_with(port, one)


def request(host, adu, split):
    c = socket.create_connection((host, 502), timeout=2)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if split:
        c.sendall(adu[:5])
        time.sleep(0.3)
        c.sendall(adu[5:])
    else:
        c.sendall(adu)
    try:
        return recv_adu(c)
    except (socket.timeout, EOFError):
        return None
    finally:
        c.close()


def pipeline(host, unit, addr, qty, n, tid):
    reqs = [struct.pack(">HHHBBHH", tid + i, 0, 6, unit, 3, addr, qty) for i in range(n + 1)]
    c = socket.create_connection((host, 502), timeout=8)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    i = 0
    try:
        for r in reqs[:n]:
            c.send(r)  # one segment each: nothing is queued unsent
        for i, r in enumerate(reqs):
            if i == n:
                c.send(r)  # the session goes on
            resp = recv_adu(c)
            if resp != answer(r):
                print(f"pipeline: answer {i}: {resp.hex()} != {answer(r).hex()}")
                return 2
    except (socket.timeout, EOFError):
        print(f"pipeline: no answer to request {i} of {n + 1}")
        return 1
    finally:
        c.close()
    print(f"pipeline: {n + 1} answers on one connection")
    return 0


def main(argv):
    if argv[1] == "server":
        serve(int(argv[2]))
        return 0
    if argv[1] == "pipeline":
        return pipeline(argv[2], *(int(x, 0) for x in argv[3:8]))
    host, unit, addr, x = argv[2], int(argv[3]), int(argv[4]), int(argv[5])
    split = "--split" in argv
    fc = 3 if argv[1] == "read" else 6
    pdu = struct.pack(">BHH", fc, addr, x)
    adu = struct.pack(">HHHB", 0x4242, 0, len(pdu) + 1, unit) + pdu
    resp = request(host, adu, split)
    if resp is None:
        print(f"{argv[1]} unit {unit} addr {addr}: no answer")
        return 1
    if fc == 3:
        want = answer(adu)
    else:
        want = adu
    if resp != want:
        print(f"{argv[1]} unit {unit} addr {addr}: wrong answer {resp.hex()} != {want.hex()}")
        return 2
    print(f"{argv[1]} unit {unit} addr {addr}: ok ({len(resp)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
