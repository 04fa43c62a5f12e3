/* SPDX-License-Identifier: MIT */
/*
 * MAC1/MAC2 and cookies (DoS protection). [control thread only]
 *
 * The checker is the responder side, one per tunnel: it verifies mac1 against
 * our own public key and, under load, mac2 against a cookie bound to the
 * sender's address under a secret that changes every 120 s. The maker is the
 * initiator side, one per peer: it stamps our messages with mac1 (and mac2
 * while it holds a cookie younger than 115 s) and remembers the last mac1 it
 * sent, which a cookie reply must quote as associated data.
 */
#ifndef TP_TUNNEL_COOKIE_H
#define TP_TUNNEL_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"
#include "tp/dp/tunnel.h"

typedef void (*random_fn)(void *ctx, void *buf, size_t len);

struct cookie_checker {
	uint8_t secret[COOKIE_SECRET_LEN];
	uint64_t secret_birth_ns;
	bool have_secret;
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie_key[NOISE_SYMMETRIC_KEY_LEN];
};

struct cookie_maker {
	uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birth_ns;
	bool have_cookie;
	uint8_t last_mac1_sent[COOKIE_LEN];
	bool have_sent_mac1;
};

enum cookie_mac_state {
	COOKIE_INVALID_MAC,
	COOKIE_VALID_MAC_BUT_NO_COOKIE,
	COOKIE_VALID_MAC_WITH_COOKIE,
};

void wg_cookie_checker_init(struct cookie_checker *cc,
			    const uint8_t our_public[NOISE_PUBLIC_KEY_LEN]);
void wg_cookie_checker_wipe(struct cookie_checker *cc);
void wg_cookie_maker_init(struct cookie_maker *cm, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN]);
void wg_cookie_maker_wipe(struct cookie_maker *cm);

/* msg is a whole handshake message (mac1 and mac2 are its last 32 bytes). */
enum cookie_mac_state wg_cookie_validate(struct cookie_checker *cc, const uint8_t *msg, size_t len,
					 const struct tp_tunnel_endpoint *src, bool check_cookie,
					 uint64_t now_ns, random_fn rnd, void *rctx);
void wg_cookie_add_macs(struct cookie_maker *cm, uint8_t *msg, size_t len, uint64_t now_ns);
void wg_cookie_create_reply(struct cookie_checker *cc, struct message_handshake_cookie *reply,
			    const uint8_t *msg, size_t len, uint32_t receiver_index,
			    const struct tp_tunnel_endpoint *src, uint64_t now_ns, random_fn rnd,
			    void *rctx);
bool wg_cookie_consume_reply(struct cookie_maker *cm, const struct message_handshake_cookie *reply,
			     uint64_t now_ns);

#endif /* TP_TUNNEL_COOKIE_H */
