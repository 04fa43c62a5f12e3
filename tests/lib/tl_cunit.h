/* SPDX-License-Identifier: MIT */
/*
 * The main() of a CUnit test of one suite: register the tests in order,
 * run them verbosely, exit 1 when an assertion or a test failed (a test
 * that dies in a fatal assertion counts too), 0 otherwise.
 */
#ifndef TL_CUNIT_H
#define TL_CUNIT_H

#include <CUnit/Basic.h>
#include <stddef.h>

struct tl_test {
	const char *name;
	CU_TestFunc fn;
};

#define TL_N_TESTS(t) (sizeof(t) / sizeof((t)[0]))

static inline int tl_cunit_run(const char *suite, const struct tl_test *t, size_t n)
{
	CU_pSuite s;
	unsigned fails;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite(suite, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		CU_add_test(s, t[i].name, t[i].fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}

#endif /* TL_CUNIT_H */
