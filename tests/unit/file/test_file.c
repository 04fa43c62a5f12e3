// SPDX-License-Identifier: MIT
/* tp_file (tp/base/file.h): the durable write replaces a file whole, with
 * the mode asked, through PATH.tmp (or PATH.tmp.PID) that never stays
 * behind, and leaves the old file when it cannot write; the read caps the
 * size and refuses what is not a regular file. */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/base/file.h"

#include "../../lib/tl_cunit.h"

static char dir[64];

static unsigned entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	while (d && (de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

static bool holds(const char *path, const char *want)
{
	uint8_t *got = NULL;
	size_t len = 0;
	bool ok;

	ok = tp_file_read(path, 1 << 20, &got, &len) == 0 && len == strlen(want) &&
	     memcmp(got, want, len) == 0;
	free(got);
	return ok;
}

static void test_write_replace(void)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/a", dir);
	snprintf(tmp, sizeof(tmp), "%s/a.tmp", dir);
	CU_ASSERT_EQUAL(tp_file_write_durable(path, "one", 3, 0600, 0), 0);
	CU_ASSERT_TRUE(holds(path, "one"));
	CU_ASSERT_TRUE(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	/* a leftover temp file of a crash is overwritten, not in the way */
	CU_ASSERT_EQUAL(tp_file_write_durable(tmp, "junk", 4, 0600, 0), 0);
	CU_ASSERT_EQUAL(tp_file_write_durable(path, "second", 6, 0644, 0), 0);
	CU_ASSERT_TRUE(holds(path, "second"));
	CU_ASSERT_EQUAL(access(tmp, F_OK), -1);
	CU_ASSERT_EQUAL(entries(), 1);
	/* without the directory fsync: the same file */
	CU_ASSERT_EQUAL(tp_file_write_durable(path, "", 0, 0600, TP_FILE_NO_DIR_SYNC), 0);
	CU_ASSERT_TRUE(holds(path, ""));
	umask(old);
	unlink(path);
}

static void test_write_fails_whole(void)
{
	char path[PATH_MAX], tmp[PATH_MAX];

	snprintf(path, sizeof(path), "%s/b", dir);
	snprintf(tmp, sizeof(tmp), "%s/b.tmp", dir);
	CU_ASSERT_EQUAL(tp_file_write_durable(path, "old", 3, 0600, 0), 0);
	/* the temp file cannot be created: a directory is in its way */
	CU_ASSERT_EQUAL_FATAL(mkdir(tmp, 0700), 0);
	CU_ASSERT_TRUE(tp_file_write_durable(path, "new", 3, 0600, 0) < 0);
	CU_ASSERT_TRUE(holds(path, "old"));
	/* PATH.tmp.PID: for concurrent writers of one path, not blocked by it */
	CU_ASSERT_EQUAL(tp_file_write_durable(path, "new", 3, 0600, TP_FILE_TMP_PID), 0);
	CU_ASSERT_TRUE(holds(path, "new"));
	CU_ASSERT_EQUAL(entries(), 2); /* b and the directory b.tmp: no temporaries */
	rmdir(tmp);
	unlink(path);
	CU_ASSERT_EQUAL(tp_file_write_durable("/proc/nonexistent/x", "x", 1, 0600, 0), -ENOENT);
}

static void test_read(void)
{
	char path[PATH_MAX];
	uint8_t *got = NULL;
	size_t len = 7;

	snprintf(path, sizeof(path), "%s/c", dir);
	CU_ASSERT_EQUAL(tp_file_write_durable(path, "0123456789", 10, 0600, 0), 0);
	CU_ASSERT_EQUAL(tp_file_read(path, 10, &got, &len), 0);
	CU_ASSERT_EQUAL(len, 10);
	free(got);
	CU_ASSERT_EQUAL(tp_file_read(path, 9, &got, &len), -EFBIG);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_EQUAL(len, 0);
	/* a path that is not a regular file is refused, not read */
	CU_ASSERT_EQUAL(tp_file_read(dir, 1 << 20, &got, &len), -EINVAL);
	CU_ASSERT_PTR_NULL(got);
	CU_ASSERT_EQUAL(tp_file_read("/nonexistent-tp-file", 1 << 20, &got, &len), -ENOENT);
	unlink(path);
}

int main(void)
{
	static const struct tl_test tests[] = {
		{"durable write replaces the file whole", test_write_replace},
		{"a failed write leaves the old file", test_write_fails_whole},
		{"capped read", test_read},
	};
	int failed;
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/test_file.%d", (int)getpid());
	if (mkdir(dir, 0700) != 0)
		return 1;
	failed = tl_cunit_run("file", tests, TL_N_TESTS(tests));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		failed++;
	return failed ? 1 : 0;
}
