/* SPDX-License-Identifier: MIT */
/*
 * tp_xdp: finds the XDP program of a port and drives its maps (see
 * tp/dp/xdp.h). State of a handle: the program fd and one fd per map of its
 * kind, all owned; nothing else, so a handle can be dropped and re-opened
 * at any time (the tables live in the kernel maps).
 *
 * Zone table update protocol (tp_xdp_zones_apply). Every zone-map key holds
 * a generation bit; the program reads the active generation once per packet.
 *
 *   1. g = active generation, n = !g
 *   2. delete any entries of n (left over by an apply that failed midway)
 *   3. write every new entry under n; on error delete them again and stop:
 *      packets still see generation g, complete and unchanged
 *   4. write n into zone_gen: packets that start from here on see only n
 *   5. wait for an RCU grace period: XDP programs run inside RCU read-side
 *      sections (NAPI, softirq), so after membarrier(MEMBARRIER_CMD_GLOBAL),
 *      which is synchronize_rcu(), no packet still reads generation g
 *   6. delete the entries of g
 *
 * So no packet ever sees a mix (a new zone id next to an old pair table).
 * The cost is that the maps are sized for two generations.
 */
#include "tp/dp/xdp.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/membarrier.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tp_bpf_transit.skel.h"
#include "tp_bpf_zone.skel.h"

#define FALLBACK_GRACE_NS (50 * 1000 * 1000ULL) /* if membarrier is unavailable */

enum map_id {
	MAP_XSKS,
	MAP_CONFIG,
	MAP_COUNTERS,
	MAP_ZONE_GEN,
	MAP_ZONE4,
	MAP_ZONE6,
	MAP_PAIRS,
	MAP_LOCAL,
	MAP_HS_RL,
	MAP_PORT_ADDRS,
	MAP_NR,
};

/* What a map of each program must look like; a mismatch means a stale
 * object file built from another tp/bpf/xdp_shared.h. */
struct map_spec {
	const char *name;
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	unsigned kinds; /* bit per enum tp_xdp_kind */
};

#define KIND_ZONE    (1u << TP_XDP_KIND_ZONE)
#define KIND_TRANSIT (1u << TP_XDP_KIND_TRANSIT)

static const struct map_spec map_specs[MAP_NR] = {
	[MAP_XSKS] = {TP_XDP_MAP_XSKS, BPF_MAP_TYPE_XSKMAP, 4, 4, KIND_ZONE | KIND_TRANSIT},
	[MAP_CONFIG] = {TP_XDP_MAP_CONFIG, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct tp_xdp_config),
			KIND_ZONE | KIND_TRANSIT},
	[MAP_COUNTERS] = {TP_XDP_MAP_COUNTERS, BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8,
			  KIND_ZONE | KIND_TRANSIT},
	[MAP_ZONE_GEN] = {TP_XDP_MAP_ZONE_GEN, BPF_MAP_TYPE_ARRAY, 4, sizeof(struct tp_xdp_gen),
			  KIND_ZONE},
	[MAP_ZONE4] = {TP_XDP_MAP_ZONE4, BPF_MAP_TYPE_LPM_TRIE, sizeof(struct tp_xdp_lpm4_key),
		       sizeof(struct tp_xdp_zone_val), KIND_ZONE},
	[MAP_ZONE6] = {TP_XDP_MAP_ZONE6, BPF_MAP_TYPE_LPM_TRIE, sizeof(struct tp_xdp_lpm6_key),
		       sizeof(struct tp_xdp_zone_val), KIND_ZONE},
	[MAP_PAIRS] = {TP_XDP_MAP_PAIRS, BPF_MAP_TYPE_HASH, sizeof(struct tp_xdp_pair_key), 4,
		       KIND_ZONE},
	[MAP_LOCAL] = {TP_XDP_MAP_LOCAL, BPF_MAP_TYPE_HASH, sizeof(struct tp_xdp_local_key), 4,
		       KIND_ZONE},
	[MAP_HS_RL] = {TP_XDP_MAP_HS_RL, BPF_MAP_TYPE_LRU_HASH, sizeof(struct tp_xdp_rl_key), 8,
		       KIND_TRANSIT},
	[MAP_PORT_ADDRS] = {TP_XDP_MAP_PORT_ADDRS, BPF_MAP_TYPE_HASH,
			    sizeof(struct tp_xdp_addr_key), 4, KIND_TRANSIT},
};

#define REASON_NAME(id, name) name,
static const char *const zone_reason_names[] = {TP_XDP_ZONE_REASONS(REASON_NAME)};
static const char *const transit_reason_names[] = {TP_XDP_TRANSIT_REASONS(REASON_NAME)};

struct tp_xdp {
	enum tp_xdp_kind kind;
	int prog_fd;
	int map_fd[MAP_NR]; /* -1 for maps the kind does not have */
};

static const char *prog_name(enum tp_xdp_kind kind)
{
	return kind == TP_XDP_KIND_ZONE ? TP_XDP_PROG_ZONE : TP_XDP_PROG_TRANSIT;
}

const char *tp_xdp_obj_path(enum tp_xdp_kind kind)
{
	return kind == TP_XDP_KIND_ZONE ? TP_BPF_OBJ_DIR "/zone.bpf.o"
					: TP_BPF_OBJ_DIR "/transit.bpf.o";
}

static struct tp_xdp *handle_new(enum tp_xdp_kind kind)
{
	struct tp_xdp *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->kind = kind;
	x->prog_fd = -1;
	for (int i = 0; i < MAP_NR; i++)
		x->map_fd[i] = -1;
	return x;
}

void tp_xdp_close(struct tp_xdp *x)
{
	if (!x)
		return;
	if (x->prog_fd >= 0)
		close(x->prog_fd);
	for (int i = 0; i < MAP_NR; i++)
		if (x->map_fd[i] >= 0)
			close(x->map_fd[i]);
	free(x);
}

/* Takes ownership of fd: stores it if it is one of the kind's maps with the
 * expected layout, else closes it. -EPROTO on a layout mismatch. */
static int adopt_map(struct tp_xdp *x, int fd)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		goto out_close;
	for (int i = 0; i < MAP_NR; i++) {
		const struct map_spec *s = &map_specs[i];

		if (!(s->kinds & (1u << x->kind)) || strcmp(info.name, s->name) != 0)
			continue;
		if (info.type != s->type || info.key_size != s->key_size ||
		    info.value_size != s->value_size || x->map_fd[i] >= 0) {
			err = -EPROTO;
			goto out_close;
		}
		x->map_fd[i] = fd;
		return 0;
	}
	err = 0; /* a map we do not use (.rodata, .bss, ...) */
out_close:
	close(fd);
	return err;
}

static int check_complete(const struct tp_xdp *x)
{
	for (int i = 0; i < MAP_NR; i++)
		if ((map_specs[i].kinds & (1u << x->kind)) && x->map_fd[i] < 0)
			return -EPROTO;
	return 0;
}

static int adopt_prog_maps(struct tp_xdp *x)
{
	struct bpf_prog_info info = {0};
	uint32_t len = sizeof(info);
	uint32_t *ids = NULL;
	uint32_t n;
	int err;

	err = bpf_obj_get_info_by_fd(x->prog_fd, &info, &len);
	if (err)
		goto out;
	if (strcmp(info.name, prog_name(x->kind)) != 0 || info.type != BPF_PROG_TYPE_XDP) {
		err = -EPROTO;
		goto out;
	}
	n = info.nr_map_ids;
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids) {
		err = -ENOMEM;
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (uint64_t)(uintptr_t)ids;
	len = sizeof(info);
	err = bpf_obj_get_info_by_fd(x->prog_fd, &info, &len);
	if (err)
		goto out;
	if (info.nr_map_ids < n) /* maps are fixed at load; be safe anyway */
		n = info.nr_map_ids;
	for (uint32_t i = 0; i < n; i++) {
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0) {
			err = -errno;
			goto out;
		}
		err = adopt_map(x, fd);
		if (err)
			goto out;
	}
	err = check_complete(x);
out:
	free(ids);
	return err;
}

struct tp_xdp *tp_xdp_open(int ifindex, enum tp_xdp_kind kind)
{
	struct tp_xdp *x = NULL;
	uint32_t prog_id = 0;
	int err;

	err = bpf_xdp_query_id(ifindex, 0, &prog_id);
	if (err)
		goto fail;
	if (!prog_id) {
		err = -ENOENT;
		goto fail;
	}
	x = handle_new(kind);
	if (!x) {
		err = -ENOMEM;
		goto fail;
	}
	x->prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (x->prog_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = adopt_prog_maps(x);
	if (err)
		goto fail;
	return x;
fail:
	tp_xdp_close(x);
	errno = -err;
	return NULL;
}

/* dup()s the program and map fds of a loaded object into x. */
static int adopt_object(struct tp_xdp *x, struct bpf_object *obj, struct bpf_program *prog)
{
	struct bpf_map *map;

	x->prog_fd = dup(bpf_program__fd(prog));
	if (x->prog_fd < 0)
		return -errno;
	bpf_object__for_each_map(map, obj)
	{
		int fd = dup(bpf_map__fd(map));
		int err;

		if (fd < 0)
			return -errno;
		err = adopt_map(x, fd);
		if (err)
			return err;
	}
	return check_complete(x);
}

struct tp_xdp *tp_xdp_load(enum tp_xdp_kind kind)
{
	struct tp_xdp *x = handle_new(kind);
	struct tp_bpf_transit *transit = NULL;
	struct tp_bpf_zone *zone = NULL;
	int err;

	if (!x) {
		err = -ENOMEM;
		goto fail;
	}
	if (kind == TP_XDP_KIND_ZONE) {
		zone = tp_bpf_zone__open_and_load();
		if (!zone) {
			err = -errno;
			goto fail;
		}
		err = adopt_object(x, zone->obj, zone->progs.tp_xdp_zone);
	} else {
		transit = tp_bpf_transit__open_and_load();
		if (!transit) {
			err = -errno;
			goto fail;
		}
		err = adopt_object(x, transit->obj, transit->progs.tp_xdp_transit);
	}
	if (err)
		goto fail;
	/* The handle holds its own fds; the skeleton's copies can go. */
	tp_bpf_zone__destroy(zone);
	tp_bpf_transit__destroy(transit);
	return x;
fail:
	tp_bpf_zone__destroy(zone);
	tp_bpf_transit__destroy(transit);
	tp_xdp_close(x);
	errno = -err;
	return NULL;
}

enum tp_xdp_kind tp_xdp_kind(const struct tp_xdp *x)
{
	return x->kind;
}

int tp_xdp_prog_fd(const struct tp_xdp *x)
{
	return x->prog_fd;
}

int tp_xdp_map_fd(const struct tp_xdp *x, const char *name)
{
	for (int i = 0; i < MAP_NR; i++)
		if (x->map_fd[i] >= 0 && strcmp(map_specs[i].name, name) == 0)
			return x->map_fd[i];
	return -ENOENT;
}

int tp_xdp_attach(struct tp_xdp *x, int ifindex, uint32_t xdp_flags)
{
	return bpf_xdp_attach(ifindex, x->prog_fd, xdp_flags, NULL);
}

int tp_xdp_detach(int ifindex, uint32_t xdp_flags)
{
	return bpf_xdp_detach(ifindex, xdp_flags, NULL);
}

void tp_xdp_settings_default(struct tp_xdp_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->flags = TP_XDP_DEFAULT_FLAGS;
	s->tunnel_port = TP_XDP_DEFAULT_TUNNEL_PORT;
	s->hs_per_sec = TP_XDP_DEFAULT_HS_PER_SEC;
	s->hs_burst = TP_XDP_DEFAULT_HS_BURST;
}

#define KNOWN_FLAGS (TP_XDP_F_ANTISPOOF | TP_XDP_F_ZONE_PAIR | TP_XDP_F_HS_RATELIMIT)

int tp_xdp_configure(struct tp_xdp *x, const struct tp_xdp_settings *s)
{
	struct tp_xdp_config c = {0};
	uint32_t zero = 0;

	if ((s->flags & ~KNOWN_FLAGS) || !s->hs_burst || (!s->hs_per_sec && !s->hs_interval_ns))
		return -EINVAL;
	c.version = TP_XDP_CONFIG_VERSION;
	c.flags = s->flags;
	c.tunnel_port = s->tunnel_port;
	c.hs_burst = s->hs_burst;
	memcpy(c.mac, s->mac, sizeof(c.mac));
	c.hs_cost_ns = s->hs_interval_ns ? s->hs_interval_ns : TP_XDP_NSEC_PER_SEC / s->hs_per_sec;
	if (!c.hs_cost_ns)
		return -EINVAL; /* more than 1e9 per second */
	if (bpf_map_update_elem(x->map_fd[MAP_CONFIG], &zero, &c, BPF_ANY))
		return -errno;
	return 0;
}

static bool addr_key(const struct tp_prefix *a, struct tp_xdp_addr_key *k)
{
	memset(k, 0, sizeof(*k));
	if (a->family != TP_AF_INET && a->family != TP_AF_INET6)
		return false;
	k->family = a->family == TP_AF_INET ? 4 : 6;
	memcpy(k->addr, a->addr, k->family == 4 ? 4 : 16);
	return true;
}

int tp_xdp_port_addrs_set(struct tp_xdp *x, const struct tp_prefix *addrs, size_t n)
{
	int fd = x->map_fd[MAP_PORT_ADDRS];
	struct tp_xdp_addr_key k, next;
	uint32_t one = 1;
	bool more;

	if (x->kind != TP_XDP_KIND_TRANSIT || fd < 0)
		return -EINVAL;
	if (n > TP_XDP_MAX_PORT_ADDRS)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++)
		if (!addr_key(&addrs[i], &k))
			return -EINVAL;
	/* add first, then remove what is no longer there: an address kept
	 * across the update never misses a packet */
	for (size_t i = 0; i < n; i++) {
		addr_key(&addrs[i], &k);
		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			return -errno;
	}
	more = bpf_map_get_next_key(fd, NULL, &next) == 0;
	while (more) {
		bool keep = false;

		k = next;
		more = bpf_map_get_next_key(fd, &k, &next) == 0;
		for (size_t i = 0; i < n && !keep; i++) {
			struct tp_xdp_addr_key w;

			addr_key(&addrs[i], &w);
			keep = memcmp(&w, &k, sizeof(k)) == 0;
		}
		if (!keep && bpf_map_delete_elem(fd, &k) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

size_t tp_xdp_counter_count(enum tp_xdp_kind kind)
{
	return kind == TP_XDP_KIND_ZONE ? TP_XDP_ZONE_NR_REASONS : TP_XDP_TRANSIT_NR_REASONS;
}

const char *tp_xdp_counter_name(enum tp_xdp_kind kind, size_t reason)
{
	if (reason >= tp_xdp_counter_count(kind))
		return NULL;
	return kind == TP_XDP_KIND_ZONE ? zone_reason_names[reason] : transit_reason_names[reason];
}

int tp_xdp_counters_read(const struct tp_xdp *x, uint64_t *out, size_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	int err = 0;

	if (n > tp_xdp_counter_count(x->kind))
		return -EINVAL;
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t r = 0; r < n; r++) {
		if (bpf_map_lookup_elem(x->map_fd[MAP_COUNTERS], &r, vals)) {
			err = -errno;
			goto out;
		}
		out[r] = 0;
		for (int c = 0; c < ncpu; c++)
			out[r] += vals[c];
	}
	err = (int)n;
out:
	free(vals);
	return err;
}

/* ---- zone tables ---- */

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TP_XDP_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Waits until no XDP program run that started before the call is still
 * running: synchronize_rcu() through membarrier, or, where that command is
 * refused (nohz_full), a pause far longer than any program run. */
static void rcu_grace_wait(void)
{
	struct timespec ts = {0, (long)FALLBACK_GRACE_NS};

	if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0)
		return;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint8_t key_gen(enum map_id m, const void *key)
{
	switch (m) {
	case MAP_ZONE4:
		return ((const struct tp_xdp_lpm4_key *)key)->gen;
	case MAP_ZONE6:
		return ((const struct tp_xdp_lpm6_key *)key)->gen;
	case MAP_PAIRS:
		return (uint8_t)((const struct tp_xdp_pair_key *)key)->gen;
	default:
		return ((const struct tp_xdp_local_key *)key)->gen;
	}
}

/* Deletes every entry of generation gen from map m. Keys are collected
 * first: deleting while walking with get_next_key could skip entries. */
static int purge_gen(struct tp_xdp *x, enum map_id m, uint8_t gen)
{
	uint32_t ksz = map_specs[m].key_size;
	uint8_t key[64], next[64];
	uint8_t *keys = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;
	int fd = x->map_fd[m];
	int err = 0;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (key_gen(m, next) == gen) {
			if (n == cap) {
				size_t ncap = cap ? 2 * cap : 64;
				uint8_t *k = realloc(keys, ncap * ksz);

				if (!k) {
					err = -ENOMEM;
					goto out;
				}
				keys = k;
				cap = ncap;
			}
			memcpy(keys + n * ksz, next, ksz);
			n++;
		}
		memcpy(key, next, ksz);
		prev = key;
	}
	if (errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * ksz) && errno != ENOENT) {
			err = -errno;
			goto out;
		}
out:
	free(keys);
	return err;
}

static int purge_all(struct tp_xdp *x, uint8_t gen)
{
	static const enum map_id maps[] = {MAP_ZONE4, MAP_ZONE6, MAP_PAIRS, MAP_LOCAL};
	int err = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		int e = purge_gen(x, maps[i], gen);

		if (e && !err)
			err = e;
	}
	return err;
}

static bool prefix_ok(const struct tp_prefix *p)
{
	return (p->family == TP_AF_INET && p->len <= 32) ||
	       (p->family == TP_AF_INET6 && p->len <= 128);
}

/* The prefix with its host bits cleared (LPM keys must not carry them). */
static void prefix_masked(const struct tp_prefix *p, uint8_t out[16])
{
	unsigned full = p->len / 8, rem = p->len % 8;

	memset(out, 0, 16);
	memcpy(out, p->addr, full);
	if (rem)
		out[full] = (uint8_t)(p->addr[full] & (0xff << (8 - rem)));
}

struct sorted_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
	uint32_t zone;
};

static int sorted_prefix_cmp(const void *a, const void *b)
{
	const struct sorted_prefix *x = a, *y = b;

	if (x->family != y->family)
		return x->family - y->family;
	if (x->len != y->len)
		return x->len - y->len;
	return memcmp(x->addr, y->addr, 16);
}

/* -EINVAL if a prefix is malformed or appears in two zones (§7.1), -ENOSPC
 * if a family holds more prefixes than one generation may. */
static int zones_check(const struct tp_xdp_zones *z)
{
	struct sorted_prefix *s;
	size_t n4 = 0, n6 = 0;
	int err = 0;

	if (z->n_pairs > TP_XDP_MAX_PAIRS_PER_GEN || z->n_local_addrs > TP_XDP_MAX_LOCAL_PER_GEN)
		return -ENOSPC;
	for (size_t i = 0; i < z->n_local_addrs; i++)
		if (!prefix_ok(&z->local_addrs[i]))
			return -EINVAL;
	if (!z->n_prefixes)
		return 0;
	s = calloc(z->n_prefixes, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < z->n_prefixes; i++) {
		const struct tp_prefix *p = &z->prefixes[i].prefix;

		if (!prefix_ok(p)) {
			err = -EINVAL;
			goto out;
		}
		if (p->family == TP_AF_INET)
			n4++;
		else
			n6++;
		s[i].family = p->family;
		s[i].len = p->len;
		prefix_masked(p, s[i].addr);
		s[i].zone = z->prefixes[i].zone;
	}
	if (n4 > TP_XDP_MAX_PREFIXES_PER_GEN || n6 > TP_XDP_MAX_PREFIXES_PER_GEN) {
		err = -ENOSPC;
		goto out;
	}
	qsort(s, z->n_prefixes, sizeof(*s), sorted_prefix_cmp);
	for (size_t i = 1; i < z->n_prefixes; i++)
		if (!sorted_prefix_cmp(&s[i - 1], &s[i]) && s[i - 1].zone != s[i].zone) {
			err = -EINVAL;
			goto out;
		}
out:
	free(s);
	return err;
}

static bool zone_is_local(const struct tp_xdp_zones *z, uint32_t zone)
{
	for (size_t i = 0; i < z->n_local_zones; i++)
		if (z->local_zones[i] == zone)
			return true;
	return false;
}

static int write_prefix(struct tp_xdp *x, const struct tp_xdp_zones *z,
			const struct tp_xdp_zone_prefix *zp, uint8_t gen)
{
	struct tp_xdp_zone_val v = {
		.zone = zp->zone,
		.flags = zone_is_local(z, zp->zone) ? TP_XDP_ZONE_LOCAL : 0,
	};
	uint8_t addr[16];
	int err;

	prefix_masked(&zp->prefix, addr);
	if (zp->prefix.family == TP_AF_INET) {
		struct tp_xdp_lpm4_key k = {.prefixlen = 8u + zp->prefix.len, .gen = gen};

		memcpy(k.addr, addr, 4);
		err = bpf_map_update_elem(x->map_fd[MAP_ZONE4], &k, &v, BPF_ANY);
	} else {
		struct tp_xdp_lpm6_key k = {.prefixlen = 8u + zp->prefix.len, .gen = gen};

		memcpy(k.addr, addr, 16);
		err = bpf_map_update_elem(x->map_fd[MAP_ZONE6], &k, &v, BPF_ANY);
	}
	return err ? -errno : 0;
}

static int write_gen(struct tp_xdp *x, const struct tp_xdp_zones *z, uint8_t gen)
{
	uint32_t allowed = TP_XDP_PAIR_ALLOWED;

	for (size_t i = 0; i < z->n_prefixes; i++) {
		int err = write_prefix(x, z, &z->prefixes[i], gen);

		if (err)
			return err;
	}
	for (size_t i = 0; i < z->n_pairs; i++) {
		struct tp_xdp_pair_key k = {
			.gen = gen,
			.src_zone = z->pairs[i].src_zone,
			.dst_zone = z->pairs[i].dst_zone,
		};

		if (bpf_map_update_elem(x->map_fd[MAP_PAIRS], &k, &allowed, BPF_ANY))
			return -errno;
	}
	for (size_t i = 0; i < z->n_local_addrs; i++) {
		const struct tp_prefix *a = &z->local_addrs[i];
		struct tp_xdp_local_key k = {.gen = gen, .family = a->family};
		uint32_t one = 1;

		memcpy(k.addr, a->addr, a->family == TP_AF_INET ? 4 : 16);
		if (bpf_map_update_elem(x->map_fd[MAP_LOCAL], &k, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

int tp_xdp_zones_apply(struct tp_xdp *x, const struct tp_xdp_zones *z)
{
	struct tp_xdp_gen g = {0};
	uint32_t zero = 0;
	uint8_t old, next;
	int err;

	if (x->kind != TP_XDP_KIND_ZONE)
		return -EINVAL;
	err = zones_check(z);
	if (err)
		return err;
	if (bpf_map_lookup_elem(x->map_fd[MAP_ZONE_GEN], &zero, &g))
		return -errno;
	old = (uint8_t)(g.gen & 1);
	next = old ^ 1;

	err = purge_all(x, next);
	if (err)
		return err;
	err = write_gen(x, z, next);
	if (err)
		goto undo_next;

	g.gen = next;
	g.flip_ns = monotonic_ns();
	if (bpf_map_update_elem(x->map_fd[MAP_ZONE_GEN], &zero, &g, BPF_ANY)) {
		err = -errno;
		goto undo_next;
	}
	rcu_grace_wait();
	/* The new tables are live; a failure here only leaves garbage that the
	 * next apply removes in its step 2. */
	purge_all(x, old);
	return 0;

undo_next:
	purge_all(x, next);
	return err;
}

int tp_xdp_pairs_read(const struct tp_xdp *x, struct tp_xdp_zone_pair *out, size_t max)
{
	struct tp_xdp_pair_key key, next;
	struct tp_xdp_gen g;
	uint32_t zero = 0;
	void *prev = NULL;
	size_t n = 0;

	if (x->kind != TP_XDP_KIND_ZONE || x->map_fd[MAP_PAIRS] < 0)
		return -EINVAL;
	if (bpf_map_lookup_elem(x->map_fd[MAP_ZONE_GEN], &zero, &g))
		return -errno;
	/* only the live generation: the other one is being written or purged */
	while (bpf_map_get_next_key(x->map_fd[MAP_PAIRS], prev, &next) == 0) {
		if (next.gen == (g.gen & 1)) {
			if (n == max)
				return -ENOSPC;
			out[n++] = (struct tp_xdp_zone_pair){next.src_zone, next.dst_zone};
		}
		key = next;
		prev = &key;
	}
	return errno == ENOENT ? (int)n : -errno;
}
