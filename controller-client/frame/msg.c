// SPDX-License-Identifier: MIT
/* Envelope encode and bounded decode (tp/ctrl/msg.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tp/ctrl/msg.h"

/* protobuf-c turns a few bytes of a repeated field into a struct and a
 * pointer; 16 bytes of heap per input byte covers every message here. */
#define BUDGET_PER_BYTE 16u
#define BUDGET_BASE	(64u << 10)
#define HDR		16u /* size header in front of each block, keeps alignment */

static void *budget_alloc(void *arg, size_t size)
{
	struct tp_ctrl_msg *m = arg;
	uint8_t *p;

	if (size > m->budget - m->used || HDR > m->budget - m->used - size)
		return NULL;
	p = malloc(size + HDR);
	if (!p)
		return NULL;
	memcpy(p, &size, sizeof(size));
	m->used += size + HDR;
	return p + HDR;
}

static void budget_free(void *arg, void *ptr)
{
	struct tp_ctrl_msg *m = arg;
	uint8_t *p = ptr;
	size_t size;

	if (!p)
		return;
	p -= HDR;
	memcpy(&size, p, sizeof(size));
	m->used -= size + HDR;
	free(p);
}

static bool valid_string(const char *s, size_t max)
{
	return !s || strnlen(s, max) < max;
}

/*
 * protobuf-c keeps a field number 0 (invalid in protobuf) as an unknown
 * field when its key is written in two bytes (0x80 0x00), then packs it in
 * one byte (0x00), which it refuses to read: such a message would not
 * survive its own re-encoding. Refuse it, at any depth (the fuzz harness's
 * decode -> encode -> decode invariant found it).
 */
static bool tags_valid(const ProtobufCMessage *m, unsigned depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;

	if (depth > 8)
		return false; /* the schema nests three deep */
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return false;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v =
				*(ProtobufCMessage *const *const *)(const void *)(base + f->offset);

			for (size_t j = 0; j < n; j++)
				if (!tags_valid(v[j], depth + 1))
					return false;
		} else {
			const ProtobufCMessage *sub =
				*(const ProtobufCMessage *const *)(const void *)(base + f->offset);

			if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
			    *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
				continue;
			if (sub && !tags_valid(sub, depth + 1))
				return false;
		}
	}
	return true;
}

/* Limits a reader relies on, beyond what protobuf-c checks. */
static bool valid(const Tableau__V1__Envelope *e)
{
	if (!tags_valid(&e->base, 0))
		return false;
	switch (e->msg_case) {
	case TABLEAU__V1__ENVELOPE__MSG_HELLO:
		return e->hello->public_key.len == 32 &&
		       valid_string(e->hello->tp_name, TP_CTRL_NAME_MAX) &&
		       valid_string(e->hello->software_version, 64);
	case TABLEAU__V1__ENVELOPE__MSG_PUSH:
		return e->push->signed_bundle.len > 0;
	case TABLEAU__V1__ENVELOPE__MSG_NACK:
		return valid_string(e->nack->text, 512);
	default:
		return true;
	}
}

struct tp_ctrl_msg *tp_ctrl_msg_decode(const uint8_t *buf, size_t len)
{
	struct tp_ctrl_msg *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->budget = BUDGET_BASE + BUDGET_PER_BYTE * len;
	m->alloc = (ProtobufCAllocator){
		.alloc = budget_alloc, .free = budget_free, .allocator_data = m};
	m->env = tableau__v1__envelope__unpack(&m->alloc, len, buf);
	if (!m->env || !valid(m->env)) {
		tp_ctrl_msg_free(m);
		return NULL;
	}
	return m;
}

void tp_ctrl_msg_free(struct tp_ctrl_msg *m)
{
	if (!m)
		return;
	if (m->env)
		tableau__v1__envelope__free_unpacked(m->env, &m->alloc);
	free(m);
}

size_t tp_ctrl_msg_size(const Tableau__V1__Envelope *env)
{
	return tableau__v1__envelope__get_packed_size(env);
}

size_t tp_ctrl_msg_pack(const Tableau__V1__Envelope *env, uint8_t *out)
{
	return tableau__v1__envelope__pack(env, out);
}

uint64_t tp_ctrl_msg_features(const uint8_t *payload, size_t len)
{
	struct tp_ctrl_msg m = {.budget = BUDGET_BASE};
	Tableau__V1__HandshakePayload *hp;
	uint64_t f;

	if (!payload || !len)
		return 0;
	m.alloc = (ProtobufCAllocator){
		.alloc = budget_alloc, .free = budget_free, .allocator_data = &m};
	hp = tableau__v1__handshake_payload__unpack(&m.alloc, len, payload);
	if (!hp)
		return 0;
	f = hp->features;
	tableau__v1__handshake_payload__free_unpacked(hp, &m.alloc);
	return f;
}

size_t tp_ctrl_msg_pack_features(uint64_t features, uint8_t *out, size_t max)
{
	Tableau__V1__HandshakePayload hp = TABLEAU__V1__HANDSHAKE_PAYLOAD__INIT;

	hp.features = features;
	if (tableau__v1__handshake_payload__get_packed_size(&hp) > max)
		return 0;
	return tableau__v1__handshake_payload__pack(&hp, out);
}
