// SPDX-License-Identifier: MIT
/*
 * What the idle back-off costs: the wake-up latency of the first packet
 * after an idle period, and the CPU an idle tpd uses.
 *
 *   idle_wakeup memory WAIT CAP_US IDLE_POLLS SAMPLES
 *   idle_wakeup xdp WAIT CAP_US IDLE_POLLS SAMPLES ZONE_IF TRANSIT_IF PEER_IF
 *
 * Brings up the real runtime (one worker on lcore 1) in memory mode
 * (net_ring ports) or xdp mode (net_af_xdp on ZONE_IF/TRANSIT_IF, the
 * PMD's default program; PEER_IF is ZONE_IF's veth peer). WAIT is the
 * idle_wait setting (fd | sleep). The main thread waits a random 2..20 ms
 * (the worker goes idle meanwhile), stamps t0, puts one valid frame on the
 * zone port (memory: its ring; xdp: sent raw on PEER_IF), and spins until
 * the worker's counters show it received (t1). Latency = t1 - t0 (in xdp
 * mode this includes the veth and XDP path). Then it measures the
 * process's CPU time over 3 s of idleness. Prints one line.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "tp/dp/pipeline.h"
#include "tp/dp/runtime.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t parsed(struct tp_counters *c)
{
	struct tp_counters_totals t;

	tp_counters_sum(c, &t);
	return t.stat[TP_STAT_ZONE_RX_PKTS];
}

int main(int argc, char **argv)
{
	static const uint8_t frame[] = {
		2,    2, 2,  2,	 2, 2, 2,    2,	   2,	 2,    2,    2,	   0x08, 0x00,
		0x45, 0, 0,  28, 0, 1, 0x40, 0,	   64,	 17,   0x26, 0xc2, 10,	 1,
		0,    5, 10, 2,	 0, 7, 0x9c, 0x40, 0xba, 0xc0, 0,    8,	   0,	 0,
	};
	char text[512], err[256];
	struct tp_config cfg;
	struct tp_config_err cerr;
	struct tp_runtime rt;
	struct tp_counters *counters;
	struct tp_clock clock = {.now_ns = tp_clock_monotonic_ns};
	unsigned cap, polls, samples;
	uint64_t *lat, c0, w0;
	bool xdp;
	int raw = -1, status = 1;

	if (argc < 6)
		return 2;
	xdp = !strcmp(argv[1], "xdp");
	if (xdp && argc != 9)
		return 2;
	cap = (unsigned)atoi(argv[3]);
	polls = (unsigned)atoi(argv[4]);
	samples = (unsigned)atoi(argv[5]);
	if (xdp)
		snprintf(text, sizeof(text),
			 "name = bench-idle-xdp\nmode = xdp\nzone_interface = %s\n"
			 "transit_interface = %s\nmemory_mb = 128\nidle_wait = %s\n"
			 "idle_sleep_max_us = %u\nidle_polls = %u\nadmin_socket = /tmp/u.sock\n",
			 argv[6], argv[7], argv[2], cap, polls);
	else
		snprintf(text, sizeof(text),
			 "name = bench-idle\nmode = memory\nmemory_mb = 128\nidle_wait = %s\n"
			 "idle_sleep_max_us = %u\nidle_polls = %u\nadmin_socket = /tmp/u.sock\n",
			 argv[2], cap, polls);
	if (tp_config_parse(text, &cfg, &cerr)) {
		fprintf(stderr, "config: %s\n", cerr.msg);
		return 1;
	}
	memset(&rt, 0, sizeof(rt));
	counters = tp_counters_create(cfg.n_workers + 1);
	lat = calloc(samples, sizeof(*lat));
	if (!counters || !lat || tp_runtime_open(&rt, &cfg, counters, &clock, err, sizeof(err)) ||
	    tp_runtime_start(&rt)) {
		fprintf(stderr, "runtime: %s\n", err);
		goto out;
	}
	if (xdp) {
		struct sockaddr_ll sll = {.sll_family = AF_PACKET,
					  .sll_ifindex = (int)if_nametoindex(argv[8])};

		raw = socket(AF_PACKET, SOCK_RAW, 0);
		if (raw < 0 || bind(raw, (struct sockaddr *)&sll, sizeof(sll))) {
			perror("raw socket");
			goto out;
		}
	}
	srand(42);
	for (unsigned i = 0; i < samples; i++) {
		uint64_t before = parsed(counters), t0;

		usleep(2000 + (unsigned)(rand() % 18000));
		t0 = now_ns();
		if (xdp) {
			if (send(raw, frame, sizeof(frame), 0) != (ssize_t)sizeof(frame)) {
				perror("send");
				goto out;
			}
		} else {
			struct rte_mbuf *m = rte_pktmbuf_alloc(rt.pool[0]);

			memcpy(rte_pktmbuf_append(m, sizeof(frame)), frame, sizeof(frame));
			/* net_ring: tx queue 0 of a port feeds its rx queue 0 */
			if (rte_eth_tx_burst(rt.port[TP_PORT_ZONE], 0, &m, 1) != 1) {
				rte_pktmbuf_free(m);
				fprintf(stderr, "ring full\n");
				goto out;
			}
		}
		while (parsed(counters) == before)
			;
		lat[i] = now_ns() - t0;
	}
	qsort(lat, samples, sizeof(*lat), cmp_u64);
	c0 = cpu_ns();
	w0 = now_ns();
	sleep(3);
	printf("| %-6s | %-5s | %6u | %8u | %8.1f | %8.1f | %8.1f | %5.2f |\n", argv[1], argv[2],
	       cap, polls, lat[samples / 2] / 1e3, lat[samples * 99 / 100] / 1e3,
	       lat[samples - 1] / 1e3, 100.0 * (double)(cpu_ns() - c0) / (double)(now_ns() - w0));
	status = 0;
out:
	if (raw >= 0)
		close(raw);
	tp_runtime_close(&rt);
	tp_counters_free(counters);
	free(lat);
	return status;
}
