// SPDX-License-Identifier: MIT
/* Runtime pieces that need no EAL: EAL arguments from the config, and the
 * idle back-off state machine. */
#include <CUnit/Basic.h>
#include <string.h>

#include "tp/dp/config.h"
#include "tp/dp/idle.h"
#include "tp/dp/runtime.h"

static const char *joined(const struct tp_eal_args *a)
{
	static char buf[2048];
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < a->argc; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "",
					a->argv[i]);
	return buf;
}

static void test_eal_args(void)
{
	struct tp_config c;
	struct tp_config_err e;
	struct tp_eal_args a;

	CU_ASSERT_EQUAL_FATAL(tp_config_parse("name = t1\nmode = memory\nworker_cores = 2\n"
					      "control_core = 1\nmemory_mb = 128\n",
					      &c, &e),
			      0);
	CU_ASSERT_EQUAL_FATAL(tp_runtime_eal_args(&c, "tpd", &a), 0);
	CU_ASSERT_STRING_EQUAL(joined(&a), "tpd --lcores 0@1,1@2 --main-lcore 0 --no-huge -m 128 "
					   "--file-prefix tpd-t1 --no-pci --vdev net_ring_zone "
					   "--vdev net_ring_transit --log-level=lib.eal:warning");
	CU_ASSERT_PTR_NULL(a.argv[a.argc]);

	CU_ASSERT_EQUAL_FATAL(tp_config_parse("name = t2\nmode = xdp\nzone_interface = vz\n"
					      "transit_interface = vt\n"
					      "zone_xdp_program = /b/zone.o\n",
					      &c, &e),
			      0);
	CU_ASSERT_EQUAL_FATAL(tp_runtime_eal_args(&c, "tpd", &a), 0);
	CU_ASSERT_STRING_EQUAL(
		joined(&a),
		"tpd --lcores 0@0,1@1 --main-lcore 0 --no-huge -m 256 --file-prefix tpd-t2 "
		"--no-pci "
		"--vdev net_af_xdp_zone,iface=vz,start_queue=0,queue_count=1,busy_budget=0,"
		"xdp_prog=/b/zone.o "
		"--vdev net_af_xdp_transit,iface=vt,start_queue=0,queue_count=1,busy_budget=0 "
		"--log-level=lib.eal:warning");

	CU_ASSERT_EQUAL_FATAL(tp_config_parse("mode = dpdk\nzone_interface = 0000:01:00.0\n"
					      "transit_interface = 0000:01:00.1\n",
					      &c, &e),
			      0);
	CU_ASSERT_EQUAL_FATAL(tp_runtime_eal_args(&c, "tpd", &a), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(joined(&a), "-a 0000:01:00.0 -a 0000:01:00.1"));
	CU_ASSERT_PTR_NULL(strstr(joined(&a), "--no-pci"));
	{
		char name[64];

		CU_ASSERT_STRING_EQUAL(tp_runtime_port_name(&c, 1, name, sizeof(name)),
				       "0000:01:00.1");
	}
}

static void test_idle_backoff(void)
{
	struct tp_idle s;
	uint32_t expect[] = {1, 2, 4, 8, 16, 32, 50, 50, 50};

	tp_idle_init(&s, 3, 50, 0);
	/* busy: never sleeps */
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 1, 0), 0);
	/* spin_polls empty polls without sleeping, then doubling to the cap */
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, 0), 0);
	for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, 0), expect[i]);
	/* one packet: back to busy polling at once */
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 7, 0), 0);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, 0), 0);
	CU_ASSERT_EQUAL(s.sleep_us, 0);

	/* a zero cap is treated as 1 us, never as "sleep 0 forever" */
	tp_idle_init(&s, 0, 0, 0);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, 0), 1);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, 0), 1);
}

/* idle_poll_us: after a packet, polling goes on for the window however
 * many empty polls pass; past it, the back-off starts where it would. */
static void test_idle_poll_window(void)
{
	const uint64_t us = 1000, t0 = 5000000;
	struct tp_idle s;

	tp_idle_init(&s, 2, 50, 200);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 3, t0), 0);
	for (int i = 0; i < 10000; i++)
		CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, t0 + 199 * us), 0);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, t0 + 200 * us), 1);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, t0 + 201 * us), 2);
	/* a packet while sleeping: the window opens again from then */
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 1, t0 + 300 * us), 0);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, t0 + 301 * us), 0);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, t0 + 302 * us), 0);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, t0 + 499 * us), 0);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, t0 + 500 * us), 1);
	/* but never fewer than spin_polls empty polls, window or not */
	tp_idle_init(&s, 3, 50, 0);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 1, t0), 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, t0 + 1000 * us), 0);
	CU_ASSERT_EQUAL(tp_idle_after_poll(&s, 0, t0 + 1000 * us), 1);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("runtime", NULL, NULL);
	CU_add_test(suite, "EAL arguments from the config", test_eal_args);
	CU_add_test(suite, "idle back-off", test_idle_backoff);
	CU_add_test(suite, "idle back-off: the polling window after a packet",
		    test_idle_poll_window);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
