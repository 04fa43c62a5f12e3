/* SPDX-License-Identifier: MIT */
/*
 * The one-line flow notation of assertions and `tpolicy check`:
 *
 *   tcp 10.1.0.5:40000 -> 10.2.0.7:502
 *   udp [fd00:2::5]:4000 -> [fd00:4::9]:5000
 *   tcp 10.1.0.5 -> 10.2.0.7:502          (source port omitted: 0)
 *   icmp 10.1.0.5 -> 10.3.0.9 type 8 code 0
 *   icmpv6 fd00:1::5 -> fd00:3::9 type 128
 *   proto 47 10.1.0.5 -> 10.2.0.7         (any IP protocol by number)
 *
 * Protocols: tcp, udp, sctp, icmp, icmpv6, or "proto N". Both addresses are
 * of one family; icmp goes with IPv4 and icmpv6 with IPv6.
 */
#ifndef TP_POLICY_FLOWSPEC_H
#define TP_POLICY_FLOWSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "tp/policy/eval.h" /* tp_proto_has_ports(), tp_proto_is_icmp() */
#include "tp/policy/site.h"

#define TP_FLOWSPEC_ERR_MAX 128

/* Parse s into *out. On failure returns false and, when err is not NULL,
 * writes a short reason ("bad source address '10.1.0'"). */
bool tp_flowspec_parse(const char *s, struct tp_flow *out, char *err, size_t errlen);

/* Format f in the same notation (parseable back). */
const char *tp_flowspec_format(const struct tp_flow *f, char *buf, size_t len);

/* Protocol number for a name ("tcp" -> 6), -1 when unknown. Numbers written
 * in decimal ("47") are accepted too. */
int tp_proto_from_name(const char *s);

/* "tcp", "udp", ..., or the number in decimal (into buf). */
const char *tp_proto_name(unsigned proto, char *buf, size_t len);

#endif /* TP_POLICY_FLOWSPEC_H */
