/* SPDX-License-Identifier: MIT */
/*
 * The Modbus/TCP application profile (OT-FACTS.md): a checker of the
 * client->server byte stream of one TCP connection against a compiled
 * profile (allowed unit ids, function codes, data address ranges).
 *
 * Plain C, no DPDK, no allocation: the engine compiles a rule's profile
 * into a struct tp_modbus_rules it owns (tp/policy/engine.h), the flow table keeps
 * one struct tp_modbus_stream per flow (tp/policy/flow.h) and feeds it the
 * client's TCP segments in the order they cross the TP.
 *
 * Several profiles may apply to one connection (one per matching allow
 * rule, DESIGN.md §7.3): a request passes when one of them admits it
 * whole, never by taking its unit id from one profile and its function
 * code from another. A request no profile admits is refused with the
 * reason of the profile that admitted most of it (the earliest listed
 * among equals): what one profile alone would report.
 *
 * What a request must satisfy (else the whole segment holding the byte
 * that completes the offending field is refused, and the stream state is
 * left as it was before that segment):
 *   bad_header  MBAP protocol id not 0, length outside 2..254 (ADU > 260),
 *               or a data-addressing request whose fixed fields are
 *               inconsistent: PDU length not what the function code
 *               implies, byte count not matching the quantity, quantity 0
 *               or above the function's limit, start + quantity past 65535
 *   unit        unit id not allowed
 *   function    function code not allowed (requests never carry the
 *               exception bit 0x80, nor code 0: those are refused even
 *               when the profile allows any code)
 *   register    for functions 1, 2, 3, 4, 5, 6, 15, 16, 22 and 23 (its
 *               read and its write range), [start, start + quantity - 1]
 *               is not inside one allowed range (adjacent or overlapping
 *               ranges of a profile are merged at compile)
 *   out_of_order  payload that starts after the checked stream (a gap:
 *               TCP retransmits in order), data after the client's FIN,
 *               or a retransmission the checker cannot prove identical to
 *               what it checked (below)
 *   no_stream   payload on a connection whose start the TP did not see
 *               (flow created mid-stream or its state evicted): fail
 *               closed, there is no mid-stream pickup
 *   retransmit_differs  a retransmission whose already-checked bytes
 *               differ from the bytes that were checked
 *
 * Retransmissions. A receiver keeps, of two copies of a byte, whichever
 * its stack prefers (Linux: the first for bytes below its rcv_nxt, the
 * new one above), so a retransmission may be let through only when its
 * already-checked bytes are those checked: the server then sees the
 * checked stream whatever it keeps. The checker remembers the last
 * TP_MODBUS_SEGS accepted stretches of the stream (contiguous, oldest
 * first) as a start, lengths and a keyed MAC (SipHash-2-4 under a secret
 * key of the caller's) of each. A segment that starts at a remembered
 * stretch and covers whole stretches up to the end of the checked stream
 * (an exact retransmission, or several segments coalesced into one, as
 * Linux does after a loss) is compared stretch by stretch; bytes past the
 * checked stream are parsed as new data and become a stretch of their
 * own. One that differs is refused (retransmit_differs); one that starts
 * or ends inside a stretch, or before the oldest remembered one, cannot
 * be compared and is refused as out_of_order (a stack that re-cuts its
 * segments at the same MSS never sends one).
 *
 * Stream state (struct tp_modbus_stream, 64 bytes, one cache line when
 * the array holding it is so aligned, as the flow table's is): the end of the
 * checked stream, the framing parser there, and the remembered stretches.
 * The parser holds the first bytes of the current ADU until the fields to
 * check are complete (at most TP_MODBUS_HDR_MAX), then only counts the
 * bytes left in that ADU. ADUs split across segments at any byte and
 * several ADUs in a segment are handled the same way. Responses
 * (server->client) are not parsed: the profile restricts what a client
 * may ask.
 */
#ifndef TP_POLICY_MODBUS_H
#define TP_POLICY_MODBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tp/policy/site.h"

#define TP_MODBUS_PORT	     502
#define TP_MODBUS_MBAP_LEN   7	 /* transaction id, protocol id, length, unit id */
#define TP_MODBUS_ADU_MAX    260 /* MBAP + PDU of at most 253 bytes */
#define TP_MODBUS_LENGTH_MIN 2	 /* unit id + function code */
#define TP_MODBUS_LENGTH_MAX 254 /* unit id + PDU of 253 */
/* Bytes of an ADU the checker needs before deciding: MBAP, function code
 * and the 9 fixed bytes of read/write multiple registers (23). */
#define TP_MODBUS_HDR_MAX    17

/* Function codes (requests). */
enum tp_modbus_fc {
	TP_MODBUS_FC_READ_COILS = 1,
	TP_MODBUS_FC_READ_DISCRETE_INPUTS = 2,
	TP_MODBUS_FC_READ_HOLDING_REGISTERS = 3,
	TP_MODBUS_FC_READ_INPUT_REGISTERS = 4,
	TP_MODBUS_FC_WRITE_SINGLE_COIL = 5,
	TP_MODBUS_FC_WRITE_SINGLE_REGISTER = 6,
	TP_MODBUS_FC_WRITE_MULTIPLE_COILS = 15,
	TP_MODBUS_FC_WRITE_MULTIPLE_REGISTERS = 16,
	TP_MODBUS_FC_MASK_WRITE_REGISTER = 22,
	TP_MODBUS_FC_READ_WRITE_MULTIPLE_REGISTERS = 23,
	TP_MODBUS_FC_EXCEPTION_BIT = 0x80,
};

/* Results of the checker, as an X-macro: X(NAME, "name"). OK first. */
#define TP_MODBUS_RESULTS(X)                   \
	X(OK, "ok")                            \
	X(BAD_HEADER, "modbus_bad_header")     \
	X(UNIT, "modbus_unit")                 \
	X(FUNCTION, "modbus_function")         \
	X(REGISTER, "modbus_register")         \
	X(OUT_OF_ORDER, "modbus_out_of_order") \
	X(NO_STREAM, "modbus_no_stream")       \
	X(RETRANSMIT_DIFFERS, "modbus_retransmit_differs")

enum tp_modbus_result {
#define X(name, str) TP_MODBUS_##name,
	TP_MODBUS_RESULTS(X)
#undef X
		TP_MODBUS__COUNT
};

const char *tp_modbus_result_name(enum tp_modbus_result r);

/* A compiled profile. ranges points into memory the compiler owns; sorted,
 * merged (no two overlap or touch). all_registers: the profile named no
 * range (any address). Read only once built: shared by every worker. */
struct tp_modbus_rules {
	uint64_t unit[4]; /* bitmap of allowed unit ids */
	uint64_t fc[4];	  /* bitmap of allowed function codes (never 0, never >= 0x80) */
	bool all_registers;
	uint32_t n_ranges;
	const struct tp_u16_range *ranges;
};

/* Compile p into out. ranges must have room for p->n_registers entries
 * and stays referenced by out. False (out unusable) when a range is
 * inverted or a function code is 0 or has the exception bit. */
bool tp_modbus_rules_build(const struct tp_modbus_profile *p, struct tp_u16_range *ranges,
			   struct tp_modbus_rules *out);

/* Profiles one connection may be checked against at once: the engine
 * refuses a zone pair with more profile rules (tp/policy/engine.h). */
#define TP_MODBUS_PROFILES_MAX 32
/* Accepted stretches of the client stream remembered for retransmissions:
 * three keep the state in one cache line (tp_modbus_stream). */
#define TP_MODBUS_SEGS	       3
#define TP_MODBUS_KEY_BYTES    16

/* What a client stream is checked against: a request passes when one of
 * rules[0..n) admits it whole (n >= 1; listed by rule id, which only
 * decides which reason a refused request reports). key: a secret of
 * TP_MODBUS_KEY_BYTES for the MACs of checked stretches, the same for
 * every segment of a stream and unknown to its clients. */
struct tp_modbus_check {
	const struct tp_modbus_rules *rules[TP_MODBUS_PROFILES_MAX];
	uint32_t n;
	const uint8_t *key;
};

/* Framing of the client stream, independent of the profiles. */
struct tp_modbus_parser {
	uint8_t hdr[TP_MODBUS_HDR_MAX]; /* first bytes of the current ADU */
	uint8_t have;			/* bytes in hdr */
	uint16_t skip;			/* bytes of the current ADU past the check */
};

struct tp_modbus_stream {
	struct tp_modbus_parser cur;	  /* at next_seq */
	uint8_t synced;			  /* the SYN was seen: next_seq is known */
	uint8_t data;			  /* payload accepted since the SYN */
	uint8_t fin;			  /* the client sent its FIN (at next_seq) */
	uint8_t n_segs;			  /* remembered stretches, <= TP_MODBUS_SEGS */
	uint32_t next_seq;		  /* end of the checked stream (FIN not counted) */
	uint32_t seg_seq;		  /* start of the oldest remembered stretch */
	uint16_t seg_len[TP_MODBUS_SEGS]; /* oldest first, contiguous up to next_seq */
	uint16_t pad;
	uint64_t seg_mac[TP_MODBUS_SEGS]; /* SipHash-2-4 of each stretch's bytes */
};

/* A stream of a connection whose start was not seen: refuses payload
 * until a SYN from the client starts it. (All zeros is the same state.) */
void tp_modbus_stream_init(struct tp_modbus_stream *s);

/* One TCP segment from the client: sequence number, TCP flags (TP_TCP_*
 * of tp/policy/flow.h: SYN 0x02, FIN 0x01, RST 0x04, ACK 0x10) and payload
 * (at most 65535 bytes, as an IP packet can carry). Updates s only when
 * the segment is accepted. Segments without payload pass (a SYN starts
 * the stream: only before any payload was accepted or after the client's
 * FIN, so that a forged SYN cannot resynchronise the checker mid-stream
 * against the server's view). */
enum tp_modbus_result tp_modbus_segment(struct tp_modbus_stream *s, const struct tp_modbus_check *c,
					uint32_t seq, uint8_t tcp_flags, const uint8_t *payload,
					size_t len);

/* The framing step on its own: parse len bytes from p against c's
 * profiles (c->key unused). On TP_MODBUS_OK *p is the state after them;
 * on a violation *p is unspecified (tp_modbus_segment() works on a copy). */
enum tp_modbus_result tp_modbus_parse(struct tp_modbus_parser *p, const struct tp_modbus_check *c,
				      const uint8_t *data, size_t len);

#endif /* TP_POLICY_MODBUS_H */
