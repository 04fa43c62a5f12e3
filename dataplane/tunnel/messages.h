/* SPDX-License-Identifier: MIT */
/*
 * Every WireGuard wire structure and protocol constant, in one place. All
 * integers on the wire are little-endian; structs are packed and only ever
 * accessed through memcpy-safe byte arrays or the le helpers below, so the
 * engine is correct on any host byte order and alignment.
 */
#ifndef TP_TUNNEL_MESSAGES_H
#define TP_TUNNEL_MESSAGES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tp/base/crypto.h"

#define NOISE_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define NOISE_IDENTIFIER   "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define LABEL_MAC1	   "mac1----"
#define LABEL_COOKIE	   "cookie--"

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,
	NOISE_AUTHTAG_LEN = 16,
	NOISE_HASH_LEN = 32,
	COOKIE_LEN = 16,
	COOKIE_NONCE_LEN = 24,
	COOKIE_SECRET_LEN = 32,
};

#define NSEC_PER_SEC 1000000000ULL

/* Timers and limits. Times in nanoseconds, with the unit in the name. */
#define REKEY_AFTER_MESSAGES	 (1ULL << 60)
#define REJECT_AFTER_MESSAGES	 (UINT64_MAX - (1ULL << 13)) /* 2^64 - 2^13 - 1 */
#define REKEY_AFTER_TIME_NS	 (120 * NSEC_PER_SEC)
#define REJECT_AFTER_TIME_NS	 (180 * NSEC_PER_SEC)
#define REKEY_ATTEMPT_TIME_NS	 (90 * NSEC_PER_SEC)
#define REKEY_TIMEOUT_NS	 (5 * NSEC_PER_SEC)
#define REKEY_TIMEOUT_JITTER_NS	 (NSEC_PER_SEC / 3)
#define KEEPALIVE_TIMEOUT_NS	 (10 * NSEC_PER_SEC)
#define COOKIE_SECRET_MAX_AGE_NS (120 * NSEC_PER_SEC)
#define COOKIE_SECRET_LATENCY_NS (5 * NSEC_PER_SEC)
#define ZERO_KEYS_AFTER_NS	 (3 * REJECT_AFTER_TIME_NS)
#define INITIATION_MIN_GAP_NS	 (NSEC_PER_SEC / 50)
#define UNDER_LOAD_HOLD_NS	 (NSEC_PER_SEC)
#define MAX_TIMER_HANDSHAKES	 (REKEY_ATTEMPT_TIME_NS / REKEY_TIMEOUT_NS) /* 18 */
/* The initiator renews a key it still receives on when it gets this old, so a
 * new one is in place before the responder's copy expires. */
#define REKEY_ON_RECV_AGE_NS	 (REJECT_AFTER_TIME_NS - KEEPALIVE_TIMEOUT_NS - REKEY_TIMEOUT_NS)

/* Anti-replay: RFC 6479 ring of 64-bit words. */
enum replay_window {
	REPLAY_BITS_TOTAL = 8192,
	REPLAY_WORD_BITS = 64,
	REPLAY_WORDS = REPLAY_BITS_TOTAL / REPLAY_WORD_BITS,
	REPLAY_WINDOW_SIZE = REPLAY_BITS_TOTAL - REPLAY_WORD_BITS, /* 8128 */
};

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

enum message_alignment {
	MESSAGE_PADDING_MULTIPLE = 16,
};

/* The first u32 of every message: the type byte then three zero bytes. */
struct message_header {
	uint8_t type[4];
} __attribute__((packed));

struct message_macs {
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct message_handshake_initiation {
	struct message_header header;
	uint8_t sender_index[4];
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[NOISE_PUBLIC_KEY_LEN + NOISE_AUTHTAG_LEN];
	uint8_t encrypted_timestamp[NOISE_TIMESTAMP_LEN + NOISE_AUTHTAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_response {
	struct message_header header;
	uint8_t sender_index[4];
	uint8_t receiver_index[4];
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[NOISE_AUTHTAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_cookie {
	struct message_header header;
	uint8_t receiver_index[4];
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[COOKIE_LEN + NOISE_AUTHTAG_LEN];
} __attribute__((packed));

struct message_data {
	struct message_header header;
	uint8_t receiver_index[4];
	uint8_t counter[8];
	uint8_t encrypted_data[];
} __attribute__((packed));

enum message_sizes {
	MESSAGE_INITIATION_LEN = 148,
	MESSAGE_RESPONSE_LEN = 92,
	MESSAGE_COOKIE_LEN = 64,
	MESSAGE_DATA_HEADER_LEN = 16,
	MESSAGE_DATA_MIN_LEN = MESSAGE_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN, /* keepalive */
	MESSAGE_MAX_LEN = 65535 - 8,					    /* a UDP payload */
};

_Static_assert(sizeof(struct message_handshake_initiation) == MESSAGE_INITIATION_LEN, "wire");
_Static_assert(sizeof(struct message_handshake_response) == MESSAGE_RESPONSE_LEN, "wire");
_Static_assert(sizeof(struct message_handshake_cookie) == MESSAGE_COOKIE_LEN, "wire");
_Static_assert(sizeof(struct message_data) == MESSAGE_DATA_HEADER_LEN, "wire");
_Static_assert(offsetof(struct message_handshake_initiation, macs) == 116, "mac1 @116");

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline void message_header_set(struct message_header *h, enum message_type t)
{
	h->type[0] = (uint8_t)t;
	h->type[1] = h->type[2] = h->type[3] = 0;
}

#endif /* TP_TUNNEL_MESSAGES_H */
