/*
 * `rtrw-api --schema`: the route tables as JSON, so that the OpenAPI
 * document can be compared with the code that it documents
 * (tests/e2e/test_openapi.py) instead of agreeing with it by hand.
 *
 * For each route: method, OpenAPI path, role, flags and summary; the
 * request body's field table (name, type, required, nullable, bounds,
 * enum choices, write-only) with the JSON Schema each field implies; a
 * list route's query parameters (page, per_page, sort with its keys and
 * every filter of its list spec); and the response (an object or a page
 * of one row type with its visible columns, 204, or documented by hand).
 * The JSON Schema of fields and parameters is derived here from the
 * validators' rules (lib/fields.c, lib/valid.c, fcgi/reply.c) and is
 * the single place that translates them.
 */
#ifndef RTRW_SCHEMA_H
#define RTRW_SCHEMA_H

#include <stdio.h>

#include "router.h"

/*
 * Writes the schema of routes_root and routes_api (whose patterns are
 * under prefix) to out.  Returns 0, or -1 after a message on stderr
 * naming a route whose row does not say what it answers (lib/router.h).
 */
int schema_print(FILE *out, const struct route *root, const struct route *api,
                 const char *prefix);

#endif
