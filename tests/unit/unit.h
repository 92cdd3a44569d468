/*
 * Shared scaffolding of the Check unit-test programs: each file defines
 * its tests with START_TEST and ends with UNIT_MAIN("name", test, ...).
 */
#ifndef RTRW_UNIT_H
#define RTRW_UNIT_H

#include <check.h>
#include <stdlib.h>

static inline int
unit_run(const char *name, const TTest *const *tests, size_t n)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#define UNIT_MAIN(name, ...)                                                   \
	int main(void)                                                         \
	{                                                                      \
		const TTest *const tests[] = {__VA_ARGS__};                    \
		return unit_run(name, tests,                                   \
		                sizeof(tests) / sizeof(tests[0]));             \
	}

#endif
