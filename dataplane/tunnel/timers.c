// SPDX-License-Identifier: MIT
/*
 * The protocol's timers, per peer. Workers never run a timer: they record
 * events with atomic stores (arming a deadline only if it is off, like
 * mod_timer_pending), and tp_tunnel_tick() on the control thread fires what
 * is due. The timers, as in the reference implementations:
 *
 *  retransmit handshake  armed when an initiation is sent, REKEY_TIMEOUT plus
 *                        up to 333 ms of jitter; resends the initiation, and
 *                        gives up after MAX_TIMER_HANDSHAKES retries (90 s),
 *                        then arms zero-keys. Stopped by a completed handshake
 *                        in either role: a response we consumed, or the
 *                        initiator's first data on our responder keypair.
 *  send keepalive        armed when data arrives and nothing was sent back
 *                        (KEEPALIVE_TIMEOUT); stopped by any packet we send.
 *                        Re-armed once if more data arrived while it ran.
 *  new handshake         armed when we send data (KEEPALIVE + REKEY_TIMEOUT +
 *                        jitter); stopped by any authenticated packet received.
 *                        Firing means the peer went silent: rekey.
 *  zero key material     armed when a session is derived (3 x
 *                        REJECT_AFTER_TIME); wipes every key and handshake.
 *  persistent keepalive  optional; PERSISTENT seconds after the last
 *                        authenticated packet in either direction.
 *  want handshake        not a timer: a request from a sender with no usable
 *                        key or an aging one (REKEY_AFTER_TIME/MESSAGES), or
 *                        from a receiver whose initiator key is 165 s old.
 *
 * Rekey-after-time and reject-after-time/messages are checked by the
 * transport itself on every packet.
 */
#include <stdatomic.h>

#include "handshake.h"
#include "keypair.h"
#include "timers.h"
#include "transport.h"

static uint32_t jitter(struct tp_tunnel *tun)
{
	uint32_t r;

	tun->ops.random(tun->ctx, &r, sizeof(r));
	return r % (uint32_t)REKEY_TIMEOUT_JITTER_NS;
}

/* Arm a deadline only if it is off; false if it was already armed. */
static bool arm_if_off(_Atomic uint64_t *deadline, uint64_t when)
{
	uint64_t off = 0;

	return atomic_compare_exchange_strong_explicit(deadline, &off, when ? when : 1,
						       memory_order_relaxed, memory_order_relaxed);
}

void wg_timers_data_sent(struct tp_tunnel_peer *peer, uint64_t now_ns)
{
	if (atomic_load_explicit(&peer->nh_deadline_ns, memory_order_relaxed))
		return;
	arm_if_off(&peer->nh_deadline_ns,
		   now_ns + KEEPALIVE_TIMEOUT_NS + REKEY_TIMEOUT_NS +
			   atomic_load_explicit(&peer->nh_jitter_ns, memory_order_relaxed));
}

void wg_timers_data_received(struct tp_tunnel_peer *peer, uint64_t now_ns)
{
	if (!arm_if_off(&peer->ka_deadline_ns, now_ns + KEEPALIVE_TIMEOUT_NS) &&
	    !atomic_load_explicit(&peer->need_another_ka, memory_order_relaxed))
		atomic_store_explicit(&peer->need_another_ka, true, memory_order_relaxed);
}

void wg_timers_any_authenticated_packet_sent(struct tp_tunnel_peer *peer, uint64_t now_ns)
{
	if (atomic_load_explicit(&peer->ka_deadline_ns, memory_order_relaxed))
		atomic_store_explicit(&peer->ka_deadline_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&peer->last_traversal_ns, now_ns ? now_ns : 1, memory_order_relaxed);
}

void wg_timers_any_authenticated_packet_received(struct tp_tunnel_peer *peer, uint64_t now_ns)
{
	if (atomic_load_explicit(&peer->nh_deadline_ns, memory_order_relaxed))
		atomic_store_explicit(&peer->nh_deadline_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&peer->last_traversal_ns, now_ns ? now_ns : 1, memory_order_relaxed);
}

void wg_timers_want_handshake(struct tp_tunnel_peer *peer)
{
	if (!atomic_load_explicit(&peer->want_handshake, memory_order_relaxed))
		atomic_store_explicit(&peer->want_handshake, true, memory_order_release);
}

void wg_timers_init(struct tp_tunnel *tun, struct tp_tunnel_peer *peer)
{
	peer->nh_jitter_ns = jitter(tun);
}

void wg_timers_handshake_initiated(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
				   uint64_t now_ns)
{
	peer->retransmit_deadline_ns = now_ns + REKEY_TIMEOUT_NS + jitter(tun);
}

void wg_timers_handshake_complete(struct tp_tunnel_peer *peer, uint64_t now_ns)
{
	peer->retransmit_deadline_ns = 0;
	peer->handshake_attempts = 0;
	peer->last_handshake_ns = now_ns ? now_ns : 1; /* 0 reads as never */
}

void wg_timers_session_derived(struct tp_tunnel_peer *peer, uint64_t now_ns)
{
	peer->zero_deadline_ns = now_ns + ZERO_KEYS_AFTER_NS;
	peer->handshakes_completed++;
}

static bool due(uint64_t deadline, uint64_t now_ns)
{
	return deadline && now_ns >= deadline;
}

static void event(struct tp_tunnel *tun, struct tp_tunnel_peer *peer, enum tp_tunnel_event ev)
{
	if (tun->ops.event)
		tun->ops.event(tun->ctx, peer, ev);
}

static void expired_retransmit_handshake(struct tp_tunnel *tun, struct tp_tunnel_peer *peer,
					 uint64_t now_ns)
{
	peer->retransmit_deadline_ns = 0;
	if (peer->handshake_attempts > MAX_TIMER_HANDSHAKES) {
		/* Give up: senders drop what they staged, and whatever is left
		 * of the partial exchange is wiped later. */
		atomic_store(&peer->ka_deadline_ns, 0);
		wg_index_remove(&tun->index, &peer->hs_entry);
		wg_noise_handshake_clear(&peer->hs);
		if (!peer->zero_deadline_ns)
			peer->zero_deadline_ns = now_ns + ZERO_KEYS_AFTER_NS;
		event(tun, peer, TP_TUNNEL_EV_HANDSHAKE_GAVE_UP);
		return;
	}
	peer->handshake_attempts++;
	wg_handshake_send_initiation(tun, peer, true);
}

static void peer_tick(struct tp_tunnel *tun, struct tp_tunnel_peer *peer, uint64_t now_ns)
{
	uint64_t last;

	/* Workers already send on a confirmed next keypair; make it current,
	 * complete the handshake and tell the caller a session is up (it may
	 * flush staged packets). Before the retransmit check below, so a
	 * confirmed session stops a retransmission due in the same tick. */
	wg_handshake_rotate_confirmed(tun, peer, now_ns);

	if (atomic_load_explicit(&peer->want_handshake, memory_order_acquire)) {
		atomic_store(&peer->want_handshake, false);
		wg_handshake_send_initiation(tun, peer, false);
	}
	if (due(peer->retransmit_deadline_ns, now_ns))
		expired_retransmit_handshake(tun, peer, now_ns);

	if (due(atomic_load(&peer->nh_deadline_ns), now_ns)) {
		/* We sent data and heard nothing for 15 s: the session may be
		 * dead on the other side, so start a new one. */
		atomic_store(&peer->nh_deadline_ns, 0);
		peer->nh_jitter_ns = jitter(tun);
		wg_handshake_send_initiation(tun, peer, false);
	}
	if (due(atomic_load(&peer->ka_deadline_ns), now_ns)) {
		atomic_store(&peer->ka_deadline_ns, 0);
		wg_transport_send_keepalive(tun, peer);
		if (atomic_exchange(&peer->need_another_ka, false))
			arm_if_off(&peer->ka_deadline_ns, now_ns + KEEPALIVE_TIMEOUT_NS);
	}
	if (peer->persistent_keepalive_s) {
		/* A worker may have stamped a time later than our now_ns: that
		 * is "just now", not 2^64 ns ago. */
		last = atomic_load(&peer->last_traversal_ns);
		if (!last ||
		    (now_ns > last &&
		     now_ns - last >= (uint64_t)peer->persistent_keepalive_s * NSEC_PER_SEC))
			wg_transport_send_keepalive(tun, peer);
	}
	if (due(peer->zero_deadline_ns, now_ns)) {
		peer->zero_deadline_ns = 0;
		wg_keypairs_zero(tun, peer);
		event(tun, peer, TP_TUNNEL_EV_KEYS_ZEROED);
	}
}

void tp_tunnel_tick(struct tp_tunnel *tun)
{
	uint64_t now_ns = tun_now(tun);

	for (size_t i = 0; i < tun->npeers; i++)
		peer_tick(tun, tun->peers[i], now_ns);
}
