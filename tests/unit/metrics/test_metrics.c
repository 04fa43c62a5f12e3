// SPDX-License-Identifier: MIT
/*
 * The Prometheus exposition (tp/dp/metrics.h): the formatter on fixed admin
 * JSON (names, HELP/TYPE, label escaping, counters never negative, both
 * formats), the HTTP request parser on a table of requests, the server on
 * loopback with an injected clock (answers, deadlines, connection limit),
 * and tpd.conf's metrics_listen.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp/dp/config.h"
#include "tp/dp/metrics.h"

/* What tpd's admin commands answer, trimmed; the hostile strings are
 * where labels carry names from a policy or a configuration. */
static const char fixture[] =
	"{\"status\": {\"name\": \"tp1\", \"version\": \"0.9\", \"mode\": \"xdp\","
	"  \"identity\": \"AAAA\", \"uptime_s\": 42,"
	"  \"ports\": {\"zone\": {\"port\": \"z\", \"interface\": \"zone0\", \"link\": \"up\"},"
	"            \"transit\": {\"port\": \"t\", \"state\": \"down\"}},"
	"  \"policy\": {\"loaded\": true, \"rules\": 7, \"state\": \"enforcing\", \"version\": 3,"
	"             \"expires_at\": 1900000000, \"applied\": 2, \"refused\": 1},"
	"  \"controller\": {\"address\": \"\", \"state\": \"not configured\"}},"
	" \"counters\": {\"stats\": {\"zone_rx_packets\": 10, \"zone_rx_bytes\": 1000,"
	"                          \"transit_tx_packets\": 9, \"parsed_packets\": 19,"
	"                          \"housekeeping_ticks\": -1},"
	"  \"drops\": {\"no_policy\": 5, \"ip4_csum\": 0},"
	"  \"rule_hits\": {\"10:modbus \\\"z1\\\"\\\\z2\\nx\": 4, \"default\": 2, \"11\": 1},"
	"  \"rule_rate_limited\": {\"10:modbus\": 3},"
	"  \"profile_drops\": {},"
	"  \"flows\": {\"created\": 6, \"hits\": 8, \"denied\": 1},"
	"  \"tunnel\": {\"ok\": 2},"
	"  \"xdp\": {\"zone\": {\"pass\": 11, \"drop_no_conduit\": 1}, \"transit\": {}}},"
	" \"peers\": {\"peers\": [{\"name\": \"tp2\", \"public_key\": \"a+b/c=\", \"state\": "
	"\"up\","
	"   \"last_handshake_s_ago\": 5, \"handshakes\": 1, \"rx_bytes\": 100, \"tx_bytes\": 200,"
	"   \"staged_total\": 0},"
	"  {\"name\": \"tp3\", \"public_key\": \"k3\", \"state\": \"idle\","
	"   \"last_handshake_s_ago\": -1, \"handshakes\": 0, \"rx_bytes\": 0, \"tx_bytes\": 0,"
	"   \"staged_total\": 0}]},"
	" \"export\": {\"flows\": {\"active\": 3, \"capacity\": 16384}}}";

static char *format(enum tp_metrics_format fmt)
{
	json_error_t je;
	json_t *in = json_loads(fixture, 0, &je);
	size_t len = 0;
	char *text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(in);
	text = tp_metrics_format(in, 1000000, fmt, &len);
	json_decref(in);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_EQUAL(strlen(text), len);
	return text;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	}
	return false;
}

/* Every sample line: NAME[{...}] VALUE, its family typed and helped
 * before it, counters named *_total with a value that has no sign. */
static void check_lines(const char *text, enum tp_metrics_format fmt)
{
	char *copy = strdup(text), *save = NULL;
	char family[128] = "", type[16] = "";
	bool helped = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[128];
		const char *value;

		if (!strncmp(l, "# HELP ", 7)) {
			CU_ASSERT_EQUAL(sscanf(l + 7, "%127s", family), 1);
			helped = true;
			continue;
		}
		if (!strncmp(l, "# TYPE ", 7)) {
			char f[128];

			CU_ASSERT_EQUAL(sscanf(l + 7, "%127s %15s", f, type), 2);
			CU_ASSERT_STRING_EQUAL(f, family);
			continue;
		}
		if (!strcmp(l, "# EOF"))
			continue;
		CU_ASSERT_NOT_EQUAL(l[0], '#');
		CU_ASSERT_TRUE(helped);
		CU_ASSERT_EQUAL(sscanf(l, "%127[a-zA-Z0-9_:]", name), 1);
		CU_ASSERT_EQUAL(strncmp(name, "tableau_", 8), 0);
		value = strrchr(l, ' ');
		CU_ASSERT_PTR_NOT_NULL_FATAL(value);
		if (!strcmp(type, "counter")) {
			size_t n = strlen(name);

			CU_ASSERT_TRUE(n > 6 && !strcmp(name + n - 6, "_total"));
			CU_ASSERT_NOT_EQUAL(value[1], '-');
			if (fmt == TP_METRICS_OPENMETRICS) {
				CU_ASSERT_TRUE(!strncmp(name, family, strlen(family)) &&
					       !strcmp(name + strlen(family), "_total"));
			} else {
				CU_ASSERT_STRING_EQUAL(name, family);
			}
		} else {
			CU_ASSERT_STRING_EQUAL(type, "gauge");
			CU_ASSERT_STRING_EQUAL(name, family);
		}
	}
	free(copy);
}

static void test_openmetrics(void)
{
	char *t = format(TP_METRICS_OPENMETRICS);

	check_lines(t, TP_METRICS_OPENMETRICS);
	CU_ASSERT_TRUE(strlen(t) > 6 && !strcmp(t + strlen(t) - 6, "# EOF\n"));
	CU_ASSERT_TRUE(has_line(t, "# TYPE tableau_dropped_packets counter"));
	CU_ASSERT_TRUE(has_line(t, "tableau_dropped_packets_total{reason=\"no_policy\"} 5"));
	CU_ASSERT_TRUE(has_line(t, "tableau_dropped_packets_total{reason=\"ip4_csum\"} 0"));
	CU_ASSERT_TRUE(
		has_line(t, "tableau_port_packets_total{port=\"zone\",direction=\"rx\"} 10"));
	CU_ASSERT_TRUE(
		has_line(t, "tableau_port_bytes_total{port=\"zone\",direction=\"rx\"} 1000"));
	CU_ASSERT_TRUE(has_line(t, "tableau_parsed_packets_total 19"));
	/* a value past INT64_MAX comes through the JSON as negative: the
	 * counter is the unsigned number tpd counted */
	CU_ASSERT_TRUE(has_line(t, "tableau_housekeeping_ticks_total 18446744073709551615"));
	/* label values: quote, backslash and newline escaped */
	CU_ASSERT_TRUE(has_line(t, "tableau_rule_hit_packets_total{rule=\"10\",rule_name=\"modbus "
				   "\\\"z1\\\"\\\\z2\\nx\"} 4"));
	CU_ASSERT_TRUE(
		has_line(t, "tableau_rule_hit_packets_total{rule=\"default\",rule_name=\"\"} 2"));
	CU_ASSERT_TRUE(has_line(t, "tableau_rule_hit_packets_total{rule=\"11\",rule_name=\"\"} 1"));
	CU_ASSERT_TRUE(has_line(
		t, "tableau_rule_rate_limited_packets_total{rule=\"10\",rule_name=\"modbus\"} 3"));
	CU_ASSERT_TRUE(has_line(t, "# TYPE tableau_profile_dropped_segments counter"));
	CU_ASSERT_TRUE(has_line(t, "tableau_flow_entries_total{event=\"created\"} 6"));
	CU_ASSERT_TRUE(has_line(t, "tableau_flow_packets_total{result=\"hits\"} 8"));
	CU_ASSERT_TRUE(has_line(t, "tableau_tunnel_messages_total{result=\"ok\"} 2"));
	CU_ASSERT_TRUE(has_line(t, "tableau_xdp_packets_total{port=\"zone\",counter=\"pass\"} 11"));
	CU_ASSERT_TRUE(has_line(t, "tableau_policy_state{state=\"enforcing\"} 1"));
	CU_ASSERT_TRUE(has_line(t, "tableau_policy_state{state=\"fail-closed\"} 0"));
	CU_ASSERT_TRUE(has_line(t, "tableau_policy_version 3"));
	CU_ASSERT_TRUE(has_line(t, "tableau_policy_bundles_refused_total 1"));
	CU_ASSERT_TRUE(has_line(t, "tableau_port_link_up{port=\"zone\",interface=\"zone0\"} 1"));
	CU_ASSERT_TRUE(has_line(t, "tableau_port_link_up{port=\"transit\",interface=\"\"} 0"));
	CU_ASSERT_TRUE(has_line(t, "tableau_peer_last_handshake_timestamp_seconds{peer=\"tp2\","
				   "public_key=\"a+b/c=\"} 999995"));
	CU_ASSERT_TRUE(has_line(t, "tableau_peer_last_handshake_timestamp_seconds{peer=\"tp3\","
				   "public_key=\"k3\"} 0"));
	CU_ASSERT_TRUE(has_line(
		t, "tableau_peer_receive_bytes_total{peer=\"tp2\",public_key=\"a+b/c=\"} 100"));
	CU_ASSERT_TRUE(has_line(t, "tableau_peer_up{peer=\"tp3\",public_key=\"k3\"} 0"));
	CU_ASSERT_TRUE(has_line(t, "tableau_flow_table_entries 3"));
	CU_ASSERT_TRUE(has_line(t, "tableau_flow_table_capacity_entries 16384"));
	/* no controller configured: no controller families */
	CU_ASSERT_PTR_NULL(strstr(t, "tableau_controller_"));
	free(t);
}

static void test_text_format(void)
{
	char *t = format(TP_METRICS_TEXT), *om = format(TP_METRICS_OPENMETRICS);
	size_t n_t = 0, n_om = 0;

	check_lines(t, TP_METRICS_TEXT);
	CU_ASSERT_PTR_NULL(strstr(t, "# EOF"));
	CU_ASSERT_TRUE(has_line(t, "# TYPE tableau_dropped_packets_total counter"));
	CU_ASSERT_TRUE(has_line(t, "tableau_dropped_packets_total{reason=\"no_policy\"} 5"));
	/* the same samples in both formats */
	for (const char *p = t; (p = strchr(p, '\n')) != NULL; p++)
		n_t += p[1] && p[1] != '#';
	for (const char *p = om; (p = strchr(p, '\n')) != NULL; p++)
		n_om += p[1] && p[1] != '#';
	CU_ASSERT_EQUAL(n_t, n_om);
	CU_ASSERT_TRUE(n_t > 30);
	free(t);
	free(om);
}

/* Sources missing or of the wrong shape: their families left out, never
 * a crash. */
static void test_missing_sources(void)
{
	json_t *in = json_pack("{s:s, s:[i], s:{s:i}}", "status", "x", "counters", 1, "peers",
			       "peers", 3);
	size_t len;
	char *t = tp_metrics_format(in, 0, TP_METRICS_OPENMETRICS, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_STRING_EQUAL(t, "# EOF\n");
	free(t);
	json_decref(in);
}

/* With controller_address: the session's state and counters. */
static void test_controller(void)
{
	json_t *in = json_pack(
		"{s:{s:{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I}}}}", "status", "controller",
		"address", "192.0.2.250:7443", "state", "connected", "attempts", (json_int_t)3,
		"sessions", (json_int_t)2, "pushes", (json_int_t)5, "acks", (json_int_t)4, "nacks",
		(json_int_t)1, "fails", "timeout", (json_int_t)1, "auth", (json_int_t)0);
	size_t len;
	char *t = tp_metrics_format(in, 0, TP_METRICS_OPENMETRICS, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	check_lines(t, TP_METRICS_OPENMETRICS);
	CU_ASSERT_TRUE(has_line(t, "tableau_controller_state{state=\"connected\"} 1"));
	CU_ASSERT_TRUE(has_line(t, "tableau_controller_connect_attempts_total 3"));
	CU_ASSERT_TRUE(has_line(t, "tableau_controller_sessions_total 2"));
	CU_ASSERT_TRUE(has_line(t, "tableau_controller_pushes_total 5"));
	CU_ASSERT_TRUE(has_line(t, "tableau_controller_acks_total 4"));
	CU_ASSERT_TRUE(has_line(t, "tableau_controller_nacks_total 1"));
	CU_ASSERT_TRUE(has_line(t, "tableau_controller_failures_total{reason=\"timeout\"} 1"));
	CU_ASSERT_TRUE(has_line(t, "tableau_controller_failures_total{reason=\"auth\"} 0"));
	free(t);
	json_decref(in);
}

struct parse_case {
	const char *req;
	int status;
	bool head;
	enum tp_metrics_format fmt;
};

static void test_parse(void)
{
	static const struct parse_case cases[] = {
		{"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, false, TP_METRICS_TEXT},
		{"GET /metrics HTTP/1.0\n\n", 200, false, TP_METRICS_TEXT},
		{"GET /metrics?x=1 HTTP/1.1\r\n\r\n", 200, false, TP_METRICS_TEXT},
		{"HEAD /metrics HTTP/1.1\r\n\r\n", 200, true, TP_METRICS_TEXT},
		{"GET /metrics HTTP/1.1\r\nAccept: application/OpenMetrics-text;version=1.0.0,"
		 "text/plain;q=0.5\r\n\r\n",
		 200, false, TP_METRICS_OPENMETRICS},
		{"GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 200, false, TP_METRICS_TEXT},
		{"GET / HTTP/1.1\r\n\r\n", 404, false, TP_METRICS_TEXT},
		{"GET /metricsx HTTP/1.1\r\n\r\n", 404, false, TP_METRICS_TEXT},
		{"GET /Metrics HTTP/1.1\r\n\r\n", 404, false, TP_METRICS_TEXT},
		{"POST /metrics HTTP/1.1\r\n\r\n", 405, false, TP_METRICS_TEXT},
		{"get /metrics HTTP/1.1\r\n\r\n", 405, false, TP_METRICS_TEXT},
		{"GET /metrics HTTP/2.0\r\n\r\n", 400, false, TP_METRICS_TEXT},
		{"GET /metrics\r\n\r\n", 400, false, TP_METRICS_TEXT},
		{"GET  /metrics HTTP/1.1\r\n\r\n", 400, false, TP_METRICS_TEXT},
		{"GET /metrics HTTP/1.1\r\nBad header\r\n\r\n", 400, false, TP_METRICS_TEXT},
		{"GET /metrics HTTP/1.1\r\n: empty\r\n\r\n", 400, false, TP_METRICS_TEXT},
		{"GET /metrics HTTP/1.1\r\nX: a\rb\r\n\r\n", 400, false, TP_METRICS_TEXT},
		{"GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400, false,
		 TP_METRICS_TEXT},
		{"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, false,
		 TP_METRICS_TEXT},
		{"\r\n\r\n", 400, false, TP_METRICS_TEXT},
		{"GET /metrics HTTP/1.1\r\nHost: x\r\n", 0, false, TP_METRICS_TEXT},
		{"GET /metr", 0, false, TP_METRICS_TEXT},
		{"", 0, false, TP_METRICS_TEXT},
	};
	struct tp_metrics_http_req rq;
	char *big;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		/* an exact-size copy: ASan sees any read past the end */
		size_t n = strlen(c->req);
		char *b = malloc(n ? n : 1);
		int st;

		memcpy(b, c->req, n);
		st = tp_metrics_http_parse(b, n, &rq);
		if (st != c->status)
			fprintf(stderr, "case %zu: %d, expected %d\n", i, st, c->status);
		CU_ASSERT_EQUAL(st, c->status);
		if (st == 200) {
			CU_ASSERT_EQUAL(rq.head, c->head);
			CU_ASSERT_EQUAL(rq.fmt, c->fmt);
		}
		free(b);
	}
	/* headers that never end, or end too late: 413 */
	big = malloc(TP_METRICS_REQUEST_MAX + 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'a', TP_METRICS_REQUEST_MAX + 8);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	CU_ASSERT_EQUAL(tp_metrics_http_parse(big, TP_METRICS_REQUEST_MAX - 1, &rq), 0);
	CU_ASSERT_EQUAL(tp_metrics_http_parse(big, TP_METRICS_REQUEST_MAX, &rq), 413);
	memcpy(big + TP_METRICS_REQUEST_MAX + 4, "\r\n\r\n", 4);
	CU_ASSERT_EQUAL(tp_metrics_http_parse(big, TP_METRICS_REQUEST_MAX + 8, &rq), 413);
	free(big);
}

/* --- the server on loopback, time by hand --- */

static uint64_t fake_now;
static unsigned bodies;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static char *body(void *arg, enum tp_metrics_format fmt, size_t *len)
{
	const char *s = fmt == TP_METRICS_OPENMETRICS ? "om\n# EOF\n" : "text\n";

	(void)arg;
	bodies++;
	*len = strlen(s);
	return strdup(s);
}

static struct tp_metrics_http *server(void)
{
	struct tp_metrics_http_params p = {.family = AF_INET,
					   .addr = {127, 0, 0, 1},
					   .port = 0,
					   .clock = {.now_ns = fake_clock},
					   .body = body};
	char err[200] = "";
	struct tp_metrics_http *h = tp_metrics_http_create(&p, err, sizeof(err));

	if (!h)
		fprintf(stderr, "%s\n", err);
	return h;
}

/* A few rounds of poll + service, as tpd's control loop does. */
static void spin(struct tp_metrics_http *h)
{
	for (int i = 0; i < 6; i++) {
		struct pollfd pfd[TP_METRICS_CLIENTS_MAX + 1];
		unsigned n = tp_metrics_http_pollfds(h, pfd, TP_METRICS_CLIENTS_MAX + 1);

		poll(pfd, n, 20);
		tp_metrics_http_service(h, pfd, n);
	}
}

static int client(struct tp_metrics_http *h)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(tp_metrics_http_port(h)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Everything the server sent before closing; "" if it is still open. */
static void reply(int fd, char *buf, size_t max)
{
	size_t len = 0;
	ssize_t r;

	while (len < max - 1 && (r = recv(fd, buf + len, max - 1 - len, MSG_DONTWAIT)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
}

static bool closed(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void test_server_answers(void)
{
	static const char part1[] = "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text";
	struct tp_metrics_http *h = server();
	char buf[2048];
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	fd = client(h);
	/* the request in two pieces: nothing is answered before the end */
	send(fd, part1, strlen(part1), 0);
	spin(h);
	reply(fd, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "");
	send(fd, "\r\n\r\n", 4, 0);
	spin(h);
	reply(fd, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "HTTP/1.1 200 OK\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\r\nContent-Type: application/openmetrics-text; "
					   "version=1.0.0; charset=utf-8\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\r\nContent-Length: 9\r\n"));
	CU_ASSERT_TRUE(strlen(buf) > 9 && !strcmp(buf + strlen(buf) - 9, "om\n# EOF\n"));
	CU_ASSERT_TRUE(closed(fd));
	close(fd);

	fd = client(h);
	send(fd, "PUT /metrics HTTP/1.1\r\n\r\n", 25, 0);
	spin(h);
	reply(fd, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\r\nAllow: GET, HEAD\r\n"));
	close(fd);

	fd = client(h);
	send(fd, "GET /x HTTP/1.1\r\n\r\n", 19, 0);
	spin(h);
	reply(fd, buf, sizeof(buf));
	CU_ASSERT_EQUAL(strncmp(buf, "HTTP/1.1 404 Not Found\r\n", 24), 0);
	close(fd);

	/* HEAD: the headers of the 200, no body */
	fd = client(h);
	send(fd, "HEAD /metrics HTTP/1.1\r\n\r\n", 26, 0);
	spin(h);
	reply(fd, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\r\nContent-Type: text/plain; version=0.0.4"));
	CU_ASSERT_TRUE(strlen(buf) > 4 && !strcmp(buf + strlen(buf) - 4, "\r\n\r\n"));
	close(fd);
	tp_metrics_http_destroy(h);
}

static void test_server_limits(void)
{
	struct tp_metrics_http *h;
	int fds[TP_METRICS_CLIENTS_MAX + 1], fd;
	char buf[TP_METRICS_REQUEST_MAX + 16];

	fake_now = 1000;
	h = server();
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(tp_metrics_http_timeout_ms(h), -1);
	/* silent clients hold their slots until the deadline, not after;
	 * one more than the slots is closed at once */
	for (int i = 0; i <= TP_METRICS_CLIENTS_MAX; i++)
		fds[i] = client(h);
	spin(h);
	for (int i = 0; i < TP_METRICS_CLIENTS_MAX; i++)
		CU_ASSERT_FALSE(closed(fds[i]));
	CU_ASSERT_TRUE(closed(fds[TP_METRICS_CLIENTS_MAX]));
	CU_ASSERT_EQUAL(tp_metrics_http_timeout_ms(h), (int)(TP_METRICS_TIMEOUT_NS / 1000000));
	fake_now += TP_METRICS_TIMEOUT_NS - 1;
	spin(h);
	CU_ASSERT_FALSE(closed(fds[0]));
	CU_ASSERT_EQUAL(tp_metrics_http_timeout_ms(h), 1);
	fake_now += 1;
	CU_ASSERT_EQUAL(tp_metrics_http_timeout_ms(h), 0);
	spin(h);
	for (int i = 0; i <= TP_METRICS_CLIENTS_MAX; i++) {
		CU_ASSERT_TRUE(closed(fds[i]));
		close(fds[i]);
	}
	CU_ASSERT_EQUAL(tp_metrics_http_timeout_ms(h), -1);

	/* headers past the limit: 413, the metrics never built */
	bodies = 0;
	fd = client(h);
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /metrics HTTP/1.1\r\nX: ", 26);
	send(fd, buf, sizeof(buf), 0);
	spin(h);
	reply(fd, buf, sizeof(buf));
	CU_ASSERT_EQUAL(strncmp(buf, "HTTP/1.1 413 ", 13), 0);
	CU_ASSERT_EQUAL(bodies, 0);
	close(fd);
	tp_metrics_http_destroy(h);
}

static void test_config(void)
{
	struct tp_config c;
	struct tp_config_err e;

	CU_ASSERT_EQUAL_FATAL(tp_config_parse("mode = memory\n", &c, &e), 0);
	CU_ASSERT_EQUAL(c.metrics_port, 0); /* off by default */
	CU_ASSERT_EQUAL_FATAL(tp_config_parse("mode = memory\nmetrics_listen = 9475\n", &c, &e), 0);
	CU_ASSERT_EQUAL(c.metrics_port, 9475);
	CU_ASSERT_EQUAL(c.metrics_family, AF_INET);
	CU_ASSERT_EQUAL(memcmp(c.metrics_addr, (uint8_t[]){127, 0, 0, 1}, 4), 0);
	CU_ASSERT_EQUAL_FATAL(
		tp_config_parse("mode = memory\nmetrics_listen = [::1]:9100\n", &c, &e), 0);
	CU_ASSERT_EQUAL(c.metrics_family, AF_INET6);
	CU_ASSERT_EQUAL(c.metrics_port, 9100);
	CU_ASSERT_EQUAL_FATAL(
		tp_config_parse("mode = memory\nmetrics_listen = 127.0.0.2:9100\n", &c, &e), 0);
	/* off the host only when asked for */
	CU_ASSERT_EQUAL(tp_config_parse("mode = memory\nmetrics_listen = 0.0.0.0:9100\n", &c, &e),
			-EINVAL);
	CU_ASSERT_EQUAL(e.line, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "metrics_listen_remote"));
	CU_ASSERT_EQUAL(tp_config_parse("mode = memory\nmetrics_listen = [::]:9100\n", &c, &e),
			-EINVAL);
	CU_ASSERT_EQUAL(tp_config_parse("mode = memory\nmetrics_listen = 192.0.2.1:9100\n"
					"metrics_listen_remote = yes\n",
					&c, &e),
			0);
	CU_ASSERT_TRUE(c.metrics_remote);
	CU_ASSERT_EQUAL(tp_config_parse("mode = memory\nmetrics_listen = 0\n", &c, &e), -EINVAL);
	CU_ASSERT_EQUAL(tp_config_parse("mode = memory\nmetrics_listen = 70000\n", &c, &e),
			-EINVAL);
	CU_ASSERT_EQUAL(tp_config_parse("mode = memory\nmetrics_listen = localhost:9100\n", &c, &e),
			-EINVAL);
	CU_ASSERT_EQUAL(tp_config_parse("mode = memory\nmetrics_listen_remote = maybe\n", &c, &e),
			-EINVAL);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("metrics", NULL, NULL);
	CU_add_test(suite, "OpenMetrics exposition of fixed input", test_openmetrics);
	CU_add_test(suite, "text format 0.0.4: same samples", test_text_format);
	CU_add_test(suite, "missing sources left out", test_missing_sources);
	CU_add_test(suite, "controller session families", test_controller);
	CU_add_test(suite, "HTTP request parser", test_parse);
	CU_add_test(suite, "server answers", test_server_answers);
	CU_add_test(suite, "server deadlines and limits", test_server_limits);
	CU_add_test(suite, "metrics_listen in tpd.conf", test_config);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
