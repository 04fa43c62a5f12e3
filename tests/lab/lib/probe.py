#!/usr/bin/env python3
"""Tiny traffic probes for the lab tests (run inside a lab node).

  probe.py tcp-server PORT            echo every connection (until killed)
  probe.py udp-server PORT            echo every datagram (until killed)
  probe.py tcp HOST PORT [TIMEOUT]    connect, send, expect the echo: exit 0/1
  probe.py udp HOST PORT [TIMEOUT]    send, expect the echo: exit 0/1
"""
import socket
import sys
import threading


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def serve_tcp_with(port, handler):
    """Dual-stack TCP server on PORT: handler(conn) in a thread per
    connection (it owns the socket). Never returns."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def serve_tcp(port):
    def echo(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)

    serve_tcp_with(port, echo)


def serve_udp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        d, a = s.recvfrom(65536)
        s.sendto(d, a)


def ask(kind, host, port, timeout):
    msg = b"tableau-probe"
    s = socket.socket(family(host), socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        if kind == "tcp":
            s.connect((host, port))
            s.sendall(msg)
            got = s.recv(100)
        else:
            got = b""
            for _ in range(3):  # UDP: a first datagram may wait for a handshake
                s.sendto(msg, (host, port))
                try:
                    got, _ = s.recvfrom(100)
                    break
                except socket.timeout:
                    continue
        return 0 if got == msg else 1
    except OSError:
        return 1
    finally:
        s.close()


def main():
    cmd = sys.argv[1]
    if cmd == "tcp-server":
        serve_tcp(int(sys.argv[2]))
    elif cmd == "udp-server":
        serve_udp(int(sys.argv[2]))
    elif cmd in ("tcp", "udp"):
        t = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
        sys.exit(ask(cmd, sys.argv[2], int(sys.argv[3]), t))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
