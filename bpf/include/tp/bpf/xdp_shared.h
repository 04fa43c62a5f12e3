/* SPDX-License-Identifier: MIT */
/*
 * What the XDP programs of bpf/xdp/ and their userspace side (dataplane/xdp,
 * library tp_xdp) agree on: map names, key and value layouts, the
 * configuration record and the per-reason counters. Included by BPF C
 * (clang -target bpf) and by ordinary C, so it only uses <linux/types.h>.
 *
 * Two programs, one object file each (DPDK's net_af_xdp PMD loads the first
 * program of the object named by its xdp_prog= devarg):
 *
 *   zone.bpf.o     tp_xdp_zone     on a zone port: anti-spoof, zone-pair gate
 *   transit.bpf.o  tp_xdp_transit  on the transit port: tunnel UDP only,
 *                                  handshake rate limit per source
 *
 * Neither ever hands the kernel a packet it could forward to the other port
 * (DESIGN.md §2.7): the kernel gets ARP, link-scope ND/MLD and what is
 * addressed to the port's own addresses without a source route; everything
 * else is the dataplane's or dropped, whatever the host's forwarding
 * settings.
 *
 * Both redirect what the dataplane must see to the XSKMAP named "xsks_map"
 * (the name the PMD looks up), keyed by rx queue index.
 *
 * Zone tables are double-buffered by generation: every key of the zone maps
 * carries a generation (0 or 1) and the program reads the active generation
 * once per packet from TP_XDP_MAP_ZONE_GEN, so one packet sees one complete
 * table set. Userspace fills the inactive generation, then flips. See
 * dataplane/xdp/xdp.c for the update protocol.
 */
#ifndef TP_BPF_XDP_SHARED_H
#define TP_BPF_XDP_SHARED_H

#include <linux/types.h>

/* Map names as the loader sees them (at most 15 characters). */
#define TP_XDP_MAP_XSKS	      "xsks_map"
#define TP_XDP_MAP_CONFIG     "tp_config"
#define TP_XDP_MAP_COUNTERS   "tp_counters"
#define TP_XDP_MAP_ZONE_GEN   "zone_gen"
#define TP_XDP_MAP_ZONE4      "zone_lpm4"
#define TP_XDP_MAP_ZONE6      "zone_lpm6"
#define TP_XDP_MAP_PAIRS      "zone_pairs"
#define TP_XDP_MAP_LOCAL      "local_addrs"
#define TP_XDP_MAP_HS_RL      "hs_ratelimit"
#define TP_XDP_MAP_PORT_ADDRS "port_addrs"

/* Program names (function names in the objects). */
#define TP_XDP_PROG_ZONE    "tp_xdp_zone"
#define TP_XDP_PROG_TRANSIT "tp_xdp_transit"

/*
 * Capacities. Zone maps hold two generations at once, so each table can take
 * half its map size per policy. The XSKMAP covers the queues of one port.
 */
#define TP_XDP_MAX_QUEUES	    64
#define TP_XDP_MAX_PREFIXES_PER_GEN 8192 /* per address family */
#define TP_XDP_MAX_PAIRS_PER_GEN    16384
#define TP_XDP_MAX_LOCAL_PER_GEN    256
#define TP_XDP_HS_RL_ENTRIES	    8192 /* like WireGuard's ratelimiter cap */
#define TP_XDP_MAX_PORT_ADDRS	    64	 /* addresses of the transit port */

/*
 * Configuration: one record at index 0 of TP_XDP_MAP_CONFIG (an array map).
 * It is a map and not .rodata because the PMD loads the object itself from
 * the xdp_prog= path: nobody can set read-only data before that load, and a
 * map can also change at run time without reloading the program. A record
 * whose version is not TP_XDP_CONFIG_VERSION (an untouched map is all zero)
 * makes the program use the defaults below, which are the strict ones.
 */
#define TP_XDP_CONFIG_VERSION 1

enum tp_xdp_flag {
	TP_XDP_F_ANTISPOOF = 1u << 0,	 /* zone: drop sources not in a local zone */
	TP_XDP_F_ZONE_PAIR = 1u << 1,	 /* zone: drop zone pairs without conduit */
	TP_XDP_F_HS_RATELIMIT = 1u << 2, /* transit: rate limit handshakes */
	/* 1u << 3 was "no socket on the queue: XDP_PASS": retired, a packet for
	 * the dataplane never falls through to the kernel's routing. */
};

#define TP_XDP_DEFAULT_FLAGS	   (TP_XDP_F_ANTISPOOF | TP_XDP_F_ZONE_PAIR | TP_XDP_F_HS_RATELIMIT)
#define TP_XDP_DEFAULT_TUNNEL_PORT 51820
#define TP_XDP_DEFAULT_HS_PER_SEC  20 /* WireGuard's ratelimiter: 20/s, burst 5 */
#define TP_XDP_DEFAULT_HS_BURST	   5
#define TP_XDP_NSEC_PER_SEC	   1000000000ULL

struct tp_xdp_config {
	__u32 version;	   /* TP_XDP_CONFIG_VERSION */
	__u32 flags;	   /* enum tp_xdp_flag */
	__u16 tunnel_port; /* host byte order; 0: nothing is tunnel traffic */
	__u16 pad;
	__u32 hs_burst;	  /* handshakes a source may send back to back, >= 1 */
	__u64 hs_cost_ns; /* token cost of one handshake = 1 s / rate */
	__u8 mac[6];	  /* the port's MAC; all zero: no destination MAC check */
	__u16 pad2;
};

/*
 * Zone tables. An address's zone is its longest match over the prefixes of
 * ALL zones (DESIGN.md §7.1); the value says whether that zone is hosted
 * here. One trie per family rather than separate local/remote tries, so that
 * a remote /26 carved out of a local /24 is not taken for local.
 *
 * LPM keys: prefixlen counts the generation byte, i.e. 8 + prefix length.
 */
struct tp_xdp_lpm4_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 addr[4];
} __attribute__((packed));

struct tp_xdp_lpm6_key {
	__u32 prefixlen;
	__u8 gen;
	__u8 addr[16];
} __attribute__((packed));

#define TP_XDP_ZONE_LOCAL 1u /* tp_xdp_zone_val.flags: zone hosted by this TP */

struct tp_xdp_zone_val {
	__u32 zone;
	__u32 flags;
};

/* Zone pair with at least one conduit. Value: TP_XDP_PAIR_ALLOWED. */
struct tp_xdp_pair_key {
	__u32 gen;
	__u32 src_zone;
	__u32 dst_zone;
};

#define TP_XDP_PAIR_ALLOWED 1u

/* An address of the TP itself on the zone port (family 4 or 6, IPv4 in
 * addr[0..3]). */
struct tp_xdp_local_key {
	__u8 gen;
	__u8 family;
	__u8 pad[2];
	__u8 addr[16];
};

/*
 * Index 0 of TP_XDP_MAP_ZONE_GEN. Only gen is read by the program; it is 0
 * or 1, so only its lowest byte ever changes and a reader can never see a
 * torn value. flip_ns (CLOCK_MONOTONIC of the writer) lets the next writer
 * wait out readers of the generation it is about to reuse.
 */
struct tp_xdp_gen {
	__u32 gen;
	__u32 pad;
	__u64 flip_ns;
};

/* An address of the transit port itself (TP_XDP_MAP_PORT_ADDRS, value 1):
 * family 4 or 6, IPv4 in addr[0..3], the rest zero. Written by tpd when it
 * takes the port; not generational (it changes only then). */
struct tp_xdp_addr_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

/* Handshake rate limiter: one token bucket per IPv4 address or IPv6 /64. */
struct tp_xdp_rl_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[8];
};

/*
 * Counters: a per-CPU array indexed by reason, summed by the reader. The
 * X-macros give the enum and the names userspace prints. "Source-routable":
 * IPv4 with options or IPv6 with a routing header, which a kernel could send
 * onwards although it is addressed to the TP.
 */
#define TP_XDP_ZONE_REASONS(X)                                                                    \
	X(ZONE_REDIRECT, "redirect")		     /* to AF_XDP: the dataplane decides */       \
	X(ZONE_XSK_MISS, "xsk_miss")		     /* no socket on this rx queue: dropped */    \
	X(ZONE_DROP_OTHER_HOST, "drop_other_host")   /* unicast to another MAC (promisc) */       \
	X(ZONE_PASS_ARP, "pass_arp")		     /* ARP to the kernel */                      \
	X(ZONE_PASS_ND, "pass_nd")		     /* link-scope ICMPv6 ND/MLD to the kernel */ \
	X(ZONE_PASS_TO_TP, "pass_to_tp")	     /* addressed to the TP itself */             \
	X(ZONE_DROP_LOCAL_SCOPE, "drop_local_scope") /* multicast, broadcast, link-local */       \
	X(ZONE_DROP_TRUNC_L2, "drop_trunc_l2")	     /* shorter than Ethernet (+VLAN) */          \
	X(ZONE_DROP_TRUNC_L3, "drop_trunc_l3")	     /* IP header (or ext header) cut */          \
	X(ZONE_DROP_TRUNC_L4, "drop_trunc_l4")	     /* TCP/UDP/ICMP header cut */                \
	X(ZONE_DROP_BAD_L3, "drop_bad_l3")	     /* bad version, IHL or length */             \
	X(ZONE_DROP_SPOOFED, "drop_spoofed")	     /* source not in a local zone */             \
	X(ZONE_DROP_NO_DST_ZONE, "drop_no_dst_zone") /* destination in no zone */                 \
	X(ZONE_DROP_NO_CONDUIT, "drop_no_conduit")   /* zone pair without any conduit */          \
	X(ZONE_DROP_NON_IP, "drop_non_ip")	     /* neither IP nor ARP */                     \
	X(ZONE_DROP_IP_OPTIONS, "drop_ip_options")   /* to the TP, source-routable */

#define TP_XDP_TRANSIT_REASONS(X)                                                                 \
	X(TRANSIT_REDIRECT_HANDSHAKE, "redirect_handshake") /* types 1, 2 */                      \
	X(TRANSIT_REDIRECT_COOKIE, "redirect_cookie")	    /* type 3 */                          \
	X(TRANSIT_REDIRECT_DATA, "redirect_data")	    /* type 4 */                          \
	X(TRANSIT_XSK_MISS, "xsk_miss")			    /* no socket on this rx queue */      \
	X(TRANSIT_DROP_OTHER_HOST, "drop_other_host")	    /* unicast to another MAC */          \
	X(TRANSIT_PASS_ARP, "pass_arp")			    /* ARP to the kernel */               \
	X(TRANSIT_PASS_NOT_UDP, "pass_not_udp")		    /* to the TP: ICMP, TCP (SSH), ... */ \
	X(TRANSIT_PASS_OTHER_UDP, "pass_other_udp")	    /* to the TP: UDP to another port */  \
	X(TRANSIT_PASS_FRAGMENT, "pass_fragment") /* to the TP: the kernel reassembles */         \
	X(TRANSIT_DROP_TRUNC_L2, "drop_trunc_l2")                                                 \
	X(TRANSIT_DROP_TRUNC_L3, "drop_trunc_l3")                                                 \
	X(TRANSIT_DROP_TRUNC_L4, "drop_trunc_l4")                                                 \
	X(TRANSIT_DROP_BAD_L3, "drop_bad_l3")                                                     \
	X(TRANSIT_DROP_BAD_MSG, "drop_bad_msg")		  /* not a WireGuard message type/size */ \
	X(TRANSIT_DROP_HS_RATELIMIT, "drop_hs_ratelimit") /* handshake over the source's rate */  \
	X(TRANSIT_PASS_ND, "pass_nd")			  /* link-scope ICMPv6 ND/MLD */          \
	X(TRANSIT_DROP_NON_IP, "drop_non_ip")		  /* neither IP nor ARP */                \
	X(TRANSIT_DROP_NOT_LOCAL, "drop_not_local")	  /* not tunnel, not for the TP */        \
	X(TRANSIT_DROP_IP_OPTIONS, "drop_ip_options")	  /* to the TP, source-routable */

#define TP_XDP_REASON_ENUM(id, name) TP_XDP_##id,

enum tp_xdp_zone_reason { TP_XDP_ZONE_REASONS(TP_XDP_REASON_ENUM) TP_XDP_ZONE_NR_REASONS };
enum tp_xdp_transit_reason { TP_XDP_TRANSIT_REASONS(TP_XDP_REASON_ENUM) TP_XDP_TRANSIT_NR_REASONS };

#endif /* TP_BPF_XDP_SHARED_H */
