// SPDX-License-Identifier: MIT
/*
 * tp-wg-peer: the tunnel engine on a real UDP socket, for interop tests
 * against wireguard-go. It plays a tiny host behind the tunnel: it sends
 * IPv4 ICMP echo requests to the peer's tunnel address and checks the
 * replies byte for byte, and it answers echo requests the peer sends.
 *
 *   tp-wg-peer --key B64 --peer B64 [--psk B64] --port N
 *              [--endpoint A.B.C.D:PORT | --endpoint [V6]:PORT]
 *              --addr A.B.C.D --peer-addr A.B.C.D
 *              [--ping N] [--interval-ms MS] [--duration S] [--answer N]
 *              [--expect-drop REASON] [--min-handshakes N]
 *
 * --ping N       send N echo requests (0 = as many as fit in --duration),
 *                all must be answered; with --duration, none may be lost
 * --answer N     succeed once N echo requests from the peer were answered
 * --expect-drop  succeed only if no session forms and counter REASON > 0
 * --cookie-flood keep the peer "under load" with waves of initiations from an
 *                unknown key (valid mac1) until our handshake completes (at
 *                most 25 s), then ping. Require that the peer answered our
 *                first initiation with a cookie reply we consumed, and that it
 *                accepted a retry (carrying mac2) in the middle of a wave it
 *                was answering with cookie replies, i.e. while under load
 * Exit status 0 on success; the counters are printed on exit either way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tp/base/keys.h"
#include "tp/dp/tunnel.h"

enum { PAYLOAD_LEN = 56, ICMP_ID = 0x7470, BUF_LEN = 2048 };

static uint8_t flood_target_key[32]; /* the peer's public key */
static bool debug;		     /* TP_WG_PEER_DEBUG set: trace handshake messages */
static uint64_t t0;

struct driver {
	int fd;
	struct tp_tunnel *tun;
	struct tp_tunnel_peer *peer;
	uint32_t addr, peer_addr; /* network order */
	uint64_t data_counters[TP_TUNNEL_RES_COUNT];
	unsigned sent, replies, bad_replies, answered, staged_drops;
	/* --cookie-flood: cookie replies to us, and to the flood's unknown key */
	unsigned cookies;
	uint64_t junk_cookies, last_junk_cookie_ns, response_ns;
	uint64_t junk_gap_before_ns, junk_gap_after_ns; /* around response_ns */
	uint8_t *seen;					/* reply seen per sequence */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* One dual-stack IPv6 socket serves both families: IPv4 peers appear as
 * v4-mapped addresses, which become AF_INET endpoints for the engine. */
static void to_sockaddr(const struct tp_tunnel_endpoint *ep, struct sockaddr_in6 *sin6)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(ep->port);
	if (ep->family == AF_INET) {
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], ep->addr, 4);
	} else {
		memcpy(&sin6->sin6_addr, ep->addr, 16);
	}
}

static void from_sockaddr(struct tp_tunnel_endpoint *ep, const struct sockaddr_in6 *sin6)
{
	memset(ep, 0, sizeof(*ep));
	ep->port = ntohs(sin6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		ep->family = AF_INET;
		memcpy(ep->addr, &sin6->sin6_addr.s6_addr[12], 4);
	} else {
		ep->family = AF_INET6;
		memcpy(ep->addr, &sin6->sin6_addr, 16);
	}
}

static void on_send(void *ctx, struct tp_tunnel_peer *peer, const struct tp_tunnel_endpoint *dst,
		    const uint8_t *msg, size_t len)
{
	struct driver *d = ctx;
	struct sockaddr_in6 sin;

	to_sockaddr(dst, &sin);
	if (debug && msg[0] != 4)
		fprintf(stderr, "tp-wg-peer: %.3f send type %u\n", (mono_ns() - t0) / 1e9, msg[0]);
	if (sendto(d->fd, msg, len, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		perror("sendto");
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An IPv4 ICMP echo (type 8) or echo reply (type 0) with our payload. */
static uint32_t build_icmp(uint8_t *p, uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
			   uint16_t seq, const uint8_t *payload, size_t plen)
{
	uint32_t len = 20 + 8 + (uint32_t)plen;
	uint16_t c;

	memset(p, 0, 28);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = 1;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
	c = csum(p, 20);
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	p[20] = type;
	p[24] = (uint8_t)(id >> 8);
	p[25] = (uint8_t)id;
	p[26] = (uint8_t)(seq >> 8);
	p[27] = (uint8_t)seq;
	memcpy(p + 28, payload, plen);
	c = csum(p + 20, 8 + plen);
	p[22] = (uint8_t)(c >> 8);
	p[23] = (uint8_t)c;
	return len;
}

static void payload_of(uint8_t *pl, uint16_t seq)
{
	for (int i = 0; i < PAYLOAD_LEN; i++)
		pl[i] = (uint8_t)(seq * 7 + i);
}

static void encrypt_and_send(struct driver *d, uint8_t *buf, uint32_t inner_len)
{
	struct tp_tunnel_pkt p = {
		.data = buf, .len = TP_TUNNEL_HEADER_LEN + inner_len, .cap = BUF_LEN};
	struct tp_tunnel_endpoint ep;
	enum tp_tunnel_res r = tp_tunnel_encrypt(d->tun, d->peer, &p);

	d->data_counters[r]++;
	if (!tp_tunnel_res_ok(r)) {
		d->staged_drops++;
		return;
	}
	if (tp_tunnel_peer_endpoint(d->peer, &ep))
		on_send(d, d->peer, &ep, p.data, p.len);
}

static void send_ping(struct driver *d, uint16_t seq)
{
	uint8_t buf[BUF_LEN], pl[PAYLOAD_LEN];
	uint32_t len;

	payload_of(pl, seq);
	len = build_icmp(buf + TP_TUNNEL_HEADER_LEN, d->addr, d->peer_addr, 8, ICMP_ID, seq, pl,
			 sizeof(pl));
	d->sent++;
	encrypt_and_send(d, buf, len);
}

/* A decrypted inner packet: verify replies, answer requests. */
static void handle_inner(struct driver *d, const uint8_t *p, uint32_t len)
{
	uint32_t src, dst;
	uint16_t id, seq;
	uint8_t pl[PAYLOAD_LEN];

	if (len < 28 || p[9] != 1 || csum(p, 20) != 0)
		goto bad;
	memcpy(&src, p + 12, 4);
	memcpy(&dst, p + 16, 4);
	/* cryptokey routing: the peer may only send from its own address */
	if (src != d->peer_addr || dst != d->addr)
		goto bad;
	if (csum(p + 20, len - 20) != 0)
		goto bad;
	id = (uint16_t)(p[24] << 8 | p[25]);
	seq = (uint16_t)(p[26] << 8 | p[27]);
	if (p[20] == 0) { /* echo reply to one of ours */
		payload_of(pl, seq);
		if (id != ICMP_ID || len != 28 + PAYLOAD_LEN ||
		    memcmp(p + 28, pl, PAYLOAD_LEN) != 0 || seq >= d->sent || d->seen[seq])
			goto bad;
		d->seen[seq] = 1;
		d->replies++;
		return;
	}
	if (p[20] == 8) { /* echo request from the peer: answer it */
		uint8_t buf[BUF_LEN];
		uint32_t n = build_icmp(buf + TP_TUNNEL_HEADER_LEN, d->addr, d->peer_addr, 0, id,
					seq, p + 28, len - 28);

		encrypt_and_send(d, buf, n);
		d->answered++;
		return;
	}
bad:
	d->bad_replies++;
}

/* The flood's initiations come from a key with an index we never issued:
 * the peer's cookie replies to them end as unknown_index here. Each one
 * proves the peer was under load when it sent it. */
static void note_handshake(struct driver *d, uint8_t type, enum tp_tunnel_res r)
{
	uint64_t now = mono_ns();

	if (type == 3 && r == TP_TUNNEL_DROP_UNKNOWN_INDEX) {
		if (d->response_ns && !d->junk_gap_after_ns)
			d->junk_gap_after_ns = now - d->response_ns;
		d->junk_cookies++;
		d->last_junk_cookie_ns = now;
	} else if (type == 3 && tp_tunnel_res_ok(r)) {
		d->cookies++;
	} else if (type == 2 && tp_tunnel_res_ok(r) && !d->response_ns) {
		d->response_ns = now;
		if (d->last_junk_cookie_ns)
			d->junk_gap_before_ns = now - d->last_junk_cookie_ns;
	}
}

static void receive(struct driver *d)
{
	uint8_t buf[BUF_LEN];
	struct sockaddr_in6 sin;
	socklen_t sl = sizeof(sin);
	ssize_t n;

	while ((n = recvfrom(d->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&sin, &sl)) >
	       0) {
		struct tp_tunnel_endpoint src;

		from_sockaddr(&src, &sin);
		if (tp_tunnel_classify(buf, (size_t)n) == 4) {
			struct tp_tunnel_pkt p = {
				.data = buf, .len = (uint32_t)n, .cap = sizeof(buf), .src = src};
			enum tp_tunnel_res r = tp_tunnel_decrypt(d->tun, &p);

			d->data_counters[r]++;
			if (tp_tunnel_res_ok(r) && p.inner_len)
				handle_inner(d, buf + TP_TUNNEL_HEADER_LEN, p.inner_len);
		} else {
			enum tp_tunnel_res r =
				tp_tunnel_handshake_receive(d->tun, buf, (size_t)n, &src, false);

			note_handshake(d, buf[0], r);
			if (debug && r != TP_TUNNEL_DROP_UNKNOWN_INDEX)
				fprintf(stderr, "tp-wg-peer: %.3f recv type %u: %s\n",
					(mono_ns() - t0) / 1e9, buf[0], tp_tunnel_res_name(r));
		}
		sl = sizeof(sin);
	}
}

/* Flood material: an initiation from a key the peer does not know. Its mac1
 * is valid, so the peer queues it and spends a DH on it. */
/* 300 per 100 ms: well above the 1/8-of-1024 queue mark wireguard-go calls
 * "under load" (and it stays so for 1 s). A wave overflows the peer's
 * socket buffer when the machine is busy, so our own initiations are only
 * ever sent just before a wave, into a drained buffer (see main). */
enum { FLOOD_COPIES = 300 };
#define FLOOD_MAX_NS	  (25 * 1000000000ULL)
#define WAVE_NS		  (100 * 1000000ULL)
/* our handshake counts as "accepted under load" when the peer answered the
 * flood with cookie replies this close before and after answering us */
#define UNDER_LOAD_GAP_NS (300 * 1000000ULL)
static uint8_t junk_msg[148];
static size_t junk_len;

static void capture_send(void *ctx, struct tp_tunnel_peer *peer,
			 const struct tp_tunnel_endpoint *dst, const uint8_t *msg, size_t len)
{
	if (len == sizeof(junk_msg)) {
		memcpy(junk_msg, msg, len);
		junk_len = len;
	}
}

static int make_junk(const struct tp_tunnel_endpoint *peer_ep)
{
	struct tp_tunnel_ops ops = {.send = capture_send};
	struct tp_tunnel_config cfg = {.ops = &ops};
	struct tp_tunnel_peer_config pc = {.endpoint = *peer_ep};
	struct tp_tunnel *t;
	struct tp_tunnel_peer *p;

	(void)tp_key_wg_generate(cfg.private_key, NULL);
	t = tp_tunnel_new(&cfg);
	if (!t)
		return -1;
	memcpy(pc.public_key, flood_target_key, sizeof(pc.public_key));
	p = tp_tunnel_peer_add(t, &pc);
	if (p)
		tp_tunnel_connect(t, p);
	tp_tunnel_free(t);
	return junk_len ? 0 : -1;
}

static void blast(struct driver *d, const struct tp_tunnel_endpoint *ep)
{
	struct sockaddr_in6 sin;

	to_sockaddr(ep, &sin);
	for (int i = 0; i < FLOOD_COPIES; i++)
		sendto(d->fd, junk_msg, junk_len, MSG_DONTWAIT, (struct sockaddr *)&sin,
		       sizeof(sin));
	receive(d);
}

static void print_counters(struct driver *d)
{
	const uint64_t *c = tp_tunnel_counters(d->tun);
	struct tp_tunnel_peer_stats st;

	tp_tunnel_peer_stats(d->peer, &st);
	printf("tp-wg-peer: sent %u replies %u bad %u answered %u not-encrypted %u\n", d->sent,
	       d->replies, d->bad_replies, d->answered, d->staged_drops);
	printf("tp-wg-peer: handshakes completed %llu, initiations sent %llu, session %s\n",
	       (unsigned long long)st.handshakes_completed,
	       (unsigned long long)st.handshake_initiations_sent,
	       st.has_current_key ? "yes" : "no");
	for (int r = 0; r < TP_TUNNEL_RES_COUNT; r++)
		if (c[r] || d->data_counters[r])
			printf("tp-wg-peer: counter %-18s handshake %llu data %llu\n",
			       tp_tunnel_res_name(r), (unsigned long long)c[r],
			       (unsigned long long)d->data_counters[r]);
}

static int find_reason(const char *name)
{
	for (int r = 0; r < TP_TUNNEL_RES_COUNT; r++)
		if (strcmp(tp_tunnel_res_name(r), name) == 0)
			return r;
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: tp-wg-peer --key B64 --peer B64 [--psk B64] --port N "
			"[--endpoint IP:PORT] --addr IP --peer-addr IP [--ping N] "
			"[--interval-ms MS] [--duration S] [--answer N] [--expect-drop REASON] "
			"[--min-handshakes N] [--cookie-flood]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", 1, 0, 'k'},
		{"peer", 1, 0, 'p'},
		{"psk", 1, 0, 's'},
		{"port", 1, 0, 'l'},
		{"endpoint", 1, 0, 'e'},
		{"addr", 1, 0, 'a'},
		{"peer-addr", 1, 0, 'A'},
		{"ping", 1, 0, 'n'},
		{"interval-ms", 1, 0, 'i'},
		{"duration", 1, 0, 'd'},
		{"answer", 1, 0, 'r'},
		{"expect-drop", 1, 0, 'x'},
		{"min-handshakes", 1, 0, 'm'},
		{"cookie-flood", 0, 0, 'c'},
		{0, 0, 0, 0},
	};
	struct tp_tunnel_ops ops = {.send = on_send};
	struct tp_tunnel_config cfg = {.ops = &ops};
	struct tp_tunnel_peer_config pc = {0};
	struct driver d = {.fd = -1};
	struct sockaddr_in6 sin = {.sin6_family = AF_INET6};
	int v6only = 0;
	unsigned ping = 0, answer = 0, interval_ms = 200, duration_s = 20, min_hs = 1;
	const char *expect = NULL;
	uint64_t start, next_ping, end;
	bool ok = false, have_key = false, have_peer = false, pinging = false;
	bool cookie_flood = false, connected = false, flooding = false;
	uint64_t next_blast = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			have_key = (tp_key_from_base64(optarg, cfg.private_key) == 0);
			break;
		case 'p':
			have_peer = (tp_key_from_base64(optarg, pc.public_key) == 0);
			memcpy(flood_target_key, pc.public_key, 32);
			break;
		case 's':
			pc.has_psk = (tp_key_from_base64(optarg, pc.psk) == 0);
			if (!pc.has_psk)
				usage();
			break;
		case 'l':
			sin.sin6_port = htons((uint16_t)atoi(optarg));
			break;
		case 'e': { /* A.B.C.D:PORT or [V6]:PORT */
			char host[64];
			char *colon;

			snprintf(host, sizeof(host), "%s", optarg);
			colon = strrchr(host, ':');
			if (!colon)
				usage();
			*colon = 0;
			pc.endpoint.port = (uint16_t)atoi(colon + 1);
			if (host[0] == '[' && colon[-1] == ']') {
				colon[-1] = 0;
				pc.endpoint.family = AF_INET6;
				if (inet_pton(AF_INET6, host + 1, pc.endpoint.addr) != 1)
					usage();
			} else {
				pc.endpoint.family = AF_INET;
				if (inet_pton(AF_INET, host, pc.endpoint.addr) != 1)
					usage();
			}
			break;
		}
		case 'a':
			if (inet_pton(AF_INET, optarg, &d.addr) != 1)
				usage();
			break;
		case 'A':
			if (inet_pton(AF_INET, optarg, &d.peer_addr) != 1)
				usage();
			break;
		case 'n':
			ping = (unsigned)atoi(optarg);
			pinging = true;
			break;
		case 'i':
			interval_ms = (unsigned)atoi(optarg);
			break;
		case 'd':
			duration_s = (unsigned)atoi(optarg);
			break;
		case 'r':
			answer = (unsigned)atoi(optarg);
			break;
		case 'x':
			expect = optarg;
			break;
		case 'm':
			min_hs = (unsigned)atoi(optarg);
			break;
		case 'c':
			cookie_flood = true;
			break;
		default:
			usage();
		}
	}
	if (!have_key || !have_peer || !d.addr || !d.peer_addr ||
	    (expect && find_reason(expect) < 0))
		usage();

	d.seen = calloc(65536, 1);
	d.fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (d.fd >= 0)
		setsockopt(d.fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	{
		int rcvbuf = 8 << 20; /* cookie replies arrive in thousands under flood */

		if (d.fd >= 0 &&
		    setsockopt(d.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
			setsockopt(d.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	if (!d.seen || d.fd < 0 || bind(d.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("tp-wg-peer: socket");
		return 1;
	}
	cfg.ctx = &d;
	d.tun = tp_tunnel_new(&cfg);
	d.peer = d.tun ? tp_tunnel_peer_add(d.tun, &pc) : NULL;
	if (!d.peer) {
		fprintf(stderr, "tp-wg-peer: cannot create tunnel or peer\n");
		return 1;
	}

	start = t0 = mono_ns();
	debug = getenv("TP_WG_PEER_DEBUG") != NULL;
	end = start + (uint64_t)duration_s * 1000000000ULL;
	next_ping = start;
	if (cookie_flood) {
		if (make_junk(&pc.endpoint) < 0)
			return 1;
		next_blast = start;
		next_ping = UINT64_MAX; /* set when the flood stops */
		flooding = true;
	} else if (pc.endpoint.family && (pinging || expect)) {
		tp_tunnel_connect(d.tun, d.peer);
		connected = true;
	}
	for (;;) {
		struct pollfd pfd = {.fd = d.fd, .events = POLLIN};
		uint64_t now;
		bool stop_pinging;

		poll(&pfd, 1, 10);
		receive(&d);
		now = mono_ns();
		if (flooding && now >= next_blast) {
			struct tp_tunnel_peer_stats st;

			tp_tunnel_peer_stats(d.peer, &st);
			if ((st.has_current_key && d.junk_gap_after_ns) ||
			    now >= start + FLOOD_MAX_NS) {
				flooding = false;
				next_ping = now;
			} else {
				/* Our initiations (the first, and the engine's
				 * retries that tp_tunnel_tick sends) go out just
				 * before a wave: the peer's socket buffer has
				 * drained, and it is still under load (it stays
				 * so for 1 s after the last wave). */
				if (!connected && now >= start + 300000000ULL) {
					tp_tunnel_connect(d.tun, d.peer);
					connected = true;
				}
				tp_tunnel_tick(d.tun);
				blast(&d, &pc.endpoint);
				next_blast = mono_ns() + WAVE_NS;
			}
		}
		if (!flooding)
			tp_tunnel_tick(d.tun);
		stop_pinging = ping && d.sent >= ping;
		if (pc.endpoint.family && !stop_pinging && now >= next_ping &&
		    (pinging || expect) && now < end - 2000000000ULL) {
			send_ping(&d, (uint16_t)d.sent);
			next_ping += (uint64_t)interval_ms * 1000000ULL;
		}
		if (!expect && ping && d.sent >= ping && d.replies >= ping && d.answered >= answer)
			break;
		if (!expect && !ping && answer && d.answered >= answer)
			break;
		if (now >= end)
			break;
	}

	print_counters(&d);
	{
		struct tp_tunnel_peer_stats st;

		tp_tunnel_peer_stats(d.peer, &st);
		if (expect) {
			ok = !st.has_current_key && d.replies == 0 &&
			     tp_tunnel_counters(d.tun)[find_reason(expect)] > 0;
		} else {
			ok = d.bad_replies == 0 && d.answered >= answer &&
			     st.handshakes_completed >= min_hs;
			if (ping)
				ok = ok && d.replies == d.sent && d.sent >= ping;
			/* a cookie reply consumed, then a retry (with mac2)
			 * answered amid cookie replies to the flood */
			if (cookie_flood) {
				printf("tp-wg-peer: cookies %u, flood cookies %llu, response "
				       "%.3f s after one and %.3f s before one\n",
				       d.cookies, (unsigned long long)d.junk_cookies,
				       d.junk_gap_before_ns / 1e9, d.junk_gap_after_ns / 1e9);
				ok = ok && d.cookies >= 1 && st.handshake_initiations_sent >= 2 &&
				     d.response_ns && d.last_junk_cookie_ns &&
				     d.junk_gap_before_ns < UNDER_LOAD_GAP_NS &&
				     d.junk_gap_after_ns && d.junk_gap_after_ns < UNDER_LOAD_GAP_NS;
			} else if (!answer)
				ok = ok && d.replies == d.sent && d.sent > 0;
		}
	}
	printf("tp-wg-peer: %s\n", ok ? "PASS" : "FAIL");
	tp_tunnel_free(d.tun);
	close(d.fd);
	free(d.seen);
	return ok ? 0 : 1;
}
