// SPDX-License-Identifier: MIT
/* Incremental frame reader (tp/ctrl/frame.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tp/ctrl/frame.h"

#define KEEP_BUF_MAX (64u << 10)

void tp_ctrl_frame_rx_init(struct tp_ctrl_frame_rx *rx, size_t max)
{
	memset(rx, 0, sizeof(*rx));
	rx->max = max;
}

void tp_ctrl_frame_rx_free(struct tp_ctrl_frame_rx *rx)
{
	free(rx->buf);
	rx->buf = NULL;
	rx->cap = 0;
}

void tp_ctrl_frame_rx_next(struct tp_ctrl_frame_rx *rx)
{
	if (rx->cap > KEEP_BUF_MAX)
		tp_ctrl_frame_rx_free(rx);
	rx->hdr_got = 0;
	rx->len = rx->got = 0;
	rx->done = false;
}

void tp_ctrl_frame_put_len(uint8_t out[TP_CTRL_FRAME_HDR_LEN], uint32_t len)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

/* Make room for at least want body bytes, growing geometrically but never
 * past the announced length. */
static int reserve(struct tp_ctrl_frame_rx *rx, size_t want)
{
	size_t cap = rx->cap ? rx->cap : 4096;
	uint8_t *b;

	if (want <= rx->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (cap > rx->len)
		cap = rx->len;
	b = realloc(rx->buf, cap);
	if (!b)
		return -ENOMEM;
	rx->buf = b;
	rx->cap = cap;
	return 0;
}

ssize_t tp_ctrl_frame_rx_feed(struct tp_ctrl_frame_rx *rx, const uint8_t *in, size_t n)
{
	size_t used = 0, take;
	int rc;

	if (rx->done)
		return 0;
	while (rx->hdr_got < TP_CTRL_FRAME_HDR_LEN && used < n)
		rx->hdr[rx->hdr_got++] = in[used++];
	if (rx->hdr_got < TP_CTRL_FRAME_HDR_LEN)
		return (ssize_t)used;
	if (!rx->len) {
		uint32_t len = (uint32_t)rx->hdr[0] << 24 | (uint32_t)rx->hdr[1] << 16 |
			       (uint32_t)rx->hdr[2] << 8 | rx->hdr[3];

		if (len > rx->max)
			return -EMSGSIZE;
		if (len < TP_CTRL_FRAME_MIN)
			return -EBADMSG;
		rx->len = len;
	}
	take = n - used;
	if (take > rx->len - rx->got)
		take = rx->len - rx->got;
	if (!take)
		return (ssize_t)used;
	rc = reserve(rx, rx->got + take);
	if (rc < 0)
		return rc;
	memcpy(rx->buf + rx->got, in + used, take);
	rx->got += take;
	used += take;
	rx->done = rx->got == rx->len;
	return (ssize_t)used;
}
