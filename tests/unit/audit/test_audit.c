// SPDX-License-Identifier: MIT
/*
 * The audit trail (tp/dp/audit.h): RFC 5424 framing and §6.3.3 escaping (exact
 * lines, and random values through a naive parser that must read back what
 * a model of the sanitising expects), the handshake-failure rate limit on
 * an injected clock, and the sinks (file, a syslog datagram socket that
 * appears late, the stderr fallback and its report). No test depends on
 * real time.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tp/dp/audit.h"

#define S  1000000000ull
#define T0 1796200000ull /* 2026-12-02T08:26:40Z */

static uint64_t wall_now, mono_now;

static uint64_t fake_wall(void *arg)
{
	(void)arg;
	return wall_now;
}

static uint64_t fake_mono(void *arg)
{
	(void)arg;
	return mono_now;
}

static char lines[160][TP_AUDIT_LINE_MAX + 1];
static unsigned n_lines;
static bool refuse;

static bool capture(void *arg, const char *line, size_t len)
{
	(void)arg;
	if (refuse)
		return false;
	CU_ASSERT_EQUAL(strlen(line), len);
	if (n_lines < 160)
		snprintf(lines[n_lines], sizeof(lines[0]), "%s", line);
	n_lines++;
	return true;
}

static struct tp_audit *new_func(uint32_t per, uint64_t interval)
{
	struct tp_audit_params p = {
		.sink = TP_AUDIT_SINK_FUNC,
		.hostname = "tp-host",
		.procid = 42,
		.wall_ns = fake_wall,
		.mono = {.now_ns = fake_mono},
		.write = capture,
		.hs_per_interval = per,
		.hs_interval_ns = interval,
	};

	n_lines = 0;
	refuse = false;
	wall_now = T0 * S + 123456789;
	mono_now = 1000 * S;
	return tp_audit_new(&p);
}

static void test_framing(void)
{
	struct tp_audit *a = new_func(0, 0);

	tp_audit_bundle(a, true, "controller", NULL, 7, 6, "ignored when applied");
	tp_audit_bundle(a, false, "file", "/tmp/old.tpb", 3, 7,
			"rollback: version not newer than the running one");
	tp_audit_policy_state(a, "island", "enforcing", 7, "controller unreachable");
	tp_audit_controller(a, false, "192.0.2.250:7443", NULL);
	tp_audit_peer(a, true, "tp2", NULL);
	CU_ASSERT_EQUAL(n_lines, 5);
	/* authpriv (10) * 8 + notice (5) = 85; warning 84; err 83 */
	CU_ASSERT_STRING_EQUAL(lines[0],
			       "<85>1 2026-12-02T08:26:40.123456Z tp-host tpd 42 bundle-applied "
			       "[tableau@32473 source=\"controller\" version=\"7\" current=\"6\"] "
			       "policy bundle applied");
	CU_ASSERT_STRING_EQUAL(lines[1], "<84>1 2026-12-02T08:26:40.123456Z tp-host tpd 42 "
					 "bundle-refused [tableau@32473 source=\"file\" "
					 "file=\"/tmp/old.tpb\" version=\"3\" current=\"7\" "
					 "reason=\"rollback: version not newer than the running "
					 "one\"] policy bundle refused");
	CU_ASSERT_STRING_EQUAL(lines[2], "<84>1 2026-12-02T08:26:40.123456Z tp-host tpd 42 "
					 "policy-state [tableau@32473 state=\"island\" "
					 "previous=\"enforcing\" version=\"7\" reason=\"controller "
					 "unreachable\"] policy state changed");
	CU_ASSERT_STRING_EQUAL(lines[3], "<84>1 2026-12-02T08:26:40.123456Z tp-host tpd 42 "
					 "controller-down [tableau@32473 "
					 "address=\"192.0.2.250:7443\"] controller session lost");
	CU_ASSERT_STRING_EQUAL(lines[4], "<85>1 2026-12-02T08:26:40.123456Z tp-host tpd 42 peer-up "
					 "[tableau@32473 peer=\"tp2\"] tunnel peer up");
	tp_audit_free(a);
}

static void test_escaping(void)
{
	struct tp_audit *a = new_func(0, 0);
	struct tp_audit_param sd[] = {
		{"q", "a\"b\\c]d"},	 {"ctl", "line1\nline2\r\t\x7f"},
		{"utf8", "zon\xc3\xa9"}, {"bad", "\xc3(\xff\xe0\x80\x80\xed\xa0\x80"},
		{"bad name", "dropped"}, {"", "dropped"},
		{"x=y", "dropped"},	 {"none", NULL},
	};

	tp_audit_emit(a, TP_AUDIT_INFO, "test", sd, 8, "msg] with \"quotes\"\nand a newline");
	CU_ASSERT_EQUAL(n_lines, 1);
	CU_ASSERT_STRING_EQUAL(lines[0], "<86>1 2026-12-02T08:26:40.123456Z tp-host tpd 42 test "
					 "[tableau@32473 q=\"a\\\"b\\\\c\\]d\" "
					 "ctl=\"line1?line2???\" utf8=\"zon\xc3\xa9\" "
					 "bad=\"?(???????\"] msg] with \"quotes\"?and a newline");
	/* a bad MSGID is the NILVALUE; no MSG, no space after the SD */
	tp_audit_emit(a, TP_AUDIT_INFO, "has space", NULL, 0, NULL);
	CU_ASSERT_STRING_EQUAL(
		lines[1], "<86>1 2026-12-02T08:26:40.123456Z tp-host tpd 42 - [tableau@32473]");
	tp_audit_free(a);
}

static void test_length(void)
{
	struct tp_audit *a = new_func(0, 0);
	static char big[4000], line[TP_AUDIT_LINE_MAX];
	struct tp_audit_param sd[] = {{"small", "1"}, {"big", big}, {"after", "2"}};
	size_t n;

	memset(big, ']', sizeof(big) - 1); /* each escapes to two bytes */
	n = tp_audit_format(a, wall_now, TP_AUDIT_INFO, "len", sd, 3, big, line, sizeof(line));
	CU_ASSERT_EQUAL(n, sizeof(line) - 1);
	CU_ASSERT_EQUAL(strlen(line), n);
	/* the parameter that does not fit is left out whole, the rest stays */
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "[tableau@32473 small=\"1\" after=\"2\"] ]]]"));
	CU_ASSERT_PTR_NULL(strstr(line, "big="));
	/* MSG is cut at a character boundary */
	memset(big, 0, sizeof(big));
	for (size_t i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	n = tp_audit_format(a, wall_now, TP_AUDIT_INFO, "len", NULL, 0, big + 1, line,
			    sizeof(line));
	CU_ASSERT_TRUE(n <= sizeof(line) - 1 && n >= sizeof(line) - 2);
	CU_ASSERT_EQUAL((unsigned char)line[n - 1], 0xa9);
	CU_ASSERT_EQUAL(tp_audit_format(a, wall_now, TP_AUDIT_INFO, "x", NULL, 0, "m", line, 100),
			0);
	tp_audit_free(a);
}

/* A naive RFC 5424 reader: the header's fields, then SD params unescaped.
 * Returns the number of params, -1 when the line is not well-formed. */
static int parse(const char *line, char names[][40], char values[][600], int max)
{
	const char *p = line;
	int n = 0, fields = 0;

	if (*p++ != '<')
		return -1;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, ">1 ", 3) != 0)
		return -1;
	p += 3;
	for (fields = 0; fields < 5; fields++) { /* TIMESTAMP HOST APP PROCID MSGID */
		const char *sp = strchr(p, ' ');

		if (!sp || sp == p)
			return -1;
		for (const char *q = p; q < sp; q++) {
			if (*q < 33 || *q > 126)
				return -1;
		}
		p = sp + 1;
	}
	if (strncmp(p, "[" TP_AUDIT_SD_ID, strlen(TP_AUDIT_SD_ID) + 1) != 0)
		return -1;
	p += strlen(TP_AUDIT_SD_ID) + 1;
	while (*p == ' ') {
		int k = 0;

		p++;
		if (n == max)
			return -1;
		while (*p && *p != '=' && k < 39)
			names[n][k++] = *p++;
		names[n][k] = 0;
		if (strncmp(p, "=\"", 2) != 0)
			return -1;
		p += 2;
		k = 0;
		while (*p && *p != '"' && k < 599) {
			if (*p == ']' || (unsigned char)*p < 0x20)
				return -1; /* an unescaped ']' ends the SD early */
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == ']'))
				p++;
			values[n][k++] = *p++;
		}
		values[n][k] = 0;
		if (*p++ != '"')
			return -1;
		n++;
	}
	if (*p++ != ']' || (*p && *p != ' '))
		return -1;
	for (; *p; p++) {
		if ((unsigned char)*p < 0x20)
			return -1; /* one line */
	}
	return n;
}

static void test_random_values_parse_back(void)
{
	static const char alphabet[] = "ab\"\\] =\n\r\t\x01\x7f\xc3\xa9\xff\x80";
	struct tp_audit *a = new_func(0, 0);
	char names[4][40], values[4][600], v[3][200], want[200], line[TP_AUDIT_LINE_MAX];

	srand(5424);
	for (int iter = 0; iter < 2000; iter++) {
		struct tp_audit_param sd[3] = {{"k0", v[0]}, {"k1", v[1]}, {"k2", v[2]}};
		int n;

		for (int j = 0; j < 3; j++) {
			size_t len = (size_t)rand() % 60;

			for (size_t i = 0; i < len; i++)
				v[j][i] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
			v[j][len] = 0;
		}
		tp_audit_format(a, wall_now, TP_AUDIT_INFO, "rnd", sd, 3, v[0], line, sizeof(line));
		n = parse(line, names, values, 4);
		CU_ASSERT_EQUAL_FATAL(n, 3);
		for (int j = 0; j < 3; j++) {
			/* the model: valid UTF-8 (here only 0xc3 and a
			 * continuation byte) stays, each other byte and each
			 * control character is one '?' */
			size_t o = 0;
			const unsigned char *s = (const unsigned char *)v[j];

			for (size_t i = 0; s[i];) {
				if (s[i] == 0xc3 && s[i + 1] >= 0x80 && s[i + 1] <= 0xbf) {
					want[o++] = (char)s[i++];
					want[o++] = (char)s[i++];
				} else if (s[i] < 0x20 || s[i] >= 0x7f) {
					want[o++] = '?';
					i++;
				} else {
					want[o++] = (char)s[i++];
				}
			}
			want[o] = 0;
			CU_ASSERT_STRING_EQUAL(names[j], sd[j].name);
			CU_ASSERT_STRING_EQUAL(values[j], want);
		}
	}
	tp_audit_free(a);
}

static unsigned count(const char *needle)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n_lines && i < 160; i++)
		k += strstr(lines[i], needle) != NULL;
	return k;
}

static void test_handshake_rate_limit(void)
{
	struct tp_audit *a = new_func(3, 10 * S);
	uint8_t src1[4] = {192, 0, 2, 1}, src2[4] = {192, 0, 2, 2};
	struct tp_audit_stats st;

	for (int i = 0; i < 10; i++)
		tp_audit_handshake_failed(a, AF_INET, src1, 51820, "bad_mac1");
	/* another source has its own budget */
	tp_audit_handshake_failed(a, AF_INET, src2, 51820, "unknown_peer");
	CU_ASSERT_EQUAL(n_lines, 4);
	CU_ASSERT_EQUAL(count("src=\"192.0.2.1\" port=\"51820\" reason=\"bad_mac1\"]"), 3);
	CU_ASSERT_EQUAL(count("src=\"192.0.2.2\""), 1);
	tp_audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.hs_suppressed, 7);
	/* still in the interval: nothing more, and tick has nothing to say */
	mono_now += 10 * S - 1;
	tp_audit_handshake_failed(a, AF_INET, src1, 51820, "bad_mac1");
	tp_audit_tick(a);
	CU_ASSERT_EQUAL(n_lines, 4);
	/* the next interval: the next line carries the count */
	mono_now += 1;
	tp_audit_handshake_failed(a, AF_INET, src1, 51821, "bad_aead");
	CU_ASSERT_EQUAL(n_lines, 5);
	CU_ASSERT_PTR_NOT_NULL(strstr(lines[4], "src=\"192.0.2.1\" port=\"51821\" "
						"reason=\"bad_aead\" suppressed=\"8\"]"));
	/* a flood that stops: tick reports it once the interval is over */
	for (int i = 0; i < 5; i++)
		tp_audit_handshake_failed(a, AF_INET, src1, 51820, "bad_mac1");
	CU_ASSERT_EQUAL(n_lines, 7);
	mono_now += 10 * S;
	tp_audit_tick(a);
	tp_audit_tick(a);
	CU_ASSERT_EQUAL(n_lines, 8);
	CU_ASSERT_PTR_NOT_NULL(strstr(
		lines[7], "handshake-failed [tableau@32473 src=\"192.0.2.1\" suppressed=\"3\"] "
			  "tunnel handshake failures suppressed by the rate limit"));
	tp_audit_free(a);
}

static void test_handshake_spoofed_flood_bounded(void)
{
	struct tp_audit *a = new_func(2, 10 * S);
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
	struct tp_audit_stats st;

	/* 1000 sources in one interval: the table's 64 have 2 lines each, the
	 * rest share the "*" entry's 2 */
	for (int i = 0; i < 1000; i++) {
		v6[14] = (uint8_t)(i >> 8);
		v6[15] = (uint8_t)i;
		for (int k = 0; k < 3; k++)
			tp_audit_handshake_failed(a, AF_INET6, v6, 1, "bad_mac1");
	}
	CU_ASSERT_EQUAL(n_lines, TP_AUDIT_HS_SOURCES * 2 + 2);
	tp_audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.hs_suppressed, 3000 - n_lines);
	CU_ASSERT_PTR_NOT_NULL(strstr(lines[0], "src=\"2001:db8::\" port=\"1\""));
	mono_now += 10 * S;
	n_lines = 0;
	tp_audit_tick(a);
	/* one summary per source with suppressed lines, then "*" */
	CU_ASSERT_EQUAL(n_lines, TP_AUDIT_HS_SOURCES + 1);
	CU_ASSERT_EQUAL(count("src=\"*\" suppressed=\"" /* 936 sources * 3 - 2 */ "2806\""), 1);
	tp_audit_free(a);
}

static void test_null_audit(void)
{
	struct tp_audit_stats st = {.lines = 9};
	uint8_t a4[4] = {0};

	tp_audit_bundle(NULL, true, "file", NULL, 1, 0, NULL);
	tp_audit_handshake_failed(NULL, AF_INET, a4, 1, "x");
	tp_audit_tick(NULL);
	CU_ASSERT_FALSE(tp_audit_flow(NULL, "flow ..."));
	tp_audit_stats(NULL, &st);
	CU_ASSERT_EQUAL(st.lines, 0);
	tp_audit_free(NULL);
	CU_ASSERT_PTR_NULL(tp_audit_new(&(struct tp_audit_params){.sink = TP_AUDIT_SINK_FUNC}));
	CU_ASSERT_PTR_NULL(tp_audit_new(&(struct tp_audit_params){.sink = TP_AUDIT_SINK_FILE}));
	CU_ASSERT_PTR_NULL(tp_audit_new(&(struct tp_audit_params){.sink = 0}));
}

static void test_file_sink(void)
{
	char dir[] = "/tmp/tp-audit-XXXXXX", path[64], buf[4096];
	struct tp_audit_params p = {.sink = TP_AUDIT_SINK_FILE,
				    .path = path,
				    .hostname = "h",
				    .procid = 1,
				    .wall_ns = fake_wall,
				    .mono = {.now_ns = fake_mono}};
	struct tp_audit *a;
	FILE *f;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	a = tp_audit_new(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	tp_audit_peer(a, true, "tp2", NULL);
	CU_ASSERT_TRUE(tp_audit_flow(a, "flow 2026-12-02T08:26:40.123Z rule 5 \"r\" allow"));
	tp_audit_free(a);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "<85>1 2026-12-02T08:26:40.123456Z h tpd 1 peer-up "
				    "[tableau@32473 peer=\"tp2\"] tunnel peer up\n"
				    "<86>1 2026-12-02T08:26:40.123456Z h tpd 1 flow [tableau@32473 "
				    "event=\"flow\"] flow 2026-12-02T08:26:40.123Z rule 5 \"r\" "
				    "allow\n");
	unlink(path);
	rmdir(dir);
}

/* The syslog socket is missing at start: lines go to the fallback (stderr,
 * here redirected to a file) and are counted; once the socket exists and a
 * reconnect is due, lines arrive as datagrams and the first is followed by
 * the audit-sink report. */
static void test_syslog_sink_late_and_fallback(void)
{
	char dir[] = "/tmp/tp-audit-XXXXXX", path[64], errpath[64], buf[TP_AUDIT_LINE_MAX];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct tp_audit_params p = {.sink = TP_AUDIT_SINK_SYSLOG,
				    .path = path,
				    .hostname = "h",
				    .procid = 1,
				    .wall_ns = fake_wall,
				    .mono = {.now_ns = fake_mono}};
	struct tp_audit_stats st;
	struct tp_audit *a;
	int rx, saved_err, errfd;
	ssize_t n;
	FILE *f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	mono_now = 5 * S;
	a = tp_audit_new(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	fflush(stderr);
	saved_err = dup(STDERR_FILENO);
	errfd = creat(errpath, 0600);
	dup2(errfd, STDERR_FILENO);
	close(errfd);
	tp_audit_peer(a, true, "tp2", NULL);
	tp_audit_peer(a, true, "tp3", NULL);
	dup2(saved_err, STDERR_FILENO);
	close(saved_err);
	tp_audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.lines, 0);
	CU_ASSERT_EQUAL(st.fallback, 2);
	f = fopen(errpath, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
	CU_ASSERT_STRING_EQUAL(buf, "<85>1 2026-12-02T08:26:40.123456Z h tpd 1 peer-up "
				    "[tableau@32473 peer=\"tp2\"] tunnel peer up\n");
	fclose(f);

	rx = socket(AF_UNIX, SOCK_DGRAM, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	CU_ASSERT_EQUAL_FATAL(bind(rx, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* the socket exists, a reconnect is due one second after the last */
	mono_now += TP_AUDIT_RECONNECT_NS;
	tp_audit_controller(a, true, "192.0.2.250:7443", NULL);
	n = recv(rx, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CU_ASSERT_TRUE_FATAL(n > 0);
	buf[n] = 0;
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " controller-up [tableau@32473 "));
	CU_ASSERT_PTR_NULL(strchr(buf, '\n')); /* a datagram is the record */
	n = recv(rx, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CU_ASSERT_TRUE_FATAL(n > 0);
	buf[n] = 0;
	CU_ASSERT_STRING_EQUAL(buf, "<83>1 2026-12-02T08:26:40.123456Z h tpd 1 audit-sink "
				    "[tableau@32473 fallback=\"2\" fallback_total=\"2\"] audit "
				    "lines the sink refused went to stderr");
	tp_audit_stats(a, &st);
	CU_ASSERT_EQUAL(st.lines, 2);
	CU_ASSERT_EQUAL(recv(rx, buf, sizeof(buf), MSG_DONTWAIT), -1);
	tp_audit_free(a);
	close(rx);
	unlink(path);
	unlink(errpath);
	rmdir(dir);
}

/* A sink that refuses keeps the count until it takes a line again. */
static void test_refusing_sink_reported(void)
{
	struct tp_audit *a = new_func(0, 0);
	int saved_err = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);

	fflush(stderr);
	dup2(devnull, STDERR_FILENO);
	close(devnull);
	refuse = true;
	for (int i = 0; i < 3; i++)
		tp_audit_peer(a, false, "tp2", "keys expired");
	refuse = false;
	dup2(saved_err, STDERR_FILENO);
	close(saved_err);
	tp_audit_peer(a, true, "tp2", NULL);
	CU_ASSERT_EQUAL(n_lines, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(lines[1], "audit-sink [tableau@32473 fallback=\"3\" "
						"fallback_total=\"3\"]"));
	tp_audit_peer(a, true, "tp3", NULL);
	CU_ASSERT_EQUAL(n_lines, 3);
	tp_audit_free(a);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("audit", NULL, NULL);
	CU_add_test(s, "framing", test_framing);
	CU_add_test(s, "escaping", test_escaping);
	CU_add_test(s, "length", test_length);
	CU_add_test(s, "random values parse back", test_random_values_parse_back);
	CU_add_test(s, "handshake rate limit", test_handshake_rate_limit);
	CU_add_test(s, "spoofed flood bounded", test_handshake_spoofed_flood_bounded);
	CU_add_test(s, "null audit", test_null_audit);
	CU_add_test(s, "file sink", test_file_sink);
	CU_add_test(s, "syslog sink late, fallback", test_syslog_sink_late_and_fallback);
	CU_add_test(s, "refusing sink reported", test_refusing_sink_reported);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
