/* SPDX-License-Identifier: MIT */
/*
 * tpd's configuration file: /etc/tableau/tpd.conf by default.
 *
 * Format: one `key = value` per line; `#` starts a comment (at the start of
 * a line or after whitespace); blank lines are ignored; surrounding spaces
 * are trimmed; a value may be wrapped in double quotes to keep a `#` or
 * leading spaces. Every key may appear at most once; unknown keys are
 * errors, so a typo never silently falls back to a default. Every error
 * names the line and the problem. The keys, their defaults and their ranges
 * are documented in deploy/examples/tpd.conf.
 *
 * Plain C, no DPDK: tpd builds its EAL arguments from this (runtime/eal.c).
 */
#ifndef TP_DP_CONFIG_H
#define TP_DP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TP_CONFIG_DEFAULT_PATH "/etc/tableau/tpd.conf"
#define TP_CONFIG_PATH_MAX     256
#define TP_CONFIG_IFNAME_MAX   64 /* also holds a PCI address in dpdk mode */
#define TP_CONFIG_NAME_MAX     32
#define TP_CONFIG_WORKERS_MAX  16
#define TP_CONFIG_KEY_LEN      32

enum tp_config_mode {
	TP_MODE_XDP = 1,    /* net_af_xdp on kernel interfaces (primary) */
	TP_MODE_DPDK = 2,   /* NICs driven by their own PMD, named by PCI address */
	TP_MODE_MEMORY = 3, /* net_ring ports: tests and benchmarks */
};

enum tp_config_failure_mode {
	TP_FAIL_CLOSED = 1, /* expired policy: drop inter-zone traffic */
	TP_FAIL_STATIC = 2, /* expired policy: keep enforcing it */
};

enum tp_config_idle_wait {
	TP_IDLE_WAIT_FD = 1,	/* block on the AF_XDP sockets (xdp mode), else sleep */
	TP_IDLE_WAIT_SLEEP = 2, /* always sleep with the doubling back-off */
};
/* Where the audit trail goes (tp/dp/audit.h, dataplane/AUDIT.md). */
enum tp_config_audit {
	TP_AUDIT_CONF_SYSLOG = 1, /* /dev/log (syslog daemon or journald) */
	TP_AUDIT_CONF_STDERR = 2,
	TP_AUDIT_CONF_OFF = 3,
	TP_AUDIT_CONF_FILE = 4, /* appended to audit_path */
};

struct tp_config {
	char name[TP_CONFIG_NAME_MAX]; /* instance name: EAL file prefix tpd-<name> */
	char identity_key[TP_CONFIG_PATH_MAX];
	uint16_t listen_port;
	enum tp_config_mode mode;
	char zone_if[TP_CONFIG_IFNAME_MAX];
	char transit_if[TP_CONFIG_IFNAME_MAX];
	char zone_xdp_prog[TP_CONFIG_PATH_MAX];	   /* "" = the PMD's default program */
	char transit_xdp_prog[TP_CONFIG_PATH_MAX]; /* "" = the PMD's default program */

	unsigned control_core;
	unsigned n_workers;
	unsigned worker_cores[TP_CONFIG_WORKERS_MAX]; /* distinct */
	bool control_core_shared;		      /* control_core may be a worker's core too */

	uint32_t memory_mb; /* EAL -m, no hugepages */
	uint32_t mbufs;	    /* mbufs in the packet pool */
	uint32_t flow_table_size;
	uint32_t flow_quota_host;      /* flows one initiating host may hold, 0: size / 16 */
	uint32_t flow_quota_zone_pair; /* flows one zone pair may hold, 0: size / 2 */
	uint32_t max_peers;
	uint32_t peer_queue_len; /* packets held per peer while a handshake runs */
	uint32_t neigh_queue_len;
	/* ICMP errors (too-big) a worker sends: a bucket of burst, refilled
	 * at per_s a second; the others are counted icmp_errors_limited */
	uint32_t icmp_errors_per_s;
	uint32_t icmp_errors_burst;
	uint16_t burst; /* rx burst size, 1..256 */
	uint16_t rx_desc;
	uint16_t tx_desc;

	uint32_t idle_polls;	    /* empty polls before a worker starts to back off */
	uint32_t idle_sleep_max_us; /* cap of the idle sleep */
	uint32_t idle_poll_us;	    /* keep polling this long after the last packet */
	enum tp_config_idle_wait idle_wait;
	uint32_t worker_priority; /* 0: normal scheduling; 1..99: SCHED_FIFO priority */
	uint32_t housekeeping_ms; /* control thread tick */

	char state_dir[TP_CONFIG_PATH_MAX];
	char policy_bundle[TP_CONFIG_PATH_MAX];	     /* "" = none */
	char controller_address[TP_CONFIG_PATH_MAX]; /* host:port, "" = none */
	bool has_controller_key;
	uint8_t controller_key[TP_CONFIG_KEY_LEN];
	enum tp_config_failure_mode failure_mode;
	uint32_t max_clock_skew_s; /* how far a bundle's issued_at may be ahead of the clock */
	char admin_socket[TP_CONFIG_PATH_MAX];
	/* metrics_listen: HTTP /metrics (tp/dp/metrics.h); port 0 = off.
	 * Loopback unless metrics_listen_remote = yes (no authentication). */
	uint16_t metrics_port;
	int metrics_family; /* AF_INET or AF_INET6 */
	uint8_t metrics_addr[16];
	bool metrics_remote;
	enum tp_config_audit audit;
	char audit_path[TP_CONFIG_PATH_MAX]; /* TP_AUDIT_CONF_FILE */
};

/* Where a configuration error is. line 0: not tied to one line (e.g. a
 * required key is missing, or the file cannot be read). */
struct tp_config_err {
	unsigned line;
	char msg[200];
};

/* Fill cfg with the defaults (everything that has one). */
void tp_config_defaults(struct tp_config *cfg);

/*
 * Parse a whole configuration text (NUL-terminated) over the defaults and
 * check it. Returns 0, or -EINVAL with err filled in (the first error).
 */
int tp_config_parse(const char *text, struct tp_config *cfg, struct tp_config_err *err);

/* Read and parse a file. -errno if it cannot be read (err says so);
 * -EINVAL if it is not a regular file; -EPERM if it is writable by group
 * or others or owned by neither root nor the effective uid (it names the
 * trust anchor, controller_key). */
int tp_config_load(const char *path, struct tp_config *cfg, struct tp_config_err *err);

/*
 * Read a WireGuard-format private key file (`wg genkey` output: 44
 * characters of standard base64, optional trailing newline) through the
 * one key reader (tp_key_load, tp/base/keys.h): refused unless it is a regular
 * file owned by the running user with no group or other permission bits.
 * Returns 0 or -errno with a message naming the file in err.
 */
int tp_config_read_key(const char *path, uint8_t key[TP_CONFIG_KEY_LEN], struct tp_config_err *err);

/* Decode one base64 key as wg prints it. */
bool tp_config_key_decode(const char *b64, uint8_t key[TP_CONFIG_KEY_LEN]);

const char *tp_config_mode_name(enum tp_config_mode mode);
const char *tp_config_failure_mode_name(enum tp_config_failure_mode mode);

#endif /* TP_DP_CONFIG_H */
