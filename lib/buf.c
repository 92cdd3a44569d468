#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char buf_empty[1];

void
buf_init(struct buf *b, size_t cap)
{
	b->s = (char *)buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap ? cap : BUF_DEFAULT_CAP;
	b->over = 0;
}

void
buf_release(struct buf *b)
{
	size_t cap = b->cap;

	if (b->alloc)
		free(b->s);
	buf_init(b, cap);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->over = 0;
	if (b->alloc)
		b->s[0] = '\0';
}

char *
buf_detach(struct buf *b)
{
	char *s = b->alloc ? b->s : xstrdup("");
	size_t cap = b->cap;

	buf_init(b, cap);
	return s;
}

/* Makes room for n more bytes plus the NUL; 0, or -1 past the cap. */
static int
buf_grow(struct buf *b, size_t n)
{
	size_t want;

	if (b->over)
		return -1;
	if (n > b->cap || b->len > b->cap - n) {
		b->over = 1;
		return -1;
	}
	want = b->len + n + 1;
	if (want <= b->alloc)
		return 0;
	{
		size_t alloc = b->alloc ? b->alloc : 256;
		while (alloc < want)
			alloc *= 2;
		if (b->alloc) {
			b->s = xrealloc(b->s, alloc);
		} else {
			b->s = xmalloc(alloc);
			b->s[0] = '\0';
		}
		b->alloc = alloc;
	}
	return 0;
}

void
buf_add(struct buf *b, const void *data, size_t n)
{
	if (n == 0 || buf_grow(b, n) < 0)
		return;
	memcpy(b->s + b->len, data, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addch(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_truncate(struct buf *b, size_t n)
{
	if (n < b->len) {
		b->len = n;
		b->s[n] = '\0';
	}
}
