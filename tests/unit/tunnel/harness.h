/* SPDX-License-Identifier: MIT */
/*
 * Two (or more) tunnel engines joined by an in-memory network and a shared
 * simulated clock. Messages a node emits through ops->send are queued in its
 * outbox; pump() delivers them (handshake messages to the control path, data
 * to the worker path) and records every result.
 */
#ifndef TEST_TUNNEL_HARNESS_H
#define TEST_TUNNEL_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/dp/tunnel.h"

enum { MAX_MSGS = 4096, MSG_CAP = 1600 };

struct msg {
	struct tp_tunnel_endpoint dst;
	uint32_t len;
	uint8_t buf[MSG_CAP];
};

struct node {
	struct tp_tunnel *tun;
	struct tp_tunnel_peer *peer; /* its view of the other node */
	struct tp_tunnel_endpoint ep;
	uint8_t priv[32], pub[32];
	struct msg *out;
	unsigned nout;
	bool congested;
	uint64_t results[TP_TUNNEL_RES_COUNT]; /* of messages delivered to it */
	unsigned inner_rx;		       /* data packets delivered (non-keepalive) */
	uint8_t last_inner[MSG_CAP];
	uint32_t last_inner_len;
	unsigned events[3];
	unsigned retired;	    /* objects (keypairs, peers) retired */
	unsigned retire_violations; /* of those, retired while still reachable */
};

extern uint64_t sim_now_ns;
/* added to the wall clock of every node (a clock stepped back or forth) */
extern int64_t sim_wall_step_ns;
/* inner MTUs node_init() configures (0: the engine's defaults) */
extern uint16_t harness_mtu, harness_mtu6;

void node_init(struct node *n, uint32_t ipv4, uint16_t port);
void node_fini(struct node *n);
/* Make a and b peers of each other (optionally with a PSK). */
void nodes_pair(struct node *a, struct node *b, const uint8_t *psk, bool a_knows_b_endpoint,
		bool b_knows_a_endpoint);
/* Deliver a's outbox to b; returns messages delivered. */
unsigned deliver(struct node *from, struct node *to);
/* Deliver both ways until quiet. */
void pump(struct node *a, struct node *b);
void tick_both(struct node *a, struct node *b);
/* Advance time by ns in steps of step_ns, ticking and pumping. */
void advance(struct node *a, struct node *b, uint64_t ns, uint64_t step_ns);
/* Build an IPv4/ICMP packet of len bytes at buf (len >= 28). */
void make_inner(uint8_t *buf, uint32_t len, uint32_t seq);
/* Encrypt one inner packet of len bytes from n to its peer into n's outbox. */
enum tp_tunnel_res send_data(struct node *n, uint32_t len, uint32_t seq);

#endif
