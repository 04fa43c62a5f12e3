// SPDX-License-Identifier: MIT
/*
 * Controller channel building blocks: Noise_IK handshake (both roles, every
 * way it must fail), frame reader (sizes refused before allocating, any
 * split of the byte stream), transport counters, envelope decoder limits,
 * backoff schedule against injected randomness, the policy-state machine
 * and last-known-good persistence.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/base/crypto.h"
#include "tp/ctrl/backoff.h"
#include "tp/ctrl/conn.h"
#include "tp/ctrl/frame.h"
#include "tp/ctrl/msg.h"
#include "tp/ctrl/noise.h"
#include "tp/ctrl/failmode.h"
#include "tp/ctrl/lkg.h"

#include "../../lib/tl_cunit.h"

static uint8_t i_priv[32], i_pub[32], r_priv[32], r_pub[32], x_priv[32], x_pub[32];

static void keypair(uint8_t priv[32], uint8_t pub[32])
{
	randombytes_buf(priv, 32);
	tp_crypto_clamp(priv);
	if (!tp_crypto_pubkey(pub, priv))
		abort();
}

/* Run a whole handshake; returns true when both sides agree on keys. */
static bool handshake(const uint8_t *pinned, struct tp_ctrl_noise_keys *ik,
		      struct tp_ctrl_noise_keys *rk, uint8_t learnt[32])
{
	struct tp_ctrl_noise i, r;
	uint8_t m1[TP_CTRL_NOISE_MSG1_OVERHEAD + 5], m2[TP_CTRL_NOISE_MSG2_OVERHEAD + 3], p[256];
	int n1, n2;

	CU_ASSERT_FATAL(tp_ctrl_noise_init(&i, true, i_priv, pinned));
	CU_ASSERT_FATAL(tp_ctrl_noise_init(&r, false, r_priv, NULL));
	n1 = tp_ctrl_noise_write1(&i, NULL, "hello", 5, m1, sizeof(m1));
	CU_ASSERT_EQUAL_FATAL(n1, (int)sizeof(m1));
	if (tp_ctrl_noise_read1(&r, m1, (size_t)n1, p, sizeof(p)) != 5)
		return false;
	CU_ASSERT_EQUAL(memcmp(p, "hello", 5), 0);
	memcpy(learnt, r.rs, 32);
	n2 = tp_ctrl_noise_write2(&r, NULL, "hey", 3, m2, sizeof(m2), rk);
	CU_ASSERT_EQUAL_FATAL(n2, (int)sizeof(m2));
	if (tp_ctrl_noise_read2(&i, m2, (size_t)n2, p, sizeof(p), ik) != 3)
		return false;
	CU_ASSERT_EQUAL(memcmp(p, "hey", 3), 0);
	tp_ctrl_noise_wipe(&i);
	tp_ctrl_noise_wipe(&r);
	return true;
}

/* Both ends of an established channel over a socket pair: A the
 * initiator (sv[0]), B the responder (sv[1]); LEARNT the initiator's
 * static key as the responder learnt it. */
static void conn_pair(struct tp_ctrl_conn *a, struct tp_ctrl_conn *b, int sv[2], uint8_t learnt[32])
{
	struct tp_ctrl_noise_keys ik, rk;

	CU_ASSERT_TRUE_FATAL(handshake(r_pub, &ik, &rk, learnt));
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	tp_ctrl_conn_init(a, sv[0], TP_CTRL_FRAME_MAX, 1 << 20);
	tp_ctrl_conn_init(b, sv[1], TP_CTRL_FRAME_MAX, 1 << 20);
	tp_ctrl_conn_set_keys(a, &ik, TP_CTRL_FRAME_MAX);
	tp_ctrl_conn_set_keys(b, &rk, TP_CTRL_FRAME_MAX);
}

static void test_noise_roundtrip(void)
{
	struct tp_ctrl_noise_keys ik, rk;
	uint8_t learnt[32];

	CU_ASSERT_TRUE_FATAL(handshake(r_pub, &ik, &rk, learnt));
	CU_ASSERT_EQUAL(memcmp(learnt, i_pub, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ik.send, rk.recv, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ik.recv, rk.send, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(ik.send, ik.recv, 32), 0);
	CU_ASSERT_EQUAL(memcmp(ik.hash, rk.hash, 32), 0);
}

/* A TP that pins another controller key cannot even be read. */
static void test_noise_wrong_responder(void)
{
	struct tp_ctrl_noise_keys ik, rk;
	uint8_t learnt[32];

	CU_ASSERT_FALSE(handshake(x_pub, &ik, &rk, learnt));
}

/* Every single bit flip of either message is refused. */
static void test_noise_tamper(void)
{
	struct tp_ctrl_noise i, r;
	struct tp_ctrl_noise_keys k;
	uint8_t m1[TP_CTRL_NOISE_MSG1_OVERHEAD], m2[TP_CTRL_NOISE_MSG2_OVERHEAD], p[256];
	uint8_t e_i[32], e_r[32];
	size_t bit;

	randombytes_buf(e_i, 32);
	randombytes_buf(e_r, 32);
	for (bit = 0; bit < sizeof(m1) * 8; bit += 7) {
		tp_ctrl_noise_init(&i, true, i_priv, r_pub);
		tp_ctrl_noise_init(&r, false, r_priv, NULL);
		CU_ASSERT_EQUAL(tp_ctrl_noise_write1(&i, e_i, NULL, 0, m1, sizeof(m1)),
				(int)sizeof(m1));
		m1[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CU_ASSERT_EQUAL(tp_ctrl_noise_read1(&r, m1, sizeof(m1), p, sizeof(p)), -EBADMSG);
		CU_ASSERT_EQUAL(r.state, TP_CTRL_NOISE_ZEROED);
	}
	for (bit = 0; bit < sizeof(m2) * 8; bit += 5) {
		tp_ctrl_noise_init(&i, true, i_priv, r_pub);
		tp_ctrl_noise_init(&r, false, r_priv, NULL);
		tp_ctrl_noise_write1(&i, e_i, NULL, 0, m1, sizeof(m1));
		CU_ASSERT_EQUAL(tp_ctrl_noise_read1(&r, m1, sizeof(m1), p, sizeof(p)), 0);
		CU_ASSERT_EQUAL(tp_ctrl_noise_write2(&r, e_r, NULL, 0, m2, sizeof(m2), &k),
				(int)sizeof(m2));
		m2[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CU_ASSERT_EQUAL(tp_ctrl_noise_read2(&i, m2, sizeof(m2), p, sizeof(p), &k),
				-EBADMSG);
	}
	/* Truncated and overlong messages, a low-order ephemeral. */
	tp_ctrl_noise_init(&r, false, r_priv, NULL);
	CU_ASSERT_EQUAL(tp_ctrl_noise_read1(&r, m1, sizeof(m1) - 1, p, sizeof(p)), -EBADMSG);
	memset(m1, 0, sizeof(m1));
	tp_ctrl_noise_init(&r, false, r_priv, NULL);
	CU_ASSERT_EQUAL(tp_ctrl_noise_read1(&r, m1, sizeof(m1), p, sizeof(p)), -EBADMSG);
	tp_ctrl_noise_wipe(&i);
}

/* Fixed ephemerals give fixed messages (deterministic given the keys), and
 * the protocol name and prologue are bound: a responder with another
 * prologue would fail, which we show by mutating the hash state. */
static void test_noise_deterministic(void)
{
	struct tp_ctrl_noise a, b;
	uint8_t e[32], m1a[TP_CTRL_NOISE_MSG1_OVERHEAD], m1b[TP_CTRL_NOISE_MSG1_OVERHEAD], p[8];

	memset(e, 0x42, sizeof(e));
	tp_ctrl_noise_init(&a, true, i_priv, r_pub);
	tp_ctrl_noise_init(&b, true, i_priv, r_pub);
	tp_ctrl_noise_write1(&a, e, NULL, 0, m1a, sizeof(m1a));
	tp_ctrl_noise_write1(&b, e, NULL, 0, m1b, sizeof(m1b));
	CU_ASSERT_EQUAL(memcmp(m1a, m1b, sizeof(m1a)), 0);
	tp_ctrl_noise_init(&b, false, r_priv, NULL);
	b.h[0] ^= 1; /* another prologue or name */
	CU_ASSERT_EQUAL(tp_ctrl_noise_read1(&b, m1a, sizeof(m1a), p, sizeof(p)), -EBADMSG);
	/* Wrong-state calls are refused, not undefined. */
	CU_ASSERT_EQUAL(tp_ctrl_noise_write1(&a, e, NULL, 0, m1a, sizeof(m1a)), -EINVAL);
	tp_ctrl_noise_wipe(&a);
}

static void test_noise_ed25519_map(void)
{
	uint8_t seed[32], ed_pk[32], ed_sk[64], xp[32], xs[32], xs_pub[32];

	randombytes_buf(seed, 32);
	crypto_sign_seed_keypair(ed_pk, ed_sk, seed);
	CU_ASSERT_TRUE(tp_ctrl_noise_pub_from_ed25519(xp, ed_pk));
	CU_ASSERT_TRUE(tp_ctrl_noise_priv_from_ed25519(xs, seed));
	CU_ASSERT_TRUE(tp_crypto_pubkey(xs_pub, xs));
	CU_ASSERT_EQUAL(memcmp(xp, xs_pub, 32), 0);
}

static void test_frame_sizes(void)
{
	struct tp_ctrl_frame_rx rx;
	uint8_t hdr[4];

	/* Above the maximum: refused on the header, nothing allocated. */
	tp_ctrl_frame_rx_init(&rx, 1000);
	tp_ctrl_frame_put_len(hdr, 1001);
	CU_ASSERT_EQUAL(tp_ctrl_frame_rx_feed(&rx, hdr, 4), -EMSGSIZE);
	CU_ASSERT_PTR_NULL(rx.buf);
	tp_ctrl_frame_rx_free(&rx);
	tp_ctrl_frame_rx_init(&rx, TP_CTRL_FRAME_MAX);
	tp_ctrl_frame_put_len(hdr, 0xffffffffu);
	CU_ASSERT_EQUAL(tp_ctrl_frame_rx_feed(&rx, hdr, 4), -EMSGSIZE);
	CU_ASSERT_PTR_NULL(rx.buf);
	tp_ctrl_frame_rx_free(&rx);
	/* Below the minimum. */
	tp_ctrl_frame_rx_init(&rx, 1000);
	tp_ctrl_frame_put_len(hdr, 3);
	CU_ASSERT_EQUAL(tp_ctrl_frame_rx_feed(&rx, hdr, 4), -EBADMSG);
	tp_ctrl_frame_rx_free(&rx);
	/* A big announced frame holds only what arrived. */
	tp_ctrl_frame_rx_init(&rx, TP_CTRL_FRAME_MAX);
	tp_ctrl_frame_put_len(hdr, TP_CTRL_FRAME_MAX);
	CU_ASSERT_EQUAL(tp_ctrl_frame_rx_feed(&rx, hdr, 4), 4);
	CU_ASSERT_EQUAL(tp_ctrl_frame_rx_feed(&rx, hdr, 4), 4);
	CU_ASSERT_TRUE(rx.cap <= 4096);
	tp_ctrl_frame_rx_free(&rx);
}

/* Frames split at every possible point come out whole and in order. */
static void test_frame_splits(void)
{
	uint8_t stream[3 * (4 + 40)];
	size_t i, cut;

	for (i = 0; i < 3; i++) {
		tp_ctrl_frame_put_len(stream + i * 44, 40);
		memset(stream + i * 44 + 4, (int)('a' + i), 40);
	}
	for (cut = 0; cut <= sizeof(stream); cut++) {
		struct tp_ctrl_frame_rx rx;
		size_t off = 0, got = 0;
		const size_t ends[2] = {cut, sizeof(stream)};

		tp_ctrl_frame_rx_init(&rx, 100);
		for (int part = 0; part < 2; part++) {
			while (off < ends[part]) {
				ssize_t n =
					tp_ctrl_frame_rx_feed(&rx, stream + off, ends[part] - off);

				CU_ASSERT_FATAL(n >= 0);
				off += (size_t)n;
				if (rx.done) {
					CU_ASSERT_EQUAL(rx.len, 40);
					CU_ASSERT_EQUAL(rx.buf[0], 'a' + got);
					CU_ASSERT_EQUAL(rx.buf[39], 'a' + got);
					got++;
					tp_ctrl_frame_rx_next(&rx);
				}
			}
		}
		CU_ASSERT_EQUAL(got, 3);
		tp_ctrl_frame_rx_free(&rx);
	}
}

/* Encrypted envelopes through a socketpair; a counter that would wrap
 * ends the session on either side; a flipped bit is a fatal bad tag. */
static void test_conn_transport(void)
{
	struct tp_ctrl_conn a, b;
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Ping ping = TABLEAU__V1__PING__INIT;
	struct tp_ctrl_msg *m;
	uint8_t learnt[32], *f;
	size_t len;
	int sv[2];

	conn_pair(&a, &b, sv, learnt);
	env.msg_case = TABLEAU__V1__ENVELOPE__MSG_PING;
	env.ping = &ping;
	for (uint64_t id = 1; id <= 3; id++) {
		ping.id = id;
		CU_ASSERT_EQUAL(tp_ctrl_conn_send(&a, &env), 0);
	}
	CU_ASSERT_EQUAL(tp_ctrl_conn_flush(&a), 0);
	for (uint64_t id = 1; id <= 3; id++) {
		CU_ASSERT_EQUAL_FATAL(tp_ctrl_conn_recv(&b, &f, &len), 1);
		m = tp_ctrl_msg_decode(f, len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_EQUAL(m->env->msg_case, TABLEAU__V1__ENVELOPE__MSG_PING);
		CU_ASSERT_EQUAL(m->env->ping->id, id);
		tp_ctrl_msg_free(m);
	}
	CU_ASSERT_EQUAL(tp_ctrl_conn_recv(&b, &f, &len), 0);
	/* Counter wrap: refused on send, fatal on receive. */
	a.send_ctr = UINT64_MAX;
	CU_ASSERT_EQUAL(tp_ctrl_conn_send(&a, &env), -EOVERFLOW);
	b.recv_ctr = UINT64_MAX;
	a.send_ctr = UINT64_MAX - 1;
	CU_ASSERT_EQUAL(tp_ctrl_conn_send(&a, &env), 0);
	CU_ASSERT_EQUAL(tp_ctrl_conn_flush(&a), 0);
	CU_ASSERT_EQUAL(tp_ctrl_conn_recv(&b, &f, &len), -EOVERFLOW);
	/* Out-of-step counter (a replayed or dropped frame) is a bad tag. */
	b.rx.done = false;
	tp_ctrl_frame_rx_next(&b.rx);
	b.recv_ctr = 5;
	a.send_ctr = 6;
	CU_ASSERT_EQUAL(tp_ctrl_conn_send(&a, &env), 0);
	CU_ASSERT_EQUAL(tp_ctrl_conn_flush(&a), 0);
	CU_ASSERT_EQUAL(tp_ctrl_conn_recv(&b, &f, &len), -EBADMSG);
	/* Backlog limit. */
	a.tx_limit = 64;
	CU_ASSERT_EQUAL(tp_ctrl_conn_send_raw(&a, learnt, 32), 0);
	CU_ASSERT_EQUAL(tp_ctrl_conn_send_raw(&a, learnt, 32), -ENOBUFS);
	tp_ctrl_conn_close(&a);
	tp_ctrl_conn_close(&b);
	/* End of stream. */
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	tp_ctrl_conn_init(&b, sv[1], 100, 100);
	close(sv[0]);
	CU_ASSERT_EQUAL(tp_ctrl_conn_recv(&b, &f, &len), -ECONNRESET);
	tp_ctrl_conn_close(&b);
}

/* Noise REKEY of one direction: the sender's Rekey frame is the last under
 * the old key; the receiver switches after it, in step. The new key is
 * ENCRYPT(k, 2^64-1, "", zeros(32))[0..32), computed here with libsodium
 * directly. A receiver that did not switch cannot read on. */
static void test_conn_rekey(void)
{
	static const uint8_t zeros[32];
	struct tp_ctrl_conn a, b;
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Ping ping = TABLEAU__V1__PING__INIT;
	uint8_t learnt[32], old[32], want[48], nonce[12] = {0}, *f;
	unsigned long long wlen;
	struct tp_ctrl_msg *m;
	size_t len;
	int sv[2];

	conn_pair(&a, &b, sv, learnt);
	a.send_key_ns = 1000;
	env.msg_case = TABLEAU__V1__ENVELOPE__MSG_PING;
	env.ping = &ping;
	/* Due after max_frames frames or max_age. */
	CU_ASSERT_FALSE(tp_ctrl_conn_rekey_due(&a, 1000, 500, 2));
	CU_ASSERT_TRUE(tp_ctrl_conn_rekey_due(&a, 1500, 500, 2));
	ping.id = 1;
	CU_ASSERT_EQUAL(tp_ctrl_conn_send(&a, &env), 0);
	CU_ASSERT_FALSE(tp_ctrl_conn_rekey_due(&a, 1000, 500, 2));
	CU_ASSERT_EQUAL(tp_ctrl_conn_send(&a, &env), 0);
	CU_ASSERT_TRUE(tp_ctrl_conn_rekey_due(&a, 1000, 500, 2));
	memcpy(old, a.send_key, 32);
	CU_ASSERT_EQUAL(tp_ctrl_conn_rekey_send(&a, 2000), 0);
	memset(nonce + 4, 0xff, 8);
	crypto_aead_chacha20poly1305_ietf_encrypt(want, &wlen, zeros, 32, NULL, 0, NULL, nonce,
						  old);
	CU_ASSERT_EQUAL(memcmp(a.send_key, want, 32), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a.send_key, old, 32), 0);
	CU_ASSERT_FALSE(tp_ctrl_conn_rekey_due(&a, 2000, 500, 2));
	CU_ASSERT_EQUAL(a.send_ctr, 3); /* the counter continues */
	ping.id = 2;
	CU_ASSERT_EQUAL(tp_ctrl_conn_send(&a, &env), 0);
	CU_ASSERT_EQUAL(tp_ctrl_conn_flush(&a), 0);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL_FATAL(tp_ctrl_conn_recv(&b, &f, &len), 1);
		m = tp_ctrl_msg_decode(f, len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_EQUAL(m->env->msg_case, TABLEAU__V1__ENVELOPE__MSG_PING);
		tp_ctrl_msg_free(m);
	}
	CU_ASSERT_EQUAL_FATAL(tp_ctrl_conn_recv(&b, &f, &len), 1);
	m = tp_ctrl_msg_decode(f, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->env->msg_case, TABLEAU__V1__ENVELOPE__MSG_REKEY);
	tp_ctrl_msg_free(m);
	tp_ctrl_conn_rekey_recv(&b);
	CU_ASSERT_EQUAL(memcmp(b.recv_key, want, 32), 0);
	CU_ASSERT_EQUAL_FATAL(tp_ctrl_conn_recv(&b, &f, &len), 1);
	m = tp_ctrl_msg_decode(f, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->env->ping->id, 2);
	tp_ctrl_msg_free(m);
	/* A receiver that ignores the Rekey cannot read the next frame. */
	CU_ASSERT_EQUAL(tp_ctrl_conn_rekey_send(&a, 3000), 0);
	CU_ASSERT_EQUAL(tp_ctrl_conn_send(&a, &env), 0);
	CU_ASSERT_EQUAL(tp_ctrl_conn_flush(&a), 0);
	CU_ASSERT_EQUAL(tp_ctrl_conn_recv(&b, &f, &len), 1);
	CU_ASSERT_EQUAL(tp_ctrl_conn_recv(&b, &f, &len), -EBADMSG);
	tp_ctrl_conn_close(&a);
	tp_ctrl_conn_close(&b);
}

/* Handshake payloads: the Feature bits round-trip; an empty or unreadable
 * payload (a first-version peer) has none. */
static void test_msg_features(void)
{
	uint8_t buf[TP_CTRL_NOISE_PAYLOAD_MAX];
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	size_t n = tp_ctrl_msg_pack_features(TABLEAU__V1__FEATURE__FEATURE_REKEY, buf, sizeof(buf));

	CU_ASSERT_TRUE(n > 0);
	CU_ASSERT_EQUAL(tp_ctrl_msg_features(buf, n), TABLEAU__V1__FEATURE__FEATURE_REKEY);
	CU_ASSERT_EQUAL(tp_ctrl_msg_features(NULL, 0), 0);
	CU_ASSERT_EQUAL(tp_ctrl_msg_features(junk, sizeof(junk)), 0);
	CU_ASSERT_EQUAL(tp_ctrl_msg_pack_features(1, buf, 1), 0);
}

static void test_msg_limits(void)
{
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Hello h = TABLEAU__V1__HELLO__INIT;
	uint8_t buf[256], key[31] = {0};
	size_t n;
	struct tp_ctrl_msg *m;
	static const uint8_t unknown_arm[] = {0x7a, 0x00}; /* field 15, empty */
	/* Field number 0 (invalid) behind a two-byte key, at the top and
	 * inside a Ping: protobuf-c would keep it and re-encode it unreadably
	 * (found by fuzz_ctrl_frame's round trip). */
	static const uint8_t field0[] = {0x80, 0x00, 0xfd, 0x12};
	static const uint8_t field0_inner[] = {0x42, 0x03, 0x80, 0x00, 0x01};

	env.msg_case = TABLEAU__V1__ENVELOPE__MSG_HELLO;
	env.hello = &h;
	h.tp_name = "tp1";
	h.public_key.data = key;
	h.public_key.len = sizeof(key); /* not 32 */
	n = tp_ctrl_msg_pack(&env, buf);
	CU_ASSERT_PTR_NULL(tp_ctrl_msg_decode(buf, n));
	CU_ASSERT_PTR_NULL(tp_ctrl_msg_decode(field0, sizeof(field0)));
	CU_ASSERT_PTR_NULL(tp_ctrl_msg_decode(field0_inner, sizeof(field0_inner)));
	h.public_key.data = i_pub;
	h.public_key.len = 32;
	n = tp_ctrl_msg_pack(&env, buf);
	m = tp_ctrl_msg_decode(buf, n);
	CU_ASSERT_PTR_NOT_NULL(m);
	tp_ctrl_msg_free(m);
	/* A newer peer's message type: decoded, no arm set. */
	m = tp_ctrl_msg_decode(unknown_arm, sizeof(unknown_arm));
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->env->msg_case, TABLEAU__V1__ENVELOPE__MSG__NOT_SET);
	tp_ctrl_msg_free(m);
	/* Garbage. */
	memset(buf, 0xff, sizeof(buf));
	CU_ASSERT_PTR_NULL(tp_ctrl_msg_decode(buf, sizeof(buf)));
}

static uint32_t fixed_random_value;
static uint32_t fixed_random(void *arg)
{
	return fixed_random_value;
}

static void test_backoff(void)
{
	struct tp_ctrl_backoff b;
	const uint64_t base = 500, cap = 30000;
	uint64_t d, prev = 0;

	tp_ctrl_backoff_init(&b, base, cap, fixed_random, NULL);
	/* Lowest jitter: exactly half of base * 2^n, then half the cap. */
	fixed_random_value = 0;
	for (unsigned n = 0; n < 12; n++) {
		uint64_t full = base << n;

		if (full > cap)
			full = cap;
		d = tp_ctrl_backoff_next(&b);
		CU_ASSERT_EQUAL(d, full - full / 2);
		CU_ASSERT_TRUE(d >= prev);
		prev = d;
	}
	/* Highest jitter never exceeds the cap. */
	fixed_random_value = UINT32_MAX;
	for (unsigned n = 0; n < 100; n++)
		CU_ASSERT_TRUE(tp_ctrl_backoff_next(&b) <= cap);
	CU_ASSERT_TRUE(tp_ctrl_backoff_next(&b) > cap - cap / 1000);
	/* Success resets the schedule. */
	tp_ctrl_backoff_reset(&b);
	fixed_random_value = 0;
	CU_ASSERT_EQUAL(tp_ctrl_backoff_next(&b), base / 2);
	/* Real randomness stays within [d/2, d]. */
	tp_ctrl_backoff_init(&b, base, cap, NULL, NULL);
	for (unsigned n = 0; n < 20; n++) {
		uint64_t full = n < 6 ? base << n : cap;

		d = tp_ctrl_backoff_next(&b);
		if (full > cap)
			full = cap;
		CU_ASSERT_TRUE(d >= full / 2 && d <= full);
	}
}

static char last_log[512];
static unsigned n_logs;
static void log_cb(void *arg, const char *msg)
{
	snprintf(last_log, sizeof(last_log), "%s", msg);
	n_logs++;
}

static void test_failmode(void)
{
	struct tp_failmode fm;
	const int64_t t = 1795000000;

	n_logs = 0;
	tp_failmode_init(&fm, TP_FAILMODE_EXPIRY_CLOSED, true, log_cb, NULL, t);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_NO_POLICY);
	CU_ASSERT_FALSE(tp_failmode_enforcing(&fm));
	CU_ASSERT_EQUAL(n_logs, 1);
	/* LKG loaded before the controller is back: island. */
	tp_failmode_set_policy(&fm, 7, t + 100, t);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_ISLAND);
	CU_ASSERT_TRUE(tp_failmode_enforcing(&fm));
	CU_ASSERT_EQUAL(n_logs, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_log, "no-policy -> island"));
	tp_failmode_set_controller(&fm, true, t + 1);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_ENFORCING);
	CU_ASSERT_EQUAL(n_logs, 3);
	/* Repeated inputs and ticks log nothing. */
	tp_failmode_set_controller(&fm, true, t + 2);
	for (int64_t s = 0; s < 50; s++)
		tp_failmode_tick(&fm, t + s);
	CU_ASSERT_EQUAL(n_logs, 3);
	tp_failmode_set_controller(&fm, false, t + 60);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_ISLAND);
	CU_ASSERT_EQUAL(fm.since, t + 60);
	/* Expiry, fail-closed: drop inter-zone; logged once. */
	tp_failmode_tick(&fm, t + 99);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_ISLAND);
	tp_failmode_tick(&fm, t + 100);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_FAIL_CLOSED);
	CU_ASSERT_FALSE(tp_failmode_enforcing(&fm));
	CU_ASSERT_EQUAL(n_logs, 5);
	tp_failmode_tick(&fm, t + 1000);
	tp_failmode_set_controller(&fm, true, t + 1001);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_FAIL_CLOSED);
	CU_ASSERT_EQUAL(n_logs, 5);
	/* A fresh bundle ends it. */
	tp_failmode_set_policy(&fm, 8, t + 5000, t + 1002);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_ENFORCING);
	/* A new version in the same state: one line, no transition. */
	uint64_t tr = fm.transitions;
	tp_failmode_set_policy(&fm, 9, t + 5000, t + 1003);
	CU_ASSERT_EQUAL(fm.transitions, tr);
	CU_ASSERT_PTR_NOT_NULL(strstr(last_log, "version 9"));

	/* fail-static keeps enforcing after expiry. */
	tp_failmode_init(&fm, TP_FAILMODE_EXPIRY_STATIC, false, NULL, NULL, t);
	tp_failmode_set_policy(&fm, 1, t + 10, t);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_ENFORCING); /* no controller configured */
	tp_failmode_tick(&fm, t + 10);
	CU_ASSERT_EQUAL(fm.state, TP_FAILMODE_FAIL_STATIC);
	CU_ASSERT_TRUE(tp_failmode_enforcing(&fm));
}

static void test_lkg(void)
{
	char dir[] = "/tmp/tpc-lkg-XXXXXX", path[64];
	uint8_t *buf;
	size_t len;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_EQUAL(tp_lkg_load(dir, 100, &buf, &len), -ENOENT);
	CU_ASSERT_EQUAL(tp_lkg_save(dir, (const uint8_t *)"first", 5), 0);
	CU_ASSERT_EQUAL(tp_lkg_save(dir, (const uint8_t *)"second!", 7), 0);
	CU_ASSERT_EQUAL_FATAL(tp_lkg_load(dir, 100, &buf, &len), 0);
	CU_ASSERT_EQUAL(len, 7);
	CU_ASSERT_EQUAL(memcmp(buf, "second!", 7), 0);
	free(buf);
	/* A torn write (crash before rename) leaves a .tmp that is ignored. */
	snprintf(path, sizeof(path), "%s/%s.tmp", dir, TP_LKG_FILE);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CU_ASSERT_EQUAL(write(fd, "torn", 4), 4);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(tp_lkg_load(dir, 100, &buf, &len), 0);
	CU_ASSERT_EQUAL(memcmp(buf, "second!", 7), 0);
	free(buf);
	CU_ASSERT_EQUAL(tp_lkg_load(dir, 3, &buf, &len), -EFBIG);
	/* The save replaces the leftover and the file is private. */
	CU_ASSERT_EQUAL(tp_lkg_save(dir, (const uint8_t *)"third", 5), 0);
	CU_ASSERT_EQUAL(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/%s", dir, TP_LKG_FILE);
	struct stat st;
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 077, 0);
	unlink(path);
	rmdir(dir);
	/* An unwritable directory fails cleanly. */
	CU_ASSERT_TRUE(tp_lkg_save("/nonexistent-tpc", (const uint8_t *)"x", 1) < 0);
}

int main(void)
{
	static const struct tl_test tests[] = {
		{"noise: handshake round trip", test_noise_roundtrip},
		{"noise: wrong pinned key", test_noise_wrong_responder},
		{"noise: tampered messages", test_noise_tamper},
		{"noise: deterministic, bound to name", test_noise_deterministic},
		{"noise: Ed25519 to X25519 map", test_noise_ed25519_map},
		{"frame: size limits before allocation", test_frame_sizes},
		{"frame: every split of the stream", test_frame_splits},
		{"conn: transport, counters, backlog", test_conn_transport},
		{"conn: rekey in step (Noise 11.3)", test_conn_rekey},
		{"msg: decoder limits", test_msg_limits},
		{"msg: handshake payload features", test_msg_features},
		{"backoff: capped, jittered, reset", test_backoff},
		{"failmode: transitions logged once", test_failmode},
		{"lkg: atomic save, load", test_lkg},
	};
	int fails;

	if (tp_crypto_init() != 0)
		return 1;
	keypair(i_priv, i_pub);
	keypair(r_priv, r_pub);
	keypair(x_priv, x_pub);
	fails = tl_cunit_run("ctrl", tests, TL_N_TESTS(tests));
	return fails ? 1 : 0;
}
