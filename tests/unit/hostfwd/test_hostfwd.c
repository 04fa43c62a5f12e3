// SPDX-License-Identifier: MIT
/*
 * tpd_hostfwd_lock (dataplane/tpd/hostfwd.h) on a directory laid out like
 * /proc/sys: per-port IPv4 forwarding and IPv6 force_forwarding are turned
 * off and said, global IPv6 forwarding is refused with one line naming the
 * sysctl and nothing changed, a switch that cannot be read is refused,
 * absent switches (no IPv6, older kernels) are fine.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostfwd.h"

static char root[64];
static char said[8][512];
static unsigned n_said;
static const char *const ports[2] = {"zone0", "transit0"};

static void say(void *arg, const char *line)
{
	(void)arg;
	if (n_said < 8)
		snprintf(said[n_said], sizeof(said[0]), "%s", line);
	n_said++;
}

static void put(const char *rel, const char *val)
{
	char path[256], cmd[320];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(val, f);
	fclose(f);
}

static char get(const char *rel)
{
	char path[256], c = '?';
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "r");
	if (f) {
		c = (char)fgetc(f);
		fclose(f);
	}
	return c;
}

static void fresh(void)
{
	char cmd[192];

	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", root, root);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	n_said = 0;
}

static int lock(char *err, size_t len)
{
	return tpd_hostfwd_lock(root, ports, 2, say, NULL, err, len);
}

static void test_ipv4_per_port_turned_off(void)
{
	char err[256] = "";

	fresh();
	put("net/ipv6/conf/all/forwarding", "0\n");
	put("net/ipv4/conf/zone0/forwarding", "1\n");
	put("net/ipv4/conf/transit0/forwarding", "1\n");
	put("net/ipv4/conf/eth9/forwarding", "1\n"); /* not ours: left alone */
	put("net/ipv6/conf/zone0/force_forwarding", "0\n");
	put("net/ipv6/conf/transit0/force_forwarding", "1\n");
	CU_ASSERT_EQUAL(lock(err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(get("net/ipv4/conf/zone0/forwarding"), '0');
	CU_ASSERT_EQUAL(get("net/ipv4/conf/transit0/forwarding"), '0');
	CU_ASSERT_EQUAL(get("net/ipv4/conf/eth9/forwarding"), '1');
	CU_ASSERT_EQUAL(get("net/ipv6/conf/transit0/force_forwarding"), '0');
	CU_ASSERT_EQUAL_FATAL(n_said, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(said[0], "net.ipv4.conf.zone0.forwarding"));
	CU_ASSERT_PTR_NOT_NULL(strstr(said[1], "net.ipv4.conf.transit0.forwarding"));
	CU_ASSERT_PTR_NOT_NULL(strstr(said[2], "net.ipv6.conf.transit0.force_forwarding"));
	/* a second start finds nothing to do and says nothing */
	n_said = 0;
	CU_ASSERT_EQUAL(lock(err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(n_said, 0);
}

static void test_ipv6_global_refused(void)
{
	char err[256] = "";

	fresh();
	put("net/ipv6/conf/all/forwarding", "1\n");
	put("net/ipv4/conf/zone0/forwarding", "1\n");
	CU_ASSERT_EQUAL(lock(err, sizeof(err)), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "net.ipv6.conf.all.forwarding"));
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));			     /* one line */
	CU_ASSERT_EQUAL(get("net/ipv4/conf/zone0/forwarding"), '1'); /* nothing changed */
	CU_ASSERT_EQUAL(n_said, 0);
}

static void test_absent_is_fine(void)
{
	char err[256] = "";

	fresh(); /* no IPv6, no per-port files: nothing forwards */
	CU_ASSERT_EQUAL(lock(err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(n_said, 0);
}

/* A switch that cannot be read (here a directory where the file should
 * be; root writes read-only files anyway) is an error that names it. */
static void test_unreadable_refused(void)
{
	char err[256] = "", path[256];

	fresh();
	put("net/ipv4/conf/zone0/forwarding", "1\n");
	put("net/ipv4/conf/transit0/x", "");
	snprintf(path, sizeof(path), "%s/net/ipv4/conf/transit0/forwarding", root);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
	CU_ASSERT(lock(err, sizeof(err)) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "net.ipv4.conf.transit0.forwarding"));
}

int main(void)
{
	CU_pSuite s;
	unsigned failed;
	char cmd[192];

	snprintf(root, sizeof(root), "/tmp/tp-hostfwd.%d", (int)getpid());
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite("hostfwd", NULL, NULL);
	CU_add_test(s, "IPv4 per port and IPv6 force_forwarding: off, said",
		    test_ipv4_per_port_turned_off);
	CU_add_test(s, "global IPv6 forwarding: refused, nothing changed",
		    test_ipv6_global_refused);
	CU_add_test(s, "absent switches are fine", test_absent_is_fine);
	CU_add_test(s, "a switch that cannot be read: refused, named", test_unreadable_refused);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return failed ? 1 : 0;
}
