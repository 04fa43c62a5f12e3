// SPDX-License-Identifier: MIT
/*
 * The flow table (tp/policy/flow.h).
 *
 * State, owned by one thread:
 *   entry[capacity]   preallocated; an entry is free (on the free list) or
 *                     live (in one hash chain and in one idle list)
 *   bucket[mask + 1]  hash chains through entry.hnext, SipHash of the
 *                     canonical key under a per-table key
 *   idle[class]       one doubly linked list per idle class, ordered
 *                     by linked_ns, newest at the head. A packet always
 *                     updates last_ns but moves its entry to the head only
 *                     when relink_ns has passed since the last move (or its
 *                     class changes): relinking touches two neighbours, i.e.
 *                     cache misses, and per packet that dominated the cost.
 *                     All entries of a class share a timeout, so expiring
 *                     is popping expired tails; an entry behind a live tail
 *                     can be expired by at most relink_ns and waits for the
 *                     next sweep (a lookup checks last_ns itself, so no
 *                     packet ever sees an expired entry). A class is a
 *                     timeout and whether the responder was heard: the
 *                     entry evicted when full is the oldest of the tails
 *                     of the unanswered classes (TCP transitory, UDP,
 *                     ICMP and other not yet answered), else of all the
 *                     tails: the least recently used to within relink_ns
 *                     (exactly, when relink_ns is 0).
 *   hosts, pairs      entries per initiating host and per zone pair
 *                     (quota.h); entry.host_q/pair_q hold one reference
 *                     each while the entry lives
 *   pend              the entry tp_flow_decide() reserved for a new flow,
 *                     inserted by tp_flow_commit(); valid until the next
 *                     decision
 *   recheck_cursor    where tp_flow_recheck() resumes
 *   app[capacity]     Modbus stream state of entry i (only read or
 *                     written for entries whose profile flag is set;
 *                     reset when such an entry is inserted or an entry
 *                     gains the flag), so plain flows never touch it
 *   last, last_init   entry of the packet last classified (NIL when it
 *                     has none any more, PEND for the reserved one) and
 *                     whether it came from the initiator: what
 *                     tp_flow_app_check() works on
 *   last_restart      whether a SYN in that packet may start a new
 *                     connection on the entry (restartable())
 *
 * Invariants: a live entry's class matches its protocol and TCP state;
 * linked_ns <= last_ns < linked_ns + relink_ns (or == when relink_ns is
 * 0); linked_ns is not older than that of any entry behind it in its list.
 */
#include "tp/policy/flow.h"

#include "quota.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NIL		    UINT32_MAX
#define PEND		    (UINT32_MAX - 1) /* t->last: the reserved entry */
#define PAIRS_MAX	    65536u	     /* zone pairs with flows at once */
#define NS_PER_S	    1000000000ull
#define EXPIRE_ON_ALLOC_MAX 64 /* expired entries one insertion may reclaim */

enum idle_class {
	IDLE_TCP_EST = 0,
	IDLE_TCP_TRANS, /* half-open, loosely picked up, closing: unanswered */
	IDLE_UDP,
	IDLE_ICMP,
	IDLE_OTHER,
	IDLE_UDP_NEW, /* the responder not heard yet: unanswered */
	IDLE_ICMP_NEW,
	IDLE_OTHER_NEW,
	IDLE_CLASSES,
	IDLE_FREE = 0xff, /* on the free list */
};

/* State bits of an entry (TCP; REPLY for every protocol) */
enum {
	TCPS_SYN = 0x01,      /* initiator sent a SYN (not set: loose pickup) */
	TCPS_REPLY = 0x02,    /* responder answered: established */
	TCPS_FIN_INIT = 0x04, /* initiator sent a FIN */
	TCPS_FIN_RESP = 0x08, /* responder sent a FIN */
};

/* Canonical key: end 0 is the smaller (address, port). */
struct key {
	uint8_t addr[2][16];
	uint16_t port[2];
	uint8_t family;
	uint8_t proto;
	uint8_t pad[2];
};

struct entry {
	struct key key;
	uint32_t hnext;
	uint32_t prev, next; /* idle list or free list */
	uint64_t last_ns;    /* last packet */
	uint64_t linked_ns;  /* last move to the head of its idle list */
	uint64_t gen;
	uint32_t rule_id;
	uint32_t zone[2];	      /* zone of end 0 and end 1 */
	uint8_t cls;		      /* enum idle_class */
	uint8_t init;		      /* end (0/1) that initiated */
	uint8_t tcp;		      /* TCPS_* */
	uint8_t icmp_type, icmp_code; /* of the initiator's first packet */
	uint8_t profile;	      /* payload checked against rule_id's profile */
	uint32_t host_q, pair_q;      /* references in t->hosts, t->pairs */
};

/* A new flow's entry, reserved by a decision until committed. */
struct pending {
	bool valid;
	struct key key;
	uint32_t bucket;
	uint8_t src_end;
	uint8_t tcp_flags, icmp_type, icmp_code;
	uint64_t gen;
	struct tp_decision d;
	uint32_t host_b, pair_b;     /* quota buckets of its host and zone pair */
	struct tp_modbus_stream app; /* when d.profile */
};

struct list {
	uint32_t head, tail;
};

struct tp_flow_table {
	struct entry *entry;
	uint32_t *bucket;
	uint32_t mask;
	uint32_t capacity;
	uint32_t count;
	uint32_t free_head;
	struct list idle[IDLE_CLASSES];
	uint64_t timeout_ns[IDLE_CLASSES];
	uint64_t relink_ns;
	uint32_t recheck_cursor;
	uint64_t (*clock_ns)(void *arg);
	void *clock_arg;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct tp_flow_counters ctr;
	struct tp_modbus_stream *app;
	uint8_t app_key[TP_MODBUS_KEY_BYTES]; /* MACs of checked Modbus stretches */
	uint32_t last;
	bool last_init, last_restart;
	struct tp_flow_quota hosts, pairs;
	uint32_t quota_host, quota_pair;
	struct pending pend;
};

_Static_assert(crypto_shorthash_KEYBYTES == 16, "SipHash-2-4 key is 16 bytes");

const char *tp_flow_result_name(enum tp_flow_result r)
{
	static const char *const names[] = {
#define X(name, str) str,
		TP_FLOW_RESULTS(X)
#undef X
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

void tp_flow_config_default(struct tp_flow_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = TP_FLOW_CAPACITY_DEFAULT;
	cfg->timeouts = (struct tp_flow_timeouts){
		.tcp_established_s = 3600,
		.tcp_transitory_s = 120,
		.udp_s = 60,
		.icmp_s = 30,
		.other_s = 60,
	};
	cfg->relink_ms = 1000;
	cfg->quota_host = 0; /* from the capacity */
	cfg->quota_zone_pair = 0;
	if (sodium_init() >= 0)
		randombytes_buf(cfg->hash_key, sizeof(cfg->hash_key));
}

/* ---- lists ---- */

static void list_unlink(struct tp_flow_table *t, struct list *l, uint32_t i)
{
	struct entry *e = &t->entry[i];

	if (e->prev != NIL)
		t->entry[e->prev].next = e->next;
	else
		l->head = e->next;
	if (e->next != NIL)
		t->entry[e->next].prev = e->prev;
	else
		l->tail = e->prev;
}

static void list_push_head(struct tp_flow_table *t, struct list *l, uint32_t i)
{
	struct entry *e = &t->entry[i];

	e->prev = NIL;
	e->next = l->head;
	if (l->head != NIL)
		t->entry[l->head].prev = i;
	else
		l->tail = i;
	l->head = i;
}

/* ---- keys ---- */

static unsigned addr_len(uint8_t family)
{
	return family == TP_AF_INET ? 4 : 16;
}

/* Canonical key of a flow; returns the end (0/1) its source is. */
static unsigned key_of(const struct tp_flow *f, struct key *k)
{
	unsigned n = addr_len(f->src.family);
	int c = memcmp(f->src.addr, f->dst.addr, n);
	unsigned src_end = (c > 0 || (c == 0 && f->sport > f->dport)) ? 1 : 0;

	memset(k, 0, sizeof(*k));
	k->family = f->src.family;
	k->proto = f->proto;
	memcpy(k->addr[src_end], f->src.addr, n);
	memcpy(k->addr[!src_end], f->dst.addr, n);
	k->port[src_end] = f->sport;
	k->port[!src_end] = f->dport;
	return src_end;
}

static bool key_eq(const struct key *a, const struct key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static uint32_t key_bucket(const struct tp_flow_table *t, const struct key *k)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, (const unsigned char *)k, sizeof(*k), t->hash_key);
	return (uint32_t)h & t->mask;
}

/* The initiator's packet of an entry, as the policy saw it. */
static void init_flow(const struct entry *e, struct tp_flow *f)
{
	unsigned i = e->init, n = addr_len(e->key.family);

	memset(f, 0, sizeof(*f));
	f->proto = e->key.proto;
	f->src.family = f->dst.family = e->key.family;
	f->src.len = f->dst.len = (uint8_t)(n * 8);
	memcpy(f->src.addr, e->key.addr[i], n);
	memcpy(f->dst.addr, e->key.addr[!i], n);
	f->sport = e->key.port[i];
	f->dport = e->key.port[!i];
	f->icmp_type = e->icmp_type;
	f->icmp_code = e->icmp_code;
}

/* ---- quota keys ---- */

static void host_qkey(uint8_t family, const uint8_t *addr, uint8_t k[TP_FLOW_QKEY_LEN])
{
	memset(k, 0, TP_FLOW_QKEY_LEN);
	k[0] = family;
	memcpy(k + 1, addr, addr_len(family));
}

static void pair_qkey(uint32_t from, uint32_t to, uint8_t k[TP_FLOW_QKEY_LEN])
{
	memset(k, 0, TP_FLOW_QKEY_LEN);
	memcpy(k, &from, sizeof(from));
	memcpy(k + sizeof(from), &to, sizeof(to));
}

/* ---- entries ---- */

static uint32_t find(const struct tp_flow_table *t, const struct key *k, uint32_t b)
{
	uint32_t i = t->bucket[b];

	while (i != NIL && !key_eq(&t->entry[i].key, k))
		i = t->entry[i].hnext;
	return i;
}

static void entry_remove(struct tp_flow_table *t, uint32_t i)
{
	struct entry *e = &t->entry[i];
	uint32_t *p = &t->bucket[key_bucket(t, &e->key)];

	while (*p != i)
		p = &t->entry[*p].hnext;
	*p = e->hnext;
	list_unlink(t, &t->idle[e->cls], i);
	tp_flow_quota_put(&t->hosts, e->host_q);
	tp_flow_quota_put(&t->pairs, e->pair_q);
	e->cls = IDLE_FREE;
	e->next = t->free_head;
	t->free_head = i;
	t->count--;
}

static bool expired(const struct tp_flow_table *t, const struct entry *e, uint64_t now)
{
	return now - e->last_ns >= t->timeout_ns[e->cls];
}

static enum idle_class class_of(uint8_t proto, uint8_t st)
{
	bool answered = st & TCPS_REPLY;

	switch (proto) {
	case 6:
		if (answered && !(st & (TCPS_FIN_INIT | TCPS_FIN_RESP)))
			return IDLE_TCP_EST;
		return IDLE_TCP_TRANS;
	case 17:
	case 136:
		return answered ? IDLE_UDP : IDLE_UDP_NEW;
	case 1:
	case 58:
		return answered ? IDLE_ICMP : IDLE_ICMP_NEW;
	default:
		return answered ? IDLE_OTHER : IDLE_OTHER_NEW;
	}
}

static bool unanswered(unsigned cls)
{
	return cls == IDLE_TCP_TRANS || cls >= IDLE_UDP_NEW;
}

static void relink(struct tp_flow_table *t, uint32_t i, enum idle_class cls, uint64_t now)
{
	struct entry *e = &t->entry[i];

	list_unlink(t, &t->idle[e->cls], i);
	e->cls = (uint8_t)cls;
	e->linked_ns = now;
	list_push_head(t, &t->idle[cls], i);
}

/* Mark entry i used now, in class cls. */
static void touch(struct tp_flow_table *t, uint32_t i, enum idle_class cls, uint64_t now)
{
	struct entry *e = &t->entry[i];

	e->last_ns = now;
	if (cls != e->cls || now - e->linked_ns >= t->relink_ns)
		relink(t, i, cls, now);
}

static size_t expire(struct tp_flow_table *t, uint64_t now, size_t max)
{
	size_t n = 0;

	for (unsigned c = 0; c < IDLE_CLASSES; c++) {
		while (n < max && t->idle[c].tail != NIL &&
		       expired(t, &t->entry[t->idle[c].tail], now)) {
			entry_remove(t, t->idle[c].tail);
			t->ctr.expired++;
			n++;
		}
	}
	return n;
}

/* The least recently used entry of the classes that pass (NIL if none):
 * on equal times, the lower class. */
static uint32_t oldest_tail(const struct tp_flow_table *t, bool (*pass)(unsigned cls))
{
	uint32_t oldest = NIL;

	for (unsigned c = 0; c < IDLE_CLASSES; c++) {
		uint32_t tail = t->idle[c].tail;

		if (tail != NIL && (!pass || pass(c)) &&
		    (oldest == NIL || t->entry[tail].last_ns < t->entry[oldest].last_ns))
			oldest = tail;
	}
	return oldest;
}

/* A free entry, making room when the table is full: expired entries
 * first (a bounded number, so that one packet never pays for a whole
 * idle period: tp_flow_expire() is the place for that), then the least
 * recently used unanswered one, so that a host opening flows nobody
 * answers (a SYN or ACK flood) pushes out its own entries, not the
 * established flows of others; only then the least recently used. */
static uint32_t entry_alloc(struct tp_flow_table *t, uint64_t now)
{
	uint32_t i;

	if (t->free_head == NIL)
		expire(t, now, EXPIRE_ON_ALLOC_MAX);
	if (t->free_head == NIL) {
		uint32_t victim = oldest_tail(t, unanswered);

		if (victim == NIL)
			victim = oldest_tail(t, NULL);
		entry_remove(t, victim);
		t->ctr.evicted++;
	}
	i = t->free_head;
	t->free_head = t->entry[i].next;
	return i;
}

/* Insert the reserved entry. Its quotas were checked when it was
 * reserved (nothing ran in between: one thread), so the references are
 * taken unconditionally; the host table has a record for every entry. */
static void entry_insert(struct tp_flow_table *t, uint64_t now)
{
	const struct pending *pd = &t->pend;
	const struct key *k = &pd->key;
	uint8_t qk[TP_FLOW_QKEY_LEN];
	uint32_t i = entry_alloc(t, now);
	struct entry *e = &t->entry[i];

	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->init = pd->src_end;
	e->gen = pd->gen;
	e->rule_id = pd->d.rule_id;
	e->zone[pd->src_end] = pd->d.from_zone;
	e->zone[!pd->src_end] = pd->d.to_zone;
	e->icmp_type = pd->icmp_type;
	e->icmp_code = pd->icmp_code;
	e->profile = pd->d.profile;
	if (pd->d.profile) /* only profile entries ever read theirs */
		t->app[i] = pd->app;
	host_qkey(k->family, k->addr[pd->src_end], qk);
	e->host_q = tp_flow_quota_take(&t->hosts, qk, pd->host_b);
	pair_qkey(pd->d.from_zone, pd->d.to_zone, qk);
	e->pair_q = tp_flow_quota_take(&t->pairs, qk, pd->pair_b);
	if (t->last == PEND)
		t->last = i;
	if (k->proto == 6)
		/* a SYN starts a half-open flow; a mid-stream packet (loose
		 * pickup, §7.5) a transitory one until the responder is
		 * heard: unanswered, both go first when room is needed */
		e->tcp = (pd->tcp_flags & TP_TCP_SYN) && !(pd->tcp_flags & TP_TCP_ACK) ? TCPS_SYN
										       : 0;
	e->cls = (uint8_t)class_of(k->proto, e->tcp);
	e->last_ns = e->linked_ns = now;
	e->hnext = t->bucket[pd->bucket];
	t->bucket[pd->bucket] = i;
	list_push_head(t, &t->idle[e->cls], i);
	t->count++;
}

/* Reserve the entry of a new flow, after its quotas: the result. */
static enum tp_flow_result reserve(struct tp_flow_table *t, const struct key *k, uint32_t b,
				   unsigned src_end, const struct tp_flow_pkt *pkt,
				   const struct tp_decision *d, uint64_t gen, uint64_t now)
{
	struct pending *pd = &t->pend;
	uint8_t hk[TP_FLOW_QKEY_LEN], pk[TP_FLOW_QKEY_LEN];
	uint32_t hb, pb, hn, pn;

	host_qkey(k->family, k->addr[src_end], hk);
	pair_qkey(d->from_zone, d->to_zone, pk);
	hb = tp_flow_quota_bucket(&t->hosts, hk);
	pb = tp_flow_quota_bucket(&t->pairs, pk);
	hn = tp_flow_quota_count(&t->hosts, hk, hb);
	pn = tp_flow_quota_count(&t->pairs, pk, pb);
	if (hn >= t->quota_host || pn >= t->quota_pair) {
		/* entries past their timeout still count until swept:
		 * reclaim what one insertion may, then look again */
		expire(t, now, EXPIRE_ON_ALLOC_MAX);
		hn = tp_flow_quota_count(&t->hosts, hk, hb);
		pn = tp_flow_quota_count(&t->pairs, pk, pb);
	}
	/* a new pair needs a record; existing pairs always have theirs */
	if (hn >= t->quota_host)
		goto drop_host;
	if (pn >= t->quota_pair || (pn == 0 && t->pairs.free_head == NIL))
		goto drop_pair;
	pd->host_b = hb;
	pd->pair_b = pb;
	pd->valid = true;
	pd->key = *k;
	pd->bucket = b;
	pd->src_end = (uint8_t)src_end;
	pd->tcp_flags = pkt->tcp_flags;
	pd->icmp_type = pkt->f.icmp_type;
	pd->icmp_code = pkt->f.icmp_code;
	pd->gen = gen;
	pd->d = *d;
	if (d->profile)
		tp_modbus_stream_init(&pd->app);
	t->last = PEND;
	t->last_init = true;
	t->last_restart = true;
	return TP_FLOW_PASS_NEW;

drop_host:
	t->ctr.quota_host++;
	return TP_FLOW_DROP_QUOTA_HOST;
drop_pair:
	t->ctr.quota_pair++;
	return TP_FLOW_DROP_QUOTA_PAIR;
}

/*
 * Bring entry i up to engine's generation. Returns false when the entry was
 * cut: the initiator's packet is no longer admitted by a stateful rule, or
 * its zones moved.
 */
static bool recheck(struct tp_flow_table *t, uint32_t i, const struct tp_engine *engine)
{
	struct entry *e = &t->entry[i];
	struct tp_decision d;
	struct tp_flow f;

	init_flow(e, &f);
	tp_engine_decide(engine, &f, &d);
	if (d.verdict != TP_VERDICT_ALLOW || !d.stateful) {
		entry_remove(t, i);
		t->ctr.revoked++;
		return false;
	}
	e->gen = tp_engine_generation(engine);
	e->rule_id = d.rule_id;
	if (d.profile && !e->profile)
		/* not followed so far: fail closed from here (tp/policy/flow.h) */
		tp_modbus_stream_init(&t->app[i]);
	e->profile = d.profile;
	if (d.from_zone != e->zone[e->init] || d.to_zone != e->zone[!e->init]) {
		uint8_t qk[TP_FLOW_QKEY_LEN];

		/* the prefixes moved: count the entry under its new pair
		 * (kept over quota: it was admitted, and still is) */
		tp_flow_quota_put(&t->pairs, e->pair_q);
		pair_qkey(d.from_zone, d.to_zone, qk);
		e->pair_q = tp_flow_quota_take(&t->pairs, qk, tp_flow_quota_bucket(&t->pairs, qk));
	}
	e->zone[e->init] = d.from_zone;
	e->zone[!e->init] = d.to_zone;
	t->ctr.rechecked++;
	return true;
}

/* The live, current entry for key k, or NIL; removes what it finds stale. */
static uint32_t lookup(struct tp_flow_table *t, const struct key *k, uint32_t b,
		       const struct tp_engine *engine, uint64_t now)
{
	uint32_t i = find(t, k, b);

	if (i == NIL)
		return NIL;
	if (expired(t, &t->entry[i], now)) {
		entry_remove(t, i);
		t->ctr.expired++;
		return NIL;
	}
	if (t->entry[i].gen != tp_engine_generation(engine) && !recheck(t, i, engine))
		return NIL;
	return i;
}

static void flow_decision(const struct entry *e, unsigned src_end, struct tp_decision *out)
{
	out->verdict = TP_VERDICT_ALLOW;
	out->reason = TP_REASON_RULE_ALLOW;
	out->rule_id = e->rule_id;
	out->from_zone = e->zone[src_end];
	out->to_zone = e->zone[!src_end];
	out->stateful = true;
	out->profile = e->profile;
}

/* TCP: update the light state for a packet from end src_end; false when
 * the flow ends with this packet (RST). */
/*
 * May a SYN from the initiator start a new connection on entry e? Only
 * when the responder has not answered the current one, or both ends have
 * closed it. A responder in an open connection ignores a SYN (it answers
 * with a challenge ACK), and one FIN may never have reached it (a TTL or
 * a checksum that fails behind the TP): restarting then would let the
 * client re-base the Modbus stream at a sequence number of its choice,
 * so that the TP reads the bytes from another offset than the server.
 */
static bool restartable(const struct entry *e)
{
	return !(e->tcp & TCPS_REPLY) ||
	       (e->tcp & (TCPS_FIN_INIT | TCPS_FIN_RESP)) == (TCPS_FIN_INIT | TCPS_FIN_RESP);
}

static bool tcp_track(struct entry *e, unsigned src_end, uint8_t flags)
{
	bool from_init = src_end == e->init;

	if (flags & TP_TCP_RST)
		return false;
	if (from_init && (flags & TP_TCP_SYN) && !(flags & TP_TCP_ACK) && restartable(e))
		e->tcp = TCPS_SYN; /* the ports are reused by a new connection */
	if (!from_init)
		e->tcp |= TCPS_REPLY;
	if (flags & TP_TCP_FIN)
		e->tcp |= from_init ? TCPS_FIN_INIT : TCPS_FIN_RESP;
	return true;
}

static bool is_icmp(uint8_t proto)
{
	return proto == 1 || proto == 58;
}

static bool echo_request(uint8_t proto, uint8_t type)
{
	return (proto == 1 && type == 8) || (proto == 58 && type == 128);
}

/* May a packet from end src_end belong to entry e? An echo flow carries
 * requests from its initiator and replies from its responder only. */
static bool fits(const struct entry *e, unsigned src_end, uint8_t icmp_type)
{
	if (!is_icmp(e->key.proto))
		return true;
	return echo_request(e->key.proto, icmp_type) == (src_end == e->init) &&
	       tp_flow_icmp_is_echo(e->key.proto, icmp_type);
}

enum rel { REL_NONE, REL_PASS, REL_DENY };

/*
 * An ICMP error (§7.4): related when it quotes a packet of a live flow
 * sent by the error's destination, and comes from the zone of the flow's
 * other end; even then a deny rule for the error itself wins. out gets
 * the admitting rule (REL_PASS) or the denying decision (REL_DENY).
 */
static enum rel related(struct tp_flow_table *t, const struct tp_engine *engine,
			const struct tp_flow_pkt *pkt, uint64_t now, struct tp_decision *out)
{
	const struct tp_flow *in = &pkt->inner;
	unsigned n = addr_len(pkt->f.src.family);
	const struct entry *e;
	struct key k;
	unsigned src_end;
	uint32_t i;

	/* The quoted packet was sent by the host the error goes back to. */
	if (in->src.family != pkt->f.src.family || in->dst.family != pkt->f.src.family ||
	    memcmp(in->src.addr, pkt->f.dst.addr, n) != 0)
		return REL_NONE;
	src_end = key_of(in, &k);
	i = lookup(t, &k, key_bucket(t, &k), engine, now);
	if (i == NIL)
		return REL_NONE;
	e = &t->entry[i];
	/* what it quotes must be a packet the flow carries, and the error
	 * must come from where that packet went: a host of another zone
	 * cannot speak for the flow */
	if (!fits(e, src_end, in->icmp_type) ||
	    tp_engine_zone_of(engine, pkt->f.src.family, pkt->f.src.addr) != e->zone[!src_end])
		return REL_NONE;
	tp_engine_decide(engine, &pkt->f, out);
	if (out->verdict == TP_VERDICT_DENY && out->reason == TP_REASON_RULE_DENY)
		return REL_DENY;
	/* An error does not keep its flow alive: no touch. Its sender may
	 * be a router rather than the flow's other end: the zones reported
	 * are those of the error's own addresses. */
	flow_decision(e, !src_end, out);
	out->profile = false; /* an ICMP error carries no stream data */
	out->from_zone = tp_engine_zone_of(engine, pkt->f.src.family, pkt->f.src.addr);
	out->to_zone = tp_engine_zone_of(engine, pkt->f.dst.family, pkt->f.dst.addr);
	return REL_PASS;
}

/* One packet that is not an ICMP error, its key and bucket computed. */
static enum tp_flow_result classify_one(struct tp_flow_table *t, const struct tp_engine *engine,
					const struct tp_flow_pkt *pkt, const struct key *k,
					unsigned src_end, uint32_t b, uint64_t now,
					struct tp_decision *out)
{
	uint32_t i;

	t->last = NIL;
	t->pend.valid = false;
	/* Only echo makes ICMP flows: every other ICMP packet (timestamp,
	 * redirect, router advertisement, an error quoting nothing known)
	 * neither finds nor creates one (§7.4). */
	if (is_icmp(k->proto) && !tp_flow_icmp_is_echo(k->proto, pkt->f.icmp_type))
		goto stateless;
	i = lookup(t, k, b, engine, now);
	if (i != NIL && k->proto == 6 && src_end != t->entry[i].init &&
	    (pkt->tcp_flags & (TP_TCP_SYN | TP_TCP_ACK)) == TP_TCP_SYN) {
		/* A bare SYN from the responder is no part of the initiator's
		 * connection: it ends that flow and is judged as a new
		 * connection in its own direction (else a responder could
		 * open one back on a closing 4-tuple). */
		entry_remove(t, i);
		t->ctr.closed++;
		i = NIL;
	}
	if (i != NIL && !fits(&t->entry[i], src_end, pkt->f.icmp_type))
		/* An echo request from the responder, or a reply from the
		 * initiator, with the flow's id: judged on its own, and it
		 * creates no flow (the key is taken by the initiator's). */
		goto stateless;
	if (i != NIL) {
		struct entry *e = &t->entry[i];

		flow_decision(e, src_end, out);
		t->last_restart = restartable(e); /* before tcp_track changes it */
		if (k->proto == 6 && !tcp_track(e, src_end, pkt->tcp_flags)) {
			entry_remove(t, i);
			t->ctr.closed++;
		} else {
			if (src_end != e->init)
				e->tcp |= TCPS_REPLY; /* answered (tcp_track did TCP's) */
			touch(t, i, class_of(k->proto, e->tcp), now);
			t->last = i;
			t->last_init = src_end == e->init;
		}
		t->ctr.hits++;
		return TP_FLOW_PASS_FLOW;
	}

	tp_engine_decide(engine, &pkt->f, out);
	if (out->verdict != TP_VERDICT_ALLOW)
		goto drop_policy;
	/* a RST opens nothing, nor does an echo reply */
	if (!out->stateful || (k->proto == 6 && (pkt->tcp_flags & TP_TCP_RST)) ||
	    (is_icmp(k->proto) && !echo_request(k->proto, pkt->f.icmp_type)))
		goto pass_stateless;
	return reserve(t, k, b, src_end, pkt, out, tp_engine_generation(engine), now);

pass_stateless:
	t->ctr.stateless++;
	return TP_FLOW_PASS_STATELESS;
drop_policy:
	t->ctr.denied++;
	return TP_FLOW_DROP_POLICY;
stateless:
	tp_engine_decide(engine, &pkt->f, out);
	if (out->verdict != TP_VERDICT_ALLOW)
		goto drop_policy;
	goto pass_stateless;
}

/* Packets the flow lookup cannot serve: no policy, ICMP errors. */
static enum tp_flow_result classify_special(struct tp_flow_table *t, const struct tp_engine *engine,
					    const struct tp_flow_pkt *pkt, uint64_t now,
					    struct tp_decision *out)
{
	t->last = NIL;
	t->pend.valid = false;
	if (!engine)
		goto drop_no_policy;
	switch (related(t, engine, pkt, now, out)) {
	case REL_PASS:
		goto pass_related;
	case REL_DENY:
		goto drop_policy;
	case REL_NONE:
		break;
	}
	/* unrelated: an ordinary stateless packet, never a flow */
	tp_engine_decide(engine, &pkt->f, out);
	if (out->verdict != TP_VERDICT_ALLOW)
		goto drop_policy;
	t->ctr.stateless++;
	return TP_FLOW_PASS_STATELESS;

pass_related:
	t->ctr.related++;
	return TP_FLOW_PASS_RELATED;
drop_policy:
	t->ctr.denied++;
	return TP_FLOW_DROP_POLICY;
drop_no_policy:
	memset(out, 0, sizeof(*out));
	out->verdict = TP_VERDICT_DENY;
	out->from_zone = out->to_zone = TP_ZONE_NONE;
	t->ctr.no_policy++;
	return TP_FLOW_DROP_NO_POLICY;
}

enum tp_flow_result tp_flow_decide(struct tp_flow_table *t, const struct tp_engine *engine,
				   const struct tp_flow_pkt *pkt, struct tp_decision *out)
{
	uint64_t now = t->clock_ns(t->clock_arg);
	unsigned src_end;
	struct key k;

	if (!engine || pkt->icmp_error)
		return classify_special(t, engine, pkt, now, out);
	src_end = key_of(&pkt->f, &k);
	return classify_one(t, engine, pkt, &k, src_end, key_bucket(t, &k), now, out);
}

static void commit(struct tp_flow_table *t, uint64_t now)
{
	if (!t->pend.valid)
		return;
	entry_insert(t, now);
	t->pend.valid = false;
	t->ctr.created++;
}

void tp_flow_commit(struct tp_flow_table *t)
{
	commit(t, t->clock_ns(t->clock_arg));
}

enum tp_flow_result tp_flow_classify(struct tp_flow_table *t, const struct tp_engine *engine,
				     const struct tp_flow_pkt *pkt, struct tp_decision *out)
{
	enum tp_flow_result r = tp_flow_decide(t, engine, pkt, out);

	tp_flow_commit(t);
	return r;
}

#define BURST_STEP 32 /* packets whose buckets and entries are prefetched together */

/*
 * At most BURST_STEP packets. Two rounds of prefetches hide the two
 * dependent cache misses of a lookup (bucket, then entry) behind the work
 * of the other packets; processing stays strictly in order, so a flow
 * created by one packet is found by the next.
 */
static void classify_step(struct tp_flow_table *t, const struct tp_engine *engine,
			  const struct tp_flow_pkt *const pkts[], unsigned m, uint64_t now,
			  enum tp_flow_result res[], struct tp_decision out[])
{
	struct key k[BURST_STEP];
	unsigned end[BURST_STEP];
	uint32_t b[BURST_STEP];

	for (unsigned j = 0; j < m; j++) {
		end[j] = key_of(&pkts[j]->f, &k[j]);
		b[j] = key_bucket(t, &k[j]);
		__builtin_prefetch(&t->bucket[b[j]]);
	}
	for (unsigned j = 0; j < m; j++) {
		uint32_t i = t->bucket[b[j]];

		if (i != NIL) {
			/* an entry straddles two cache lines */
			__builtin_prefetch(&t->entry[i]);
			__builtin_prefetch((const char *)&t->entry[i + 1] - 1);
		}
	}
	for (unsigned j = 0; j < m; j++) {
		if (!engine || pkts[j]->icmp_error)
			res[j] = classify_special(t, engine, pkts[j], now, &out[j]);
		else
			res[j] =
				classify_one(t, engine, pkts[j], &k[j], end[j], b[j], now, &out[j]);
		commit(t, now);
	}
}

void tp_flow_classify_burst(struct tp_flow_table *t, const struct tp_engine *engine,
			    const struct tp_flow_pkt *const pkts[], unsigned n,
			    enum tp_flow_result res[], struct tp_decision out[])
{
	uint64_t now = t->clock_ns(t->clock_arg);

	while (n > 0) {
		unsigned m = n > BURST_STEP ? BURST_STEP : n;

		classify_step(t, engine, pkts, m, now, res, out);
		pkts += m;
		res += m;
		out += m;
		n -= m;
	}
}

enum tp_modbus_result tp_flow_app_check(struct tp_flow_table *t, const struct tp_engine *engine,
					const struct tp_flow_pkt *pkt, const struct tp_decision *d,
					const uint8_t *ip)
{
	struct tp_modbus_check c; /* rules[] filled only for payload */

	c.n = 0;
	c.key = t->app_key;
	if (!d->profile || pkt->f.proto != 6 || pkt->icmp_error)
		return TP_MODBUS_OK;
	if (pkt->tcp_bad_doff)
		return TP_MODBUS_BAD_HEADER;
	if (t->last == NIL)
		/* admitted without a flow (a RST) or the flow ended here */
		return pkt->payload_len ? TP_MODBUS_NO_STREAM : TP_MODBUS_OK;
	if (!t->last_init)
		return TP_MODBUS_OK;
	if ((pkt->tcp_flags & TP_TCP_SYN) && !t->last_restart)
		/* not a new connection (restartable()): the receiver
		 * ignores the SYN, and any data on it */
		return pkt->payload_len ? TP_MODBUS_OUT_OF_ORDER : TP_MODBUS_OK;
	if (pkt->payload_len) {
		/* every matching allow's profile: a request passes if one
		 * admits it (DESIGN.md §7.3) */
		c.n = tp_engine_profiles(engine, d, &pkt->f, NULL, c.rules);
		if (c.n == 0)
			/* not reached: decision.profile means profile rules match */
			return TP_MODBUS_NO_STREAM;
	}
	return tp_modbus_segment(t->last == PEND ? &t->pend.app : &t->app[t->last], &c,
				 pkt->tcp_seq, pkt->tcp_flags, ip + pkt->payload_off,
				 pkt->payload_len);
}

size_t tp_flow_expire(struct tp_flow_table *t, size_t max)
{
	return expire(t, t->clock_ns(t->clock_arg), max);
}

size_t tp_flow_recheck(struct tp_flow_table *t, const struct tp_engine *engine, size_t max)
{
	uint64_t gen = tp_engine_generation(engine);
	size_t n = 0;

	for (; n < max && n < t->capacity; n++) {
		uint32_t i = t->recheck_cursor;

		t->recheck_cursor = i + 1 == t->capacity ? 0 : i + 1;
		if (t->entry[i].cls != IDLE_FREE && t->entry[i].gen != gen)
			recheck(t, i, engine);
	}
	return n;
}

size_t tp_flow_count(const struct tp_flow_table *t)
{
	return t->count;
}

void tp_flow_counters_get(const struct tp_flow_table *t, struct tp_flow_counters *out)
{
	*out = t->ctr;
}

void tp_flow_foreach(const struct tp_flow_table *t, tp_flow_visit_fn cb, void *arg)
{
	uint64_t now = t->clock_ns(t->clock_arg);

	for (unsigned c = 0; c < IDLE_CLASSES; c++) {
		for (uint32_t i = t->idle[c].head; i != NIL; i = t->entry[i].next) {
			const struct entry *e = &t->entry[i];
			struct tp_flow f;

			init_flow(e, &f);
			if (!cb(&f, e->rule_id, e->gen, now - e->last_ns, arg))
				return;
		}
	}
}

uint32_t tp_flow_pkt_hash(const struct tp_flow_pkt *pkt)
{
	/* FNV-1a over the canonical key: both directions give one key */
	const uint8_t *p;
	uint32_t h = 2166136261u;
	struct key k;

	key_of(&pkt->f, &k);
	p = (const uint8_t *)&k;
	for (size_t i = 0; i < sizeof(k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* capacity / share, but no quota below 64 entries: in a small table a
 * share that tiny would refuse ordinary use (a quota at or above the
 * capacity leaves eviction alone to share it) */
static uint32_t quota_default(uint32_t cap, uint32_t share)
{
	return cap / share > 64 ? cap / share : 64;
}

struct tp_flow_table *tp_flow_table_new(const struct tp_flow_config *cfg)
{
	uint32_t cap = cfg->capacity ? cfg->capacity : TP_FLOW_CAPACITY_DEFAULT;
	const struct tp_flow_timeouts *to = &cfg->timeouts;
	struct tp_flow_table *t;
	uint32_t nb = 1;

	/* 2^28 entries (28 GiB) is far beyond any appliance, and keeps the
	 * bucket count (2 * capacity, a power of two) within 32 bits */
	if (!cfg->clock_ns || cap > (1u << 28) || sodium_init() < 0)
		return NULL;
	while (nb < 2 * cap) /* short chains: a wrong entry is a cache miss */
		nb *= 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->entry = calloc(cap, sizeof(*t->entry));
	t->bucket = malloc((size_t)nb * sizeof(*t->bucket));
	/* one cache line per flow's Modbus state (64 bytes, tp/policy/modbus.h) */
	t->app = aligned_alloc(64, (size_t)cap * sizeof(*t->app));
	if (t->app)
		memset(t->app, 0, (size_t)cap * sizeof(*t->app));
	t->last = NIL;
	if (!t->entry || !t->bucket || !t->app ||
	    !tp_flow_quota_init(&t->hosts, cap, cfg->hash_key) ||
	    !tp_flow_quota_init(&t->pairs, cap < PAIRS_MAX ? cap : PAIRS_MAX, cfg->hash_key))
		goto fail_nomem;
	t->quota_host = cfg->quota_host ? cfg->quota_host : quota_default(cap, 16);
	t->quota_pair = cfg->quota_zone_pair ? cfg->quota_zone_pair : quota_default(cap, 2);
	memset(t->bucket, 0xff, (size_t)nb * sizeof(*t->bucket)); /* NIL */
	t->mask = nb - 1;
	t->capacity = cap;
	for (uint32_t i = 0; i < cap; i++) {
		t->entry[i].cls = IDLE_FREE;
		t->entry[i].next = i + 1 < cap ? i + 1 : NIL;
	}
	t->free_head = 0;
	for (unsigned c = 0; c < IDLE_CLASSES; c++)
		t->idle[c].head = t->idle[c].tail = NIL;
	t->timeout_ns[IDLE_TCP_EST] = to->tcp_established_s * NS_PER_S;
	t->timeout_ns[IDLE_TCP_TRANS] = to->tcp_transitory_s * NS_PER_S;
	t->timeout_ns[IDLE_UDP] = to->udp_s * NS_PER_S;
	t->timeout_ns[IDLE_ICMP] = to->icmp_s * NS_PER_S;
	t->timeout_ns[IDLE_OTHER] = to->other_s * NS_PER_S;
	t->timeout_ns[IDLE_UDP_NEW] = t->timeout_ns[IDLE_UDP];
	t->timeout_ns[IDLE_ICMP_NEW] = t->timeout_ns[IDLE_ICMP];
	t->timeout_ns[IDLE_OTHER_NEW] = t->timeout_ns[IDLE_OTHER];
	t->relink_ns = cfg->relink_ms * 1000000ull;
	t->clock_ns = cfg->clock_ns;
	t->clock_arg = cfg->clock_arg;
	memcpy(t->hash_key, cfg->hash_key, sizeof(t->hash_key));
	/* a key of its own for the Modbus MACs, from the table's secret */
	crypto_generichash(t->app_key, sizeof(t->app_key), (const unsigned char *)"tp-modbus", 9,
			   t->hash_key, sizeof(t->hash_key));
	return t;
fail_nomem:
	tp_flow_table_free(t);
	return NULL;
}

void tp_flow_table_free(struct tp_flow_table *t)
{
	if (!t)
		return;
	sodium_memzero(t->hash_key, sizeof(t->hash_key));
	sodium_memzero(t->app_key, sizeof(t->app_key));
	free(t->entry);
	free(t->bucket);
	free(t->app);
	tp_flow_quota_fini(&t->hosts);
	tp_flow_quota_fini(&t->pairs);
	free(t);
}
