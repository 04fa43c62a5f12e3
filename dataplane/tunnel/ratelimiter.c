// SPDX-License-Identifier: MIT
/*
 * State: a set-associative table of buckets of WAYS entries. A source's
 * entry lives in the bucket its keyed SipHash selects (the key is random per
 * tunnel so nobody can aim at one bucket). An entry idle for a second has a
 * full bucket again (20 tokens/s > burst 5), so such entries are simply
 * reused; no garbage collection is needed. When every way of a bucket is busy
 * the source is refused, as the reference refuses when its table is full.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "messages.h"
#include "ratelimiter.h"

#define PACKETS_PER_SECOND 20
#define PACKETS_BURSTABLE  5
#define PACKET_COST_NS	   (NSEC_PER_SEC / PACKETS_PER_SECOND)
#define TOKEN_MAX_NS	   (PACKET_COST_NS * PACKETS_BURSTABLE)
#define ENTRY_IDLE_NS	   NSEC_PER_SEC

enum { WAYS = 8, KEY_LEN = 9 };

struct rl_entry {
	uint64_t last_ns; /* 0 = never used */
	uint64_t tokens_ns;
	uint8_t key[KEY_LEN]; /* family byte + IPv4 address or IPv6 /64 */
};

struct ratelimiter {
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	size_t mask; /* buckets - 1 */
	struct rl_entry *table;
};

struct ratelimiter *wg_ratelimiter_new(unsigned entries, const uint8_t hash_key[16])
{
	struct ratelimiter *rl = calloc(1, sizeof(*rl));
	size_t buckets = 1;

	if (!rl)
		goto fail_alloc;
	while (buckets * WAYS < entries)
		buckets <<= 1;
	rl->mask = buckets - 1;
	rl->table = calloc(buckets * WAYS, sizeof(*rl->table));
	if (!rl->table)
		goto fail_table;
	memcpy(rl->hash_key, hash_key, sizeof(rl->hash_key));
	return rl;

fail_table:
	free(rl);
fail_alloc:
	return NULL;
}

void wg_ratelimiter_free(struct ratelimiter *rl)
{
	if (!rl)
		return;
	free(rl->table);
	sodium_memzero(rl->hash_key, sizeof(rl->hash_key));
	free(rl);
}

bool wg_ratelimiter_allow(struct ratelimiter *rl, const struct tp_tunnel_endpoint *src,
			  uint64_t now_ns)
{
	uint8_t key[KEY_LEN] = {src->family};
	uint64_t h;
	struct rl_entry *bucket, *free_slot = NULL;

	memcpy(key + 1, src->addr, src->family == AF_INET6 ? 8 : 4);
	crypto_shorthash((uint8_t *)&h, key, sizeof(key), rl->hash_key);
	bucket = &rl->table[(h & rl->mask) * WAYS];

	for (int i = 0; i < WAYS; i++) {
		struct rl_entry *e = &bucket[i];
		bool idle = !e->last_ns || now_ns - e->last_ns >= ENTRY_IDLE_NS;

		if (!idle && memcmp(e->key, key, sizeof(key)) == 0) {
			uint64_t tokens = e->tokens_ns + (now_ns - e->last_ns);

			if (tokens > TOKEN_MAX_NS)
				tokens = TOKEN_MAX_NS;
			e->last_ns = now_ns;
			if (tokens < PACKET_COST_NS) {
				e->tokens_ns = tokens;
				return false;
			}
			e->tokens_ns = tokens - PACKET_COST_NS;
			return true;
		}
		if (idle && !free_slot)
			free_slot = e;
	}
	if (!free_slot)
		return false;
	memcpy(free_slot->key, key, sizeof(key));
	free_slot->last_ns = now_ns ? now_ns : 1;
	free_slot->tokens_ns = TOKEN_MAX_NS - PACKET_COST_NS;
	return true;
}
