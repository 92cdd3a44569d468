#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ARENA_ALIGN       16
#define ARENA_BLOCK_SIZE  (64 * 1024)
#define ARENA_DEFAULT_CAP (8 * 1024 * 1024)

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t pos;
	/* data follows, aligned */
	max_align_t data[];
};

struct arena_defer {
	struct arena_defer *next;
	void (*fn)(void *);
	void *ptr;
};

void
arena_init(struct arena *a, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->cap = cap ? cap : ARENA_DEFAULT_CAP;
	a->block_size = ARENA_BLOCK_SIZE;
}

static void
arena_run_defers(struct arena *a)
{
	struct arena_defer *d = a->defers;

	/* The list is newest first, so this releases in reverse order. */
	while (d) {
		struct arena_defer *next = d->next;
		d->fn(d->ptr);
		d = next;
	}
	a->defers = NULL;
}

/*
 * Wipes the part of a block that was handed out.  Requests leave
 * passwords, tokens and personal data in their arena; the block that is
 * kept would otherwise hold them until the next request happens to
 * overwrite them, and a freed block goes back to malloc as it is.  Only
 * the used part is wiped, so the cost is what the request wrote itself.
 */
static void
block_wipe(struct arena_block *b)
{
	explicit_bzero(b->data, b->pos);
	b->pos = 0;
}

void
arena_reset(struct arena *a)
{
	struct arena_block *b = a->head, *keep = NULL;

	arena_run_defers(a);
	/*
	 * Keep one block of the default size: it saves a malloc on the next
	 * request.  It is not always the last one in the list (a block for
	 * one big allocation goes behind the current block, and may have
	 * been the first), and keeping a big block would hold up to the cap
	 * for the worker's lifetime.
	 */
	while (b) {
		struct arena_block *next = b->next;

		block_wipe(b);
		if (!keep && b->size == a->block_size)
			keep = b;
		else
			free(b);
		b = next;
	}
	if (keep)
		keep->next = NULL;
	a->head = keep;
	a->used = 0;
	a->over = 0;
}

void
arena_release(struct arena *a)
{
	arena_run_defers(a);
	while (a->head) {
		struct arena_block *next = a->head->next;

		block_wipe(a->head);
		free(a->head);
		a->head = next;
	}
	a->used = 0;
	a->over = 0;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	void *p;

	if (n == 0)
		need = ARENA_ALIGN;
	if (need < n || a->used + need > a->cap || a->used + need < a->used) {
		a->over = 1;
		return NULL;
	}
	if (!b || b->size - b->pos < need) {
		size_t size = need > a->block_size ? need : a->block_size;
		b = xmalloc(sizeof(*b) + size);
		b->size = size;
		b->pos = 0;
		/*
		 * A block for one big allocation goes behind the current one,
		 * so the current block's free space is not wasted.
		 */
		if (a->head && need > a->block_size) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	p = (char *)b->data + b->pos;
	b->pos += need;
	a->used += need;
	return p;
}

void *
arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	if (p)
		memset(p, 0, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int
arena_defer(struct arena *a, void (*fn)(void *), void *ptr)
{
	struct arena_defer *d = arena_alloc(a, sizeof(*d));

	if (!d) {
		fn(ptr);
		return -1;
	}
	d->fn = fn;
	d->ptr = ptr;
	d->next = a->defers;
	a->defers = d;
	return 0;
}
