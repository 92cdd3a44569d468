#include "dispatch.h"

#include <strings.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "fields.h"
#include "json.h"
#include "log.h"

/* Whether the Content-Type is JSON (parameters such as charset allowed). */
static int
is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (!ct || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ')
		ct++;
	if (*ct == '\0')
		return 1;
	if (*ct != ';')
		return 0;
	/* Only UTF-8 is accepted as a charset. */
	for (ct++; *ct == ' '; ct++)
		;
	if (strncasecmp(ct, "charset=", 8) == 0)
		return strcasecmp(ct + 8, "utf-8") == 0 ||
		       strcasecmp(ct + 8, "\"utf-8\"") == 0;
	return 1;
}

static int
read_body(struct req *r, int body_too_large)
{
	enum json_err err;
	cJSON *root;

	if (body_too_large)
		return req_fail(r, 413, "payload_too_large",
		                "request body is larger than 1 MiB");
	/*
	 * An action without fields (POST /customers/1/activate) may come
	 * with no body at all; anything sent must still be a JSON object.
	 */
	if (r->body_len == 0) {
		if (r->route->fields && !(r->route->flags & R_PARTIAL) &&
		    r->method != HTTP_DELETE)
			return req_fail(r, 400, "bad_request",
			                "request body is required: a JSON "
			                "object");
		return fields_validate(r, r->route->fields, NULL,
		                       (r->route->flags & R_PARTIAL) != 0 ||
		                           !r->route->fields);
	}
	if (!is_json_type(r->content_type))
		return req_fail(r, 400, "bad_request",
		                "Content-Type must be application/json; "
		                "charset=utf-8");
	err = json_parse(r->a, r->body, r->body_len, &root);
	if (err == JSON_ERR_NOMEM)
		return -1;
	if (err)
		return req_fail(r, 400, "bad_request", json_err_str(err));
	if (!cJSON_IsObject(root))
		return req_fail(r, 400, "bad_request",
		                "request body must be a JSON object");
	r->json = root;
	return fields_validate(r, r->route->fields, root,
	                       (r->route->flags & R_PARTIAL) != 0);
}

/*
 * Authentication and tenant binding.  The identity issue fills this in:
 * until then a route that needs a role cannot be reached.
 */
static int
authenticate(struct app *app, struct req *r)
{
	(void)app;
	return req_fail(r, 401, "unauthorized", "authentication is required");
}

static void
finish_error(struct app *app, struct req *r)
{
	/* A handler that failed without saying why: look at the database. */
	if (!r->err_code && r->status < 400 && app->db &&
	    db_last_error(app->db) == DBE_CONN)
		r->status = 503;
	if (!r->err_code && r->status < 400 && r->a->over)
		log_error("request failed: memory cap of %ld bytes reached",
		          app->cfg->arena_cap_bytes);
	/* Headers such as rate-limit counters stay; handler extras go. */
	http_error(r);
}

void
dispatch(struct app *app, struct req *r, int body_too_large)
{
	const struct route *table = app->root_routes;
	const char *path = r->path;
	unsigned allowed = 0;
	int rc = -1;

	r->db = app->db;
	r->cache = app->cache;
	r->cfg = app->cfg;
	if (strncmp(path, API_PREFIX "/", sizeof(API_PREFIX)) == 0) {
		table = app->api_routes;
		path += sizeof(API_PREFIX) - 1;
	}
	if (r->method == HTTP_NONE) {
		req_fail(r, 405, "method_not_allowed",
		         "this method is not supported");
		goto out_error;
	}
	r->route =
	    router_match(table, r->method, path, r->ids, &r->nids, &allowed);
	if (!r->route) {
		if (allowed) {
			char allow[128];

			router_allow_header(allowed, allow, sizeof(allow));
			req_fail(r, 405, "method_not_allowed",
			         "this method is not allowed here");
			http_error(r);
			buf_reset(r->headers);
			req_header(r, "Allow", allow);
			return;
		}
		req_fail(r, 404, "not_found", "no such route");
		goto out_error;
	}
	if (r->route->role != ROLE_PUBLIC) {
		if (authenticate(app, r) < 0)
			goto out_error;
		if ((int)r->route->role > r->who.role) {
			req_fail(r, 403, "forbidden",
			         "your role may not do this");
			goto out_error;
		}
	}
	if (r->route->flags & R_BODY) {
		if (read_body(r, body_too_large) < 0)
			goto out_error;
	} else if (body_too_large) {
		req_fail(r, 413, "payload_too_large",
		         "request body is larger than 1 MiB");
		goto out_error;
	}
	rc = r->route->handler(r);
	if (app->db)
		db_request_done(app->db);
	if (rc == 0 && !r->a->over)
		return;
out_error:
	finish_error(app, r);
}
