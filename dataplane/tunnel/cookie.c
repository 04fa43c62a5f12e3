// SPDX-License-Identifier: MIT
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "cookie.h"

static void precompute_key(uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const char *label,
			   const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	tp_crypto_hash2(key, label, 8, pub, NOISE_PUBLIC_KEY_LEN);
}

void wg_cookie_checker_init(struct cookie_checker *cc,
			    const uint8_t our_public[NOISE_PUBLIC_KEY_LEN])
{
	memset(cc, 0, sizeof(*cc));
	precompute_key(cc->mac1_key, LABEL_MAC1, our_public);
	precompute_key(cc->cookie_key, LABEL_COOKIE, our_public);
}

void wg_cookie_checker_wipe(struct cookie_checker *cc)
{
	sodium_memzero(cc, sizeof(*cc));
}

void wg_cookie_maker_init(struct cookie_maker *cm, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN])
{
	memset(cm, 0, sizeof(*cm));
	precompute_key(cm->mac1_key, LABEL_MAC1, peer_public);
	precompute_key(cm->cookie_key, LABEL_COOKIE, peer_public);
}

void wg_cookie_maker_wipe(struct cookie_maker *cm)
{
	sodium_memzero(cm, sizeof(*cm));
}

/* cookie = MAC(secret, source address || source port); the secret rolls over
 * lazily once it is older than COOKIE_SECRET_MAX_AGE. */
static void make_cookie(struct cookie_checker *cc, uint8_t cookie[COOKIE_LEN],
			const struct tp_tunnel_endpoint *src, uint64_t now_ns, random_fn rnd,
			void *rctx)
{
	uint8_t input[18];
	size_t alen = src->family == AF_INET6 ? 16 : 4;

	if (!cc->have_secret || now_ns - cc->secret_birth_ns >= COOKIE_SECRET_MAX_AGE_NS) {
		rnd(rctx, cc->secret, sizeof(cc->secret));
		cc->secret_birth_ns = now_ns;
		cc->have_secret = true;
	}
	memcpy(input, src->addr, alen);
	input[alen] = (uint8_t)(src->port >> 8);
	input[alen + 1] = (uint8_t)src->port;
	tp_crypto_mac(cookie, cc->secret, sizeof(cc->secret), input, alen + 2);
}

enum cookie_mac_state wg_cookie_validate(struct cookie_checker *cc, const uint8_t *msg, size_t len,
					 const struct tp_tunnel_endpoint *src, bool check_cookie,
					 uint64_t now_ns, random_fn rnd, void *rctx)
{
	const struct message_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t computed[COOKIE_LEN];
	uint8_t cookie[COOKIE_LEN];
	enum cookie_mac_state ret = COOKIE_INVALID_MAC;

	tp_crypto_mac(computed, cc->mac1_key, sizeof(cc->mac1_key), msg, len - sizeof(*macs));
	if (!tp_crypto_equal(computed, macs->mac1, COOKIE_LEN))
		goto out;
	ret = COOKIE_VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;
	make_cookie(cc, cookie, src, now_ns, rnd, rctx);
	tp_crypto_mac(computed, cookie, sizeof(cookie), msg, len - COOKIE_LEN);
	if (tp_crypto_equal(computed, macs->mac2, COOKIE_LEN))
		ret = COOKIE_VALID_MAC_WITH_COOKIE;
	sodium_memzero(cookie, sizeof(cookie));
out:
	return ret;
}

void wg_cookie_add_macs(struct cookie_maker *cm, uint8_t *msg, size_t len, uint64_t now_ns)
{
	struct message_macs *macs = (void *)(msg + len - sizeof(*macs));

	tp_crypto_mac(macs->mac1, cm->mac1_key, sizeof(cm->mac1_key), msg, len - sizeof(*macs));
	memcpy(cm->last_mac1_sent, macs->mac1, COOKIE_LEN);
	cm->have_sent_mac1 = true;

	if (cm->have_cookie &&
	    now_ns - cm->cookie_birth_ns < COOKIE_SECRET_MAX_AGE_NS - COOKIE_SECRET_LATENCY_NS)
		tp_crypto_mac(macs->mac2, cm->cookie, COOKIE_LEN, msg, len - COOKIE_LEN);
	else
		memset(macs->mac2, 0, COOKIE_LEN);
}

void wg_cookie_create_reply(struct cookie_checker *cc, struct message_handshake_cookie *reply,
			    const uint8_t *msg, size_t len, uint32_t receiver_index,
			    const struct tp_tunnel_endpoint *src, uint64_t now_ns, random_fn rnd,
			    void *rctx)
{
	const struct message_macs *macs = (const void *)(msg + len - sizeof(*macs));
	uint8_t cookie[COOKIE_LEN];

	message_header_set(&reply->header, MESSAGE_HANDSHAKE_COOKIE);
	put_le32(reply->receiver_index, receiver_index);
	rnd(rctx, reply->nonce, sizeof(reply->nonce));
	make_cookie(cc, cookie, src, now_ns, rnd, rctx);
	tp_crypto_xaead_seal(reply->encrypted_cookie, cookie, COOKIE_LEN, reply->nonce,
			     cc->cookie_key, macs->mac1, COOKIE_LEN);
	sodium_memzero(cookie, sizeof(cookie));
}

bool wg_cookie_consume_reply(struct cookie_maker *cm, const struct message_handshake_cookie *reply,
			     uint64_t now_ns)
{
	uint8_t cookie[COOKIE_LEN];
	bool ok = false;

	if (!cm->have_sent_mac1)
		goto out;
	if (!tp_crypto_xaead_open(cookie, reply->encrypted_cookie, sizeof(reply->encrypted_cookie),
				  reply->nonce, cm->cookie_key, cm->last_mac1_sent, COOKIE_LEN))
		goto out;
	memcpy(cm->cookie, cookie, COOKIE_LEN);
	cm->cookie_birth_ns = now_ns;
	cm->have_cookie = true;
	cm->have_sent_mac1 = false;
	ok = true;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ok;
}
