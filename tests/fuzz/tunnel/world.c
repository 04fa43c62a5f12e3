// SPDX-License-Identifier: MIT
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "tp/base/keys.h"
#include "world.h"

struct side {
	struct world *w;
	int is_r;
	uint8_t key[32];
	uint64_t ctr;
};

uint64_t world_now_ns;

static uint64_t fixed_now(void *ctx)
{
	return world_now_ns;
}

static uint64_t fixed_wall(void *ctx)
{
	return 1700000000ULL * 1000000000ULL + world_now_ns;
}

static void det_random(void *ctx, void *buf, size_t len)
{
	struct side *s = ctx;
	uint8_t nonce[8];

	memcpy(nonce, &s->ctr, 8);
	s->ctr++;
	crypto_stream_chacha20(buf, len, nonce, s->key);
}

static void on_send(void *ctx, struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *dst,
		    const uint8_t *msg, size_t len)
{
	struct side *s = ctx;
	uint8_t *out = s->is_r ? s->w->r_out : s->w->i_out;
	size_t *olen = s->is_r ? &s->w->r_out_len : &s->w->i_out_len;

	if (len > 256)
		len = 256;
	memcpy(out, msg, len);
	*olen = len;
}

static const struct tp_tunnel_ops ops = {
	.now_ns = fixed_now,
	.wall_ns = fixed_wall,
	.random = det_random,
	.send = on_send,
};

static struct side side_r, side_i;

static struct tp_tunnel *make(struct side *s, struct world *w, int is_r)
{
	/* A small rate-limit table: the default 4096 entries are a 160 KiB
	 * allocation, which ASan maps and unmaps on every input; the world's
	 * messages come from two sources, so 256 entries change nothing. */
	struct tp_tunnel_config cfg = {
		.ops = &ops, .ctx = s, .index_bits = 8, .ratelimit_entries = 256};

	memset(s, 0, sizeof(*s));
	s->w = w;
	s->is_r = is_r;
	memset(s->key, is_r ? 0x52 : 0x49, sizeof(s->key));
	memset(cfg.private_key, is_r ? 0x11 : 0x22, 32);
	return tp_tunnel_new(&cfg);
}

static void deliver_to(struct tp_tunnel *t, const uint8_t *msg, size_t len,
		       const struct tp_tunnel_endpoint *src)
{
	if (tp_tunnel_classify(msg, len) == 4) {
		uint8_t buf[256];
		struct tp_tunnel_pkt p = {
			.data = buf, .len = (uint32_t)len, .cap = sizeof(buf), .src = *src};

		memcpy(buf, msg, len);
		tp_tunnel_decrypt(t, &p);
	} else {
		tp_tunnel_handshake_receive(t, msg, len, src, false);
	}
}

struct world *world_new(void)
{
	struct world *w = malloc(sizeof(*w));
	struct tp_tunnel_peer_config pc = {0};
	uint8_t priv[32], pub_r[32], pub_i[32];

	/* Everything but the accepted list, which is read only up to
	 * n_accepted: clearing its 64 KiB on every input cost a tenth of the
	 * fuzzer's time. */
	memset(w, 0, offsetof(struct world, accepted));

	world_now_ns = 5000000000ULL;
	w->r_ep = (struct tp_tunnel_endpoint){
		.family = AF_INET, .port = 51820, .addr = {192, 0, 2, 1}};
	w->i_ep = (struct tp_tunnel_endpoint){
		.family = AF_INET, .port = 51821, .addr = {192, 0, 2, 2}};
	w->r = make(&side_r, w, 1);
	w->i = make(&side_i, w, 0);
	memset(priv, 0x11, 32);
	(void)tp_key_wg_public(priv, pub_r);
	memset(priv, 0x22, 32);
	(void)tp_key_wg_public(priv, pub_i);

	memcpy(pc.public_key, pub_i, 32);
	pc.endpoint = w->i_ep;
	pc.has_psk = true;
	memset(pc.psk, 0x33, 32);
	w->r_peer = tp_tunnel_peer_add(w->r, &pc);
	memcpy(pc.public_key, pub_r, 32);
	pc.endpoint = w->r_ep;
	w->i_peer = tp_tunnel_peer_add(w->i, &pc);

	/* I initiates, R responds, I confirms: a session both ways. */
	tp_tunnel_connect(w->i, w->i_peer);
	deliver_to(w->r, w->i_out, w->i_out_len, &w->i_ep);
	deliver_to(w->i, w->r_out, w->r_out_len, &w->r_ep);
	deliver_to(w->r, w->i_out, w->i_out_len, &w->i_ep);
	/* R starts a handshake of its own, left in flight. */
	w->r_out_len = 0;
	tp_tunnel_connect(w->r, w->r_peer);
	return w;
}

void world_free(struct world *w)
{
	tp_tunnel_free(w->r);
	tp_tunnel_free(w->i);
	free(w);
}

static bool same_endpoint(const struct tp_tunnel_endpoint *a, const struct tp_tunnel_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* A data message accepted before: the same (receiver index, counter) must
 * never be accepted again, whatever came in between. */
static void note_accepted(struct world *w, const uint8_t *msg)
{
	uint64_t idx = (uint64_t)msg[4] | (uint64_t)msg[5] << 8 | (uint64_t)msg[6] << 16 |
		       (uint64_t)msg[7] << 24;
	uint64_t ctr = 0;

	for (int i = 7; i >= 0; i--)
		ctr = ctr << 8 | msg[8 + i];
	for (size_t i = 0; i < w->n_accepted; i++)
		if (w->accepted[i][0] == idx && w->accepted[i][1] == ctr)
			abort(); /* a replayed data message was accepted */
	if (w->n_accepted < WORLD_ACCEPTED_MAX) {
		w->accepted[w->n_accepted][0] = idx;
		w->accepted[w->n_accepted][1] = ctr;
		w->n_accepted++;
	}
}

enum tp_tunnel_res world_feed_r(struct world *w, const uint8_t *msg, size_t len, uint8_t flags)
{
	struct tp_tunnel_endpoint src = w->i_ep, before, after;
	uint8_t buf[2][2048];
	struct tp_tunnel_pkt p[2];
	unsigned ok;
	bool had;

	world_now_ns += 100000000ULL; /* 100 ms between messages */
	if (flags & 1)
		src.port++; /* roamed */
	if (len > sizeof(buf[0]))
		len = sizeof(buf[0]);
	if ((flags & 2) || tp_tunnel_classify(msg, len) != 4) {
		return tp_tunnel_handshake_receive(w->r, msg, len, &src, flags & 4);
	}
	/* Data goes through the burst path, twice in one burst (replay). */
	for (int k = 0; k < 2; k++) {
		memcpy(buf[k], msg, len);
		p[k] = (struct tp_tunnel_pkt){.data = buf[k],
					      .len = (uint32_t)len,
					      .cap = sizeof(buf[k]),
					      .src = src,
					      .tag = (uint32_t)k};
	}
	had = tp_tunnel_peer_endpoint(w->r_peer, &before);
	ok = tp_tunnel_decrypt_burst(w->r, p, 2);
	/* Invariants: the copy is always refused as a replay, an accepted
	 * message was never accepted before, and a message that was refused
	 * (forged, replayed, stale) does not move the peer's endpoint. */
	if (ok > 1 || (ok == 1 && p[1].res != TP_TUNNEL_DROP_REPLAYED))
		abort();
	/* the tag follows its packet: the accepted one is the first copy */
	for (int k = 0; k < 2; k++)
		if (p[k].tag > 1 || p[k].data != buf[p[k].tag] || (ok == 1 && p[0].tag != 0))
			abort();
	if (ok == 1)
		note_accepted(w, msg);
	if (!ok && (tp_tunnel_peer_endpoint(w->r_peer, &after) != had ||
		    (had && !same_endpoint(&before, &after))))
		abort();
	tp_tunnel_tick(w->r);
	/* good ones first: p[0] holds the first packet's result if it passed */
	return (enum tp_tunnel_res)p[0].res;
}

void world_deliver_i(struct world *w, const uint8_t *msg, size_t len, bool congested)
{
	if (tp_tunnel_classify(msg, len) == 4)
		deliver_to(w->i, msg, len, &w->r_ep);
	else
		tp_tunnel_handshake_receive(w->i, msg, len, &w->r_ep, congested);
}
