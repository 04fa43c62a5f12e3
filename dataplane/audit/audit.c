// SPDX-License-Identifier: MIT
/*
 * The audit trail (tp/dp/audit.h): RFC 5424 framing, the sinks and the
 * handshake-failure rate limit.
 *
 * State (control thread only): the sink's fd (-1 when the syslog socket is
 * not connected; next_connect_ns bounds the retries), the count of lines
 * that went to the stderr fallback since the sink last took one, and the
 * table of handshake-failure sources, each with the start of its current
 * interval, the lines it had in it and the lines suppressed since its last
 * line.
 */
#include "tp/dp/audit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct hs_source {
	char key[INET6_ADDRSTRLEN]; /* "" = free */
	uint64_t window_ns;	    /* start of the current interval */
	uint32_t lines;		    /* lines in this interval */
	uint64_t suppressed;	    /* since this source's last line */
};

struct tp_audit {
	enum tp_audit_sink sink;
	char path[108]; /* sun_path's size */
	char app[49];
	char host[256];
	int procid;
	uint64_t (*wall_ns)(void *arg);
	void *wall_arg;
	struct tp_clock mono;
	bool (*write)(void *arg, const char *line, size_t len);
	void *write_arg;
	int fd;
	uint64_t next_connect_ns;
	uint64_t pending_fallback; /* lines sent to stderr since the sink last took one */
	struct tp_audit_stats st;
	uint32_t hs_per;
	uint64_t hs_interval;
	struct hs_source hs[TP_AUDIT_HS_SOURCES];
	struct hs_source hs_other; /* every source beyond the table: key "*" */
};

static uint64_t real_ns(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* RFC 5424 header fields: 1..max printable US-ASCII, else the NILVALUE. */
static void header_field(const char *in, size_t max, char *out, size_t outlen)
{
	size_t n = in ? strlen(in) : 0;

	if (n == 0 || n > max || n >= outlen)
		goto nil;
	for (size_t i = 0; i < n; i++) {
		if (in[i] < 33 || in[i] > 126)
			goto nil;
	}
	memcpy(out, in, n + 1);
	return;
nil:
	snprintf(out, outlen, "-");
}

/* Length of the well-formed UTF-8 sequence at s (max n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A bounded output: appends never overrun, full records that they did not
 * fit. */
struct out {
	char *buf;
	size_t len, cap; /* cap excludes the terminating NUL */
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

/* Text made safe for one line: control characters and bytes that are not
 * UTF-8 become '?'; in a PARAM-VALUE '"', '\' and ']' are escaped. Stops
 * before a character that does not fit whole (MSG is cut there). */
static void put_text(struct out *o, const char *s, bool value)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n && !o->full) {
		size_t k = utf8_len(p, n);

		if (k == 0 || *p < 0x20 || *p == 0x7f) {
			put(o, "?", 1);
			k = k ? k : 1;
		} else if (value && (*p == '"' || *p == '\\' || *p == ']')) {
			char esc[2] = {'\\', (char)*p};

			put(o, esc, 2);
		} else {
			put(o, (const char *)p, k);
		}
		p += k;
		n -= k;
	}
}

static bool param_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 32)
		return false;
	for (; *s; s++) {
		if (*s < 33 || *s > 126 || *s == '=' || *s == ']' || *s == '"')
			return false;
	}
	return true;
}

size_t tp_audit_format(const struct tp_audit *a, uint64_t wall_ns, enum tp_audit_severity sev,
		       const char *msgid, const struct tp_audit_param *sd, size_t n_sd,
		       const char *msg, char *buf, size_t len)
{
	char when[40], mid[33], hdr[TP_AUDIT_LINE_MAX];
	time_t s = (time_t)(wall_ns / 1000000000u);
	struct out o = {.buf = buf, .cap = len - 1};
	struct out save;
	struct tm tm;
	int n;

	if (len < TP_AUDIT_FORMAT_MIN) {
		if (len)
			buf[0] = 0;
		return 0;
	}
	buf[0] = 0;
	if (gmtime_r(&s, &tm))
		n = (int)strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	else
		n = 0;
	if (n > 0)
		snprintf(when + n, sizeof(when) - (size_t)n, ".%06uZ",
			 (unsigned)(wall_ns / 1000u % 1000000u));
	else
		snprintf(when, sizeof(when), "-");
	header_field(msgid, 32, mid, sizeof(mid));
	n = snprintf(hdr, sizeof(hdr), "<%d>1 %s %s %s %d %s [" TP_AUDIT_SD_ID,
		     TP_AUDIT_FACILITY * 8 + (int)sev, when, a->host, a->app, a->procid, mid);
	put(&o, hdr, (size_t)n < sizeof(hdr) ? (size_t)n : sizeof(hdr) - 1);
	/* keep room for "]" and a short MSG: a parameter that would not fit
	 * whole is left out rather than cut (a cut value reads as a true one) */
	o.cap = len - 1 - 64;
	for (size_t i = 0; i < n_sd; i++) {
		if (!sd[i].value || !param_name_ok(sd[i].name))
			continue;
		save = o;
		put(&o, " ", 1);
		put(&o, sd[i].name, strlen(sd[i].name));
		put(&o, "=\"", 2);
		put_text(&o, sd[i].value, true);
		put(&o, "\"", 1);
		if (o.full) {
			o = save;
			o.buf[o.len] = 0;
		}
	}
	o.cap = len - 1;
	o.full = false;
	put(&o, "]", 1);
	if (msg && *msg) {
		put(&o, " ", 1);
		put_text(&o, msg, false);
	}
	return o.len;
}

static void sink_close(struct tp_audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

static void syslog_connect(struct tp_audit *a)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t now = tp_clock_now(&a->mono);

	if (now < a->next_connect_ns)
		return;
	a->next_connect_ns = now + TP_AUDIT_RECONNECT_NS;
	memcpy(sa.sun_path, a->path, strlen(a->path) + 1);
	a->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (a->fd < 0)
		return;
	if (connect(a->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		sink_close(a);
}

static void file_open(struct tp_audit *a)
{
	uint64_t now = tp_clock_now(&a->mono);

	if (now < a->next_connect_ns)
		return;
	a->next_connect_ns = now + TP_AUDIT_RECONNECT_NS;
	a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0600);
}

/* One line (buf has room for a newline after len bytes). */
static bool sink_write(struct tp_audit *a, char *buf, size_t len)
{
	ssize_t w;

	switch (a->sink) {
	case TP_AUDIT_SINK_FUNC:
		return a->write(a->write_arg, buf, len);
	case TP_AUDIT_SINK_SYSLOG:
		if (a->fd < 0)
			syslog_connect(a);
		if (a->fd < 0)
			return false;
		/* a datagram is one record: no newline */
		if (send(a->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len)
			return true;
		/* the receiver restarted: a new socket next time; full: keep it */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			sink_close(a);
		return false;
	case TP_AUDIT_SINK_FILE:
		if (a->fd < 0)
			file_open(a);
		if (a->fd < 0)
			return false;
		buf[len] = '\n';
		w = write(a->fd, buf, len + 1);
		buf[len] = 0;
		if (w == (ssize_t)len + 1)
			return true;
		sink_close(a); /* reopened later: the file may have been rotated */
		return false;
	case TP_AUDIT_SINK_STDERR:
		break;
	}
	buf[len] = '\n';
	w = write(STDERR_FILENO, buf, len + 1);
	buf[len] = 0;
	return w == (ssize_t)len + 1;
}

/* The sink refused a line: stderr has it (unless stderr is the sink that
 * refused), the count tells the trail later. */
static void fallback(struct tp_audit *a, char *buf, size_t len)
{
	ssize_t w;

	a->st.fallback++;
	a->pending_fallback++;
	if (a->sink == TP_AUDIT_SINK_STDERR)
		return;
	buf[len] = '\n';
	w = write(STDERR_FILENO, buf, len + 1);
	(void)w; /* nowhere left to report to: it is counted */
	buf[len] = 0;
}

static bool emit_line(struct tp_audit *a, enum tp_audit_severity sev, const char *msgid,
		      const struct tp_audit_param *sd, size_t n_sd, const char *msg)
{
	char buf[TP_AUDIT_LINE_MAX + 1]; /* + the newline of stream sinks */
	uint64_t now = a->wall_ns(a->wall_arg);
	size_t len = tp_audit_format(a, now, sev, msgid, sd, n_sd, msg, buf, TP_AUDIT_LINE_MAX);

	if (!sink_write(a, buf, len)) {
		fallback(a, buf, len);
		return false;
	}
	a->st.lines++;
	return true;
}

/* The sink takes lines again: the trail says how many it missed. */
static void report_fallback(struct tp_audit *a)
{
	char n[24], total[24];
	uint64_t pending = a->pending_fallback;
	struct tp_audit_param sd[] = {{"fallback", n}, {"fallback_total", total}};

	snprintf(n, sizeof(n), "%" PRIu64, pending);
	snprintf(total, sizeof(total), "%" PRIu64, a->st.fallback);
	/* refused again: it is one more line pending */
	if (emit_line(a, TP_AUDIT_ERR, "audit-sink", sd, 2,
		      "audit lines the sink refused went to stderr"))
		a->pending_fallback -= pending;
}

void tp_audit_emit(struct tp_audit *a, enum tp_audit_severity sev, const char *msgid,
		   const struct tp_audit_param *sd, size_t n_sd, const char *msg)
{
	if (a && emit_line(a, sev, msgid, sd, n_sd, msg) && a->pending_fallback)
		report_fallback(a);
}

struct tp_audit *tp_audit_new(const struct tp_audit_params *p)
{
	struct tp_audit *a;
	char host[256];
	const char *path = p->path;

	if (p->sink == TP_AUDIT_SINK_SYSLOG && !path)
		path = TP_AUDIT_DEFAULT_SYSLOG_PATH;
	if (p->sink < TP_AUDIT_SINK_SYSLOG || p->sink > TP_AUDIT_SINK_FUNC ||
	    (p->sink == TP_AUDIT_SINK_FUNC && !p->write) ||
	    ((p->sink == TP_AUDIT_SINK_SYSLOG || p->sink == TP_AUDIT_SINK_FILE) &&
	     (!path || !*path || strlen(path) >= sizeof(a->path)))) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->sink = p->sink;
	a->fd = -1;
	if (path)
		memcpy(a->path, path, strlen(path) + 1);
	header_field(p->app_name ? p->app_name : "tpd", 48, a->app, sizeof(a->app));
	if (!p->hostname && gethostname(host, sizeof(host)) == 0)
		host[sizeof(host) - 1] = 0;
	else
		snprintf(host, sizeof(host), "%s", p->hostname ? p->hostname : "");
	header_field(host, 255, a->host, sizeof(a->host));
	a->procid = p->procid ? p->procid : (int)getpid();
	a->wall_ns = p->wall_ns ? p->wall_ns : real_ns;
	a->wall_arg = p->wall_arg;
	a->mono = p->mono.now_ns ? p->mono : (struct tp_clock){.now_ns = tp_clock_monotonic_ns};
	a->write = p->write;
	a->write_arg = p->write_arg;
	a->hs_per = p->hs_per_interval ? p->hs_per_interval : TP_AUDIT_HS_PER_INTERVAL;
	a->hs_interval = p->hs_interval_ns ? p->hs_interval_ns : TP_AUDIT_HS_INTERVAL_NS;
	snprintf(a->hs_other.key, sizeof(a->hs_other.key), "*");
	if (a->sink == TP_AUDIT_SINK_SYSLOG)
		syslog_connect(a);
	else if (a->sink == TP_AUDIT_SINK_FILE)
		file_open(a);
	return a;
}

void tp_audit_free(struct tp_audit *a)
{
	if (!a)
		return;
	sink_close(a);
	free(a);
}

void tp_audit_stats(const struct tp_audit *a, struct tp_audit_stats *st)
{
	if (a)
		*st = a->st;
	else
		memset(st, 0, sizeof(*st));
}

void tp_audit_daemon(struct tp_audit *a, bool started, const char *name, const char *version)
{
	struct tp_audit_param sd[] = {{"name", name}, {"version", version}};

	tp_audit_emit(a, TP_AUDIT_NOTICE, started ? "daemon-start" : "daemon-stop", sd, 2,
		      started ? "tpd starting, audit trail open" : "tpd stopped");
}

void tp_audit_bundle(struct tp_audit *a, bool applied, const char *source, const char *file,
		     uint64_t version, uint64_t current, const char *reason)
{
	char v[24], r[24];
	struct tp_audit_param sd[] = {{"source", source},
				      {"file", file},
				      {"version", version ? v : NULL},
				      {"current", r},
				      {"reason", applied ? NULL : reason}};

	snprintf(v, sizeof(v), "%" PRIu64, version);
	snprintf(r, sizeof(r), "%" PRIu64, current);
	tp_audit_emit(a, applied ? TP_AUDIT_NOTICE : TP_AUDIT_WARNING,
		      applied ? "bundle-applied" : "bundle-refused", sd, 5,
		      applied ? "policy bundle applied" : "policy bundle refused");
}

void tp_audit_policy_state(struct tp_audit *a, const char *state, const char *previous,
			   uint64_t version, const char *reason)
{
	char v[24];
	struct tp_audit_param sd[] = {{"state", state},
				      {"previous", previous},
				      {"version", version ? v : NULL},
				      {"reason", reason}};
	enum tp_audit_severity sev = TP_AUDIT_NOTICE;

	/* not enforcing a current policy is what an operator must see */
	if (state && (!strcmp(state, "fail-closed") || !strcmp(state, "no-policy")))
		sev = TP_AUDIT_ERR;
	else if (state && (!strcmp(state, "island") || !strcmp(state, "fail-static")))
		sev = TP_AUDIT_WARNING;
	snprintf(v, sizeof(v), "%" PRIu64, version);
	tp_audit_emit(a, sev, "policy-state", sd, 4, "policy state changed");
}

void tp_audit_controller(struct tp_audit *a, bool up, const char *address, const char *detail)
{
	struct tp_audit_param sd[] = {{"address", address}, {"detail", detail}};

	tp_audit_emit(a, up ? TP_AUDIT_NOTICE : TP_AUDIT_WARNING,
		      up ? "controller-up" : "controller-down", sd, 2,
		      up ? "controller session established" : "controller session lost");
}

void tp_audit_peer(struct tp_audit *a, bool up, const char *peer, const char *reason)
{
	struct tp_audit_param sd[] = {{"peer", peer}, {"reason", reason}};

	tp_audit_emit(a, up ? TP_AUDIT_NOTICE : TP_AUDIT_WARNING, up ? "peer-up" : "peer-down", sd,
		      2, up ? "tunnel peer up" : "tunnel peer down");
}

static void hs_line(struct tp_audit *a, const char *src, const char *port, const char *reason,
		    uint64_t suppressed)
{
	char n[24];
	struct tp_audit_param sd[] = {{"src", src},
				      {"port", port},
				      {"reason", reason},
				      {"suppressed", suppressed ? n : NULL}};

	snprintf(n, sizeof(n), "%" PRIu64, suppressed);
	tp_audit_emit(a, TP_AUDIT_WARNING, "handshake-failed", sd, 4,
		      reason ? "tunnel handshake refused"
			     : "tunnel handshake failures suppressed by the rate limit");
}

/* An interval that is over: its suppressed count gets its own line. */
static void hs_flush(struct tp_audit *a, struct hs_source *e, uint64_t now)
{
	if (now - e->window_ns < a->hs_interval || !e->suppressed)
		return;
	hs_line(a, e->key, NULL, NULL, e->suppressed);
	e->suppressed = 0;
}

static struct hs_source *hs_find(struct tp_audit *a, const char *key, uint64_t now)
{
	struct hs_source *free_slot = NULL;

	for (size_t i = 0; i < TP_AUDIT_HS_SOURCES; i++) {
		struct hs_source *e = &a->hs[i];

		if (!strcmp(e->key, key))
			return e;
		if (!free_slot && (!e->key[0] || now - e->window_ns >= a->hs_interval))
			free_slot = e;
	}
	if (!free_slot)
		return &a->hs_other;
	if (free_slot->key[0])
		hs_flush(a, free_slot, now);
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	free_slot->window_ns = now;
	return free_slot;
}

void tp_audit_handshake_failed(struct tp_audit *a, int family, const uint8_t *addr, uint16_t port,
			       const char *reason)
{
	char src[INET6_ADDRSTRLEN], p[8];
	struct hs_source *e;
	uint64_t now;

	if (!a)
		return;
	now = tp_clock_now(&a->mono);
	if (!inet_ntop(family, addr, src, sizeof(src)))
		snprintf(src, sizeof(src), "?");
	snprintf(p, sizeof(p), "%u", port);
	e = hs_find(a, src, now);
	if (now - e->window_ns >= a->hs_interval) {
		e->window_ns = now;
		e->lines = 0;
	}
	if (e->lines >= a->hs_per) {
		e->suppressed++;
		a->st.hs_suppressed++;
		return;
	}
	e->lines++;
	hs_line(a, src, p, reason, e->suppressed);
	e->suppressed = 0;
}

bool tp_audit_flow(struct tp_audit *a, const char *line)
{
	struct tp_audit_param sd[] = {{"event", "flow"}};

	if (!a)
		return false;
	tp_audit_emit(a, TP_AUDIT_INFO, "flow", sd, 1, line);
	return true;
}

void tp_audit_tick(struct tp_audit *a)
{
	uint64_t now;

	if (!a)
		return;
	now = tp_clock_now(&a->mono);
	for (size_t i = 0; i < TP_AUDIT_HS_SOURCES; i++) {
		if (a->hs[i].key[0])
			hs_flush(a, &a->hs[i], now);
	}
	hs_flush(a, &a->hs_other, now);
}
