// SPDX-License-Identifier: MIT
/* rte_eal_init arguments from tpd.conf. No DPDK call here: testable. The
 * AF_XDP queue count asks the interface (ethtool channels), as the PMD does. */
#include "tp/dp/runtime.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static int add(struct tp_eal_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add(struct tp_eal_args *a, const char *fmt, ...)
{
	size_t room = sizeof(a->buf) - a->used;
	va_list ap;
	int n;

	if (a->argc == TP_EAL_ARGS_MAX)
		return -ENOSPC;
	va_start(ap, fmt);
	n = vsnprintf(a->buf + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -ENOSPC;
	a->argv[a->argc++] = a->buf + a->used;
	a->argv[a->argc] = NULL;
	a->used += (size_t)n + 1;
	return 0;
}

/* EAL lcore i+1 is worker i, lcore 0 the control thread; --lcores maps
 * each to its CPU, so the control thread may share a worker's CPU
 * (control_core_shared), which -l cannot express. */
static int add_cores(struct tp_eal_args *a, const struct tp_config *cfg)
{
	char list[512];
	size_t off;

	off = (size_t)snprintf(list, sizeof(list), "0@%u", cfg->control_core);
	for (unsigned i = 0; i < cfg->n_workers && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, ",%u@%u", i + 1,
					cfg->worker_cores[i]);
	if (off >= sizeof(list))
		return -ENOSPC;
	if (add(a, "--lcores") || add(a, "%s", list) || add(a, "--main-lcore") || add(a, "0"))
		return -ENOSPC;
	return 0;
}

unsigned tp_runtime_xdp_queues(const char *ifname, unsigned n)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr;
	unsigned have = 1;
	int fd;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ch.max_combined)
		have = ch.combined_count ? ch.combined_count : 1;
	if (fd >= 0)
		close(fd);
	return n < have ? n : have;
}

static int add_xdp_port(struct tp_eal_args *a, const char *role, const char *ifname,
			const char *prog, unsigned workers)
{
	unsigned queues = tp_runtime_xdp_queues(ifname, workers);

	/* busy_budget=0: the worker sleeps when idle (tp/dp/idle.h), so the
	 * kernel's preferred busy polling would only add latency. */
	if (prog[0])
		return add(a,
			   "net_af_xdp_%s,iface=%s,start_queue=0,queue_count=%u,busy_budget=0,"
			   "xdp_prog=%s",
			   role, ifname, queues, prog);
	return add(a, "net_af_xdp_%s,iface=%s,start_queue=0,queue_count=%u,busy_budget=0", role,
		   ifname, queues);
}

int tp_runtime_eal_args(const struct tp_config *cfg, const char *prog, struct tp_eal_args *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = add(out, "%s", prog);
	if (rc)
		goto out;
	rc = add_cores(out, cfg);
	if (rc)
		goto out;
	/* No hugepages on appliances and in tests; a file prefix per
	 * instance so several tpd share a machine. */
	if (add(out, "--no-huge") || add(out, "-m") || add(out, "%u", cfg->memory_mb) ||
	    add(out, "--file-prefix") || add(out, "tpd-%s", cfg->name)) {
		rc = -ENOSPC;
		goto out;
	}
	switch (cfg->mode) {
	case TP_MODE_MEMORY:
		rc = add(out, "--no-pci");
		rc = rc ?: add(out, "--vdev");
		rc = rc ?: add(out, "net_ring_zone");
		rc = rc ?: add(out, "--vdev");
		rc = rc ?: add(out, "net_ring_transit");
		break;
	case TP_MODE_XDP:
		rc = add(out, "--no-pci");
		rc = rc ?: add(out, "--vdev");
		rc = rc
			     ?: add_xdp_port(out, "zone", cfg->zone_if, cfg->zone_xdp_prog,
					     cfg->n_workers);
		rc = rc ?: add(out, "--vdev");
		rc = rc
			     ?: add_xdp_port(out, "transit", cfg->transit_if, cfg->transit_xdp_prog,
					     cfg->n_workers);
		break;
	case TP_MODE_DPDK:
		rc = add(out, "-a");
		rc = rc ?: add(out, "%s", cfg->zone_if);
		rc = rc ?: add(out, "-a");
		rc = rc ?: add(out, "%s", cfg->transit_if);
		break;
	}
	if (rc)
		goto out;
	/* EAL is chatty at info level; tpd prints its own one-line errors. */
	rc = add(out, "--log-level=lib.eal:warning");
out:
	return rc;
}

const char *tp_runtime_port_name(const struct tp_config *cfg, int role, char *buf, size_t len)
{
	const char *r = role == 0 ? "zone" : "transit";

	switch (cfg->mode) {
	case TP_MODE_MEMORY:
		snprintf(buf, len, "net_ring_%s", r);
		break;
	case TP_MODE_XDP:
		snprintf(buf, len, "net_af_xdp_%s", r);
		break;
	case TP_MODE_DPDK:
		snprintf(buf, len, "%s", role == 0 ? cfg->zone_if : cfg->transit_if);
		break;
	}
	return buf;
}
