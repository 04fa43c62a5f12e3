// SPDX-License-Identifier: MIT
/* A controller-channel connection (tp/ctrl/conn.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp/base/crypto.h"
#include "tp/ctrl/conn.h"
#include "tp/ctrl/msg.h"

void tp_ctrl_conn_init(struct tp_ctrl_conn *c, int fd, size_t rx_max, size_t tx_limit)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->tx_limit = tx_limit;
	tp_ctrl_frame_rx_init(&c->rx, rx_max);
	c->reads_left = TP_CTRL_CONN_READS;
}

void tp_ctrl_conn_close(struct tp_ctrl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	tp_ctrl_frame_rx_free(&c->rx);
	free(c->tx);
	c->tx = NULL;
	c->tx_off = c->tx_len = c->tx_cap = 0;
	c->keyed = false;
	tp_crypto_wipe(c->send_key, sizeof(c->send_key));
	tp_crypto_wipe(c->recv_key, sizeof(c->recv_key));
}

void tp_ctrl_conn_set_keys(struct tp_ctrl_conn *c, const struct tp_ctrl_noise_keys *k,
			   size_t rx_max)
{
	memcpy(c->send_key, k->send, 32);
	memcpy(c->recv_key, k->recv, 32);
	c->send_ctr = c->recv_ctr = 0;
	c->send_key_frames = 0;
	c->keyed = true;
	c->rx.max = rx_max;
}

void tp_ctrl_conn_begin(struct tp_ctrl_conn *c)
{
	c->reads_left = TP_CTRL_CONN_READS;
}

static int fill(struct tp_ctrl_conn *c)
{
	ssize_t n;

	if (!c->reads_left)
		return 0;
	c->reads_left--;
	n = read(c->fd, c->inbuf, sizeof(c->inbuf));
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
	c->in_off = 0;
	c->in_len = (size_t)n;
	c->rx_bytes += (uint64_t)n;
	return 1;
}

int tp_ctrl_conn_recv(struct tp_ctrl_conn *c, uint8_t **frame, size_t *len)
{
	ssize_t used;
	int rc;

	if (c->rx.done)
		tp_ctrl_frame_rx_next(&c->rx);
	while (!c->rx.done) {
		if (c->in_off == c->in_len) {
			rc = fill(c);
			if (rc <= 0)
				return rc;
		}
		used = tp_ctrl_frame_rx_feed(&c->rx, c->inbuf + c->in_off, c->in_len - c->in_off);
		if (used < 0)
			return (int)used;
		c->in_off += (size_t)used;
	}
	*frame = c->rx.buf;
	*len = c->rx.len;
	c->rx_frames++;
	if (!c->keyed)
		return 1;
	if (c->recv_ctr == UINT64_MAX)
		return -EOVERFLOW;
	if (!tp_crypto_aead_open(c->rx.buf, c->rx.buf, c->rx.len, c->recv_ctr, c->recv_key, NULL,
				 0))
		return -EBADMSG;
	c->recv_ctr++;
	*len = c->rx.len - TP_CTRL_FRAME_TAG_LEN;
	return 1;
}

/* Room for n more bytes at the end of the queue. */
static int reserve(struct tp_ctrl_conn *c, size_t n)
{
	size_t cap;
	uint8_t *b;

	if (tp_ctrl_conn_pending(c) + n > c->tx_limit)
		return -ENOBUFS;
	if (c->tx_off && c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	if (c->tx_len + n <= c->tx_cap)
		return 0;
	if (c->tx_off) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
		if (c->tx_len + n <= c->tx_cap)
			return 0;
	}
	cap = c->tx_cap ? c->tx_cap : 4096;
	while (cap < c->tx_len + n)
		cap *= 2;
	b = realloc(c->tx, cap);
	if (!b)
		return -ENOMEM;
	c->tx = b;
	c->tx_cap = cap;
	return 0;
}

int tp_ctrl_conn_send_raw(struct tp_ctrl_conn *c, const void *buf, size_t len)
{
	int rc = reserve(c, TP_CTRL_FRAME_HDR_LEN + len);

	if (rc < 0)
		return rc;
	tp_ctrl_frame_put_len(c->tx + c->tx_len, (uint32_t)len);
	memcpy(c->tx + c->tx_len + TP_CTRL_FRAME_HDR_LEN, buf, len);
	c->tx_len += TP_CTRL_FRAME_HDR_LEN + len;
	c->tx_frames++;
	return 0;
}

int tp_ctrl_conn_send(struct tp_ctrl_conn *c, const Tableau__V1__Envelope *env)
{
	size_t len = tp_ctrl_msg_size(env);
	uint8_t *p;
	int rc;

	if (!c->keyed)
		return -EINVAL;
	if (c->send_ctr == UINT64_MAX)
		return -EOVERFLOW;
	if (len + TP_CTRL_FRAME_TAG_LEN > TP_CTRL_FRAME_MAX)
		return -EMSGSIZE;
	rc = reserve(c, TP_CTRL_FRAME_HDR_LEN + len + TP_CTRL_FRAME_TAG_LEN);
	if (rc < 0)
		return rc;
	p = c->tx + c->tx_len;
	tp_ctrl_frame_put_len(p, (uint32_t)(len + TP_CTRL_FRAME_TAG_LEN));
	tp_ctrl_msg_pack(env, p + TP_CTRL_FRAME_HDR_LEN);
	tp_crypto_aead_seal(p + TP_CTRL_FRAME_HDR_LEN, p + TP_CTRL_FRAME_HDR_LEN, len, c->send_ctr,
			    c->send_key, NULL, 0);
	c->send_ctr++;
	c->send_key_frames++;
	c->tx_len += TP_CTRL_FRAME_HDR_LEN + len + TP_CTRL_FRAME_TAG_LEN;
	c->tx_frames++;
	return 0;
}

/* REKEY(k) = ENCRYPT(k, 2^64-1, "", zeros(32)), first 32 bytes (Noise,
 * section 11.3): the nonce 2^64-1 is never used for a frame. */
static void rekey(uint8_t k[32])
{
	uint8_t zeros[32] = {0}, out[32 + TP_CTRL_FRAME_TAG_LEN];

	tp_crypto_aead_seal(out, zeros, sizeof(zeros), UINT64_MAX, k, NULL, 0);
	memcpy(k, out, 32);
	tp_crypto_wipe(out, sizeof(out));
}

bool tp_ctrl_conn_rekey_due(const struct tp_ctrl_conn *c, uint64_t now_ns, uint64_t max_age_ns,
			    uint64_t max_frames)
{
	return c->keyed &&
	       (c->send_key_frames >= max_frames || now_ns - c->send_key_ns >= max_age_ns);
}

int tp_ctrl_conn_rekey_send(struct tp_ctrl_conn *c, uint64_t now_ns)
{
	Tableau__V1__Envelope env = TABLEAU__V1__ENVELOPE__INIT;
	Tableau__V1__Rekey r = TABLEAU__V1__REKEY__INIT;
	int rc;

	env.msg_case = TABLEAU__V1__ENVELOPE__MSG_REKEY;
	env.rekey = &r;
	rc = tp_ctrl_conn_send(c, &env);
	if (rc < 0)
		return rc;
	rekey(c->send_key);
	c->send_key_ns = now_ns;
	c->send_key_frames = 0;
	c->rekeys_sent++;
	return 0;
}

void tp_ctrl_conn_rekey_recv(struct tp_ctrl_conn *c)
{
	rekey(c->recv_key);
	c->rekeys_received++;
}

int tp_ctrl_conn_flush(struct tp_ctrl_conn *c)
{
	while (c->tx_off < c->tx_len) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0
											 : -errno;
		c->tx_off += (size_t)n;
	}
	c->tx_off = c->tx_len = 0;
	return 0;
}

int tp_ctrl_conn_parse_address(const char *s, struct sockaddr_storage *ss, unsigned *len)
{
	char host[64];
	const char *colon, *h = s;
	size_t hlen;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *close_br = strchr(s, ']');

		if (!close_br || close_br[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(close_br - h);
		colon = close_br + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (!hlen || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535)
		return -EINVAL;
	if (s[0] != '[') {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			return -EINVAL;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -EINVAL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
	}
	return 0;
}
