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
struct list_spec;
struct rowtype;

/* Route flags. */
#define R_BODY         0x01 /* takes a JSON object body (fields may be NULL) */
#define R_PARTIAL      0x02 /* body fields are all optional (PATCH) */
#define R_NO_RATELIMIT 0x04 /* exempt from the per-user limit (health) */
#define R_PLATFORM_TOO 0x08 /* platform administrators may call it too */
#define R_LIST         0x10 /* answers a page of row without a list spec */
#define R_EMPTY        0x20 /* answers 204 without a body */
#define R_HAND         0x40 /* response documented by hand (with row: more) */
#define R_FILE         0x80 /* answers a file download (not JSON) */

#define ROUTER_WORD_MAX 64 /* bytes of a "{name}" segment */

typedef int (*handler_fn)(struct req *r);

/*
 * One route.  Besides what the dispatcher needs (method, pattern, role,
 * handler, body fields, flags), each row says what the route answers, for
 * `rtrw-api --schema` (fcgi/schema.c) and through it the OpenAPI test
 * (tests/e2e/test_openapi.py), which compares the summary, the fields,
 * the query parameters and the response with docs/openapi.yaml:
 *
 *   list      a list route's spec (fcgi/reply.h): its query parameters
 *             and, through its store list, the row type of an item
 *   row       the row type of the object answered ({"data": row}), or of
 *             an item with R_LIST (a page without a list spec)
 *   R_EMPTY   204 without a body
 *   R_HAND    a response that is not one row type (login, stats): the
 *             docs describe it by hand and the e2e client validates every
 *             answer against them; with row, the response is the row's
 *             columns plus members documented by hand
 *   R_FILE    a file download (an export): the docs name its media types;
 *             a list spec without a store list may then give its query
 *             parameters (no page, per_page or sort), and so may one of
 *             an R_HAND route (a router's sync and its ?dry_run, a usage
 *             graph's period)
 *
 * Every route must be described by one of them (R_HAND may come with a
 * row); --schema refuses a table where one is not.
 */
struct route {
	enum http_method method;
	const char *pattern;
	enum role role;
	handler_fn handler;
	const struct field *fields;
	unsigned flags;
	const char *summary; /* one line; the docs' summary must equal it */
	const struct rowtype *row;
	const struct list_spec *list;
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
