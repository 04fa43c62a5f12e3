/* SPDX-License-Identifier: MIT */
/*
 * A naive flow table: the semantics of tp/policy/flow.h with an array and linear
 * searches, no hashing, no lists. Decisions come from the reference
 * evaluator on the site, not from a compiled engine. The random test runs
 * it side by side with the real table.
 */
#ifndef TP_TEST_FLOW_MODEL_H
#define TP_TEST_FLOW_MODEL_H

#include "tp/policy/flow.h"

struct mentry {
	struct tp_flow init; /* the initiator's first packet */
	uint8_t tcp;	     /* bits as flow.c: SYN, REPLY (any protocol), FIN_INIT, FIN_RESP */
	uint64_t last_ns;
	uint64_t seq; /* order of use, for ties of last_ns */
	uint64_t gen;
	uint32_t rule_id;
	uint32_t from_zone, to_zone; /* in the initiator's direction */
};

struct model {
	struct mentry *e;
	size_t n, cap;
	uint64_t timeout_ns[5];	       /* tcp est, tcp trans, udp, icmp, other */
	size_t quota_host, quota_pair; /* entries per initiating host, per zone pair */
	struct tp_flow_counters ctr;
	uint64_t seq;
	/* current policy */
	const struct tp_site *site; /* NULL: none */
	int64_t at;		    /* evaluation time of the site */
	uint64_t gen;
};

/* quota_host, quota_pair: as the table's configuration, 0 for its default */
void model_init(struct model *m, size_t cap, const struct tp_flow_timeouts *to, size_t quota_host,
		size_t quota_pair);
void model_fini(struct model *m);
void model_publish(struct model *m, const struct tp_site *site, int64_t at, uint64_t gen);
enum tp_flow_result model_classify(struct model *m, const struct tp_flow_pkt *p, uint64_t now,
				   struct tp_decision *out);
void model_expire(struct model *m, uint64_t now);
void model_recheck(struct model *m);

#endif /* TP_TEST_FLOW_MODEL_H */
