// SPDX-License-Identifier: MIT
/*
 * gen_corpus DIR: writes the seed corpus of fuzz_tunnel, one valid message of
 * each type (as I would send it to R in the deterministic world) plus a few
 * sequences, then checks that R accepts each seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"

struct rec {
	uint8_t flags;
	uint8_t msg[256];
	size_t len;
};

static void write_seed(const char *dir, const char *name, const struct rec *recs, int n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		uint8_t hdr[3] = {recs[i].flags, (uint8_t)(recs[i].len >> 8), (uint8_t)recs[i].len};

		fwrite(hdr, 1, 3, f);
		fwrite(recs[i].msg, 1, recs[i].len, f);
	}
	fclose(f);
}

/* One message I sends next, from a fresh world; kind selects which. */
static struct rec make(int kind)
{
	struct world *w = world_new();
	struct rec r = {0};

	w->i_out_len = 0;
	switch (kind) {
	case 0: { /* data: an IPv4 packet of 60 bytes */
		uint8_t buf[256] = {0};
		struct tp_tunnel_pkt p = {.data = buf, .len = 16 + 60, .cap = sizeof(buf)};

		buf[16] = 0x45;
		buf[19] = 60;
		buf[25] = 1;
		tp_tunnel_encrypt(w->i, w->i_peer, &p);
		memcpy(r.msg, buf, p.len);
		r.len = p.len;
		break;
	}
	case 1: { /* keepalive */
		uint8_t buf[64] = {0};
		struct tp_tunnel_pkt p = {.data = buf, .len = 16, .cap = sizeof(buf)};

		tp_tunnel_encrypt(w->i, w->i_peer, &p);
		memcpy(r.msg, buf, p.len);
		r.len = p.len;
		break;
	}
	case 2: /* a new initiation, 6 s later */
		world_now_ns += 6000000000ULL;
		tp_tunnel_connect(w->i, w->i_peer);
		break;
	case 3: /* the response to R's initiation in flight */
		world_deliver_i(w, w->r_out, w->r_out_len, false);
		break;
	case 4: /* a cookie reply to it, I being under load */
		world_deliver_i(w, w->r_out, w->r_out_len, true);
		break;
	}
	if (!r.len) {
		memcpy(r.msg, w->i_out, w->i_out_len);
		r.len = w->i_out_len;
	}
	world_free(w);
	return r;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"data", "keepalive", "initiation", "response",
					    "cookie"};
	struct rec recs[5], seq[3];
	struct world *w;
	enum tp_tunnel_res res;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	for (int k = 0; k < 5; k++) {
		recs[k] = make(k);
		if (!recs[k].len) {
			fprintf(stderr, "gen_corpus: no message of kind %s\n", names[k]);
			return 1;
		}
		write_seed(argv[1], names[k], &recs[k], 1);
		w = world_new();
		res = world_feed_r(w, recs[k].msg, recs[k].len, 0);
		world_free(w);
		if (res != TP_TUNNEL_OK) {
			fprintf(stderr, "gen_corpus: seed %s gives %s, not ok\n", names[k],
				tp_tunnel_res_name(res));
			return 1;
		}
	}
	seq[0] = recs[0];
	seq[1] = recs[1];
	seq[2] = recs[0];
	write_seed(argv[1], "data-keepalive-replay", seq, 3);
	/* the replay seed does what it says: the third record is refused */
	w = world_new();
	world_feed_r(w, seq[0].msg, seq[0].len, 0);
	world_feed_r(w, seq[1].msg, seq[1].len, 0);
	res = world_feed_r(w, seq[2].msg, seq[2].len, 1);
	world_free(w);
	if (res != TP_TUNNEL_DROP_REPLAYED) {
		fprintf(stderr, "gen_corpus: replayed data gives %s, not replayed\n",
			tp_tunnel_res_name(res));
		return 1;
	}
	seq[0] = recs[2];
	seq[1] = recs[0];
	seq[1].flags = 1; /* roamed */
	write_seed(argv[1], "initiation-data-roam", seq, 2);
	seq[0] = recs[4];
	seq[1] = recs[3];
	write_seed(argv[1], "cookie-response", seq, 2);
	seq[0] = recs[2];
	seq[0].flags = 4; /* under load: gets a cookie reply */
	write_seed(argv[1], "initiation-under-load", seq, 1);
	return 0;
}
