#include <stdint.h>

#include "money.h"
#include "tests/unit/unit.h"

/*
 * The pro-rata rounding of speed boost prices (API.md: round_half_up of
 * (boost.price - base.price) * duration_hours / 720 to the cent).  The
 * expected values were worked out with Python's decimal module
 * (ROUND_HALF_UP), independently of the code.
 */
START_TEST(prorate_cases)
{
	int64_t c;

	/* 50000.00 * 24 / 720 = 1666.6666... -> 1666.67 */
	ck_assert_int_eq(money_prorate(5000000, 24, 720, &c), 0);
	ck_assert_int_eq(c, 166667);
	/* 0.01 * 360 / 720 = 0.005 exactly: half goes up to 0.01. */
	ck_assert_int_eq(money_prorate(1, 360, 720, &c), 0);
	ck_assert_int_eq(c, 1);
	/* 0.01 * 359 / 720 = 0.00498... -> 0.00 */
	ck_assert_int_eq(money_prorate(1, 359, 720, &c), 0);
	ck_assert_int_eq(c, 0);
	/* 0.03 * 120 / 720 = 0.005 -> 0.01; 119 hours -> 0.00. */
	ck_assert_int_eq(money_prorate(3, 120, 720, &c), 0);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(money_prorate(3, 119, 720, &c), 0);
	ck_assert_int_eq(c, 0);
	/* 100000.00 * 1 / 720 = 138.888... -> 138.89 */
	ck_assert_int_eq(money_prorate(10000000, 1, 720, &c), 0);
	ck_assert_int_eq(c, 13889);
	/* 720 hours is the whole difference. */
	ck_assert_int_eq(money_prorate(12345678, 720, 720, &c), 0);
	ck_assert_int_eq(c, 12345678);
	/* Zero and negative amounts: half away from zero. */
	ck_assert_int_eq(money_prorate(0, 5, 720, &c), 0);
	ck_assert_int_eq(c, 0);
	ck_assert_int_eq(money_prorate(-1, 360, 720, &c), 0);
	ck_assert_int_eq(c, -1);
	ck_assert_int_eq(money_prorate(-1, 359, 720, &c), 0);
	ck_assert_int_eq(c, 0);
	/* The largest price the API accepts (12 integer digits) fits. */
	ck_assert_int_eq(money_prorate(INT64_C(99999999999999), 720, 720, &c),
	                 0);
	ck_assert_int_eq(c, INT64_C(99999999999999));
	ck_assert_int_eq(money_prorate(INT64_C(99999999999999), 7, 720, &c), 0);
	ck_assert_int_eq(c, INT64_C(972222222222)); /* 9722222222.2222 */
}
END_TEST

START_TEST(prorate_refuses)
{
	int64_t c = 42;

	ck_assert_int_eq(money_prorate(100, 1, 0, &c), -1);
	ck_assert_int_eq(money_prorate(100, 1, -720, &c), -1);
	ck_assert_int_eq(money_prorate(100, -1, 720, &c), -1);
	ck_assert_int_eq(money_prorate(INT64_MAX, 720, 720, &c), -1);
	ck_assert_int_eq(money_prorate(INT64_MIN, 1, 720, &c), -1);
	ck_assert_int_eq(money_prorate(INT64_C(1) << 62, 2, 720, &c), -1);
	ck_assert_int_eq(c, 42);
}
END_TEST

/*
 * Every amount up to 20.00 at every duration against the textbook
 * formula floor((2 * a * h + 720) / 1440), which rounds half up for
 * non-negative values by another route.
 */
START_TEST(prorate_matches_reference)
{
	int64_t c;

	for (int64_t a = 0; a <= 2000; a++)
		for (int64_t h = 1; h <= 720; h++) {
			ck_assert_int_eq(money_prorate(a, h, 720, &c), 0);
			if (c != (2 * a * h + 720) / 1440)
				ck_abort_msg("%lld cents for %lld hours: %lld",
				             (long long)a, (long long)h,
				             (long long)c);
		}
}
END_TEST

UNIT_MAIN("money", prorate_cases, prorate_refuses, prorate_matches_reference)
