/* SPDX-License-Identifier: MIT */
/*
 * Prometheus metrics of tpd: one formatter and a small HTTP server.
 *
 * The formatter turns the JSON of tpd's admin commands (tp_metrics_sources:
 * status, counters, peers, export — tp/base/admin.h) into the text exposition.
 * `tpctl metrics` asks tpd for those over the admin socket; tpd's HTTP
 * endpoint (tpd.conf metrics_listen) calls the same command handlers in
 * process. Both hand the replies to tp_metrics_format, so both print the
 * same families from the same numbers.
 *
 * Two formats: OpenMetrics 1.0.0 (counter families named without their
 * _total suffix in TYPE/HELP, samples with it, "# EOF" last) and the
 * Prometheus text format 0.0.4 (TYPE/HELP name the sample, as promtool
 * check metrics and older scrapers expect). Names, labels and values are
 * the same in both.
 *
 * The HTTP server: state is the listening socket and up to
 * TP_METRICS_CLIENTS_MAX connections, each with its request bytes (at most
 * TP_METRICS_REQUEST_MAX) or its unsent reply, and its deadline on the
 * injected clock. Owned by one thread (tpd's control thread), which polls
 * the fds tp_metrics_http_pollfds() gives it and calls
 * tp_metrics_http_service() after every poll. Every socket is non-blocking:
 * a slow or silent client costs a slot until its deadline, never the
 * thread's time. One request per connection (Connection: close).
 *
 * Plain C with jansson; no DPDK.
 */
#ifndef TP_DP_METRICS_H
#define TP_DP_METRICS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tp/base/clock.h"

#define TP_METRICS_CLIENTS_MAX 8
#define TP_METRICS_REQUEST_MAX 4096	     /* request line and headers, bytes */
#define TP_METRICS_TIMEOUT_NS  5000000000ull /* a connection's whole life */

enum tp_metrics_format {
	TP_METRICS_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
	TP_METRICS_TEXT = 2,	    /* text/plain; version=0.0.4 */
};

/* The admin commands whose results tp_metrics_format reads, by name. */
extern const char *const tp_metrics_sources[];
extern const size_t tp_metrics_n_sources;

/*
 * The exposition of in = {"status": ..., "counters": ..., "peers": ...,
 * "export": ...} (each the result of that admin command; a missing one
 * leaves its families out). now_s: wall-clock seconds, to turn the peers'
 * "handshake N s ago" into a timestamp. Counter values are printed as the
 * unsigned 64-bit numbers tpd counts (never negative). Returns a
 * NUL-terminated malloc'd text (len set), NULL when out of memory.
 */
char *tp_metrics_format(json_t *in, int64_t now_s, enum tp_metrics_format fmt, size_t *len);

/* The Content-Type of a format. */
const char *tp_metrics_content_type(enum tp_metrics_format fmt);

/* A parsed request (tp_metrics_http_parse). */
struct tp_metrics_http_req {
	bool head;		    /* HEAD: the headers of the answer only */
	enum tp_metrics_format fmt; /* from Accept: OpenMetrics if offered */
};

/*
 * Parse the first len bytes received on a connection. Returns 0 while the
 * request is incomplete (no blank line yet, shorter than
 * TP_METRICS_REQUEST_MAX), otherwise the status to answer: 200 (GET or
 * HEAD /metrics, req filled in), 400 (malformed, or a body), 404 (another
 * path), 405 (another method), 413 (headers longer than
 * TP_METRICS_REQUEST_MAX). Reads only buf[0, len).
 */
int tp_metrics_http_parse(const char *buf, size_t len, struct tp_metrics_http_req *req);

/* The body of a 200: a malloc'd text (len set), NULL on failure (500). */
typedef char *(*tp_metrics_body_fn)(void *arg, enum tp_metrics_format fmt, size_t *len);

struct tp_metrics_http_params {
	int family;	       /* AF_INET or AF_INET6 */
	uint8_t addr[16];      /* 4 bytes for AF_INET */
	uint16_t port;	       /* host order */
	struct tp_clock clock; /* deadlines */
	tp_metrics_body_fn body;
	void *arg;
};

struct tp_metrics_http;

/* Listen (non-blocking). NULL with a one-line reason in err. */
struct tp_metrics_http *tp_metrics_http_create(const struct tp_metrics_http_params *p, char *err,
					       size_t errlen);

/* Close every connection and the listening socket. NULL is fine. */
void tp_metrics_http_destroy(struct tp_metrics_http *h);

/* Fill at most max pollfds (listen socket first); returns how many. */
unsigned tp_metrics_http_pollfds(struct tp_metrics_http *h, struct pollfd *pfd, unsigned max);

/* The port listened on (the one bound when params.port was 0). */
uint16_t tp_metrics_http_port(const struct tp_metrics_http *h);

/* Milliseconds until the first connection's deadline, -1 with none: the
 * most the owner's poll may wait. */
int tp_metrics_http_timeout_ms(const struct tp_metrics_http *h);

/* Accept, read, answer and write what the pollfds say is ready; close
 * connections past their deadline. Never blocks. */
void tp_metrics_http_service(struct tp_metrics_http *h, const struct pollfd *pfd, unsigned n);

#endif /* TP_DP_METRICS_H */
