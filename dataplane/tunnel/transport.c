// SPDX-License-Identifier: MIT
/*
 * Transport data on worker threads. Per burst: one keypair load, then one
 * clock read (in that order: a clock read before the load could predate a
 * keypair installed in between), one atomic compare-and-swap reserving the
 * send counters, and one set of timer events; per packet only the AEAD.
 * Receive order: cheap header checks, index lookup, key age, a lock-free
 * replay pre-check (so replayed floods cost no AEAD), the AEAD, and only then
 * the replay window update under the window's lock, confirmation of a next
 * keypair, roaming and timer events. Roaming therefore follows only packets
 * that are authentic and new.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include "keypair.h"
#include "timers.h"
#include "transport.h"

int tp_tunnel_classify(const uint8_t *msg, size_t len)
{
	if (len < sizeof(struct message_header) || msg[1] || msg[2] || msg[3])
		return MESSAGE_INVALID;
	if (msg[0] < MESSAGE_HANDSHAKE_INITIATION || msg[0] > MESSAGE_DATA)
		return MESSAGE_INVALID;
	return msg[0];
}

static enum tp_tunnel_res encrypt_one(const struct keypair *kp, struct tp_tunnel_pkt *p,
				      uint64_t counter, uint16_t mtu)
{
	struct message_data *hdr = (struct message_data *)p->data;
	uint32_t inner, padded;

	if (p->len < MESSAGE_DATA_HEADER_LEN)
		return TP_TUNNEL_DROP_NO_ROOM;
	inner = p->len - MESSAGE_DATA_HEADER_LEN;
	padded = (inner + MESSAGE_PADDING_MULTIPLE - 1) & ~(uint32_t)(MESSAGE_PADDING_MULTIPLE - 1);
	if (padded > mtu)
		padded = inner > mtu ? inner : mtu;
	if ((uint64_t)MESSAGE_DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN > p->cap)
		return TP_TUNNEL_DROP_NO_ROOM;
	if (counter >= REJECT_AFTER_MESSAGES)
		return TP_TUNNEL_DROP_KEY_EXHAUSTED;

	memset(hdr->encrypted_data + inner, 0, padded - inner);
	message_header_set(&hdr->header, MESSAGE_DATA);
	put_le32(hdr->receiver_index, kp->remote_index);
	put_le64(hdr->counter, counter);
	tp_crypto_aead_seal(hdr->encrypted_data, hdr->encrypted_data, padded, counter, kp->send_key,
			    NULL, 0);
	p->len = MESSAGE_DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN;
	p->inner_len = inner;
	return TP_TUNNEL_OK;
}

/* Good packets first, in order; the rest after. Returns the good count. */
static unsigned partition(struct tp_tunnel_pkt *pkts, unsigned n)
{
	unsigned good = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!tp_tunnel_res_ok(pkts[i].res))
			continue;
		if (i != good) {
			struct tp_tunnel_pkt t = pkts[good];

			pkts[good] = pkts[i];
			pkts[i] = t;
		}
		good++;
	}
	return good;
}

/*
 * Reserve up to n consecutive send counters. The counter never moves past
 * REJECT_AFTER_MESSAGES: a burst that would cross it gets only what is left,
 * and an exhausted keypair is refused without adding anything, so the
 * counter cannot wrap and no nonce is ever used twice. Returns how many were
 * reserved, the first in *first.
 */
static unsigned take_counters(struct keypair *kp, unsigned n, uint64_t *first)
{
	uint64_t c = atomic_load_explicit(&kp->send_counter, memory_order_relaxed);
	uint64_t take;

	do {
		if (c >= REJECT_AFTER_MESSAGES)
			return 0;
		take = REJECT_AFTER_MESSAGES - c < n ? REJECT_AFTER_MESSAGES - c : n;
	} while (!atomic_compare_exchange_weak_explicit(
		&kp->send_counter, &c, c + take, memory_order_relaxed, memory_order_relaxed));
	*first = c;
	return (unsigned)take;
}

/* The keypair to send with, NULL if none or too old; *now_ns the clock
 * read after the load (see the top). */
static struct keypair *sending_keypair(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
				       uint64_t *now_ns)
{
	struct keypair *kp = wg_keypair_for_sending(peer);

	*now_ns = tun_now(tun);
	return kp && wg_keypair_age(kp, *now_ns) < REJECT_AFTER_TIME_NS ? kp : NULL;
}

bool tp_tunnel_peer_can_send(struct tp_tunnel *tun, struct tp_tunnel_peer *peer)
{
	uint64_t now_ns;

	return sending_keypair(tun, peer, &now_ns) != NULL;
}

unsigned tp_tunnel_encrypt_burst(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
				 struct tp_tunnel_pkt *pkts, unsigned n)
{
	uint64_t now_ns;
	struct keypair *kp = sending_keypair(tun, peer, &now_ns);
	enum tp_tunnel_res ok = TP_TUNNEL_OK;
	struct tp_tunnel_endpoint ep;
	uint64_t first = 0, bytes = 0;
	unsigned taken;
	uint16_t mtu;
	bool data = false, any = false;

	if (!n)
		return 0;
	if (!kp) {
		for (unsigned i = 0; i < n; i++)
			pkts[i].res = TP_TUNNEL_DROP_NO_KEY;
		wg_timers_want_handshake(peer);
		return 0;
	}
	taken = take_counters(kp, n, &first);
	if (taken < n || first + taken > REKEY_AFTER_MESSAGES ||
	    (kp->initiator && wg_keypair_age(kp, now_ns) >= REKEY_AFTER_TIME_NS)) {
		ok = TP_TUNNEL_OK_REKEY;
		wg_timers_want_handshake(peer);
	}
	/* Padding must not push a full-size packet past the outer MTU, whose
	 * headers are 20 bytes longer over IPv6. */
	mtu = tp_tunnel_peer_endpoint(peer, &ep) && ep.family == AF_INET6 ? tun->mtu6 : tun->mtu;
	for (unsigned i = 0; i < n; i++) {
		struct tp_tunnel_pkt *p = &pkts[i];

		p->peer = peer;
		if (i >= taken) {
			p->res = TP_TUNNEL_DROP_KEY_EXHAUSTED;
			continue;
		}
		p->res = encrypt_one(kp, p, first + i, mtu);
		if (p->res != TP_TUNNEL_OK)
			continue;
		p->res = ok;
		any = true;
		data |= p->inner_len != 0;
		bytes += p->len;
	}
	if (any) {
		wg_timers_any_authenticated_packet_sent(peer, now_ns);
		if (data)
			wg_timers_data_sent(peer, now_ns);
		atomic_fetch_add_explicit(&peer->tx_bytes, bytes, memory_order_relaxed);
	}
	return partition(pkts, n);
}

enum tp_tunnel_res tp_tunnel_encrypt(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
				     struct tp_tunnel_pkt *pkt)
{
	tp_tunnel_encrypt_burst(tun, peer, pkt, 1);
	return pkt->res;
}

/* Length of the IP packet inside a decrypted payload, or 0 if not sane. */
static uint32_t inner_ip_len(const uint8_t *p, uint32_t len)
{
	uint32_t tot;

	if (len >= 20 && (p[0] >> 4) == 4) {
		tot = (uint32_t)p[2] << 8 | p[3];
		if ((p[0] & 0xf) >= 5 && tot >= 20 && tot <= len)
			return tot;
	} else if (len >= 40 && (p[0] >> 4) == 6) {
		tot = 40 + ((uint32_t)p[4] << 8 | p[5]);
		if (tot <= len)
			return tot;
	}
	return 0;
}

static enum tp_tunnel_res decrypt_one(struct tp_tunnel *tun, struct tp_tunnel_pkt *p,
				      uint64_t now_ns)
{
	struct message_data *hdr = (struct message_data *)p->data;
	struct index_entry *e;
	struct keypair *kp;
	struct tp_tunnel_peer *peer;
	uint64_t counter, age;
	uint32_t plain;
	enum tp_tunnel_res res = TP_TUNNEL_OK;

	p->peer = NULL;
	p->inner_len = 0;
	if (p->len < MESSAGE_DATA_MIN_LEN)
		return TP_TUNNEL_DROP_SHORT;
	if (p->len > MESSAGE_MAX_LEN)
		return TP_TUNNEL_DROP_OVERSIZE;
	if (tp_tunnel_classify(p->data, p->len) != MESSAGE_DATA)
		return TP_TUNNEL_DROP_BAD_TYPE;
	e = wg_index_lookup(&tun->index, get_le32(hdr->receiver_index), INDEX_KEYPAIR);
	if (!e)
		return TP_TUNNEL_DROP_UNKNOWN_INDEX;
	kp = (struct keypair *)e;
	peer = e->peer;
	age = wg_keypair_age(kp, now_ns);
	if (age >= REJECT_AFTER_TIME_NS)
		return TP_TUNNEL_DROP_KEY_EXPIRED;
	counter = get_le64(hdr->counter);
	switch (wg_replay_check(&kp->replay, counter)) {
	case REPLAY_OK:
		break;
	case REPLAY_SEEN:
		return TP_TUNNEL_DROP_REPLAYED;
	case REPLAY_TOO_OLD:
		return TP_TUNNEL_DROP_TOO_OLD;
	case REPLAY_EXHAUSTED:
		return TP_TUNNEL_DROP_KEY_EXHAUSTED;
	}
	plain = p->len - MESSAGE_DATA_MIN_LEN;
	if (!tp_crypto_aead_open(hdr->encrypted_data, hdr->encrypted_data,
				 plain + NOISE_AUTHTAG_LEN, counter, kp->recv_key, NULL, 0))
		return TP_TUNNEL_DROP_BAD_AEAD;
	/* Exact, under the window's lock: of several workers that decrypted
	 * the same message, one gets here first and the others are refused. */
	if (wg_replay_validate(&kp->replay, counter) != REPLAY_OK)
		return TP_TUNNEL_DROP_REPLAYED;

	/* Authenticated from here on. */
	p->peer = peer;
	if (!kp->initiator && !atomic_load_explicit(&kp->confirmed, memory_order_relaxed) &&
	    atomic_load_explicit(&peer->kp_next, memory_order_acquire) == kp)
		atomic_store_explicit(&kp->confirmed, true, memory_order_release);
	if (p->src.family)
		wg_device_roam(peer, &p->src);
	if (kp->initiator && age >= REKEY_ON_RECV_AGE_NS &&
	    atomic_load_explicit(&peer->kp_cur, memory_order_relaxed) == kp &&
	    !atomic_exchange_explicit(&peer->lastminute_sent, true, memory_order_relaxed)) {
		wg_timers_want_handshake(peer);
		res = TP_TUNNEL_OK_REKEY;
	}
	if (plain == 0)
		return res; /* keepalive */
	p->inner_len = inner_ip_len(hdr->encrypted_data, plain);
	if (!p->inner_len)
		return TP_TUNNEL_DROP_BAD_INNER;
	return res;
}

unsigned tp_tunnel_decrypt_burst(struct tp_tunnel *tun, struct tp_tunnel_pkt *pkts, unsigned n)
{
	uint64_t now_ns = tun_now(tun);
	struct tp_tunnel_peer *last = NULL;
	bool last_data = false;
	uint64_t bytes = 0;

	for (unsigned i = 0; i < n; i++) {
		struct tp_tunnel_pkt *p = &pkts[i];

		p->res = decrypt_one(tun, p, now_ns);
		if (!p->peer)
			continue;
		/* Timer events once per run of packets from the same peer. */
		if (p->peer != last) {
			if (last) {
				wg_timers_any_authenticated_packet_received(last, now_ns);
				if (last_data)
					wg_timers_data_received(last, now_ns);
				atomic_fetch_add_explicit(&last->rx_bytes, bytes,
							  memory_order_relaxed);
			}
			last = p->peer;
			last_data = false;
			bytes = 0;
		}
		last_data |= p->inner_len != 0;
		bytes += p->len;
	}
	if (last) {
		wg_timers_any_authenticated_packet_received(last, now_ns);
		if (last_data)
			wg_timers_data_received(last, now_ns);
		atomic_fetch_add_explicit(&last->rx_bytes, bytes, memory_order_relaxed);
	}
	return partition(pkts, n);
}

enum tp_tunnel_res tp_tunnel_decrypt(struct tp_tunnel *tun, struct tp_tunnel_pkt *pkt)
{
	tp_tunnel_decrypt_burst(tun, pkt, 1);
	return pkt->res;
}

void wg_transport_send_keepalive(struct tp_tunnel *tun, struct tp_tunnel_peer *peer)
{
	uint8_t buf[MESSAGE_DATA_MIN_LEN];
	struct tp_tunnel_pkt p = {.data = buf, .len = MESSAGE_DATA_HEADER_LEN, .cap = sizeof(buf)};
	struct tp_tunnel_endpoint ep;

	if (!tp_tunnel_peer_endpoint(peer, &ep))
		return;
	if (tp_tunnel_encrypt(tun, peer, &p) == TP_TUNNEL_DROP_NO_KEY)
		return; /* a handshake was requested; the next tick sends it */
	if (tp_tunnel_res_ok(p.res))
		tun->ops.send(tun->ctx, peer, &ep, p.data, p.len);
}
