// SPDX-License-Identifier: MIT
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "device.h"
#include "harness.h"
#include "tp/base/keys.h"

uint64_t sim_now_ns = 1000000000ULL;
int64_t sim_wall_step_ns;

static uint64_t now_ns(void *ctx)
{
	return sim_now_ns;
}

static uint64_t wall_ns(void *ctx)
{
	return 1700000000ULL * 1000000000ULL + sim_now_ns + (uint64_t)sim_wall_step_ns;
}

static void on_send(void *ctx, struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *dst,
		    const uint8_t *msg, size_t len)
{
	struct node *n = ctx;

	CU_ASSERT_FATAL(n->nout < MAX_MSGS && len <= MSG_CAP);
	n->out[n->nout].dst = *dst;
	n->out[n->nout].len = (uint32_t)len;
	memcpy(n->out[n->nout].buf, msg, len);
	n->nout++;
}

static void on_event(void *ctx, struct tp_tunnel_peer *peer, enum tp_tunnel_event ev)
{
	struct node *n = ctx;

	n->events[ev]++;
}

/*
 * The retire hook of every test: an object may be retired only once no
 * worker can find it any more, i.e. no peer slot (previous, current, next)
 * and no index entry leads to it, and a retired peer is off the peer list.
 * Then it is freed at once, as single-threaded use allows.
 */
static void on_retire(void *ctx, void *obj, void (*free_fn)(void *obj))
{
	struct node *n = ctx;
	struct tp_tunnel *tun = n->tun;
	bool reachable = false;

	for (size_t i = 0; tun && i < tun->npeers; i++) {
		struct tp_tunnel_peer *p = tun->peers[i];

		reachable |= (void *)p == obj || (void *)atomic_load(&p->kp_prev) == obj ||
			     (void *)atomic_load(&p->kp_cur) == obj ||
			     (void *)atomic_load(&p->kp_next) == obj;
	}
	for (uint32_t i = 0; tun && i <= tun->index.mask; i++) {
		struct index_entry *e = atomic_load(&tun->index.slots[i]);

		reachable |= e && ((void *)e == obj || (void *)e->peer == obj);
	}
	n->retired++;
	n->retire_violations += reachable;
	CU_ASSERT_FALSE(reachable);
	free_fn(obj);
}

static const struct tp_tunnel_ops ops = {
	.now_ns = now_ns,
	.wall_ns = wall_ns,
	.send = on_send,
	.retire = on_retire,
	.event = on_event,
};

uint16_t harness_mtu, harness_mtu6;

void node_init(struct node *n, uint32_t ipv4, uint16_t port)
{
	struct tp_tunnel_config cfg = {
		.ops = &ops, .ctx = n, .mtu = harness_mtu, .mtu6 = harness_mtu6};

	memset(n, 0, sizeof(*n));
	n->out = calloc(MAX_MSGS, sizeof(*n->out));
	CU_ASSERT_FATAL(n->out != NULL);
	CU_ASSERT_FATAL(tp_key_wg_generate(n->priv, NULL) == 0);
	CU_ASSERT_FATAL(tp_key_wg_public(n->priv, n->pub) == 0);
	memcpy(cfg.private_key, n->priv, 32);
	n->tun = tp_tunnel_new(&cfg);
	CU_ASSERT_FATAL(n->tun != NULL);
	n->ep.family = AF_INET;
	n->ep.port = port;
	ipv4 = htonl(ipv4);
	memcpy(n->ep.addr, &ipv4, 4);
}

void node_fini(struct node *n)
{
	tp_tunnel_free(n->tun);
	free(n->out);
	memset(n, 0, sizeof(*n));
}

void nodes_pair(struct node *a, struct node *b, const uint8_t *psk, bool a_knows_b_endpoint,
		bool b_knows_a_endpoint)
{
	struct tp_tunnel_peer_config pa = {0}, pb = {0};

	memcpy(pa.public_key, b->pub, 32);
	memcpy(pb.public_key, a->pub, 32);
	if (psk) {
		pa.has_psk = pb.has_psk = true;
		memcpy(pa.psk, psk, 32);
		memcpy(pb.psk, psk, 32);
	}
	if (a_knows_b_endpoint)
		pa.endpoint = b->ep;
	if (b_knows_a_endpoint)
		pb.endpoint = a->ep;
	a->peer = tp_tunnel_peer_add(a->tun, &pa);
	b->peer = tp_tunnel_peer_add(b->tun, &pb);
	CU_ASSERT_FATAL(a->peer && b->peer);
}

unsigned deliver(struct node *from, struct node *to)
{
	unsigned n = from->nout;

	/* Messages emitted while delivering go to the next round. */
	struct msg *batch = malloc(sizeof(*batch) * (n ? n : 1));

	memcpy(batch, from->out, sizeof(*batch) * n);
	from->nout = 0;
	for (unsigned i = 0; i < n; i++) {
		struct msg *m = &batch[i];
		enum tp_tunnel_res r;

		if (tp_tunnel_classify(m->buf, m->len) == 4) {
			struct tp_tunnel_pkt p = {
				.data = m->buf, .len = m->len, .cap = MSG_CAP, .src = from->ep};

			r = tp_tunnel_decrypt(to->tun, &p);
			if (tp_tunnel_res_ok(r) && p.inner_len) {
				to->inner_rx++;
				to->last_inner_len = p.inner_len;
				memcpy(to->last_inner, p.data + TP_TUNNEL_HEADER_LEN, p.inner_len);
			}
		} else {
			r = tp_tunnel_handshake_receive(to->tun, m->buf, m->len, &from->ep,
							to->congested);
		}
		to->results[r]++;
	}
	free(batch);
	return n;
}

void pump(struct node *a, struct node *b)
{
	for (int round = 0; round < 16; round++) {
		unsigned d = deliver(a, b) + deliver(b, a);

		if (!d)
			return;
	}
}

void tick_both(struct node *a, struct node *b)
{
	tp_tunnel_tick(a->tun);
	tp_tunnel_tick(b->tun);
}

void advance(struct node *a, struct node *b, uint64_t ns, uint64_t step_ns)
{
	uint64_t end = sim_now_ns + ns;

	while (sim_now_ns < end) {
		sim_now_ns += step_ns;
		tick_both(a, b);
		pump(a, b);
	}
}

void make_inner(uint8_t *buf, uint32_t len, uint32_t seq)
{
	memset(buf, 0, len);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[8] = 64;
	buf[9] = 1; /* ICMP */
	buf[12] = 10, buf[15] = 1;
	buf[16] = 10, buf[19] = 2;
	buf[20] = 8; /* echo request */
	memcpy(buf + 24, &seq, 4);
}

enum tp_tunnel_res send_data(struct node *n, uint32_t len, uint32_t seq)
{
	uint8_t buf[MSG_CAP];
	struct tp_tunnel_pkt p = {.data = buf, .len = TP_TUNNEL_HEADER_LEN + len, .cap = MSG_CAP};
	struct tp_tunnel_endpoint ep;
	enum tp_tunnel_res r;

	make_inner(buf + TP_TUNNEL_HEADER_LEN, len, seq);
	r = tp_tunnel_encrypt(n->tun, n->peer, &p);
	if (tp_tunnel_res_ok(r) && tp_tunnel_peer_endpoint(n->peer, &ep)) {
		n->out[n->nout].dst = ep;
		n->out[n->nout].len = p.len;
		memcpy(n->out[n->nout].buf, buf, p.len);
		n->nout++;
	}
	return r;
}
