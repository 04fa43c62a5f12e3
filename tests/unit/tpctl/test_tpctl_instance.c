// SPDX-License-Identifier: MIT
/*
 * tpctl -i NAME: the instance's admin socket is the admin_socket of
 * CONFIG_DIR/NAME.conf (tpd's default when absent); bad names never leave
 * CONFIG_DIR; a missing or broken config is a clear error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "instance.h"

#include "../../lib/tl_cunit.h"

static char dir[64];

static void write_conf(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void remove_conf(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	unlink(path);
}

static void test_found(void)
{
	char out[256], err[256];

	write_conf("plc-a",
		   "name = plc-a\nmode = memory\nadmin_socket = /run/tableau/plc-a.sock\n");
	write_conf("plc_b.2", "name = b\nmode = memory\nadmin_socket = /tmp/elsewhere/b.sock\n");
	write_conf("tpd", "mode = memory\n");
	CU_ASSERT_EQUAL(tpctl_instance_socket(dir, "plc-a", out, sizeof(out), err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(out, "/run/tableau/plc-a.sock");
	CU_ASSERT_EQUAL(tpctl_instance_socket(dir, "plc_b.2", out, sizeof(out), err, sizeof(err)),
			0);
	CU_ASSERT_STRING_EQUAL(out, "/tmp/elsewhere/b.sock");
	/* no admin_socket: where tpd itself listens then */
	CU_ASSERT_EQUAL(tpctl_instance_socket(dir, "tpd", out, sizeof(out), err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(out, "/run/tableau/tpd.sock");
	remove_conf("plc-a");
	remove_conf("plc_b.2");
	remove_conf("tpd");
}

static void test_bad_names(void)
{
	static const char *const names[] = {"",	  "../x", "a/b",  ".hidden",
					    "..", "a b",  "a\nb", "x$y"};
	char out[256] = "unchanged", err[256], longname[66];

	/* a config that a traversal would reach must not be read */
	write_conf("x", "mode = memory\nadmin_socket = /tmp/x.sock\n");
	/* and 65 characters: one too many */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	for (size_t i = 0; i <= sizeof(names) / sizeof(names[0]); i++) {
		const char *name = i < sizeof(names) / sizeof(names[0]) ? names[i] : longname;

		err[0] = 0;
		CU_ASSERT_EQUAL(
			tpctl_instance_socket(dir, name, out, sizeof(out), err, sizeof(err)),
			-EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad instance name"));
		CU_ASSERT_STRING_EQUAL(out, "unchanged");
	}
	remove_conf("x");
}

static void test_missing_and_broken(void)
{
	char out[256] = "unchanged", err[256];

	CU_ASSERT_EQUAL(tpctl_instance_socket(dir, "nosuch", out, sizeof(out), err, sizeof(err)),
			-ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nosuch.conf"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
	write_conf("broken", "mode = memory\nadmin_socket = relative.sock\n");
	CU_ASSERT_EQUAL(tpctl_instance_socket(dir, "broken", out, sizeof(out), err, sizeof(err)),
			-EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "admin_socket"));
	write_conf("typo", "mode = memory\nadmin_sockett = /x.sock\n");
	CU_ASSERT_EQUAL(tpctl_instance_socket(dir, "typo", out, sizeof(out), err, sizeof(err)),
			-EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/typo.conf:2:"));
	CU_ASSERT_STRING_EQUAL(out, "unchanged");
	remove_conf("broken");
	remove_conf("typo");
}

int main(void)
{
	static const struct tl_test tests[] = {
		{"socket from NAME.conf", test_found},
		{"bad names never leave the folder", test_bad_names},
		{"missing or broken config", test_missing_and_broken},
	};
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/tp-tpctl-test-XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	rc = tl_cunit_run("tpctl_instance", tests, TL_N_TESTS(tests));
	rmdir(dir);
	return rc;
}
