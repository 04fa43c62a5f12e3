// SPDX-License-Identifier: MIT
/*
 * Tunnel and peer objects: construction with default ops, the peer list
 * (a flat array searched linearly by public key: handshakes are rate-limited
 * and cost an X25519 each, which dwarfs the scan for the few hundred peers
 * a transition point has), endpoints and counters.
 *
 * Teardown order of a peer: unlink it from the list (no new handshake finds
 * it), unlink its handshake and keypairs from the index (no worker finds
 * them), retire the keypairs, then retire the peer itself, whose wipe runs
 * only after every worker is quiescent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

#include "device.h"
#include "keypair.h"
#include "timers.h"

static const char *const res_names[TP_TUNNEL_RES_COUNT] = {[TP_TUNNEL_OK] = "ok",
							   [TP_TUNNEL_OK_REKEY] = "ok_rekey",
#define X(name, str) [TP_TUNNEL_DROP_##name] = (str),
							   TP_TUNNEL_DROP_REASONS(X)
#undef X
};

const char *tp_tunnel_res_name(enum tp_tunnel_res r)
{
	return (unsigned)r < TP_TUNNEL_RES_COUNT ? res_names[r] : "invalid";
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t default_now(void *ctx)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t default_wall(void *ctx)
{
	return clock_ns(CLOCK_REALTIME);
}

static void default_random(void *ctx, void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

static void default_retire(void *ctx, void *obj, void (*free_fn)(void *obj))
{
	free_fn(obj);
}

static void default_send(void *ctx, struct tp_tunnel_peer *peer,
			 const struct tp_tunnel_endpoint *dst, const uint8_t *msg, size_t len)
{
}

struct tp_tunnel *tp_tunnel_new(const struct tp_tunnel_config *cfg)
{
	struct tp_tunnel *tun;
	uint8_t rl_key[16];

	if (tp_crypto_init() < 0)
		goto fail_init;
	tun = calloc(1, sizeof(*tun));
	if (!tun)
		goto fail_init;
	if (cfg->ops)
		tun->ops = *cfg->ops;
	if (!tun->ops.now_ns)
		tun->ops.now_ns = default_now;
	if (!tun->ops.wall_ns)
		tun->ops.wall_ns = default_wall;
	if (!tun->ops.random)
		tun->ops.random = default_random;
	if (!tun->ops.retire)
		tun->ops.retire = default_retire;
	if (!tun->ops.send)
		tun->ops.send = default_send;
	sodium_mlock(tun, sizeof(*tun)); /* best effort: the identity key */
	tun->ctx = cfg->ctx;
	tun->mtu = cfg->mtu ? cfg->mtu : TP_TUNNEL_DEFAULT_MTU;
	tun->mtu6 = cfg->mtu6 ? cfg->mtu6 : tun->mtu;

	memcpy(tun->id.private_key, cfg->private_key, NOISE_PUBLIC_KEY_LEN);
	tp_crypto_clamp(tun->id.private_key);
	if (!tp_crypto_pubkey(tun->id.public_key, tun->id.private_key))
		goto fail_key;
	if (wg_index_table_init(&tun->index, cfg->index_bits ? cfg->index_bits : 14) < 0)
		goto fail_key;
	tun->ops.random(tun->ctx, rl_key, sizeof(rl_key));
	tun->rl =
		wg_ratelimiter_new(cfg->ratelimit_entries ? cfg->ratelimit_entries : 4096, rl_key);
	sodium_memzero(rl_key, sizeof(rl_key));
	if (!tun->rl)
		goto fail_rl;
	wg_cookie_checker_init(&tun->cookie, tun->id.public_key);
	return tun;

fail_rl:
	wg_index_table_destroy(&tun->index);
fail_key:
	sodium_munlock(tun, sizeof(*tun));
	free(tun);
fail_init:
	return NULL;
}

static void peer_free(void *obj)
{
	struct tp_tunnel_peer *peer = obj;

	sodium_munlock(peer, sizeof(*peer)); /* wipes, then unlocks */
	free(peer);
}

static void peer_unlink(struct tp_tunnel *tun, struct tp_tunnel_peer *peer)
{
	wg_keypairs_zero(tun, peer);
	wg_noise_handshake_wipe(&peer->hs);
	wg_cookie_maker_wipe(&peer->cookie);
	tun->ops.retire(tun->ctx, peer, peer_free);
}

void tp_tunnel_free(struct tp_tunnel *tun)
{
	if (!tun)
		return;
	while (tun->npeers) /* off the list first, as in tp_tunnel_peer_remove */
		peer_unlink(tun, tun->peers[--tun->npeers]);
	free(tun->peers);
	wg_ratelimiter_free(tun->rl);
	wg_index_table_destroy(&tun->index);
	wg_cookie_checker_wipe(&tun->cookie);
	sodium_munlock(tun, sizeof(*tun)); /* wipes, then unlocks */
	free(tun);
}

struct tp_tunnel_peer *tp_tunnel_peer_find(struct tp_tunnel *tun,
					   const uint8_t public_key[TP_TUNNEL_KEY_LEN])
{
	for (size_t i = 0; i < tun->npeers; i++)
		if (memcmp(tun->peers[i]->public_key, public_key, TP_TUNNEL_KEY_LEN) == 0)
			return tun->peers[i];
	return NULL;
}

struct tp_tunnel_peer *tp_tunnel_peer_add(struct tp_tunnel *tun,
					  const struct tp_tunnel_peer_config *cfg)
{
	struct tp_tunnel_peer *peer;

	if (tp_tunnel_peer_find(tun, cfg->public_key) ||
	    memcmp(cfg->public_key, tun->id.public_key, TP_TUNNEL_KEY_LEN) == 0)
		goto fail_dup;
	if (tun->npeers == tun->peers_cap) {
		size_t cap = tun->peers_cap ? tun->peers_cap * 2 : 8;
		struct tp_tunnel_peer **p =
			realloc(tun->peers, cap * sizeof(struct tp_tunnel_peer *));

		if (!p)
			goto fail_dup;
		tun->peers = p;
		tun->peers_cap = cap;
	}
	peer = aligned_alloc(64, (sizeof(*peer) + 63) & ~(size_t)63);
	if (!peer)
		goto fail_dup;
	memset(peer, 0, sizeof(*peer));
	sodium_mlock(peer, sizeof(*peer)); /* best effort: handshake secrets */
	atomic_flag_clear(&peer->ep_lock);
	peer->tun = tun;
	peer->user = cfg->user;
	peer->persistent_keepalive_s = cfg->persistent_keepalive_s;
	memcpy(peer->public_key, cfg->public_key, TP_TUNNEL_KEY_LEN);
	if (!wg_noise_handshake_init(&peer->hs, &tun->id, cfg->public_key,
				     cfg->has_psk ? cfg->psk : NULL))
		goto fail_key;
	peer->hs_entry.kind = INDEX_HANDSHAKE;
	peer->hs_entry.peer = peer;
	wg_cookie_maker_init(&peer->cookie, cfg->public_key);
	if (cfg->endpoint.family)
		tp_tunnel_peer_set_endpoint(peer, &cfg->endpoint);
	wg_timers_init(tun, peer);
	tun->peers[tun->npeers++] = peer;
	return peer;

fail_key:
	sodium_munlock(peer, sizeof(*peer));
	free(peer);
fail_dup:
	return NULL;
}

void tp_tunnel_peer_remove(struct tp_tunnel *tun, struct tp_tunnel_peer *peer)
{
	for (size_t i = 0; i < tun->npeers; i++) {
		if (tun->peers[i] != peer)
			continue;
		tun->peers[i] = tun->peers[--tun->npeers];
		peer_unlink(tun, peer);
		return;
	}
}

void *tp_tunnel_peer_user(const struct tp_tunnel_peer *peer)
{
	return peer->user;
}

static void ep_pack(uint64_t w[3], const struct tp_tunnel_endpoint *ep)
{
	uint8_t b[24] = {ep->family, 0, (uint8_t)ep->port, (uint8_t)(ep->port >> 8)};

	memcpy(b + 4, ep->addr, 16);
	memcpy(w, b, sizeof(b));
}

static void ep_unpack(struct tp_tunnel_endpoint *ep, const uint64_t w[3])
{
	uint8_t b[24];

	memcpy(b, w, sizeof(b));
	memset(ep, 0, sizeof(*ep));
	ep->family = b[0];
	ep->port = (uint16_t)(b[2] | b[3] << 8);
	memcpy(ep->addr, b + 4, 16);
}

static void ep_load(const struct tp_tunnel_peer *peer, uint64_t w[3])
{
	struct tp_tunnel_peer *p = (struct tp_tunnel_peer *)peer;
	uint32_t s1, s2;

	do {
		s1 = atomic_load_explicit(&p->ep_seq, memory_order_acquire);
		for (int i = 0; i < 3; i++)
			w[i] = atomic_load_explicit(&p->ep_words[i], memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&p->ep_seq, memory_order_relaxed);
	} while ((s1 & 1) || s1 != s2);
}

bool tp_tunnel_peer_endpoint(const struct tp_tunnel_peer *peer, struct tp_tunnel_endpoint *out)
{
	uint64_t w[3];

	ep_load(peer, w);
	ep_unpack(out, w);
	return out->family != 0;
}

/*
 * Seqlock writer. A worker roaming the peer (may_give_up) only tries the
 * lock: if another thread is updating the endpoint right now, that value
 * is as fresh as ours, and a worker never waits. The configuration (the
 * control thread) must not lose its write to a roaming worker, so it waits
 * for the lock, which a worker holds for a few stores.
 */
static void ep_store(struct tp_tunnel_peer *peer, const uint64_t w[3], bool may_give_up)
{
	while (atomic_flag_test_and_set_explicit(&peer->ep_lock, memory_order_acquire)) {
		if (may_give_up)
			return;
	}
	atomic_fetch_add_explicit(&peer->ep_seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (int i = 0; i < 3; i++)
		atomic_store_explicit(&peer->ep_words[i], w[i], memory_order_relaxed);
	atomic_fetch_add_explicit(&peer->ep_seq, 1, memory_order_release);
	atomic_flag_clear_explicit(&peer->ep_lock, memory_order_release);
}

void tp_tunnel_peer_set_endpoint(struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *ep)
{
	struct tp_tunnel_endpoint clean = {.family = ep->family, .port = ep->port};
	uint64_t w[3];

	memcpy(clean.addr, ep->addr, ep->family == AF_INET ? 4 : 16);
	ep_pack(w, &clean);
	ep_store(peer, w, false);
}

void wg_device_roam(struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *src)
{
	struct tp_tunnel_endpoint clean = {.family = src->family, .port = src->port};
	uint64_t now[3], w[3];

	if (!src->family)
		return;
	memcpy(clean.addr, src->addr, src->family == AF_INET ? 4 : 16);
	ep_pack(w, &clean);
	ep_load(peer, now);
	if (memcmp(now, w, sizeof(w)) != 0)
		ep_store(peer, w, true);
}

void tp_tunnel_peer_stats(const struct tp_tunnel_peer *peer, struct tp_tunnel_peer_stats *st)
{
	struct tp_tunnel_peer *p = (struct tp_tunnel_peer *)peer;

	memset(st, 0, sizeof(*st));
	st->handshakes_completed = peer->handshakes_completed;
	st->handshake_initiations_sent = peer->initiations_sent;
	st->last_handshake_ns = peer->last_handshake_ns;
	st->rx_bytes = atomic_load(&p->rx_bytes);
	st->tx_bytes = atomic_load(&p->tx_bytes);
	st->has_current_key = atomic_load(&p->kp_cur) != NULL;
}

const uint64_t *tp_tunnel_counters(const struct tp_tunnel *tun)
{
	return tun->counters;
}
