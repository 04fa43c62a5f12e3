/* SPDX-License-Identifier: MIT */
/*
 * tp_xdp: userspace control of the XDP programs of bpf/xdp/ (zone port and
 * transit port) through libbpf.
 *
 * In XDP mode DPDK's net_af_xdp PMD loads and attaches the program itself
 * (devarg xdp_prog=PATH, PATH from tp_xdp_obj_path()). tpd then finds the
 * program attached to the port with tp_xdp_open() and drives its maps:
 * configuration, zone tables when the policy changes, counters. Tests load
 * the same object through its embedded skeleton with tp_xdp_load() and run
 * it with BPF_PROG_TEST_RUN.
 *
 * A struct tp_xdp owns file descriptors of the program and of its maps, not
 * the attachment: closing it leaves the program where it is. It is not
 * thread-safe; tpd's control thread is its only user. Needs CAP_BPF and
 * CAP_NET_ADMIN (in practice root).
 */
#ifndef TP_DP_XDP_H
#define TP_DP_XDP_H

#include <stddef.h>
#include <stdint.h>

#include "tp/policy/site.h"
#include "tp/bpf/xdp_shared.h"

enum tp_xdp_kind {
	TP_XDP_KIND_ZONE,
	TP_XDP_KIND_TRANSIT,
};

struct tp_xdp;

/* Path of the installed object for kind ("…/zone.bpf.o", "…/transit.bpf.o"),
 * for the PMD's xdp_prog= devarg. Static storage. */
const char *tp_xdp_obj_path(enum tp_xdp_kind kind);

/* Opens the maps of the program attached to ifindex (any XDP mode). NULL with
 * errno: ENOENT no program attached, EPROTO not our program of that kind or
 * maps of another layout (stale object). */
struct tp_xdp *tp_xdp_open(int ifindex, enum tp_xdp_kind kind);

/* Loads a fresh instance of the program from its skeleton, not attached.
 * NULL with errno on failure. */
struct tp_xdp *tp_xdp_load(enum tp_xdp_kind kind);

void tp_xdp_close(struct tp_xdp *x);

enum tp_xdp_kind tp_xdp_kind(const struct tp_xdp *x);
int tp_xdp_prog_fd(const struct tp_xdp *x);
/* Fd of the map named name (TP_XDP_MAP_*), owned by x; -ENOENT if absent. */
int tp_xdp_map_fd(const struct tp_xdp *x, const char *name);

/* Attaches the program to ifindex with XDP_FLAGS_* (e.g. XDP_FLAGS_DRV_MODE)
 * and detaches whatever program is on ifindex; for tests and tools, the PMD
 * does this itself in XDP mode. */
int tp_xdp_attach(struct tp_xdp *x, int ifindex, uint32_t xdp_flags);
int tp_xdp_detach(int ifindex, uint32_t xdp_flags);

/* Run-time settings, written as one configuration record. */
struct tp_xdp_settings {
	uint32_t flags;		 /* enum tp_xdp_flag */
	uint16_t tunnel_port;	 /* transit: UDP port of the tunnel, host order */
	uint32_t hs_per_sec;	 /* transit: handshakes per second per source */
	uint32_t hs_burst;	 /* transit: back-to-back handshakes, >= 1 */
	uint64_t hs_interval_ns; /* if non-zero, overrides hs_per_sec (1 s / rate) */
	uint8_t mac[6];		 /* the port's MAC: unicast frames for other MACs are
				  * dropped (promiscuous port); all zero: no check */
};

/* The defaults the programs use while no record is written. */
void tp_xdp_settings_default(struct tp_xdp_settings *s);
/* -EINVAL on a zero rate or burst or unknown flags. */
int tp_xdp_configure(struct tp_xdp *x, const struct tp_xdp_settings *s);

/*
 * The transit port's own addresses (prefix length ignored; link-local ones
 * too): the only destinations whose non-tunnel traffic the transit program
 * hands to the kernel. Replaces the set (added first, stale ones removed
 * after). -EINVAL on a zone program or a bad family, -ENOSPC above
 * TP_XDP_MAX_PORT_ADDRS.
 */
int tp_xdp_port_addrs_set(struct tp_xdp *x, const struct tp_prefix *addrs, size_t n);

/*
 * Zone tables of a zone port: prefixes of all zones, which zones this TP
 * hosts, the (source, destination) zone pairs a packet may cross in that
 * direction (a stateful conduit A->B needs B->A too, for its replies), and
 * the TP's own addresses on this port (prefix length ignored): the only
 * destinations the program hands to the kernel besides ARP/ND; zone ids are
 * the caller's.
 * tp_xdp_zones_from_site() (tp/dp/xdp_site.h) derives them from a site. With
 * no policy yet, apply just the TP's addresses: management traffic to the
 * TP then passes while all inter-zone traffic is dropped.
 */
struct tp_xdp_zone_prefix {
	struct tp_prefix prefix;
	uint32_t zone;
};

struct tp_xdp_zone_pair {
	uint32_t src_zone;
	uint32_t dst_zone;
};

struct tp_xdp_zones {
	const struct tp_xdp_zone_prefix *prefixes;
	size_t n_prefixes;
	const uint32_t *local_zones;
	size_t n_local_zones;
	const struct tp_xdp_zone_pair *pairs;
	size_t n_pairs;
	const struct tp_prefix *local_addrs;
	size_t n_local_addrs;
};

/*
 * Replaces the zone tables of a zone program as one unit: the new tables are
 * written under the inactive generation, then the generation flips, so every
 * packet is judged entirely by the old or entirely by the new tables. Then
 * it waits for an RCU grace period (membarrier) and deletes the old
 * generation. On error the running tables are untouched. -EINVAL for a bad
 * or duplicate prefix (same prefix in two zones) or a wrong kind, -ENOSPC
 * beyond the capacities in tp/bpf/xdp_shared.h.
 */
int tp_xdp_zones_apply(struct tp_xdp *x, const struct tp_xdp_zones *z);

/* The (source, destination) zone pairs the running generation of a zone
 * program passes, as the kernel holds them (what `tpctl export` reports,
 * not what tpd meant to write). Returns the count, -ENOSPC above max. */
int tp_xdp_pairs_read(const struct tp_xdp *x, struct tp_xdp_zone_pair *out, size_t max);

/* Counters: names in reason order, and the per-CPU values summed. */
size_t tp_xdp_counter_count(enum tp_xdp_kind kind);
const char *tp_xdp_counter_name(enum tp_xdp_kind kind, size_t reason);
/* Fills out[0..n) (n <= tp_xdp_counter_count); returns n or -errno. */
int tp_xdp_counters_read(const struct tp_xdp *x, uint64_t *out, size_t n);

#endif /* TP_DP_XDP_H */
