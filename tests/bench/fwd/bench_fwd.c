// SPDX-License-Identifier: MIT
/*
 * The whole forwarding path on one core in memory mode (the harness of
 * tests/unit/fwd: ring ports, a remote TP played by a second tunnel
 * engine), against raw libsodium ChaCha20-Poly1305 on the same buffers in
 * the same run.
 *
 *   egress:  frame copied into the mbuf (as a NIC would DMA it), parse,
 *            zone lookup, flow table (256 established flows), policy,
 *            TTL, encrypt (burst of 32), UDP/IP/Ethernet
 *   raw:     the same copy, then crypto_aead_chacha20poly1305_ietf_encrypt
 *            in place over the padded inner packet
 *   ingress: tunnel frame copied into the mbuf, parse, decrypt (burst),
 *            replay window, anti-spoof, policy (the egress flows' replies),
 *            Ethernet towards the host
 *   raw:     the same copy, then ..._decrypt in place
 *
 * Ratio = raw ns per packet / path ns per packet (1.0: the path costs no
 * more than its AEAD). Prints markdown rows.
 *
 *   bench_fwd [SECONDS_PER_ROW]
 */
#include <time.h>

#include "../../unit/fwd/fwd_harness.h"

#define BURST 32
#define FLOWS 256
#define MSGS  8192 /* pre-encrypted ingress messages per size */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct tmpl {
	uint8_t frame[2048];
	uint16_t len;
};

static void fill(struct rte_mbuf *m, const struct tmpl *t)
{
	rte_pktmbuf_reset(m);
	memcpy(rte_pktmbuf_append(m, t->len), t->frame, t->len);
}

/* ns per packet of the egress path for inner packets of size bytes */
static double egress(size_t size, double secs, uint64_t *pkts_out)
{
	static struct tmpl t[FLOWS];
	struct rte_mbuf *m[BURST], *orig[BURST];
	uint64_t pkts = 0;
	double t0, el;
	unsigned k = 0;

	for (int i = 0; i < FLOWS; i++) {
		uint8_t ip[1500];

		h_ip4(ip, size, 17, "10.1.0.10", "10.2.0.10", (uint16_t)(40000 + i), 5000);
		memcpy(t[i].frame, h_mac_tp, 6);
		memcpy(t[i].frame + 6, h_mac_nh, 6);
		t[i].frame[12] = 0x08;
		t[i].frame[13] = 0;
		memcpy(t[i].frame + 14, ip, size);
		t[i].len = (uint16_t)(14 + size);
	}
	if (rte_pktmbuf_alloc_bulk(H.pool, orig, BURST) != 0)
		return -1;
	t0 = now_s();
	do {
		uint16_t n;

		for (int r = 0; r < 64; r++) {
			for (int i = 0; i < BURST; i++) {
				fill(orig[i], &t[k++ % FLOWS]);
				m[i] = orig[i];
			}
			n = h_run(TP_PORT_ZONE, m, BURST);
			if (n != BURST || H.dv.n)
				return -1;
			pkts += n;
		}
		el = now_s() - t0;
	} while (el < secs);
	rte_pktmbuf_free_bulk(orig, BURST);
	*pkts_out = pkts;
	return el * 1e9 / (double)pkts;
}

static double raw_encrypt(size_t size, double secs)
{
	static struct tmpl t;
	uint8_t key[32], nonce[12] = {0};
	struct rte_mbuf *m[BURST];
	size_t padded = (size + 15) & ~(size_t)15;
	uint64_t pkts = 0;
	double t0, el;

	randombytes_buf(key, sizeof(key));
	memset(t.frame, 0x45, sizeof(t.frame));
	t.len = (uint16_t)(14 + size);
	if (rte_pktmbuf_alloc_bulk(H.pool, m, BURST) != 0)
		return -1;
	t0 = now_s();
	do {
		for (int r = 0; r < 64; r++) {
			for (int i = 0; i < BURST; i++) {
				uint8_t *p;

				fill(m[i], &t);
				p = rte_pktmbuf_mtod_offset(m[i], uint8_t *, 14);
				memcpy(nonce + 4, &pkts, 8);
				crypto_aead_chacha20poly1305_ietf_encrypt(p, NULL, p, padded, NULL,
									  0, NULL, nonce, key);
				pkts++;
			}
		}
		el = now_s() - t0;
	} while (el < secs);
	rte_pktmbuf_free_bulk(m, BURST);
	return el * 1e9 / (double)pkts;
}

/* Messages the remote encrypts: replies of the egress flows. */
static struct tmpl *seal_replies(size_t size)
{
	struct tmpl *t = malloc(sizeof(*t) * MSGS);

	for (int i = 0; t && i < MSGS; i++) {
		uint8_t ip[1500], buf[2048], frame[2048];
		struct tp_tunnel_pkt p = {.data = buf, .len = (uint32_t)(16 + size), .cap = 2048};
		struct rte_mbuf *m;

		h_ip4(ip, size, 17, "10.2.0.10", "10.1.0.10", 5000, (uint16_t)(40000 + i % FLOWS));
		memcpy(buf + 16, ip, size);
		if (!tp_tunnel_res_ok(tp_tunnel_encrypt(H.remote, H.remote_peer, &p)))
			return NULL;
		m = h_transit_frame(buf, p.len);
		t[i].len = rte_pktmbuf_data_len(m);
		memcpy(t[i].frame, rte_pktmbuf_mtod(m, uint8_t *), t[i].len);
		rte_pktmbuf_free(m);
		(void)frame;
	}
	return t;
}

static double ingress(size_t size, uint64_t *pkts_out)
{
	struct tmpl *t = seal_replies(size);
	struct rte_mbuf *m[BURST], *orig[BURST];
	uint64_t pkts = 0;
	double t0, el;

	if (!t || rte_pktmbuf_alloc_bulk(H.pool, orig, BURST) != 0)
		return -1;
	t0 = now_s();
	for (int k = 0; k < MSGS; k += BURST) {
		uint16_t n;

		for (int i = 0; i < BURST; i++) {
			fill(orig[i], &t[k + i]);
			m[i] = orig[i];
		}
		n = h_run(TP_PORT_TRANSIT, m, BURST);
		if (n != BURST || H.dv.n)
			return -1;
		pkts += n;
	}
	el = now_s() - t0;
	rte_pktmbuf_free_bulk(orig, BURST);
	free(t);
	*pkts_out = pkts;
	return el * 1e9 / (double)pkts;
}

static double raw_decrypt(size_t size)
{
	uint8_t key[32], nonce[12] = {0};
	size_t padded = (size + 15) & ~(size_t)15;
	struct tmpl *t = malloc(sizeof(*t) * MSGS);
	struct rte_mbuf *m[BURST];
	double t0, el;

	randombytes_buf(key, sizeof(key));
	for (int i = 0; t && i < MSGS; i++) {
		memset(t[i].frame, 0x45, 58 + padded);
		memcpy(nonce + 4, &i, sizeof(i));
		crypto_aead_chacha20poly1305_ietf_encrypt(t[i].frame + 58, NULL, t[i].frame + 58,
							  padded, NULL, 0, NULL, nonce, key);
		t[i].len = (uint16_t)(58 + padded + 16);
	}
	if (!t || rte_pktmbuf_alloc_bulk(H.pool, m, BURST) != 0)
		return -1;
	t0 = now_s();
	for (int k = 0; k < MSGS; k += BURST) {
		for (int i = 0; i < BURST; i++) {
			uint8_t *p;
			int idx = k + i;

			fill(m[i], &t[idx]);
			p = rte_pktmbuf_mtod_offset(m[i], uint8_t *, 58);
			memset(nonce, 0, sizeof(nonce));
			memcpy(nonce + 4, &idx, sizeof(idx));
			if (crypto_aead_chacha20poly1305_ietf_decrypt(p, NULL, NULL, p, padded + 16,
								      NULL, 0, nonce, key) != 0)
				return -1;
		}
	}
	el = now_s() - t0;
	rte_pktmbuf_free_bulk(m, BURST);
	free(t);
	return el * 1e9 / MSGS;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {64, 512, 1420};
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	int rc = h_setup("bench_fwd");

	if (rc) {
		fprintf(stderr, "bench_fwd: harness setup failed at step %d\n", -rc);
		return 1;
	}
	printf("| direction | inner packet | path ns/pkt | path Mpps | path Gbit/s (inner) "
	       "| raw AEAD ns/pkt | ratio raw/path |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (size_t s = 0; s < 3; s++) {
		uint64_t n = 0;
		double a = raw_encrypt(sizes[s], secs / 2);
		double p = egress(sizes[s], secs, &n);

		if (p < 0 || a < 0) {
			fprintf(stderr, "bench_fwd: egress %zu failed\n", sizes[s]);
			return 1;
		}
		printf("| egress | %zu B | %.0f | %.2f | %.2f | %.0f | %.2f |\n", sizes[s], p,
		       1e3 / p, (double)sizes[s] * 8 / p, a, a / p);
		fflush(stdout);
	}
	for (size_t s = 0; s < 3; s++) {
		uint64_t n = 0;
		double a = 0, p = 0;

		/* MSGS packets per pass: repeat passes for a stable figure */
		for (int r = 0; r < 8; r++) {
			double x = raw_decrypt(sizes[s]), y = ingress(sizes[s], &n);

			if (x < 0 || y < 0) {
				fprintf(stderr, "bench_fwd: ingress %zu failed\n", sizes[s]);
				return 1;
			}
			a += x / 8;
			p += y / 8;
		}
		printf("| ingress | %zu B | %.0f | %.2f | %.2f | %.0f | %.2f |\n", sizes[s], p,
		       1e3 / p, (double)sizes[s] * 8 / p, a, a / p);
		fflush(stdout);
	}
	h_teardown();
	return 0;
}
