/* SPDX-License-Identifier: MIT */
#include "model.h"

#include <linux/bpf.h>
#include <stdbool.h>
#include <string.h>

enum res { OK, NON_IP, TRUNC_L2, TRUNC_L3, BAD_L3, TRUNC_L4 };

struct parsed {
	unsigned ethertype; /* after at most one VLAN tag */
	unsigned ttl;	    /* TTL / hop limit */
	bool srcroute;	    /* IPv4 options, IPv6 routing header */
	int family;
	unsigned proto;
	bool fragment, later_frag;
	size_t l4_len;
	const uint8_t *l4; /* NULL: no L4 header looked at */
	uint8_t src[16], dst[16];
};

static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static size_t l4_min(unsigned proto)
{
	switch (proto) {
	case 6:
		return 20;
	case 17:
	case 1:
		return 8;
	case 58:
		return 4;
	default:
		return 0;
	}
}

static enum res parse(const uint8_t *f, size_t len, struct parsed *p)
{
	size_t off = 14, need;
	unsigned type;

	memset(p, 0, sizeof(*p));
	if (len < 14)
		return TRUNC_L2;
	type = be16(f + 12);
	if (type == 0x8100 || type == 0x88a8) {
		if (len < 18)
			return TRUNC_L2;
		type = be16(f + 16);
		off = 18;
	}
	p->ethertype = type;
	if (type == 0x0800) {
		size_t hlen, tot;
		unsigned frag;

		if (len < off + 20)
			return TRUNC_L3;
		if (f[off] >> 4 != 4 || (f[off] & 15) < 5)
			return BAD_L3;
		hlen = (size_t)(f[off] & 15) * 4;
		if (len < off + hlen)
			return TRUNC_L3;
		tot = be16(f + off + 2);
		if (tot < hlen)
			return BAD_L3;
		if (off + tot > len)
			return TRUNC_L3;
		frag = be16(f + off + 6);
		p->family = 4;
		p->proto = f[off + 9];
		p->fragment = (frag & 0x3fff) != 0;
		p->later_frag = (frag & 0x1fff) != 0;
		p->ttl = f[off + 8];
		p->srcroute = hlen > 20;
		p->l4_len = tot - hlen;
		memcpy(p->src, f + off + 12, 4);
		memcpy(p->dst, f + off + 16, 4);
		off += hlen;
	} else if (type == 0x86dd) {
		size_t left;
		unsigned next;

		if (len < off + 40)
			return TRUNC_L3;
		if (f[off] >> 4 != 6)
			return BAD_L3;
		left = be16(f + off + 4);
		if (off + 40 + left > len)
			return TRUNC_L3;
		next = f[off + 6];
		p->family = 6;
		p->ttl = f[off + 7];
		memcpy(p->src, f + off + 8, 16);
		memcpy(p->dst, f + off + 24, 16);
		off += 40;
		for (int i = 0; i < 6; i++) {
			size_t elen;

			if (next != 0 && next != 43 && next != 60 && next != 44 && next != 51)
				break;
			if (len < off + 4)
				return TRUNC_L3;
			if (next == 44) {
				elen = 8;
				p->fragment = true;
				p->later_frag = (be16(f + off + 2) & 0xfff8) != 0;
			} else if (next == 43) {
				elen = ((size_t)f[off + 1] + 1) * 8;
				p->srcroute = true;
			} else if (next == 51) {
				elen = ((size_t)f[off + 1] + 2) * 4;
			} else {
				elen = ((size_t)f[off + 1] + 1) * 8;
			}
			if (elen > left)
				return BAD_L3;
			if (len < off + elen)
				return TRUNC_L3;
			left -= elen;
			next = f[off];
			off += elen;
		}
		p->proto = next;
		p->l4_len = left;
	} else {
		return NON_IP;
	}
	if (p->later_frag)
		return OK;
	need = l4_min(p->proto);
	if (!need)
		return OK;
	if (p->l4_len < need || len < off + need)
		return TRUNC_L4;
	p->l4 = f + off;
	return OK;
}

/* Longest match over all zone prefixes; NULL if none. */
static const struct tp_xdp_zone_prefix *zone_of(const struct tp_xdp_zones *z, int family,
						const uint8_t *addr)
{
	const struct tp_xdp_zone_prefix *best = NULL;
	struct tp_prefix a = {.family = (uint8_t)family, .len = family == 4 ? 32 : 128};

	memcpy(a.addr, addr, family == 4 ? 4 : 16);
	for (size_t i = 0; i < z->n_prefixes; i++)
		if (tp_prefix_contains(&z->prefixes[i].prefix, &a) &&
		    (!best || z->prefixes[i].prefix.len > best->prefix.len))
			best = &z->prefixes[i];
	return best;
}

static bool is_local_zone(const struct tp_xdp_zones *z, uint32_t zone)
{
	for (size_t i = 0; i < z->n_local_zones; i++)
		if (z->local_zones[i] == zone)
			return true;
	return false;
}

static bool has_pair(const struct tp_xdp_zones *z, uint32_t s, uint32_t d)
{
	for (size_t i = 0; i < z->n_pairs; i++)
		if (z->pairs[i].src_zone == s && z->pairs[i].dst_zone == d)
			return true;
	return false;
}

static bool is_tp_addr(const struct tp_xdp_zones *z, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < z->n_local_addrs; i++)
		if (z->local_addrs[i].family == family &&
		    !memcmp(z->local_addrs[i].addr, addr, family == 4 ? 4 : 16))
			return true;
	return false;
}

static bool has_addr(const struct tp_prefix *a, size_t n, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].family == family && !memcmp(a[i].addr, addr, family == 4 ? 4 : 16))
			return true;
	return false;
}

/* ND/MLD the kernel needs and cannot forward (bpf/README.md). */
static bool nd_for_kernel(const struct parsed *p)
{
	unsigned t;

	if (p->family != 6 || p->proto != 58 || !p->l4 || p->srcroute)
		return false;
	t = p->l4[0];
	if (!((t >= 130 && t <= 137) || t == 143))
		return false;
	return p->ttl <= 1 || (p->dst[0] == 0xfe && (p->dst[1] & 0xc0) == 0x80) ||
	       (p->dst[0] == 0xff && (p->dst[1] & 0x0f) <= 2);
}

static bool local_scope(int family, const uint8_t *d)
{
	if (family == 4)
		return (d[0] & 0xf0) == 0xe0 || (d[0] == 169 && d[1] == 254) ||
		       (d[0] == 255 && d[1] == 255 && d[2] == 255 && d[3] == 255);
	return d[0] == 0xff || (d[0] == 0xfe && (d[1] & 0xc0) == 0x80);
}

unsigned model_zone(const uint8_t *frame, size_t len, const struct tp_xdp_zones *z, uint32_t flags)
{
	const struct tp_xdp_zone_prefix *src, *dst;
	struct parsed p;

	switch (parse(frame, len, &p)) {
	case OK:
		break;
	case NON_IP:
		return p.ethertype == 0x0806 ? TP_XDP_ZONE_PASS_ARP : TP_XDP_ZONE_DROP_NON_IP;
	case TRUNC_L2:
		return TP_XDP_ZONE_DROP_TRUNC_L2;
	case TRUNC_L3:
		return TP_XDP_ZONE_DROP_TRUNC_L3;
	case TRUNC_L4:
		return TP_XDP_ZONE_DROP_TRUNC_L4;
	default:
		return TP_XDP_ZONE_DROP_BAD_L3;
	}
	if (nd_for_kernel(&p))
		return TP_XDP_ZONE_PASS_ND;
	if (is_tp_addr(z, p.family, p.dst))
		return p.srcroute ? TP_XDP_ZONE_DROP_IP_OPTIONS : TP_XDP_ZONE_PASS_TO_TP;
	if (local_scope(p.family, p.dst))
		return TP_XDP_ZONE_DROP_LOCAL_SCOPE;
	src = zone_of(z, p.family, p.src);
	if (!src || !is_local_zone(z, src->zone)) {
		if (flags & TP_XDP_F_ANTISPOOF)
			return TP_XDP_ZONE_DROP_SPOOFED;
		return TP_XDP_ZONE_XSK_MISS;
	}
	if (!(flags & TP_XDP_F_ZONE_PAIR))
		return TP_XDP_ZONE_XSK_MISS;
	dst = zone_of(z, p.family, p.dst);
	if (!dst)
		return TP_XDP_ZONE_DROP_NO_DST_ZONE;
	if (src->zone != dst->zone && !has_pair(z, src->zone, dst->zone))
		return TP_XDP_ZONE_DROP_NO_CONDUIT;
	return TP_XDP_ZONE_XSK_MISS;
}

/* Not tunnel traffic: the kernel's only if addressed to the port. */
static unsigned transit_to_kernel(const struct parsed *p, const struct tp_prefix *own, size_t n)
{
	if (!has_addr(own, n, p->family, p->dst))
		return TP_XDP_TRANSIT_DROP_NOT_LOCAL;
	if (p->srcroute)
		return TP_XDP_TRANSIT_DROP_IP_OPTIONS;
	if (p->fragment)
		return TP_XDP_TRANSIT_PASS_FRAGMENT;
	return p->proto == 17 ? TP_XDP_TRANSIT_PASS_OTHER_UDP : TP_XDP_TRANSIT_PASS_NOT_UDP;
}

unsigned model_transit(const uint8_t *frame, size_t len, uint16_t tunnel_port,
		       const struct tp_prefix *own, size_t n_own)
{
	struct parsed p;
	size_t ulen, plen;
	const uint8_t *m;

	switch (parse(frame, len, &p)) {
	case OK:
		break;
	case NON_IP:
		return p.ethertype == 0x0806 ? TP_XDP_TRANSIT_PASS_ARP : TP_XDP_TRANSIT_DROP_NON_IP;
	case TRUNC_L2:
		return TP_XDP_TRANSIT_DROP_TRUNC_L2;
	case TRUNC_L3:
		return TP_XDP_TRANSIT_DROP_TRUNC_L3;
	case TRUNC_L4:
		return TP_XDP_TRANSIT_DROP_TRUNC_L4;
	default:
		return TP_XDP_TRANSIT_DROP_BAD_L3;
	}
	if (nd_for_kernel(&p))
		return TP_XDP_TRANSIT_PASS_ND;
	if (p.fragment || p.proto != 17 || !tunnel_port || be16(p.l4 + 2) != tunnel_port)
		return transit_to_kernel(&p, own, n_own);
	ulen = be16(p.l4 + 4);
	if (ulen > p.l4_len)
		return TP_XDP_TRANSIT_DROP_TRUNC_L4;
	if (ulen < 12)
		return TP_XDP_TRANSIT_DROP_BAD_MSG;
	plen = ulen - 8;
	m = p.l4 + 8;
	if (m[1] || m[2] || m[3])
		return TP_XDP_TRANSIT_DROP_BAD_MSG;
	switch (m[0]) {
	case 1:
		return plen == 148 ? TP_XDP_TRANSIT_XSK_MISS : TP_XDP_TRANSIT_DROP_BAD_MSG;
	case 2:
		return plen == 92 ? TP_XDP_TRANSIT_XSK_MISS : TP_XDP_TRANSIT_DROP_BAD_MSG;
	case 3:
		return plen == 64 ? TP_XDP_TRANSIT_XSK_MISS : TP_XDP_TRANSIT_DROP_BAD_MSG;
	case 4:
		return plen >= 32 ? TP_XDP_TRANSIT_XSK_MISS : TP_XDP_TRANSIT_DROP_BAD_MSG;
	default:
		return TP_XDP_TRANSIT_DROP_BAD_MSG;
	}
}

uint32_t model_zone_verdict(unsigned reason, uint32_t flags)
{
	(void)flags;
	switch (reason) {
	case TP_XDP_ZONE_PASS_ARP:
	case TP_XDP_ZONE_PASS_ND:
	case TP_XDP_ZONE_PASS_TO_TP:
		return XDP_PASS;
	default:
		return XDP_DROP;
	}
}

uint32_t model_transit_verdict(unsigned reason)
{
	switch (reason) {
	case TP_XDP_TRANSIT_PASS_ARP:
	case TP_XDP_TRANSIT_PASS_ND:
	case TP_XDP_TRANSIT_PASS_NOT_UDP:
	case TP_XDP_TRANSIT_PASS_OTHER_UDP:
	case TP_XDP_TRANSIT_PASS_FRAGMENT:
		return XDP_PASS;
	default:
		return XDP_DROP;
	}
}
