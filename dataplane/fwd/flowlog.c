// SPDX-License-Identifier: MIT
/*
 * Flow-log lines and their output cap (tp/dp/flowlog.h).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tp/dp/flowlog.h"

static const char *proto_name(uint8_t proto)
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmpv6";
	case 132:
		return "sctp";
	default:
		return NULL;
	}
}

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

/* "a.b.c.d:p", "[x::y]:p", or the bare address without a port. */
static void endpoint(const struct tp_flowlog_rec *r, const uint8_t *addr, uint16_t port, char *buf,
		     size_t len)
{
	char a[INET6_ADDRSTRLEN];
	bool v6 = r->family == 6;

	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (!has_ports(r->proto))
		snprintf(buf, len, "%s", a);
	else if (v6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

static void zone(const char *name, uint32_t idx, char *buf, size_t len)
{
	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "#%" PRIu32, idx);
}

size_t tp_flowlog_format(const struct tp_flowlog_rec *r, const struct tp_flowlog_names *names,
			 uint64_t wall_ns, char *buf, size_t len)
{
	char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8], when[32], l4[32];
	char sz[72], dz[72], ps[16];
	time_t s = (time_t)(wall_ns / 1000000000u);
	const char *pn = proto_name(r->proto);
	struct tm tm;
	int n;

	if (!len)
		return 0;
	if (gmtime_r(&s, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	else
		snprintf(when, sizeof(when), "?");
	endpoint(r, r->src, r->sport, src, sizeof(src));
	endpoint(r, r->dst, r->dport, dst, sizeof(dst));
	l4[0] = 0;
	if (r->proto == 1 || r->proto == 58)
		snprintf(l4, sizeof(l4), " type %u code %u", r->icmp_type, r->icmp_code);
	zone(names ? names->src_zone : NULL, r->src_zone, sz, sizeof(sz));
	zone(names ? names->dst_zone : NULL, r->dst_zone, dz, sizeof(dz));
	if (pn)
		snprintf(ps, sizeof(ps), "%s", pn);
	else
		snprintf(ps, sizeof(ps), "proto %u", r->proto);
	n = snprintf(buf, len,
		     "flow %s.%03uZ rule %" PRIu32 " \"%s\" %s %s %s -> %s%s zones %s -> %s (%s%s)",
		     when, (unsigned)(wall_ns / 1000000u % 1000u), r->rule_id,
		     names && names->rule ? names->rule : "?", r->allow ? "allow" : "deny", ps, src,
		     dst, l4, sz, dz, r->side == TP_FLOWLOG_INGRESS ? "ingress" : "egress",
		     r->limited ? ", rate-limited" : "");
	if (n < 0) {
		buf[0] = 0;
		return 0;
	}
	return (size_t)n < len ? (size_t)n : len - 1;
}

void tp_flowlog_cap_init(struct tp_flowlog_cap *c, uint32_t lines_per_s, uint64_t now_ns)
{
	memset(c, 0, sizeof(*c));
	tp_ratelimit_init(&c->lines, lines_per_s, lines_per_s, now_ns);
}

bool tp_flowlog_cap_admit(struct tp_flowlog_cap *c, uint64_t now_ns)
{
	if (tp_ratelimit_take(&c->lines, now_ns))
		return true;
	c->suppressed++;
	c->suppressed_total++;
	return false;
}

bool tp_flowlog_cap_summary(struct tp_flowlog_cap *c, uint64_t now_ns, char *buf, size_t len)
{
	if (!c->suppressed || !tp_ratelimit_take(&c->lines, now_ns))
		return false;
	snprintf(buf, len, "%" PRIu64 " flow log line%s suppressed (more than %" PRIu64 "/s)",
		 c->suppressed, c->suppressed == 1 ? "" : "s", c->lines.pps);
	c->suppressed = 0;
	return true;
}
