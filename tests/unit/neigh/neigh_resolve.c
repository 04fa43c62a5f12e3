// SPDX-License-Identifier: MIT
/*
 * Root test helper, run inside a tpr- namespace by neigh_resolve.sh:
 *   neigh_resolve IFNAME FAMILY(4|6) PEER PEER_MAC ROUTED_DST
 * Asserts, against the real kernel: the peer is not resolved yet; two
 * packets held for it come back, in order, with the peer's MAC once the
 * kernel resolved it on our request (nothing configured by hand); the
 * route to ROUTED_DST leaves through IFNAME via PEER.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "tp/dp/neigh.h"

static int released[2];
static unsigned n_released;
static uint8_t got_mac[6];
static bool had_mac;

static void on_release(void *arg, void *pkt, const uint8_t *mac)
{
	if (n_released < 2)
		released[n_released] = *(int *)pkt;
	n_released++;
	had_mac = mac != NULL;
	if (mac)
		memcpy(got_mac, mac, 6);
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
	uint8_t peer[16] = {0}, dst[16] = {0}, nh[16], mac[6], want[6];
	struct tp_neigh *n = NULL;
	int ifindex, family, oif, pkts[2] = {1, 2}, rc, status = 1;

	if (argc != 6)
		return 2;
	ifindex = (int)if_nametoindex(argv[1]);
	family = argv[2][0] == '6' ? 6 : 4;
	if (!ifindex || inet_pton(family == 4 ? AF_INET : AF_INET6, argv[3], peer) != 1 ||
	    inet_pton(family == 4 ? AF_INET : AF_INET6, argv[5], dst) != 1 ||
	    sscanf(argv[4], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &want[0], &want[1], &want[2], &want[3],
		   &want[4], &want[5]) != 6)
		return 2;
	n = tp_neigh_create(&(struct tp_neigh_params){
		.ifindex = &ifindex,
		.n_ifindex = 1,
		.max_entries = 64,
		.queue_len = 4,
		.hold_ns = 3000000000ull,
		.clock = {.now_ns = tp_clock_monotonic_ns},
		.release = on_release,
	});
	CHECK(n, "tp_neigh_create");
	rc = tp_neigh_dump(n);
	CHECK(rc == 0, "dump: %s", strerror(-rc));
	CHECK(tp_neigh_lookup(n, ifindex, (uint8_t)family, peer, mac) == -ENOENT,
	      "peer resolved before we asked");

	rc = tp_neigh_route(n, (uint8_t)family, dst, &oif, nh);
	CHECK(rc == 0, "route: %s", strerror(-rc));
	CHECK(oif == ifindex, "route leaves through ifindex %d, not %d", oif, ifindex);
	CHECK(!memcmp(nh, peer, family == 4 ? 4 : 16), "next hop is not the peer");

	rc = tp_neigh_hold(n, ifindex, (uint8_t)family, peer, &pkts[0]);
	CHECK(rc == 0, "hold 1: %s", strerror(-rc));
	rc = tp_neigh_hold(n, ifindex, (uint8_t)family, peer, &pkts[1]);
	CHECK(rc == 0, "hold 2: %s", strerror(-rc));
	for (int i = 0; i < 50 && n_released < 2; i++) {
		struct pollfd pfd = {.fd = tp_neigh_fd(n), .events = POLLIN};

		if (poll(&pfd, 1, 100) > 0)
			tp_neigh_process(n);
		tp_neigh_expire(n);
	}
	CHECK(n_released == 2, "%u packets released", n_released);
	CHECK(had_mac, "released without a MAC (resolution failed)");
	CHECK(released[0] == 1 && released[1] == 2, "released out of order");
	CHECK(!memcmp(got_mac, want, 6), "wrong MAC");
	CHECK(tp_neigh_lookup(n, ifindex, (uint8_t)family, peer, mac) == 0, "lookup after");
	printf("ok: IPv%d %s resolved to %s by the kernel, first packets kept\n", family, argv[3],
	       argv[4]);
	status = 0;
out:
	tp_neigh_destroy(n);
	return status;
}
