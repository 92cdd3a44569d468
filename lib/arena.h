/*
 * Per-request memory arena.
 *
 * Every request gets one arena.  Handlers allocate from it and never call
 * free(): everything goes at once when the arena is reset after the response
 * is written.  Foreign handles (cJSON trees, MYSQL_RES pointers) are
 * registered with arena_defer() and released at reset, in reverse order.
 *
 * The arena has a hard byte cap.  An allocation that would pass it returns
 * NULL and sets the arena's "over" flag, so that the request fails cleanly
 * with 500 instead of the worker growing without bound.  A failed malloc()
 * of the underlying block aborts the worker; the master restarts it.
 */
#ifndef RTRW_ARENA_H
#define RTRW_ARENA_H

#include <stddef.h>

struct arena_block;
struct arena_defer;

struct arena {
	struct arena_block *head;   /* current block, newest first */
	struct arena_defer *defers; /* cleanups, newest first */
	size_t used;                /* bytes handed out since the last reset */
	size_t cap;                 /* hard limit on used */
	size_t block_size;          /* default size of a new block */
	int over;                   /* set when an allocation hit the cap */
};

/* Prepares an empty arena with a byte cap (0 means 8 MiB). */
void arena_init(struct arena *a, size_t cap);

/*
 * Runs the deferred cleanups, wipes (explicit_bzero) the used part of
 * every block and frees every block but the first, so that nothing a
 * request held, passwords included, outlives it in memory.
 */
void arena_reset(struct arena *a);

/* Runs the deferred cleanups, wipes and frees every block. */
void arena_release(struct arena *a);

/*
 * Returns n bytes aligned for any type, or NULL when the cap is reached.
 * The memory is not zeroed; arena_zalloc() zeroes it.
 */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);

/* Copies s (or n bytes of s plus a NUL) into the arena; NULL on cap. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* printf into the arena; NULL on cap. */
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Registers fn(ptr) to run at the next reset.  Returns 0, or -1 when the
 * cap is reached, in which case fn(ptr) has already been called.
 */
int arena_defer(struct arena *a, void (*fn)(void *), void *ptr);

#endif
