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

/*
 * A reset wipes what the request used in the block it keeps: a password
 * left there would otherwise sit in memory until a later request happened
 * to overwrite it.  The kept block is the first one of the default size,
 * so the next allocation after the reset lands on the same bytes.
 */
START_TEST(reset_wipes_the_kept_block)
{
	static const char secret[] = "pppoe-secret-password";
	struct arena a;
	char *p, *q, *big;
	size_t used;

	arena_init(&a, 0);
	p = arena_alloc(&a, sizeof(secret));
	memcpy(p, secret, sizeof(secret));
	/* More in the same block, and a big block that is freed. */
	q = arena_strdup(&a, "refresh-token-0123456789abcdef");
	ck_assert_ptr_nonnull(q);
	used = a.used;
	big = arena_alloc(&a, 1 << 20);
	memset(big, 'x', 1 << 20);
	arena_reset(&a);
	q = arena_alloc(&a, used);
	ck_assert_ptr_eq(q, p);
	for (size_t i = 0; i < used; i++)
		ck_assert_msg(q[i] == 0, "byte %zu survived the reset", i);
	arena_release(&a);
}
END_TEST

/*
 * The wipe covers only what was handed out, so a reset costs what the
 * request wrote and not the size of the block: with a 16 MiB block and a
 * few bytes used, 1000 resets that wiped whole blocks would clear 16 GB
 * (seconds); wiping the used part is a fraction of a millisecond.
 */
START_TEST(reset_wipes_only_what_was_used)
{
	struct arena a;

	arena_init(&a, 64 * 1024 * 1024);
	a.block_size = 16 * 1024 * 1024;
	UNIT_CPU_AT_MOST(
	    UNIT_CPU_BUDGET_MS, "arena: 1000 resets of 16 MiB",
	    for (int i = 0; i < 1000; i++) {
		    char *p = arena_alloc(&a, 32);

		    ck_assert_ptr_nonnull(p);
		    memset(p, 'S', 32);
		    arena_reset(&a);
	    });
	/* The block is kept across resets, and what was written is gone. */
	ck_assert_ptr_nonnull(a.head);
	ck_assert_uint_eq(((unsigned char *)arena_alloc(&a, 32))[0], 0);
	arena_release(&a);
}
END_TEST

/* A big block is freed at reset; the default-size block is the one kept. */
START_TEST(reset_keeps_a_default_block)
{
	struct arena a;
	char *p;

	arena_init(&a, 0);
	/* The first allocation is big: no default block to keep. */
	ck_assert_ptr_nonnull(arena_alloc(&a, 1 << 20));
	arena_reset(&a);
	ck_assert_ptr_null(a.head);
	p = arena_alloc(&a, 10);
	ck_assert_ptr_nonnull(arena_alloc(&a, 1 << 20));
	arena_reset(&a);
	ck_assert_ptr_nonnull(a.head);
	ck_assert_ptr_eq(arena_alloc(&a, 10), p);
	arena_release(&a);
}
END_TEST

UNIT_MAIN("arena", alloc_is_aligned_and_usable, cap_is_enforced,
          big_allocations_and_reset, defers_run_in_reverse_at_reset, strings,
          zalloc_zeroes, reset_wipes_the_kept_block,
          reset_wipes_only_what_was_used, reset_keeps_a_default_block)
