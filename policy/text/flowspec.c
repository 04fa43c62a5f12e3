// SPDX-License-Identifier: MIT
/* The one-line flow notation (see tp/policy/flowspec.h). */
#include "tp/policy/flowspec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 12
#define TOKEN_MAX  64

static const struct {
	const char *name;
	unsigned num;
} protos[] = {
	{"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"icmpv6", 58}, {"sctp", 132}, {"udplite", 136},
};

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 10)
		return false;
	/* no leading zeros, no signs, no spaces: one spelling per number */
	if (s[0] == '0' && s[1])
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

int tp_proto_from_name(const char *s)
{
	unsigned long v;

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strcmp(s, protos[i].name) == 0)
			return (int)protos[i].num;
	if (parse_uint(s, 255, &v))
		return (int)v;
	return -1;
}

const char *tp_proto_name(unsigned proto, char *buf, size_t len)
{
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].num == proto)
			return protos[i].name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* "10.1.0.5", "10.1.0.5:502", "fd00::1", "[fd00::1]:502" */
static bool parse_endpoint(const char *s, struct tp_prefix *addr, bool *has_port,
			   unsigned long *port)
{
	char a[TOKEN_MAX];
	const char *colon;

	*has_port = false;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		size_t n;

		if (!close)
			return false;
		n = (size_t)(close - s - 1);
		if (n >= sizeof(a))
			return false;
		memcpy(a, s + 1, n);
		a[n] = '\0';
		if (close[1] == ':') {
			if (!parse_uint(close + 2, 65535, port))
				return false;
			*has_port = true;
		} else if (close[1] != '\0') {
			return false;
		}
		if (!strchr(a, ':'))
			return false; /* brackets are for IPv6 only */
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* bare IPv6, no port */
			snprintf(a, sizeof(a), "%s", s);
		} else if (colon) {
			size_t n = (size_t)(colon - s);

			if (n >= sizeof(a))
				return false;
			memcpy(a, s, n);
			a[n] = '\0';
			if (!parse_uint(colon + 1, 65535, port))
				return false;
			*has_port = true;
		} else {
			snprintf(a, sizeof(a), "%s", s);
		}
	}
	if (strchr(a, '/'))
		return false; /* a host, not a prefix */
	return tp_prefix_parse(a, addr);
}

bool tp_flowspec_parse(const char *s, struct tp_flow *out, char *err, size_t errlen)
{
	char tok[MAX_TOKENS][TOKEN_MAX];
	size_t n = 0, i = 0;
	unsigned long v, sport = 0, dport = 0;
	bool sp, dp;
	int proto;

	memset(out, 0, sizeof(*out));
	if (!s)
		return fail(err, errlen, "empty flow");
	while (*s) {
		size_t len = 0;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n == MAX_TOKENS)
			return fail(err, errlen, "too many words in flow");
		while (*s && *s != ' ' && *s != '\t') {
			if (len + 1 >= TOKEN_MAX)
				return fail(err, errlen, "word too long in flow");
			tok[n][len++] = *s++;
		}
		tok[n][len] = '\0';
		n++;
	}
	if (n < 4)
		return fail(err, errlen,
			    "expected 'PROTO SRC[:PORT] -> DST[:PORT] [type T [code C]]'");
	if (strcmp(tok[0], "proto") == 0) {
		if (!parse_uint(tok[1], 255, &v))
			return fail(err, errlen, "bad protocol number '%s'", tok[1]);
		proto = (int)v;
		i = 2;
	} else {
		proto = tp_proto_from_name(tok[0]);
		if (proto < 0)
			return fail(err, errlen, "unknown protocol '%s'", tok[0]);
		i = 1;
	}
	out->proto = (uint8_t)proto;
	if (n < i + 3)
		return fail(err, errlen, "expected 'SRC -> DST'");
	if (!parse_endpoint(tok[i], &out->src, &sp, &sport))
		return fail(err, errlen, "bad source '%s'", tok[i]);
	if (strcmp(tok[i + 1], "->") != 0)
		return fail(err, errlen, "expected '->' after the source, got '%s'", tok[i + 1]);
	if (!parse_endpoint(tok[i + 2], &out->dst, &dp, &dport))
		return fail(err, errlen, "bad destination '%s'", tok[i + 2]);
	i += 3;
	if (out->src.family != out->dst.family)
		return fail(err, errlen, "source and destination are of different families");
	if (tp_proto_has_ports(out->proto)) {
		if (!dp)
			return fail(err, errlen, "%s flow needs a destination port", tok[0]);
		out->sport = (uint16_t)sport;
		out->dport = (uint16_t)dport;
	} else if (sp || dp) {
		return fail(err, errlen, "ports only go with tcp, udp, sctp or udplite");
	}
	if (tp_proto_is_icmp(out->proto)) {
		if ((out->proto == 1) != (out->src.family == TP_AF_INET))
			return fail(err, errlen, "icmp goes with IPv4 and icmpv6 with IPv6");
		if (i < n) {
			if (strcmp(tok[i], "type") != 0 || i + 1 >= n ||
			    !parse_uint(tok[i + 1], 255, &v))
				return fail(err, errlen, "expected 'type N' (0..255)");
			out->icmp_type = (uint8_t)v;
			i += 2;
		}
		if (i < n) {
			if (strcmp(tok[i], "code") != 0 || i + 1 >= n ||
			    !parse_uint(tok[i + 1], 255, &v))
				return fail(err, errlen, "expected 'code N' (0..255)");
			out->icmp_code = (uint8_t)v;
			i += 2;
		}
	}
	if (i < n)
		return fail(err, errlen, "unexpected '%s'", tok[i]);
	return true;
}

static const char *endpoint(const struct tp_prefix *a, bool port, unsigned p, char *buf, size_t len)
{
	char s[64];

	tp_prefix_format(a, true, s, sizeof(s));
	if (!port)
		snprintf(buf, len, "%s", s);
	else if (a->family == TP_AF_INET6)
		snprintf(buf, len, "[%s]:%u", s, p);
	else
		snprintf(buf, len, "%s:%u", s, p);
	return buf;
}

const char *tp_flowspec_format(const struct tp_flow *f, char *buf, size_t len)
{
	char pn[8], proto[16], src[72], dst[72];
	bool ports = tp_proto_has_ports(f->proto);

	if (tp_proto_is_icmp(f->proto) || ports)
		snprintf(proto, sizeof(proto), "%s", tp_proto_name(f->proto, pn, sizeof(pn)));
	else
		snprintf(proto, sizeof(proto), "proto %u", f->proto);
	endpoint(&f->src, ports, f->sport, src, sizeof(src));
	endpoint(&f->dst, ports, f->dport, dst, sizeof(dst));
	if (tp_proto_is_icmp(f->proto))
		snprintf(buf, len, "%s %s -> %s type %u code %u", proto, src, dst, f->icmp_type,
			 f->icmp_code);
	else
		snprintf(buf, len, "%s %s -> %s", proto, src, dst);
	return buf;
}
