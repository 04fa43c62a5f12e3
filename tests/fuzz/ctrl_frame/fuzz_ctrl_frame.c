// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for everything the controller channel parses before or
 * after decryption: the frame reader (fed in input-chosen chunk sizes, with
 * both the pre-auth and the transport maximum), the envelope decoder on
 * every frame body and on the raw input, and Noise message 1 / message 2
 * readers on the raw input. Invariants checked: a completed frame has the
 * length its header announced and never exceeds the maximum; the reader
 * consumes every byte or stops with an error; decoded envelopes re-encode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/crypto.h"
#include "tp/ctrl_frame.h"
#include "tp/ctrl_msg.h"
#include "tp/ctrl_noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(const uint8_t *p, size_t n)
{
	struct tp_ctrl_msg *m = tp_ctrl_msg_decode(p, n);
	uint8_t *out;
	size_t len;

	if (!m)
		return;
	len = tp_ctrl_msg_size(m->env);
	out = malloc(len ? len : 1);
	if (out && tp_ctrl_msg_pack(m->env, out) != len)
		abort();
	free(out);
	tp_ctrl_msg_free(m);
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
