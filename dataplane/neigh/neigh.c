// SPDX-License-Identifier: MIT
/*
 * Neighbour mirror and hold queues over rtnetlink (see tp/dp/neigh.h for the
 * state and the rules). Two netlink sockets: `ev` is subscribed to
 * RTNLGRP_NEIGH and non-blocking (polled by the owner); `rq` carries our
 * requests (dump, route lookup, resolve) and blocks with a timeout, so a
 * request's replies never mix with notifications.
 */
#include "tp/dp/neigh.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

/* States in which the kernel would send to the cached MAC (the kernel's
 * NUD_VALID, which uapi headers do not export). */
#define NUD_USABLE (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY)

struct entry {
	bool used;
	struct tp_neigh_info info;
	uint64_t resolve_ns;  /* when we last asked the kernel; 0: never */
	unsigned head, count; /* hold queue: ring of queue_len */
	void **pkts;
	uint64_t *since; /* when each held packet arrived */
};

struct tp_neigh {
	struct tp_neigh_params p;
	int *ifindex; /* copy of p.ifindex */
	struct mnl_socket *ev, *rq;
	unsigned rq_portid;
	uint32_t seq;
	struct entry *e;
	char *buf; /* MNL_SOCKET_BUFFER_SIZE */
};

static size_t addr_len(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

static int to_af(uint8_t family)
{
	return family == 4 ? AF_INET : AF_INET6;
}

static bool followed(const struct tp_neigh *n, int ifindex)
{
	for (unsigned i = 0; i < n->p.n_ifindex; i++) {
		if (n->ifindex[i] == ifindex)
			return true;
	}
	return false;
}

static bool usable(const struct entry *e)
{
	return e->info.has_mac && (e->info.state & NUD_USABLE);
}

static struct entry *find(const struct tp_neigh *n, int ifindex, uint8_t family,
			  const uint8_t *addr)
{
	for (unsigned i = 0; i < n->p.max_entries; i++) {
		struct entry *e = &n->e[i];

		if (e->used && e->info.ifindex == ifindex && e->info.family == family &&
		    !memcmp(e->info.addr, addr, addr_len(family)))
			return e;
	}
	return NULL;
}

static struct entry *find_or_add(struct tp_neigh *n, int ifindex, uint8_t family,
				 const uint8_t *addr)
{
	struct entry *e = find(n, ifindex, family, addr);

	if (e)
		return e;
	for (unsigned i = 0; i < n->p.max_entries; i++) {
		e = &n->e[i];
		if (e->used)
			continue;
		memset(&e->info, 0, sizeof(e->info));
		e->used = true;
		e->info.ifindex = ifindex;
		e->info.family = family;
		memcpy(e->info.addr, addr, addr_len(family));
		e->resolve_ns = 0;
		e->head = e->count = 0;
		return e;
	}
	return NULL;
}

/* Hand back every held packet, oldest first. */
static void release_all(struct tp_neigh *n, struct entry *e, const uint8_t *mac)
{
	while (e->count) {
		void *pkt = e->pkts[e->head];

		e->head = (e->head + 1) % n->p.queue_len;
		e->count--;
		n->p.release(n->p.release_arg, pkt, mac);
	}
}

/* An entry with no packets that the kernel forgot is forgotten too. */
static void maybe_free(struct entry *e)
{
	if (!e->count && e->info.state == NUD_NONE)
		e->used = false;
}

struct attrs {
	const struct nlattr *tb[NDA_MAX + 1];
};

static int neigh_attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NDA_MAX) < 0)
		return MNL_CB_OK;
	a->tb[type] = attr;
	return MNL_CB_OK;
}

static int on_neigh(struct tp_neigh *n, const struct nlmsghdr *nlh)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct attrs a = {{NULL}};
	uint8_t family;
	const uint8_t *dst;
	struct entry *e;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ndm)))
		return MNL_CB_OK;
	if (ndm->ndm_family == AF_INET)
		family = 4;
	else if (ndm->ndm_family == AF_INET6)
		family = 6;
	else
		return MNL_CB_OK;
	if (!followed(n, ndm->ndm_ifindex))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr_cb, &a);
	if (!a.tb[NDA_DST] || mnl_attr_get_payload_len(a.tb[NDA_DST]) != addr_len(family))
		return MNL_CB_OK;
	dst = mnl_attr_get_payload(a.tb[NDA_DST]);
	if (nlh->nlmsg_type == RTM_DELNEIGH) {
		e = find(n, ndm->ndm_ifindex, family, dst);
		if (e) {
			e->info.state = NUD_NONE;
			e->info.has_mac = false;
			maybe_free(e);
		}
		return MNL_CB_OK;
	}
	e = find_or_add(n, ndm->ndm_ifindex, family, dst);
	if (!e)
		return MNL_CB_OK; /* table full: lookups miss, holds are refused */
	e->info.state = ndm->ndm_state;
	if (a.tb[NDA_LLADDR] && mnl_attr_get_payload_len(a.tb[NDA_LLADDR]) == TP_NEIGH_MAC_LEN) {
		memcpy(e->info.mac, mnl_attr_get_payload(a.tb[NDA_LLADDR]), TP_NEIGH_MAC_LEN);
		e->info.has_mac = true;
	} else if (!(ndm->ndm_state & NUD_USABLE)) {
		e->info.has_mac = false;
	}
	if (usable(e)) {
		e->resolve_ns = 0;
		release_all(n, e, e->info.mac);
	} else if (ndm->ndm_state & NUD_FAILED) {
		e->resolve_ns = 0;
		release_all(n, e, NULL);
	}
	return MNL_CB_OK;
}

static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWNEIGH || nlh->nlmsg_type == RTM_DELNEIGH)
		return on_neigh(data, nlh);
	return MNL_CB_OK;
}

/* mnl_cb_run failed: errno, which for an NLMSG_ERROR message is whatever
 * number the message carried; anything that is not an errno value is a
 * protocol error. */
static int mnl_error(void)
{
	return errno > 0 && errno < 4096 ? -errno : -EPROTO;
}

/* Every message length inside the buffer. libmnl compares nlmsg_len as an
 * int, so a length of 2^31 or more would pass its check; the kernel never
 * sends one, but this is the parser's one line of defence. */
static bool well_formed(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const void *)p;
		size_t step;

		/* libmnl bounds attributes by the aligned message end, so
		 * the padding must be inside the buffer too (the kernel always
		 * pads) */
		/* not NLMSG_ALIGN: its 32-bit mask wraps 0xffffffff to 0 */
		step = ((size_t)nlh->nlmsg_len + 3) & ~(size_t)3;
		if (nlh->nlmsg_len < sizeof(*nlh) || step > len)
			return false;
		if (step == len)
			return true;
		p += step;
		len -= step;
	}
	return len == 0;
}

int tp_neigh_input(struct tp_neigh *n, const void *buf, size_t len)
{
	int rc;

	if (len > INT32_MAX || !well_formed(buf, len))
		return -EBADMSG;
	rc = mnl_cb_run(buf, len, 0, 0, data_cb, n);

	return rc < 0 ? mnl_error() : 0;
}

struct tp_neigh *tp_neigh_create(const struct tp_neigh_params *p)
{
	struct tp_neigh *n;

	if (!p->release || !p->clock.now_ns || !p->max_entries || !p->queue_len)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		goto fail;
	n->p = *p;
	n->ifindex = calloc(p->n_ifindex ? p->n_ifindex : 1, sizeof(int));
	n->e = calloc(p->max_entries, sizeof(*n->e));
	n->buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	if (!n->ifindex || !n->e || !n->buf)
		goto fail_free;
	memcpy(n->ifindex, p->ifindex, p->n_ifindex * sizeof(int));
	n->p.ifindex = n->ifindex;
	for (unsigned i = 0; i < p->max_entries; i++) {
		n->e[i].pkts = calloc(p->queue_len, sizeof(void *));
		n->e[i].since = calloc(p->queue_len, sizeof(uint64_t));
		if (!n->e[i].pkts || !n->e[i].since)
			goto fail_free;
	}
	n->seq = (uint32_t)time(NULL);
	if (p->no_socket)
		return n;
	n->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	n->rq = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!n->ev || !n->rq)
		goto fail_free;
	if (mnl_socket_bind(n->ev, RTMGRP_NEIGH, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(n->rq, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail_free;
	{
		struct timeval tv = {.tv_sec = 1};

		setsockopt(mnl_socket_get_fd(n->rq), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	n->rq_portid = mnl_socket_get_portid(n->rq);
	return n;
fail_free:
	tp_neigh_destroy(n);
fail:
	return NULL;
}

void tp_neigh_destroy(struct tp_neigh *n)
{
	if (!n)
		return;
	for (unsigned i = 0; n->e && i < n->p.max_entries; i++) {
		if (n->e[i].used && n->e[i].pkts && n->e[i].since)
			release_all(n, &n->e[i], NULL);
		free(n->e[i].pkts);
		free(n->e[i].since);
	}
	if (n->ev)
		mnl_socket_close(n->ev);
	if (n->rq)
		mnl_socket_close(n->rq);
	free(n->e);
	free(n->ifindex);
	free(n->buf);
	free(n);
}

int tp_neigh_fd(const struct tp_neigh *n)
{
	return n->ev ? mnl_socket_get_fd(n->ev) : -1;
}

int tp_neigh_process(struct tp_neigh *n)
{
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(n->ev, n->buf, MNL_SOCKET_BUFFER_SIZE);

		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			/* ENOBUFS: notifications were lost; the table may be
			 * stale, so read it again. */
			if (errno == ENOBUFS)
				return tp_neigh_dump(n);
			return -errno;
		}
		tp_neigh_input(n, n->buf, (size_t)len);
	}
}

/* Send a request on rq and run its replies through cb until done. */
static int request(struct tp_neigh *n, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = ++n->seq;
	int rc;

	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(n->rq, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t len = mnl_socket_recvfrom(n->rq, n->buf, MNL_SOCKET_BUFFER_SIZE);

		if (len < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (!well_formed(n->buf, (size_t)len))
			return -EBADMSG;
		rc = mnl_cb_run(n->buf, (size_t)len, seq, n->rq_portid, cb, data);
	} while (rc > MNL_CB_STOP);
	return rc < 0 ? mnl_error() : 0;
}

int tp_neigh_dump(struct tp_neigh *n)
{
	char buf[NLMSG_ALIGN(sizeof(struct nlmsghdr)) + NLMSG_ALIGN(sizeof(struct ndmsg)) + 64];
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	if (!n->rq)
		return -ENOTCONN;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = AF_UNSPEC;
	return request(n, nlh, data_cb, n);
}

int tp_neigh_lookup(const struct tp_neigh *n, int ifindex, uint8_t family, const uint8_t *addr,
		    uint8_t mac[TP_NEIGH_MAC_LEN])
{
	const struct entry *e = find(n, ifindex, family, addr);

	if (!e || !usable(e))
		return -ENOENT;
	memcpy(mac, e->info.mac, TP_NEIGH_MAC_LEN);
	return 0;
}

int tp_neigh_resolve(struct tp_neigh *n, int ifindex, uint8_t family, const uint8_t *addr)
{
	char buf[NLMSG_ALIGN(sizeof(struct nlmsghdr)) + NLMSG_ALIGN(sizeof(struct ndmsg)) + 64];
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	if (!n->rq)
		return -ENOTCONN;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWNEIGH;
	/* NTF_USE: the kernel runs its resolution as if it had a packet to
	 * send (neigh_event_send); NLM_F_CREATE makes the entry if none. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (uint8_t)to_af(family);
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	mnl_attr_put(nlh, NDA_DST, addr_len(family), addr);
	return request(n, nlh, NULL, NULL);
}

int tp_neigh_hold(struct tp_neigh *n, int ifindex, uint8_t family, const uint8_t *addr, void *pkt)
{
	struct entry *e = find_or_add(n, ifindex, family, addr);
	uint64_t now = tp_clock_now(&n->p.clock);
	int rc = 0;

	if (!e)
		return -ENOSPC;
	if (usable(e)) {
		n->p.release(n->p.release_arg, pkt, e->info.mac);
		return 0;
	}
	if (e->count == n->p.queue_len)
		return -ENOSPC;
	/* One outstanding request per neighbour; ask again only once the
	 * previous one has had its hold time to succeed. */
	if (!e->resolve_ns || now - e->resolve_ns >= n->p.hold_ns) {
		rc = tp_neigh_resolve(n, ifindex, family, addr);
		if (rc && rc != -ENOTCONN)
			goto out;
		rc = 0;
		e->resolve_ns = now ? now : 1;
	}
	e->pkts[(e->head + e->count) % n->p.queue_len] = pkt;
	e->since[(e->head + e->count) % n->p.queue_len] = now;
	e->count++;
out:
	if (rc)
		maybe_free(e);
	return rc;
}

unsigned tp_neigh_expire(struct tp_neigh *n)
{
	uint64_t now = tp_clock_now(&n->p.clock);
	unsigned dropped = 0;

	for (unsigned i = 0; i < n->p.max_entries; i++) {
		struct entry *e = &n->e[i];

		while (e->used && e->count && now - e->since[e->head] >= n->p.hold_ns) {
			void *pkt = e->pkts[e->head];

			e->head = (e->head + 1) % n->p.queue_len;
			e->count--;
			dropped++;
			n->p.release(n->p.release_arg, pkt, NULL);
		}
		if (e->used)
			maybe_free(e);
	}
	return dropped;
}

struct route_reply {
	uint8_t family;
	int oif;
	bool has_gw;
	uint8_t gw[16];
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	struct route_reply *r = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_OIF:
		if (mnl_attr_get_payload_len(attr) == sizeof(uint32_t))
			r->oif = (int)mnl_attr_get_u32(attr);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_get_payload_len(attr) == addr_len(r->family)) {
			memcpy(r->gw, mnl_attr_get_payload(attr), addr_len(r->family));
			r->has_gw = true;
		}
		break;
	}
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	/* A route lookup answers with one RTM_NEWROUTE and no ACK. */
	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr_cb, data);
	return MNL_CB_STOP;
}

int tp_neigh_route(struct tp_neigh *n, uint8_t family, const uint8_t *dst, int *oif,
		   uint8_t nexthop[16])
{
	char buf[NLMSG_ALIGN(sizeof(struct nlmsghdr)) + NLMSG_ALIGN(sizeof(struct rtmsg)) + 64];
	struct route_reply r = {.family = family, .oif = 0};
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int rc;

	if (!n->rq)
		return -ENOTCONN;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)to_af(family);
	rtm->rtm_dst_len = (uint8_t)(addr_len(family) * 8);
	mnl_attr_put(nlh, RTA_DST, addr_len(family), dst);
	rc = request(n, nlh, route_cb, &r);
	if (rc)
		return rc;
	if (!r.oif)
		return -ENETUNREACH;
	*oif = r.oif;
	memset(nexthop, 0, 16);
	memcpy(nexthop, r.has_gw ? r.gw : dst, addr_len(family));
	return 0;
}

int tp_neigh_get(const struct tp_neigh *n, unsigned i, struct tp_neigh_info *out)
{
	unsigned seen = 0;

	for (unsigned k = 0; k < n->p.max_entries; k++) {
		if (!n->e[k].used)
			continue;
		if (seen++ == i) {
			*out = n->e[k].info;
			return 0;
		}
	}
	return -ENOENT;
}
