/*
 * Growable, capped byte buffer (after git's strbuf and curl's dynbuf).
 *
 * b->s is always NUL-terminated and never NULL.  Appends past the cap are
 * dropped and set b->over, so a caller checks once at the end instead of
 * after every append.
 */
#ifndef RTRW_BUF_H
#define RTRW_BUF_H

#include <stddef.h>

struct buf {
	char *s;
	size_t len;
	size_t alloc;
	size_t cap;
	int over;
};

#define BUF_DEFAULT_CAP (16 * 1024 * 1024)

/* clang-format off */
#define BUF_INIT(capacity) \
	{ (char *)buf_empty, 0, 0, (capacity) ? (capacity) : BUF_DEFAULT_CAP, 0 }
/* clang-format on */
extern const char buf_empty[1];

/* Prepares an empty buffer; cap 0 means 16 MiB. */
void buf_init(struct buf *b, size_t cap);

/* Frees the memory and leaves the buffer empty and usable. */
void buf_release(struct buf *b);

/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);

/*
 * Hands the string to the caller (who frees it) and leaves the buffer
 * empty.  Never returns NULL.
 */
char *buf_detach(struct buf *b);

void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drops everything after the first n bytes. */
void buf_truncate(struct buf *b, size_t n);

#endif
