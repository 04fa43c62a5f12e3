// SPDX-License-Identifier: MIT
/*
 * The tunnel engine against an attacker on the transit network and a
 * misbehaving peer, on the simulated clock of the harness: stale
 * initiations with fresh ephemerals, cookies that outlive their secret,
 * replays from new addresses, late packets across a rekey, and the timing
 * and message-count bounds of the protocol.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "device.h"
#include "harness.h"
#include "messages.h"

#include "../../lib/tl_cunit.h"

static struct node A, B;

static void setup(bool b_knows_a)
{
	node_init(&A, 0x0a000001, 51820);
	node_init(&B, 0x0a000002, 51821);
	nodes_pair(&A, &B, NULL, true, b_knows_a);
}

static void teardown(void)
{
	node_fini(&A);
	node_fini(&B);
	sim_wall_step_ns = 0;
}

static void handshake(void)
{
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(A.tun, A.peer), 0);
	pump(&A, &B);
	tick_both(&A, &B);
	pump(&A, &B);
	CU_ASSERT_PTR_NOT_NULL_FATAL(atomic_load(&B.peer->kp_cur));
}

/* A genuine initiation (fresh ephemeral, valid MACs and AEAD) whose TAI64N
 * is older than the last one accepted: a peer whose clock went back, or an
 * attacker who recorded an old one and cannot forge a newer one. Refused
 * before any state changes, and unanswered. */
static void test_initiation_older_timestamp_fresh_ephemeral(void)
{
	struct msg first;
	struct keypair *cur;
	struct tp_tunnel_peer_stats st;

	setup(false);
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(A.tun, A.peer), 0);
	first = A.out[0];
	pump(&A, &B);
	tick_both(&A, &B);
	cur = atomic_load(&B.peer->kp_cur);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
	sim_now_ns += 6 * NSEC_PER_SEC;
	sim_wall_step_ns = -10 * (int64_t)NSEC_PER_SEC; /* A's wall clock steps back */
	A.nout = 0;
	B.nout = 0;
	memset(B.results, 0, sizeof(B.results));
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(A.tun, A.peer), 0);
	CU_ASSERT_EQUAL_FATAL(A.nout, 1);
	/* a fresh ephemeral, not a replay of the first message */
	CU_ASSERT_NOT_EQUAL(memcmp(A.out[0].buf + 8, first.buf + 8, 32), 0);
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_DROP_STALE_TIMESTAMP], 1);
	CU_ASSERT_EQUAL(B.nout, 0);
	CU_ASSERT_PTR_EQUAL(atomic_load(&B.peer->kp_cur), cur);
	CU_ASSERT_PTR_NULL(atomic_load(&B.peer->kp_next));
	tp_tunnel_peer_stats(B.peer, &st);
	CU_ASSERT_EQUAL(st.handshakes_completed, 1);
	/* once A's clock is past the old timestamp again, it is accepted */
	sim_wall_step_ns = 0;
	sim_now_ns += 6 * NSEC_PER_SEC;
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(A.tun, A.peer), 0);
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_OK], 1);
	teardown();
}

/* REKEY_AFTER_MESSAGES (2^60): the packet that takes the counter past it
 * asks for a new handshake, whichever side is sending; the ones before do
 * not. */
static void test_rekey_after_messages(void)
{
	struct keypair *kp;

	setup(true);
	handshake();
	for (int side = 0; side < 2; side++) {
		struct node *n = side ? &B : &A;

		sim_now_ns += 6 * NSEC_PER_SEC; /* past REKEY_TIMEOUT of any initiation */
		tick_both(&A, &B);
		pump(&A, &B);
		n->nout = 0;
		kp = atomic_load(&n->peer->kp_cur);
		CU_ASSERT_PTR_NOT_NULL_FATAL(kp);
		atomic_store(&kp->send_counter, REKEY_AFTER_MESSAGES - 2);
		CU_ASSERT_EQUAL(send_data(n, 60, 1), TP_TUNNEL_OK);
		CU_ASSERT_EQUAL(send_data(n, 60, 2), TP_TUNNEL_OK); /* counter 2^60 - 1 */
		CU_ASSERT_FALSE(atomic_load(&n->peer->want_handshake));
		CU_ASSERT_EQUAL(send_data(n, 60, 3), TP_TUNNEL_OK_REKEY); /* counter 2^60 */
		CU_ASSERT_TRUE(atomic_load(&n->peer->want_handshake));
		CU_ASSERT_EQUAL(get_le64(n->out[2].buf + 8), REKEY_AFTER_MESSAGES);
		n->nout = 0;
		tp_tunnel_tick(n->tun);
		CU_ASSERT_EQUAL_FATAL(n->nout, 1);
		CU_ASSERT_EQUAL(n->out[0].buf[0], MESSAGE_HANDSHAKE_INITIATION);
		/* the new session starts again from counter 0 */
		pump(&A, &B);
		tick_both(&A, &B);
		pump(&A, &B);
		kp = atomic_load(&n->peer->kp_cur);
		CU_ASSERT(atomic_load(&kp->send_counter) < 4);
	}
	teardown();
}

/* Retransmissions of an unanswered initiation come REKEY_TIMEOUT plus at
 * most 333 ms of jitter apart, measured to the millisecond on the injected
 * clock, and the jitter really varies. */
static void test_retransmit_timing(void)
{
	uint64_t last, min = UINT64_MAX, max = 0;
	unsigned seen = 1;

	setup(false);
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(A.tun, A.peer), 0);
	A.nout = 0;
	last = sim_now_ns;
	while (seen < 15) {
		sim_now_ns += 1000000; /* 1 ms */
		tp_tunnel_tick(A.tun);
		if (!A.nout)
			continue;
		CU_ASSERT_EQUAL(A.nout, 1);
		CU_ASSERT_EQUAL(A.out[0].buf[0], MESSAGE_HANDSHAKE_INITIATION);
		A.nout = 0;
		if (sim_now_ns - last < min)
			min = sim_now_ns - last;
		if (sim_now_ns - last > max)
			max = sim_now_ns - last;
		last = sim_now_ns;
		seen++;
	}
	printf("\n    retransmit intervals %.3f .. %.3f s\n", min / 1e9, max / 1e9);
	CU_ASSERT(min >= REKEY_TIMEOUT_NS);
	CU_ASSERT(max <= REKEY_TIMEOUT_NS + REKEY_TIMEOUT_JITTER_NS + 1000000);
	CU_ASSERT(max > min); /* jitter, not a fixed delay */
	teardown();
}

/* Under load, an initiation carrying a mac2 made with a cookie passes until
 * the cookie secret turns over (120 s); afterwards the same mac2 is refused
 * and the sender gets a new cookie instead. */
static void test_old_mac2_after_secret_rotation(void)
{
	struct msg with_mac2;
	uint64_t t0;

	setup(false);
	B.congested = true;
	t0 = sim_now_ns; /* B creates its cookie secret now */
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(A.tun, A.peer), 0);
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_DROP_NEED_COOKIE], 1);
	deliver(&B, &A); /* the cookie reply */
	CU_ASSERT_TRUE_FATAL(A.peer->cookie.have_cookie);
	sim_now_ns += 6 * NSEC_PER_SEC;
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(A.tun, A.peer), 0);
	CU_ASSERT_EQUAL_FATAL(A.nout, 1);
	with_mac2 = A.out[0];
	CU_ASSERT_NOT_EQUAL(memcmp(with_mac2.buf + 132, (uint8_t[16]){0}, 16), 0);
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_OK], 1);
	B.nout = 0;
	/* 100 s on: mac2 still good (it gets as far as the timestamp check) */
	sim_now_ns = t0 + 100 * NSEC_PER_SEC;
	A.out[0] = with_mac2;
	A.nout = 1;
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_DROP_STALE_TIMESTAMP], 1);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_DROP_NEED_COOKIE], 1);
	/* past the rotation: the old mac2 is refused, a new cookie goes out */
	sim_now_ns = t0 + COOKIE_SECRET_MAX_AGE_NS + NSEC_PER_SEC;
	A.out[0] = with_mac2;
	A.nout = 1;
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_DROP_NEED_COOKIE], 2);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_DROP_STALE_TIMESTAMP], 1);
	CU_ASSERT_EQUAL_FATAL(B.nout, 1);
	CU_ASSERT_EQUAL(B.out[0].buf[0], MESSAGE_HANDSHAKE_COOKIE);
	teardown();
}

/* A packet sent on the previous session that arrives after the rekey
 * finished (reordering across the handshake) is still accepted, both ways. */
static void test_late_packet_on_previous_keypair(void)
{
	struct msg late_a, late_b;
	struct keypair *old_b;

	setup(true);
	handshake();
	old_b = atomic_load(&B.peer->kp_cur);
	A.nout = B.nout = 0;
	CU_ASSERT_EQUAL_FATAL(send_data(&A, 60, 1), TP_TUNNEL_OK);
	CU_ASSERT_EQUAL_FATAL(send_data(&B, 70, 2), TP_TUNNEL_OK);
	late_a = A.out[0];
	late_b = B.out[0];
	A.nout = B.nout = 0;
	/* rekey, initiated by A, completed and confirmed */
	sim_now_ns += 6 * NSEC_PER_SEC;
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(A.tun, A.peer), 0);
	pump(&A, &B);
	tick_both(&A, &B);
	CU_ASSERT_PTR_NOT_EQUAL(atomic_load(&B.peer->kp_cur), old_b);
	CU_ASSERT_PTR_EQUAL(atomic_load(&B.peer->kp_prev), old_b);
	/* now the old packets arrive */
	A.out[0] = late_a;
	A.nout = 1;
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.inner_rx, 1);
	CU_ASSERT_EQUAL(B.last_inner_len, 60);
	B.out[0] = late_b;
	B.nout = 1;
	deliver(&B, &A);
	CU_ASSERT_EQUAL(A.inner_rx, 1);
	CU_ASSERT_EQUAL(A.last_inner_len, 70);
	/* and each only once */
	A.out[0] = late_a;
	A.nout = 1;
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_DROP_REPLAYED], 1);
	teardown();
}

/* Roaming follows only authenticated, new packets: a captured valid data
 * message replayed from another address is refused and leaves the endpoint
 * where it was; the same holds for a replayed handshake response. */
static void test_replay_from_new_address_does_not_roam(void)
{
	struct tp_tunnel_endpoint ep, genuine;
	struct msg captured;
	struct node *from = &A;

	setup(false);
	handshake();
	CU_ASSERT_EQUAL_FATAL(send_data(&A, 80, 1), TP_TUNNEL_OK);
	captured = A.out[0];
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.inner_rx, 1);
	CU_ASSERT_TRUE(tp_tunnel_peer_endpoint(B.peer, &genuine));
	/* the attacker replays it from its own address */
	genuine = A.ep;
	A.ep.port = 6666;
	A.ep.addr[3] = 66;
	A.out[0] = captured;
	A.nout = 1;
	deliver(from, &B);
	CU_ASSERT_EQUAL(B.results[TP_TUNNEL_DROP_REPLAYED], 1);
	CU_ASSERT_TRUE(tp_tunnel_peer_endpoint(B.peer, &ep));
	CU_ASSERT_EQUAL(ep.port, genuine.port);
	CU_ASSERT_EQUAL(memcmp(ep.addr, genuine.addr, 4), 0);
	CU_ASSERT_EQUAL(B.inner_rx, 1);
	/* the genuine peer's next packet, from its real address, passes */
	A.ep = genuine;
	CU_ASSERT_EQUAL(send_data(&A, 80, 2), TP_TUNNEL_OK);
	deliver(&A, &B);
	CU_ASSERT_EQUAL(B.inner_rx, 2);
	CU_ASSERT_TRUE(tp_tunnel_peer_endpoint(B.peer, &ep));
	CU_ASSERT_EQUAL(ep.port, genuine.port);
	teardown();
}

int main(void)
{
	static const struct tl_test tests[] = {
		{"initiation with an older timestamp and a fresh ephemeral",
		 test_initiation_older_timestamp_fresh_ephemeral},
		{"rekey after 2^60 messages", test_rekey_after_messages},
		{"retransmit within 5.0-5.333 s", test_retransmit_timing},
		{"old mac2 refused after the cookie secret rotation",
		 test_old_mac2_after_secret_rotation},
		{"late packet on the previous keypair after a rekey",
		 test_late_packet_on_previous_keypair},
		{"replayed packet from a new address does not roam",
		 test_replay_from_new_address_does_not_roam},
	};

	return tl_cunit_run("tunnel adversarial", tests, TL_N_TESTS(tests));
}
