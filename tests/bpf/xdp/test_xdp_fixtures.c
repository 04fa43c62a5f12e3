/* SPDX-License-Identifier: MIT */
/*
 * Packet fixtures for the XDP programs through BPF_PROG_TEST_RUN: each case
 * is an input frame, the verdict the program must return, and the one
 * counter that must move by exactly one (all others unchanged).
 *
 * Redirects: bpf_redirect_map() on an XSKMAP returns XDP_REDIRECT in a test
 * run only if the map holds a socket at the rx queue index (0 in test runs);
 * otherwise it returns the fallback action. So each redirect case runs twice:
 * with an AF_XDP socket in xsks_map (XDP_REDIRECT, counter "redirect*") and
 * without (XDP_DROP, counter "xsk_miss": fail closed). The socket is bound to
 * the loopback device of a private network namespace the test creates for
 * itself with unshare(), which disappears with the process.
 *
 * The kernel gets only ARP, link-scope ND/MLD and what is addressed to the
 * port's own addresses (no source route): the "never to the kernel" cases
 * are the clear packets a transit host or a zone host sends hoping the TP's
 * kernel forwards them (DESIGN.md §2.7).
 *
 * Needs root (label root).
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <xdp/xsk.h>

#include "model.h"
#include "pkt.h"
#include "tp/dp/xdp.h"

#define ZONE_CELL   1 /* local: 10.1.0.0/24, 2001:db8:1::/64 */
#define ZONE_SCADA  2 /* remote: 10.2.0.0/24, 2001:db8:2::/64 */
#define ZONE_SAFETY 3 /* remote: 10.3.0.0/24, no conduit from cell */
#define ZONE_VENDOR 5 /* remote: 10.1.0.128/26, carved out of cell */
#define MAX_REASONS 32
#define UMEM_FRAMES 64

static struct tp_xdp *zone, *transit;
static struct xsk_umem *umem;
static struct xsk_socket *xsk;
static void *umem_area;
static uint8_t buf[PKT_MAX];
static struct tp_prefix transit_addrs[3]; /* the transit port's own */

/* ---- fixtures ---- */

static struct tp_prefix pfx(const char *s)
{
	struct tp_prefix p;

	if (!tp_prefix_parse(s, &p))
		abort();
	return p;
}

/* The zone tables of the fixtures; scada/safety: whether cell may reach them. */
static const struct tp_xdp_zones *zones_desc(bool scada_allowed, bool safety_allowed)
{
	static struct tp_xdp_zone_prefix prefixes[6];
	static uint32_t local[] = {ZONE_CELL};
	static struct tp_xdp_zone_pair pairs[2];
	static struct tp_prefix addrs[2];
	static struct tp_xdp_zones z;

	prefixes[0] = (struct tp_xdp_zone_prefix){pfx("10.1.0.0/24"), ZONE_CELL};
	prefixes[1] = (struct tp_xdp_zone_prefix){pfx("2001:db8:1::/64"), ZONE_CELL};
	prefixes[2] = (struct tp_xdp_zone_prefix){pfx("10.2.0.0/24"), ZONE_SCADA};
	prefixes[3] = (struct tp_xdp_zone_prefix){pfx("2001:db8:2::/64"), ZONE_SCADA};
	prefixes[4] = (struct tp_xdp_zone_prefix){pfx("10.3.0.0/24"), ZONE_SAFETY};
	prefixes[5] = (struct tp_xdp_zone_prefix){pfx("10.1.0.128/26"), ZONE_VENDOR};
	addrs[0] = pfx("10.1.0.1");
	addrs[1] = pfx("2001:db8:1::1");
	z = (struct tp_xdp_zones){
		.prefixes = prefixes,
		.n_prefixes = 6,
		.local_zones = local,
		.n_local_zones = 1,
		.pairs = pairs,
		.local_addrs = addrs,
		.n_local_addrs = 2,
	};
	if (scada_allowed)
		pairs[z.n_pairs++] = (struct tp_xdp_zone_pair){ZONE_CELL, ZONE_SCADA};
	if (safety_allowed)
		pairs[z.n_pairs++] = (struct tp_xdp_zone_pair){ZONE_CELL, ZONE_SAFETY};
	return &z;
}

static int apply_zones(bool scada_allowed, bool safety_allowed)
{
	return tp_xdp_zones_apply(zone, zones_desc(scada_allowed, safety_allowed));
}

/* Transit settings with a handshake interval of an hour, so that the burst
 * is all a source gets during the test however slow the machine is; the
 * port's own addresses 192.0.2.1, 2001:db8:ff::1, fe80::1. */
static int configure_transit(void)
{
	struct tp_xdp_settings s;

	transit_addrs[0] = pfx("192.0.2.1");
	transit_addrs[1] = pfx("2001:db8:ff::1");
	transit_addrs[2] = pfx("fe80::1");
	tp_xdp_settings_default(&s);
	s.hs_interval_ns = 3600ULL * TP_XDP_NSEC_PER_SEC;
	return tp_xdp_configure(transit, &s) ?: tp_xdp_port_addrs_set(transit, transit_addrs, 3);
}

static int make_xsk(void)
{
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	static struct xsk_ring_prod fill, tx;
	static struct xsk_ring_cons comp, rx;
	size_t size = UMEM_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE;
	int err;

	umem_area = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (umem_area == MAP_FAILED) {
		umem_area = NULL;
		return -errno;
	}
	err = xsk_umem__create(&umem, umem_area, size, &fill, &comp, NULL);
	if (err)
		return err;
	return xsk_socket__create(&xsk, "lo", 0, umem, &rx, &tx, &cfg);
}

static void xsk_plug(struct tp_xdp *x, bool on)
{
	int fd = tp_xdp_map_fd(x, TP_XDP_MAP_XSKS);
	uint32_t key = 0;

	if (on) {
		int sfd = xsk_socket__fd(xsk);

		CU_ASSERT_EQUAL_FATAL(bpf_map_update_elem(fd, &key, &sfd, BPF_ANY), 0);
	} else {
		bpf_map_delete_elem(fd, &key);
	}
}

static int suite_init(void)
{
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};

	setrlimit(RLIMIT_MEMLOCK, &rl);
	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return -1;
	}
	if (system("ip link set lo up") != 0)
		return -1;
	zone = tp_xdp_load(TP_XDP_KIND_ZONE);
	transit = tp_xdp_load(TP_XDP_KIND_TRANSIT);
	if (!zone || !transit) {
		perror("tp_xdp_load");
		return -1;
	}
	if (apply_zones(true, false) || configure_transit()) {
		fprintf(stderr, "cannot fill the maps\n");
		return -1;
	}
	if (make_xsk()) {
		fprintf(stderr, "cannot create an AF_XDP socket on lo\n");
		return -1;
	}
	return 0;
}

static int suite_clean(void)
{
	if (xsk)
		xsk_socket__delete(xsk);
	if (umem)
		xsk_umem__delete(umem);
	if (umem_area)
		munmap(umem_area, UMEM_FRAMES * XSK_UMEM__DEFAULT_FRAME_SIZE);
	tp_xdp_close(zone);
	tp_xdp_close(transit);
	return 0;
}

/* ---- running a frame ---- */

static int run(struct tp_xdp *x, const uint8_t *pkt, size_t len, uint32_t *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(tp_xdp_prog_fd(x), &o);

	*verdict = o.retval;
	return err;
}

/* Runs pkt and checks the verdict and that exactly counter reason rose by 1. */
static void expect_at(struct tp_xdp *x, const uint8_t *pkt, size_t len, uint32_t verdict,
		      size_t reason, int line)
{
	enum tp_xdp_kind kind = tp_xdp_kind(x);
	size_t n = tp_xdp_counter_count(kind);
	uint64_t before[MAX_REASONS], after[MAX_REASONS];
	uint32_t got = 0;
	int err;

	CU_ASSERT_FATAL(n <= MAX_REASONS);
	CU_ASSERT_EQUAL_FATAL(tp_xdp_counters_read(x, before, n), (int)n);
	err = run(x, pkt, len, &got);
	CU_ASSERT_EQUAL(err, 0);
	CU_ASSERT_EQUAL_FATAL(tp_xdp_counters_read(x, after, n), (int)n);
	if (got != verdict)
		fprintf(stderr, "\n  line %d: verdict %u, expected %u\n", line, got, verdict);
	CU_ASSERT_EQUAL(got, verdict);
	for (size_t i = 0; i < n; i++) {
		uint64_t want = before[i] + (i == reason ? 1 : 0);

		if (after[i] != want)
			fprintf(stderr, "\n  line %d: counter %s moved by %lld, expected %d\n",
				line, tp_xdp_counter_name(kind, i),
				(long long)(after[i] - before[i]), i == reason);
		CU_ASSERT_EQUAL(after[i], want);
	}
}

#define EXPECT(x, len, verdict, reason) expect_at(x, buf, len, verdict, reason, __LINE__)

/* A redirect case: XDP_DROP + xsk_miss without a socket, XDP_REDIRECT with. */
static void expect_redirect_at(struct tp_xdp *x, size_t len, size_t ok_reason, size_t miss_reason,
			       int line)
{
	xsk_plug(x, false);
	expect_at(x, buf, len, XDP_DROP, miss_reason, line);
	xsk_plug(x, true);
	expect_at(x, buf, len, XDP_REDIRECT, ok_reason, line);
	xsk_plug(x, false);
}

#define EXPECT_ZONE_REDIRECT(len) \
	expect_redirect_at(zone, len, TP_XDP_ZONE_REDIRECT, TP_XDP_ZONE_XSK_MISS, __LINE__)
#define EXPECT_TRANSIT_REDIRECT(len, reason) \
	expect_redirect_at(transit, len, reason, TP_XDP_TRANSIT_XSK_MISS, __LINE__)

static size_t tcp(const char *src, const char *dst, uint16_t dport)
{
	struct pkt_spec s = {
		.src = src, .dst = dst, .proto = IPPROTO_TCP, .sport = 40000, .dport = dport};

	return pkt_build(buf, &s);
}

static size_t udp(const char *src, const char *dst, uint16_t dport, const uint8_t *pl, size_t n)
{
	struct pkt_spec s = {.src = src,
			     .dst = dst,
			     .proto = IPPROTO_UDP,
			     .sport = 40000,
			     .dport = dport,
			     .payload = pl,
			     .payload_len = n};

	return pkt_build(buf, &s);
}

/* ---- zone port ---- */

static void test_zone_valid_pair(void)
{
	EXPECT_ZONE_REDIRECT(tcp("10.1.0.2", "10.2.0.5", 502));
	EXPECT_ZONE_REDIRECT(tcp("2001:db8:1::2", "2001:db8:2::5", 502));
	/* inside one zone: forwarded, not policed here */
	EXPECT_ZONE_REDIRECT(tcp("10.1.0.2", "10.1.0.3", 502));
}

static void test_zone_spoofed(void)
{
	EXPECT(zone, tcp("10.9.9.9", "10.2.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_SPOOFED);
	/* a remote zone's address as source on the zone port */
	EXPECT(zone, tcp("10.2.0.7", "10.1.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_SPOOFED);
	/* inside the local /24 but in the remote /26 carved out of it */
	EXPECT(zone, tcp("10.1.0.130", "10.2.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_SPOOFED);
	EXPECT(zone, tcp("2001:db8:9::1", "2001:db8:2::5", 502), XDP_DROP,
	       TP_XDP_ZONE_DROP_SPOOFED);
}

static void test_zone_no_conduit(void)
{
	EXPECT(zone, tcp("10.1.0.2", "10.3.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_NO_CONDUIT);
	EXPECT(zone, tcp("10.1.0.2", "10.1.0.131", 502), XDP_DROP, TP_XDP_ZONE_DROP_NO_CONDUIT);
	EXPECT(zone, tcp("10.1.0.2", "192.0.2.1", 502), XDP_DROP, TP_XDP_ZONE_DROP_NO_DST_ZONE);
	EXPECT(zone, tcp("2001:db8:1::2", "2001:db8:7::5", 502), XDP_DROP,
	       TP_XDP_ZONE_DROP_NO_DST_ZONE);
}

static void test_zone_to_kernel(void)
{
	struct pkt_spec ns = {.src = "fe80::2",
			      .dst = "ff02::1:ff00:1",
			      .proto = IPPROTO_ICMPV6,
			      .icmp_type = 135};
	struct pkt_spec mld = {.src = "fe80::2",
			       .dst = "ff02::16",
			       .proto = IPPROTO_ICMPV6,
			       .icmp_type = 143,
			       .v6_hopopts = true};
	struct pkt_spec opt = {
		.src = "10.1.0.2", .dst = "10.1.0.1", .proto = IPPROTO_TCP, .dport = 22, .ihl = 6};
	struct pkt_spec rh = {.src = "2001:db8:1::2",
			      .dst = "2001:db8:1::1",
			      .proto = IPPROTO_TCP,
			      .dport = 22,
			      .v6_routing = true};

	EXPECT(zone, pkt_build_arp(buf), XDP_PASS, TP_XDP_ZONE_PASS_ARP);
	EXPECT(zone, pkt_build(buf, &ns), XDP_PASS, TP_XDP_ZONE_PASS_ND);
	/* neighbour advertisement to the TP's global address: for the TP */
	ns.src = "2001:db8:1::2";
	ns.dst = "2001:db8:1::1";
	ns.icmp_type = 136;
	EXPECT(zone, pkt_build(buf, &ns), XDP_PASS, TP_XDP_ZONE_PASS_TO_TP);
	EXPECT(zone, pkt_build(buf, &mld), XDP_PASS, TP_XDP_ZONE_PASS_ND);
	/* management traffic to the TP, even from an address in no zone */
	EXPECT(zone, tcp("10.1.0.2", "10.1.0.1", 22), XDP_PASS, TP_XDP_ZONE_PASS_TO_TP);
	EXPECT(zone, tcp("10.9.9.9", "10.1.0.1", 22), XDP_PASS, TP_XDP_ZONE_PASS_TO_TP);
	EXPECT(zone, tcp("2001:db8:1::2", "2001:db8:1::1", 22), XDP_PASS, TP_XDP_ZONE_PASS_TO_TP);
	/* ... but not with a source route the kernel could follow onwards */
	EXPECT(zone, pkt_build(buf, &opt), XDP_DROP, TP_XDP_ZONE_DROP_IP_OPTIONS);
	EXPECT(zone, pkt_build(buf, &rh), XDP_DROP, TP_XDP_ZONE_DROP_IP_OPTIONS);
}

/* What a zone host sends hoping the TP's kernel carries it: never to the
 * kernel, whatever the host's forwarding settings. */
static void test_zone_never_to_kernel(void)
{
	struct pkt_spec nd_out = {.src = "2001:db8:1::2",
				  .dst = "2001:db8:2::5",
				  .proto = IPPROTO_ICMPV6,
				  .icmp_type = 135};
	struct pkt_spec dhcp = {.src = "0.0.0.0",
				.dst = "255.255.255.255",
				.proto = IPPROTO_UDP,
				.sport = 68,
				.dport = 67};

	/* the TP's transit address is not an address of this port */
	EXPECT(zone, tcp("10.1.0.2", "192.0.2.1", 22), XDP_DROP, TP_XDP_ZONE_DROP_NO_DST_ZONE);
	/* a transit host, a zone without conduit: dataplane rules, not routing */
	EXPECT(zone, tcp("10.1.0.2", "198.51.100.7", 22), XDP_DROP, TP_XDP_ZONE_DROP_NO_DST_ZONE);
	EXPECT(zone, tcp("10.1.0.2", "10.3.0.5", 22), XDP_DROP, TP_XDP_ZONE_DROP_NO_CONDUIT);
	/* ND towards another zone's host (hop limit 255: forwardable) is
	 * ordinary traffic; from a link-local source it is in no zone */
	EXPECT_ZONE_REDIRECT(pkt_build(buf, &nd_out));
	nd_out.src = "fe80::2";
	EXPECT(zone, pkt_build(buf, &nd_out), XDP_DROP, TP_XDP_ZONE_DROP_SPOOFED);
	/* MLD types with hop limit 255 to a global group: not MLD the kernel needs */
	nd_out.src = "2001:db8:1::2";
	nd_out.dst = "ff0e::1";
	nd_out.icmp_type = 131;
	nd_out.ttl = 255;
	EXPECT(zone, pkt_build(buf, &nd_out), XDP_DROP, TP_XDP_ZONE_DROP_LOCAL_SCOPE);
	/* ND to a link-scope address behind a routing header: the kernel
	 * would route it on to the header's next address (seg6/RPL/type 0
	 * when the host enables them); ND never carries one */
	nd_out.src = "fe80::2";
	nd_out.dst = "ff02::1:ff00:1";
	nd_out.icmp_type = 135;
	nd_out.v6_routing = true;
	EXPECT(zone, pkt_build(buf, &nd_out), XDP_DROP, TP_XDP_ZONE_DROP_LOCAL_SCOPE);
	nd_out.dst = "fe80::1";
	EXPECT(zone, pkt_build(buf, &nd_out), XDP_DROP, TP_XDP_ZONE_DROP_LOCAL_SCOPE);
	/* broadcast, multicast, link-local: never crosses zones, not the kernel's */
	EXPECT(zone, pkt_build(buf, &dhcp), XDP_DROP, TP_XDP_ZONE_DROP_LOCAL_SCOPE);
	EXPECT(zone, udp("10.1.0.2", "239.1.2.3", 2222, NULL, 0), XDP_DROP,
	       TP_XDP_ZONE_DROP_LOCAL_SCOPE);
	EXPECT(zone, udp("10.1.0.2", "169.254.0.9", 2222, NULL, 0), XDP_DROP,
	       TP_XDP_ZONE_DROP_LOCAL_SCOPE);
	EXPECT(zone, udp("2001:db8:1::2", "ff05::2", 2222, NULL, 0), XDP_DROP,
	       TP_XDP_ZONE_DROP_LOCAL_SCOPE);
	/* non-IP other than ARP: LLDP, a second VLAN tag */
	EXPECT(zone, pkt_build_ethertype(buf, 0x88cc, 0), XDP_DROP, TP_XDP_ZONE_DROP_NON_IP);
	EXPECT(zone, pkt_build_ethertype(buf, 0x8100, 42), XDP_DROP, TP_XDP_ZONE_DROP_NON_IP);
}

static void test_zone_vlan(void)
{
	struct pkt_spec s = {.src = "10.1.0.2",
			     .dst = "10.2.0.5",
			     .proto = IPPROTO_TCP,
			     .dport = 502,
			     .vlan = 42};

	EXPECT_ZONE_REDIRECT(pkt_build(buf, &s));
	s.dst = "10.3.0.5";
	EXPECT(zone, pkt_build(buf, &s), XDP_DROP, TP_XDP_ZONE_DROP_NO_CONDUIT);
	s.src = "2001:db8:1::2";
	s.dst = "2001:db8:2::5";
	EXPECT_ZONE_REDIRECT(pkt_build(buf, &s));
}

static void test_zone_truncated(void)
{
	struct pkt_spec vlan = {.src = "10.1.0.2", .dst = "10.2.0.5", .proto = 17, .vlan = 7};
	struct pkt_spec opt = {
		.src = "10.1.0.2", .dst = "10.2.0.5", .proto = IPPROTO_TCP, .dport = 502, .ihl = 8};
	struct pkt_spec hbh = {.src = "2001:db8:1::2",
			       .dst = "2001:db8:2::5",
			       .proto = IPPROTO_TCP,
			       .v6_hopopts = true};
	uint32_t verdict;
	size_t len;

	/* Ethernet: the kernel refuses test frames under 14 bytes itself */
	len = tcp("10.1.0.2", "10.2.0.5", 502);
	CU_ASSERT_EQUAL(run(zone, buf, 13, &verdict), -EINVAL);
	pkt_build(buf, &vlan);
	EXPECT(zone, 16, XDP_DROP, TP_XDP_ZONE_DROP_TRUNC_L2); /* tag cut */
	/* IPv4 header cut, options cut, total length beyond the frame */
	len = tcp("10.1.0.2", "10.2.0.5", 502);
	EXPECT(zone, 14, XDP_DROP, TP_XDP_ZONE_DROP_TRUNC_L3);
	EXPECT(zone, 14 + 19, XDP_DROP, TP_XDP_ZONE_DROP_TRUNC_L3);
	EXPECT(zone, len - 1, XDP_DROP, TP_XDP_ZONE_DROP_TRUNC_L3);
	pkt_build(buf, &opt);
	EXPECT(zone, 14 + 24, XDP_DROP, TP_XDP_ZONE_DROP_TRUNC_L3);
	/* TCP header cut: IP says 20 + 10 bytes */
	len = tcp("10.1.0.2", "10.2.0.5", 502);
	buf[14 + 3] = 30;
	EXPECT(zone, 14 + 30, XDP_DROP, TP_XDP_ZONE_DROP_TRUNC_L4);
	/* bad IPv4: IHL 4, or total length below the header */
	len = tcp("10.1.0.2", "10.2.0.5", 502);
	buf[14] = 0x44;
	EXPECT(zone, len, XDP_DROP, TP_XDP_ZONE_DROP_BAD_L3);
	len = tcp("10.1.0.2", "10.2.0.5", 502);
	buf[14 + 3] = 10;
	EXPECT(zone, len, XDP_DROP, TP_XDP_ZONE_DROP_BAD_L3);
	/* IPv6 header cut, extension header cut, L4 cut */
	len = tcp("2001:db8:1::2", "2001:db8:2::5", 502);
	EXPECT(zone, 14 + 39, XDP_DROP, TP_XDP_ZONE_DROP_TRUNC_L3);
	EXPECT(zone, len - 1, XDP_DROP, TP_XDP_ZONE_DROP_TRUNC_L3);
	len = pkt_build(buf, &hbh);
	EXPECT_ZONE_REDIRECT(len);
	buf[14 + 5] = 8 + 10; /* payload: HBH + 10 bytes of TCP */
	EXPECT(zone, 14 + 40 + 18, XDP_DROP, TP_XDP_ZONE_DROP_TRUNC_L4);
	buf[14 + 5] = 4; /* payload shorter than the HBH header */
	EXPECT(zone, 14 + 40 + 4, XDP_DROP, TP_XDP_ZONE_DROP_BAD_L3);
}

static void test_zone_padding_and_fragments(void)
{
	struct pkt_spec frag = {.src = "10.1.0.2",
				.dst = "10.2.0.5",
				.proto = IPPROTO_TCP,
				.later_fragment = true,
				.payload = (const uint8_t *)"abcd",
				.payload_len = 4};
	size_t len;

	/* a 54-byte frame padded to the Ethernet minimum of 60 */
	len = tcp("10.1.0.2", "10.2.0.5", 502);
	CU_ASSERT_EQUAL(len, 54);
	EXPECT_ZONE_REDIRECT(60);
	/* a later fragment has no L4 header; zones are all that matter here */
	EXPECT_ZONE_REDIRECT(pkt_build(buf, &frag));
	frag.dst = "10.3.0.5";
	EXPECT(zone, pkt_build(buf, &frag), XDP_DROP, TP_XDP_ZONE_DROP_NO_CONDUIT);
}

static void test_zone_swap(void)
{
	struct tp_xdp_zone_prefix dup[] = {
		{pfx("10.1.0.0/24"), ZONE_CELL},
		{pfx("10.1.0.0/24"), ZONE_SCADA}, /* same prefix, two zones */
	};
	struct tp_xdp_zones bad = {.prefixes = dup, .n_prefixes = 2};
	struct tp_xdp_gen g0, g1;
	int gen_fd = tp_xdp_map_fd(zone, TP_XDP_MAP_ZONE_GEN);
	uint32_t zero = 0, n = 0;
	struct tp_xdp_pair_key k, *prev = NULL;

	CU_ASSERT_EQUAL(bpf_map_lookup_elem(gen_fd, &zero, &g0), 0);
	CU_ASSERT_EQUAL(apply_zones(false, true), 0);
	CU_ASSERT_EQUAL(bpf_map_lookup_elem(gen_fd, &zero, &g1), 0);
	CU_ASSERT_EQUAL(g1.gen, g0.gen ^ 1);
	EXPECT(zone, tcp("10.1.0.2", "10.2.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_NO_CONDUIT);
	EXPECT_ZONE_REDIRECT(tcp("10.1.0.2", "10.3.0.5", 502));
	/* the old generation is gone: exactly one pair entry left */
	while (bpf_map_get_next_key(tp_xdp_map_fd(zone, TP_XDP_MAP_PAIRS), prev, &k) == 0) {
		CU_ASSERT_EQUAL(k.gen, g1.gen);
		n++;
		prev = &k;
	}
	CU_ASSERT_EQUAL(n, 1);

	/* a refused update leaves the running tables alone */
	CU_ASSERT_EQUAL(tp_xdp_zones_apply(zone, &bad), -EINVAL);
	CU_ASSERT_EQUAL(tp_xdp_zones_apply(transit, &bad), -EINVAL);
	CU_ASSERT_EQUAL(bpf_map_lookup_elem(gen_fd, &zero, &g0), 0);
	CU_ASSERT_EQUAL(g0.gen, g1.gen);
	EXPECT_ZONE_REDIRECT(tcp("10.1.0.2", "10.3.0.5", 502));

	CU_ASSERT_EQUAL(apply_zones(true, false), 0);
	EXPECT_ZONE_REDIRECT(tcp("10.1.0.2", "10.2.0.5", 502));
	EXPECT(zone, tcp("10.1.0.2", "10.3.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_NO_CONDUIT);
}

static void test_zone_flags(void)
{
	struct tp_xdp_settings s;

	tp_xdp_settings_default(&s);
	s.flags = TP_XDP_F_ZONE_PAIR; /* anti-spoof off */
	CU_ASSERT_EQUAL(tp_xdp_configure(zone, &s), 0);
	EXPECT_ZONE_REDIRECT(tcp("10.9.9.9", "10.2.0.5", 502));
	s.flags = TP_XDP_F_ANTISPOOF; /* pair gate off */
	CU_ASSERT_EQUAL(tp_xdp_configure(zone, &s), 0);
	EXPECT(zone, tcp("10.1.0.2", "10.3.0.5", 502), XDP_DROP, TP_XDP_ZONE_XSK_MISS);
	/* the retired "no socket: pass to the kernel" flag is refused */
	s.flags = TP_XDP_F_ANTISPOOF | (1u << 3);
	CU_ASSERT_EQUAL(tp_xdp_configure(zone, &s), -EINVAL);
	EXPECT(zone, tcp("10.9.9.9", "10.2.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_SPOOFED);
	s.flags = 1u << 30;
	CU_ASSERT_EQUAL(tp_xdp_configure(zone, &s), -EINVAL);
	tp_xdp_settings_default(&s);
	CU_ASSERT_EQUAL(tp_xdp_configure(zone, &s), 0);
	EXPECT(zone, tcp("10.9.9.9", "10.2.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_SPOOFED);
}

/* ---- transit port ---- */

static uint8_t msg[256];

static size_t wg(const char *src, uint8_t type, size_t n)
{
	pkt_wg_msg(msg, type, n);
	return udp(src, "192.0.2.1", TP_XDP_DEFAULT_TUNNEL_PORT, msg, n);
}

static void test_transit_tunnel(void)
{
	EXPECT_TRANSIT_REDIRECT(wg("198.51.100.7", 4, 32 + 16), TP_XDP_TRANSIT_REDIRECT_DATA);
	EXPECT_TRANSIT_REDIRECT(wg("198.51.100.7", 4, 32), TP_XDP_TRANSIT_REDIRECT_DATA);
	EXPECT_TRANSIT_REDIRECT(wg("198.51.100.7", 3, 64), TP_XDP_TRANSIT_REDIRECT_COOKIE);
	pkt_wg_msg(msg, 4, 48);
	EXPECT_TRANSIT_REDIRECT(
		udp("2001:db8:ff::7", "2001:db8:ff::1", TP_XDP_DEFAULT_TUNNEL_PORT, msg, 48),
		TP_XDP_TRANSIT_REDIRECT_DATA);
}

static void test_transit_to_kernel(void)
{
	struct pkt_spec frag = {.src = "198.51.100.7",
				.dst = "192.0.2.1",
				.proto = IPPROTO_UDP,
				.dport = TP_XDP_DEFAULT_TUNNEL_PORT,
				.more_fragments = true};
	struct pkt_spec ping = {
		.src = "198.51.100.7", .dst = "192.0.2.1", .proto = IPPROTO_ICMP, .icmp_type = 8};
	struct pkt_spec ns = {.src = "fe80::7",
			      .dst = "ff02::1:ff00:1",
			      .proto = IPPROTO_ICMPV6,
			      .icmp_type = 135};
	struct pkt_spec mld = {.src = "fe80::7",
			       .dst = "ff02::16",
			       .proto = IPPROTO_ICMPV6,
			       .icmp_type = 143,
			       .v6_hopopts = true};

	EXPECT(transit, udp("198.51.100.7", "192.0.2.1", 53, NULL, 0), XDP_PASS,
	       TP_XDP_TRANSIT_PASS_OTHER_UDP);
	EXPECT(transit, tcp("198.51.100.7", "192.0.2.1", 22), XDP_PASS,
	       TP_XDP_TRANSIT_PASS_NOT_UDP);
	EXPECT(transit, tcp("2001:db8:ff::7", "2001:db8:ff::1", 22), XDP_PASS,
	       TP_XDP_TRANSIT_PASS_NOT_UDP);
	EXPECT(transit, tcp("fe80::7", "fe80::1", 22), XDP_PASS, TP_XDP_TRANSIT_PASS_NOT_UDP);
	EXPECT(transit, pkt_build(buf, &ping), XDP_PASS, TP_XDP_TRANSIT_PASS_NOT_UDP);
	EXPECT(transit, pkt_build_arp(buf), XDP_PASS, TP_XDP_TRANSIT_PASS_ARP);
	EXPECT(transit, pkt_build(buf, &ns), XDP_PASS, TP_XDP_TRANSIT_PASS_ND);
	EXPECT(transit, pkt_build(buf, &mld), XDP_PASS, TP_XDP_TRANSIT_PASS_ND);
	ns.src = "2001:db8:ff::7"; /* NA to the port's global address */
	ns.dst = "2001:db8:ff::1";
	ns.icmp_type = 136;
	EXPECT(transit, pkt_build(buf, &ns), XDP_PASS, TP_XDP_TRANSIT_PASS_NOT_UDP);
	EXPECT(transit, pkt_build(buf, &frag), XDP_PASS, TP_XDP_TRANSIT_PASS_FRAGMENT);
}

/* Clear packets a transit host sends to zone addresses (or anywhere but the
 * port) hoping the TP's kernel routes them: never to the kernel. */
static void test_transit_never_to_kernel(void)
{
	struct pkt_spec frag = {.src = "198.51.100.7",
				.dst = "10.1.0.5",
				.proto = IPPROTO_UDP,
				.dport = 53,
				.more_fragments = true};
	struct pkt_spec ping = {
		.src = "198.51.100.7", .dst = "10.1.0.5", .proto = IPPROTO_ICMP, .icmp_type = 8};
	struct pkt_spec ns = {.src = "2001:db8:ff::7",
			      .dst = "2001:db8:1::5",
			      .proto = IPPROTO_ICMPV6,
			      .icmp_type = 135};
	struct pkt_spec opt = {.src = "198.51.100.7",
			       .dst = "192.0.2.1",
			       .proto = IPPROTO_TCP,
			       .dport = 22,
			       .ihl = 7};
	struct pkt_spec rh = {.src = "2001:db8:ff::7",
			      .dst = "2001:db8:ff::1",
			      .proto = IPPROTO_UDP,
			      .dport = 53,
			      .v6_routing = true};

	EXPECT(transit, tcp("198.51.100.7", "10.1.0.5", 502), XDP_DROP,
	       TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	EXPECT(transit, udp("198.51.100.7", "10.1.0.5", 53, NULL, 0), XDP_DROP,
	       TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	EXPECT(transit, pkt_build(buf, &ping), XDP_DROP, TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	EXPECT(transit, pkt_build(buf, &frag), XDP_DROP, TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	EXPECT(transit, tcp("2001:db8:ff::7", "2001:db8:1::5", 502), XDP_DROP,
	       TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	/* the TP's zone address is not an address of this port */
	EXPECT(transit, tcp("198.51.100.7", "10.1.0.1", 22), XDP_DROP,
	       TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	/* ND with hop limit 255 to a zone host: forwardable, not ND for us */
	EXPECT(transit, pkt_build(buf, &ns), XDP_DROP, TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	/* link-scope ND behind a routing header: routable onwards, dropped */
	ns.src = "fe80::7";
	ns.dst = "ff02::1:ff00:1";
	ns.v6_routing = true;
	EXPECT(transit, pkt_build(buf, &ns), XDP_DROP, TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	/* broadcast and multicast */
	EXPECT(transit, udp("198.51.100.7", "255.255.255.255", 67, NULL, 0), XDP_DROP,
	       TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	EXPECT(transit, udp("198.51.100.7", "224.0.0.5", 520, NULL, 0), XDP_DROP,
	       TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	/* to the port, but with a source route onwards */
	EXPECT(transit, pkt_build(buf, &opt), XDP_DROP, TP_XDP_TRANSIT_DROP_IP_OPTIONS);
	EXPECT(transit, pkt_build(buf, &rh), XDP_DROP, TP_XDP_TRANSIT_DROP_IP_OPTIONS);
	/* non-IP other than ARP */
	EXPECT(transit, pkt_build_ethertype(buf, 0x88cc, 0), XDP_DROP, TP_XDP_TRANSIT_DROP_NON_IP);
	/* with no address written (tpd not started yet), nothing is local */
	CU_ASSERT_EQUAL(tp_xdp_port_addrs_set(transit, NULL, 0), 0);
	EXPECT(transit, tcp("198.51.100.7", "192.0.2.1", 22), XDP_DROP,
	       TP_XDP_TRANSIT_DROP_NOT_LOCAL);
	EXPECT(transit, pkt_build_arp(buf), XDP_PASS, TP_XDP_TRANSIT_PASS_ARP);
	CU_ASSERT_EQUAL(configure_transit(), 0);
	EXPECT(transit, tcp("198.51.100.7", "192.0.2.1", 22), XDP_PASS,
	       TP_XDP_TRANSIT_PASS_NOT_UDP);
	CU_ASSERT_EQUAL(tp_xdp_port_addrs_set(zone, transit_addrs, 1), -EINVAL);
}

static void test_transit_bad(void)
{
	size_t len;

	EXPECT(transit, wg("198.51.100.7", 1, 147), XDP_DROP, TP_XDP_TRANSIT_DROP_BAD_MSG);
	EXPECT(transit, wg("198.51.100.7", 2, 93), XDP_DROP, TP_XDP_TRANSIT_DROP_BAD_MSG);
	EXPECT(transit, wg("198.51.100.7", 3, 65), XDP_DROP, TP_XDP_TRANSIT_DROP_BAD_MSG);
	EXPECT(transit, wg("198.51.100.7", 4, 31), XDP_DROP, TP_XDP_TRANSIT_DROP_BAD_MSG);
	EXPECT(transit, wg("198.51.100.7", 5, 64), XDP_DROP, TP_XDP_TRANSIT_DROP_BAD_MSG);
	EXPECT(transit, wg("198.51.100.7", 0, 64), XDP_DROP, TP_XDP_TRANSIT_DROP_BAD_MSG);
	len = wg("198.51.100.7", 4, 48);
	buf[14 + 20 + 8 + 2] = 1; /* reserved byte */
	EXPECT(transit, len, XDP_DROP, TP_XDP_TRANSIT_DROP_BAD_MSG);
	EXPECT(transit, wg("198.51.100.7", 4, 3), XDP_DROP, TP_XDP_TRANSIT_DROP_BAD_MSG);
	/* truncation at every layer */
	len = wg("198.51.100.7", 4, 48);
	EXPECT(transit, 14 + 10, XDP_DROP, TP_XDP_TRANSIT_DROP_TRUNC_L3);
	EXPECT(transit, len - 1, XDP_DROP, TP_XDP_TRANSIT_DROP_TRUNC_L3);
	buf[14 + 3] = 20 + 6; /* IP holds 6 bytes of UDP header */
	EXPECT(transit, 14 + 26, XDP_DROP, TP_XDP_TRANSIT_DROP_TRUNC_L4);
	len = wg("198.51.100.7", 4, 48);
	buf[14 + 20 + 5] = 200; /* UDP length beyond the IP datagram */
	EXPECT(transit, len, XDP_DROP, TP_XDP_TRANSIT_DROP_TRUNC_L4);
	len = wg("198.51.100.7", 4, 48);
	buf[14] = 0x35; /* version 3 */
	EXPECT(transit, len, XDP_DROP, TP_XDP_TRANSIT_DROP_BAD_L3);
	pkt_build_arp(buf);
	buf[12] = 0x81;
	buf[13] = 0x00;
	EXPECT(transit, 15, XDP_DROP, TP_XDP_TRANSIT_DROP_TRUNC_L2);
}

static void test_transit_handshake_flood(void)
{
	size_t len;

	xsk_plug(transit, true);
	/* initiations from one source: the burst of 5 passes, then no more */
	for (int i = 0; i < TP_XDP_DEFAULT_HS_BURST; i++)
		EXPECT(transit, wg("203.0.113.9", 1, 148), XDP_REDIRECT,
		       TP_XDP_TRANSIT_REDIRECT_HANDSHAKE);
	for (int i = 0; i < 20; i++)
		EXPECT(transit, wg("203.0.113.9", 1, 148), XDP_DROP,
		       TP_XDP_TRANSIT_DROP_HS_RATELIMIT);
	/* responses count against the same source */
	EXPECT(transit, wg("203.0.113.9", 2, 92), XDP_DROP, TP_XDP_TRANSIT_DROP_HS_RATELIMIT);
	/* data from the flooding source still flows; other sources unaffected */
	EXPECT(transit, wg("203.0.113.9", 4, 48), XDP_REDIRECT, TP_XDP_TRANSIT_REDIRECT_DATA);
	EXPECT(transit, wg("203.0.113.10", 2, 92), XDP_REDIRECT, TP_XDP_TRANSIT_REDIRECT_HANDSHAKE);
	/* IPv6: one bucket per /64 */
	pkt_wg_msg(msg, 1, 148);
	for (int i = 0; i < TP_XDP_DEFAULT_HS_BURST; i++) {
		char src[64];

		snprintf(src, sizeof(src), "2001:db8:66::%x", i + 1);
		len = udp(src, "2001:db8:ff::1", TP_XDP_DEFAULT_TUNNEL_PORT, msg, 148);
		EXPECT(transit, len, XDP_REDIRECT, TP_XDP_TRANSIT_REDIRECT_HANDSHAKE);
	}
	len = udp("2001:db8:66::beef", "2001:db8:ff::1", TP_XDP_DEFAULT_TUNNEL_PORT, msg, 148);
	EXPECT(transit, len, XDP_DROP, TP_XDP_TRANSIT_DROP_HS_RATELIMIT);
	len = udp("2001:db8:67::1", "2001:db8:ff::1", TP_XDP_DEFAULT_TUNNEL_PORT, msg, 148);
	EXPECT(transit, len, XDP_REDIRECT, TP_XDP_TRANSIT_REDIRECT_HANDSHAKE);
	xsk_plug(transit, false);
}

static void test_transit_port_config(void)
{
	struct tp_xdp_settings s;

	tp_xdp_settings_default(&s);
	s.tunnel_port = 4500;
	s.flags &= ~(uint32_t)TP_XDP_F_HS_RATELIMIT;
	CU_ASSERT_EQUAL(tp_xdp_configure(transit, &s), 0);
	EXPECT(transit, wg("198.51.100.7", 4, 48), XDP_PASS, TP_XDP_TRANSIT_PASS_OTHER_UDP);
	pkt_wg_msg(msg, 1, 148);
	xsk_plug(transit, true);
	for (int i = 0; i < 10; i++) {
		size_t len = udp("203.0.113.9", "192.0.2.1", 4500, msg, 148);

		EXPECT(transit, len, XDP_REDIRECT, TP_XDP_TRANSIT_REDIRECT_HANDSHAKE);
	}
	xsk_plug(transit, false);
	s.hs_burst = 0;
	CU_ASSERT_EQUAL(tp_xdp_configure(transit, &s), -EINVAL);
	CU_ASSERT_EQUAL(configure_transit(), 0);
}

/* Which counter moved by one (and none else); -1 if not exactly that. */
static int run_reason(struct tp_xdp *x, const uint8_t *pkt, size_t len, uint32_t *verdict)
{
	size_t n = tp_xdp_counter_count(tp_xdp_kind(x));
	uint64_t before[MAX_REASONS], after[MAX_REASONS];
	int moved = -1;

	if (tp_xdp_counters_read(x, before, n) != (int)n || run(x, pkt, len, verdict) ||
	    tp_xdp_counters_read(x, after, n) != (int)n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (after[i] == before[i])
			continue;
		if (after[i] != before[i] + 1 || moved >= 0)
			return -1;
		moved = (int)i;
	}
	return moved;
}

static void report(const char *prog, const uint8_t *pkt, size_t len, int got, unsigned want)
{
	fprintf(stderr, "\n  %s: counter %d, model %u, frame (%zu bytes):", prog, got, want, len);
	for (size_t i = 0; i < len && i < 96; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n    ", pkt[i]);
}

/* Both programs against the reference model (model.c) on random frames, with
 * a fixed seed so that a failure reproduces. */
static void test_random_vs_model(void)
{
	const struct tp_xdp_zones *z = zones_desc(true, false);
	struct tp_xdp_settings s;
	uint64_t rng = 0x7470626f6d6f64ULL;
	unsigned zone_hit = 0, transit_hit = 0;
	int bad = 0;

	tp_xdp_settings_default(&s);
	s.flags &= ~(uint32_t)TP_XDP_F_HS_RATELIMIT; /* the model is stateless */
	CU_ASSERT_EQUAL_FATAL(tp_xdp_configure(transit, &s), 0);
	for (int i = 0; i < 10000 && bad < 5; i++) {
		size_t len = pkt_random(buf, &rng);
		unsigned want = model_zone(buf, len, z, TP_XDP_DEFAULT_FLAGS);
		uint32_t verdict = ~0u;
		int got = run_reason(zone, buf, len, &verdict);

		zone_hit |= 1u << want;
		if (got != (int)want || verdict != model_zone_verdict(want, TP_XDP_DEFAULT_FLAGS)) {
			report("zone", buf, len, got, want);
			bad++;
		}
		want = model_transit(buf, len, TP_XDP_DEFAULT_TUNNEL_PORT, transit_addrs, 3);
		got = run_reason(transit, buf, len, &verdict);
		transit_hit |= 1u << want;
		if (got != (int)want || verdict != model_transit_verdict(want)) {
			report("transit", buf, len, got, want);
			bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* the generator reaches every reason the model can give */
	fprintf(stderr, "[reasons hit: zone %#x, transit %#x] ", zone_hit, transit_hit);
	CU_ASSERT_EQUAL(zone_hit, (1u << TP_XDP_ZONE_NR_REASONS) - 1 -
					  (1u << TP_XDP_ZONE_REDIRECT) -
					  (1u << TP_XDP_ZONE_DROP_OTHER_HOST));
	CU_ASSERT_EQUAL(transit_hit, (1u << TP_XDP_TRANSIT_NR_REASONS) - 1 -
					     (1u << TP_XDP_TRANSIT_REDIRECT_HANDSHAKE) -
					     (1u << TP_XDP_TRANSIT_REDIRECT_COOKIE) -
					     (1u << TP_XDP_TRANSIT_REDIRECT_DATA) -
					     (1u << TP_XDP_TRANSIT_DROP_HS_RATELIMIT) -
					     (1u << TP_XDP_TRANSIT_DROP_OTHER_HOST));
	CU_ASSERT_EQUAL(configure_transit(), 0);
}

/* The port is promiscuous under the PMD: unicast frames for other MACs are
 * dropped once the port's MAC is configured (a bridge or macvlan on the
 * port would otherwise carry them on). */
static void test_other_host(void)
{
	static const uint8_t ours[6] = {0x02, 0, 0, 0, 0, 0x01}; /* pkt.c's destination */
	struct tp_xdp_settings s;
	size_t len;

	tp_xdp_settings_default(&s);
	memcpy(s.mac, ours, 6);
	CU_ASSERT_EQUAL(tp_xdp_configure(zone, &s), 0);
	EXPECT_ZONE_REDIRECT(tcp("10.1.0.2", "10.2.0.5", 502));
	s.mac[5] = 0x77;
	CU_ASSERT_EQUAL(tp_xdp_configure(zone, &s), 0);
	EXPECT(zone, tcp("10.1.0.2", "10.2.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_OTHER_HOST);
	EXPECT(zone, tcp("10.9.9.9", "10.2.0.5", 502), XDP_DROP, TP_XDP_ZONE_DROP_OTHER_HOST);
	len = pkt_build_arp(buf);
	memset(buf, 0xff, 6); /* broadcast: for everyone */
	EXPECT(zone, len, XDP_PASS, TP_XDP_ZONE_PASS_ARP);
	len = tcp("10.1.0.2", "10.3.0.5", 502);
	buf[0] = 0x01; /* multicast MAC */
	EXPECT(zone, len, XDP_DROP, TP_XDP_ZONE_DROP_NO_CONDUIT);

	CU_ASSERT_EQUAL(tp_xdp_configure(transit, &s), 0);
	EXPECT(transit, wg("198.51.100.7", 4, 48), XDP_DROP, TP_XDP_TRANSIT_DROP_OTHER_HOST);
	memcpy(s.mac, ours, 6);
	CU_ASSERT_EQUAL(tp_xdp_configure(transit, &s), 0);
	EXPECT_TRANSIT_REDIRECT(wg("198.51.100.7", 4, 48), TP_XDP_TRANSIT_REDIRECT_DATA);

	tp_xdp_settings_default(&s);
	CU_ASSERT_EQUAL(tp_xdp_configure(zone, &s), 0);
	CU_ASSERT_EQUAL(configure_transit(), 0);
}

static void test_lib_misc(void)
{
	CU_ASSERT_STRING_EQUAL(tp_xdp_counter_name(TP_XDP_KIND_ZONE, TP_XDP_ZONE_DROP_SPOOFED),
			       "drop_spoofed");
	CU_ASSERT_PTR_NULL(tp_xdp_counter_name(TP_XDP_KIND_ZONE, TP_XDP_ZONE_NR_REASONS));
	CU_ASSERT_EQUAL(tp_xdp_map_fd(transit, TP_XDP_MAP_ZONE4), -ENOENT);
	CU_ASSERT_PTR_NULL(tp_xdp_open((int)if_nametoindex("lo"), TP_XDP_KIND_ZONE));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(tp_xdp_obj_path(TP_XDP_KIND_TRANSIT), "transit.bpf.o"));
}

/* Attach to lo of the private namespace and find the maps again by ifindex,
 * the way tpd finds the program the PMD attached. */
static void test_open_attached(void)
{
	int lo = (int)if_nametoindex("lo");
	struct tp_xdp *z;
	uint64_t c[MAX_REASONS];

	CU_ASSERT_EQUAL_FATAL(tp_xdp_attach(zone, lo, XDP_FLAGS_SKB_MODE), 0);
	z = tp_xdp_open(lo, TP_XDP_KIND_ZONE);
	CU_ASSERT_PTR_NOT_NULL(z);
	CU_ASSERT_PTR_NULL(tp_xdp_open(lo, TP_XDP_KIND_TRANSIT));
	CU_ASSERT_EQUAL(errno, EPROTO);
	if (z) {
		CU_ASSERT_EQUAL(tp_xdp_counters_read(z, c, TP_XDP_ZONE_NR_REASONS),
				TP_XDP_ZONE_NR_REASONS);
		CU_ASSERT(c[TP_XDP_ZONE_DROP_SPOOFED] > 0); /* same maps as the loaded handle */
		CU_ASSERT_EQUAL(apply_zones(true, false), 0);
		tp_xdp_close(z);
	}
	CU_ASSERT_EQUAL(tp_xdp_detach(lo, XDP_FLAGS_SKB_MODE), 0);
}

int main(void)
{
	CU_pSuite s;
	int fails;

	if (geteuid() != 0) {
		fprintf(stderr, "test_xdp_fixtures needs root\n");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("xdp_fixtures", suite_init, suite_clean);
	CU_add_test(s, "zone: valid pair", test_zone_valid_pair);
	CU_add_test(s, "zone: spoofed source", test_zone_spoofed);
	CU_add_test(s, "zone: no conduit / no zone", test_zone_no_conduit);
	CU_add_test(s, "zone: ARP, ND, to TP", test_zone_to_kernel);
	CU_add_test(s, "zone: never to the kernel", test_zone_never_to_kernel);
	CU_add_test(s, "zone: VLAN", test_zone_vlan);
	CU_add_test(s, "zone: truncated at every layer", test_zone_truncated);
	CU_add_test(s, "zone: padding, fragments", test_zone_padding_and_fragments);
	CU_add_test(s, "zone: generation swap", test_zone_swap);
	CU_add_test(s, "zone: flags", test_zone_flags);
	CU_add_test(s, "transit: tunnel UDP", test_transit_tunnel);
	CU_add_test(s, "transit: to kernel", test_transit_to_kernel);
	CU_add_test(s, "transit: never to the kernel", test_transit_never_to_kernel);
	CU_add_test(s, "transit: malformed", test_transit_bad);
	CU_add_test(s, "transit: handshake flood", test_transit_handshake_flood);
	CU_add_test(s, "transit: port and flags", test_transit_port_config);
	CU_add_test(s, "both: random frames vs model", test_random_vs_model);
	CU_add_test(s, "both: unicast for another MAC", test_other_host);
	CU_add_test(s, "lib: names, errors", test_lib_misc);
	CU_add_test(s, "lib: open attached program", test_open_attached);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = (int)CU_get_number_of_failures() + (int)CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
