// SPDX-License-Identifier: MIT
/*
 * The next-hop cache: a destination address (a peer's endpoint on the
 * transit side, a host on the zone side) to the MAC of its next hop as the
 * kernel resolved it. The control thread is its only writer (on a resolved
 * held packet, and refreshed from the kernel's table every second);
 * workers read it (the L2 stage) under a per-entry seqlock and, on a miss,
 * hand the packet to the control thread, which holds it until the kernel
 * resolves the neighbour.
 */
#include <string.h>

#include "fwd_int.h"

#define NH_PROBE 8

static uint32_t nh_hash(uint8_t family, const uint8_t *addr)
{
	uint32_t h = 2166136261u ^ family;
	unsigned len = family == 4 ? 4 : 16;

	for (unsigned i = 0; i < len; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h;
}

static bool nh_same(const struct fwd_nh *e, uint8_t family, const uint8_t *addr)
{
	return e->family == family && memcmp(e->addr, addr, family == 4 ? 4 : 16) == 0;
}

bool fwd_nh_lookup(const struct tp_fwd *f, uint8_t family, const uint8_t *addr, uint8_t mac[6])
{
	uint32_t h = nh_hash(family, addr);

	if (f->p.static_mac) {
		memcpy(mac, f->p.static_mac, 6);
		return true;
	}
	for (unsigned k = 0; k < NH_PROBE; k++) {
		const struct fwd_nh *e = &f->pub.nh[(h + k) & (NH_SLOTS - 1)];
		unsigned s1, s2;
		bool hit;

		do {
			s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
			hit = e->valid && nh_same(e, family, addr);
			if (hit)
				memcpy(mac, e->mac, 6);
			atomic_thread_fence(memory_order_acquire);
			s2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
		} while ((s1 & 1) || s1 != s2);
		if (hit)
			return true;
	}
	return false;
}

static void nh_write(struct fwd_nh *e, uint8_t family, const uint8_t *addr, const uint8_t *mac)
{
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	e->family = family;
	memset(e->addr, 0, sizeof(e->addr));
	memcpy(e->addr, addr, family == 4 ? 4 : 16);
	if (mac)
		memcpy(e->mac, mac, 6);
	e->valid = mac != NULL;
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_release);
}

void fwd_nh_store(struct tp_fwd *f, uint8_t family, const uint8_t *addr, const uint8_t mac[6])
{
	uint32_t h = nh_hash(family, addr);
	struct fwd_nh *free_e = NULL;

	for (unsigned k = 0; k < NH_PROBE; k++) {
		struct fwd_nh *e = &f->pub.nh[(h + k) & (NH_SLOTS - 1)];

		if (e->valid && nh_same(e, family, addr)) {
			if (memcmp(e->mac, mac, 6) != 0)
				nh_write(e, family, addr, mac);
			return;
		}
		if (!e->valid && !free_e)
			free_e = e;
	}
	/* a full probe window overwrites its first entry: the displaced
	 * destination resolves again through the control thread */
	nh_write(free_e ? free_e : &f->pub.nh[h & (NH_SLOTS - 1)], family, addr, mac);
}

/* Follow the kernel: a changed MAC is updated, a neighbour the kernel no
 * longer finds usable is forgotten (its next packet is held and resolved). */
void fwd_nh_refresh(struct tp_fwd *f)
{
	if (!f->p.neigh)
		return;
	for (unsigned i = 0; i < NH_SLOTS; i++) {
		struct fwd_nh *e = &f->pub.nh[i];
		uint8_t nexthop[16], mac[6];
		int oif;

		if (!e->valid)
			continue;
		if (tp_neigh_route(f->p.neigh, e->family, e->addr, &oif, nexthop) != 0 ||
		    tp_neigh_lookup(f->p.neigh, oif, e->family, nexthop, mac) != 0) {
			nh_write(e, e->family, e->addr, NULL);
			continue;
		}
		if (memcmp(mac, e->mac, 6) != 0)
			nh_write(e, e->family, e->addr, mac);
	}
}
