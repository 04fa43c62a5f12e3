// SPDX-License-Identifier: MIT
#include "model.h"

#include <stdlib.h>
#include <string.h>

enum { SYN = 1, REPLY = 2, FIN_I = 4, FIN_R = 8 };

void model_init(struct model *m, size_t cap, const struct tp_flow_timeouts *to)
{
	memset(m, 0, sizeof(*m));
	m->cap = cap;
	m->e = calloc(cap, sizeof(*m->e));
	m->timeout_ns[0] = to->tcp_established_s * 1000000000ull;
	m->timeout_ns[1] = to->tcp_transitory_s * 1000000000ull;
	m->timeout_ns[2] = to->udp_s * 1000000000ull;
	m->timeout_ns[3] = to->icmp_s * 1000000000ull;
	m->timeout_ns[4] = to->other_s * 1000000000ull;
}

void model_fini(struct model *m)
{
	free(m->e);
}

void model_publish(struct model *m, const struct tp_site *site, int64_t at, uint64_t gen)
{
	m->site = site;
	m->at = at;
	m->gen = gen;
}

/* timeout class: tcp established, tcp transitory, udp, icmp, other */
static unsigned cls(const struct mentry *e)
{
	switch (e->init.proto) {
	case 6:
		return (e->tcp & REPLY) && !(e->tcp & (FIN_I | FIN_R)) ? 0 : 1;
	case 17:
	case 136:
		return 2;
	case 1:
	case 58:
		return 3;
	default:
		return 4;
	}
}

static uint64_t timeout(const struct model *m, const struct mentry *e)
{
	return m->timeout_ns[cls(e)];
}

/* Is a older than b for eviction? Least recently used; on equal times
 * (a burst shares one clock reading) the lower class, then the one used
 * first: the order flow.c's idle lists give. */
static bool older(const struct mentry *a, const struct mentry *b)
{
	if (a->last_ns != b->last_ns)
		return a->last_ns < b->last_ns;
	if (cls(a) != cls(b))
		return cls(a) < cls(b);
	return a->seq < b->seq;
}

static bool addr_eq(const struct tp_prefix *a, const struct tp_prefix *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, 16) == 0;
}

/* Does packet f belong to entry e? +1 from the initiator, -1 reverse, 0 no */
static int match(const struct mentry *e, const struct tp_flow *f)
{
	const struct tp_flow *i = &e->init;

	if (i->proto != f->proto)
		return 0;
	if (addr_eq(&i->src, &f->src) && addr_eq(&i->dst, &f->dst) && i->sport == f->sport &&
	    i->dport == f->dport)
		return 1;
	if (addr_eq(&i->src, &f->dst) && addr_eq(&i->dst, &f->src) && i->sport == f->dport &&
	    i->dport == f->sport)
		return -1;
	return 0;
}

static void remove_at(struct model *m, size_t k)
{
	m->e[k] = m->e[--m->n];
}

/* Re-evaluate entry k at the current generation; false when it was cut. */
static bool recheck(struct model *m, size_t k)
{
	struct mentry *e = &m->e[k];
	struct tp_decision d;

	tp_ref_evaluate(m->site, &e->init, m->at, &d);
	if (d.verdict != TP_VERDICT_ALLOW || !d.stateful) {
		remove_at(m, k);
		m->ctr.revoked++;
		return false;
	}
	e->gen = m->gen;
	e->rule_id = d.rule_id;
	e->from_zone = d.from_zone;
	e->to_zone = d.to_zone;
	m->ctr.rechecked++;
	return true;
}

/* Index of the live, current entry for f, or -1; *dir gets +1/-1. */
static long lookup(struct model *m, const struct tp_flow *f, uint64_t now, int *dir)
{
	for (size_t k = 0; k < m->n; k++) {
		int d = match(&m->e[k], f);

		if (!d)
			continue;
		if (now - m->e[k].last_ns >= timeout(m, &m->e[k])) {
			remove_at(m, k);
			m->ctr.expired++;
			return -1;
		}
		if (m->e[k].gen != m->gen && !recheck(m, k))
			return -1;
		*dir = d;
		return (long)k;
	}
	return -1;
}

void model_expire(struct model *m, uint64_t now)
{
	for (size_t k = 0; k < m->n;) {
		if (now - m->e[k].last_ns >= timeout(m, &m->e[k])) {
			remove_at(m, k);
			m->ctr.expired++;
		} else {
			k++;
		}
	}
}

void model_recheck(struct model *m)
{
	for (size_t k = 0; k < m->n;)
		if (m->e[k].gen == m->gen || recheck(m, k))
			k++;
}

static void hit_decision(const struct mentry *e, int dir, struct tp_decision *out)
{
	out->verdict = TP_VERDICT_ALLOW;
	out->reason = TP_REASON_RULE_ALLOW;
	out->rule_id = e->rule_id;
	out->from_zone = dir > 0 ? e->from_zone : e->to_zone;
	out->to_zone = dir > 0 ? e->to_zone : e->from_zone;
	out->stateful = true;
}

enum tp_flow_result model_classify(struct model *m, const struct tp_flow_pkt *p, uint64_t now,
				   struct tp_decision *out)
{
	long k;
	int dir;

	if (!m->site) {
		memset(out, 0, sizeof(*out));
		out->from_zone = out->to_zone = TP_ZONE_NONE;
		m->ctr.no_policy++;
		return TP_FLOW_DROP_NO_POLICY;
	}
	if (p->icmp_error) {
		if (p->inner.src.family == p->f.src.family &&
		    p->inner.dst.family == p->f.src.family && addr_eq(&p->inner.src, &p->f.dst) &&
		    (k = lookup(m, &p->inner, now, &dir)) >= 0) {
			hit_decision(&m->e[k], -dir, out);
			out->from_zone = tp_site_zone_of(m->site, &p->f.src);
			out->to_zone = tp_site_zone_of(m->site, &p->f.dst);
			m->ctr.related++;
			return TP_FLOW_PASS_RELATED;
		}
		tp_ref_evaluate(m->site, &p->f, m->at, out);
		if (out->verdict != TP_VERDICT_ALLOW) {
			m->ctr.denied++;
			return TP_FLOW_DROP_POLICY;
		}
		m->ctr.stateless++;
		return TP_FLOW_PASS_STATELESS;
	}
	k = lookup(m, &p->f, now, &dir);
	if (k >= 0 && p->f.proto == 6 && dir < 0 &&
	    (p->tcp_flags & (TP_TCP_SYN | TP_TCP_ACK)) == TP_TCP_SYN) {
		remove_at(m, (size_t)k); /* a responder's bare SYN: judged anew */
		m->ctr.closed++;
		k = -1;
	}
	if (k >= 0 && dir < 0 &&
	    ((p->f.proto == 1 && p->f.icmp_type == 8) ||
	     (p->f.proto == 58 && p->f.icmp_type == 128))) {
		/* the responder's echo request: judged alone, no flow */
		tp_ref_evaluate(m->site, &p->f, m->at, out);
		if (out->verdict != TP_VERDICT_ALLOW) {
			m->ctr.denied++;
			return TP_FLOW_DROP_POLICY;
		}
		m->ctr.stateless++;
		return TP_FLOW_PASS_STATELESS;
	}
	if (k >= 0) {
		struct mentry *e = &m->e[k];
		uint8_t fl = p->tcp_flags;

		hit_decision(e, dir, out);
		m->ctr.hits++;
		if (p->f.proto == 6) {
			if (fl & TP_TCP_RST) {
				remove_at(m, (size_t)k);
				m->ctr.closed++;
				return TP_FLOW_PASS_FLOW;
			}
			if (dir > 0 && (fl & TP_TCP_SYN) && !(fl & TP_TCP_ACK) &&
			    (e->tcp & (FIN_I | FIN_R)))
				e->tcp = SYN;
			if (dir < 0)
				e->tcp |= REPLY;
			if (fl & TP_TCP_FIN)
				e->tcp |= dir > 0 ? FIN_I : FIN_R;
		}
		e->last_ns = now;
		e->seq = ++m->seq;
		return TP_FLOW_PASS_FLOW;
	}
	tp_ref_evaluate(m->site, &p->f, m->at, out);
	if (out->verdict != TP_VERDICT_ALLOW) {
		m->ctr.denied++;
		return TP_FLOW_DROP_POLICY;
	}
	if (!out->stateful || (p->f.proto == 6 && (p->tcp_flags & TP_TCP_RST))) {
		m->ctr.stateless++;
		return TP_FLOW_PASS_STATELESS;
	}
	/* the table reclaims at most 64 expired entries here; the exact
	 * model runs with capacity 64, where that is all of them */
	if (m->n == m->cap)
		model_expire(m, now);
	if (m->n == m->cap) {
		size_t old = 0;

		for (size_t i = 1; i < m->n; i++)
			if (older(&m->e[i], &m->e[old]))
				old = i;
		remove_at(m, old);
		m->ctr.evicted++;
	}
	struct mentry *e = &m->e[m->n++];
	memset(e, 0, sizeof(*e));
	e->init = p->f;
	e->last_ns = now;
	e->seq = ++m->seq;
	e->gen = m->gen;
	e->rule_id = out->rule_id;
	e->from_zone = out->from_zone;
	e->to_zone = out->to_zone;
	if (p->f.proto == 6)
		e->tcp = (p->tcp_flags & TP_TCP_SYN) && !(p->tcp_flags & TP_TCP_ACK) ? SYN
										     : SYN | REPLY;
	m->ctr.created++;
	return TP_FLOW_PASS_NEW;
}
