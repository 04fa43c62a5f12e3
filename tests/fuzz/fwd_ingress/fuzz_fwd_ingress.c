// SPDX-License-Identifier: MIT
/*
 * Fuzz the transit stage behind the tunnel (the harness of tests/unit/fwd:
 * this TP with a live session to a remote TP). The fuzzer's bytes are
 * inner packets, encrypted by the remote peer's own engine, so they pass
 * decryption and the replay window and reach what a stock WireGuard peer
 * or a compromised TP controls: the packet parser, anti-spoofing, the flow
 * table and its quotas, the policy, rate limits, the Modbus profile glue
 * (rule 16, z2 -> z1 TCP 502) and the Ethernet rewrite.
 *
 * Input: byte 0, bit 0: advance the clock 100 ms first (buckets refill,
 * flows age; at most 60 s in all, so the session's keys never expire);
 * then records of [length, 2 bytes big-endian][inner packet], at most 16
 * and 1400 bytes each, sealed in order and run as one burst, so a flow
 * opened by one record (a SYN) is used by the next (a Modbus request).
 *
 * Invariant: every packet is accounted for exactly once — it leaves for
 * the zone port, or one drop counter (any reason) counts it, or it was a
 * keepalive — and nothing leaves through the transit port; after the
 * control thread and the worker poll ran, every mbuf is back in the pool.
 */
#include "../../lib/fwd_fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKTS       16
#define MAX_INNER      1400
#define STEP_NS	       100000000ull
#define ADVANCE_MAX_NS (60 * 1000000000ull)

static uint64_t start_ns;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tl_fwd_fuzz_init("fuzz_fwd_ingress");
	start_ns = H.now_ns;
	return 0;
}

/* The remote seals an inner packet to this TP: a transit frame, or NULL
 * when the engine refuses (it never should within the 60 s). */
static struct rte_mbuf *seal(const uint8_t *ip, size_t len)
{
	static uint8_t buf[2048];
	struct tp_tunnel_pkt p = {
		.data = buf, .len = (uint32_t)(TP_TUNNEL_HEADER_LEN + len), .cap = sizeof(buf)};

	memcpy(buf + TP_TUNNEL_HEADER_LEN, ip, len);
	if (!tp_tunnel_res_ok(tp_tunnel_encrypt(H.remote, H.remote_peer, &p)))
		return NULL;
	return h_transit_frame(buf, p.len);
}

static uint64_t accounted(void)
{
	struct tp_counters_totals t;
	uint64_t n = 0;

	tp_counters_sum(H.counters, &t);
	for (int r = 0; r < TP_DROP__COUNT; r++)
		n += t.drop[r];
	return n + t.stat[TP_STAT_TUNNEL_KEEPALIVES];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m[MAX_PKTS];
	uint16_t n = 0, out;
	uint64_t before;
	size_t off = 1;

	if (size < 1)
		return 0;
	if ((data[0] & 1) && H.now_ns - start_ns + STEP_NS <= ADVANCE_MAX_NS)
		H.now_ns += STEP_NS;
	while (n < MAX_PKTS && size - off >= 2) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];

		off += 2;
		if (len > size - off)
			len = size - off;
		if (len > MAX_INNER)
			len = MAX_INNER;
		m[n] = seal(data + off, len);
		if (!m[n])
			abort(); /* the session must stay usable */
		n++;
		off += len;
	}
	if (!n)
		return 0;
	before = accounted();
	out = h_run(TP_PORT_TRANSIT, m, n);
	h_flush();
	if (out + (accounted() - before) != n) {
		fprintf(stderr, "%u packets: %u forwarded, %llu counted\n", n, out,
			(unsigned long long)(accounted() - before));
		abort();
	}
	for (uint16_t i = 0; i < out; i++) {
		/* forwarded means an Ethernet frame towards the zone host */
		if (rte_pktmbuf_data_len(m[i]) < 14 + 20 ||
		    memcmp(rte_pktmbuf_mtod(m[i], uint8_t *), h_mac_nh, 6) != 0)
			abort();
		rte_pktmbuf_free(m[i]);
	}
	if (rte_ring_count(H.tx[TP_PORT_TRANSIT]) != 0)
		abort(); /* nothing of a decrypted packet goes back to transit */
	tl_fwd_fuzz_settle();
	return 0;
}
