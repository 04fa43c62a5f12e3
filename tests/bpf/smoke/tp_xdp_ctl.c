/* SPDX-License-Identifier: MIT */
/*
 * tp_xdp_ctl: drives the maps of the XDP program attached to an interface
 * through tp_xdp, for the AF_XDP smoke test and for poking at a lab by hand.
 *
 *   tp_xdp_ctl IFNAME zone|transit check
 *   tp_xdp_ctl IFNAME zone|transit counters
 *   tp_xdp_ctl IFNAME zone|transit config [port=N] [rate=N] [burst=N] [flags=N]
 *                                         [mac=XX:XX:XX:XX:XX:XX]
 *                                         [addr=ADDRESS ...] (transit: the
 *                                         port's own addresses)
 *   tp_xdp_ctl IFNAME zone apply [PREFIX=ZONE ...] [local=ZONE ...]
 *                                [pair=SRC:DST ...] [addr=ADDRESS ...]
 *
 * Exit status 0 on success, 1 on a usage error, 2 when the operation failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dp/xdp.h"

#define MAX_ITEMS 256

static int usage(void)
{
	fprintf(stderr, "usage: tp_xdp_ctl IFNAME zone|transit check|counters|config|apply ...\n");
	return 1;
}

static int cmd_counters(struct tp_xdp *x)
{
	enum tp_xdp_kind kind = tp_xdp_kind(x);
	size_t n = tp_xdp_counter_count(kind);
	uint64_t v[64];
	int err = tp_xdp_counters_read(x, v, n);

	if (err < 0) {
		fprintf(stderr, "tp_xdp_ctl: counters: %s\n", strerror(-err));
		return 2;
	}
	for (size_t i = 0; i < n; i++)
		printf("%s %" PRIu64 "\n", tp_xdp_counter_name(kind, i), v[i]);
	return 0;
}

static int cmd_config(struct tp_xdp *x, int argc, char **argv)
{
	static struct tp_prefix addrs[TP_XDP_MAX_PORT_ADDRS];
	struct tp_xdp_settings s;
	size_t n_addrs = 0;
	int err;

	tp_xdp_settings_default(&s);
	for (int i = 0; i < argc; i++) {
		unsigned long v;
		char *eq = strchr(argv[i], '='), *end;

		if (!eq)
			return usage();
		if (!strncmp(argv[i], "addr=", 5)) {
			if (n_addrs == TP_XDP_MAX_PORT_ADDRS ||
			    !tp_prefix_parse(eq + 1, &addrs[n_addrs++]))
				return usage();
			continue;
		}
		if (!strncmp(argv[i], "mac=", 4)) {
			unsigned m[6];

			if (sscanf(eq + 1, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
				   &m[5]) != 6)
				return usage();
			for (int j = 0; j < 6; j++)
				s.mac[j] = (uint8_t)m[j];
			continue;
		}
		v = strtoul(eq + 1, &end, 0);
		if (*end)
			return usage();
		if (!strncmp(argv[i], "port=", 5))
			s.tunnel_port = (uint16_t)v;
		else if (!strncmp(argv[i], "rate=", 5))
			s.hs_per_sec = (uint32_t)v;
		else if (!strncmp(argv[i], "burst=", 6))
			s.hs_burst = (uint32_t)v;
		else if (!strncmp(argv[i], "flags=", 6))
			s.flags = (uint32_t)v;
		else
			return usage();
	}
	err = tp_xdp_configure(x, &s);
	if (!err && n_addrs)
		err = tp_xdp_port_addrs_set(x, addrs, n_addrs);
	if (err) {
		fprintf(stderr, "tp_xdp_ctl: config: %s\n", strerror(-err));
		return 2;
	}
	return 0;
}

static int cmd_apply(struct tp_xdp *x, int argc, char **argv)
{
	static struct tp_xdp_zone_prefix prefixes[MAX_ITEMS];
	static struct tp_xdp_zone_pair pairs[MAX_ITEMS];
	static struct tp_prefix addrs[MAX_ITEMS];
	static uint32_t local[MAX_ITEMS];
	struct tp_xdp_zones z = {
		.prefixes = prefixes, .local_zones = local, .pairs = pairs, .local_addrs = addrs};
	int err;

	if (argc > MAX_ITEMS)
		return usage();
	for (int i = 0; i < argc; i++) {
		char *a = argv[i], *eq = strchr(a, '=');
		unsigned s, d;

		if (!eq)
			return usage();
		*eq = '\0';
		if (!strcmp(a, "local")) {
			local[z.n_local_zones++] = (uint32_t)strtoul(eq + 1, NULL, 0);
		} else if (!strcmp(a, "pair")) {
			if (sscanf(eq + 1, "%u:%u", &s, &d) != 2)
				return usage();
			pairs[z.n_pairs++] = (struct tp_xdp_zone_pair){s, d};
		} else if (!strcmp(a, "addr")) {
			if (!tp_prefix_parse(eq + 1, &addrs[z.n_local_addrs++]))
				return usage();
		} else {
			struct tp_xdp_zone_prefix *p = &prefixes[z.n_prefixes++];

			if (!tp_prefix_parse(a, &p->prefix))
				return usage();
			p->zone = (uint32_t)strtoul(eq + 1, NULL, 0);
		}
	}
	err = tp_xdp_zones_apply(x, &z);
	if (err) {
		fprintf(stderr, "tp_xdp_ctl: apply: %s\n", strerror(-err));
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum tp_xdp_kind kind;
	struct tp_xdp *x;
	int ifindex, rc;

	if (argc < 4)
		return usage();
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "tp_xdp_ctl: no interface %s\n", argv[1]);
		return 2;
	}
	if (!strcmp(argv[2], "zone"))
		kind = TP_XDP_KIND_ZONE;
	else if (!strcmp(argv[2], "transit"))
		kind = TP_XDP_KIND_TRANSIT;
	else
		return usage();
	x = tp_xdp_open(ifindex, kind);
	if (!x) {
		fprintf(stderr, "tp_xdp_ctl: %s: no %s program: %s\n", argv[1], argv[2],
			strerror(errno));
		return 2;
	}
	if (!strcmp(argv[3], "check"))
		rc = 0;
	else if (!strcmp(argv[3], "counters"))
		rc = cmd_counters(x);
	else if (!strcmp(argv[3], "config"))
		rc = cmd_config(x, argc - 4, argv + 4);
	else if (!strcmp(argv[3], "apply") && kind == TP_XDP_KIND_ZONE)
		rc = cmd_apply(x, argc - 4, argv + 4);
	else
		rc = usage();
	tp_xdp_close(x);
	return rc;
}
