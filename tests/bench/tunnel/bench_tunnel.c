// SPDX-License-Identifier: MIT
/*
 * bench_tunnel [ROUNDS]: transport throughput of the engine against raw
 * libsodium ChaCha20-Poly1305 IETF on the same buffers in the same run, at
 * 64, 512 and 1420 bytes of inner packet; and full handshakes per second
 * against what their X25519 operations alone allow, measured in the same run.
 * Prints a markdown section on stdout (see tests/bench/tunnel/run.sh).
 *
 * Each round times raw and engine back to back on identical inputs, in
 * alternating order; the reported figure is the median over rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

#include "device.h"
#include "messages.h"
#include "tp/base/keys.h"
#include "tp/dp/tunnel.h"

enum { BURST = 32, NPKT = 2048, BUF = 1600, MAX_ROUNDS = 64 };

static uint64_t sim_ns = 1000000000ULL;

static uint64_t now_ns(void *ctx)
{
	return sim_ns;
}

static uint64_t wall_ns(void *ctx)
{
	return 1700000000ULL * 1000000000ULL + sim_ns;
}

struct box {
	uint8_t msg[256];
	size_t len;
};

static void on_send(void *ctx, struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *dst,
		    const uint8_t *msg, size_t len)
{
	struct box *b = ctx;

	if (len <= sizeof(b->msg)) {
		memcpy(b->msg, msg, len);
		b->len = len;
	}
}

static const struct tp_tunnel_ops ops = {.now_ns = now_ns, .wall_ns = wall_ns, .send = on_send};

struct pair {
	struct tp_tunnel *a, *b;
	struct tp_tunnel_peer *pa, *pb;
	struct box outa, outb;
	struct tp_tunnel_endpoint ea, eb;
};

static void pair_init(struct pair *p)
{
	struct tp_tunnel_config ca = {.ops = &ops, .ctx = &p->outa};
	struct tp_tunnel_config cb = {.ops = &ops, .ctx = &p->outb};
	struct tp_tunnel_peer_config pa = {0}, pb = {0};

	(void)tp_key_wg_generate(ca.private_key, NULL);
	(void)tp_key_wg_generate(cb.private_key, NULL);
	(void)tp_key_wg_public(cb.private_key, pa.public_key);
	(void)tp_key_wg_public(ca.private_key, pb.public_key);
	p->ea = (struct tp_tunnel_endpoint){.family = AF_INET, .port = 1, .addr = {10, 0, 0, 1}};
	p->eb = (struct tp_tunnel_endpoint){.family = AF_INET, .port = 2, .addr = {10, 0, 0, 2}};
	pa.endpoint = p->eb;
	p->a = tp_tunnel_new(&ca);
	p->b = tp_tunnel_new(&cb);
	p->pa = tp_tunnel_peer_add(p->a, &pa);
	p->pb = tp_tunnel_peer_add(p->b, &pb);
	if (!p->pa || !p->pb)
		abort();
}

/* One full handshake: initiation, response, confirming keepalive. */
static bool handshake(struct pair *p)
{
	struct tp_tunnel_pkt k;

	sim_ns += 6 * NSEC_PER_SEC; /* past the initiation rate limit */
	p->outa.len = p->outb.len = 0;
	tp_tunnel_connect(p->a, p->pa);
	if (tp_tunnel_handshake_receive(p->b, p->outa.msg, p->outa.len, &p->ea, false))
		return false;
	if (tp_tunnel_handshake_receive(p->a, p->outb.msg, p->outb.len, &p->eb, false))
		return false;
	k = (struct tp_tunnel_pkt){.data = p->outa.msg,
				   .len = (uint32_t)p->outa.len,
				   .cap = sizeof(p->outa.msg),
				   .src = p->ea};
	if (tp_tunnel_decrypt(p->b, &k) != TP_TUNNEL_OK)
		return false;
	tp_tunnel_tick(p->b); /* rotates the confirmed keypair into current */
	return true;
}

static double secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static uint8_t *bufs, *copy;
static struct tp_tunnel_pkt pkts[NPKT];

static void fill(uint32_t len)
{
	for (int i = 0; i < NPKT; i++) {
		uint8_t *d = bufs + (size_t)i * BUF;

		memset(d + 16, 0xab, len);
		d[16] = 0x45;
		d[18] = (uint8_t)(len >> 8);
		d[19] = (uint8_t)len;
		pkts[i] = (struct tp_tunnel_pkt){
			.data = d, .len = 16 + len, .cap = BUF, .tag = (uint32_t)i};
	}
}

static double raw_encrypt(const uint8_t key[32], uint32_t len)
{
	uint8_t nonce[12] = {0};
	double t = secs();

	for (int i = 0; i < NPKT; i++) {
		uint8_t *d = bufs + (size_t)i * BUF;

		memcpy(nonce + 4, &i, sizeof(i));
		crypto_aead_chacha20poly1305_ietf_encrypt(d + 16, NULL, d + 16, len, NULL, 0, NULL,
							  nonce, key);
	}
	return secs() - t;
}

static double tp_encrypt(struct pair *p, uint32_t len)
{
	double t;

	fill(len);
	t = secs();
	for (int i = 0; i < NPKT; i += BURST)
		tp_tunnel_encrypt_burst(p->a, p->pa, pkts + i, BURST);
	return secs() - t;
}

/* Decrypt: the engine's ciphertexts, copied so raw gets identical input. */
static double raw_decrypt(const uint8_t key[32], uint32_t len)
{
	uint8_t nonce[12] = {0};
	unsigned bad = 0;
	double t = secs();

	for (int i = 0; i < NPKT; i++) {
		uint8_t *d = copy + (size_t)i * BUF;

		memcpy(nonce + 4, d + 8, 8);
		bad += crypto_aead_chacha20poly1305_ietf_decrypt(
			       d + 16, NULL, NULL, d + 16, len + 16, NULL, 0, nonce, key) != 0;
	}
	t = secs() - t;
	if (bad)
		abort();
	return t;
}

static double tp_decrypt(struct pair *p)
{
	unsigned good = 0;
	double t = secs();

	for (int i = 0; i < NPKT; i += BURST)
		good += tp_tunnel_decrypt_burst(p->b, pkts + i, BURST);
	t = secs() - t;
	if (good != NPKT)
		abort();
	return t;
}

static void prepare_ciphertexts(struct pair *p, uint32_t len)
{
	fill(len);
	for (int i = 0; i < NPKT; i += BURST)
		tp_tunnel_encrypt_burst(p->a, p->pa, pkts + i, BURST);
	memcpy(copy, bufs, (size_t)NPKT * BUF);
	for (int i = 0; i < NPKT; i++)
		pkts[i].src = p->ea;
}

static double x25519_var(int n)
{
	uint8_t k[32], pub[32], out[32];
	double t;

	randombytes_buf(k, 32);
	crypto_scalarmult_base(pub, k);
	t = secs();
	for (int i = 0; i < n; i++) {
		if (crypto_scalarmult(out, k, pub))
			abort();
		k[0] ^= out[1];
	}
	return (secs() - t) / n;
}

static double x25519_base(int n)
{
	uint8_t k[32], out[32];
	double t;

	randombytes_buf(k, 32);
	t = secs();
	for (int i = 0; i < n; i++) {
		crypto_scalarmult_base(out, k);
		k[0] ^= out[1];
	}
	return (secs() - t) / n;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = {64, 512, 1420};
	int rounds = argc > 1 ? atoi(argv[1]) : 25;
	struct pair p;
	struct keypair *ka, *kb;

	if (rounds < 3 || rounds > MAX_ROUNDS)
		rounds = 25;
	if (sodium_init() < 0)
		return 1;
	bufs = aligned_alloc(64, (size_t)NPKT * BUF);
	copy = aligned_alloc(64, (size_t)NPKT * BUF);
	pair_init(&p);
	if (!bufs || !copy || !handshake(&p))
		return 1;
	ka = atomic_load(&p.pa->kp_cur);
	kb = atomic_load(&p.pb->kp_cur);

	printf("Transport, %d packets per round in bursts of %d, median of %d rounds (ratio: per "
	       "round, then median); "
	       "raw = crypto_aead_chacha20poly1305_ietf_encrypt/decrypt in place on the same "
	       "buffers (the engine pads 64/512 B not at all and 1420 B to the 1420 MTU, so "
	       "both process the same bytes).\n\n",
	       NPKT, BURST, rounds);
	printf("| inner size | op | raw libsodium | tp_tunnel | ratio |\n");
	printf("|---|---|---|---|---|\n");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t len = sizes[s];
		double re[MAX_ROUNDS] = {0}, te[MAX_ROUNDS] = {0}, rd[MAX_ROUNDS] = {0},
		       td[MAX_ROUNDS] = {0};
		double qe[MAX_ROUNDS] = {0}, qd[MAX_ROUNDS] = {0};

		for (int r = 0; r < rounds; r++) {
			fill(len);
			if (r & 1) {
				te[r] = tp_encrypt(&p, len);
				fill(len);
				re[r] = raw_encrypt(ka->send_key, len);
			} else {
				re[r] = raw_encrypt(ka->send_key, len);
				te[r] = tp_encrypt(&p, len);
			}
			prepare_ciphertexts(&p, len);
			if (r & 1) {
				td[r] = tp_decrypt(&p);
				rd[r] = raw_decrypt(kb->recv_key, len);
			} else {
				rd[r] = raw_decrypt(kb->recv_key, len);
				td[r] = tp_decrypt(&p);
			}
			qe[r] = re[r] / te[r];
			qd[r] = rd[r] / td[r];
		}
		{
			double mre = median(re, rounds), mte = median(te, rounds);
			double mrd = median(rd, rounds), mtd = median(td, rounds);
			double gb = (double)len * NPKT * 8 / 1e9;

			printf("| %u B | encrypt | %.2f Gbit/s | %.2f Gbit/s | %.3f |\n", len,
			       gb / mre, gb / mte, median(qe, rounds));
			printf("| %u B | decrypt | %.2f Gbit/s | %.2f Gbit/s | %.3f |\n", len,
			       gb / mrd, gb / mtd, median(qd, rounds));
		}
	}

	{
		/* Per round: n handshakes, then the 6n variable-base and 2n
		 * fixed-base X25519 they contain, back to back; the ratio is taken
		 * per round (so load changes between rounds cancel) and the median
		 * reported. Both ends of one handshake: initiator es; responder
		 * se, ee, es; initiator ee, se (ss is cached) - and the two
		 * ephemeral public keys. */
		int n = 50, hr = rounds;
		double hs[MAX_ROUNDS] = {0}, var[MAX_ROUNDS] = {0}, base[MAX_ROUNDS] = {0},
		       ratio[MAX_ROUNDS] = {0};

		for (int r = 0; r < hr; r++) {
			double t = secs();

			for (int i = 0; i < n; i++)
				if (!handshake(&p))
					abort();
			hs[r] = (secs() - t) / n;
			var[r] = x25519_var(6 * n);
			base[r] = x25519_base(2 * n);
			ratio[r] = (6 * var[r] + 2 * base[r]) / hs[r];
		}
		{
			double mhs = median(hs, hr), mv = median(var, hr), mb = median(base, hr);

			printf("\nHandshakes (initiation + response + confirming keepalive, both "
			       "ends on one core); per round %d handshakes then their 6x%d "
			       "variable-base and 2x%d fixed-base X25519 alone; ratio = X25519 "
			       "time / handshake time per round, median of %d rounds:\n\n",
			       n, n, n, hr);
			printf("| X25519 variable-base | X25519 fixed-base | bound (6 var + 2 "
			       "fixed) | "
			       "tp_tunnel handshakes | ratio |\n");
			printf("|---|---|---|---|---|\n");
			printf("| %.0f ops/s | %.0f ops/s | %.0f handshakes/s | %.0f handshakes/s "
			       "| "
			       "%.3f |\n",
			       1 / mv, 1 / mb, 1 / (6 * mv + 2 * mb), 1 / mhs, median(ratio, hr));
		}
	}
	tp_tunnel_free(p.a);
	tp_tunnel_free(p.b);
	free(bufs);
	free(copy);
	return 0;
}
