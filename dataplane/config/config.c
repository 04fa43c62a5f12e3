// SPDX-License-Identifier: MIT
/*
 * tpd.conf parser. A table of keys drives the parser: each key names its
 * type, its range and where it lands in struct tp_config. Parsing is one
 * pass over the lines; after it, cross-key checks run (required keys for
 * the mode, cores distinct). The first error wins and names its line.
 */
#include "tp/dp/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "tp/base/keys.h"

enum key_type {
	KT_STR,	  /* string into a char[] field */
	KT_U32,	  /* unsigned integer within [lo, hi] */
	KT_U16,	  /* unsigned integer within [lo, hi], uint16_t field */
	KT_UINT,  /* unsigned integer within [lo, hi], unsigned field */
	KT_MODE,  /* xdp | dpdk | memory */
	KT_FAIL,  /* fail-closed | fail-static */
	KT_CORES, /* list of lcore ids: "1,2" or "1-3" */
	KT_KEY,	  /* base64 public key */
	KT_IDLE,  /* fd | sleep */
	KT_ADDR,  /* PORT, ADDR:PORT or [ADDR6]:PORT */
	KT_BOOL,  /* yes | no into a bool field */
	KT_AUDIT, /* syslog | stderr | off | file:PATH */
};

struct key_def {
	const char *name;
	enum key_type type;
	size_t off;
	size_t size;
	uint32_t lo, hi;
};

#define F(field) offsetof(struct tp_config, field), sizeof(((struct tp_config *)0)->field)

/* Every key tpd.conf accepts. Keep deploy/examples/tpd.conf in step. */
static const struct key_def keys[] = {
	{"name", KT_STR, F(name), 0, 0},
	{"identity_key", KT_STR, F(identity_key), 0, 0},
	{"listen_port", KT_U16, F(listen_port), 1, 65535},
	{"mode", KT_MODE, F(mode), 0, 0},
	{"zone_interface", KT_STR, F(zone_if), 0, 0},
	{"transit_interface", KT_STR, F(transit_if), 0, 0},
	{"zone_xdp_program", KT_STR, F(zone_xdp_prog), 0, 0},
	{"transit_xdp_program", KT_STR, F(transit_xdp_prog), 0, 0},
	{"control_core", KT_UINT, F(control_core), 0, 1023},
	{"worker_cores", KT_CORES, F(worker_cores), 0, 1023},
	{"control_core_shared", KT_BOOL, F(control_core_shared), 0, 0},
	{"memory_mb", KT_U32, F(memory_mb), 64, 65536},
	{"mbufs", KT_U32, F(mbufs), 1024, 1u << 22},
	{"flow_table_size", KT_U32, F(flow_table_size), 1024, 1u << 24},
	{"flow_quota_host", KT_U32, F(flow_quota_host), 0, 1u << 24},
	{"flow_quota_zone_pair", KT_U32, F(flow_quota_zone_pair), 0, 1u << 24},
	{"max_peers", KT_U32, F(max_peers), 1, 65536},
	{"peer_queue_len", KT_U32, F(peer_queue_len), 1, 4096},
	{"neigh_queue_len", KT_U32, F(neigh_queue_len), 1, 1024},
	{"icmp_errors_per_s", KT_U32, F(icmp_errors_per_s), 1, 1000000},
	{"icmp_errors_burst", KT_U32, F(icmp_errors_burst), 1, 100000},
	{"burst", KT_U16, F(burst), 1, 256},
	{"rx_descriptors", KT_U16, F(rx_desc), 64, 16384},
	{"tx_descriptors", KT_U16, F(tx_desc), 64, 16384},
	{"idle_polls", KT_U32, F(idle_polls), 1, 1u << 24},
	{"idle_sleep_max_us", KT_U32, F(idle_sleep_max_us), 1, 100000},
	{"idle_poll_us", KT_U32, F(idle_poll_us), 0, 100000},
	{"idle_wait", KT_IDLE, F(idle_wait), 0, 0},
	{"worker_priority", KT_U32, F(worker_priority), 0, 99},
	{"housekeeping_ms", KT_U32, F(housekeeping_ms), 1, 60000},
	{"state_dir", KT_STR, F(state_dir), 0, 0},
	{"policy_bundle", KT_STR, F(policy_bundle), 0, 0},
	{"controller_address", KT_STR, F(controller_address), 0, 0},
	{"controller_key", KT_KEY, F(controller_key), 0, 0},
	{"failure_mode", KT_FAIL, F(failure_mode), 0, 0},
	{"max_clock_skew", KT_U32, F(max_clock_skew_s), 0, 86400},
	{"admin_socket", KT_STR, F(admin_socket), 0, 0},
	{"metrics_listen", KT_ADDR, F(metrics_port), 1, 65535},
	{"metrics_listen_remote", KT_BOOL, F(metrics_remote), 0, 0},
	{"audit", KT_AUDIT, F(audit), 0, 0},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static int fail(struct tp_config_err *err, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct tp_config_err *err, unsigned line, const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void tp_config_defaults(struct tp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "tp");
	snprintf(cfg->identity_key, sizeof(cfg->identity_key), "/etc/tableau/identity.key");
	cfg->listen_port = 51820;
	cfg->mode = TP_MODE_XDP;
	cfg->control_core = 0;
	cfg->n_workers = 1;
	cfg->worker_cores[0] = 1;
	cfg->memory_mb = 256;
	cfg->mbufs = 8191;
	cfg->flow_table_size = 65536;
	cfg->max_peers = 256;
	cfg->peer_queue_len = 64;
	cfg->neigh_queue_len = 16;
	cfg->icmp_errors_per_s = 1000; /* Linux's net.ipv4.icmp_msgs_per_sec */
	cfg->icmp_errors_burst = 50;   /* and icmp_msgs_burst */
	cfg->burst = 32;
	cfg->rx_desc = 1024;
	cfg->tx_desc = 1024;
	cfg->idle_polls = 256;
	cfg->idle_sleep_max_us = 1000;
	cfg->idle_poll_us = 200;
	cfg->idle_wait = TP_IDLE_WAIT_FD;
	cfg->housekeeping_ms = 100;
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "/var/lib/tableau");
	cfg->failure_mode = TP_FAIL_CLOSED;
	cfg->max_clock_skew_s = 300;
	snprintf(cfg->admin_socket, sizeof(cfg->admin_socket), "/run/tableau/tpd.sock");
	cfg->audit = TP_AUDIT_CONF_SYSLOG;
}

const char *tp_config_mode_name(enum tp_config_mode mode)
{
	switch (mode) {
	case TP_MODE_XDP:
		return "xdp";
	case TP_MODE_DPDK:
		return "dpdk";
	case TP_MODE_MEMORY:
		return "memory";
	}
	return "?";
}

const char *tp_config_failure_mode_name(enum tp_config_failure_mode mode)
{
	switch (mode) {
	case TP_FAIL_CLOSED:
		return "fail-closed";
	case TP_FAIL_STATIC:
		return "fail-static";
	}
	return "?";
}

bool tp_config_key_decode(const char *b64, uint8_t key[TP_CONFIG_KEY_LEN])
{
	/* the one key parser (tp/base/keys.h): canonical base64, nothing around */
	return strlen(b64) == 44 && tp_key_parse(b64, 44, key) == 0;
}

/* Strict unsigned decimal: no sign, no spaces, no overflow. */
static bool parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*out = v;
	return true;
}

static int parse_cores(const char *v, const struct key_def *k, struct tp_config *cfg,
		       struct tp_config_err *err, unsigned line)
{
	char buf[256];
	char *save = NULL, *tok;
	unsigned n = 0;

	if (strlen(v) >= sizeof(buf))
		return fail(err, line, "worker_cores: list too long");
	memcpy(buf, v, strlen(v) + 1);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		uint64_t lo, hi;

		while (*tok == ' ')
			tok++;
		if (dash)
			*dash = '\0';
		if (!parse_uint(tok, &lo) || (dash && !parse_uint(dash + 1, &hi)))
			return fail(err, line, "worker_cores: '%s' is not a core number or range",
				    tok);
		if (!dash)
			hi = lo;
		if (lo > hi || hi > k->hi)
			return fail(err, line, "worker_cores: bad range %llu-%llu (cores 0..%u)",
				    (unsigned long long)lo, (unsigned long long)hi, k->hi);
		for (uint64_t c = lo; c <= hi; c++) {
			for (unsigned i = 0; i < n; i++) {
				if (cfg->worker_cores[i] == c)
					return fail(err, line,
						    "worker_cores: core %llu listed twice",
						    (unsigned long long)c);
			}
			if (n == TP_CONFIG_WORKERS_MAX)
				return fail(err, line, "worker_cores: more than %d workers",
					    TP_CONFIG_WORKERS_MAX);
			cfg->worker_cores[n++] = (unsigned)c;
		}
	}
	if (n == 0)
		return fail(err, line, "worker_cores: empty list");
	cfg->n_workers = n;
	return 0;
}

/* metrics_listen: "PORT" (loopback 127.0.0.1), "ADDR:PORT" or
 * "[ADDR6]:PORT". Whether a non-loopback address is allowed is checked
 * after every line was read (metrics_listen_remote may come later). */
static int parse_listen(const char *v, const struct key_def *k, struct tp_config *cfg,
			struct tp_config_err *err, unsigned line)
{
	char addr[64] = "127.0.0.1";
	const char *port = v, *colon = strrchr(v, ':');
	uint64_t u;

	if (colon) {
		size_t n = (size_t)(colon - v);

		if (n && v[0] == '[' && v[n - 1] == ']') {
			v++;
			n -= 2;
		}
		if (n >= sizeof(addr))
			return fail(err, line, "%s: address too long", k->name);
		memcpy(addr, v, n);
		addr[n] = '\0';
		port = colon + 1;
	}
	if (!parse_uint(port, &u) || u < k->lo || u > k->hi)
		return fail(err, line, "%s: '%s' is not a port 1..65535", k->name, port);
	cfg->metrics_port = (uint16_t)u;
	cfg->metrics_family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(cfg->metrics_family, addr, cfg->metrics_addr) != 1)
		return fail(err, line,
			    "%s: '%s' is not an IPv4 address or a bracketed IPv6 address", k->name,
			    addr);
	return 0;
}

static bool is_loopback(int family, const uint8_t *a)
{
	static const uint8_t v6_lo[16] = {[15] = 1};
	static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};

	if (family == AF_INET)
		return a[0] == 127;
	return !memcmp(a, v6_lo, 16) || (!memcmp(a, v4_mapped, 12) && a[12] == 127);
}

static int set_key(const struct key_def *k, const char *v, struct tp_config *cfg,
		   struct tp_config_err *err, unsigned line)
{
	char *field = (char *)cfg + k->off;
	uint64_t u;

	switch (k->type) {
	case KT_STR:
		if (strlen(v) >= k->size)
			return fail(err, line, "%s: value longer than %zu characters", k->name,
				    k->size - 1);
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case KT_U32:
	case KT_U16:
	case KT_UINT:
		if (!parse_uint(v, &u))
			return fail(err, line, "%s: '%s' is not an unsigned number", k->name, v);
		if (u < k->lo || u > k->hi)
			return fail(err, line, "%s: %llu is out of range %u..%u", k->name,
				    (unsigned long long)u, k->lo, k->hi);
		if (k->type == KT_U16)
			*(uint16_t *)(void *)field = (uint16_t)u;
		else if (k->type == KT_U32)
			*(uint32_t *)(void *)field = (uint32_t)u;
		else
			*(unsigned *)(void *)field = (unsigned)u;
		return 0;
	case KT_MODE:
		if (!strcmp(v, "xdp"))
			cfg->mode = TP_MODE_XDP;
		else if (!strcmp(v, "dpdk"))
			cfg->mode = TP_MODE_DPDK;
		else if (!strcmp(v, "memory"))
			cfg->mode = TP_MODE_MEMORY;
		else
			return fail(err, line, "mode: '%s' is not one of xdp, dpdk, memory", v);
		return 0;
	case KT_FAIL:
		if (!strcmp(v, "fail-closed"))
			cfg->failure_mode = TP_FAIL_CLOSED;
		else if (!strcmp(v, "fail-static"))
			cfg->failure_mode = TP_FAIL_STATIC;
		else
			return fail(err, line,
				    "failure_mode: '%s' is not one of fail-closed, fail-static", v);
		return 0;
	case KT_IDLE:
		if (!strcmp(v, "fd"))
			cfg->idle_wait = TP_IDLE_WAIT_FD;
		else if (!strcmp(v, "sleep"))
			cfg->idle_wait = TP_IDLE_WAIT_SLEEP;
		else
			return fail(err, line, "idle_wait: '%s' is not one of fd, sleep", v);
		return 0;
	case KT_AUDIT:
		if (!strcmp(v, "syslog"))
			cfg->audit = TP_AUDIT_CONF_SYSLOG;
		else if (!strcmp(v, "stderr"))
			cfg->audit = TP_AUDIT_CONF_STDERR;
		else if (!strcmp(v, "off"))
			cfg->audit = TP_AUDIT_CONF_OFF;
		else if (!strncmp(v, "file:", 5) && v[5] == '/' &&
			 strlen(v + 5) < sizeof(cfg->audit_path)) {
			cfg->audit = TP_AUDIT_CONF_FILE;
			memcpy(cfg->audit_path, v + 5, strlen(v + 5) + 1);
		} else {
			return fail(err, line,
				    "audit: '%s' is not one of syslog, stderr, off, "
				    "file:/ABSOLUTE/PATH "
				    "(shorter than %d characters)",
				    v, TP_CONFIG_PATH_MAX);
		}
		return 0;
	case KT_CORES:
		return parse_cores(v, k, cfg, err, line);
	case KT_ADDR:
		return parse_listen(v, k, cfg, err, line);
	case KT_BOOL:
		if (strcmp(v, "yes") && strcmp(v, "no"))
			return fail(err, line, "%s: '%s' is not one of yes, no", k->name, v);
		*(bool *)(void *)field = !strcmp(v, "yes");
		return 0;
	case KT_KEY:
		if (!tp_config_key_decode(v, cfg->controller_key))
			return fail(err, line,
				    "%s: not a 32-byte key in base64 (44 characters, as wg prints)",
				    k->name);
		cfg->has_controller_key = true;
		return 0;
	}
	return fail(err, line, "%s: internal error", k->name);
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	}
	return true;
}

static unsigned key_index(const char *name)
{
	unsigned i = 0;

	while (strcmp(keys[i].name, name) != 0)
		i++;
	return i;
}

/* Checks across keys, after every line was read. */
static int check(struct tp_config *cfg, struct tp_config_err *err, const unsigned *seen_line)
{
	if (!valid_name(cfg->name))
		return fail(err, seen_line[0], "name: '%s' must be letters, digits, '-' or '_'",
			    cfg->name);
	if (cfg->mode != TP_MODE_MEMORY) {
		if (!cfg->zone_if[0])
			return fail(err, 0, "zone_interface is required in %s mode",
				    tp_config_mode_name(cfg->mode));
		if (!cfg->transit_if[0])
			return fail(err, 0, "transit_interface is required in %s mode",
				    tp_config_mode_name(cfg->mode));
		if (!strcmp(cfg->zone_if, cfg->transit_if))
			return fail(err, 0, "zone_interface and transit_interface are both '%s'",
				    cfg->zone_if);
	}
	if (cfg->mode != TP_MODE_XDP && (cfg->zone_xdp_prog[0] || cfg->transit_xdp_prog[0]))
		return fail(err, 0, "zone/transit_xdp_program only apply in xdp mode");
	/* Workers poll; a control thread on a worker's core takes turns with
	 * it (X25519 of every handshake, the admin socket): allowed where
	 * cores are few, when the configuration says so. */
	for (unsigned i = 0; i < cfg->n_workers; i++) {
		if (cfg->worker_cores[i] == cfg->control_core && !cfg->control_core_shared)
			return fail(err, 0,
				    "core %u is both control_core and a worker core (set "
				    "control_core_shared = yes to run them on one core)",
				    cfg->control_core);
	}
	if (cfg->admin_socket[0] != '/')
		return fail(err, 0, "admin_socket: must be an absolute path");
	if (cfg->state_dir[0] != '/')
		return fail(err, 0, "state_dir: must be an absolute path");
	if (cfg->controller_address[0] && !cfg->has_controller_key)
		return fail(err, 0, "controller_address is set but controller_key is not");
	/* /metrics has no authentication and names peers, rules and the
	 * policy state: off the host only when asked for in so many words */
	if (cfg->metrics_port && !cfg->metrics_remote &&
	    !is_loopback(cfg->metrics_family, cfg->metrics_addr))
		return fail(err, seen_line[key_index("metrics_listen")],
			    "metrics_listen: not a loopback address; the endpoint has no "
			    "authentication: set metrics_listen_remote = yes to serve it there");
	/* Each port has its own pool (AF_XDP makes it the port's UMEM). Each
	 * worker owns one rx and one tx queue on each port and has a burst in
	 * flight; tx descriptors can hold either pool's mbufs. */
	if ((uint64_t)cfg->mbufs < (uint64_t)cfg->n_workers * (cfg->rx_desc + cfg->tx_desc) +
					   (uint64_t)cfg->burst * cfg->n_workers)
		return fail(err, 0,
			    "mbufs: %u is too few for %u worker(s) with %u rx + %u tx descriptors "
			    "per port",
			    cfg->mbufs, cfg->n_workers, cfg->rx_desc, cfg->tx_desc);
	return 0;
}

/* Trim spaces and tabs on both ends, in place. */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Split "key = value # comment" in place. Returns false on a syntax error
 * (message in err). */
static int split_line(char *line, unsigned lineno, char **key, char **val,
		      struct tp_config_err *err)
{
	char *eq, *v, *p;

	/* A comment starts a line or follows whitespace, outside quotes. */
	for (p = line; *p; p++) {
		if (*p == '"') {
			p = strchr(p + 1, '"');
			if (!p)
				return fail(err, lineno, "unterminated quoted value");
			continue;
		}
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	line = trim(line);
	if (!*line) {
		*key = NULL;
		return 0;
	}
	eq = strchr(line, '=');
	if (!eq)
		return fail(err, lineno, "expected 'key = value', got '%.60s'", line);
	*eq = '\0';
	*key = trim(line);
	v = trim(eq + 1);
	if (!**key)
		return fail(err, lineno, "missing key before '='");
	if (*v == '"') {
		size_t n = strlen(v);

		if (n < 2 || v[n - 1] != '"' || memchr(v + 1, '"', n - 2))
			return fail(err, lineno, "%s: badly quoted value", *key);
		v[n - 1] = '\0';
		v++;
	} else if (!*v) {
		return fail(err, lineno, "%s: empty value", *key);
	}
	*val = v;
	return 0;
}

int tp_config_parse(const char *text, struct tp_config *cfg, struct tp_config_err *err)
{
	unsigned seen[N_KEYS] = {0};
	const char *p = text;
	unsigned lineno = 0;
	char line[1024];
	int rc;

	err->line = 0;
	err->msg[0] = '\0';
	tp_config_defaults(cfg);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *key = NULL, *val = NULL;
		size_t i;

		lineno++;
		if (len >= sizeof(line))
			return fail(err, lineno, "line longer than %zu characters",
				    sizeof(line) - 1);
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl ? nl + 1 : p + len;
		rc = split_line(line, lineno, &key, &val, err);
		if (rc)
			return rc;
		if (!key || !val)
			continue;
		for (i = 0; i < N_KEYS; i++) {
			if (!strcmp(keys[i].name, key))
				break;
		}
		if (i == N_KEYS)
			return fail(err, lineno, "unknown key '%.60s'", key);
		if (seen[i])
			return fail(err, lineno, "%s: already set on line %u", key, seen[i]);
		seen[i] = lineno;
		rc = set_key(&keys[i], val, cfg, err, lineno);
		if (rc)
			return rc;
	}
	return check(cfg, err, seen);
}

int tp_config_load(const char *path, struct tp_config *cfg, struct tp_config_err *err)
{
	char *text = NULL;
	struct stat st;
	FILE *f;
	long size;
	int fd, rc;

	/* O_NONBLOCK: a FIFO is refused below, not waited on */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		fail(err, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	/* The file names the trust anchor (controller_key), the key and the
	 * state directory: only its owner, the user running tpd or root, may
	 * write it. Checked on the open file, not the path. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = fail(err, 0, "not a regular file");
		close(fd);
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		fail(err, 0,
		     "owned by uid %u, neither root nor the user reading it (uid %u): chown it",
		     (unsigned)st.st_uid, (unsigned)geteuid());
		rc = -EPERM;
		close(fd);
		goto out;
	}
	if (st.st_mode & 022) {
		fail(err, 0,
		     "mode %04o: writable by %s, who could replace controller_key: chmod go-w it",
		     (unsigned)(st.st_mode & 07777),
		     (st.st_mode & 020) && (st.st_mode & 002) ? "its group and other users"
		     : st.st_mode & 020			      ? "its group"
							      : "other users");
		rc = -EPERM;
		close(fd);
		goto out;
	}
	f = fdopen(fd, "r");
	if (!f) {
		rc = -errno;
		fail(err, 0, "cannot open: %s", strerror(errno));
		close(fd);
		goto out;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		rc = -EIO;
		fail(err, 0, "cannot read: %s", strerror(errno));
		goto out_close;
	}
	if (size > 1 << 20) {
		rc = -EFBIG;
		fail(err, 0, "file larger than 1 MiB");
		goto out_close;
	}
	text = malloc((size_t)size + 1);
	if (!text) {
		rc = -ENOMEM;
		fail(err, 0, "out of memory");
		goto out_close;
	}
	if (fread(text, 1, (size_t)size, f) != (size_t)size) {
		rc = -EIO;
		fail(err, 0, "short read");
		goto out_free;
	}
	text[size] = '\0';
	if (strlen(text) != (size_t)size) {
		rc = fail(err, 0, "file contains a NUL byte");
		goto out_free;
	}
	rc = tp_config_parse(text, cfg, err);
out_free:
	free(text);
out_close:
	fclose(f);
out:
	return rc;
}

int tp_config_read_key(const char *path, uint8_t key[TP_CONFIG_KEY_LEN], struct tp_config_err *err)
{
	/* the one reader and rule of every secret key file (tp/base/keys.h) */
	err->line = 0;
	return tp_key_load(path, key, true, err->msg, sizeof(err->msg));
}
