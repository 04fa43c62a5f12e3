// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for everything the controller channel parses before or
 * after decryption: the frame reader (fed in input-chosen chunk sizes, with
 * both the pre-auth and the transport maximum), the envelope decoder on
 * every frame body and on the raw input, and Noise message 1 / message 2
 * readers on the raw input, and the handshake payload reader. Invariants
 * checked: a completed frame has the length its header announced and never
 * exceeds the maximum; the reader consumes every byte or stops with an
 * error; an envelope that decodes re-encodes to bytes that decode again
 * to the same message (decode -> encode -> decode -> encode is a fixed
 * point: same arm, same bytes); so do handshake payloads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/base/crypto.h"
#include "tp/ctrl/frame.h"
#include "tp/ctrl/msg.h"
#include "tp/ctrl/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Canonical bytes of a decoded envelope (malloc'd). */
static uint8_t *encode(const struct tp_ctrl_msg *m, size_t *len)
{
	uint8_t *out;

	*len = tp_ctrl_msg_size(m->env);
	out = malloc(*len ? *len : 1);
	if (!out)
		abort();
	if (tp_ctrl_msg_pack(m->env, out) != *len)
		abort();
	return out;
}

static void decode(const uint8_t *p, size_t n)
{
	struct tp_ctrl_msg *m = tp_ctrl_msg_decode(p, n), *again;
	uint8_t *b1, *b2;
	size_t l1, l2;

	if (!m)
		return;
	b1 = encode(m, &l1);
	/* What the decoder accepted, re-encoded, is accepted again (the
	 * limits hold for the canonical form too) and means the same. */
	again = tp_ctrl_msg_decode(b1, l1);
	if (!again)
		abort();
	if (again->env->msg_case != m->env->msg_case)
		abort();
	b2 = encode(again, &l2);
	if (l2 != l1 || memcmp(b1, b2, l1) != 0)
		abort();
	free(b1);
	free(b2);
	tp_ctrl_msg_free(again);
	tp_ctrl_msg_free(m);
}

/* Handshake payloads: whatever bits are read, they pack and read back. */
static void features(const uint8_t *p, size_t n)
{
	uint8_t buf[TP_CTRL_NOISE_PAYLOAD_MAX];
	uint64_t f = tp_ctrl_msg_features(p, n);
	size_t len = tp_ctrl_msg_pack_features(f, buf, sizeof(buf));

	if (!len && f)
		abort();
	if (tp_ctrl_msg_features(len ? buf : NULL, len) != f)
		abort();
}

static void frames(const uint8_t *data, size_t size, size_t max, uint8_t chunk_seed)
{
	struct tp_ctrl_frame_rx rx;
	size_t off = 0, chunk = (size_t)(chunk_seed % 17) + 1;

	tp_ctrl_frame_rx_init(&rx, max);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		ssize_t used = tp_ctrl_frame_rx_feed(&rx, data + off, n);

		if (used < 0)
			break;
		if (used == 0 && !rx.done)
			abort(); /* no progress without a frame: would spin */
		off += (size_t)used;
		if (rx.done) {
			if (rx.len > max || rx.got != rx.len)
				abort();
			decode(rx.buf, rx.len);
			tp_ctrl_frame_rx_next(&rx);
		}
		chunk = chunk * 5 % 4099 + 1;
	}
	tp_ctrl_frame_rx_free(&rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t r_priv[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
					   12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
					   23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	static uint8_t r_pub[32];
	static int init;
	struct tp_ctrl_noise hs;
	struct tp_ctrl_noise_keys k;
	uint8_t payload[TP_CTRL_NOISE_PAYLOAD_MAX], m1[TP_CTRL_NOISE_MSG1_OVERHEAD];

	if (!init) {
		tp_crypto_init();
		tp_crypto_pubkey(r_pub, r_priv);
		init = 1;
	}
	frames(data, size, TP_CTRL_FRAME_PREAUTH_MAX, size ? data[0] : 0);
	frames(data, size, TP_CTRL_FRAME_MAX, size > 1 ? data[1] : 0);
	decode(data, size);
	features(data, size < TP_CTRL_NOISE_PAYLOAD_MAX ? size : TP_CTRL_NOISE_PAYLOAD_MAX);
	/* Handshake readers on hostile bytes. */
	tp_ctrl_noise_init(&hs, false, r_priv, NULL);
	tp_ctrl_noise_read1(&hs, data, size, payload, sizeof(payload));
	tp_ctrl_noise_wipe(&hs);
	tp_ctrl_noise_init(&hs, true, r_priv, r_pub);
	tp_ctrl_noise_write1(&hs, r_priv, NULL, 0, m1, sizeof(m1));
	tp_ctrl_noise_read2(&hs, data, size, payload, sizeof(payload), &k);
	tp_ctrl_noise_wipe(&hs);
	return 0;
}
