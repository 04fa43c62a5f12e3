/* SPDX-License-Identifier: MIT */
/*
 * A TP's forwarding (dataplane/fwd) in one process with no network, for
 * the unit test and the benchmark: EAL with --no-huge, two ring ports
 * whose tx rings the harness reads, this TP ("tp1") with zones z1
 * (10.1.0.0/16, fd00:1::/64) and z3 (10.3.0.0/16), and a remote TP ("tp2",
 * zone z2 10.2.0.0/16) played by a second, DPDK-free tunnel engine.
 *
 * Policy: 10 z1->z2 UDP 5000 allow; 11 z1->z3 ICMP allow; 12 z1->z2 TCP
 * allow (bench); 13 z2->z1 UDP 6000 allow, rate_limit 5 pps burst 3, log;
 * 14 z1->z2 UDP 7000 allow, rate_limit 2 pps burst 2; 15 z1->z2 UDP 9000
 * deny, log; 16 z2->z1 TCP 502 allow with a Modbus profile (unit 1,
 * function 3, registers 0-99: the ingress fuzzer's way to the profile
 * glue); the bundle is signed with a fresh controller key and
 * applied through tp_ctrl_apply (the one apply path) like tpctl apply.
 *
 * Stages are called directly (no worker lcores): h_run() runs a port's
 * stage list on a burst and flushes its exits, and h_poll() one iteration
 * of the worker hook (frames from the control thread, staged packets). Static functions: include once per program.
 *
 * H.v6 set before h_setup() puts both TPs' endpoints on an IPv6 transit
 * network (2001:db8::11, ::12); H.on_take, if set, sees every frame the
 * TP sent before h_take() returns it (the wire checks of test_fwd_wire).
 */
#ifndef FWD_HARNESS_H
#define FWD_HARNESS_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sodium.h>

#include "tp/dp/pipeline.h"

#include "tp/policy/bundle.h"
#include "tp/ctrl/apply.h"
#include "tp/dp/flowlog.h"
#include "tp/dp/fwd.h"
#include "tp/dp/tunnel.h"

#define H_RING	     4096
#define H_QUEUES_MAX 4

struct harness {
	struct rte_mempool *pool;
	struct rte_ring *rx[2], *tx[2];	       /* tx: queue 0's ring */
	struct rte_ring *txq[2][H_QUEUES_MAX]; /* ring of tx queue q (H.queues) */
	struct tp_runtime rt;
	struct tp_config cfg;
	struct tp_counters *counters;
	struct tp_fwd *fwd;
	struct tp_ctrl_apply policy; /* the one apply path, publishing into fwd */
	const struct tp_runtime_hooks *hooks;
	uint8_t priv[32], pub[32];	/* tp1 (under test) */
	uint8_t rpriv[32], rpub[32];	/* tp2 (the remote engine) */
	uint8_t ctl_sk[64], ctl_pk[32]; /* controller */
	struct tp_tunnel *remote;
	struct tp_tunnel_peer *remote_peer; /* tp1 as the remote sees it */
	uint8_t sent[8][256];		    /* what the remote's control path sent */
	size_t sent_len[8];
	unsigned n_sent;
	uint64_t now_ns;
	char state_dir[64];
	struct tp_drop_vec dv;
	struct tp_stage_ctx ctx;
	char log[16][TP_FLOWLOG_LINE_MAX]; /* flow-log lines, oldest first */
	unsigned n_log;
	unsigned n_log_total; /* every line, kept or not */
	char log_last[TP_FLOWLOG_LINE_MAX];
	int64_t r10_not_after; /* rule 10's not_after in the next h_apply; 0 = none */
	bool v6;	       /* IPv6 transit endpoints */
	unsigned workers;      /* workers of this TP (0: one); h_worker() picks one */
	unsigned queues;       /* tx queues per ring port (0: one), for threaded benches */
	void (*on_take)(int role, const struct rte_mbuf *m); /* every frame sent */
};

static struct harness H;

static int h_publish(void *arg, const struct tp_site *site, struct tp_engine *engine)
{
	return tp_fwd_publish(arg, site, engine);
}

static bool h_accepts(void *arg, const struct tp_site *site, char *why, size_t whylen)
{
	return tp_fwd_accepts(arg, site, why, whylen);
}

static const uint8_t h_mac_tp[6] = {0x02, 0, 0, 0, 0, 0x01}; /* ring ports' MAC (zero) */
static const uint8_t h_mac_nh[6] = {0x02, 0, 0, 0, 0, 0x99}; /* every next hop */
static const uint8_t h_addr_tp1[4] = {192, 0, 2, 11};
static const uint8_t h_addr_tp2[4] = {192, 0, 2, 12};
static const uint8_t h_addr_gw[4] = {10, 1, 0, 1};
static const uint8_t h_addr6_tp1[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x11};
static const uint8_t h_addr6_tp2[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x12};
static const uint8_t h_addr6_gw[16] = {0xfd, 0x00, 0x00, 0x01, [15] = 0x01};

static uint64_t h_clock(void *arg)
{
	(void)arg;
	return H.now_ns;
}

static void h_log(void *arg, const char *line)
{
	(void)arg;
	if (H.n_log < 16)
		snprintf(H.log[H.n_log++], TP_FLOWLOG_LINE_MAX, "%s", line);
	snprintf(H.log_last, TP_FLOWLOG_LINE_MAX, "%s", line);
	H.n_log_total++;
}

static uint64_t h_wall(void *arg)
{
	(void)arg;
	return 1800000000ull * 1000000000ull + H.now_ns;
}

static void h_remote_send(void *ctx, struct tp_tunnel_peer *peer,
			  const struct tp_tunnel_endpoint *dst, const uint8_t *msg, size_t len)
{
	(void)ctx;
	(void)peer;
	(void)dst;
	if (H.n_sent < 8 && len <= sizeof(H.sent[0])) {
		memcpy(H.sent[H.n_sent], msg, len);
		H.sent_len[H.n_sent++] = len;
	}
}

static const struct tp_tunnel_ops h_remote_ops = {
	.now_ns = h_clock,
	.wall_ns = h_wall,
	.send = h_remote_send,
};

static uint16_t h_csum(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IPv4 packet (no L2) of total length len: UDP/TCP/ICMP echo. */
static __attribute__((unused)) size_t h_ip4(uint8_t *p, size_t len, uint8_t proto, const char *src,
					    const char *dst, uint16_t sport, uint16_t dport)
{
	uint16_t c;

	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	c = h_csum(p, 20, 0);
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	if (proto == 17) {
		p[20] = (uint8_t)(sport >> 8), p[21] = (uint8_t)sport;
		p[22] = (uint8_t)(dport >> 8), p[23] = (uint8_t)dport;
		p[24] = (uint8_t)((len - 20) >> 8), p[25] = (uint8_t)(len - 20);
	} else if (proto == 6) {
		p[20] = (uint8_t)(sport >> 8), p[21] = (uint8_t)sport;
		p[22] = (uint8_t)(dport >> 8), p[23] = (uint8_t)dport;
		p[32] = 0x50;
		p[33] = 0x10; /* ACK: loose pickup */
	} else if (proto == 1) {
		p[20] = 8; /* echo request */
		p[24] = (uint8_t)(sport >> 8), p[25] = (uint8_t)sport;
	}
	return len;
}

/* A frame (Ethernet + payload) in a new mbuf. */
static struct rte_mbuf *h_frame(const uint8_t *dst_mac, const uint8_t *payload, size_t len,
				uint16_t ethertype)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(H.pool);
	uint8_t *p;

	if (!m)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(14 + len));
	memcpy(p, dst_mac, 6);
	memcpy(p + 6, h_mac_nh, 6);
	p[12] = (uint8_t)(ethertype >> 8);
	p[13] = (uint8_t)ethertype;
	memcpy(p + 14, payload, len);
	return m;
}

/* A frame from the remote TP to us carrying a tunnel message. */
static struct rte_mbuf *h_transit_frame(const uint8_t *msg, size_t len)
{
	uint8_t buf[2048];
	uint16_t c;

	if (H.v6) {
		memset(buf, 0, 48);
		buf[0] = 0x60;
		buf[4] = (uint8_t)((8 + len) >> 8);
		buf[5] = (uint8_t)(8 + len);
		buf[6] = 17;
		buf[7] = 64;
		memcpy(buf + 8, h_addr6_tp2, 16);
		memcpy(buf + 24, h_addr6_tp1, 16);
		buf[40] = 51820 >> 8, buf[41] = 51820 & 0xff;
		buf[42] = 51820 >> 8, buf[43] = 51820 & 0xff;
		buf[44] = (uint8_t)((8 + len) >> 8), buf[45] = (uint8_t)(8 + len);
		memcpy(buf + 48, msg, len);
		return h_frame(h_mac_tp, buf, 48 + len, 0x86dd);
	}
	memset(buf, 0, 28);
	buf[0] = 0x45;
	buf[2] = (uint8_t)((28 + len) >> 8);
	buf[3] = (uint8_t)(28 + len);
	buf[8] = 64;
	buf[9] = 17;
	memcpy(buf + 12, h_addr_tp2, 4);
	memcpy(buf + 16, h_addr_tp1, 4);
	c = h_csum(buf, 20, 0);
	buf[10] = (uint8_t)(c >> 8);
	buf[11] = (uint8_t)c;
	buf[20] = 51820 >> 8, buf[21] = 51820 & 0xff;
	buf[22] = 51820 >> 8, buf[23] = 51820 & 0xff;
	buf[24] = (uint8_t)((8 + len) >> 8), buf[25] = (uint8_t)(8 + len);
	memcpy(buf + 28, msg, len);
	return h_frame(h_mac_tp, buf, 28 + len, 0x0800);
}

/* The stages of a role on a burst, then its exits as the runtime flushes
 * them (frames for the same port sent, the control thread's and staged
 * packets enqueued), except the survivors: they are returned to the
 * caller, the wire of these tests. The dropped packets stay in H.dv
 * (reasons there) until h_flush(). */
static uint16_t h_run(int role, struct rte_mbuf **pkts, uint16_t n)
{
	H.ctx.in_role = (enum tp_port_role)role;
	H.ctx.now_ns = H.now_ns;
	n = tp_pipeline_run(H.hooks->stages[role], H.hooks->n_stages[role], &H.ctx, pkts, n, &H.dv);
	H.hooks->flush(H.hooks->arg, &H.ctx, pkts, 0, &H.dv);
	return n;
}

/* Run the following h_run()/h_poll() as worker i (its counters, its
 * flow table; the ring ports' one queue). */
static __attribute__((unused)) void h_worker(unsigned i)
{
	H.ctx.worker = i;
	H.ctx.cnt = tp_counters_slot(H.counters, i);
}

static void h_flush(void)
{
	tp_pipeline_flush(&H.dv, H.ctx.cnt);
}

static unsigned h_poll(void)
{
	unsigned n = H.hooks->poll(H.hooks->arg, &H.ctx, &H.dv);

	h_flush();
	return n;
}

/* Frames the TP sent out of a port (caller frees). */
static unsigned h_take(int role, struct rte_mbuf **pkts, unsigned max)
{
	unsigned n = rte_ring_dequeue_burst(H.tx[role], (void **)pkts, max, NULL);

	for (unsigned i = 0; i < n && H.on_take; i++)
		H.on_take(role, pkts[i]);
	return n;
}

static void h_drain(void)
{
	struct rte_mbuf *m[64];
	unsigned n;

	for (int r = 0; r < 2; r++)
		while ((n = h_take(r, m, 64)) > 0)
			rte_pktmbuf_free_bulk(m, n);
}

/* The tunnel message inside a transit frame the TP sent. */
static const uint8_t *h_msg_of(struct rte_mbuf *m, size_t *len)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	size_t hdr = p[12] == 0x86 ? 14 + 40 + 8 : 14 + 20 + 8;

	*len = rte_pktmbuf_data_len(m) - hdr;
	return p + hdr;
}

/* Set by a test to change the site before it is signed; NULL: none. */
static void (*h_site_edit)(struct tp_site *s);

static struct tp_site *h_site(void)
{
	struct tp_site *s = calloc(1, sizeof(*s));
	static const char *zpfx[3][2] = {{"10.1.0.0/16", "fd00:1::/64"},
					 {"10.2.0.0/16", "fd00:2::/64"},
					 {"10.3.0.0/16", NULL}};
	struct tp_rule *r;

	snprintf(s->name, sizeof(s->name), "harness");
	s->n_tps = 2;
	s->tps = calloc(2, sizeof(*s->tps));
	snprintf(s->tps[0].name, TP_NAME_MAX, "tp1");
	snprintf(s->tps[1].name, TP_NAME_MAX, "tp2");
	memcpy(s->tps[0].pubkey, H.pub, 32);
	memcpy(s->tps[1].pubkey, H.rpub, 32);
	for (int t = 0; t < 2; t++) {
		s->tps[t].n_endpoints = 1;
		s->tps[t].endpoints = calloc(1, sizeof(struct tp_endpoint));
		if (H.v6) {
			s->tps[t].endpoints[0].addr.family = TP_AF_INET6;
			s->tps[t].endpoints[0].addr.len = 128;
			memcpy(s->tps[t].endpoints[0].addr.addr, t ? h_addr6_tp2 : h_addr6_tp1, 16);
		} else {
			s->tps[t].endpoints[0].addr.family = TP_AF_INET;
			s->tps[t].endpoints[0].addr.len = 32;
			memcpy(s->tps[t].endpoints[0].addr.addr, t ? h_addr_tp2 : h_addr_tp1, 4);
		}
		s->tps[t].endpoints[0].port = 51820;
	}
	s->n_zones = 3;
	s->zones = calloc(3, sizeof(*s->zones));
	for (int z = 0; z < 3; z++) {
		struct tp_zone *zn = &s->zones[z];

		zn->id = (uint32_t)z + 1;
		snprintf(zn->name, TP_NAME_MAX, "z%d", z + 1);
		zn->tp = z == 1 ? 1 : 0;
		zn->n_prefixes = zpfx[z][1] ? 2 : 1;
		zn->prefixes = calloc(2, sizeof(struct tp_prefix));
		tp_prefix_parse(zpfx[z][0], &zn->prefixes[0]);
		if (zpfx[z][1])
			tp_prefix_parse(zpfx[z][1], &zn->prefixes[1]);
	}
	s->n_rules = 7;
	s->rules = calloc(7, sizeof(*s->rules));
	r = s->rules;
	r[0] = (struct tp_rule){.id = 10,
				.from_zone = 0,
				.to_zone = 1,
				.action = TP_ACTION_ALLOW,
				.proto = 17,
				.stateful = true};
	r[0].n_dst_ports = 1;
	r[0].dst_ports = calloc(1, sizeof(struct tp_port_range));
	r[0].dst_ports[0] = (struct tp_port_range){5000, 5000};
	r[1] = (struct tp_rule){.id = 11,
				.from_zone = 0,
				.to_zone = 2,
				.action = TP_ACTION_ALLOW,
				.proto = 1,
				.stateful = true};
	r[2] = (struct tp_rule){.id = 12,
				.from_zone = 0,
				.to_zone = 1,
				.action = TP_ACTION_ALLOW,
				.proto = 6,
				.stateful = true};
	r[3] = (struct tp_rule){.id = 13,
				.from_zone = 1,
				.to_zone = 0,
				.action = TP_ACTION_ALLOW,
				.proto = 17,
				.stateful = true,
				.rate_pps = 5,
				.rate_burst = 3,
				.log = true};
	r[4] = (struct tp_rule){.id = 14,
				.from_zone = 0,
				.to_zone = 1,
				.action = TP_ACTION_ALLOW,
				.proto = 17,
				.stateful = true,
				.rate_pps = 2,
				.rate_burst = 2};
	r[5] = (struct tp_rule){.id = 15,
				.from_zone = 0,
				.to_zone = 1,
				.action = TP_ACTION_DENY,
				.proto = 17,
				.log = true};
	for (int i = 3; i < 6; i++) {
		static const uint16_t port[] = {6000, 7000, 9000};

		r[i].n_dst_ports = 1;
		r[i].dst_ports = calloc(1, sizeof(struct tp_port_range));
		r[i].dst_ports[0] = (struct tp_port_range){port[i - 3], port[i - 3]};
	}
	r[6] = (struct tp_rule){.id = 16,
				.from_zone = 1,
				.to_zone = 0,
				.action = TP_ACTION_ALLOW,
				.proto = 6,
				.stateful = true,
				.profile = TP_PROFILE_MODBUS};
	r[6].n_dst_ports = 1;
	r[6].dst_ports = calloc(1, sizeof(struct tp_port_range));
	r[6].dst_ports[0] = (struct tp_port_range){502, 502};
	r[6].modbus.unit_ids = calloc(1, 1);
	r[6].modbus.unit_ids[0] = 1;
	r[6].modbus.n_unit_ids = 1;
	r[6].modbus.function_codes = calloc(1, 1);
	r[6].modbus.function_codes[0] = 3;
	r[6].modbus.n_function_codes = 1;
	r[6].modbus.registers = calloc(1, sizeof(struct tp_u16_range));
	r[6].modbus.registers[0] = (struct tp_u16_range){0, 99};
	r[6].modbus.n_registers = 1;
	for (int i = 0; i < 7; i++)
		snprintf(r[i].name, TP_NAME_MAX, "r%u", r[i].id);
	r[0].not_after = H.r10_not_after;
	if (h_site_edit)
		h_site_edit(s);
	return s;
}

/* Build, sign and apply policy version v through the one apply path (as
 * tpd does: tp_ctrl_apply publishing into fwd); 0 or its refusal. */
static int h_apply(uint64_t version)
{
	struct tp_site *s = h_site();
	struct tp_bundle_info info = {.version = version,
				      .issued_at = (int64_t)(h_wall(NULL) / 1000000000u) - 10,
				      .expires_at = (int64_t)(h_wall(NULL) / 1000000000u) + 86400};
	struct tp_ctrl_apply_result res = {0};
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = tp_bundle_build(s, &info, H.ctl_sk, &buf, &len);
	tp_site_free(s);
	if (rc)
		return rc;
	rc = tp_ctrl_apply_bundle(&H.policy, buf, len, (int64_t)(h_wall(NULL) / 1000000000u),
				  "file", &res);
	if (rc)
		fprintf(stderr, "apply: %s\n", res.text);
	free(buf);
	return rc;
}

/* What tpd's housekeeping does after tp_fwd_control_tick: the policy
 * state on the clock; not enforcing (expired under fail-closed) withdraws
 * the engine. */
static __attribute__((unused)) void h_policy_tick(void)
{
	tp_failmode_tick(&H.policy.fm, (int64_t)(h_wall(NULL) / 1000000000u));
	if (!tp_failmode_enforcing(&H.policy.fm))
		tp_fwd_withdraw(H.fwd);
}

static int h_port(int role)
{
	static const char *names[2] = {"h_zone", "h_transit"};
	struct rte_eth_conf conf = {0};
	uint16_t nq = (uint16_t)(H.queues ? H.queues : 1);
	char rn[32];
	int port;

	if (nq > H_QUEUES_MAX)
		return -1;
	snprintf(rn, sizeof(rn), "%s_rx", names[role]);
	H.rx[role] = rte_ring_create(rn, H_RING, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	for (unsigned q = 0; q < nq; q++) {
		if (q)
			snprintf(rn, sizeof(rn), "%s_tx%u", names[role], q);
		else
			snprintf(rn, sizeof(rn), "%s_tx", names[role]);
		H.txq[role][q] = rte_ring_create(rn, H_RING, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	}
	H.tx[role] = H.txq[role][0];
	port = rte_eth_from_rings(names[role], &H.rx[role], 1, H.txq[role], (unsigned)nq, 0);
	if (port < 0 || rte_eth_dev_configure((uint16_t)port, 1, nq, &conf) != 0 ||
	    rte_eth_rx_queue_setup((uint16_t)port, 0, 256, 0, NULL, H.pool) != 0)
		return -1;
	for (uint16_t q = 0; q < nq; q++)
		if (rte_eth_tx_queue_setup((uint16_t)port, q, 256, 0, NULL) != 0)
			return -1;
	if (rte_eth_dev_start((uint16_t)port) != 0)
		return -1;
	return port;
}

/* Everything up to a completed handshake between tp1 and the remote.
 * Returns 0 or a negative step number. */
static int h_setup(const char *prog)
{
	char prefix[64];
	char *eal[] = {(char *)prog,
		       "--no-huge",
		       "-m",
		       "256",
		       "--no-pci",
		       prefix,
		       "--log-level=lib.eal:error",
		       "-l",
		       "0",
		       NULL};
	struct tp_tunnel_config rc = {.ops = &h_remote_ops, .mtu = 1440};
	struct tp_tunnel_peer_config pc = {0};
	struct tp_fwd_params fp;
	struct rte_mbuf *m[8];
	char err[256];
	unsigned n;

	snprintf(prefix, sizeof(prefix), "--file-prefix=tp-%s-%d", prog, (int)getpid());
	if (sodium_init() < 0 || rte_eal_init(9, eal) < 0)
		return -1;
	H.pool = rte_pktmbuf_pool_create("h_pool", 8191, 256,
					 RTE_ALIGN_CEIL(sizeof(struct tp_pkt_meta), 8),
					 RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!H.pool)
		return -2;
	for (int r = 0; r < 2; r++) {
		int port = h_port(r);

		if (port < 0)
			return -3;
		H.rt.port[r] = (uint16_t)port;
		H.rt.pool[r] = H.pool;
	}
	tp_config_defaults(&H.cfg);
	H.cfg.mode = TP_MODE_MEMORY;
	H.cfg.n_workers = H.workers ? H.workers : 1;
	H.cfg.flow_table_size = 4096;
	snprintf(H.state_dir, sizeof(H.state_dir), "/tmp/tp-fwd-harness.%d", (int)getpid());
	snprintf(H.cfg.state_dir, sizeof(H.cfg.state_dir), "%s", H.state_dir);
	randombytes_buf(H.priv, 32);
	randombytes_buf(H.rpriv, 32);
	crypto_scalarmult_curve25519_base(H.pub, H.priv);
	crypto_scalarmult_curve25519_base(H.rpub, H.rpriv);
	crypto_sign_keypair(H.ctl_pk, H.ctl_sk);
	memcpy(H.cfg.controller_key, H.ctl_pk, 32);
	H.cfg.has_controller_key = true;
	H.counters = tp_counters_create(H.cfg.n_workers + 1);
	H.rt.cfg = &H.cfg;
	H.rt.counters = H.counters;
	H.now_ns = 1000000000ull;
	fp = (struct tp_fwd_params){
		.cfg = &H.cfg,
		.private_key = H.priv,
		.public_key = H.pub,
		.rt = &H.rt,
		.counters = H.counters,
		.control_slot = H.cfg.n_workers,
		.clock = {.now_ns = h_clock},
		.transit_addr4 = H.v6 ? NULL : h_addr_tp1,
		.transit_addr6 = H.v6 ? h_addr6_tp1 : NULL,
		.zone_addr4 = h_addr_gw,
		.zone_addr6 = h_addr6_gw,
		.static_mac = h_mac_nh,
		.wall_ns = h_wall,
		.log = h_log,
	};
	H.fwd = tp_fwd_create(&fp, err, sizeof(err));
	if (!H.fwd) {
		fprintf(stderr, "tp_fwd_create: %s\n", err);
		return -4;
	}
	H.hooks = tp_fwd_hooks(H.fwd);
	tp_fwd_policy_init(H.fwd);
	mkdir(H.state_dir, 0700); /* tpd does this at start */
	tp_ctrl_apply_init(&H.policy, H.ctl_pk, H.state_dir, TP_FAILMODE_EXPIRY_CLOSED, false, NULL,
			   NULL, (int64_t)(h_wall(NULL) / 1000000000u));
	H.policy.publish = h_publish;
	H.policy.accept = h_accepts;
	H.policy.publish_arg = H.fwd;
	H.ctx = (struct tp_stage_ctx){.cnt = tp_counters_slot(H.counters, 0),
				      .worker = 0,
				      .user = H.hooks->arg,
				      .queue = 0};
	/* the remote TP */
	memcpy(rc.private_key, H.rpriv, 32);
	H.remote = tp_tunnel_new(&rc);
	memcpy(pc.public_key, H.pub, 32);
	pc.endpoint =
		(struct tp_tunnel_endpoint){.family = H.v6 ? AF_INET6 : AF_INET, .port = 51820};
	memcpy(pc.endpoint.addr, H.v6 ? h_addr6_tp1 : h_addr_tp1, H.v6 ? 16 : 4);
	H.remote_peer = tp_tunnel_peer_add(H.remote, &pc);
	if (!H.remote || !H.remote_peer)
		return -5;
	if (h_apply(1) != 0)
		return -6;
	/* applying made tp1 initiate: worker 0 sends it */
	h_poll();
	n = h_take(TP_PORT_TRANSIT, m, 8);
	if (n != 1)
		return -7;
	{
		size_t len;
		const uint8_t *msg = h_msg_of(m[0], &len);
		struct tp_tunnel_endpoint src = {.family = H.v6 ? AF_INET6 : AF_INET,
						 .port = 51820};

		memcpy(src.addr, H.v6 ? h_addr6_tp1 : h_addr_tp1, H.v6 ? 16 : 4);
		if (tp_tunnel_handshake_receive(H.remote, msg, len, &src, false) != TP_TUNNEL_OK)
			return -8;
		rte_pktmbuf_free(m[0]);
	}
	if (H.n_sent != 1)
		return -9;
	m[0] = h_transit_frame(H.sent[0], H.sent_len[0]);
	H.n_sent = 0;
	if (h_run(TP_PORT_TRANSIT, m, 1) != 0) /* to the control thread */
		return -10;
	h_flush();
	tp_fwd_control_run(H.fwd);
	h_poll(); /* tp1's first keepalive confirms the session for the remote */
	n = h_take(TP_PORT_TRANSIT, m, 8);
	for (unsigned i = 0; i < n; i++) {
		size_t len;
		struct tp_tunnel_pkt p = {.data = (uint8_t *)h_msg_of(m[i], &len)};

		p.len = (uint32_t)len;
		p.cap = (uint32_t)len;
		tp_tunnel_decrypt(H.remote, &p);
		rte_pktmbuf_free(m[i]);
	}
	tp_tunnel_tick(H.remote);
	return 0;
}

/* Drops of reason r so far, every worker and the control thread. */
static __attribute__((unused)) uint64_t drops(enum tp_drop r)
{
	struct tp_counters_totals t;

	tp_counters_sum(H.counters, &t);
	return t.drop[r];
}

/* Statistic st so far, every worker and the control thread. */
static __attribute__((unused)) uint64_t h_stat(enum tp_stat st)
{
	struct tp_counters_totals t;

	tp_counters_sum(H.counters, &t);
	return t.stat[st];
}

/* Encrypted by tp1, decrypted by the remote: the inner packet or NULL. */
static __attribute__((unused)) const uint8_t *remote_open(struct rte_mbuf *m, uint32_t *inner_len)
{
	size_t len;
	struct tp_tunnel_pkt p = {.data = (uint8_t *)h_msg_of(m, &len)};

	p.len = (uint32_t)len;
	p.cap = (uint32_t)len;
	if (!tp_tunnel_res_ok(tp_tunnel_decrypt(H.remote, &p)))
		return NULL;
	*inner_len = p.inner_len;
	return p.data + TP_TUNNEL_HEADER_LEN;
}

/* The remote encrypts an inner packet to tp1: a transit frame. */
static __attribute__((unused)) struct rte_mbuf *remote_seal(const uint8_t *ip, size_t len)
{
	uint8_t buf[2048];
	struct tp_tunnel_pkt p = {.data = buf, .len = (uint32_t)(16 + len), .cap = sizeof(buf)};

	memcpy(buf + 16, ip, len);
	if (!tp_tunnel_res_ok(tp_tunnel_encrypt(H.remote, H.remote_peer, &p)))
		return NULL;
	return h_transit_frame(buf, p.len);
}

static __attribute__((unused)) void h_teardown(void)
{
	char cmd[128];

	h_drain();
	tp_ctrl_apply_fini(&H.policy);
	tp_fwd_free(H.fwd);
	tp_tunnel_free(H.remote);
	tp_counters_free(H.counters);
	for (int r = 0; r < 2; r++) {
		rte_eth_dev_stop(H.rt.port[r]);
		rte_eth_dev_close(H.rt.port[r]);
		rte_ring_free(H.rx[r]);
		for (unsigned q = 0; q < H_QUEUES_MAX; q++)
			rte_ring_free(H.txq[r][q]);
	}
	rte_mempool_free(H.pool);
	rte_eal_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", H.state_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", H.state_dir);
}

#endif /* FWD_HARNESS_H */
