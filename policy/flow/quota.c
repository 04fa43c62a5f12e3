// SPDX-License-Identifier: MIT
/*
 * Counters of flow entries per host and per zone pair (quota.h).
 *
 * State: rec[cap] preallocated, each free (count 0, on the free list
 * through next) or live (count > 0, in the chain of bucket[hash(key)]);
 * bucket[mask + 1] with mask + 1 the power of two at or above cap.
 */
#include "quota.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

uint32_t tp_flow_quota_bucket(const struct tp_flow_quota *q, const uint8_t key[TP_FLOW_QKEY_LEN])
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, key, TP_FLOW_QKEY_LEN, q->hash_key);
	return (uint32_t)h & q->mask;
}

static uint32_t find(const struct tp_flow_quota *q, const uint8_t *key, uint32_t b)
{
	uint32_t i = q->bucket[b];

	while (i != TP_FLOW_QNIL && memcmp(q->rec[i].key, key, TP_FLOW_QKEY_LEN) != 0)
		i = q->rec[i].next;
	return i;
}

bool tp_flow_quota_init(struct tp_flow_quota *q, uint32_t cap, const uint8_t hash_key[16])
{
	uint32_t nb = 1;

	memset(q, 0, sizeof(*q));
	if (cap == 0 || cap > (1u << 28))
		return false;
	while (nb < cap)
		nb *= 2;
	q->rec = calloc(cap, sizeof(*q->rec));
	q->bucket = malloc((size_t)nb * sizeof(*q->bucket));
	if (!q->rec || !q->bucket) {
		tp_flow_quota_fini(q);
		return false;
	}
	memset(q->bucket, 0xff, (size_t)nb * sizeof(*q->bucket)); /* TP_FLOW_QNIL */
	q->mask = nb - 1;
	for (uint32_t i = 0; i < cap; i++)
		q->rec[i].next = i + 1 < cap ? i + 1 : TP_FLOW_QNIL;
	q->free_head = 0;
	memcpy(q->hash_key, hash_key, sizeof(q->hash_key));
	return true;
}

void tp_flow_quota_fini(struct tp_flow_quota *q)
{
	free(q->rec);
	free(q->bucket);
	sodium_memzero(q->hash_key, sizeof(q->hash_key));
	q->rec = NULL;
	q->bucket = NULL;
}

uint32_t tp_flow_quota_count(const struct tp_flow_quota *q, const uint8_t key[TP_FLOW_QKEY_LEN],
			     uint32_t b)
{
	uint32_t i = find(q, key, b);

	return i == TP_FLOW_QNIL ? 0 : q->rec[i].count;
}

uint32_t tp_flow_quota_take(struct tp_flow_quota *q, const uint8_t key[TP_FLOW_QKEY_LEN],
			    uint32_t b)
{
	uint32_t i = find(q, key, b);

	if (i != TP_FLOW_QNIL) {
		q->rec[i].count++;
		return i;
	}
	i = q->free_head;
	if (i == TP_FLOW_QNIL)
		return TP_FLOW_QNIL;
	q->free_head = q->rec[i].next;
	memcpy(q->rec[i].key, key, TP_FLOW_QKEY_LEN);
	q->rec[i].count = 1;
	q->rec[i].bucket = b;
	q->rec[i].next = q->bucket[b];
	q->bucket[b] = i;
	return i;
}

void tp_flow_quota_put(struct tp_flow_quota *q, uint32_t i)
{
	uint32_t *p;

	if (i == TP_FLOW_QNIL || --q->rec[i].count > 0)
		return;
	p = &q->bucket[q->rec[i].bucket];
	while (*p != i)
		p = &q->rec[*p].next;
	*p = q->rec[i].next;
	q->rec[i].next = q->free_head;
	q->free_head = i;
}
