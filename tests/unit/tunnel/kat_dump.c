// SPDX-License-Identifier: MIT
/*
 * kat_dump SI SR PSK EI ER WALL_NS: runs one handshake between two engines
 * with the given static keys, preshared key (all zeros: none configured),
 * ephemeral private keys and wall clock (all hex but WALL_NS), and prints what went on the wire and
 * the transport keys derived, one "name hex" per line, for kat_reference.py
 * to compare with its own computation. The ephemerals reach the engine
 * through its random callback: every 32-byte request is an ephemeral key.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "device.h"
#include "tp/base/keys.h"
#include "tp/dp/tunnel.h"

struct side {
	const char *name;
	uint8_t eph[32];
	uint32_t stream; /* other random requests: a counter, for indices */
	uint8_t out[4][256];
	size_t out_len[4];
	unsigned nout;
};

static uint64_t wall;

static uint64_t fixed_now(void *ctx)
{
	return 1000000000ULL;
}

static uint64_t fixed_wall(void *ctx)
{
	return wall;
}

static void scripted_random(void *ctx, void *buf, size_t len)
{
	struct side *s = ctx;
	uint8_t *b = buf;

	if (len == 32) {
		memcpy(buf, s->eph, 32);
		return;
	}
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)((size_t)s->stream * 7 + i + (s->name[0] == 'i' ? 0x10 : 0x80));
	s->stream++;
}

static void on_send(void *ctx, struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *dst,
		    const uint8_t *msg, size_t len)
{
	struct side *s = ctx;

	if (s->nout == 4 || len > 256)
		exit(3);
	memcpy(s->out[s->nout], msg, len);
	s->out_len[s->nout++] = len;
}

static const struct tp_tunnel_ops ops = {
	.now_ns = fixed_now, .wall_ns = fixed_wall, .random = scripted_random, .send = on_send};

static int unhex(uint8_t out[32], const char *h)
{
	if (strlen(h) != 64)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		char byte[3] = {h[2 * i], h[2 * i + 1], 0}, *end;
		unsigned long v = strtoul(byte, &end, 16);

		if (*end || !isxdigit((unsigned char)byte[0]))
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static void put(const char *name, const uint8_t *b, size_t len)
{
	printf("%s ", name);
	for (size_t i = 0; i < len; i++)
		printf("%02x", b[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	static struct side si = {.name = "initiator"}, sr = {.name = "responder"};
	uint8_t s_i[32], s_r[32], psk[32], pub[32];
	struct tp_tunnel_config ci = {.ops = &ops, .ctx = &si}, cr = {.ops = &ops, .ctx = &sr};
	struct tp_tunnel_peer_config pi = {.has_psk = true}, pr = {.has_psk = true};
	struct tp_tunnel_endpoint ep_i = {.family = AF_INET, .port = 1, .addr = {192, 0, 2, 1}};
	struct tp_tunnel_endpoint ep_r = {.family = AF_INET, .port = 2, .addr = {192, 0, 2, 2}};
	struct tp_tunnel *ti, *tr;
	struct tp_tunnel_peer *peer_i, *peer_r;
	struct keypair *ki, *kr;
	uint8_t data[256] = {0};
	struct tp_tunnel_pkt p = {.data = data, .len = 16 + 60, .cap = sizeof(data)};

	if (argc != 7 || unhex(s_i, argv[1]) || unhex(s_r, argv[2]) || unhex(psk, argv[3]) ||
	    unhex(si.eph, argv[4]) || unhex(sr.eph, argv[5])) {
		fprintf(stderr, "usage: kat_dump SI SR PSK EI ER WALL_NS (keys: 64 hex)\n");
		return 2;
	}
	wall = strtoull(argv[6], NULL, 10);
	/* all zeros: configure no preshared key (the protocol then mixes in
	 * zeros, which the reference does) */
	pi.has_psk = pr.has_psk = memcmp(psk, (uint8_t[32]){0}, 32) != 0;
	memcpy(ci.private_key, s_i, 32);
	memcpy(cr.private_key, s_r, 32);
	ti = tp_tunnel_new(&ci);
	tr = tp_tunnel_new(&cr);
	if (!ti || !tr)
		return 1;
	(void)tp_key_wg_public(s_r, pub);
	memcpy(pi.public_key, pub, 32);
	memcpy(pi.psk, psk, 32);
	pi.endpoint = ep_r;
	(void)tp_key_wg_public(s_i, pub);
	memcpy(pr.public_key, pub, 32);
	memcpy(pr.psk, psk, 32);
	peer_i = tp_tunnel_peer_add(ti, &pi);
	peer_r = tp_tunnel_peer_add(tr, &pr);
	if (!peer_i || !peer_r)
		return 1;

	/* initiation -> response -> the initiator's confirming keepalive */
	if (tp_tunnel_connect(ti, peer_i) != 0 || si.nout != 1)
		return 1;
	if (tp_tunnel_handshake_receive(tr, si.out[0], si.out_len[0], &ep_i, false) !=
		    TP_TUNNEL_OK ||
	    sr.nout != 1)
		return 1;
	if (tp_tunnel_handshake_receive(ti, sr.out[0], sr.out_len[0], &ep_r, false) !=
		    TP_TUNNEL_OK ||
	    si.nout != 2)
		return 1;
	/* the first data packet: a 60-byte IPv4 header-only packet, counter 1 */
	data[16] = 0x45;
	data[19] = 60;
	data[24] = 64;
	data[25] = 17;
	if (tp_tunnel_encrypt(ti, peer_i, &p) != TP_TUNNEL_OK)
		return 1;
	ki = atomic_load(&peer_i->kp_cur);
	kr = atomic_load(&peer_r->kp_next);
	if (!ki || !kr)
		return 1;
	put("initiation", si.out[0], si.out_len[0]);
	put("response", sr.out[0], sr.out_len[0]);
	put("keepalive", si.out[1], si.out_len[1]);
	put("data", data, p.len);
	put("initiator_send", ki->send_key, 32);
	put("initiator_recv", ki->recv_key, 32);
	put("responder_send", kr->send_key, 32);
	put("responder_recv", kr->recv_key, 32);
	/* and the responder accepts both data messages */
	{
		struct tp_tunnel_pkt k = {
			.data = si.out[1], .len = (uint32_t)si.out_len[1], .cap = 256, .src = ep_i};
		struct tp_tunnel_pkt d = {
			.data = data, .len = p.len, .cap = sizeof(data), .src = ep_i};

		printf("responder_accepts %d %d\n", tp_tunnel_decrypt(tr, &k) == TP_TUNNEL_OK,
		       tp_tunnel_decrypt(tr, &d) == TP_TUNNEL_OK);
	}
	tp_tunnel_free(ti);
	tp_tunnel_free(tr);
	return 0;
}
