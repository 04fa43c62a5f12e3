/* SPDX-License-Identifier: MIT */
/*
 * The compiled policy engine: a struct tp_site turned into read-only lookup
 * tables for the dataplane, and the one-pointer publication of those tables.
 *
 * Plain C, no DPDK: `tpolicy` compiles offline with it (a bundle that does
 * not compile is refused), the dataplane wraps publication in rte_rcu_qsbr
 * (dataplane/policyrcu).
 *
 * A compiled engine answers exactly what the reference evaluator
 * (tp/policy/eval.h) answers — verdict, reason, rule id, stateful — for every
 * packet and every time inside its validity interval [valid_from,
 * valid_until). Rules with not_before/not_after are compiled in or out for
 * that interval; the owner recompiles at valid_until (and publishes, which
 * re-checks every flow, DESIGN.md §7.6).
 *
 * Refused at compile (with a message in err): a prefix in two zones, zone or
 * TP indices out of range, an inverted port range, a bad ICMP code, a
 * duplicate or zero rule id, an unknown action, a not_after that is not
 * after its not_before, an application profile that cannot be enforced (on
 * a deny rule, a stateless rule or a protocol other than TCP, an inverted
 * register range, function code 0 or with the exception bit), more than
 * TP_MODBUS_PROFILES_MAX rules with a profile in one zone pair, and a
 * policy whose source-port tables would exceed the memory budget.
 *
 * Application profiles: a rule's Modbus/TCP profile is compiled into a
 * struct tp_modbus_rules (tp/policy/modbus.h) held in its rule info. It does not
 * change decisions: decision.profile says the payload of the admitted
 * flow must also pass one of the profiles of the matching allow rules
 * (tp_engine_profiles(), DESIGN.md §7.3: the union, so rule order never
 * matters), which the flow table checks (tp/policy/flow.h).
 *
 * Lifetime: a compiled engine is immutable once compiled (but for its
 * generation, written once by tp_engine_publish() before any reader can
 * see it) and may be read by any number of threads. It is freed by tp_engine_free(), or, once
 * published, by the slot's retire callback when no reader can hold it.
 */
#ifndef TP_POLICY_ENGINE_H
#define TP_POLICY_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/policy/eval.h"
#include "tp/policy/modbus.h"
#include "tp/policy/site.h"

#define TP_ENGINE_FOREVER INT64_MAX /* valid_until of a policy without end */

struct tp_engine;

/* Compile site for time now (Unix seconds, UTC). On success *out owns a new
 * engine and 0 is returned. On failure returns -EINVAL (the site is wrong),
 * -E2BIG (too complex for the memory budget) or -ENOMEM, writes a one-line
 * reason into err (errlen may be 0) and leaves *out NULL. The site is only
 * read and may be freed afterwards. */
int tp_engine_compile(const struct tp_site *site, int64_t now, struct tp_engine **out, char *err,
		      size_t errlen);

/* Free an engine that was never published (or from a retire callback). */
void tp_engine_free(struct tp_engine *e);

/* Decide one packet, as tp_ref_evaluate() would at any time inside the
 * engine's validity interval. Never fails, never allocates. */
void tp_engine_decide(const struct tp_engine *e, const struct tp_flow *f, struct tp_decision *out);

/* The profiles of the allow rules matching f (every matching allow
 * carries one when tp_engine_decide() sets decision.profile), by rule id:
 * a request passes if any of them admits it. d is f's decision by this
 * engine (or the flow table's for f's flow): only its zones are read,
 * which spares the trie walks. Writes the rules' ids and compiled
 * profiles (either array may be NULL) and returns how many, at most
 * TP_MODBUS_PROFILES_MAX; 0 for a packet no profile rule matches. Equal
 * to tp_ref_profiles() for every packet inside the validity interval.
 * Never fails, never allocates; its cost grows with the profile rules of
 * the zone pair, so callers ask only for payload that a profile checks. */
uint32_t tp_engine_profiles(const struct tp_engine *e, const struct tp_decision *d,
			    const struct tp_flow *f, uint32_t ids[TP_MODBUS_PROFILES_MAX],
			    const struct tp_modbus_rules *rules[TP_MODBUS_PROFILES_MAX]);

/* Zone index of an address (family TP_AF_INET with 4 bytes or TP_AF_INET6
 * with 16, network order), or TP_ZONE_NONE. Longest prefix wins. */
uint32_t tp_engine_zone_of(const struct tp_engine *e, uint8_t family, const uint8_t *addr);

/* Index (into site->tps) of the TP hosting zone, for the receive-side
 * anti-spoofing check; UINT32_MAX for TP_ZONE_NONE or out of range. */
uint32_t tp_engine_zone_tp(const struct tp_engine *e, uint32_t zone);

/* [valid_from, valid_until): the interval in which no rule appears or
 * disappears. valid_until is TP_ENGINE_FOREVER when nothing ever changes. */
int64_t tp_engine_valid_from(const struct tp_engine *e);
int64_t tp_engine_valid_until(const struct tp_engine *e);

/* Generation assigned by tp_engine_publish(); 0 before publication. Flow
 * entries are stamped with it (tp/policy/flow.h). */
uint64_t tp_engine_generation(const struct tp_engine *e);

/* Is now inside [valid_from, valid_until)? Outside it the owner must
 * recompile before deciding anything. */
bool tp_engine_valid_at(const struct tp_engine *e, int64_t now);

/* What the dataplane needs of a deciding rule beyond the verdict: whether
 * to log it, its rate limit (enforced by the caller, per flow creation
 * or per packet as it documents) and its compiled application profile. */
struct tp_engine_rule_info {
	uint32_t id;
	bool log;
	bool stateful;
	uint32_t rate_pps; /* 0 = none */
	uint32_t rate_burst;
	char name[TP_NAME_MAX];
	const struct tp_modbus_rules *modbus; /* NULL: no Modbus profile; owned by the engine */
};

/* Info of the rule with that id in this engine (rules outside the validity
 * interval included); NULL when there is none. */
const struct tp_engine_rule_info *tp_engine_rule(const struct tp_engine *e, uint32_t rule_id);

/* Bytes held by the compiled tables. */
size_t tp_engine_memory(const struct tp_engine *e);

/*
 * Publication. A slot holds the current engine. Readers load it with
 * tp_engine_current() (acquire) and use it for as long as their grace
 * period protocol allows; the single publisher stores a new one with
 * tp_engine_publish() (release) and hands the old one to the retire
 * callback, which must free it only when no reader can still hold it
 * (rte_rcu_qsbr in the dataplane). Without a callback the old engine is
 * freed at once: that is only right when there are no concurrent readers
 * (offline tools, tests).
 *
 * Ownership: the slot owns the current engine; tp_engine_publish() takes
 * ownership of the new one; the retire callback receives ownership of the
 * old one. Only one thread publishes (the control thread).
 */
typedef void (*tp_engine_retire_fn)(struct tp_engine *old, void *arg);

struct tp_engine_slot {
	_Atomic(struct tp_engine *) cur;
	uint64_t last_gen;	    /* publisher only */
	tp_engine_retire_fn retire; /* NULL: free at once */
	void *retire_arg;
};

void tp_engine_slot_init(struct tp_engine_slot *slot, tp_engine_retire_fn retire, void *arg);

/* Give e the next generation and make it current. e may be NULL (no
 * policy: every inter-zone packet is dropped by the caller). */
void tp_engine_publish(struct tp_engine_slot *slot, struct tp_engine *e);

/* The current engine, or NULL when none was published. */
static inline const struct tp_engine *tp_engine_current(struct tp_engine_slot *slot)
{
	return atomic_load_explicit(&slot->cur, memory_order_acquire);
}

/* Retire the current engine; the slot is empty afterwards. */
void tp_engine_slot_fini(struct tp_engine_slot *slot);

#endif /* TP_POLICY_ENGINE_H */
