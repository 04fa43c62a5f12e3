/* SPDX-License-Identifier: MIT */
/*
 * The audit trail: every security event as one RFC 5424 syslog line with
 * structured data (dataplane/AUDIT.md lists the events and the IEC
 * 62443-3-3 requirements each one serves).
 *
 *   <PRI>1 TIMESTAMP HOSTNAME tpd PROCID MSGID [tableau@32473 k="v" ...] MSG
 *
 * PRI is facility authpriv (10) and the event's severity; TIMESTAMP is UTC
 * with microseconds from the injected wall clock; MSGID names the event
 * ("bundle-applied", "policy-state", ...); the SD-ID tableau@32473 carries
 * the event's fields. 32473 is the enterprise number RFC 5612 reserves for
 * documentation: a vendor with its own IANA number changes TP_AUDIT_SD_ID.
 * PARAM-VALUEs are escaped per RFC 5424 §6.3.3 ('"', '\' and ']' take a
 * backslash); control characters and bytes that are not UTF-8 become '?'
 * in values and in MSG, so no input can split a line or forge a field.
 * A line is at most TP_AUDIT_LINE_MAX bytes: MSG is cut first.
 *
 * Sinks (tpd.conf `audit`): syslog, one datagram per line on /dev/log (or
 * the journal's socket there), sent with MSG_DONTWAIT; stderr; a file
 * (O_APPEND, for tests and appliances without syslog); off. A line the
 * sink refuses (receiver full, socket gone, disk full) is written to
 * stderr instead and counted; once the sink takes lines again an
 * "audit-sink" event says how many went to the fallback (SR 2.10). The
 * syslog socket is reconnected at most once a second.
 *
 * Handshake failures are unauthenticated, so they are keyed by their
 * source address: at most hs_per_interval lines per source per
 * hs_interval_ns; the next line of that source (or tp_audit_tick once the
 * interval is over) carries suppressed=N. TP_AUDIT_HS_SOURCES sources are
 * tracked; failures from further sources share one "*" entry with the same
 * budget, so a flood from spoofed addresses is bounded too.
 *
 * Owned by the control thread: no locks, no call from a worker (workers
 * hand events over through counters and the flow-log ring). Every
 * function accepts a NULL audit (no audit trail) and then does nothing.
 * Plain C, no DPDK.
 */
#ifndef TP_DP_AUDIT_H
#define TP_DP_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/base/clock.h"

#define TP_AUDIT_SD_ID		     "tableau@32473"
#define TP_AUDIT_FACILITY	     10	  /* authpriv: security messages */
#define TP_AUDIT_LINE_MAX	     2048 /* RFC 5424 §6.1: every receiver takes this */
#define TP_AUDIT_FORMAT_MIN	     512
#define TP_AUDIT_HS_PER_INTERVAL     5
#define TP_AUDIT_HS_INTERVAL_NS	     (60ull * 1000000000ull)
#define TP_AUDIT_HS_SOURCES	     64
#define TP_AUDIT_RECONNECT_NS	     1000000000ull
#define TP_AUDIT_DEFAULT_SYSLOG_PATH "/dev/log"

/* RFC 5424 severities. */
enum tp_audit_severity {
	TP_AUDIT_CRIT = 2,
	TP_AUDIT_ERR = 3,
	TP_AUDIT_WARNING = 4,
	TP_AUDIT_NOTICE = 5,
	TP_AUDIT_INFO = 6,
};

enum tp_audit_sink {
	TP_AUDIT_SINK_SYSLOG = 1, /* datagrams to path (default /dev/log) */
	TP_AUDIT_SINK_STDERR = 2,
	TP_AUDIT_SINK_FILE = 3, /* appended to path */
	TP_AUDIT_SINK_FUNC = 4, /* write() (tests) */
};

struct tp_audit_params {
	enum tp_audit_sink sink;
	const char *path;     /* syslog socket or file; NULL: the default socket */
	const char *app_name; /* NULL: "tpd" */
	const char *hostname; /* NULL: gethostname() */
	int procid;	      /* 0: getpid() */
	/* Unix time in ns for TIMESTAMP; NULL: CLOCK_REALTIME */
	uint64_t (*wall_ns)(void *arg);
	void *wall_arg;
	struct tp_clock mono; /* rate limits, reconnects; .now_ns NULL: monotonic */
	/* TP_AUDIT_SINK_FUNC: one line, no newline; returns false if refused */
	bool (*write)(void *arg, const char *line, size_t len);
	void *write_arg;
	uint32_t hs_per_interval; /* 0: TP_AUDIT_HS_PER_INTERVAL */
	uint64_t hs_interval_ns;  /* 0: TP_AUDIT_HS_INTERVAL_NS */
};

/* One SD-PARAM; a NULL value leaves the parameter out. */
struct tp_audit_param {
	const char *name; /* 1-32 printable ASCII, not '=', ' ', ']', '"' */
	const char *value;
};

struct tp_audit_stats {
	uint64_t lines;		/* taken by the sink */
	uint64_t fallback;	/* refused by the sink, written to stderr instead */
	uint64_t hs_suppressed; /* handshake-failure lines left out by the rate limit */
};

struct tp_audit;

/* NULL on bad params (errno EINVAL) or no memory. A syslog socket that
 * cannot be reached yet is not an error: lines go to stderr (counted)
 * until it can. */
struct tp_audit *tp_audit_new(const struct tp_audit_params *p);
void tp_audit_free(struct tp_audit *a);
void tp_audit_stats(const struct tp_audit *a, struct tp_audit_stats *st);

/*
 * Format one line into buf (no newline), as tp_audit_emit would send it at
 * wall_ns. Returns its length (< len), 0 when len < TP_AUDIT_FORMAT_MIN
 * (the header alone may take ~400 bytes).
 */
size_t tp_audit_format(const struct tp_audit *a, uint64_t wall_ns, enum tp_audit_severity sev,
		       const char *msgid, const struct tp_audit_param *sd, size_t n_sd,
		       const char *msg, char *buf, size_t len);

/* Write one event to the sink now. */
void tp_audit_emit(struct tp_audit *a, enum tp_audit_severity sev, const char *msgid,
		   const struct tp_audit_param *sd, size_t n_sd, const char *msg);

/* The events (dataplane/AUDIT.md). Strings may be NULL where they are
 * optional (left out of the line). */
void tp_audit_daemon(struct tp_audit *a, bool started, const char *name, const char *version);
/* source: "controller", "file" or "boot"; file: the bundle's path (file,
 * boot); version: the bundle's, 0 when not known (undecodable); current:
 * the version running after the event, 0 for none */
void tp_audit_bundle(struct tp_audit *a, bool applied, const char *source, const char *file,
		     uint64_t version, uint64_t current, const char *reason);
void tp_audit_policy_state(struct tp_audit *a, const char *state, const char *previous,
			   uint64_t version, const char *reason);
void tp_audit_controller(struct tp_audit *a, bool up, const char *address, const char *detail);
void tp_audit_peer(struct tp_audit *a, bool up, const char *peer, const char *reason);
/* family AF_INET or AF_INET6; addr in network order; rate-limited */
void tp_audit_handshake_failed(struct tp_audit *a, int family, const uint8_t *addr, uint16_t port,
			       const char *reason);
/* One flow-log line (tp/dp/flowlog.h); false without an audit trail (the
 * caller writes it where it did before). */
bool tp_audit_flow(struct tp_audit *a, const char *line);

/* Housekeeping: summaries of handshake failures suppressed in intervals
 * that are over. */
void tp_audit_tick(struct tp_audit *a);

#endif /* TP_DP_AUDIT_H */
