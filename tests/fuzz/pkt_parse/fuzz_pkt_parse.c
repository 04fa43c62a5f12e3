// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the packet parser. The first byte picks the entry
 * point (Ethernet frame or bare IP packet); the rest is the packet. Checks
 * the descriptor's invariants on every accepted packet: offsets inside the
 * buffer, lengths consistent, a TCP payload inside its segment, a quote
 * only in an ICMP error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp/dp/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_pkt_info pi;
	enum tp_pkt_result r;
	uint8_t *buf;

	if (size < 1)
		return 0;
	/* an exact-size heap copy so ASan catches any read past the end */
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	if (data[0] & 1)
		r = tp_pkt_parse_ip(buf, size - 1, &pi);
	else
		r = tp_pkt_parse_eth(buf, size - 1, &pi);
	if (r == TP_PKT_OK) {
		if (pi.l4_off < pi.l3_off || pi.l3_off + (size_t)pi.ip_len > size - 1 ||
		    (size_t)pi.l4_off + pi.l4_len > pi.l3_off + (size_t)pi.ip_len ||
		    (pi.family != 4 && pi.family != 6))
			abort();
		if ((pi.flags & TP_PKT_F_ICMP_ERROR) && pi.inner_off > size - 1)
			abort();
		/* a quote only in an error; a TCP payload inside the segment */
		if ((pi.flags & TP_PKT_F_QUOTE) && !(pi.flags & TP_PKT_F_ICMP_ERROR))
			abort();
		if (pi.proto == TP_IPPROTO_TCP &&
		    (pi.payload_off < pi.l4_off + 20u ||
		     (size_t)pi.payload_off + pi.payload_len != (size_t)pi.l4_off + pi.l4_len))
			abort();
	} else if (r >= TP_PKT__COUNT) {
		abort();
	}
	free(buf);
	return 0;
}
