// SPDX-License-Identifier: MIT
/*
 * Neighbour mirror without a kernel: netlink messages are built here and
 * fed through tp_neigh_input(); time is a fake clock. Covers the table,
 * the hold queue (order, bound, release on reachable / failed / expiry),
 * and ignoring interfaces tpd does not follow.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "tp/dp/neigh.h"

static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	return fake_now;
}

#define MAX_REL 64
static struct {
	void *pkt;
	bool has_mac;
	uint8_t mac[6];
} rel[MAX_REL];
static unsigned n_rel;

static void on_release(void *arg, void *pkt, const uint8_t *mac)
{
	CU_ASSERT_FATAL(n_rel < MAX_REL);
	rel[n_rel].pkt = pkt;
	rel[n_rel].has_mac = mac != NULL;
	if (mac)
		memcpy(rel[n_rel].mac, mac, 6);
	n_rel++;
}

static const int ifs[] = {7, 9};

static struct tp_neigh *make(unsigned max_entries, unsigned queue_len)
{
	struct tp_neigh_params p = {
		.ifindex = ifs,
		.n_ifindex = 2,
		.max_entries = max_entries,
		.queue_len = queue_len,
		.hold_ns = 1000000000u,
		.clock = {.now_ns = fake_clock},
		.release = on_release,
		.no_socket = true,
	};

	n_rel = 0;
	fake_now = 1000;
	return tp_neigh_create(&p);
}

/* Feed one RTM_NEWNEIGH / RTM_DELNEIGH. mac may be NULL. */
static void feed(struct tp_neigh *n, uint16_t type, int ifindex, int af, const void *addr,
		 uint16_t state, const uint8_t *mac)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;

	nlh->nlmsg_type = type;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (uint8_t)af;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = state;
	mnl_attr_put(nlh, NDA_DST, af == AF_INET ? 4 : 16, addr);
	if (mac)
		mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	CU_ASSERT_EQUAL(tp_neigh_input(n, buf, nlh->nlmsg_len), 0);
}

static const uint8_t a4[4] = {10, 8, 0, 2};
static const uint8_t a6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac2[6] = {2, 0, 0, 0, 0, 2};

static void test_table(void)
{
	struct tp_neigh *n = make(8, 4);
	struct tp_neigh_info info;
	uint8_t mac[6];

	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(tp_neigh_lookup(n, 7, 4, a4, mac), -ENOENT);
	feed(n, RTM_NEWNEIGH, 7, AF_INET, a4, NUD_REACHABLE, mac1);
	CU_ASSERT_EQUAL(tp_neigh_lookup(n, 7, 4, a4, mac), 0);
	CU_ASSERT_EQUAL(memcmp(mac, mac1, 6), 0);
	CU_ASSERT_EQUAL(tp_neigh_lookup(n, 9, 4, a4, mac), -ENOENT); /* other interface */
	/* STALE still has a usable MAC; the MAC may change */
	feed(n, RTM_NEWNEIGH, 7, AF_INET, a4, NUD_STALE, mac2);
	CU_ASSERT_EQUAL(tp_neigh_lookup(n, 7, 4, a4, mac), 0);
	CU_ASSERT_EQUAL(memcmp(mac, mac2, 6), 0);
	/* FAILED and INCOMPLETE are not usable */
	feed(n, RTM_NEWNEIGH, 7, AF_INET, a4, NUD_FAILED, NULL);
	CU_ASSERT_EQUAL(tp_neigh_lookup(n, 7, 4, a4, mac), -ENOENT);
	/* IPv6 */
	feed(n, RTM_NEWNEIGH, 9, AF_INET6, a6, NUD_PERMANENT, mac1);
	CU_ASSERT_EQUAL(tp_neigh_lookup(n, 9, 6, a6, mac), 0);
	CU_ASSERT_EQUAL(tp_neigh_get(n, 1, &info), 0);
	CU_ASSERT_EQUAL(info.family, 6);
	CU_ASSERT_EQUAL(tp_neigh_get(n, 2, &info), -ENOENT);
	/* deletion */
	feed(n, RTM_DELNEIGH, 9, AF_INET6, a6, NUD_NONE, NULL);
	CU_ASSERT_EQUAL(tp_neigh_lookup(n, 9, 6, a6, mac), -ENOENT);
	CU_ASSERT_EQUAL(tp_neigh_get(n, 1, &info), -ENOENT);
	/* an interface tpd does not follow is ignored */
	feed(n, RTM_NEWNEIGH, 3, AF_INET, a4, NUD_REACHABLE, mac1);
	CU_ASSERT_EQUAL(tp_neigh_lookup(n, 3, 4, a4, mac), -ENOENT);
	tp_neigh_destroy(n);
	CU_ASSERT_EQUAL(n_rel, 0);
}

static void test_hold_until_reachable(void)
{
	struct tp_neigh *n = make(8, 3);
	int p[5];

	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(tp_neigh_hold(n, 7, 4, a4, &p[i]), 0);
	CU_ASSERT_EQUAL(tp_neigh_hold(n, 7, 4, a4, &p[3]), -ENOSPC); /* bounded */
	CU_ASSERT_EQUAL(n_rel, 0);
	feed(n, RTM_NEWNEIGH, 7, AF_INET, a4, NUD_INCOMPLETE, NULL);
	CU_ASSERT_EQUAL(n_rel, 0);
	feed(n, RTM_NEWNEIGH, 7, AF_INET, a4, NUD_REACHABLE, mac1);
	CU_ASSERT_EQUAL_FATAL(n_rel, 3);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_PTR_EQUAL(rel[i].pkt, &p[i]); /* in order */
		CU_ASSERT_TRUE(rel[i].has_mac);
		CU_ASSERT_EQUAL(memcmp(rel[i].mac, mac1, 6), 0);
	}
	/* once resolved, a hold releases at once */
	CU_ASSERT_EQUAL(tp_neigh_hold(n, 7, 4, a4, &p[4]), 0);
	CU_ASSERT_EQUAL(n_rel, 4);
	CU_ASSERT_PTR_EQUAL(rel[3].pkt, &p[4]);
	tp_neigh_destroy(n);
	CU_ASSERT_EQUAL(n_rel, 4);
}

static void test_hold_failed_and_expired(void)
{
	struct tp_neigh *n = make(8, 4);
	int p[4];

	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(tp_neigh_hold(n, 7, 4, a4, &p[0]), 0);
	feed(n, RTM_NEWNEIGH, 7, AF_INET, a4, NUD_FAILED, NULL);
	CU_ASSERT_EQUAL_FATAL(n_rel, 1);
	CU_ASSERT_FALSE(rel[0].has_mac);

	/* expiry on the injected clock, oldest first */
	CU_ASSERT_EQUAL(tp_neigh_hold(n, 9, 6, a6, &p[1]), 0);
	fake_now += 500000000u;
	CU_ASSERT_EQUAL(tp_neigh_hold(n, 9, 6, a6, &p[2]), 0);
	CU_ASSERT_EQUAL(tp_neigh_expire(n), 0);
	fake_now += 500000000u;
	CU_ASSERT_EQUAL(tp_neigh_expire(n), 1);
	CU_ASSERT_PTR_EQUAL(rel[1].pkt, &p[1]);
	CU_ASSERT_FALSE(rel[1].has_mac);
	/* destroy hands back what is still held */
	CU_ASSERT_EQUAL(tp_neigh_hold(n, 7, 4, a4, &p[3]), 0);
	tp_neigh_destroy(n);
	CU_ASSERT_EQUAL(n_rel, 4);
}

static void test_table_full(void)
{
	struct tp_neigh *n = make(2, 2);
	uint8_t b[4] = {10, 8, 0, 3}, c[4] = {10, 8, 0, 4};
	int p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_EQUAL(tp_neigh_hold(n, 7, 4, a4, &p), 0);
	CU_ASSERT_EQUAL(tp_neigh_hold(n, 7, 4, b, &p), 0);
	CU_ASSERT_EQUAL(tp_neigh_hold(n, 7, 4, c, &p), -ENOSPC);
	tp_neigh_destroy(n);
	CU_ASSERT_EQUAL(n_rel, 2);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("neigh", NULL, NULL);
	CU_add_test(suite, "table from notifications", test_table);
	CU_add_test(suite, "hold until reachable, in order, bounded", test_hold_until_reachable);
	CU_add_test(suite, "hold released on failure and expiry", test_hold_failed_and_expired);
	CU_add_test(suite, "table full", test_table_full);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
