// SPDX-License-Identifier: MIT
/* Layer-2 output (see tp/l2.h for the two halves and who owns what). */
#include "tp/l2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "tp/neigh.h"
#include "tp/nexthop.h"
#include "tp/runtime.h"

struct tp_l2 {
	struct tp_l2_params p;
	struct tp_neigh *neigh;
	struct tp_nexthop_table *table; /* published: workers load it (acquire) */
	uint64_t generation;		/* of the mirror when table was built */
	struct rte_ether_addr port_mac[TP_PORT__COUNT];
};

static void set_eth(struct rte_mbuf *m, const uint8_t *dst, const struct rte_ether_addr *src)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	memcpy(&eth->dst_addr, dst, RTE_ETHER_ADDR_LEN);
	rte_ether_addr_copy(src, &eth->src_addr);
}

uint16_t tp_stage_l2(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
		     struct tp_drop_vec *dv)
{
	struct tp_l2 *l2 = ctx->arg;
	const struct tp_nexthop_table *t = __atomic_load_n(&l2->table, __ATOMIC_ACQUIRE);
	uint8_t out = ctx->in_role == TP_PORT_ZONE ? TP_PORT_TRANSIT : TP_PORT_ZONE;
	uint16_t keep = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct tp_pkt_meta *meta = tp_pkt_meta(m);
		uint8_t mac[TP_NEIGH_MAC_LEN];

		if (!meta->nh_family || m->data_len < RTE_ETHER_HDR_LEN) {
			tp_drop_vec_push(dv, m, TP_DROP_NO_NEXTHOP);
			continue;
		}
		meta->out_role = out;
		if (tp_nexthop_lookup(t, out, meta->nh_family, meta->nh, mac)) {
			set_eth(m, mac, &l2->port_mac[out]);
			pkts[keep++] = m;
			continue;
		}
		meta->up_reason = TP_UP_NEIGH;
		if (!tp_stage_to_control(ctx, m))
			tp_drop_vec_push(dv, m, TP_DROP_CONTROL_FULL);
	}
	return keep;
}

/* Replace the published table if the mirror changed since it was built. */
static void republish(struct tp_l2 *l2)
{
	struct tp_nexthop_table *fresh, *old;
	uint64_t gen = tp_neigh_generation(l2->neigh);

	if (l2->table && gen == l2->generation)
		return;
	fresh = tp_nexthop_build(l2->neigh, l2->p.ifindex);
	if (!fresh)
		return; /* keep the old one; the next change tries again */
	old = __atomic_exchange_n(&l2->table, fresh, __ATOMIC_ACQ_REL);
	l2->generation = gen;
	if (old) {
		tp_runtime_synchronize(l2->p.rt);
		free(old);
	}
}

/* A held packet comes back from the mirror. */
static void release(void *arg, void *pkt, const uint8_t *mac)
{
	struct tp_l2 *l2 = arg;
	struct rte_mbuf *m = pkt;
	uint8_t out = tp_pkt_meta(m)->out_role;

	if (!mac) {
		tp_counters_drop(l2->p.cnt, TP_DROP_NEIGH_FAILED, 1);
		rte_pktmbuf_free(m);
		return;
	}
	set_eth(m, mac, &l2->port_mac[out]);
	if (tp_runtime_send(l2->p.rt, out, &m, 1) != 1) {
		tp_counters_drop(l2->p.cnt, TP_DROP_TX_FULL, 1);
		rte_pktmbuf_free(m);
	}
}

struct tp_l2 *tp_l2_create(const struct tp_l2_params *p)
{
	struct tp_l2 *l2 = calloc(1, sizeof(*l2));
	int rc;

	if (!l2)
		goto fail;
	l2->p = *p;
	for (int role = 0; role < TP_PORT__COUNT; role++)
		rte_eth_macaddr_get(p->rt->port[role], &l2->port_mac[role]);
	l2->neigh = tp_neigh_create(&(struct tp_neigh_params){
		.ifindex = p->ifindex,
		.n_ifindex = 2,
		.max_entries = 1024,
		.queue_len = p->queue_len,
		.hold_ns = p->hold_ns,
		.clock = p->clock,
		.release = release,
		.release_arg = l2,
	});
	if (!l2->neigh)
		goto fail_free;
	rc = tp_neigh_dump(l2->neigh);
	if (rc) {
		errno = -rc;
		goto fail_neigh;
	}
	republish(l2);
	if (!l2->table) {
		errno = ENOMEM;
		goto fail_neigh;
	}
	return l2;
fail_neigh:
	tp_neigh_destroy(l2->neigh);
fail_free:
	free(l2);
fail:
	return NULL;
}

void tp_l2_destroy(struct tp_l2 *l2)
{
	struct tp_nexthop_table *old;

	if (!l2)
		return;
	old = __atomic_exchange_n(&l2->table, NULL, __ATOMIC_ACQ_REL);
	tp_runtime_synchronize(l2->p.rt);
	free(old);
	tp_neigh_destroy(l2->neigh); /* releases held packets: dropped */
	free(l2);
}

int tp_l2_fd(const struct tp_l2 *l2)
{
	return tp_neigh_fd(l2->neigh);
}

void tp_l2_process(struct tp_l2 *l2)
{
	tp_neigh_process(l2->neigh);
	republish(l2);
}

void tp_l2_take(struct tp_l2 *l2, struct rte_mbuf *m)
{
	struct tp_pkt_meta *meta = tp_pkt_meta(m);
	int rc;

	rc = tp_neigh_hold(l2->neigh, l2->p.ifindex[meta->out_role], meta->nh_family, meta->nh, m);
	if (rc) {
		/* -ENOSPC: queue or table full; else the kernel refused to
		 * resolve (bad address for the link) */
		tp_counters_drop(l2->p.cnt,
				 rc == -ENOSPC ? TP_DROP_NEIGH_QUEUE_FULL : TP_DROP_NEIGH_FAILED,
				 1);
		rte_pktmbuf_free(m);
	}
}

void tp_l2_expire(struct tp_l2 *l2)
{
	tp_neigh_expire(l2->neigh);
}

struct tp_neigh *tp_l2_neigh(struct tp_l2 *l2)
{
	return l2->neigh;
}
