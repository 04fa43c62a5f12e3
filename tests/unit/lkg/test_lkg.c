// SPDX-License-Identifier: MIT
/* tp_lkg: save/load round trip, replacement, missing file, size bound, and
 * no temporary file left behind. */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/ctrl/lkg.h"

#include "../../lib/tl_cunit.h"

static char dir[64];

static unsigned entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	while (d && (de = readdir(d)) != NULL)
		n += de->d_name[0] != '.' || strncmp(de->d_name, ".policy", 7) == 0;
	if (d)
		closedir(d);
	return n;
}

static void test_round_trip(void)
{
	uint8_t a[100], b[3000], *got = NULL;
	size_t len = 0;

	memset(a, 0xa5, sizeof(a));
	memset(b, 0x5a, sizeof(b));
	CU_ASSERT_EQUAL(tp_lkg_load(dir, 1 << 20, &got, &len), -ENOENT);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_EQUAL(tp_lkg_save(dir, a, sizeof(a)), 0);
	CU_ASSERT_EQUAL(tp_lkg_load(dir, 1 << 20, &got, &len), 0);
	CU_ASSERT_EQUAL(len, sizeof(a));
	CU_ASSERT_TRUE(got && memcmp(got, a, sizeof(a)) == 0);
	free(got);
	CU_ASSERT_EQUAL(tp_lkg_save(dir, b, sizeof(b)), 0);
	CU_ASSERT_EQUAL(tp_lkg_load(dir, 1 << 20, &got, &len), 0);
	CU_ASSERT_EQUAL(len, sizeof(b));
	CU_ASSERT_TRUE(got && memcmp(got, b, sizeof(b)) == 0);
	free(got);
	CU_ASSERT_EQUAL(tp_lkg_load(dir, 100, &got, &len), -EFBIG);
	CU_ASSERT_EQUAL(entries(), 1); /* lkg.tpb only, no temporaries */
}

/* The reader under tp_lkg_load (not a regular file, absent) is tested
 * where it lives: tests/unit/file. */
static void test_bad_dir(void)
{
	uint8_t a[4] = {1, 2, 3, 4};

	CU_ASSERT_TRUE(tp_lkg_save("/proc/nonexistent/x", a, sizeof(a)) < 0);
}

int main(void)
{
	static const struct tl_test tests[] = {
		{"save and load", test_round_trip},
		{"unwritable directory", test_bad_dir},
	};
	int failed;
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/test_lkg.%d", (int)getpid());
	if (mkdir(dir, 0700) != 0)
		return 1;
	failed = tl_cunit_run("lkg", tests, TL_N_TESTS(tests));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		failed++;
	return failed ? 1 : 0;
}
