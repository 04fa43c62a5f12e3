// SPDX-License-Identifier: MIT
/*
 * Admin socket: requests and replies on one thread (the test plays both
 * the client, with raw sockets, and the control loop, by polling), stale
 * and live sockets, malformed requests, pipelined and split requests, an
 * overlong line, and the tpctl client call against a server thread.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tp/base/admin.h"

static char dir[64];
static char path[128];
static int calls;

static json_t *cmd_echo(void *arg, json_t *req, char *err, size_t errlen)
{
	calls++;
	return json_pack("{s:O?, s:s}", "x", json_object_get(req, "x"), "tag", (char *)arg);
}

static json_t *cmd_fail(void *arg, json_t *req, char *err, size_t errlen)
{
	snprintf(err, errlen, "this command always fails");
	return NULL;
}

static const struct tp_admin_cmd cmds[] = {
	{"echo", cmd_echo, "echo x back"},
	{"fail", cmd_fail, "fail"},
};

/* Run the server side until nothing is ready for 50 ms. */
static void pump(struct tp_admin *a)
{
	struct pollfd pfd[TP_ADMIN_CLIENTS_MAX + 1];

	for (;;) {
		unsigned n = tp_admin_pollfds(a, pfd, TP_ADMIN_CLIENTS_MAX + 1);

		if (poll(pfd, n, 50) <= 0)
			return;
		tp_admin_service(a, pfd, n);
	}
}

static int dial(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void put(int fd, const char *s)
{
	CU_ASSERT_EQUAL(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* Read whatever replies are there (after pump). */
static size_t drain(int fd, char *buf, size_t len)
{
	ssize_t r = recv(fd, buf, len - 1, MSG_DONTWAIT);

	buf[r > 0 ? r : 0] = '\0';
	return r > 0 ? (size_t)r : 0;
}

static void test_requests(void)
{
	char err[256] = "", buf[4096];
	struct tp_admin *a = tp_admin_create(path, cmds, 2, "T", err, sizeof(err));
	struct stat st;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	fd = dial();
	CU_ASSERT_FATAL(fd >= 0);

	/* two pipelined requests, then one split over two writes */
	put(fd, "{\"cmd\":\"echo\",\"x\":1}\n{\"cmd\":\"echo\",\"x\":2}\n{\"cmd\":\"ec");
	pump(a);
	put(fd, "ho\",\"x\":3}\n");
	pump(a);
	drain(fd, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "{\"ok\":true,\"result\":{\"x\":1,\"tag\":\"T\"}}\n"
				    "{\"ok\":true,\"result\":{\"x\":2,\"tag\":\"T\"}}\n"
				    "{\"ok\":true,\"result\":{\"x\":3,\"tag\":\"T\"}}\n");
	CU_ASSERT_EQUAL(calls, 3);

	/* errors are replies, and the connection stays usable */
	put(fd, "{\"cmd\":\"fail\"}\nnot json\n{\"x\":1}\n{\"cmd\":\"nope\"}\n[1]\n");
	pump(a);
	drain(fd, buf, sizeof(buf));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(buf, "{\"ok\":false,\"error\":\"this command always fails\"}\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "bad request: '[' or '{' expected near 'not'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "bad request: expected {\\\"cmd\\\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "unknown command 'nope'; known: echo fail"));
	{
		int lines = 0;

		for (char *p = buf; *p; p++)
			lines += *p == '\n';
		CU_ASSERT_EQUAL(lines, 5);
	}

	/* a line longer than TP_ADMIN_LINE_MAX closes the connection */
	{
		size_t big = TP_ADMIN_LINE_MAX + 10, sent = 0;
		char *junk = malloc(big);

		memset(junk, 'a', big);
		while (sent < big) {
			ssize_t w = send(fd, junk + sent, big - sent, MSG_DONTWAIT);

			if (w > 0)
				sent += (size_t)w;
			pump(a);
			if (w < 0 && errno != EAGAIN)
				break;
		}
		pump(a);
		/* EOF, or a reset because our unread bytes were dropped */
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		CU_ASSERT_TRUE(r == 0 || (r < 0 && errno == ECONNRESET));
		free(junk);
	}
	close(fd);
	tp_admin_destroy(a);
	CU_ASSERT_NOT_EQUAL(stat(path, &st), 0); /* socket file removed */
}

static void test_in_use_and_stale(void)
{
	char err[256] = "";
	struct tp_admin *a, *b;
	int fd;

	a = tp_admin_create(path, cmds, 2, "A", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	err[0] = '\0';
	b = tp_admin_create(path, cmds, 2, "B", err, sizeof(err));
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is in use"));
	tp_admin_destroy(a);

	/* a stale socket (nobody listening) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		strcpy(sa.sun_path, path);
		CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	close(fd);
	err[0] = '\0';
	a = tp_admin_create(path, cmds, 2, "A", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(a);
	tp_admin_destroy(a);

	/* a regular file is not ours to remove */
	fclose(fopen(path, "w"));
	err[0] = '\0';
	a = tp_admin_create(path, cmds, 2, "A", err, sizeof(err));
	CU_ASSERT_PTR_NULL(a);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a socket"));
	unlink(path);
}

static volatile bool serving;

static void *server(void *arg)
{
	struct tp_admin *a = arg;

	while (serving)
		pump(a);
	return NULL;
}

static void test_client_call(void)
{
	char err[256] = "", sub[192];
	struct tp_admin *a;
	pthread_t th;
	json_t *req, *reply;

	/* the directory is created on demand */
	snprintf(sub, sizeof(sub), "%s/a/b/tpd.sock", dir);
	a = tp_admin_create(sub, cmds, 2, "C", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	serving = true;
	pthread_create(&th, NULL, server, a);
	req = json_pack("{s:s, s:s}", "cmd", "echo", "x", "hello");
	reply = tp_admin_call(sub, req, 2000, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
	CU_ASSERT_TRUE(json_is_true(json_object_get(reply, "ok")));
	CU_ASSERT_STRING_EQUAL(
		json_string_value(json_object_get(json_object_get(reply, "result"), "x")), "hello");
	json_decref(reply);
	serving = false;
	pthread_join(th, NULL);
	tp_admin_destroy(a);
	reply = tp_admin_call(sub, req, 200, err, sizeof(err));
	CU_ASSERT_PTR_NULL(reply);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "is tpd running?"));
	json_decref(req);
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/a", dir);
	rmdir(sub);
}

int main(void)
{
	CU_pSuite suite;
	unsigned failed;

	snprintf(dir, sizeof(dir), "/tmp/tp-admin-test-XXXXXX");
	if (!mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/tpd.sock", dir);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("admin", NULL, NULL);
	CU_add_test(suite, "requests, errors, framing", test_requests);
	CU_add_test(suite, "socket in use, stale, not a socket", test_in_use_and_stale);
	CU_add_test(suite, "client call", test_client_call);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	rmdir(dir);
	return failed ? 1 : 0;
}
