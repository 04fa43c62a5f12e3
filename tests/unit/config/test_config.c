// SPDX-License-Identifier: MIT
/* Unit tests for tpd.conf: defaults, every key type, every error naming its
 * line, the shipped example, key files. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tp/dp/config.h"

static const char *example_path;

static void test_defaults(void)
{
	struct tp_config c;
	struct tp_config_err e;

	CU_ASSERT_EQUAL_FATAL(tp_config_parse("mode = memory\n", &c, &e), 0);
	CU_ASSERT_EQUAL(c.mode, TP_MODE_MEMORY);
	CU_ASSERT_EQUAL(c.listen_port, 51820);
	CU_ASSERT_EQUAL(c.n_workers, 1);
	CU_ASSERT_EQUAL(c.worker_cores[0], 1);
	CU_ASSERT_EQUAL(c.failure_mode, TP_FAIL_CLOSED);
	CU_ASSERT_EQUAL(c.max_clock_skew_s, 300);
	CU_ASSERT_EQUAL(c.idle_wait, TP_IDLE_WAIT_FD);
	CU_ASSERT_EQUAL(c.idle_poll_us, 200);
	CU_ASSERT_EQUAL(c.icmp_errors_per_s, 1000);
	CU_ASSERT_EQUAL(c.icmp_errors_burst, 50);
	CU_ASSERT_FALSE(c.control_core_shared);
	CU_ASSERT_STRING_EQUAL(c.admin_socket, "/run/tableau/tpd.sock");
	CU_ASSERT_FALSE(c.has_controller_key);
	CU_ASSERT_EQUAL(c.audit, TP_AUDIT_CONF_SYSLOG);
}

/* audit = syslog | stderr | off | file:/PATH (tp/dp/audit.h) */
static void test_audit_key(void)
{
	struct tp_config c;
	struct tp_config_err e;

	CU_ASSERT_EQUAL_FATAL(tp_config_parse("mode = memory\naudit = stderr\n", &c, &e), 0);
	CU_ASSERT_EQUAL(c.audit, TP_AUDIT_CONF_STDERR);
	CU_ASSERT_EQUAL_FATAL(tp_config_parse("mode = memory\naudit = off\n", &c, &e), 0);
	CU_ASSERT_EQUAL(c.audit, TP_AUDIT_CONF_OFF);
	CU_ASSERT_EQUAL_FATAL(
		tp_config_parse("mode = memory\naudit = file:/var/log/tpd-audit.log\n", &c, &e), 0);
	CU_ASSERT_EQUAL(c.audit, TP_AUDIT_CONF_FILE);
	CU_ASSERT_STRING_EQUAL(c.audit_path, "/var/log/tpd-audit.log");
	CU_ASSERT_EQUAL(tp_config_parse("mode = memory\naudit = file:rel.log\n", &c, &e), -EINVAL);
	CU_ASSERT_EQUAL(e.line, 2);
	CU_ASSERT_EQUAL(tp_config_parse("mode = memory\naudit = journal\n", &c, &e), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not one of syslog, stderr, off"));
}

static void test_full(void)
{
	static const char text[] = "# comment\n"
				   "\n"
				   "name = tp-a_1\n"
				   "identity_key = \"/k/with # hash\"   # trailing comment\n"
				   "listen_port=4242\n"
				   "mode = xdp\r\n"
				   "zone_interface = veth-z\n"
				   "transit_interface = veth-t\n"
				   "zone_xdp_program = /b/zone.o\n"
				   "control_core = 0\n"
				   "worker_cores = 3, 0, 5-6\n"
				   "control_core_shared = yes\n"
				   "mbufs = 65535\n"
				   "flow_table_size = 1024\n"
				   "flow_quota_host = 32\n"
				   "flow_quota_zone_pair = 512\n"
				   "icmp_errors_per_s = 10\n"
				   "icmp_errors_burst = 1\n"
				   "burst = 64\n"
				   "idle_sleep_max_us = 50\n"
				   "idle_poll_us = 0\n"
				   "idle_wait = sleep\n"
				   "controller_address = 192.0.2.1:7443\n"
				   "controller_key = AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n"
				   "failure_mode = fail-static\n"
				   "max_clock_skew = 60\n"
				   "admin_socket = /tmp/x.sock";
	struct tp_config c;
	struct tp_config_err e;

	CU_ASSERT_EQUAL_FATAL(tp_config_parse(text, &c, &e), 0);
	CU_ASSERT_STRING_EQUAL(c.name, "tp-a_1");
	CU_ASSERT_STRING_EQUAL(c.identity_key, "/k/with # hash");
	CU_ASSERT_EQUAL(c.listen_port, 4242);
	CU_ASSERT_EQUAL(c.mode, TP_MODE_XDP);
	CU_ASSERT_STRING_EQUAL(c.zone_if, "veth-z");
	CU_ASSERT_STRING_EQUAL(c.zone_xdp_prog, "/b/zone.o");
	CU_ASSERT_STRING_EQUAL(c.transit_xdp_prog, "");
	/* several workers, one of them on the control thread's core */
	CU_ASSERT_EQUAL_FATAL(c.n_workers, 4);
	CU_ASSERT_EQUAL(c.worker_cores[0], 3);
	CU_ASSERT_EQUAL(c.worker_cores[1], 0);
	CU_ASSERT_EQUAL(c.worker_cores[2], 5);
	CU_ASSERT_EQUAL(c.worker_cores[3], 6);
	CU_ASSERT_TRUE(c.control_core_shared);
	CU_ASSERT_EQUAL(c.idle_poll_us, 0);
	CU_ASSERT_EQUAL(c.flow_quota_host, 32);
	CU_ASSERT_EQUAL(c.flow_quota_zone_pair, 512);
	CU_ASSERT_EQUAL(c.icmp_errors_per_s, 10);
	CU_ASSERT_EQUAL(c.icmp_errors_burst, 1);
	CU_ASSERT_EQUAL(c.burst, 64);
	CU_ASSERT_EQUAL(c.idle_sleep_max_us, 50);
	CU_ASSERT_EQUAL(c.idle_wait, TP_IDLE_WAIT_SLEEP);
	CU_ASSERT_TRUE(c.has_controller_key);
	CU_ASSERT_EQUAL(c.controller_key[0], 1);
	CU_ASSERT_EQUAL(c.controller_key[31], 1);
	CU_ASSERT_EQUAL(c.failure_mode, TP_FAIL_STATIC);
	CU_ASSERT_EQUAL(c.max_clock_skew_s, 60);
	CU_ASSERT_STRING_EQUAL(c.admin_socket, "/tmp/x.sock");
}

/* Each bad text must fail on the given line (0: whole-file check) with a
 * message containing the given words. */
static void test_errors(void)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *words;
	} cases[] = {
		{"mode = memory\nbogus = 1\n", 2, "unknown key 'bogus'"},
		{"mode = memory\nmode = xdp\n", 2, "already set on line 1"},
		{"mode = memory\nlisten_port\n", 2, "expected 'key = value'"},
		{"mode = memory\n = 3\n", 2, "missing key"},
		{"mode = memory\nname =\n", 2, "empty value"},
		{"mode = tap\n", 1, "not one of xdp, dpdk, memory"},
		{"mode = memory\nlisten_port = 0\n", 2, "out of range"},
		{"mode = memory\nicmp_errors_per_s = 0\n", 2, "out of range"},
		{"mode = memory\nicmp_errors_burst = 100001\n", 2, "out of range"},
		{"mode = memory\nlisten_port = 65536\n", 2, "out of range"},
		{"mode = memory\nlisten_port = -1\n", 2, "not an unsigned number"},
		{"mode = memory\nlisten_port = 12a\n", 2, "not an unsigned number"},
		{"mode = memory\nlisten_port = 99999999999999\n", 2, "not an unsigned number"},
		{"mode = memory\nburst = 257\n", 2, "out of range"},
		{"mode = memory\nworker_cores = 1,1\n", 2, "listed twice"},
		{"mode = memory\nworker_cores = 3-1\n", 2, "bad range"},
		{"mode = memory\nworker_cores = x\n", 2, "not a core number"},
		{"mode = memory\nworker_cores = 0-16\n", 2, "more than 16 workers"},
		{"mode = memory\nworker_cores = 0\n", 0, "both control_core and a worker"},
		{"mode = memory\nworker_cores = 1, 0\n", 0, "control_core_shared = yes"},
		{"mode = memory\ncontrol_core_shared = 1\n", 2, "not one of yes, no"},
		{"mode = memory\nidle_poll_us = 100001\n", 2, "out of range"},
		{"mode = memory\nfailure_mode = open\n", 2, "not one of fail-closed"},
		{"mode = memory\nmax_clock_skew = 86401\n", 2, "max_clock_skew"},
		{"mode = memory\ncontroller_key = abc\n", 2, "not a 32-byte key"},
		{"mode = memory\ncontroller_address = a:1\n", 0, "controller_key is not"},
		{"mode = memory\nname = a b\n", 2, "letters, digits"},
		{"mode = memory\nname = \"abc\n", 2, "unterminated"},
		{"mode = memory\nadmin_socket = rel.sock\n", 0, "absolute path"},
		{"mode = xdp\ntransit_interface = t\n", 0, "zone_interface is required"},
		{"mode = xdp\nzone_interface = z\n", 0, "transit_interface is required"},
		{"mode = dpdk\nzone_interface = z\ntransit_interface = z\n", 0, "both 'z'"},
		{"mode = memory\nzone_xdp_program = /x.o\n", 0, "only apply in xdp mode"},
		{"mode = memory\nmbufs = 1024\n", 0, "too few"},
		{"mode = memory\nadmin_socket = /" /* 300 chars */
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		 2, "longer than 255"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp_config c;
		struct tp_config_err e;
		int rc = tp_config_parse(cases[i].text, &c, &e);

		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_EQUAL(e.line, cases[i].line);
		if (!strstr(e.msg, cases[i].words) || e.line != cases[i].line)
			fprintf(stderr, "\n case %zu: line %u '%s'\n", i, e.line, e.msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, cases[i].words));
	}
}

static void test_example_file(void)
{
	struct tp_config c;
	struct tp_config_err e;

	CU_ASSERT_EQUAL(tp_config_load(example_path, &c, &e), 0);
	if (e.msg[0])
		fprintf(stderr, "\n example: line %u: %s\n", e.line, e.msg);
	CU_ASSERT_EQUAL(c.mode, TP_MODE_XDP);
	CU_ASSERT_STRING_EQUAL(c.zone_if, "eth1");
	CU_ASSERT_EQUAL(tp_config_load("/nonexistent/tpd.conf", &c, &e), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "cannot open"));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/*
 * tpd.conf carries the trust anchor (controller_key), the key path and the
 * state directory: whoever may write it decides the policy. A config
 * writable by group or others, or owned by another user than the reader
 * or root, is refused with an error naming the problem; a FIFO is refused
 * at once, not waited on.
 */
static void test_config_file_rules(void)
{
	char path[] = "/tmp/tp-test-conf-XXXXXX";
	struct tp_config c;
	struct tp_config_err e;
	FILE *src;
	char text[8192];
	size_t n;
	int fd = mkstemp(path);

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	close(fd);
	src = fopen(example_path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	n = fread(text, 1, sizeof(text) - 1, src);
	fclose(src);
	text[n] = 0;
	write_file(path, text, 0644);
	CU_ASSERT_EQUAL(tp_config_load(path, &c, &e), 0);
	chmod(path, 0666);
	CU_ASSERT_EQUAL(tp_config_load(path, &c, &e), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "writable"));
	chmod(path, 0664);
	CU_ASSERT_EQUAL(tp_config_load(path, &c, &e), -EPERM);
	chmod(path, 0600);
	CU_ASSERT_EQUAL(tp_config_load(path, &c, &e), 0);
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL(chown(path, 65534, 65534), 0);
		CU_ASSERT_EQUAL(tp_config_load(path, &c, &e), -EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "owned by uid 65534"));
	}
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	CU_ASSERT_EQUAL(tp_config_load(path, &c, &e), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a regular file"));
	unlink(path);
}

static void test_key_file(void)
{
	char path[] = "/tmp/tp-test-key-XXXXXX";
	struct tp_config_err e;
	uint8_t key[32];
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	write_file(path, "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n", 0600);
	CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), 0);
	CU_ASSERT_EQUAL(key[0], 2);
	CU_ASSERT_EQUAL(key[31], 2);
	write_file(path, "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n", 0644);
	CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), -EPERM);
	write_file(path, "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICA=\n", 0600);
	CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a WireGuard key"));
	write_file(path, "", 0600);
	CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), -EINVAL);
	unlink(path);
	CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
}

/* The one rule of every secret key file (tp/base/keys.h), as tpd's identity
 * key meets it: each refusal, with the file and the problem named. */
static void test_key_file_rule(void)
{
	static const char good[] = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n";
	static const struct {
		mode_t mode;
		const char *words;
	} refused[] = {
		{0640, "its group"},
		{0620, "its group"},
		{0610, "its group"},
		{0604, "other users"},
		{0602, "other users"},
		{0660, "chmod 600"},
		{0644, "its group and other users"},
	};
	char path[] = "/tmp/tp-test-key-XXXXXX";
	char dir[] = "/tmp/tp-test-keydir-XXXXXX";
	struct tp_config_err e;
	uint8_t key[32];
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		write_file(path, good, refused[i].mode);
		CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), -EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, refused[i].words));
	}
	write_file(path, good, 0400);
	CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), 0);
	/* owned by someone else (needs root to arrange; tests run as root) */
	write_file(path, good, 0600);
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL_FATAL(chown(path, 65534, 65534), 0);
		CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), -EPERM);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "owned by uid 65534"));
	}
	unlink(path);
	/* not a regular file */
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	chmod(dir, 0700);
	CU_ASSERT_EQUAL(tp_config_read_key(dir, key, &e), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a regular file"));
	rmdir(dir);
	/* one spelling per key: trailing bits set is not the same key */
	write_file(path, "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgJ=\n", 0600);
	CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), -EINVAL);
	/* a long file is not a key, even if it starts with one */
	write_file(path,
		   "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n"
		   "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n",
		   0600);
	CU_ASSERT_EQUAL(tp_config_read_key(path, key, &e), -EINVAL);
	unlink(path);
}

int main(int argc, char **argv)
{
	CU_pSuite suite;
	unsigned failed;

	example_path = argc > 1 ? argv[1] : "deploy/examples/tpd.conf";
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("config", NULL, NULL);
	CU_add_test(suite, "defaults", test_defaults);
	CU_add_test(suite, "audit key", test_audit_key);
	CU_add_test(suite, "config file: owner, mode, type", test_config_file_rules);
	CU_add_test(suite, "every key type", test_full);
	CU_add_test(suite, "errors name line and problem", test_errors);
	CU_add_test(suite, "example file", test_example_file);
	CU_add_test(suite, "key file", test_key_file);
	CU_add_test(suite, "secret key file: one rule, each refusal", test_key_file_rule);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
