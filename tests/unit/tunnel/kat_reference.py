#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Known-answer check of the tunnel engine's handshake against a reference
written from the WireGuard paper (section 5.4) with Python's own BLAKE2s
and python3-cryptography's X25519 and ChaCha20-Poly1305.

usage: kat_reference.py KAT_DUMP

KAT_DUMP runs under $TP_EMULATOR when that is set (qemu in the arm64
cross-build, see cmake/tp.cmake).

Fixed static keys, ephemerals, preshared key and wall clock go to both the
engine (through kat_dump) and this reference; the initiation and response
bytes (mac1 included, mac2 zero), the transport keys and the first two data
messages (the confirming keepalive and a 60-byte packet) must be equal.
Nothing is shared with the C code but the inputs.
"""
import hashlib
import hmac
import os
import shlex
import struct
import subprocess
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import (X25519PrivateKey,
                                                              X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"


def HASH(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def MAC(key, data):
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


def HMAC(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def AEAD(key, counter, plain, ad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plain, ad)


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def DH(priv, public):
    return X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(public))


def tai64n(wall_ns):
    secs, nanos = divmod(wall_ns, 10**9)
    nanos -= nanos % (1 << 24)  # the 2^24 ns grain of the reference
    return struct.pack(">QI", (1 << 62) + 10 + secs, nanos)


def handshake(s_i, s_r, psk, e_i, e_r, wall_ns, idx_i, idx_r):
    """Returns initiation, response, initiator (send, recv) keys."""
    spub_i, spub_r, epub_i, epub_r = pub(s_i), pub(s_r), pub(e_i), pub(e_r)

    # initiator -> responder
    c = HASH(CONSTRUCTION)
    h = HASH(c, IDENTIFIER)
    h = HASH(h, spub_r)
    (c,) = KDF(1, c, epub_i)
    h = HASH(h, epub_i)
    c, k = KDF(2, c, DH(e_i, spub_r))
    enc_static = AEAD(k, 0, spub_i, h)
    h = HASH(h, enc_static)
    c, k = KDF(2, c, DH(s_i, spub_r))
    enc_ts = AEAD(k, 0, tai64n(wall_ns), h)
    h = HASH(h, enc_ts)
    init = struct.pack("<I", 1) + struct.pack("<I", idx_i) + epub_i + enc_static + enc_ts
    init += MAC(HASH(LABEL_MAC1, spub_r), init) + b"\0" * 16

    # responder -> initiator
    (c,) = KDF(1, c, epub_r)
    h = HASH(h, epub_r)
    (c,) = KDF(1, c, DH(e_r, epub_i))
    (c,) = KDF(1, c, DH(e_r, spub_i))
    c, tau, k = KDF(3, c, psk)
    h = HASH(h, tau)
    enc_nothing = AEAD(k, 0, b"", h)
    resp = struct.pack("<III", 2, idx_r, idx_i) + epub_r + enc_nothing
    resp += MAC(HASH(LABEL_MAC1, spub_i), resp) + b"\0" * 16

    t_send_i, t_recv_i = KDF(2, c, b"")
    return init, resp, t_send_i, t_recv_i


def data_message(key, receiver, counter, inner):
    padded = inner + b"\0" * (-len(inner) % 16)
    return struct.pack("<IIQ", 4, receiver, counter) + AEAD(key, counter, padded, b"")


def check(dump, psk, wall_ns):
    s_i = HASH(b"kat initiator static")
    s_r = HASH(b"kat responder static")
    e_i = HASH(b"kat initiator ephemeral")
    e_r = HASH(b"kat responder ephemeral")

    emulator = shlex.split(os.environ.get("TP_EMULATOR", ""))
    out = subprocess.run([*emulator, dump, s_i.hex(), s_r.hex(), psk.hex(), e_i.hex(),
                          e_r.hex(), str(wall_ns)], check=True, capture_output=True, text=True).stdout
    got = dict(line.split(" ", 1) for line in out.splitlines())
    engine = {k: bytes.fromhex(v) for k, v in got.items() if k != "responder_accepts"}

    # The sender indices are the engine's random choice: take them from its
    # messages, everything else is computed here.
    idx_i = struct.unpack("<I", engine["initiation"][4:8])[0]
    idx_r = struct.unpack("<I", engine["response"][4:8])[0]
    init, resp, t_send, t_recv = handshake(s_i, s_r, psk, e_i, e_r, wall_ns, idx_i, idx_r)
    inner = bytes([0x45, 0, 0, 60, 0, 0, 0, 0, 64, 17]) + b"\0" * 50
    want = {
        "initiation": init,
        "response": resp,
        "initiator_send": t_send,
        "initiator_recv": t_recv,
        "responder_send": t_recv,
        "responder_recv": t_send,
        "keepalive": data_message(t_send, idx_r, 0, b""),
        "data": data_message(t_send, idx_r, 1, inner),
    }
    bad = 0
    for name, value in want.items():
        ok = engine.get(name) == value
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name} ({len(value)} bytes)")
        if not ok:
            print(f"     engine    {engine.get(name, b'').hex()}\n     reference {value.hex()}")
    if got.get("responder_accepts") != "1 1":
        print("FAIL the responder did not accept the data messages")
        bad += 1
    if len(init) != 148 or len(resp) != 92:
        print("FAIL reference message sizes")
        bad += 1
    return bad


def main():
    bad = 0
    print("with a preshared key:")
    bad += check(sys.argv[1], HASH(b"kat preshared key"), 1700000000 * 10**9 + 123456789)
    print("without (zeros), another wall clock:")
    bad += check(sys.argv[1], b"\0" * 32, 1800000000 * 10**9 + 987654321)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
