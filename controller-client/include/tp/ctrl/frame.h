/* SPDX-License-Identifier: MIT */
/*
 * Frames of the controller channel: a 32-bit big-endian length, then that
 * many bytes. The two handshake messages travel in frames in the clear;
 * every later frame is AEAD ciphertext (ChaCha20-Poly1305, 16-byte tag) of
 * one Envelope, under the direction's key and a 64-bit counter nonce that
 * both sides count implicitly (TCP keeps order), starting at 0.
 *
 * The receiver refuses a length above its maximum from the 4 header bytes
 * alone, before allocating anything, and grows the body buffer only as
 * bytes actually arrive, so a peer that announces a large frame and then
 * stalls holds only what it sent.
 */
#ifndef TP_CTRL_FRAME_H
#define TP_CTRL_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	TP_CTRL_FRAME_HDR_LEN = 4,
	TP_CTRL_FRAME_TAG_LEN = 16,
	TP_CTRL_FRAME_MIN = 16, /* no valid frame is shorter (a tag) */
};

/* Largest frame: the largest bundle (TP_BUNDLE_MAX_BYTES, 16 MiB) plus room
 * for the envelope and the tag. */
#define TP_CTRL_FRAME_MAX	  ((16u << 20) + 65536u)
/* Largest frame before the peer is authenticated: message 1 with the
 * largest handshake payload. */
#define TP_CTRL_FRAME_PREAUTH_MAX 512u

/* Incremental reader. State: reading the header (hdr_got < 4), then the
 * body (got < len); done when got == len, until tp_ctrl_frame_rx_next(). */
struct tp_ctrl_frame_rx {
	size_t max;
	uint8_t hdr[TP_CTRL_FRAME_HDR_LEN];
	unsigned hdr_got;
	uint8_t *buf; /* owned */
	size_t len, got, cap;
	bool done;
};

void tp_ctrl_frame_rx_init(struct tp_ctrl_frame_rx *rx, size_t max);
void tp_ctrl_frame_rx_free(struct tp_ctrl_frame_rx *rx);

/*
 * Consume bytes from in. Returns how many were used (it stops after one
 * complete frame: rx->done, body in rx->buf[0..rx->len)), or -EMSGSIZE for
 * a length above the maximum, -EBADMSG for one below TP_CTRL_FRAME_MIN,
 * -ENOMEM.
 */
ssize_t tp_ctrl_frame_rx_feed(struct tp_ctrl_frame_rx *rx, const uint8_t *in, size_t n);

/* Forget the completed frame and start on the next one. Frees a buffer
 * above 64 KiB so one large push does not pin its memory. */
void tp_ctrl_frame_rx_next(struct tp_ctrl_frame_rx *rx);

void tp_ctrl_frame_put_len(uint8_t out[TP_CTRL_FRAME_HDR_LEN], uint32_t len);

#endif /* TP_CTRL_FRAME_H */
