#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An independent Noise_IK_25519_ChaChaPoly_BLAKE2s initiator (Python
`cryptography` + hashlib, written from the Noise specification, sharing no
code with controller-client/noise), used as a transition point against a
running `tpolicy serve`: handshake, Hello, then wait for the PolicyPush,
decrypt it and print its version.

usage: noise_ik_ref.py HOST:PORT TP.key CONTROLLER.key.pub
exit 0 and "push VERSION BYTES" on success, non-zero otherwise.

As a rogue TP it reports a version it cannot prove and prints what the
controller answers within 2 s ("proof-request VERSION", "push VERSION"):
usage: noise_ik_ref.py HOST:PORT TP.key CONTROLLER.key.pub --claim VERSION

As a controller (responder) it pushes a bundle file to the first TP that
connects and prints its answer:
usage: noise_ik_ref.py --responder HOST:PORT CONTROLLER.key BUNDLE.tpb VERSION
exit 0 and "ack VERSION" / "nack VERSION REASON" after the TP answered."""
import base64, hashlib, hmac, socket, struct, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

RAW = serialization.Encoding.Raw


def h(data):
    return hashlib.blake2s(data).digest()


def hkdf(ck, ikm, n):
    t = hmac.new(ck, ikm, hashlib.blake2s).digest()
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = hmac.new(t, prev + bytes([i]), hashlib.blake2s).digest()
        out.append(prev)
    return out


def nonce(n):
    return b"\0" * 4 + struct.pack("<Q", n)


def dh(priv, pub):
    return priv.exchange(X25519PublicKey.from_public_bytes(pub))


def pubbytes(priv):
    return priv.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)


def ed25519_pk_to_x25519(ed):
    # The birational map u = (1 + y) / (1 - y) mod p (RFC 7748, section 4.1).
    p = 2**255 - 19
    y = int.from_bytes(ed, "little") & ((1 << 255) - 1)
    return ((1 + y) * pow(1 - y, p - 2, p) % p).to_bytes(32, "little")


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field(num, wt, payload):
    key = varint(num << 3 | wt)
    return key + (varint(len(payload)) + payload if wt == 2 else varint(payload))


def parse(buf):
    i, out = 0, {}

    def rd():
        nonlocal i
        v = s = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << s
            s += 7
            if not b & 0x80:
                return v

    while i < len(buf):
        key = rd()
        num, wt = key >> 3, key & 7
        if wt == 0:
            out[num] = rd()
        elif wt == 2:
            n = rd()
            out[num] = buf[i:i + n]
            i += n
        else:
            raise ValueError("wire type %d" % wt)
    return out


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("closed")
        buf += d
    return buf


def recv_frame(s):
    return recv_exact(s, struct.unpack(">I", recv_exact(s, 4))[0])


def send_frame(s, b):
    s.sendall(struct.pack(">I", len(b)) + b)


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    s_priv = X25519PrivateKey.from_private_bytes(
        base64.b64decode(open(sys.argv[2]).read().strip()))
    rs = ed25519_pk_to_x25519(base64.b64decode(open(sys.argv[3]).read().strip()))
    s_pub = pubbytes(s_priv)
    name = b"Noise_IK_25519_ChaChaPoly_BLAKE2s"
    hh = h(name) if len(name) > 32 else name.ljust(32, b"\0")
    ck = hh
    hh = h(hh + b"tableau-controller-v1")
    hh = h(hh + rs)  # <- s
    e = X25519PrivateKey.generate()
    e_pub = pubbytes(e)
    hh = h(hh + e_pub)  # -> e
    ck, k = hkdf(ck, dh(e, rs), 2)  # es
    c_s = ChaCha20Poly1305(k).encrypt(nonce(0), s_pub, hh)  # s
    hh = h(hh + c_s)
    ck, k = hkdf(ck, dh(s_priv, rs), 2)  # ss
    c_p = ChaCha20Poly1305(k).encrypt(nonce(0), b"", hh)
    hh = h(hh + c_p)
    sock = socket.create_connection((host, int(port)), timeout=5)
    send_frame(sock, e_pub + c_s + c_p)
    m2 = recv_frame(sock)
    re = m2[:32]
    hh = h(hh + re)  # <- e
    ck, k = hkdf(ck, dh(e, re), 2)  # ee
    ck, k = hkdf(ck, dh(s_priv, re), 2)  # se
    ChaCha20Poly1305(k).decrypt(nonce(0), m2[32:], hh)
    k_send, k_recv = hkdf(ck, b"", 2)
    claim = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--claim" else None
    hello = (field(1, 2, b"python-ref") + field(2, 2, s_pub) + field(3, 2, b"noise_ik_ref") +
             field(4, 0, claim or 0))
    send_frame(sock, ChaCha20Poly1305(k_send).encrypt(nonce(0), field(1, 2, hello), None))
    rn = 0
    if claim is not None:
        # Answer nothing; report what the controller makes of the claim.
        sock.settimeout(2)
        try:
            while True:
                env = parse(ChaCha20Poly1305(k_recv).decrypt(nonce(rn), recv_frame(sock), None))
                rn += 1
                if 10 in env:
                    print("proof-request", parse(env[10]).get(1, 0), flush=True)
                if 2 in env:
                    print("push", parse(env[2]).get(2, 0), flush=True)
        except (socket.timeout, EOFError):
            return 0
    while True:
        env = parse(ChaCha20Poly1305(k_recv).decrypt(nonce(rn), recv_frame(sock), None))
        rn += 1
        if 2 in env:
            push = parse(env[2])
            print("push", push.get(2, 0), len(push.get(1, b"")))
            return 0


def ed25519_seed_to_x25519(seed):
    # libsodium's crypto_sign_ed25519_sk_to_curve25519: SHA-512 of the
    # seed, first half, clamped.
    d = bytearray(hashlib.sha512(seed).digest()[:32])
    d[0] &= 248
    d[31] &= 127
    d[31] |= 64
    return bytes(d)


def responder():
    host, port = sys.argv[2].rsplit(":", 1)
    seed = base64.b64decode(open(sys.argv[3]).read().strip())
    bundle = open(sys.argv[4], "rb").read()
    version = int(sys.argv[5])
    s_priv = X25519PrivateKey.from_private_bytes(ed25519_seed_to_x25519(seed))
    s_pub = pubbytes(s_priv)
    name = b"Noise_IK_25519_ChaChaPoly_BLAKE2s"
    hh = h(name)
    ck = hh
    hh = h(hh + b"tableau-controller-v1")
    hh = h(hh + s_pub)  # <- s
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(1)
    ls.settimeout(20)
    sock, _ = ls.accept()
    sock.settimeout(10)
    m1 = recv_frame(sock)
    re = m1[:32]
    hh = h(hh + re)  # -> e
    ck, k = hkdf(ck, dh(s_priv, re), 2)  # es
    rs = ChaCha20Poly1305(k).decrypt(nonce(0), m1[32:80], hh)  # s
    hh = h(hh + m1[32:80])
    ck, k = hkdf(ck, dh(s_priv, rs), 2)  # ss
    ChaCha20Poly1305(k).decrypt(nonce(0), m1[80:], hh)
    hh = h(hh + m1[80:])
    e = X25519PrivateKey.generate()
    e_pub = pubbytes(e)
    hh = h(hh + e_pub)  # <- e
    ck, k = hkdf(ck, dh(e, re), 2)  # ee
    ck, k = hkdf(ck, dh(e, rs), 2)  # se
    c_p = ChaCha20Poly1305(k).encrypt(nonce(0), b"", hh)
    send_frame(sock, e_pub + c_p)
    k_recv, k_send = hkdf(ck, b"", 2)  # initiator -> responder first
    rn = sn = 0

    def recv_env():
        nonlocal rn
        env = parse(ChaCha20Poly1305(k_recv).decrypt(nonce(rn), recv_frame(sock), None))
        rn += 1
        return env

    hello = parse(recv_env()[1])
    if hello.get(2) != rs:
        print("hello key mismatch")
        return 1
    push = field(1, 2, bundle) + field(2, 0, version)
    send_frame(sock, ChaCha20Poly1305(k_send).encrypt(nonce(sn), field(2, 2, push), None))
    sn += 1
    while True:
        env = recv_env()
        if 3 in env:
            print("ack", parse(env[3]).get(1, 0))
            return 0
        if 4 in env:
            n = parse(env[4])
            print("nack", n.get(1, 0), n.get(2, 0))
            return 0


if __name__ == "__main__":
    sys.exit(responder() if sys.argv[1] == "--responder" else main())
