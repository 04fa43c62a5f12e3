// SPDX-License-Identifier: MIT
/*
 * Slot transitions, as in the reference implementations:
 *  - initiator finishes: current becomes previous (or an unconfirmed next
 *    becomes previous and current is dropped); the new keypair is current,
 *    usable at once because the response proved the peer holds it;
 *  - responder finishes: the new keypair is next; previous is dropped;
 *    nothing is sent on it until the initiator's first data packet on it
 *    arrives (confirmation), which is what makes a rekey hitless;
 *  - confirmation: previous <- current, current <- next, next <- NULL.
 * Each keypair that leaves all slots is unpublished from them first, then
 * unlinked from the index, then retired, so a worker that still holds it
 * finishes its packet safely and no worker can pick it up afterwards.
 */
#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "keypair.h"

static void keypair_free(void *obj)
{
	struct keypair *kp = obj;

	sodium_munlock(kp, sizeof(*kp)); /* wipes, then unlocks */
	free(kp);
}

static void keypair_retire(struct tp_tunnel *tun, struct keypair *kp)
{
	if (!kp)
		return;
	wg_index_remove(&tun->index, &kp->entry);
	tun->ops.retire(tun->ctx, kp, keypair_free);
}

struct keypair *wg_keypair_for_sending(struct tp_tunnel_peer *peer)
{
	struct keypair *kp = atomic_load_explicit(&peer->kp_next, memory_order_acquire);

	if (kp && atomic_load_explicit(&kp->confirmed, memory_order_acquire))
		return kp;
	return atomic_load_explicit(&peer->kp_cur, memory_order_acquire);
}

/* Every branch publishes the new slot contents first and retires what fell
 * out of the slots after: the grace period of ops->retire starts only once
 * no worker can load the keypair any more. */
static void install(struct tp_tunnel *tun, struct tp_tunnel_peer *peer, struct keypair *kp)
{
	struct keypair *prev = atomic_load(&peer->kp_prev);
	struct keypair *cur = atomic_load(&peer->kp_cur);
	struct keypair *next = atomic_load(&peer->kp_next);

	if (kp->initiator) {
		if (next) {
			/* The unconfirmed next keypair becomes previous (the
			 * peer may still send on it); current is dropped. */
			atomic_store(&peer->kp_prev, next);
			atomic_store(&peer->kp_next, NULL);
			atomic_store(&peer->kp_cur, kp);
			keypair_retire(tun, cur);
		} else {
			atomic_store(&peer->kp_prev, cur);
			atomic_store(&peer->kp_cur, kp);
		}
		keypair_retire(tun, prev);
	} else {
		atomic_store(&peer->kp_next, kp);
		atomic_store(&peer->kp_prev, NULL);
		keypair_retire(tun, next);
		keypair_retire(tun, prev);
	}
}

int wg_keypair_begin_session(struct tp_tunnel *tun, struct tp_tunnel_peer *peer, uint64_t now_ns)
{
	struct keypair *kp;
	uint32_t remote_index = peer->hs.remote_index;
	int ret = -ENOMEM;

	kp = aligned_alloc(64, sizeof(*kp));
	if (!kp)
		goto fail_alloc;
	memset(kp, 0, sizeof(*kp));
	sodium_mlock(kp, sizeof(*kp)); /* best effort: keep keys out of swap */
	ret = -EINVAL;
	if (!wg_noise_derive_keys(&peer->hs, kp->send_key, kp->recv_key, &kp->initiator))
		goto fail_derive;
	kp->entry.kind = INDEX_KEYPAIR;
	kp->entry.peer = peer;
	kp->birth_ns = now_ns;
	kp->remote_index = remote_index;
	wg_replay_init(&kp->replay);
	/* The peer addresses data to the index our handshake message carried. */
	wg_index_replace(&tun->index, &peer->hs_entry, &kp->entry);
	install(tun, peer, kp);
	atomic_store(&peer->lastminute_sent, false);
	return 0;

fail_derive:
	keypair_free(kp);
fail_alloc:
	wg_index_remove(&tun->index, &peer->hs_entry);
	wg_noise_handshake_clear(&peer->hs);
	return ret;
}

bool wg_keypairs_rotate_confirmed(struct tp_tunnel *tun, struct tp_tunnel_peer *peer)
{
	struct keypair *next = atomic_load(&peer->kp_next);
	struct keypair *prev;

	if (!next || !atomic_load(&next->confirmed))
		return false;
	prev = atomic_load(&peer->kp_prev);
	atomic_store(&peer->kp_prev, atomic_load(&peer->kp_cur));
	atomic_store(&peer->kp_cur, next);
	atomic_store(&peer->kp_next, NULL);
	keypair_retire(tun, prev);
	return true;
}

void wg_keypairs_zero(struct tp_tunnel *tun, struct tp_tunnel_peer *peer)
{
	keypair_retire(tun, atomic_exchange(&peer->kp_prev, NULL));
	keypair_retire(tun, atomic_exchange(&peer->kp_cur, NULL));
	keypair_retire(tun, atomic_exchange(&peer->kp_next, NULL));
	wg_index_remove(&tun->index, &peer->hs_entry);
	wg_noise_handshake_clear(&peer->hs);
}
