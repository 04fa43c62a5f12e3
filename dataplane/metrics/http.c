// SPDX-License-Identifier: MIT
/*
 * The /metrics HTTP endpoint (tp/dp/metrics.h for its state and ownership).
 *
 * A connection lives through two phases: reading its request (at most
 * TP_METRICS_REQUEST_MAX bytes, polled for POLLIN), then writing its whole
 * answer (polled for POLLOUT), then it is closed. It is closed earlier on
 * any error, and when its deadline on the injected clock passes, whatever
 * the phase. Only GET and HEAD of /metrics are answered with the metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tp/dp/metrics.h"

struct conn {
	int fd; /* -1: free slot */
	uint64_t deadline_ns;
	size_t len; /* request bytes in req */
	char *out;  /* the answer once the request is complete, else NULL */
	size_t out_len, out_off;
	char req[TP_METRICS_REQUEST_MAX];
};

struct tp_metrics_http {
	int listen_fd;
	struct tp_metrics_http_params p;
	struct conn c[TP_METRICS_CLIENTS_MAX];
};

const char *tp_metrics_content_type(enum tp_metrics_format fmt)
{
	return fmt == TP_METRICS_OPENMETRICS
		       ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
		       : "text/plain; version=0.0.4; charset=utf-8";
}

/* --- the request parser (untrusted bytes: tests/fuzz/metrics_http) --- */

/* RFC 9110 token characters */
static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Index just past the blank line that ends the headers within buf[0, len),
 * or 0 if there is none yet. A bare LF ends a line too (RFC 9112 2.2). */
static size_t header_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Past the CRLF or LF at i, or 0 if there is none (never beyond end). */
static size_t eol(const char *buf, size_t i, size_t end)
{
	if (i < end && buf[i] == '\n')
		return i + 1;
	if (i + 1 < end && buf[i] == '\r' && buf[i + 1] == '\n')
		return i + 2;
	return 0;
}

/* Case-insensitive search of needle in s[0, n). */
static bool contains(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++) {
		if (!strncasecmp(s + i, needle, k))
			return true;
	}
	return false;
}

static bool name_is(const char *s, size_t n, const char *name)
{
	return n == strlen(name) && !strncasecmp(s, name, n);
}

int tp_metrics_http_parse(const char *buf, size_t len, struct tp_metrics_http_req *req)
{
	size_t end = header_end(buf, len < TP_METRICS_REQUEST_MAX ? len : TP_METRICS_REQUEST_MAX);
	size_t i = 0, method_len, target, target_len;

	*req = (struct tp_metrics_http_req){.fmt = TP_METRICS_TEXT};
	if (!end)
		return len >= TP_METRICS_REQUEST_MAX ? 413 : 0;
	/* request-line = method SP request-target SP HTTP-version */
	while (i < end && tchar((unsigned char)buf[i]))
		i++;
	method_len = i;
	if (!method_len || i >= end || buf[i] != ' ')
		return 400;
	target = ++i;
	while (i < end && buf[i] > ' ' && buf[i] < 0x7f)
		i++;
	target_len = i - target;
	if (!target_len || i >= end || buf[i] != ' ')
		return 400;
	i++;
	if (end - i < 8 || memcmp(buf + i, "HTTP/1.", 7) ||
	    (buf[i + 7] != '0' && buf[i + 7] != '1'))
		return 400;
	i = eol(buf, i + 8, end);
	if (!i)
		return 400;
	/* header-field = field-name ":" OWS field-value OWS, until the blank line */
	while (!eol(buf, i, end)) {
		size_t name = i, name_len, value, value_len;

		while (i < end && tchar((unsigned char)buf[i]))
			i++;
		name_len = i - name;
		if (!name_len || i >= end || buf[i] != ':')
			return 400;
		value = ++i;
		/* visible ASCII, space, tab, obs-text; no other control */
		while (i < end && (buf[i] == '\t' || (unsigned char)buf[i] >= ' ') &&
		       buf[i] != 0x7f)
			i++;
		value_len = i - value;
		i = eol(buf, i, end);
		if (!i)
			return 400;
		/* no body is read: one announced is refused rather than left
		 * unread (the connection closes after the answer anyway) */
		if (name_is(buf + name, name_len, "transfer-encoding"))
			return 400;
		if (name_is(buf + name, name_len, "content-length")) {
			for (size_t k = value; k < value + value_len; k++) {
				if (buf[k] != '0' && buf[k] != ' ' && buf[k] != '\t')
					return 400;
			}
		}
		if (name_is(buf + name, name_len, "accept") &&
		    contains(buf + value, value_len, "application/openmetrics-text"))
			req->fmt = TP_METRICS_OPENMETRICS;
	}
	if (method_len == 4 && !memcmp(buf, "HEAD", 4))
		req->head = true;
	else if (method_len != 3 || memcmp(buf, "GET", 3))
		return 405;
	if (target_len < 8 || memcmp(buf + target, "/metrics", 8) ||
	    (target_len > 8 && buf[target + 8] != '?'))
		return 404;
	return 200;
}

/* --- the server --- */

struct tp_metrics_http *tp_metrics_http_create(const struct tp_metrics_http_params *p, char *err,
					       size_t errlen)
{
	struct sockaddr_storage ss = {0};
	struct tp_metrics_http *h;
	socklen_t sl;
	char addr[INET6_ADDRSTRLEN] = "?";
	int one = 1;

	inet_ntop(p->family, p->addr, addr, sizeof(addr));
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "metrics: out of memory");
		goto fail;
	}
	h->p = *p;
	for (unsigned i = 0; i < TP_METRICS_CLIENTS_MAX; i++)
		h->c[i].fd = -1;
	if (p->family == AF_INET) {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

		sa->sin_family = AF_INET;
		sa->sin_port = htons(p->port);
		memcpy(&sa->sin_addr, p->addr, 4);
		sl = sizeof(*sa);
	} else {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(p->port);
		memcpy(&sa->sin6_addr, p->addr, 16);
		sl = sizeof(*sa);
	}
	h->listen_fd = socket(p->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->listen_fd < 0) {
		snprintf(err, errlen, "metrics_listen: socket: %s", strerror(errno));
		goto fail_free;
	}
	setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (p->family == AF_INET6)
		setsockopt(h->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(h->listen_fd, (struct sockaddr *)&ss, sl) || listen(h->listen_fd, 16)) {
		snprintf(err, errlen, "metrics_listen %s port %u: %s", addr, p->port,
			 strerror(errno));
		goto fail_close;
	}
	return h;
fail_close:
	close(h->listen_fd);
fail_free:
	free(h);
fail:
	return NULL;
}

static void conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->len = c->out_len = c->out_off = 0;
}

void tp_metrics_http_destroy(struct tp_metrics_http *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < TP_METRICS_CLIENTS_MAX; i++)
		conn_close(&h->c[i]);
	close(h->listen_fd);
	free(h);
}

uint16_t tp_metrics_http_port(const struct tp_metrics_http *h)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(h->listen_fd, (struct sockaddr *)&ss, &sl))
		return 0;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

unsigned tp_metrics_http_pollfds(struct tp_metrics_http *h, struct pollfd *pfd, unsigned max)
{
	unsigned n = 0;

	if (max == 0)
		return 0;
	pfd[n++] = (struct pollfd){.fd = h->listen_fd, .events = POLLIN};
	for (unsigned i = 0; i < TP_METRICS_CLIENTS_MAX && n < max; i++) {
		if (h->c[i].fd >= 0)
			pfd[n++] = (struct pollfd){.fd = h->c[i].fd,
						   .events = h->c[i].out ? POLLOUT : POLLIN};
	}
	return n;
}

int tp_metrics_http_timeout_ms(const struct tp_metrics_http *h)
{
	uint64_t now = tp_clock_now(&h->p.clock), first = UINT64_MAX;

	for (unsigned i = 0; i < TP_METRICS_CLIENTS_MAX; i++) {
		if (h->c[i].fd >= 0 && h->c[i].deadline_ns < first)
			first = h->c[i].deadline_ns;
	}
	if (first == UINT64_MAX)
		return -1;
	return first <= now ? 0 : (int)((first - now + 999999) / 1000000);
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Content Too Large";
	default:
		return "Internal Server Error";
	}
}

/* The whole answer into c->out. */
static void build_answer(struct tp_metrics_http *h, struct conn *c, int status,
			 const struct tp_metrics_http_req *rq)
{
	char *body = NULL, head[256];
	const char *type = "text/plain; charset=utf-8";
	size_t body_len = 0;
	int n;

	if (status == 200) {
		body = h->p.body(h->p.arg, rq->fmt, &body_len);
		if (body)
			type = tp_metrics_content_type(rq->fmt);
		else
			status = 500;
	}
	if (!body) {
		n = snprintf(NULL, 0, "%s\n", reason(status));
		body = malloc((size_t)n + 1);
		if (!body)
			return;
		body_len = (size_t)snprintf(body, (size_t)n + 1, "%s\n", reason(status));
	}
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		     "Connection: close\r\n\r\n",
		     status, reason(status), type, body_len,
		     status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (rq->head)
		body_len = 0;
	c->out = malloc((size_t)n + body_len);
	if (c->out) {
		memcpy(c->out, head, (size_t)n);
		memcpy(c->out + n, body, body_len);
		c->out_len = (size_t)n + body_len;
		c->out_off = 0;
	}
	free(body);
}

/* Send what the socket takes; close once all is sent or on an error. */
static void conn_write(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* POLLOUT next time */
		if (w <= 0)
			break;
		c->out_off += (size_t)w;
	}
	shutdown(c->fd, SHUT_WR);
	conn_close(c);
}

static void conn_read(struct tp_metrics_http *h, struct conn *c)
{
	struct tp_metrics_http_req rq;
	ssize_t r;
	int status;

	r = recv(c->fd, c->req + c->len, sizeof(c->req) - c->len, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (r <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)r;
	status = tp_metrics_http_parse(c->req, c->len, &rq);
	if (!status)
		return;
	build_answer(h, c, status, &rq);
	if (!c->out) {
		conn_close(c);
		return;
	}
	conn_write(c);
}

static void accept_all(struct tp_metrics_http *h, uint64_t now)
{
	for (unsigned k = 0; k < TP_METRICS_CLIENTS_MAX; k++) {
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c = NULL;

		if (fd < 0)
			return;
		for (unsigned i = 0; i < TP_METRICS_CLIENTS_MAX; i++) {
			if (h->c[i].fd < 0) {
				c = &h->c[i];
				break;
			}
		}
		if (!c) { /* every slot busy: the scraper retries later */
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = 0;
		c->deadline_ns = now + TP_METRICS_TIMEOUT_NS;
	}
}

void tp_metrics_http_service(struct tp_metrics_http *h, const struct pollfd *pfd, unsigned n)
{
	uint64_t now = tp_clock_now(&h->p.clock);
	bool listen_ready = false;

	/* connections first, accepting last: a descriptor closed here and
	 * reused by accept4 must not be taken for the old connection */
	for (unsigned i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (pfd[i].fd == h->listen_fd) {
			listen_ready = true;
			continue;
		}
		for (unsigned k = 0; k < TP_METRICS_CLIENTS_MAX; k++) {
			struct conn *c = &h->c[k];

			if (c->fd != pfd[i].fd)
				continue;
			if (c->out)
				conn_write(c);
			else
				conn_read(h, c);
			break;
		}
	}
	for (unsigned k = 0; k < TP_METRICS_CLIENTS_MAX; k++) {
		if (h->c[k].fd >= 0 && now >= h->c[k].deadline_ns)
			conn_close(&h->c[k]);
	}
	if (listen_ready)
		accept_all(h, now);
}
