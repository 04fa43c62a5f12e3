/* SPDX-License-Identifier: MIT */
/*
 * One non-blocking TCP connection of the controller channel, shared by the
 * client (tp/ctrl/client.h) and the server (tp/ctrl/server.h): frame
 * reader, bounded output queue and, once the handshake is done, the
 * transport ciphers with their implicit 64-bit counters.
 *
 * State: fd (owned), the frame being read, bytes read but not yet framed
 * (inbuf), the output queue tx[tx_off..tx_len) and the keys. The owner
 * calls tp_ctrl_conn_recv() until it returns 0 and tp_ctrl_conn_flush()
 * when the socket is writable; nothing here blocks. A counter that would
 * wrap, a bad tag or a frame above the maximum are fatal for the session:
 * the owner closes it.
 *
 * Rekey (Noise, section 11.3): each side replaces its own sending key after
 * TP_CTRL_REKEY_AFTER_FRAMES frames or TP_CTRL_REKEY_AFTER_MS under it,
 * if the peer announced FEATURE_REKEY in its handshake payload. The last
 * frame under the old key is a Rekey envelope; the receiver replaces its
 * receiving key when it has read that frame, so both ends of a direction
 * switch at the same frame. Nonce counters continue across a rekey.
 */
#ifndef TP_CTRL_CONN_H
#define TP_CTRL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "controller.pb-c.h"
#include "tp/ctrl/frame.h"
#include "tp/ctrl/noise.h"

#define TP_CTRL_CONN_INBUF 16384
#define TP_CTRL_CONN_READS 16 /* read() calls per service round: fairness */

/* Defaults of the client's and server's rekey and lifetime settings. */
#define TP_CTRL_REKEY_AFTER_MS	   (10u * 60u * 1000u)
#define TP_CTRL_REKEY_AFTER_FRAMES (1u << 16)
#define TP_CTRL_SESSION_MAX_MS	   (24u * 3600u * 1000u) /* then a new handshake */

struct tp_ctrl_conn {
	int fd;
	struct tp_ctrl_frame_rx rx;
	uint8_t inbuf[TP_CTRL_CONN_INBUF];
	size_t in_off, in_len;
	unsigned reads_left;
	uint8_t *tx; /* owned */
	size_t tx_off, tx_len, tx_cap, tx_limit;
	bool keyed;
	uint8_t send_key[32], recv_key[32];
	uint64_t send_ctr, recv_ctr; /* next nonce; UINT64_MAX is never used */
	uint64_t rx_frames, tx_frames;
	uint64_t rx_bytes;	  /* liveness: a large frame arriving slowly is progress */
	uint64_t send_key_ns;	  /* when send_key came into use (the owner's clock) */
	uint64_t send_key_frames; /* frames sealed under send_key */
	uint64_t rekeys_sent, rekeys_received;
};

/* Take ownership of fd (non-blocking). rx_max: largest frame accepted;
 * tx_limit: largest output backlog before tp_ctrl_conn_send() refuses. */
void tp_ctrl_conn_init(struct tp_ctrl_conn *c, int fd, size_t rx_max, size_t tx_limit);

/* Close the fd, free the buffers, wipe the keys. Idempotent. */
void tp_ctrl_conn_close(struct tp_ctrl_conn *c);

/* Switch to transport mode with the handshake's keys and a new maximum. */
void tp_ctrl_conn_set_keys(struct tp_ctrl_conn *c, const struct tp_ctrl_noise_keys *k,
			   size_t rx_max);

/* Start a service round: allow TP_CTRL_CONN_READS more read() calls. */
void tp_ctrl_conn_begin(struct tp_ctrl_conn *c);

/*
 * Next complete frame: 1 with *frame and *len (decrypted when keyed, valid
 * until the next call), 0 when no more this round, -ECONNRESET at end of
 * stream, -EMSGSIZE or -EBADMSG for a bad frame or tag, -EOVERFLOW when the
 * counter would wrap, or another -errno from read().
 */
int tp_ctrl_conn_recv(struct tp_ctrl_conn *c, uint8_t **frame, size_t *len);

/* Queue a clear frame (handshake). 0, -ENOBUFS (backlog full), -ENOMEM. */
int tp_ctrl_conn_send_raw(struct tp_ctrl_conn *c, const void *buf, size_t len);

/* Pack, encrypt and queue one envelope. 0, -ENOBUFS, -ENOMEM, -EOVERFLOW,
 * -EMSGSIZE. */
int tp_ctrl_conn_send(struct tp_ctrl_conn *c, const Tableau__V1__Envelope *env);

/* Is the sending key due for replacement: used for max_frames frames or
 * since max_age_ns? */
bool tp_ctrl_conn_rekey_due(const struct tp_ctrl_conn *c, uint64_t now_ns, uint64_t max_age_ns,
			    uint64_t max_frames);

/* Queue a Rekey envelope under the current sending key, then replace it
 * with REKEY(k). 0, or tp_ctrl_conn_send()'s errors (key unchanged). */
int tp_ctrl_conn_rekey_send(struct tp_ctrl_conn *c, uint64_t now_ns);

/* The peer's Rekey frame was read: replace the receiving key. Call before
 * reading the next frame. */
void tp_ctrl_conn_rekey_recv(struct tp_ctrl_conn *c);

/* Write what the socket takes. 0 (maybe with data left), or -errno. */
int tp_ctrl_conn_flush(struct tp_ctrl_conn *c);

static inline size_t tp_ctrl_conn_pending(const struct tp_ctrl_conn *c)
{
	return c->tx_len - c->tx_off;
}

struct sockaddr_storage;
/* Parse a numeric "IPv4:port" or "[IPv6]:port" (no name lookup: it would
 * block). 0 or -EINVAL. */
int tp_ctrl_conn_parse_address(const char *s, struct sockaddr_storage *ss, unsigned *len);

#endif /* TP_CTRL_CONN_H */
