/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes both XDP programs through BPF_PROG_TEST_RUN and checks them against
 * the reference model of tests/bpf/xdp/model.c: for every frame, the program
 * must count exactly the reason the model gives, exactly once, and return
 * the verdict that goes with it. A disagreement aborts (libFuzzer keeps the
 * frame). Needs root (BPF); tables as in the fixtures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "model.h"
#include "tp/dp/xdp.h"

#define MAX_FRAME   1514 /* larger frames go multi-buffer in test runs */
#define MAX_REASONS 32

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tp_xdp *zone, *transit;
static struct tp_xdp_zone_prefix prefixes[6];
static uint32_t local_zones[] = {1};
static struct tp_xdp_zone_pair pairs[] = {{1, 2}};
static struct tp_prefix addrs[2];
static struct tp_prefix transit_addrs[2]; /* the transit port's own */
static struct tp_xdp_zones tables = {
	.prefixes = prefixes,
	.n_prefixes = 6,
	.local_zones = local_zones,
	.n_local_zones = 1,
	.pairs = pairs,
	.n_pairs = 1,
	.local_addrs = addrs,
	.n_local_addrs = 2,
};

static void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_xdp_programs: %s failed (root needed)\n", what);
		exit(1);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const p[] = {"10.1.0.0/24",	   "2001:db8:1::/64", "10.2.0.0/24",
					"2001:db8:2::/64", "10.3.0.0/24",     "10.1.0.128/26"};
	static const uint32_t zones[] = {1, 1, 2, 2, 3, 5};
	struct tp_xdp_settings s;

	for (int i = 0; i < 6; i++) {
		must(tp_prefix_parse(p[i], &prefixes[i].prefix), "prefix");
		prefixes[i].zone = zones[i];
	}
	must(tp_prefix_parse("10.1.0.1", &addrs[0]), "address");
	must(tp_prefix_parse("2001:db8:1::1", &addrs[1]), "address");
	zone = tp_xdp_load(TP_XDP_KIND_ZONE);
	transit = tp_xdp_load(TP_XDP_KIND_TRANSIT);
	must(zone && transit, "tp_xdp_load");
	must(tp_xdp_zones_apply(zone, &tables) == 0, "tp_xdp_zones_apply");
	tp_xdp_settings_default(&s);
	s.flags &= ~(uint32_t)TP_XDP_F_HS_RATELIMIT; /* the model is stateless */
	must(tp_xdp_configure(transit, &s) == 0, "tp_xdp_configure");
	must(tp_prefix_parse("192.0.2.1", &transit_addrs[0]), "address");
	must(tp_prefix_parse("2001:db8:ff::1", &transit_addrs[1]), "address");
	must(tp_xdp_port_addrs_set(transit, transit_addrs, 2) == 0, "tp_xdp_port_addrs_set");
	return 0;
}

/* The single counter that moved by one, or -1. */
static int run(struct tp_xdp *x, const uint8_t *frame, size_t len, uint32_t *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)len,
		    .repeat = 1);
	size_t n = tp_xdp_counter_count(tp_xdp_kind(x));
	uint64_t before[MAX_REASONS], after[MAX_REASONS];
	int moved = -1;

	if (tp_xdp_counters_read(x, before, n) != (int)n ||
	    bpf_prog_test_run_opts(tp_xdp_prog_fd(x), &o) ||
	    tp_xdp_counters_read(x, after, n) != (int)n)
		abort();
	*verdict = o.retval;
	for (size_t i = 0; i < n; i++) {
		if (after[i] == before[i])
			continue;
		if (after[i] != before[i] + 1 || moved >= 0)
			return -1;
		moved = (int)i;
	}
	return moved;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t verdict;
	unsigned want;
	int got;

	if (size < 14 || size > MAX_FRAME)
		return 0; /* the kernel refuses test frames under 14 bytes */
	want = model_zone(data, size, &tables, TP_XDP_DEFAULT_FLAGS);
	got = run(zone, data, size, &verdict);
	if (got != (int)want || verdict != model_zone_verdict(want, TP_XDP_DEFAULT_FLAGS)) {
		fprintf(stderr, "zone: counter %d verdict %u, model %u\n", got, verdict, want);
		abort();
	}
	want = model_transit(data, size, TP_XDP_DEFAULT_TUNNEL_PORT, transit_addrs, 2);
	got = run(transit, data, size, &verdict);
	if (got != (int)want || verdict != model_transit_verdict(want)) {
		fprintf(stderr, "transit: counter %d verdict %u, model %u\n", got, verdict, want);
		abort();
	}
	return 0;
}
