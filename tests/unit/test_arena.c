#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "tests/unit/unit.h"

static int released;

static void
count_release(void *p)
{
	released += *(int *)p;
}

START_TEST(alloc_is_aligned_and_usable)
{
	struct arena a;

	arena_init(&a, 0);
	for (int i = 1; i < 100; i++) {
		char *p = arena_alloc(&a, (size_t)i);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % 16, 0);
		memset(p, 'x', (size_t)i);
	}
	arena_release(&a);
}
END_TEST

START_TEST(cap_is_enforced)
{
	struct arena a;

	arena_init(&a, 100000);
	ck_assert_ptr_nonnull(arena_alloc(&a, 50000));
	ck_assert_ptr_null(arena_alloc(&a, 60000));
	ck_assert_int_eq(a.over, 1);
	arena_reset(&a);
	ck_assert_int_eq(a.over, 0);
	ck_assert_ptr_nonnull(arena_alloc(&a, 90000));
	arena_release(&a);
}
END_TEST

START_TEST(big_allocations_and_reset)
{
	struct arena a;
	char *big;

	arena_init(&a, 0);
	ck_assert_ptr_nonnull(arena_alloc(&a, 10));
	big = arena_alloc(&a, 1 << 20);
	ck_assert_ptr_nonnull(big);
	memset(big, 1, 1 << 20);
	ck_assert_ptr_nonnull(arena_alloc(&a, 10));
	arena_reset(&a);
	ck_assert_uint_eq(a.used, 0);
	ck_assert_ptr_nonnull(arena_alloc(&a, 100));
	arena_release(&a);
}
END_TEST

START_TEST(defers_run_in_reverse_at_reset)
{
	struct arena a;
	static int one = 1, ten = 10;

	released = 0;
	arena_init(&a, 0);
	arena_defer(&a, count_release, &one);
	arena_defer(&a, count_release, &ten);
	ck_assert_int_eq(released, 0);
	arena_reset(&a);
	ck_assert_int_eq(released, 11);
	arena_reset(&a);
	ck_assert_int_eq(released, 11);
	arena_release(&a);
}
END_TEST

START_TEST(strings)
{
	struct arena a;

	arena_init(&a, 0);
	ck_assert_str_eq(arena_strdup(&a, "hello"), "hello");
	ck_assert_str_eq(arena_strndup(&a, "hello", 3), "hel");
	ck_assert_str_eq(arena_printf(&a, "%d-%s", 42, "x"), "42-x");
	arena_release(&a);
}
END_TEST

START_TEST(zalloc_zeroes)
{
	struct arena a;
	unsigned char *p;

	arena_init(&a, 0);
	p = arena_alloc(&a, 64);
	memset(p, 0xff, 64);
	arena_reset(&a);
	p = arena_zalloc(&a, 64);
	for (int i = 0; i < 64; i++)
		ck_assert_uint_eq(p[i], 0);
	arena_release(&a);
}
END_TEST

UNIT_MAIN("arena", alloc_is_aligned_and_usable, cap_is_enforced,
          big_allocations_and_reset, defers_run_in_reverse_at_reset, strings,
          zalloc_zeroes)
