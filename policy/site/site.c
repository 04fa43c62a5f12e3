// SPDX-License-Identifier: MIT
/* Site model: ownership helpers and address/prefix utilities. */
#include "tp/policy/site.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_rule(struct tp_rule *r)
{
	free(r->dst_ports);
	free(r->src_ports);
	free(r->icmp);
	free(r->modbus.unit_ids);
	free(r->modbus.function_codes);
	free(r->modbus.registers);
}

void tp_site_free(struct tp_site *site)
{
	if (!site)
		return;
	for (size_t i = 0; i < site->n_zones; i++)
		free(site->zones[i].prefixes);
	for (size_t i = 0; i < site->n_tps; i++)
		free(site->tps[i].endpoints);
	for (size_t i = 0; i < site->n_rules; i++)
		free_rule(&site->rules[i]);
	free(site->zones);
	free(site->tps);
	free(site->rules);
	free(site->assertions);
	free(site->source_file);
	free(site);
}

/* Copy n elements of size sz; a NULL/empty source gives NULL. *ok is cleared
 * on allocation failure. */
static void *dup_array(const void *src, size_t n, size_t sz, bool *ok)
{
	void *p;

	if (!src || n == 0)
		return NULL;
	p = malloc(n * sz);
	if (!p) {
		*ok = false;
		return NULL;
	}
	memcpy(p, src, n * sz);
	return p;
}

struct tp_site *tp_site_clone(const struct tp_site *s)
{
	struct tp_site *c = calloc(1, sizeof(*c));
	bool ok = true;

	if (!c)
		return NULL;
	memcpy(c->name, s->name, sizeof(c->name));
	c->zones = dup_array(s->zones, s->n_zones, sizeof(*s->zones), &ok);
	c->tps = dup_array(s->tps, s->n_tps, sizeof(*s->tps), &ok);
	c->rules = dup_array(s->rules, s->n_rules, sizeof(*s->rules), &ok);
	c->assertions = dup_array(s->assertions, s->n_assertions, sizeof(*s->assertions), &ok);
	if (!ok)
		goto fail_shallow;
	c->n_zones = s->n_zones;
	c->n_tps = s->n_tps;
	c->n_rules = s->n_rules;
	c->n_assertions = s->n_assertions;
	/* The shallow copies above still point at s's arrays: replace each one
	 * with a copy, clearing first so a failure part-way frees only ours. */
	for (size_t i = 0; i < c->n_zones; i++)
		c->zones[i].prefixes = NULL;
	for (size_t i = 0; i < c->n_tps; i++)
		c->tps[i].endpoints = NULL;
	for (size_t i = 0; i < c->n_rules; i++) {
		struct tp_rule *r = &c->rules[i];
		r->dst_ports = NULL;
		r->src_ports = NULL;
		r->icmp = NULL;
		r->modbus.unit_ids = NULL;
		r->modbus.function_codes = NULL;
		r->modbus.registers = NULL;
	}
	for (size_t i = 0; i < c->n_zones; i++)
		c->zones[i].prefixes = dup_array(s->zones[i].prefixes, s->zones[i].n_prefixes,
						 sizeof(struct tp_prefix), &ok);
	for (size_t i = 0; i < c->n_tps; i++)
		c->tps[i].endpoints = dup_array(s->tps[i].endpoints, s->tps[i].n_endpoints,
						sizeof(struct tp_endpoint), &ok);
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct tp_rule *a = &s->rules[i];
		struct tp_rule *r = &c->rules[i];
		r->dst_ports = dup_array(a->dst_ports, a->n_dst_ports, sizeof(*a->dst_ports), &ok);
		r->src_ports = dup_array(a->src_ports, a->n_src_ports, sizeof(*a->src_ports), &ok);
		r->icmp = dup_array(a->icmp, a->n_icmp, sizeof(*a->icmp), &ok);
		r->modbus.unit_ids = dup_array(a->modbus.unit_ids, a->modbus.n_unit_ids, 1, &ok);
		r->modbus.function_codes =
			dup_array(a->modbus.function_codes, a->modbus.n_function_codes, 1, &ok);
		r->modbus.registers = dup_array(a->modbus.registers, a->modbus.n_registers,
						sizeof(*a->modbus.registers), &ok);
	}
	if (s->source_file) {
		c->source_file = strdup(s->source_file);
		ok = ok && c->source_file;
	}
	if (!ok)
		goto fail;
	return c;

fail_shallow:
	/* Arrays were copied but not yet made deep: free only the arrays. */
	free(c->zones);
	free(c->tps);
	free(c->rules);
	free(c->assertions);
	free(c);
	return NULL;
fail:
	tp_site_free(c);
	return NULL;
}

static bool host_bits_zero(const struct tp_prefix *p)
{
	unsigned bytes = p->family == TP_AF_INET ? 4 : 16;

	for (unsigned bit = p->len; bit < bytes * 8; bit++)
		if (p->addr[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

bool tp_prefix_parse(const char *s, struct tp_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	unsigned max;

	if (!s)
		return false;
	memset(out, 0, sizeof(*out));
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = TP_AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = TP_AF_INET6;
		max = 128;
	} else {
		return false;
	}
	out->len = (uint8_t)max;
	if (slash) {
		const char *d = slash + 1;
		unsigned v = 0;

		if (*d == '\0' || strlen(d) > 3)
			return false;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return false;
			v = v * 10 + (unsigned)(*d - '0');
		}
		/* "010" is not a prefix length anyone means */
		if (slash[1] == '0' && slash[2] != '\0')
			return false;
		if (v > max)
			return false;
		out->len = (uint8_t)v;
	}
	return host_bits_zero(out);
}

const char *tp_prefix_format(const struct tp_prefix *p, bool bare, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	unsigned max = p->family == TP_AF_INET ? 32 : 128;

	if (!inet_ntop(p->family == TP_AF_INET ? AF_INET : AF_INET6, p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (bare && p->len == max)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, p->len);
	return buf;
}

bool tp_prefix_contains(const struct tp_prefix *p, const struct tp_prefix *a)
{
	unsigned full, rem;

	if (p->family != a->family || a->len < p->len)
		return false;
	full = p->len / 8;
	rem = p->len % 8;
	if (memcmp(p->addr, a->addr, full) != 0)
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));
		if ((p->addr[full] & mask) != (a->addr[full] & mask))
			return false;
	}
	return true;
}

uint32_t tp_site_zone_of(const struct tp_site *site, const struct tp_prefix *addr)
{
	uint32_t best = TP_ZONE_NONE;
	int best_len = -1;

	for (size_t z = 0; z < site->n_zones; z++) {
		for (size_t i = 0; i < site->zones[z].n_prefixes; i++) {
			const struct tp_prefix *p = &site->zones[z].prefixes[i];
			if (tp_prefix_contains(p, addr) && (int)p->len > best_len) {
				best = (uint32_t)z;
				best_len = p->len;
			}
		}
	}
	return best;
}

uint32_t tp_site_zone_by_name(const struct tp_site *site, const char *name)
{
	for (size_t i = 0; i < site->n_zones; i++)
		if (strcmp(site->zones[i].name, name) == 0)
			return (uint32_t)i;
	return TP_ZONE_NONE;
}

uint32_t tp_site_tp_by_name(const struct tp_site *site, const char *name)
{
	for (size_t i = 0; i < site->n_tps; i++)
		if (strcmp(site->tps[i].name, name) == 0)
			return (uint32_t)i;
	return UINT32_MAX;
}
