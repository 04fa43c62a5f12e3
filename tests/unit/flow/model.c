// SPDX-License-Identifier: MIT
#include "model.h"

#include <stdlib.h>
#include <string.h>

enum { SYN = 1, REPLY = 2, FIN_I = 4, FIN_R = 8 };

void model_init(struct model *m, size_t cap, const struct tp_flow_timeouts *to, size_t quota_host,
		size_t quota_pair)
{
	memset(m, 0, sizeof(*m));
	m->cap = cap;
	m->quota_host = quota_host ? quota_host : (cap / 16 > 64 ? cap / 16 : 64);
	m->quota_pair = quota_pair ? quota_pair : (cap / 2 > 64 ? cap / 2 : 64);
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

/* idle class, numbered as flow.c's: tcp established, tcp transitory,
 * udp, icmp, other (answered), then udp, icmp, other not answered yet */
static unsigned cls(const struct mentry *e)
{
	bool answered = e->tcp & REPLY;

	switch (e->init.proto) {
	case 6:
		return answered && !(e->tcp & (FIN_I | FIN_R)) ? 0 : 1;
	case 17:
	case 136:
		return answered ? 2 : 5;
	case 1:
	case 58:
		return answered ? 3 : 6;
	default:
		return answered ? 4 : 7;
	}
}

/* evicted first: nobody answered it (half-open, loose, closing TCP too) */
static bool unanswered(const struct mentry *e)
{
	return cls(e) == 1 || cls(e) >= 5;
}

static uint64_t timeout(const struct model *m, const struct mentry *e)
{
	unsigned c = cls(e);

	return m->timeout_ns[c >= 5 ? c - 3 : c];
}

static bool is_icmp(uint8_t proto)
{
	return proto == 1 || proto == 58;
}

static bool is_echo(uint8_t proto, uint8_t type)
{
	return (proto == 1 && (type == 8 || type == 0)) ||
	       (proto == 58 && (type == 128 || type == 129));
}

static bool is_request(uint8_t proto, uint8_t type)
{
	return (proto == 1 && type == 8) || (proto == 58 && type == 128);
}

/* an echo flow carries requests one way and replies the other */
static bool fits(const struct mentry *e, int dir, uint8_t type)
{
	if (!is_icmp(e->init.proto))
		return true;
	return is_echo(e->init.proto, type) && is_request(e->init.proto, type) == (dir > 0);
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

static bool stateless(struct model *m, const struct tp_flow_pkt *p, struct tp_decision *out,
		      enum tp_flow_result *r)
{
	tp_ref_evaluate(m->site, &p->f, m->at, out);
	if (out->verdict != TP_VERDICT_ALLOW) {
		m->ctr.denied++;
		*r = TP_FLOW_DROP_POLICY;
	} else {
		m->ctr.stateless++;
		*r = TP_FLOW_PASS_STATELESS;
	}
	return true;
}

static size_t count_host(const struct model *m, const struct tp_prefix *src)
{
	size_t n = 0;

	for (size_t k = 0; k < m->n; k++)
		n += addr_eq(&m->e[k].init.src, src);
	return n;
}

static size_t count_pair(const struct model *m, uint32_t from, uint32_t to)
{
	size_t n = 0;

	for (size_t k = 0; k < m->n; k++)
		n += m->e[k].from_zone == from && m->e[k].to_zone == to;
	return n;
}

enum tp_flow_result model_classify(struct model *m, const struct tp_flow_pkt *p, uint64_t now,
				   struct tp_decision *out)
{
	enum tp_flow_result r;
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
		    (k = lookup(m, &p->inner, now, &dir)) >= 0 &&
		    fits(&m->e[k], dir, p->inner.icmp_type) &&
		    tp_site_zone_of(m->site, &p->f.src) ==
			    (dir > 0 ? m->e[k].to_zone : m->e[k].from_zone)) {
			/* from the zone of the flow's other end; a deny rule
			 * for the error itself still wins */
			tp_ref_evaluate(m->site, &p->f, m->at, out);
			if (out->verdict == TP_VERDICT_DENY && out->reason == TP_REASON_RULE_DENY) {
				m->ctr.denied++;
				return TP_FLOW_DROP_POLICY;
			}
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
	if (is_icmp(p->f.proto) && !is_echo(p->f.proto, p->f.icmp_type) && stateless(m, p, out, &r))
		return r; /* only echo makes ICMP flows */
	k = lookup(m, &p->f, now, &dir);
	if (k >= 0 && p->f.proto == 6 && dir < 0 &&
	    (p->tcp_flags & (TP_TCP_SYN | TP_TCP_ACK)) == TP_TCP_SYN) {
		remove_at(m, (size_t)k); /* a responder's bare SYN: judged anew */
		m->ctr.closed++;
		k = -1;
	}
	if (k >= 0 && !fits(&m->e[k], dir, p->f.icmp_type) && stateless(m, p, out, &r))
		return r; /* the wrong half of an echo pair: judged alone, no flow */
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
			/* a new connection only on one unanswered or closed
			 * by both ends */
			if (dir > 0 && (fl & TP_TCP_SYN) && !(fl & TP_TCP_ACK) &&
			    (!(e->tcp & REPLY) || (e->tcp & (FIN_I | FIN_R)) == (FIN_I | FIN_R)))
				e->tcp = SYN;
			if (fl & TP_TCP_FIN)
				e->tcp |= dir > 0 ? FIN_I : FIN_R;
		}
		if (dir < 0)
			e->tcp |= REPLY;
		e->last_ns = now;
		e->seq = ++m->seq;
		return TP_FLOW_PASS_FLOW;
	}
	tp_ref_evaluate(m->site, &p->f, m->at, out);
	if (out->verdict != TP_VERDICT_ALLOW) {
		m->ctr.denied++;
		return TP_FLOW_DROP_POLICY;
	}
	if (!out->stateful || (p->f.proto == 6 && (p->tcp_flags & TP_TCP_RST)) ||
	    (is_icmp(p->f.proto) && !is_request(p->f.proto, p->f.icmp_type))) {
		m->ctr.stateless++;
		return TP_FLOW_PASS_STATELESS;
	}
	/* quotas; entries past their timeout are reclaimed before a refusal */
	if (count_host(m, &p->f.src) >= m->quota_host ||
	    count_pair(m, out->from_zone, out->to_zone) >= m->quota_pair)
		model_expire(m, now);
	if (count_host(m, &p->f.src) >= m->quota_host) {
		m->ctr.quota_host++;
		return TP_FLOW_DROP_QUOTA_HOST;
	}
	if (count_pair(m, out->from_zone, out->to_zone) >= m->quota_pair) {
		m->ctr.quota_pair++;
		return TP_FLOW_DROP_QUOTA_PAIR;
	}
	/* the table reclaims at most 64 expired entries here; the exact
	 * model runs with capacity 64, where that is all of them */
	if (m->n == m->cap)
		model_expire(m, now);
	if (m->n == m->cap) {
		size_t old = 0;
		bool any = false;

		/* the least recently used unanswered entry, else any */
		for (size_t i = 0; i < m->n; i++) {
			if (unanswered(&m->e[i]) && (!any || older(&m->e[i], &m->e[old]))) {
				old = i;
				any = true;
			}
		}
		for (size_t i = 1; !any && i < m->n; i++)
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
	if (p->f.proto == 6) /* a loose pickup is unanswered until answered */
		e->tcp = (p->tcp_flags & TP_TCP_SYN) && !(p->tcp_flags & TP_TCP_ACK) ? SYN : 0;
	m->ctr.created++;
	return TP_FLOW_PASS_NEW;
}
