/*
 * Pure validators of untrusted text: no allocation, no request, no
 * database.  The field tables (lib/fields.c) and the query-parameter
 * readers (lib/http.c) both use them.  Layer: base.
 */
#ifndef RTRW_VALID_H
#define RTRW_VALID_H

#include <stddef.h>

/*
 * Returns 1 if s holds markup the API refuses in plain-text fields: '<'
 * followed by a letter, '/', '!' or '?', or a "javascript:" URI (any case,
 * ignoring whitespace and control characters inside the word).
 */
int valid_markup(const char *s, size_t n);

/* Returns 1 for a plausible email address (one @, dotted domain). */
int valid_email(const char *s, size_t n);

/* Returns 1 for a phone number: optional '+', then 8..15 digits. */
int valid_phone(const char *s, size_t n);

/* Returns 1 for a positive decimal with <= 12 integer and <= 2 decimals. */
int valid_money(const char *s, size_t n, int allow_zero);

/* Returns 1 for a real YYYY-MM-DD date. */
int valid_date(const char *s, size_t n);

/* Returns 1 for an IPv4 or IPv6 literal. */
int valid_ip(const char *s);

/* Returns 1 for a slug: ^[a-z0-9][a-z0-9-]{2,39}$. */
int valid_slug(const char *s, size_t n);

#endif
