// SPDX-License-Identifier: MIT
/*
 * Mbuf pools whose every buffer the kernel accepts as an AF_XDP frame.
 *
 * net_af_xdp (DPDK 22.11, the path built with XDP_UMEM_UNALIGNED_CHUNK_FLAG)
 * registers the pool's memory as the socket's UMEM: from its first chunk,
 * rounded down to a page, populated_size x (header + element + trailer)
 * bytes. That is only right when the objects lie back to back. But a pool
 * keeps each object inside one page (IOVA-contiguous objects): with 4 KiB
 * pages (--no-huge) and the default 2.5 KiB object, one object per page,
 * and the pool spans 1.6 times the UMEM; with 2 MiB hugepages, a gap at
 * each page's end and a few objects past the UMEM. A buffer past the
 * UMEM's end is refused by the kernel without a trace: its fill-ring
 * entry is consumed and dropped (the fill queue's invalid_descs, which
 * XDP_STATISTICS does not report), its mbuf never comes back, and once as
 * many are gone as the fill ring held, the socket receives nothing again
 * (rx_fill_ring_empty_descs grows). Workers that allocate on one lcore
 * and free on another cycle the whole pool through its ring, so two
 * workers on one queue met it within seconds of a flood
 * (tests/lab/tpd-workers/flood.sh); one worker reuses the few
 * objects of its lcore cache and met it seldom.
 *
 * So an AF_XDP port's pool has objects of exactly TP_UMEM_FRAME bytes
 * (4096: a divisor of every page size), not spread over memory channels:
 * pages hold whole objects without gaps, no object crosses a page (as
 * kernel zero-copy needs), and the UMEM the PMD computes is the pool's
 * span. The data room is what remains of the frame (3840 bytes with a
 * 64-byte private area, against 2176 in a default pool).
 * tp_mbuf_pool_check_umem proves, object by object, that the UMEM holds
 * every one, and tpd refuses to start when it does not.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memzone.h>
#include <rte_mempool.h>

#include "tp/dp/runtime.h"

static void zone_free(struct rte_mempool_memhdr *mh, void *mz)
{
	(void)mh;
	rte_memzone_free(mz);
}

/* A new pool's mbufs carry no packet state (struct tp_pkt_meta zero, so no
 * pending verdict), whatever the memory held before. */
static void priv_clear(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct rte_mbuf *m = obj;

	(void)mp;
	(void)arg;
	(void)idx;
	memset(rte_mbuf_to_priv(m), 0, m->priv_size);
}

struct rte_mempool *tp_mbuf_pool_create(const char *name, unsigned n, unsigned cache,
					uint16_t priv_size, uint16_t room, int socket, bool umem)
{
	const unsigned flags = RTE_MEMPOOL_F_NO_SPREAD;
	struct rte_pktmbuf_pool_private pp = {.mbuf_priv_size = priv_size};
	char mz_name[RTE_MEMZONE_NAMESIZE];
	const struct rte_memzone *mz;
	struct rte_mempool_objsz sz;
	struct rte_mempool *mp;
	uint32_t elt;
	int rc;

	if (!umem) {
		mp = rte_pktmbuf_pool_create(name, n, cache, priv_size, room, socket);
		if (mp)
			rte_mempool_obj_iter(mp, priv_clear, NULL);
		return mp;
	}
	/* the element that makes header + element + trailer one frame */
	rte_mempool_calc_obj_size(RTE_CACHE_LINE_SIZE, flags, &sz);
	elt = TP_UMEM_FRAME - sz.header_size - (sz.total_size - sz.header_size - sz.elt_size);
	if (elt < sizeof(struct rte_mbuf) + priv_size + room ||
	    rte_mempool_calc_obj_size(elt, flags, NULL) != TP_UMEM_FRAME) {
		rte_errno = EINVAL;
		return NULL;
	}
	pp.mbuf_data_room_size = (uint16_t)(elt - sizeof(struct rte_mbuf) - priv_size);
	mp = rte_mempool_create_empty(name, n, elt, cache, sizeof(pp), socket, flags);
	if (!mp)
		return NULL;
	rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
	if (rc)
		goto fail;
	rte_pktmbuf_pool_init(mp, &pp);
	/* one page-aligned zone: the first frame where the UMEM starts */
	snprintf(mz_name, sizeof(mz_name), "%s_umem", name);
	mz = rte_memzone_reserve_aligned(mz_name, (size_t)n * TP_UMEM_FRAME, socket, 0,
					 TP_UMEM_FRAME);
	if (!mz) {
		rc = -rte_errno;
		goto fail;
	}
	rc = rte_mempool_populate_virt(mp, mz->addr, (size_t)n * TP_UMEM_FRAME, TP_UMEM_FRAME,
				       zone_free, (void *)(uintptr_t)mz);
	if (rc < 0 || (unsigned)rc != n) {
		if (mp->nb_mem_chunks == 0)
			rte_memzone_free(mz); /* not the pool's yet */
		rc = rc < 0 ? rc : -ENOMEM;
		goto fail;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	rte_mempool_obj_iter(mp, priv_clear, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	rte_errno = -rc;
	return NULL;
}

struct umem_walk {
	uintptr_t base;
	uint64_t size, frame;
	unsigned outside;
	uintptr_t first_bad;
};

static void umem_obj(struct rte_mempool *mp, void *arg, void *obj, unsigned i)
{
	struct umem_walk *u = arg;
	uintptr_t start = (uintptr_t)obj - mp->header_size; /* the PMD's frame address */

	(void)i;
	if (start < u->base || start - u->base + u->frame > u->size) {
		if (!u->outside)
			u->first_bad = start;
		u->outside++;
	}
}

int tp_mbuf_pool_check_umem(struct rte_mempool *mp, char *err, size_t errlen)
{
	struct rte_mempool_memhdr *first = STAILQ_FIRST(&mp->mem_list);
	struct umem_walk u = {0};

	if (!first) {
		snprintf(err, errlen, "pool %s has no memory", mp->name);
		return -EINVAL;
	}
	/* as net_af_xdp's get_base_addr: the first chunk's page, then
	 * populated_size frames and the chunk's offset in its page */
	u.base = (uintptr_t)first->addr & ~((uintptr_t)getpagesize() - 1);
	u.frame = rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL);
	u.size = (uint64_t)mp->populated_size * u.frame + ((uintptr_t)first->addr - u.base);
	rte_mempool_obj_iter(mp, umem_obj, &u);
	if (u.outside) {
		snprintf(err, errlen,
			 "pool %s: %u of %u buffers lie outside the %llu-byte AF_XDP UMEM "
			 "(%u memory chunk(s); first at offset %llu): the kernel would drop them "
			 "from the fill ring",
			 mp->name, u.outside, mp->populated_size, (unsigned long long)u.size,
			 mp->nb_mem_chunks, (unsigned long long)(u.first_bad - u.base));
		return -ERANGE;
	}
	return 0;
}
