// SPDX-License-Identifier: MIT
/* Admin socket server and client (see tp/base/admin.h for protocol and state). */
#include "tp/base/admin.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Longest reply tp_admin_call accepts. */
#define REPLY_MAX ((size_t)16 * TP_ADMIN_LINE_MAX)

struct client {
	int fd; /* -1: free slot */
	size_t len;
	char *buf; /* TP_ADMIN_LINE_MAX + 1 bytes */
};

struct tp_admin {
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const struct tp_admin_cmd *cmds;
	size_t n_cmds;
	void *arg;
	struct client clients[TP_ADMIN_CLIENTS_MAX];
};

static void set_err(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int fill_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* mkdir -p of path's directory, 0755 for what we create. */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* A socket file at path: in use (connect works), stale (remove it), or
 * not a socket (refuse). */
static int claim_path(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		set_err(err, errlen, "admin socket %s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		set_err(err, errlen, "admin socket %s is in use (is another tpd running?)", path);
		rc = -EADDRINUSE;
	} else if (unlink(path) != 0 && errno != ENOENT) {
		rc = -errno;
		set_err(err, errlen, "cannot remove stale admin socket %s: %s", path,
			strerror(errno));
	}
	close(fd);
	return rc;
}

struct tp_admin *tp_admin_create(const char *path, const struct tp_admin_cmd *cmds, size_t n_cmds,
				 void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct tp_admin *a;
	mode_t old_umask;
	int rc;

	a = calloc(1, sizeof(*a));
	if (!a) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	a->listen_fd = -1;
	for (unsigned i = 0; i < TP_ADMIN_CLIENTS_MAX; i++)
		a->clients[i].fd = -1;
	a->cmds = cmds;
	a->n_cmds = n_cmds;
	a->arg = arg;
	if (fill_addr(path, &sa)) {
		set_err(err, errlen, "admin socket path too long: %s", path);
		goto fail_free;
	}
	rc = make_parent(path);
	if (rc) {
		set_err(err, errlen, "cannot create the directory of %s: %s", path, strerror(-rc));
		goto fail_free;
	}
	rc = claim_path(path, &sa, err, errlen);
	if (rc) {
		if (rc != -EADDRINUSE && rc != -EEXIST && !err[0])
			set_err(err, errlen, "admin socket %s: %s", path, strerror(-rc));
		goto fail_free;
	}
	a->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->listen_fd < 0) {
		set_err(err, errlen, "admin socket: %s", strerror(errno));
		goto fail_free;
	}
	/* 0600 from the start: no window where others could connect */
	old_umask = umask(0177);
	rc = bind(a->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (rc) {
		set_err(err, errlen, "cannot bind admin socket %s: %s", path, strerror(errno));
		goto fail_close;
	}
	memcpy(a->path, path, strlen(path) + 1); /* fits: fill_addr checked */
	if (listen(a->listen_fd, 8)) {
		set_err(err, errlen, "cannot listen on admin socket %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	return a;
fail_unlink:
	unlink(a->path);
fail_close:
	close(a->listen_fd);
fail_free:
	free(a);
fail:
	return NULL;
}

static void client_close(struct client *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
}

void tp_admin_destroy(struct tp_admin *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < TP_ADMIN_CLIENTS_MAX; i++)
		client_close(&a->clients[i]);
	close(a->listen_fd);
	unlink(a->path);
	free(a);
}

unsigned tp_admin_pollfds(struct tp_admin *a, struct pollfd *pfd, unsigned max)
{
	unsigned n = 0;

	if (max == 0)
		return 0;
	pfd[n++] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
	for (unsigned i = 0; i < TP_ADMIN_CLIENTS_MAX && n < max; i++) {
		if (a->clients[i].fd >= 0)
			pfd[n++] = (struct pollfd){.fd = a->clients[i].fd, .events = POLLIN};
	}
	return n;
}

/* Write all of buf; the socket is blocking with a send timeout, so a
 * client that does not read cannot stall the control thread for long. */
static bool write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		len -= (size_t)w;
	}
	return true;
}

static json_t *dispatch(struct tp_admin *a, const char *line)
{
	char err[256] = "";
	json_error_t jerr;
	json_t *req, *result = NULL, *reply;
	const char *cmd;
	size_t i;

	req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		set_err(err, sizeof(err), "bad request: %s (column %d)", jerr.text, jerr.column);
		goto fail;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!json_is_object(req) || !cmd) {
		set_err(err, sizeof(err), "bad request: expected {\"cmd\": \"...\"}");
		goto fail_req;
	}
	for (i = 0; i < a->n_cmds; i++) {
		if (!strcmp(a->cmds[i].name, cmd))
			break;
	}
	if (i == a->n_cmds) {
		size_t off =
			(size_t)snprintf(err, sizeof(err), "unknown command '%.40s'; known:", cmd);
		for (size_t k = 0; k < a->n_cmds && off < sizeof(err); k++)
			off += (size_t)snprintf(err + off, sizeof(err) - off, " %s",
						a->cmds[k].name);
		goto fail_req;
	}
	result = a->cmds[i].fn(a->arg, req, err, sizeof(err));
	if (!result) {
		if (!err[0])
			set_err(err, sizeof(err), "%s failed", cmd);
		goto fail_req;
	}
	json_decref(req);
	reply = json_pack("{s:b, s:o}", "ok", 1, "result", result);
	return reply;
fail_req:
	json_decref(req);
fail:
	return json_pack("{s:b, s:s}", "ok", 0, "error", err);
}

static bool answer(struct tp_admin *a, struct client *c, const char *line)
{
	json_t *reply = dispatch(a, line);
	char *text;
	bool ok;

	if (!reply)
		return false;
	text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (!text)
		return false;
	ok = write_all(c->fd, text, strlen(text)) && write_all(c->fd, "\n", 1);
	free(text);
	return ok;
}

static void client_read(struct tp_admin *a, struct client *c)
{
	ssize_t r;
	char *nl;

	r = recv(c->fd, c->buf + c->len, TP_ADMIN_LINE_MAX - c->len, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0)
		goto close;
	c->len += (size_t)r;
	c->buf[c->len] = '\0';
	while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
		size_t used = (size_t)(nl - c->buf) + 1;

		*nl = '\0';
		if (c->buf[0] && !answer(a, c, c->buf))
			goto close;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		c->buf[c->len] = '\0';
	}
	if (c->len == TP_ADMIN_LINE_MAX)
		goto close; /* a line this long is not a request */
	return;
close:
	client_close(c);
}

static void accept_one(struct tp_admin *a)
{
	struct timeval tv = {.tv_sec = 1};
	struct client *c = NULL;
	int fd;

	fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < TP_ADMIN_CLIENTS_MAX; i++) {
		if (a->clients[i].fd < 0) {
			c = &a->clients[i];
			break;
		}
	}
	if (!c) {
		static const char busy[] = "{\"ok\":false,\"error\":\"too many admin clients\"}\n";

		(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return;
	}
	c->buf = malloc(TP_ADMIN_LINE_MAX + 1);
	if (!c->buf) {
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	c->len = 0;
}

void tp_admin_service(struct tp_admin *a, const struct pollfd *pfd, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == a->listen_fd) {
			accept_one(a);
			continue;
		}
		for (unsigned k = 0; k < TP_ADMIN_CLIENTS_MAX; k++) {
			if (a->clients[k].fd == pfd[i].fd) {
				client_read(a, &a->clients[k]);
				break;
			}
		}
	}
}

json_t *tp_admin_call(const char *path, json_t *req, int timeout_ms, char *err, size_t errlen)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000,
			     .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};
	struct sockaddr_un sa;
	json_t *reply = NULL;
	json_error_t jerr;
	char *text = NULL, *buf = NULL;
	size_t len = 0;
	int fd;

	if (fill_addr(path, &sa)) {
		set_err(err, errlen, "socket path too long: %s", path);
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		set_err(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		set_err(err, errlen, "cannot connect to %s: %s (is tpd running?)", path,
			strerror(errno));
		goto out_close;
	}
	text = json_dumps(req, JSON_COMPACT);
	if (!text || !write_all(fd, text, strlen(text)) || !write_all(fd, "\n", 1)) {
		set_err(err, errlen, "cannot send to %s: %s", path, strerror(errno));
		goto out_close;
	}
	buf = malloc(REPLY_MAX);
	if (!buf) {
		set_err(err, errlen, "out of memory");
		goto out_close;
	}
	for (;;) {
		ssize_t r = recv(fd, buf + len, REPLY_MAX - 1 - len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			set_err(err, errlen, "no reply from %s: %s", path,
				r == 0 ? "connection closed" : strerror(errno));
			goto out_close;
		}
		len += (size_t)r;
		if (memchr(buf + len - (size_t)r, '\n', (size_t)r))
			break;
		if (len == REPLY_MAX - 1) {
			set_err(err, errlen, "reply from %s too long", path);
			goto out_close;
		}
	}
	reply = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!reply)
		set_err(err, errlen, "bad reply from %s: %s", path, jerr.text);
out_close:
	close(fd);
out:
	free(buf);
	free(text);
	return reply;
}
