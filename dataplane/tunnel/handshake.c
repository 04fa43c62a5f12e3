// SPDX-License-Identifier: MIT
/*
 * Handshake messages on the control thread. Order of checks for types 1 and
 * 2, as in the reference: exact size, then mac1 (cheap, proves the sender
 * knows our public key), then - only under load - mac2 (proves the sender
 * can receive at its address; otherwise it gets a cookie reply) and the
 * per-source rate limit, and only then any X25519.
 */
#include <errno.h>
#include <stddef.h>

#include "handshake.h"
#include "keypair.h"
#include "timers.h"
#include "transport.h"

static struct tp_tunnel_peer *peer_of_hs(struct noise_handshake *hs)
{
	return (struct tp_tunnel_peer *)((char *)hs - offsetof(struct tp_tunnel_peer, hs));
}

static struct noise_handshake *lookup_static(void *ctx, const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	struct tp_tunnel_peer *peer = tp_tunnel_peer_find(ctx, pub);

	return peer ? &peer->hs : NULL;
}

static void event(struct tp_tunnel *tun, struct tp_tunnel_peer *peer, enum tp_tunnel_event ev)
{
	if (tun->ops.event)
		tun->ops.event(tun->ctx, peer, ev);
}

/* A worker saw the initiator's first packet on our responder keypair: the
 * handshake is complete for us too (as receive.c does in Linux): stop a
 * retransmission left armed by a crossed initiation of ours, reset the
 * attempts, record the handshake time, and tell the caller to flush. */
void wg_handshake_rotate_confirmed(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
				   uint64_t now_ns)
{
	if (!wg_keypairs_rotate_confirmed(tun, peer))
		return;
	wg_timers_handshake_complete(peer, now_ns);
	event(tun, peer, TP_TUNNEL_EV_SESSION_READY);
}

/* Before touching a peer's keypairs, finish a confirmation a worker saw. */
static void rotate(struct tp_tunnel *tun, struct tp_tunnel_peer *peer)
{
	wg_handshake_rotate_confirmed(tun, peer, tun_now(tun));
}

int wg_handshake_send_initiation(struct tp_tunnel *tun, struct tp_tunnel_peer *peer, bool is_retry)
{
	struct message_handshake_initiation msg;
	uint64_t now_ns = tun_now(tun);
	struct tp_tunnel_endpoint ep;
	int ret = -EAGAIN;

	if (!is_retry)
		peer->handshake_attempts = 0;
	if (peer->last_sent_handshake_ns &&
	    now_ns - peer->last_sent_handshake_ns < REKEY_TIMEOUT_NS)
		goto out_rate_limited;
	ret = -EDESTADDRREQ;
	if (!tp_tunnel_peer_endpoint(peer, &ep))
		goto out_no_endpoint; /* the peer must reach us first */

	wg_index_remove(&tun->index, &peer->hs_entry);
	ret = wg_index_insert(&tun->index, &peer->hs_entry, tun->ops.random, tun->ctx);
	if (ret < 0)
		goto out_no_index;
	ret = -EINVAL;
	if (wg_noise_create_initiation(&tun->id, &peer->hs, &msg, peer->hs_entry.index,
				       tun->ops.wall_ns(tun->ctx), tun->ops.random,
				       tun->ctx) != TP_TUNNEL_OK)
		goto out_noise;
	wg_cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now_ns);
	peer->last_sent_handshake_ns = now_ns ? now_ns : 1;
	peer->initiations_sent++;
	wg_timers_any_authenticated_packet_sent(peer, now_ns);
	tun->ops.send(tun->ctx, peer, &ep, (const uint8_t *)&msg, sizeof(msg));
	wg_timers_handshake_initiated(tun, peer, now_ns);
	return 0;

out_noise:
	wg_index_remove(&tun->index, &peer->hs_entry);
	wg_noise_handshake_clear(&peer->hs);
	return ret;
out_no_index:
	tun->counters[TP_TUNNEL_DROP_NO_INDEX]++;
out_no_endpoint:
out_rate_limited:
	return ret;
}

int tp_tunnel_connect(struct tp_tunnel *tun, struct tp_tunnel_peer *peer)
{
	rotate(tun, peer);
	return wg_handshake_send_initiation(tun, peer, false);
}

static enum tp_tunnel_res receive_initiation(struct tp_tunnel *tun, const uint8_t *buf,
					     const struct tp_tunnel_endpoint *src, uint64_t now_ns)
{
	const struct message_handshake_initiation *msg = (const void *)buf;
	struct message_handshake_response resp;
	struct noise_handshake *hs;
	struct tp_tunnel_peer *peer;
	enum tp_tunnel_res res;

	res = wg_noise_consume_initiation(&tun->id, msg, lookup_static, tun, now_ns, &hs);
	if (res != TP_TUNNEL_OK)
		goto out;
	peer = peer_of_hs(hs);
	rotate(tun, peer);
	wg_device_roam(peer, src);
	wg_timers_any_authenticated_packet_received(peer, now_ns);

	/* The handshake in flight (if we were initiating too) is replaced. */
	wg_index_remove(&tun->index, &peer->hs_entry);
	res = TP_TUNNEL_DROP_NO_INDEX;
	if (wg_index_insert(&tun->index, &peer->hs_entry, tun->ops.random, tun->ctx) < 0)
		goto out_clear;
	res = wg_noise_create_response(&tun->id, hs, &resp, peer->hs_entry.index, tun->ops.random,
				       tun->ctx);
	if (res != TP_TUNNEL_OK)
		goto out_clear;
	wg_cookie_add_macs(&peer->cookie, (uint8_t *)&resp, sizeof(resp), now_ns);
	res = TP_TUNNEL_DROP_NO_INDEX;
	if (wg_keypair_begin_session(tun, peer, now_ns) < 0)
		goto out_wipe_resp;
	wg_timers_session_derived(peer, now_ns);
	wg_timers_any_authenticated_packet_sent(peer, now_ns);
	tun->ops.send(tun->ctx, peer, src, (const uint8_t *)&resp, sizeof(resp));
	res = TP_TUNNEL_OK;
out_wipe_resp:
	tp_crypto_wipe(&resp, sizeof(resp));
	goto out;
out_clear:
	wg_index_remove(&tun->index, &peer->hs_entry);
	wg_noise_handshake_clear(hs);
out:
	return res;
}

static enum tp_tunnel_res receive_response(struct tp_tunnel *tun, const uint8_t *buf,
					   const struct tp_tunnel_endpoint *src, uint64_t now_ns)
{
	const struct message_handshake_response *msg = (const void *)buf;
	struct index_entry *e;
	struct tp_tunnel_peer *peer;
	enum tp_tunnel_res res = TP_TUNNEL_DROP_UNKNOWN_INDEX;

	e = wg_index_lookup(&tun->index, get_le32(msg->receiver_index), INDEX_HANDSHAKE);
	if (!e)
		goto out;
	peer = e->peer;
	res = wg_noise_consume_response(&tun->id, &peer->hs, msg);
	if (res != TP_TUNNEL_OK)
		goto out;
	wg_device_roam(peer, src);
	wg_timers_any_authenticated_packet_received(peer, now_ns);
	res = TP_TUNNEL_DROP_NO_INDEX;
	if (wg_keypair_begin_session(tun, peer, now_ns) < 0)
		goto out;
	wg_timers_session_derived(peer, now_ns);
	wg_timers_handshake_complete(peer, now_ns);
	event(tun, peer, TP_TUNNEL_EV_SESSION_READY);
	/* Confirm the session to the responder at once; it may not send on
	 * the new keypair before it hears from us on it. */
	wg_transport_send_keepalive(tun, peer);
	res = TP_TUNNEL_OK;
out:
	return res;
}

static enum tp_tunnel_res receive_cookie(struct tp_tunnel *tun, const uint8_t *buf, uint64_t now_ns)
{
	const struct message_handshake_cookie *msg = (const void *)buf;
	struct index_entry *e;
	struct tp_tunnel_peer *peer;

	e = wg_index_lookup(&tun->index, get_le32(msg->receiver_index),
			    INDEX_HANDSHAKE | INDEX_KEYPAIR);
	if (!e)
		return TP_TUNNEL_DROP_UNKNOWN_INDEX;
	peer = e->peer;
	if (!peer->cookie.have_sent_mac1)
		return TP_TUNNEL_DROP_BAD_STATE;
	if (!wg_cookie_consume_reply(&peer->cookie, msg, now_ns))
		return TP_TUNNEL_DROP_BAD_AEAD;
	/* The retransmit timer resends the initiation, now with mac2. */
	return TP_TUNNEL_OK;
}

static enum tp_tunnel_res check_size(const uint8_t *msg, size_t len, int *type)
{
	static const size_t sizes[] = {
		[MESSAGE_HANDSHAKE_INITIATION] = MESSAGE_INITIATION_LEN,
		[MESSAGE_HANDSHAKE_RESPONSE] = MESSAGE_RESPONSE_LEN,
		[MESSAGE_HANDSHAKE_COOKIE] = MESSAGE_COOKIE_LEN,
	};

	if (len < sizeof(struct message_header))
		return TP_TUNNEL_DROP_SHORT;
	if (msg[1] || msg[2] || msg[3] || msg[0] < MESSAGE_HANDSHAKE_INITIATION ||
	    msg[0] > MESSAGE_HANDSHAKE_COOKIE)
		return TP_TUNNEL_DROP_BAD_TYPE;
	*type = msg[0];
	if (len < sizes[*type])
		return TP_TUNNEL_DROP_SHORT;
	if (len > sizes[*type])
		return TP_TUNNEL_DROP_OVERSIZE;
	return TP_TUNNEL_OK;
}

enum tp_tunnel_res tp_tunnel_handshake_receive(struct tp_tunnel *tun, const uint8_t *msg,
					       size_t len, const struct tp_tunnel_endpoint *src,
					       bool congested)
{
	uint64_t now_ns = tun_now(tun);
	enum cookie_mac_state mac;
	bool under_load;
	int type = 0;
	enum tp_tunnel_res res = check_size(msg, len, &type);

	if (res != TP_TUNNEL_OK)
		goto out;
	if (type == MESSAGE_HANDSHAKE_COOKIE) {
		res = receive_cookie(tun, msg, now_ns);
		goto out;
	}

	if (congested)
		tun->last_under_load_ns = now_ns ? now_ns : 1;
	under_load = congested || (tun->last_under_load_ns &&
				   now_ns - tun->last_under_load_ns < UNDER_LOAD_HOLD_NS);
	mac = wg_cookie_validate(&tun->cookie, msg, len, src, under_load, now_ns, tun->ops.random,
				 tun->ctx);
	res = TP_TUNNEL_DROP_BAD_MAC1;
	if (mac == COOKIE_INVALID_MAC)
		goto out;
	if (under_load && mac != COOKIE_VALID_MAC_WITH_COOKIE) {
		struct message_handshake_cookie reply;

		/* The sender index sits at offset 4 in both types 1 and 2. */
		wg_cookie_create_reply(&tun->cookie, &reply, msg, len, get_le32(msg + 4), src,
				       now_ns, tun->ops.random, tun->ctx);
		tun->ops.send(tun->ctx, NULL, src, (const uint8_t *)&reply, sizeof(reply));
		res = TP_TUNNEL_DROP_NEED_COOKIE;
		goto out;
	}
	res = TP_TUNNEL_DROP_RATELIMITED;
	if (under_load && !wg_ratelimiter_allow(tun->rl, src, now_ns))
		goto out;

	if (type == MESSAGE_HANDSHAKE_INITIATION)
		res = receive_initiation(tun, msg, src, now_ns);
	else
		res = receive_response(tun, msg, src, now_ns);
out:
	tun->counters[res]++;
	return res;
}
