// SPDX-License-Identifier: MIT
/*
 * Parser cost per packet: tp_pkt_parse_eth() over a ring of 1024 frames
 * (so the branch predictor does not learn one packet), for IPv4/UDP at 64,
 * 512 and 1420 bytes, IPv6/TCP, IPv6 with three extension headers, and a
 * VLAN-tagged IPv4/TCP. Prints one markdown table row per shape.
 *
 *   bench_pkt_parse [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tp/dp/pkt.h"

#define RING 1024

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Build a frame of `size` bytes into f; returns its length. */
static size_t build(uint8_t *f, int shape, size_t size, unsigned salt)
{
	size_t l3 = 14, off;
	uint8_t *ip;

	memset(f, 0, size);
	if (shape == 5) { /* VLAN */
		put16(f + 12, 0x8100);
		put16(f + 14, 100);
		l3 = 18;
	}
	put16(f + l3 - 2, shape == 3 || shape == 4 ? 0x86dd : 0x0800);
	ip = f + l3;
	if (shape == 3 || shape == 4) {
		unsigned nh = 6;

		ip[0] = 0x60;
		ip[7] = 64;
		ip[8] = 0xfd, ip[23] = (uint8_t)salt;
		ip[24] = 0xfd, ip[39] = 7;
		off = 40;
		if (shape == 4) {
			ip[6] = 0; /* HBH → DSTOPTS → DSTOPTS → TCP */
			for (int i = 0; i < 3; i++) {
				ip[off] = i == 2 ? 6 : 60;
				off += 8;
			}
		} else {
			ip[6] = (uint8_t)nh;
		}
		put16(ip + 4, (unsigned)(size - l3 - 40));
	} else {
		uint32_t sum = 0;

		ip[0] = 0x45;
		put16(ip + 2, (unsigned)(size - l3));
		ip[8] = 64;
		ip[9] = shape == 5 ? 6 : 17;
		ip[12] = 10, ip[15] = (uint8_t)salt;
		ip[16] = 10, ip[19] = 7;
		for (int i = 0; i < 20; i += 2)
			sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		put16(ip + 10, ~sum & 0xffff);
		off = 20;
	}
	put16(ip + off, 40000 + salt);
	put16(ip + off + 2, 502);
	if ((shape >= 3)) {
		ip[off + 12] = 5 << 4;
		ip[off + 13] = 0x10;
	} else {
		put16(ip + off + 4, (unsigned)(size - l3 - off));
	}
	return size;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int shape;
		size_t size;
	} shapes[] = {
		{"IPv4/UDP 64 B", 0, 64},
		{"IPv4/UDP 512 B", 0, 512},
		{"IPv4/UDP 1420 B", 0, 1420},
		{"IPv6/TCP 1420 B", 3, 1420},
		{"IPv6 + 3 ext/TCP 1420 B", 4, 1420},
		{"VLAN IPv4/TCP 512 B", 5, 512},
	};
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000000ul;
	uint8_t *frames = malloc((size_t)RING * 1536);
	struct tp_pkt_info pi;

	if (!frames)
		return 1;
	printf("| packet | ns/packet | Mpps (one core) |\n|---|---|---|\n");
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		uint64_t t0, t1, ok = 0;

		for (unsigned i = 0; i < RING; i++)
			build(frames + (size_t)i * 1536, shapes[s].shape, shapes[s].size, i);
		t0 = now_ns();
		for (unsigned long i = 0; i < iters; i++)
			ok += tp_pkt_parse_eth(frames + (i % RING) * 1536, shapes[s].size, &pi) ==
			      TP_PKT_OK;
		t1 = now_ns();
		if (ok != iters) {
			fprintf(stderr, "%s: %llu of %lu parsed\n", shapes[s].name,
				(unsigned long long)ok, iters);
			return 1;
		}
		printf("| %s | %.1f | %.1f |\n", shapes[s].name, (double)(t1 - t0) / (double)iters,
		       (double)iters * 1e3 / (double)(t1 - t0));
	}
	free(frames);
	return 0;
}
