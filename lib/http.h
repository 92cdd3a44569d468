/*
 * One HTTP request as the handlers see it, and the response they build.
 *
 * The worker (fcgi/main.c) fills a struct req from the FastCGI
 * parameters, the dispatcher (lib/dispatch.c) routes, authenticates,
 * parses and validates, and a handler then only reads typed values and
 * writes a response with req_data()/req_list()/req_no_content() or fails
 * with req_fail().  HTTP status codes appear in handlers only.
 *
 * Everything a struct req points to lives in its arena.
 */
#ifndef RTRW_HTTP_H
#define RTRW_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "principal.h"

struct arena;
struct route;
struct fval;
struct tdb;
struct db;
struct user_principal;
struct cache;
struct config;
struct req;

/* clang-format off */
enum http_method {
	HTTP_NONE = 0,
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP__MAX
};
/* clang-format on */

#define REQ_MAX_PARAMS 100  /* query parameters */
#define REQ_MAX_IDS    4    /* :id captures in one path */
#define REQ_MAX_PATH   2048 /* decoded path bytes */
#define REQ_ID_MAX     64

/*
 * A streamed response (file downloads): the worker's transport and the
 * state of one response.  The worker sets head, write and ctx before
 * dispatching; the req_stream_*() functions below do the rest.
 */
struct req_stream {
	/* Sends the status line and headers (of r and of this stream). */
	int (*head)(void *ctx, const struct req *r);
	/* Sends n body bytes; 0, or -1 when the client went away. */
	int (*write)(void *ctx, const void *data, size_t n);
	void *ctx;
	const char *content_type; /* trusted text */
	const char *filename;     /* [A-Za-z0-9._-], for Content-Disposition */
	int64_t length;           /* the promised Content-Length, or -1 */
	int64_t sent;             /* body bytes given to write() */
	int on;                   /* req_stream_begin() succeeded */
	int started;              /* the head went out: no envelope any more */
	int failed;               /* write() failed */
};

struct qparam {
	const char *key;
	const char *value;
};

struct req {
	struct arena *a;
	const struct config *cfg;

	/* Input. */
	enum http_method method;
	const char *method_str;
	const char *path; /* percent-decoded, without the query */
	struct qparam params[REQ_MAX_PARAMS];
	size_t nparams;
	const char *content_type;
	long content_length;
	const char *remote_addr;
	const char *user_agent;
	const char *authorization;
	char request_id[REQ_ID_MAX + 1];
	const char *body;
	size_t body_len;
	cJSON *json; /* the parsed body object, or NULL */

	/* Routing and validation. */
	const struct route *route;
	int64_t ids[REQ_MAX_IDS];
	size_t nids;
	struct fval *vals; /* one per field of route->fields */

	/* Services. */
	struct principal who;
	/* The caller's users row with its tenant (tenant users only). */
	const struct user_principal *who_row;
	/*
	 * The worker's connection, set only for public and platform routes:
	 * tenant handlers get nothing but the tenant-scoped handle.
	 */
	struct db *db;
	struct tdb *tdb; /* tenant-scoped, when authenticated */
	struct cache *cache;

	/* Response. */
	int status;
	struct buf *headers; /* extra "Name: value\r\n" lines */
	struct buf *body_out;
	const char *err_code;
	const char *err_msg;
	cJSON *err_details;
	int64_t started_us;
	/* A streamed response's transport (set by the worker) and state. */
	struct req_stream *stream;
};

/* Parses "GET" etc.; HTTP_NONE when unknown. */
enum http_method http_method_parse(const char *s);
const char *http_method_name(enum http_method m);

/* The reason phrase for a status code. */
const char *http_reason(int status);

/*
 * Percent-decodes n bytes of src into the arena.  Refuses (returns NULL
 * and sets *bad) a bad escape, a decoded NUL or invalid UTF-8.  With
 * plus_is_space, '+' becomes ' ' (query strings).
 */
char *http_decode(struct arena *a, const char *src, size_t n, int plus_is_space,
                  int *bad);

/*
 * Splits a raw query string into r->params.  Returns 0, or -1 after
 * req_fail(400) for too many parameters or bad encoding.
 */
int req_parse_query(struct req *r, const char *query);

/* The value of query parameter key, or NULL. */
const char *req_param(const struct req *r, const char *key);

/*
 * Reads an integer query parameter: absent gives def; present but not an
 * integer in [min, max] fails the request with 422 and returns -1.
 */
int req_param_int(struct req *r, const char *key, int64_t def, int64_t min,
                  int64_t max, int64_t *out);

/*
 * Reads page (>= 1, default 1) and per_page (1..100, default 20); more
 * than 100 or junk fails the request with 422.  0 or -1.
 */
int req_page(struct req *r, int64_t *page, int64_t *per_page);

/*
 * Reads sort, which must be one of names (NULL-terminated); stores its
 * index (0 when absent).  Anything else fails with 422.  0 or -1.
 */
int req_sort(struct req *r, const char *const *names, size_t *idx);

/*
 * Reads an optional query parameter that must be one of choices; *out is
 * NULL when absent.  0, or -1 after a 422.
 */
int req_param_enum(struct req *r, const char *key, const char *const *choices,
                   const char **out);

/* Optional YYYY-MM-DD query parameter; *out NULL when absent. */
int req_param_date(struct req *r, const char *key, const char **out);

/* Optional positive id query parameter; *out 0 when absent. */
int req_param_id(struct req *r, const char *key, int64_t *out);

/* Optional boolean query parameter (true/false); *out -1 when absent. */
int req_param_bool(struct req *r, const char *key, int *out);

/*
 * Fails the request with 422 validation_failed, adding the detail
 * {"field", "message"} (a field check a table cannot express).  Always
 * returns -1.
 */
int req_invalid(struct req *r, const char *field, const char *msg);

/*
 * Records an error response.  Always returns -1 so that handlers can
 * write `return req_fail(r, 404, "not_found", "customer not found");`.
 */
int req_fail(struct req *r, int status, const char *code, const char *msg);

/* Adds one {"field", "message"} entry to the error's details. */
void req_detail(struct req *r, const char *field, const char *msg);

/* Adds a response header line; name and value must be trusted text. */
void req_header(struct req *r, const char *name, const char *value);

/*
 * Responds {"data": data} with status (200, 201...).  Takes ownership of
 * data.  Returns 0, or -1 when serialising failed.
 */
int req_data(struct req *r, int status, cJSON *data);

/* Responds {"data": [...], "meta": {page, per_page, total, total_pages}}. */
int req_list(struct req *r, cJSON *items, int64_t page, int64_t per_page,
             int64_t total);

/* Responds with raw JSON text (already serialised) and status. */
int req_raw(struct req *r, int status, const char *json);

/* Responds 204 with no body. */
int req_no_content(struct req *r);

/*
 * Writes the error envelope for r's recorded error onto r->body_out.
 * The single place error bodies are produced.
 */
void http_error(struct req *r);

/* Copies a valid client X-Request-Id, or makes a random one. */
void req_set_request_id(struct req *r, const char *given);

/* Body bytes a streamed response holds back before its head goes out. */
#define REQ_STREAM_HOLD (64 * 1024)

/*
 * Turns r's response into a streamed download: status 200, content_type,
 * "Content-Disposition: attachment; filename=..." and, when length >= 0,
 * that Content-Length.  The body then goes through req_stream_write().
 *
 * Nothing is sent until REQ_STREAM_HOLD bytes are pending, so a handler
 * that fails early (the first query, a bad value in the first rows) still
 * gets the ordinary error envelope, and a small body goes out whole with
 * a Content-Length.  Once the head is out, a failure can only abort the
 * transfer: the worker cuts the connection so that the client sees an
 * incomplete download, never a short file that looks complete.
 *
 * filename must be 1 to 100 bytes of [A-Za-z0-9._-].  Returns 0, or -1
 * after req_fail(500) when the worker cannot stream or the name is bad.
 */
int req_stream_begin(struct req *r, const char *content_type,
                     const char *filename, int64_t length);

/*
 * Appends n body bytes of the streamed response of req (a struct req *;
 * void * so that it can be a csv/xlsx sink).  Returns 0, or -1 when the
 * client went away (the handler should stop and return -1).
 */
int req_stream_write(void *req, const void *data, size_t n);

/*
 * Called by the worker after the handler returned.  Returns 0 when the
 * worker must write r's response itself (no stream, or an error before
 * the first byte: the envelope), 1 when the streamed response is
 * complete, and -1 when it failed after its head went out: the worker
 * must then abort the connection.  A body whose length differs from a
 * promised one is such a failure (or a 500 if nothing was sent yet).
 */
int req_stream_end(struct req *r);

#endif
