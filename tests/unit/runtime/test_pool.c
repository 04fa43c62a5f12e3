// SPDX-License-Identifier: MIT
/*
 * Mbuf pools for AF_XDP ports (dataplane/runtime/pool.c), on EAL with
 * --no-huge (4 KiB pages, as in the lab; label root):
 * - a pool made as rte_pktmbuf_pool_create makes it keeps each object in
 *   one page, so 39 % of its buffers lie past the UMEM net_af_xdp
 *   registers: the check names them (this is what starved a two-worker
 *   tpd's fill ring);
 * - an AF_XDP pool (one 4096-byte frame per object) has every buffer
 *   inside it, for any size, no object across a page, a data room of at
 *   least what was asked, and mbufs initialised as rte_pktmbuf_pool_create's;
 * - a room that does not fit a frame is refused.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_memzone.h>

#include "stage_fixture.h"
#include "tp/dp/runtime.h"

#define PRIV 64

static void test_page_per_object_refused(void)
{
	struct rte_mempool *mp = tp_mbuf_pool_create("t_unpacked", 8191, 256, PRIV,
						     RTE_MBUF_DEFAULT_BUF_SIZE, 0, false);
	char err[256] = "";

	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT_EQUAL(tp_mbuf_pool_check_umem(mp, err, sizeof(err)), -ERANGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t_unpacked"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "of 8191 buffers lie outside"));
	rte_mempool_free(mp);
}

/* Every object of an AF_XDP pool of n inside the UMEM, none across a
 * page; every mbuf usable. */
static void obj_in_page(struct rte_mempool *mp, void *arg, void *obj, unsigned i)
{
	uintptr_t start = (uintptr_t)obj - mp->header_size;

	(void)arg;
	(void)i;
	CU_ASSERT_EQUAL(start % TP_UMEM_FRAME, 0);
}

static void umem_pool(unsigned n)
{
	struct rte_mempool *mp = tp_mbuf_pool_create("t_umem", n, n >= 64 ? 32 : 0, PRIV,
						     RTE_MBUF_DEFAULT_BUF_SIZE, 0, true);
	struct rte_mbuf **m = calloc(n, sizeof(*m));
	char err[256] = "";

	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(mp->populated_size, n);
	CU_ASSERT_EQUAL(tp_mbuf_pool_check_umem(mp, err, sizeof(err)), 0);
	if (err[0])
		printf("\n%s\n", err);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL), TP_UMEM_FRAME);
	rte_mempool_obj_iter(mp, obj_in_page, NULL);
	CU_ASSERT(rte_pktmbuf_data_room_size(mp) >= RTE_MBUF_DEFAULT_BUF_SIZE);
	CU_ASSERT_EQUAL(rte_pktmbuf_priv_size(mp), PRIV);
	CU_ASSERT_EQUAL_FATAL(rte_pktmbuf_alloc_bulk(mp, m, n), 0);
	for (unsigned i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(m[i]->buf_len, rte_pktmbuf_data_room_size(mp));
		CU_ASSERT_EQUAL(m[i]->data_off, RTE_PKTMBUF_HEADROOM);
		CU_ASSERT_EQUAL(m[i]->priv_size, PRIV);
		/* the whole data room is writable: ASan sees an overrun */
		memset(rte_pktmbuf_mtod(m[i], void *), (int)i, rte_pktmbuf_tailroom(m[i]));
	}
	CU_ASSERT_PTR_NULL(rte_pktmbuf_alloc(mp));
	rte_pktmbuf_free_bulk(m, n);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(mp), n);
	free(m);
	rte_mempool_free(mp);
	CU_ASSERT_PTR_NULL(rte_memzone_lookup("t_umem_umem")); /* its zone went with it */
}

static void test_umem_inside(void)
{
	umem_pool(8191);
	umem_pool(1);
	umem_pool(63);
	umem_pool(1023);
}

static void test_room_too_large(void)
{
	CU_ASSERT_PTR_NULL(tp_mbuf_pool_create("t_big", 63, 0, PRIV, 4000, 0, true));
	CU_ASSERT_EQUAL(rte_errno, EINVAL);
	CU_ASSERT_PTR_NULL(rte_mempool_lookup("t_big"));
}

int main(void)
{
	struct rte_mempool *fixture = tp_fixture_init("pool"); /* EAL, --no-huge */
	CU_pSuite suite;
	unsigned failed;

	if (!fixture)
		return 2;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("mbuf pools for AF_XDP", NULL, NULL);
	CU_add_test(suite, "one object per page: buffers outside the UMEM named",
		    test_page_per_object_refused);
	CU_add_test(suite, "AF_XDP pool: every buffer inside the UMEM, every mbuf usable",
		    test_umem_inside);
	CU_add_test(suite, "a data room larger than a frame is refused", test_room_too_large);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	tp_fixture_fini(fixture);
	return failed ? 1 : 0;
}
