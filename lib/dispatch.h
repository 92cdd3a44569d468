/*
 * The request pipeline between the FastCGI worker and the handlers:
 * route, authenticate, check the role, check and parse the body, validate
 * it against the route's field table, run the handler, and make sure
 * exactly one response (or error envelope) comes out.
 */
#ifndef RTRW_DISPATCH_H
#define RTRW_DISPATCH_H

#include "http.h"
#include "router.h"

#define API_PREFIX "/api/v1"

/* The per-worker services a request can use. */
struct app {
	const struct config *cfg;
	struct db *db;
	struct cache *cache;
	const struct route *api_routes;  /* patterns under /api/v1 */
	const struct route *root_routes; /* patterns from the root (/health) */
};

/*
 * Handles r, whose input fields the worker has filled (body already read
 * unless body_too_large).  On return r->status, r->headers and
 * r->body_out hold the response.
 */
void dispatch(struct app *app, struct req *r, int body_too_large);

/*
 * Makes this worker read the user's row again at the next request (after
 * a change of role, activity or password).
 */
void dispatch_forget_principal(int64_t tenant_id, int64_t user_id);

#endif
