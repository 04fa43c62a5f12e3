/* SPDX-License-Identifier: MIT */
/*
 * The admin socket tpctl talks to: a Unix stream socket (mode 0600), one
 * JSON object per line in each direction.
 *
 *   request:  {"cmd": "status", ...arguments}\n
 *   reply:    {"ok": true, "result": {...}}\n
 *        or   {"ok": false, "error": "one line saying why"}\n
 *
 * A client may send several requests on one connection; replies come in
 * order. A line longer than TP_ADMIN_LINE_MAX closes the connection.
 *
 * State: the listening socket and up to TP_ADMIN_CLIENTS_MAX connections,
 * each with its partial input line. Owned by one thread (tpd's control
 * thread), which polls the fds tp_admin_pollfds() gives it and calls
 * tp_admin_service() with the result; handlers run on that thread.
 *
 * Plain C with jansson; no DPDK.
 */
#ifndef TP_BASE_ADMIN_H
#define TP_BASE_ADMIN_H

#include <poll.h>
#include <stddef.h>

#include <jansson.h>

#define TP_ADMIN_CLIENTS_MAX  16
#define TP_ADMIN_LINE_MAX     65536
#define TP_ADMIN_DEFAULT_PATH "/run/tableau/tpd.sock"

struct tp_admin;

/*
 * A command handler: returns the result (a new reference), or NULL with a
 * one-line reason in err. req is the whole request object (borrowed).
 */
typedef json_t *(*tp_admin_fn)(void *arg, json_t *req, char *err, size_t errlen);

struct tp_admin_cmd {
	const char *name;
	tp_admin_fn fn;
	const char *help;
};

/*
 * Listen on path (its directory is created if missing). Refuses a path
 * where another live process listens (-EADDRINUSE) and removes a stale
 * socket left by a crash. cmds must outlive the admin socket. NULL on
 * failure with a one-line reason in err.
 */
struct tp_admin *tp_admin_create(const char *path, const struct tp_admin_cmd *cmds, size_t n_cmds,
				 void *arg, char *err, size_t errlen);

/* Close every connection and remove the socket file. NULL is fine. */
void tp_admin_destroy(struct tp_admin *a);

/* Fill at most max pollfds (listen socket first); returns how many. */
unsigned tp_admin_pollfds(struct tp_admin *a, struct pollfd *pfd, unsigned max);

/* Accept, read and answer what the pollfds (from tp_admin_pollfds, after
 * poll) say is ready. */
void tp_admin_service(struct tp_admin *a, const struct pollfd *pfd, unsigned n);

/* Client side, used by tpctl: send one request, wait for its reply (a new
 * reference) up to timeout_ms. NULL with a reason in err. */
json_t *tp_admin_call(const char *path, json_t *req, int timeout_ms, char *err, size_t errlen);

#endif /* TP_BASE_ADMIN_H */
