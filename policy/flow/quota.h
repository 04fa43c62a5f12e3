/* SPDX-License-Identifier: MIT */
/*
 * Internal to policy/flow: counters of live flow entries by a short key
 * (the initiating host, or the zone pair), so that the flow table can
 * refuse a new flow whose host or zone pair already holds its share
 * (DESIGN.md §7.5). A chained hash of preallocated records under the
 * table's SipHash key (keys come from packets: an attacker chooses them).
 *
 * Owned by the flow table and used only by its owner thread. A record
 * lives while its count is above zero; an entry holds one reference to
 * the record of its host and one to that of its zone pair.
 */
#ifndef TP_FLOW_QUOTA_H
#define TP_FLOW_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#define TP_FLOW_QKEY_LEN 20 /* family + 16 address bytes, or two zone ids */
#define TP_FLOW_QNIL	 UINT32_MAX

struct tp_flow_qrec {
	uint8_t key[TP_FLOW_QKEY_LEN];
	uint32_t count;	 /* entries holding a reference; 0: on the free list */
	uint32_t next;	 /* hash chain, or free list */
	uint32_t bucket; /* of key: put needs no hash */
};

struct tp_flow_quota {
	struct tp_flow_qrec *rec;
	uint32_t *bucket;
	uint32_t mask;
	uint32_t free_head;
	uint8_t hash_key[16];
};

/* cap records (at most cap distinct keys at once); false on no memory. */
bool tp_flow_quota_init(struct tp_flow_quota *q, uint32_t cap, const uint8_t hash_key[16]);
void tp_flow_quota_fini(struct tp_flow_quota *q);
/* The bucket of key (one SipHash): what the calls below take, so that a
 * new flow hashes each key once. */
uint32_t tp_flow_quota_bucket(const struct tp_flow_quota *q, const uint8_t key[TP_FLOW_QKEY_LEN]);
/* References held for key, in bucket b (0 when none). */
uint32_t tp_flow_quota_count(const struct tp_flow_quota *q, const uint8_t key[TP_FLOW_QKEY_LEN],
			     uint32_t b);
/* Take one reference: the record's index, or TP_FLOW_QNIL when key is new
 * and every record is in use. */
uint32_t tp_flow_quota_take(struct tp_flow_quota *q, const uint8_t key[TP_FLOW_QKEY_LEN],
			    uint32_t b);
/* Give back a reference taken by tp_flow_quota_take (TP_FLOW_QNIL: none). */
void tp_flow_quota_put(struct tp_flow_quota *q, uint32_t i);

#endif /* TP_FLOW_QUOTA_H */
