/*
 * The declarative route table (see fcgi/routes.c) and its matcher.
 *
 * Patterns are paths with ":name" segments that capture a positive
 * integer id, e.g. "/customers/:id/comments".  A segment that is not a
 * positive integer does not match, so "/customers/abc" is a 404.  A
 * "{name}" segment matches a word of 1 to ROUTER_WORD_MAX lower-case
 * letters, digits, '_' and '-' (a key such as an email template's name,
 * "/email-templates/{key}"); it captures nothing: such a segment ends
 * its pattern and the handler reads it as the last segment of r->path.  The
 * dispatcher checks the role before it even looks at the body, so a
 * viewer's write is 403 whatever the body holds.
 */
#ifndef RTRW_ROUTER_H
#define RTRW_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "principal.h"

struct field;

/* Route flags. */
#define R_BODY         0x1 /* takes a JSON object body (fields may be NULL) */
#define R_PARTIAL      0x2 /* body fields are all optional (PATCH) */
#define R_NO_RATELIMIT 0x4 /* exempt from the per-user limit (health) */
#define R_PLATFORM_TOO 0x8 /* platform administrators may call it too */

#define ROUTER_WORD_MAX 64 /* bytes of a "{name}" segment */

typedef int (*handler_fn)(struct req *r);

struct route {
	enum http_method method;
	const char *pattern;
	enum role role;
	handler_fn handler;
	const struct field *fields;
	unsigned flags;
	const char *summary; /* one line, also checked against the docs */
};

/*
 * Finds the route for method and path in a table closed by a zero entry.
 * Returns it and fills ids/nids, or NULL.  When the path exists under
 * other methods, *allowed gets a bit (1 << method) for each.
 */
const struct route *router_match(const struct route *table,
                                 enum http_method method, const char *path,
                                 int64_t *ids, size_t *nids, unsigned *allowed);

/*
 * Writes the allowed methods as "GET, POST" into out for an Allow header.
 */
void router_allow_header(unsigned allowed, char *out, size_t n);

/*
 * Turns a pattern into OpenAPI form ("/customers/:id" ->
 * "/customers/{id}") into out.
 */
void router_openapi_path(const char *prefix, const char *pattern, char *out,
                         size_t n);

#endif
