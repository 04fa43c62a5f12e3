// SPDX-License-Identifier: MIT
/*
 * Root test helper, run in a tpr- namespace by l2_first_packet.sh:
 *   l2_first_packet IFNAME PEER_IP PEER_MAC
 * The real runtime (memory mode: net_ring ports, one worker) with the
 * zone stages { parse, route-to-dst, tp_stage_l2 } and the kernel link
 * IFNAME standing for the transit side. Two frames to PEER_IP, which the
 * kernel has not resolved:
 *  - the first misses the worker's next-hop table, goes up to this (the
 *    control) thread, waits while the kernel resolves PEER_IP (ARP on
 *    IFNAME), and leaves the transit port with PEER_MAC: not lost;
 *  - the second, after the table was republished, leaves straight from
 *    the worker with PEER_MAC (nothing goes up).
 * The transit port (net_ring) loops frames back in; a capture stage
 * records their Ethernet addresses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "tp/l2.h"
#include "tp/runtime.h"

static struct tp_runtime rt;
static uint8_t captured_dst[2][6], captured_src[2][6];
static unsigned n_captured; /* written by the worker */

/* Route: next hop = the IPv4 destination (a connected peer). */
static uint16_t stage_route(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			    struct tp_drop_vec *dv)
{
	for (uint16_t i = 0; i < n; i++) {
		struct tp_pkt_meta *meta = tp_pkt_meta(pkts[i]);

		meta->nh_family = 4;
		memset(meta->nh, 0, sizeof(meta->nh));
		memcpy(meta->nh, meta->info.dst, 4);
	}
	return n;
}

/* Transit ingress (the loop back): record addresses, drop. */
static uint16_t stage_capture(struct tp_stage_ctx *ctx, struct rte_mbuf **pkts, uint16_t n,
			      struct tp_drop_vec *dv)
{
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *eth = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		unsigned k = __atomic_load_n(&n_captured, __ATOMIC_RELAXED);

		if (k < 2) {
			memcpy(captured_dst[k], eth, 6);
			memcpy(captured_src[k], eth + 6, 6);
		}
		__atomic_store_n(&n_captured, k + 1, __ATOMIC_RELEASE);
		tp_drop_vec_push(dv, pkts[i], TP_DROP_NO_POLICY);
	}
	return 0;
}

static struct rte_mbuf *frame_to(const uint8_t dst_ip[4])
{
	uint8_t f[42] = {0,    0, 0, 0,	 0, 0, 2,    2,	   2,	 2,    2, 2, 0x08, 0x00,
			 0x45, 0, 0, 28, 0, 1, 0x40, 0,	   64,	 17,   0, 0, 10,   1,
			 0,    5, 0, 0,	 0, 0, 0x9c, 0x40, 0xba, 0xc0, 0, 8};
	struct rte_mbuf *m = rte_pktmbuf_alloc(rt.pool[0]);
	uint32_t sum = 0;

	memcpy(f + 30, dst_ip, 4);
	for (int i = 14; i < 34; i += 2)
		sum += (uint32_t)(f[i] << 8 | f[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[24] = (uint8_t)(~sum >> 8);
	f[25] = (uint8_t)~sum;
	if (m)
		memcpy(rte_pktmbuf_append(m, sizeof(f)), f, sizeof(f));
	return m;
}

static uint64_t stat(struct tp_counters *c, enum tp_stat s)
{
	struct tp_counters_totals t;

	tp_counters_sum(c, &t);
	return t.stat[s];
}

/* The control loop, until n frames were captured or 5 s passed. */
static void control_until(struct tp_l2 *l2, struct tp_counters *c, unsigned n)
{
	for (int i = 0; i < 500 && __atomic_load_n(&n_captured, __ATOMIC_ACQUIRE) < n; i++) {
		struct pollfd pfd[2] = {{.fd = tp_runtime_control_fd(&rt), .events = POLLIN},
					{.fd = tp_l2_fd(l2), .events = POLLIN}};
		struct rte_mbuf *up[16];

		poll(pfd, 2, 10);
		if (pfd[1].revents & POLLIN)
			tp_l2_process(l2);
		for (unsigned k = tp_runtime_from_workers(&rt, up, 16), j = 0; j < k; j++) {
			if (tp_pkt_meta(up[j])->up_reason == TP_UP_NEIGH)
				tp_l2_take(l2, up[j]);
			else
				rte_pktmbuf_free(up[j]);
		}
		tp_l2_expire(l2);
	}
	(void)c;
}

#define CHECK(cond, ...)                                       \
	do {                                                   \
		if (!(cond)) {                                 \
			fprintf(stderr, "FAIL: " __VA_ARGS__); \
			fputc('\n', stderr);                   \
			goto out;                              \
		}                                              \
	} while (0)

int main(int argc, char **argv)
{
	static const char conf[] = "name = tpr-l2-test\nmode = memory\nmemory_mb = 128\n"
				   "admin_socket = /tmp/unused.sock\n";
	struct tp_stage zone[3] = {
		{tp_stage_parse, NULL}, {stage_route, NULL}, {tp_stage_l2, NULL}};
	static const struct tp_stage transit[] = {{stage_capture, NULL}};
	struct tp_runtime_stages stages = {zone, 3, transit, 1};
	struct tp_clock clock = {.now_ns = tp_clock_monotonic_ns};
	struct rte_ether_addr port_mac;
	struct tp_counters *c = NULL;
	struct tp_l2 *l2 = NULL;
	struct tp_config cfg;
	struct tp_config_err cerr;
	uint8_t peer_ip[4], peer_mac[6];
	char err[256] = "";
	int status = 1;

	memset(&rt, 0, sizeof(rt));
	if (argc != 4 || inet_pton(AF_INET, argv[2], peer_ip) != 1 ||
	    sscanf(argv[3], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &peer_mac[0], &peer_mac[1],
		   &peer_mac[2], &peer_mac[3], &peer_mac[4], &peer_mac[5]) != 6 ||
	    tp_config_parse(conf, &cfg, &cerr))
		return 2;
	c = tp_counters_create(cfg.n_workers + 1);
	CHECK(c, "counters");
	CHECK(tp_runtime_open(&rt, &cfg, c, &clock, &stages, err, sizeof(err)) == 0, "%s", err);
	l2 = tp_l2_create(&(struct tp_l2_params){
		.rt = &rt,
		.ifindex = {(int)if_nametoindex("lo"), (int)if_nametoindex(argv[1])},
		.queue_len = 4,
		.hold_ns = 3000000000ull,
		.clock = clock,
		.cnt = tp_counters_slot(c, cfg.n_workers),
	});
	CHECK(l2, "tp_l2_create: %s", strerror(errno));
	zone[2].arg = l2;
	CHECK(tp_runtime_start(&rt) == 0, "start");
	rte_eth_macaddr_get(rt.port[TP_PORT_TRANSIT], &port_mac);

	/* first packet: unresolved next hop */
	{
		struct rte_mbuf *m = frame_to(peer_ip);

		CHECK(m && rte_eth_tx_burst(rt.port[TP_PORT_ZONE], 0, &m, 1) == 1, "inject 1");
	}
	control_until(l2, c, 1);
	CHECK(n_captured == 1, "first packet lost (%u captured)", n_captured);
	CHECK(!memcmp(captured_dst[0], peer_mac, 6), "first packet: wrong destination MAC");
	CHECK(!memcmp(captured_src[0], port_mac.addr_bytes, 6), "first packet: wrong source MAC");
	CHECK(stat(c, TP_STAT_TO_CONTROL) == 1, "first packet did not go through control");

	/* second packet: the worker knows the MAC now */
	{
		struct rte_mbuf *m = frame_to(peer_ip);

		CHECK(m && rte_eth_tx_burst(rt.port[TP_PORT_ZONE], 0, &m, 1) == 1, "inject 2");
	}
	control_until(l2, c, 2);
	CHECK(n_captured == 2, "second packet lost");
	CHECK(!memcmp(captured_dst[1], peer_mac, 6), "second packet: wrong destination MAC");
	CHECK(stat(c, TP_STAT_TO_CONTROL) == 1, "second packet went up to control");
	printf("ok: first packet to unresolved %s held and sent to %s; second sent by the "
	       "worker\n",
	       argv[2], argv[3]);
	status = 0;
out:
	tp_runtime_stop(&rt);
	tp_l2_destroy(l2);
	tp_runtime_close(&rt);
	tp_counters_free(c);
	return status;
}
