/*
 * Small helpers every module needs: allocation that aborts on failure,
 * checked number parsing, UTF-8 validation.
 */
#ifndef RTRW_UTIL_H
#define RTRW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

/*
 * malloc/calloc/realloc/strdup that abort the process when memory runs
 * out.  A worker that cannot allocate is better restarted by the master
 * than left half-working.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/*
 * Parses a whole string as a base-10 integer in [min, max].  Leading
 * whitespace, a '+' sign, trailing garbage and overflow are refused.
 * Returns 0 and stores the value, or -1.
 */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Same for a string of known length (need not be NUL-terminated). */
int parse_int64_n(const char *s, size_t len, int64_t min, int64_t max,
                  int64_t *out);

/* Returns 1 if the n bytes at s are valid UTF-8 with no NUL byte, else 0. */
int utf8_valid(const char *s, size_t n);

/* Number of code points in a valid UTF-8 string of n bytes. */
size_t utf8_len(const char *s, size_t n);

/* Monotonic clock in microseconds. */
int64_t now_usec(void);

/*
 * An instant as UTC text: "YYYY-MM-DD HH:MM:SS" (a DATETIME the database
 * takes) or, with UTC_RFC3339, "YYYY-MM-DDTHH:MM:SSZ" (what the API
 * answers); "" for an instant gmtime_r() cannot break down.
 */
#define UTC_TEXT_LEN 24
#define UTC_SQL      0
#define UTC_RFC3339  1
void utc_text(time_t t, int form, char out[UTC_TEXT_LEN]);

/* Fills buf with n cryptographically random bytes; 0 or -1. */
int random_bytes(void *buf, size_t n);

/* Writes 2n lower-case hex digits and a NUL for n bytes into out. */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* Decodes 2n hex digits into n bytes; 0 or -1 on a bad digit. */
int hex_decode(const char *in, size_t n, unsigned char *out);

#endif
