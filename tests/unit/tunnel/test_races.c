// SPDX-License-Identifier: MIT
/*
 * Races between workers and the control thread that the thread model of
 * tp/dp/tunnel.h rules out, each forced to happen often:
 *  - two workers decrypting the same ciphertexts in lockstep: each message
 *    is accepted exactly once (the per-keypair replay lock);
 *  - a worker encrypting while the control thread, holding an unconfirmed
 *    next keypair, completes a handshake as initiator: the worker never
 *    loads a keypair that was already retired. The retire hook widens the
 *    window by waiting for the worker to load twice before it returns.
 */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "device.h"
#include "keypair.h"
#include "tp/base/keys.h"
#include "tp/dp/tunnel.h"

#include "../../lib/tl_cunit.h"

static _Atomic uint64_t sim_ns = 1000000000ULL;

static uint64_t now_ns(void *ctx)
{
	return atomic_load(&sim_ns);
}

static uint64_t wall_ns(void *ctx)
{
	return 1700000000ULL * 1000000000ULL + now_ns(ctx);
}

/* The last message each side's control thread sent. */
struct side {
	struct tp_tunnel *tun;
	struct tp_tunnel_peer *peer;
	struct tp_tunnel_endpoint ep;
	uint8_t out[8][256];
	size_t out_len[8];
	unsigned nout;
};

static void on_send(void *ctx, struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *dst,
		    const uint8_t *msg, size_t len)
{
	struct side *s = ctx;

	CU_ASSERT_FATAL(s->nout < 8 && len <= 256);
	memcpy(s->out[s->nout], msg, len);
	s->out_len[s->nout++] = len;
}

/* Deliver what `from` sent to `to` on the control path (data too). */
static void deliver(struct side *from, struct side *to)
{
	for (unsigned i = 0; i < from->nout; i++) {
		if (tp_tunnel_classify(from->out[i], from->out_len[i]) == 4) {
			struct tp_tunnel_pkt p = {.data = from->out[i],
						  .len = (uint32_t)from->out_len[i],
						  .cap = 256,
						  .src = from->ep};

			tp_tunnel_decrypt(to->tun, &p);
		} else {
			tp_tunnel_handshake_receive(to->tun, from->out[i], from->out_len[i],
						    &from->ep, false);
		}
	}
	from->nout = 0;
}

static void pair(struct side s[2], const struct tp_tunnel_ops *ops)
{
	for (int i = 0; i < 2; i++) {
		struct tp_tunnel_config cfg = {.ops = ops, .ctx = &s[i]};

		memset(&s[i], 0, sizeof(s[i]));
		s[i].ep = (struct tp_tunnel_endpoint){
			.family = AF_INET, .port = (uint16_t)(2000 + i), .addr = {10, 9, 0, 1}};
		memset(cfg.private_key, 0x60 + i, 32);
		s[i].tun = tp_tunnel_new(&cfg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s[i].tun);
	}
	for (int i = 0; i < 2; i++) {
		struct tp_tunnel_peer_config pc = {.endpoint = s[!i].ep};
		uint8_t priv[32];

		memset(priv, 0x60 + !i, 32);
		(void)tp_key_wg_public(priv, pc.public_key);
		s[i].peer = tp_tunnel_peer_add(s[i].tun, &pc);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s[i].peer);
	}
}

/* ---- two workers, one ciphertext ---- */

enum { MSGS = 3000, MLEN = 16 + 48 + 16 };

static uint8_t cipher[MSGS][MLEN];
static _Atomic unsigned accepted[MSGS];
static _Atomic unsigned arrived[MSGS];
static struct side R[2];

static void *decrypt_same(void *arg)
{
	uint8_t buf[MLEN];

	for (unsigned i = 0; i < MSGS; i++) {
		struct tp_tunnel_pkt p = {.data = buf, .len = MLEN, .cap = MLEN, .src = R[0].ep};

		memcpy(buf, cipher[i], MLEN);
		/* lockstep: both threads start on message i together */
		atomic_fetch_add(&arrived[i], 1);
		while (atomic_load(&arrived[i]) < 2)
			sched_yield();
		if (tp_tunnel_decrypt(R[1].tun, &p) == TP_TUNNEL_OK)
			atomic_fetch_add(&accepted[i], 1);
	}
	return arg;
}

static void test_two_workers_same_ciphertext(void)
{
	static const struct tp_tunnel_ops ops = {
		.now_ns = now_ns, .wall_ns = wall_ns, .send = on_send};
	unsigned twice = 0, never = 0;
	pthread_t t[2];

	pair(R, &ops);
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(R[0].tun, R[0].peer), 0);
	deliver(&R[0], &R[1]); /* initiation */
	deliver(&R[1], &R[0]); /* response; R[0] confirms with a keepalive */
	deliver(&R[0], &R[1]);
	for (unsigned i = 0; i < MSGS; i++) {
		struct tp_tunnel_pkt p = {.data = cipher[i], .len = 16 + 48, .cap = MLEN};

		memset(cipher[i] + 16, 0, 48);
		cipher[i][16] = 0x45;
		cipher[i][19] = 48;
		CU_ASSERT_EQUAL_FATAL(tp_tunnel_encrypt(R[0].tun, R[0].peer, &p), TP_TUNNEL_OK);
		CU_ASSERT_EQUAL_FATAL(p.len, MLEN);
	}
	for (int k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, decrypt_same, NULL);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	for (unsigned i = 0; i < MSGS; i++) {
		twice += atomic_load(&accepted[i]) > 1;
		never += atomic_load(&accepted[i]) == 0;
	}
	printf("\n    accepted twice: %u of %u, never: %u\n", twice, (unsigned)MSGS, never);
	CU_ASSERT_EQUAL(twice, 0);
	CU_ASSERT_EQUAL(never, 0);
	tp_tunnel_free(R[0].tun);
	tp_tunnel_free(R[1].tun);
}

/* ---- a worker encrypting across an initiator install with a next ---- */

enum { RETIRED_MAX = 4096, ROUNDS = 150 };

static struct side K[2];
static void *_Atomic retired_obj[RETIRED_MAX];
static void (*retired_free[RETIRED_MAX])(void *);
static _Atomic unsigned n_retired;
static _Atomic uint64_t worker_loads, loaded_retired, worker_ok;
static _Atomic bool worker_stop, worker_running;

/* Control thread. Frees wait until the end, so an address is never reused
 * and "the worker loaded a retired keypair" is an exact test. */
static void retire_deferred(void *ctx, void *obj, void (*free_fn)(void *obj))
{
	unsigned i = atomic_load(&n_retired);
	uint64_t seen;

	CU_ASSERT_FATAL(i < RETIRED_MAX);
	atomic_store(&retired_obj[i], obj);
	retired_free[i] = free_fn;
	atomic_store_explicit(&n_retired, i + 1, memory_order_release);
	/* Hold the control thread here until the worker has loaded a keypair
	 * twice: were obj still reachable, the worker would find it now. */
	seen = atomic_load(&worker_loads);
	for (int spin = 0;
	     atomic_load(&worker_running) && spin < 100000 && atomic_load(&worker_loads) < seen + 2;
	     spin++)
		sched_yield();
}

static void *encrypt_worker(void *arg)
{
	uint8_t bufs[4][256];
	struct tp_tunnel_pkt p[4];

	atomic_store(&worker_running, true);
	while (!atomic_load(&worker_stop)) {
		/* Retirements published before this load must not be found by it. */
		unsigned r = atomic_load_explicit(&n_retired, memory_order_acquire);
		struct keypair *kp = wg_keypair_for_sending(K[0].peer);

		for (unsigned i = 0; kp && i < r; i++)
			if (atomic_load(&retired_obj[i]) == (void *)kp)
				atomic_fetch_add(&loaded_retired, 1);
		atomic_fetch_add(&worker_loads, 1);
		for (int i = 0; i < 4; i++) {
			memset(bufs[i], 0, 64);
			bufs[i][16] = 0x45;
			bufs[i][19] = 40;
			p[i] = (struct tp_tunnel_pkt){
				.data = bufs[i], .len = 16 + 40, .cap = 256, .tag = (uint32_t)i};
		}
		atomic_fetch_add(&worker_ok, tp_tunnel_encrypt_burst(K[0].tun, K[0].peer, p, 4));
	}
	atomic_store(&worker_running, false);
	return arg;
}

static void test_worker_encrypts_while_initiator_holds_next(void)
{
	static const struct tp_tunnel_ops ops = {
		.now_ns = now_ns, .wall_ns = wall_ns, .send = on_send, .retire = retire_deferred};
	pthread_t w;
	unsigned with_next = 0;

	pair(K, &ops);
	CU_ASSERT_EQUAL_FATAL(tp_tunnel_connect(K[0].tun, K[0].peer), 0);
	deliver(&K[0], &K[1]);
	deliver(&K[1], &K[0]);
	deliver(&K[0], &K[1]);
	pthread_create(&w, NULL, encrypt_worker, NULL);
	while (!atomic_load(&worker_running))
		sched_yield();
	for (int round = 0; round < ROUNDS; round++) {
		/* K1 initiates; K0 answers and holds a next keypair that K1's
		 * lost keepalive never confirms */
		atomic_fetch_add(&sim_ns, 6 * 1000000000ULL);
		tp_tunnel_connect(K[1].tun, K[1].peer);
		deliver(&K[1], &K[0]);
		deliver(&K[0], &K[1]);
		K[1].nout = 0;
		with_next += atomic_load(&K[0].peer->kp_next) != NULL;
		/* K0 initiates and completes as initiator with that next held */
		atomic_fetch_add(&sim_ns, 6 * 1000000000ULL);
		tp_tunnel_connect(K[0].tun, K[0].peer);
		deliver(&K[0], &K[1]);
		deliver(&K[1], &K[0]);
		K[0].nout = 0;
	}
	atomic_store(&worker_stop, true);
	pthread_join(w, NULL);
	printf("\n    rounds with a next keypair %u, worker loads %llu, encrypted %llu, "
	       "retired keypairs loaded %llu\n",
	       with_next, (unsigned long long)atomic_load(&worker_loads),
	       (unsigned long long)atomic_load(&worker_ok),
	       (unsigned long long)atomic_load(&loaded_retired));
	CU_ASSERT_EQUAL(with_next, ROUNDS);
	CU_ASSERT(atomic_load(&worker_ok) > 0);
	CU_ASSERT_EQUAL(atomic_load(&loaded_retired), 0);
	tp_tunnel_free(K[0].tun);
	tp_tunnel_free(K[1].tun);
	for (unsigned i = 0; i < atomic_load(&n_retired); i++)
		retired_free[i](atomic_load(&retired_obj[i]));
}

int main(void)
{
	static const struct tl_test tests[] = {
		{"two workers fed the same ciphertexts accept each once",
		 test_two_workers_same_ciphertext},
		{"worker encrypts while the initiator holds a next keypair",
		 test_worker_encrypts_while_initiator_holds_next},
	};

	return tl_cunit_run("tunnel races", tests, TL_N_TESTS(tests));
}
