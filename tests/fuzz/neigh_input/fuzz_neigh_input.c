// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the neighbour mirror's netlink parsing: arbitrary
 * bytes as an rtnetlink buffer, then a hold/lookup/expire round, with a
 * release callback that checks each held packet comes back exactly once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/neigh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fake_now;
static unsigned released[4];

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void on_release(void *arg, void *pkt, const uint8_t *mac)
{
	(void)arg;
	(void)mac;
	if (++released[*(unsigned *)pkt] > 1)
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
	fake_now = 100;
	tp_neigh_hold(n, 1, 4, a4, &ids[0]);
	tp_neigh_hold(n, 2, 6, a6, &ids[1]);
	/* netlink parsing wants 4-byte alignment, as a socket buffer has */
	buf = malloc(size ? size : 1);
	if (buf) {
		memcpy(buf, data, size);
		tp_neigh_input(n, buf, size);
		free(buf);
	}
	tp_neigh_lookup(n, 1, 4, a4, mac);
	tp_neigh_hold(n, 1, 4, a4, &ids[2]);
	fake_now += 20;
	tp_neigh_expire(n);
	tp_neigh_hold(n, 3, 4, a4, &ids[3]);
	tp_neigh_destroy(n);
	for (int i = 0; i < 4; i++) {
		if (released[i] > 1)
			abort();
	}
	return 0;
}
