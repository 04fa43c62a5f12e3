// SPDX-License-Identifier: MIT
/*
 * Application profiles in the stages (DESIGN.md §2.3): after the flow
 * table admitted a packet, its payload is checked against the profiles of
 * the matching allow rules, a request passing if one of them admits it
 * (tp_flow_app_check(), Modbus/TCP; DESIGN.md §7.3). Both ends check:
 * the egress TP before encrypting, the ingress TP after decrypting, and
 * the ingress check is authoritative (the sending TP may be compromised).
 *
 * State: none of its own; dropped segments are counted per rule in the
 * worker's hit slots beside the rule's hits (fwd_hit_profile), against
 * the rule the decision names (the matching allow with the smallest id),
 * whichever profiles refused it.
 */
#include "fwd_int.h"

_Static_assert(TP_DROP_MODBUS_RETRANSMIT_DIFFERS - TP_DROP_MODBUS_BAD_HEADER ==
		       TP_MODBUS_RETRANSMIT_DIFFERS - TP_MODBUS_BAD_HEADER,
	       "modbus drops follow enum tp_modbus_result");
_Static_assert(TP_MODBUS_BAD_HEADER == 1 && TP_MODBUS__COUNT == 8, "modbus results");

enum tp_drop fwd_app_check(struct fwd_worker *w, const struct tp_engine *e,
			   const struct tp_flow_pkt *fp, const struct tp_decision *dec,
			   const uint8_t *ip)
{
	enum tp_modbus_result r = tp_flow_app_check(w->flows, e, fp, dec, ip);

	if (r == TP_MODBUS_OK)
		return TP_DROP_NONE;
	fwd_hit_profile(w, dec->rule_id);
	return tp_drop_from_modbus(r);
}
