/* SPDX-License-Identifier: MIT */
/*
 * Noise_IK_25519_ChaChaPoly_BLAKE2s for the controller channel, built only
 * from the primitives it shares with the WireGuard engine (tp/base/crypto.h:
 * libsodium and libb2), without linking the engine.
 *
 *     <- s
 *     ...
 *     -> e, es, s, ss, {payload}      message 1, TP (initiator)
 *     <- e, ee, se, {payload}         message 2, controller (responder)
 *
 * Prologue: TP_CTRL_NOISE_PROLOGUE. After message 2 both sides Split() into
 * one key per direction (initiator->responder first). The code works on
 * byte buffers only; sockets and framing live elsewhere (tp/ctrl/conn.h).
 *
 * State: a handshake goes ZEROED -> (initiator) SENT_1 -> DONE or
 * (responder) READ_1 -> DONE; any failure wipes it back to ZEROED. Every
 * secret (ephemeral key, chaining key, message keys) lives in the struct
 * and is wiped by tp_ctrl_noise_wipe(), which every exit of the caller must
 * reach; the transport keys handed out are the caller's to wipe.
 */
#ifndef TP_CTRL_NOISE_H
#define TP_CTRL_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_CTRL_NOISE_NAME     "Noise_IK_25519_ChaChaPoly_BLAKE2s"
#define TP_CTRL_NOISE_PROLOGUE "tableau-controller-v1"

enum {
	TP_CTRL_NOISE_KEY_LEN = 32,
	/* e (32) + enc s (32 + 16) + enc payload (n + 16) */
	TP_CTRL_NOISE_MSG1_OVERHEAD = 32 + 48 + 16,
	/* e (32) + enc payload (n + 16) */
	TP_CTRL_NOISE_MSG2_OVERHEAD = 32 + 16,
	/* Largest handshake payload either side accepts. */
	TP_CTRL_NOISE_PAYLOAD_MAX = 256,
};

enum tp_ctrl_noise_state {
	TP_CTRL_NOISE_ZEROED = 0,
	TP_CTRL_NOISE_SENT_1,
	TP_CTRL_NOISE_READ_1,
	TP_CTRL_NOISE_DONE,
};

struct tp_ctrl_noise {
	enum tp_ctrl_noise_state state;
	bool initiator;
	uint8_t h[32];	/* handshake hash */
	uint8_t ck[32]; /* chaining key */
	uint8_t s_priv[32], s_pub[32];
	uint8_t e_priv[32], e_pub[32];
	uint8_t rs[32]; /* remote static: pinned (initiator) or learnt (responder) */
	uint8_t re[32];
};

/* The session keys Split() gives, from this side's point of view. */
struct tp_ctrl_noise_keys {
	uint8_t send[32];
	uint8_t recv[32];
	uint8_t hash[32]; /* final handshake hash (channel binding) */
};

/*
 * Start a handshake. s_priv is this side's X25519 static key; rs is the
 * responder's static public key (initiator only; NULL for a responder).
 * Returns false for an unusable static key.
 */
bool tp_ctrl_noise_init(struct tp_ctrl_noise *hs, bool initiator,
			const uint8_t s_priv[TP_CTRL_NOISE_KEY_LEN], const uint8_t *rs);

/*
 * Initiator: write message 1 into out (outmax >= MSG1_OVERHEAD + plen).
 * e_priv: the ephemeral key, NULL for a fresh random one (tests pass
 * fixed keys). Returns the message length or -EINVAL / -EMSGSIZE.
 */
int tp_ctrl_noise_write1(struct tp_ctrl_noise *hs, const uint8_t *e_priv, const void *payload,
			 size_t plen, uint8_t *out, size_t outmax);

/*
 * Responder: read message 1. On success returns the payload length (written
 * to payload, pmax >= TP_CTRL_NOISE_PAYLOAD_MAX is always enough) and
 * hs->rs holds the initiator's static key, authenticated: the caller
 * decides whether it knows it before answering. -EBADMSG on any failure
 * (wrong length, bad tag, low-order point); hs is then wiped.
 */
int tp_ctrl_noise_read1(struct tp_ctrl_noise *hs, const uint8_t *in, size_t len, uint8_t *payload,
			size_t pmax);

/* Responder: write message 2 and split. Returns the length or -errno. */
int tp_ctrl_noise_write2(struct tp_ctrl_noise *hs, const uint8_t *e_priv, const void *payload,
			 size_t plen, uint8_t *out, size_t outmax, struct tp_ctrl_noise_keys *keys);

/* Initiator: read message 2 and split. Returns the payload length or
 * -EBADMSG (hs wiped). */
int tp_ctrl_noise_read2(struct tp_ctrl_noise *hs, const uint8_t *in, size_t len, uint8_t *payload,
			size_t pmax, struct tp_ctrl_noise_keys *keys);

void tp_ctrl_noise_wipe(struct tp_ctrl_noise *hs);

/*
 * The controller has one key: its Ed25519 bundle-signing key (tp/policy/bundle.h),
 * which tpd.conf pins as controller_key. Its Noise static key is the same
 * key mapped to X25519 by libsodium (crypto_sign_ed25519_*_to_curve25519),
 * so one pinned value authenticates both the channel and the bundles.
 * Both return false for a key that has no usable X25519 form.
 */
bool tp_ctrl_noise_pub_from_ed25519(uint8_t x_pub[32], const uint8_t ed_pk[32]);
bool tp_ctrl_noise_priv_from_ed25519(uint8_t x_priv[32], const uint8_t ed_seed[32]);

#endif /* TP_CTRL_NOISE_H */
