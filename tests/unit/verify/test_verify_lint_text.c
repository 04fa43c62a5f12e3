// SPDX-License-Identifier: MIT
/*
 * Check 5 (conduit analysis) does not depend on the text of lint's
 * messages: this test links its own tp_lint_format in place of lint's, and
 * renders every finding as a message made to mislead a text parser (it
 * names an assertion, an expiry, a shadowing and a conduit id that exists
 * nowhere). Check 5 must still report the shadowed, redundant and
 * conflicting conduits with their kinds and conduit ids, and still leave
 * failed assertions and expired conduits to checks 4 and 10.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp/policy/export.h"
#include "tp/policy/lint.h"
#include "tp/policy/verify.h"
#include "tp/policy/yaml.h"

#define NOW 1795824000 /* 2026-11-28T00:00:00Z */

static unsigned renders;

/* Replaces policy/lint/render.c at link time. */
const char *tp_lint_format(const struct tp_site *site, const struct tp_lint_finding *f, char *buf,
			   size_t len)
{
	(void)site;
	(void)f;
	renders++;
	snprintf(buf, len, "assertion expired: conduit 999 is shadowed by conduit 998");
	return buf;
}

#define HEAD                                                             \
	"transition_points:\n"                                           \
	"  - name: t1\n"                                                 \
	"    public_key: wolAzYbT7DPJfJ+ME+cNjQk9u/XNXumtMTUIJq8q1Rg=\n" \
	"    endpoints: [192.0.2.11:51820]\n"                            \
	"  - name: t2\n"                                                 \
	"    public_key: 3bHYqyx44bQcXjypW2K3wxm8hDjXnsX7vOJU97Bd4Cs=\n" \
	"    endpoints: [192.0.2.12:51820]\n"                            \
	"zones:\n"                                                       \
	"  - { name: a, id: 1, tp: t1, prefixes: [10.1.0.0/16] }\n"      \
	"  - { name: b, id: 2, tp: t2, prefixes: [10.2.0.0/16] }\n"      \
	"conduits:\n"                                                    \
	"  - { id: 10, from: a, to: b, action: allow, proto: tcp, dst_ports: [502] }\n"

struct run {
	struct tp_site *site;
	struct tp_export *x[2];
	struct tp_verify_report rep;
};

static void run(struct run *r, const char *yaml)
{
	struct tp_diags d;
	struct tp_verify_input in = {0};

	memset(r, 0, sizeof(*r));
	tp_diag_init(&d, "t.yaml");
	r->site = tp_yaml_read(yaml, strlen(yaml), &d, NULL);
	if (!r->site)
		tp_diag_print(&d, stderr);
	tp_diag_free(&d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r->site);
	for (uint32_t t = 0; t < 2; t++) {
		r->x[t] = tp_export_intent(r->site, t, NULL, NULL, 0, NOW);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r->x[t]);
		r->x[t]->kind = TP_EXPORT_EFFECTIVE;
	}
	in.exports = r->x;
	in.n_exports = 2;
	in.site = r->site;
	in.now = NOW;
	CU_ASSERT_EQUAL_FATAL(tp_verify_run(&in, &r->rep), 0);
}

static void done(struct run *r)
{
	tp_export_free(r->x[0]);
	tp_export_free(r->x[1]);
	tp_verify_report_free(&r->rep);
	tp_site_free(r->site);
}

/* The check-5 findings whose message starts with kind and whose conduit
 * ids are exactly a, b. */
static size_t rules_findings(const struct run *r, const char *kind, uint32_t a, uint32_t b)
{
	size_t n = 0;

	for (size_t i = 0; i < r->rep.n_findings; i++) {
		const struct tp_verify_finding *f = &r->rep.findings[i];

		if (f->check == TP_VERIFY_RULES && f->fail &&
		    !strncmp(f->msg, kind, strlen(kind)) && f->n_rules == 2 && f->rules[0] == a &&
		    f->rules[1] == b)
			n++;
	}
	return n;
}

static size_t count(const struct run *r, enum tp_verify_check k)
{
	size_t n = 0;

	for (size_t i = 0; i < r->rep.n_findings; i++)
		n += r->rep.findings[i].check == k;
	return n;
}

static void test_kinds_not_text(void)
{
	struct run r;

	renders = 0;
	run(&r, HEAD "  - { id: 5, from: a, to: b, action: deny, proto: tcp, dst_ports: [502] }\n");
	CU_ASSERT_TRUE(r.rep.failed[TP_VERIFY_RULES]);
	CU_ASSERT_EQUAL(rules_findings(&r, "shadowed: ", 10, 5), 1);
	CU_ASSERT_TRUE(renders > 0); /* the replacement was linked */
	done(&r);

	run(&r,
	    HEAD "  - { id: 11, from: a, to: b, action: allow, proto: tcp, dst_ports: [502] }\n");
	CU_ASSERT_EQUAL(rules_findings(&r, "redundant: ", 11, 10), 1);
	done(&r);

	run(&r, HEAD "  - { id: 13, from: a, to: b, action: deny, proto: tcp, "
		     "dst_ports: [500-502] }\n");
	/* 10 inside 13: shadowed; a partial overlap is a conflict */
	CU_ASSERT_EQUAL(rules_findings(&r, "shadowed: ", 10, 13), 1);
	done(&r);
	run(&r, HEAD "  - { id: 14, from: a, to: b, action: deny, proto: tcp, "
		     "src_ports: [1000-2000] }\n");
	CU_ASSERT_EQUAL(rules_findings(&r, "conflicting: ", 10, 14), 1);
	done(&r);
}

static void test_other_checks_keep_theirs(void)
{
	struct run r;

	/* a failed assertion is check 4's; an expired conduit check 10's,
	 * whatever their messages say; nothing here is a check-5 finding */
	run(&r, HEAD "  - { id: 20, from: b, to: a, action: allow, proto: udp, dst_ports: [53],\n"
		     "      not_after: 2020-01-01T00:00:00Z }\n"
		     "assertions:\n"
		     "  - { name: x, must_deny: \"tcp 10.1.0.5:40000 -> 10.2.0.5:502\" }\n");
	CU_ASSERT_TRUE(r.rep.failed[TP_VERIFY_ASSERTIONS]);
	CU_ASSERT_EQUAL(count(&r, TP_VERIFY_RULES), 0);
	CU_ASSERT_FALSE(r.rep.failed[TP_VERIFY_RULES]);
	done(&r);
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("verify_lint_text", NULL, NULL);
	CU_add_test(s, "check 5 reads kinds and ids, not text", test_kinds_not_text);
	CU_add_test(s, "assertions and expiry stay with checks 4 and 10",
		    test_other_checks_keep_theirs);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
