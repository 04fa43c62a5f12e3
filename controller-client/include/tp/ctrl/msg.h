/* SPDX-License-Identifier: MIT */
/*
 * Envelope (controller-client/proto/controller.proto) encode and bounded
 * decode. The decoder allocates through a budget proportional to the input
 * (protobuf-c expands repeated fields into structs), refuses an envelope
 * whose fields break the channel's limits, and returns an envelope with no
 * arm set for a message type it does not know (the caller ignores it).
 */
#ifndef TP_CTRL_MSG_H
#define TP_CTRL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "controller.pb-c.h"

#define TP_CTRL_NAME_MAX 64 /* TP names, as in the site (incl. NUL) */

struct tp_ctrl_msg {
	Tableau__V1__Envelope *env;
	/* private: the decode budget */
	ProtobufCAllocator alloc;
	size_t budget, used;
};

/* NULL for bytes that are not a valid envelope. */
struct tp_ctrl_msg *tp_ctrl_msg_decode(const uint8_t *buf, size_t len);
void tp_ctrl_msg_free(struct tp_ctrl_msg *m);

/* Packed size of env, and pack it into out (exactly that many bytes). */
size_t tp_ctrl_msg_size(const Tableau__V1__Envelope *env);
size_t tp_ctrl_msg_pack(const Tableau__V1__Envelope *env, uint8_t *out);

/* The Feature bits of a Noise handshake payload (tableau.v1
 * HandshakePayload); 0 for an empty or unreadable one (a first-version
 * peer). */
uint64_t tp_ctrl_msg_features(const uint8_t *payload, size_t len);
/* Pack a HandshakePayload with these bits into out; its length (0 if it
 * does not fit). */
size_t tp_ctrl_msg_pack_features(uint64_t features, uint8_t *out, size_t max);

#endif /* TP_CTRL_MSG_H */
