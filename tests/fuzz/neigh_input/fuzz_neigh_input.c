// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the neighbour mirror's netlink parsing: arbitrary
 * bytes as an rtnetlink buffer, then a hold/lookup/expire round.
 *
 * Invariant: every packet tp_neigh_hold() took (returned 0) comes back
 * through the release callback exactly once by the end of
 * tp_neigh_destroy(), and a packet it refused (pkt not taken: the caller
 * still owns it) never does. A second release would be a double free in
 * tpd, a missing one a leaked mbuf.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dp/neigh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fake_now;
static unsigned released[4];
static bool taken[4];

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void on_release(void *arg, void *pkt, const uint8_t *mac)
{
	(void)arg;
	(void)mac;
	unsigned id = *(unsigned *)pkt;

	/* never twice, and never one the caller kept */
	if (++released[id] > 1 || !taken[id])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int ifs[] = {1, 2, 3};
	static const uint8_t a4[4] = {10, 0, 0, 1};
	static const uint8_t a6[16] = {0xfd, [15] = 1};
	static unsigned ids[4] = {0, 1, 2, 3};
	struct tp_neigh *n;
	uint8_t mac[6];
	void *buf;

	n = tp_neigh_create(&(struct tp_neigh_params){
		.ifindex = ifs,
		.n_ifindex = 3,
		.max_entries = 4,
		.queue_len = 2,
		.hold_ns = 10,
		.clock = {.now_ns = fake_clock},
		.release = on_release,
		.no_socket = true,
	});
	if (!n)
		return 0;
	memset(released, 0, sizeof(released));
	memset(taken, 0, sizeof(taken));
	fake_now = 100;
	/* taken[] is set before the call: a usable neighbour releases at once */
	taken[0] = true;
	taken[0] = tp_neigh_hold(n, 1, 4, a4, &ids[0]) == 0;
	taken[1] = true;
	taken[1] = tp_neigh_hold(n, 2, 6, a6, &ids[1]) == 0;
	/* netlink parsing wants 4-byte alignment, as a socket buffer has */
	buf = malloc(size ? size : 1);
	if (buf) {
		memcpy(buf, data, size);
		tp_neigh_input(n, buf, size);
		free(buf);
	}
	tp_neigh_lookup(n, 1, 4, a4, mac);
	taken[2] = true;
	taken[2] = tp_neigh_hold(n, 1, 4, a4, &ids[2]) == 0;
	fake_now += 20;
	tp_neigh_expire(n);
	taken[3] = true;
	taken[3] = tp_neigh_hold(n, 3, 4, a4, &ids[3]) == 0;
	tp_neigh_destroy(n);
	for (int i = 0; i < 4; i++) {
		/* exactly once if taken, never if refused */
		if (released[i] != (taken[i] ? 1u : 0u))
			abort();
	}
	return 0;
}
