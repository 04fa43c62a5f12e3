// SPDX-License-Identifier: MIT
/*
 * The thread model under stress: one control thread (handshakes, timers,
 * rekeys every few hundred milliseconds of real time thanks to a fast
 * simulated clock), one worker encrypting bursts A->B and one worker
 * decrypting them on B, joined by a ring. Retired keypairs are freed through
 * a minimal quiescent-state scheme like the one tpd gets from rte_rcu_qsbr.
 * Run under ASan (and TSan by hand) this checks the lock-free claims of
 * tp/dp/tunnel.h; functionally, no packet may fail authentication or replay.
 */
#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp/base/keys.h"
#include "tp/dp/tunnel.h"

#include "../../lib/tl_cunit.h"

enum { RING = 1024, SLOT = 256, BURST = 16, RETIRE_MAX = 4096, WORKERS = 2 };

static _Atomic uint64_t sim_ns = 1000000000ULL;
static _Atomic bool stop;

/* Quiescent-state tracking: each worker bumps its counter between bursts. */
static _Atomic uint64_t qs[WORKERS];

struct retired {
	void *obj;
	void (*free_fn)(void *);
	uint64_t seen[WORKERS];
};
static struct retired retire_list[RETIRE_MAX];
static unsigned nretired;

static uint64_t now_ns(void *ctx)
{
	return atomic_load_explicit(&sim_ns, memory_order_relaxed);
}

static uint64_t wall_ns(void *ctx)
{
	return 1700000000ULL * 1000000000ULL + now_ns(ctx);
}

/* Control thread only. */
static void retire(void *ctx, void *obj, void (*free_fn)(void *))
{
	struct retired *r;

	CU_ASSERT_FATAL(nretired < RETIRE_MAX);
	r = &retire_list[nretired++];
	r->obj = obj;
	r->free_fn = free_fn;
	for (int w = 0; w < WORKERS; w++)
		r->seen[w] = atomic_load(&qs[w]);
}

/* Free what every worker has passed a quiescent state since. */
static void reclaim(bool all)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < nretired; i++) {
		struct retired *r = &retire_list[i];
		bool done = true;

		for (int w = 0; w < WORKERS; w++)
			done &= atomic_load(&qs[w]) > r->seen[w];
		if (done || all)
			r->free_fn(r->obj);
		else
			retire_list[kept++] = *r;
	}
	nretired = kept;
}

/* Handshake messages between the two control halves (control thread only). */
struct hmsg {
	int to;
	uint8_t buf[256];
	size_t len;
};
static struct hmsg hq[64];
static unsigned nhq;

struct side {
	int id;
	struct tp_tunnel *tun;
	struct tp_tunnel_peer *peer;
	struct tp_tunnel_endpoint ep;
};
static struct side S[2];

static void on_send(void *ctx, struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *dst,
		    const uint8_t *msg, size_t len)
{
	struct side *s = ctx;

	/* Keepalives from the control thread of A are dropped: B's
	 * confirmation comes from the data stream itself, and the ring stays
	 * single-producer. */
	if (tp_tunnel_classify(msg, len) == 4 || nhq == 64 || len > 256)
		return;
	hq[nhq].to = !s->id;
	memcpy(hq[nhq].buf, msg, len);
	hq[nhq].len = len;
	nhq++;
}

static const struct tp_tunnel_ops ops = {
	.now_ns = now_ns, .wall_ns = wall_ns, .send = on_send, .retire = retire};

/* Single-producer single-consumer ring of ciphertexts A -> B. */
static uint8_t ring_buf[RING][SLOT];
static uint32_t ring_len[RING];
static _Atomic uint32_t ring_head, ring_tail;

static _Atomic uint64_t enc_ok, enc_nokey, dec_ok, dec_bad_aead, dec_replayed, dec_other;

static void *encrypt_worker(void *arg)
{
	uint8_t bufs[BURST][SLOT];
	struct tp_tunnel_pkt p[BURST];

	while (!atomic_load(&stop)) {
		unsigned n;

		for (int i = 0; i < BURST; i++) {
			memset(bufs[i], 0, 64);
			bufs[i][16] = 0x45;
			bufs[i][19] = 100;
			p[i] = (struct tp_tunnel_pkt){
				.data = bufs[i], .len = 16 + 100, .cap = SLOT, .tag = (uint32_t)i};
		}
		n = tp_tunnel_encrypt_burst(S[0].tun, S[0].peer, p, BURST);
		atomic_fetch_add(&enc_ok, n);
		if (n < BURST && p[n].res == TP_TUNNEL_DROP_NO_KEY)
			atomic_fetch_add(&enc_nokey, BURST - n);
		for (unsigned i = 0; i < n; i++) {
			uint32_t h = atomic_load_explicit(&ring_head, memory_order_relaxed);

			while (h - atomic_load_explicit(&ring_tail, memory_order_acquire) >= RING) {
				if (atomic_load(&stop))
					goto out;
				atomic_fetch_add(&qs[0], 1);
			}
			memcpy(ring_buf[h % RING], p[i].data, p[i].len);
			ring_len[h % RING] = p[i].len;
			atomic_store_explicit(&ring_head, h + 1, memory_order_release);
		}
		atomic_fetch_add(&qs[0], 1); /* quiescent: no keypair held */
	}
out:
	atomic_fetch_add(&qs[0], 1);
	return arg;
}

static void *decrypt_worker(void *arg)
{
	uint8_t bufs[BURST][SLOT];
	struct tp_tunnel_pkt p[BURST];

	while (!atomic_load(&stop)) {
		uint32_t t = atomic_load_explicit(&ring_tail, memory_order_relaxed);
		uint32_t h = atomic_load_explicit(&ring_head, memory_order_acquire);
		unsigned n = 0, good;

		while (t + n != h && n < BURST) {
			memcpy(bufs[n], ring_buf[(t + n) % RING], ring_len[(t + n) % RING]);
			p[n] = (struct tp_tunnel_pkt){.data = bufs[n],
						      .len = ring_len[(t + n) % RING],
						      .cap = SLOT,
						      .src = S[0].ep,
						      .tag = n};
			n++;
		}
		atomic_store_explicit(&ring_tail, t + n, memory_order_release);
		good = n ? tp_tunnel_decrypt_burst(S[1].tun, p, n) : 0;
		atomic_fetch_add(&dec_ok, good);
		for (unsigned i = good; i < n; i++) {
			if (p[i].res == TP_TUNNEL_DROP_BAD_AEAD)
				atomic_fetch_add(&dec_bad_aead, 1);
			else if (p[i].res == TP_TUNNEL_DROP_REPLAYED)
				atomic_fetch_add(&dec_replayed, 1);
			else
				atomic_fetch_add(&dec_other, 1);
		}
		atomic_fetch_add(&qs[1], 1);
	}
	atomic_fetch_add(&qs[1], 1);
	return arg;
}

static void test_workers_and_control(void)
{
	pthread_t enc, dec;
	struct tp_tunnel_peer_stats st;

	for (int i = 0; i < 2; i++) {
		struct tp_tunnel_config cfg = {.ops = &ops, .ctx = &S[i]};

		S[i].id = i;
		S[i].ep = (struct tp_tunnel_endpoint){.family = AF_INET,
						      .port = (uint16_t)(1000 + i),
						      .addr = {10, 0, 0, (uint8_t)(1 + i)}};
		memset(cfg.private_key, 0x40 + i, 32);
		S[i].tun = tp_tunnel_new(&cfg);
		CU_ASSERT_PTR_NOT_NULL_FATAL(S[i].tun);
	}
	for (int i = 0; i < 2; i++) {
		struct tp_tunnel_peer_config pc = {.endpoint = S[!i].ep};
		uint8_t priv[32];

		memset(priv, 0x40 + !i, 32);
		(void)tp_key_wg_public(priv, pc.public_key);
		S[i].peer = tp_tunnel_peer_add(S[i].tun, &pc);
		CU_ASSERT_PTR_NOT_NULL_FATAL(S[i].peer);
	}

	pthread_create(&enc, NULL, encrypt_worker, NULL);
	pthread_create(&dec, NULL, decrypt_worker, NULL);
	/* 2000 control rounds of 250 ms simulated: ~8 minutes, >= 3 rekeys */
	for (int round = 0; round < 2000; round++) {
		atomic_fetch_add(&sim_ns, 250000000ULL);
		tp_tunnel_tick(S[0].tun);
		tp_tunnel_tick(S[1].tun);
		for (unsigned i = 0; i < nhq; i++) {
			struct hmsg m = hq[i];

			tp_tunnel_handshake_receive(S[m.to].tun, m.buf, m.len, &S[!m.to].ep, false);
		}
		nhq = 0;
		reclaim(false);
		usleep(200); /* let the workers run between control rounds */
	}
	atomic_store(&stop, true);
	pthread_join(enc, NULL);
	pthread_join(dec, NULL);

	tp_tunnel_peer_stats(S[0].peer, &st);
	CU_ASSERT(st.handshakes_completed >= 3);
	CU_ASSERT(atomic_load(&dec_ok) > 0);
	CU_ASSERT_EQUAL(atomic_load(&dec_bad_aead), 0);
	CU_ASSERT_EQUAL(atomic_load(&dec_replayed), 0);
	printf("\n    handshakes %llu, encrypted %llu (no key %llu), decrypted %llu, "
	       "other drops %llu\n",
	       (unsigned long long)st.handshakes_completed, (unsigned long long)enc_ok,
	       (unsigned long long)enc_nokey, (unsigned long long)dec_ok,
	       (unsigned long long)dec_other);
	tp_tunnel_free(S[0].tun);
	tp_tunnel_free(S[1].tun);
	reclaim(true);
}

int main(void)
{
	static const struct tl_test tests[] = {
		{"workers encrypt/decrypt while control rekeys", test_workers_and_control},
	};

	return tl_cunit_run("tunnel threads", tests, TL_N_TESTS(tests));
}
