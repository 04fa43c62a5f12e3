/* SPDX-License-Identifier: MIT */
/*
 * Internals of the verifier shared by its files: the run context, how a
 * finding is recorded, and the flow helpers the checks share.
 */
#ifndef TP_VERIFY_INT_H
#define TP_VERIFY_INT_H

#include "tp/policy/eval.h"
#include "tp/policy/space.h"
#include "tp/policy/verify.h"

struct vctx {
	const struct tp_verify_input *in;
	struct tp_verify_report *rep;
	size_t cap;
	const struct tp_site *ref; /* == rep->site */
	/* per TP of ref: its export (NULL if none) and the site as that TP
	 * enforces it (NULL without a policy) */
	const struct tp_export **by_tp;
	struct tp_site **eff;
	bool oom;
};

void tp_verify_add(struct vctx *c, enum tp_verify_check check, bool fail, const char *tp,
		   const char *from, const char *to, const uint32_t *rules, size_t n_rules,
		   const struct tp_flow *flow, const char *fmt, ...)
	__attribute__((format(printf, 10, 11)));

/* Name of zone z in s ("?" when out of range). */
const char *tp_verify_zone(const struct tp_site *s, uint32_t z);

/* End-to-end effective decision of a cell from zone a to zone b (names in
 * the reference): the sending TP's and the receiving TP's effective sites
 * must both allow. *known is false when an export is missing. */
void tp_verify_effective(struct vctx *c, const char *a, const char *b, const struct tp_cell *cell,
			 struct tp_decision *out, bool *known);

/* A flow rule r matches, between its zones in s, decided at now by s as
 * the rule says (other == NULL), or matched by both r and other. */
bool tp_verify_witness(const struct tp_site *s, const struct tp_rule *r,
		       const struct tp_rule *other, struct tp_flow *out);

void tp_verify_check_integrity(struct vctx *c);
void tp_verify_check_drift(struct vctx *c);
void tp_verify_check_matrix(struct vctx *c);
void tp_verify_check_assertions(struct vctx *c);
void tp_verify_check_rules(struct vctx *c);
void tp_verify_check_stateful(struct vctx *c);
void tp_verify_check_tunnels(struct vctx *c);
void tp_verify_check_blackholes(struct vctx *c);
void tp_verify_check_encryption(struct vctx *c);
void tp_verify_check_lifecycle(struct vctx *c);

#endif /* TP_VERIFY_INT_H */
