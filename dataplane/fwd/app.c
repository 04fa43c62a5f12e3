// SPDX-License-Identifier: MIT
/*
 * Application profiles in the stages (DESIGN.md §2.3): after the flow
 * table admitted a packet, its payload is checked against the profile of
 * the deciding rule (tp_flow_app_check(), Modbus/TCP). Both ends check:
 * the egress TP before encrypting, the ingress TP after decrypting, and
 * the ingress check is authoritative (the sending TP may be compromised).
 *
 * State: per worker, app_drops[] counts dropped segments per rule id, an
 * open-addressed table written only by its worker (relaxed stores) and
 * summed by the control thread for tpctl, like the rule hits.
 */
#include "fwd_int.h"

_Static_assert(TP_DROP_MODBUS_NO_STREAM - TP_DROP_MODBUS_BAD_HEADER ==
		       TP_MODBUS_NO_STREAM - TP_MODBUS_BAD_HEADER,
	       "modbus drops follow enum tp_modbus_result");
_Static_assert(TP_MODBUS_BAD_HEADER == 1 && TP_MODBUS__COUNT == 7, "modbus results");

static void count(struct fwd_worker *w, uint32_t rule_id)
{
	uint32_t h = rule_id * 2654435761u;

	for (unsigned k = 0; k < 8; k++) {
		struct fwd_hit *s = &w->app_drops[(h + k) & (APP_DROP_SLOTS - 1)];

		if (s->id == rule_id || s->id == 0) {
			if (s->id == 0)
				__atomic_store_n(&s->id, rule_id, __ATOMIC_RELEASE);
			__atomic_store_n(&s->n, s->n + 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

enum tp_drop fwd_app_check(struct fwd_worker *w, const struct tp_engine *e,
			   const struct tp_flow_pkt *fp, const struct tp_decision *dec,
			   const uint8_t *ip)
{
	enum tp_modbus_result r = tp_flow_app_check(w->flows, e, fp, dec, ip);

	if (r == TP_MODBUS_OK)
		return TP_DROP_NONE;
	count(w, dec->rule_id);
	return tp_drop_from_modbus(r);
}

json_t *fwd_app_json(struct tp_fwd *f, const struct tp_engine *e)
{
	json_t *o = json_object();

	for (unsigned i = 0; i < f->n_workers; i++) {
		for (unsigned k = 0; k < APP_DROP_SLOTS; k++) {
			const struct fwd_hit *s = &f->w[i].app_drops[k];
			uint32_t id = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE);
			const struct tp_engine_rule_info *ri =
				e && id ? tp_engine_rule(e, id) : NULL;
			char key[TP_NAME_MAX + 16];
			json_t *old;

			if (!id)
				continue;
			snprintf(key, sizeof(key), "%u%s%s", id, ri ? ":" : "", ri ? ri->name : "");
			old = json_object_get(o, key);
			json_object_set_new(
				o, key,
				json_integer((old ? json_integer_value(old) : 0) +
					     (json_int_t)__atomic_load_n(&s->n, __ATOMIC_RELAXED)));
		}
	}
	return o;
}
