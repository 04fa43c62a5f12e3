// SPDX-License-Identifier: MIT
/*
 * Fuzz the forwarding stages with arbitrary frames (the harness of
 * tests/unit/fwd: this TP with a live session to a remote TP). Input:
 * byte 0 selects the port (even: zone, odd: transit), the rest is the
 * frame. After each input everything handed to the control thread is
 * processed, frames sent are collected, and every mbuf must be back in
 * the pool: a stage that loses or double-frees a packet is caught here
 * (the mempool is not malloc, so LeakSanitizer would not see it).
 */
#include "../../lib/fwd_fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tl_fwd_fuzz_init("fuzz_fwd");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m[1];
	int role;
	uint8_t *p;

	if (size < 2 || size > 2000)
		return 0;
	role = data[0] & 1;
	m[0] = rte_pktmbuf_alloc(H.pool);
	if (!m[0])
		abort();
	p = (uint8_t *)rte_pktmbuf_append(m[0], (uint16_t)(size - 1));
	memcpy(p, data + 1, size - 1);
	if (h_run(role, m, 1) == 1)
		rte_pktmbuf_free(m[0]); /* would have gone out of the other port */
	h_flush();
	tl_fwd_fuzz_settle();
	return 0;
}
