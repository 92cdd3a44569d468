/*
 * Shared scaffolding of the Check unit-test programs: each file defines
 * its tests with START_TEST and ends with UNIT_MAIN("name", test, ...).
 */
#ifndef RTRW_UNIT_H
#define RTRW_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/*
 * CPU time this process has used, in milliseconds.  Worst-case tests
 * measure CPU rather than wall time so that a machine busy with other
 * work does not make them fail.
 */
static inline double
unit_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * The CPU budget of one worst-case input.  What these inputs really cost
 * is about a millisecond or less in a release build and a few under
 * ASan/UBSan; a quadratic regression costs seconds.  50 ms is generous
 * headroom between the two, so that the test never flakes and still
 * catches the regression.
 */
#define UNIT_CPU_BUDGET_MS 50.0

/*
 * Runs stmt once and fails the test when it used more than budget_ms of
 * CPU.  With UNIT_CPU_REPORT set in the environment the cost is printed,
 * which is how the figures in the notes were taken.
 */
#define UNIT_CPU_AT_MOST(budget_ms, what, stmt)                                \
	do {                                                                   \
		double t0_ = unit_cpu_ms(), used_;                             \
		stmt;                                                          \
		used_ = unit_cpu_ms() - t0_;                                   \
		if (getenv("UNIT_CPU_REPORT"))                                 \
			fprintf(stderr, "cpu: %-48s %8.3f ms\n", (what),       \
			        used_);                                        \
		ck_assert_msg(used_ <= (budget_ms),                            \
		              "%s took %.2f ms of CPU (budget %.0f ms)",       \
		              (what), used_, (double)(budget_ms));             \
	} while (0)

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
