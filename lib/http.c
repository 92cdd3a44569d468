#include "http.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "valid.h"
#include "json.h"
#include "log.h"
#include "util.h"

static const char *const method_names[HTTP__MAX] = {
    "", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
};

enum http_method
http_method_parse(const char *s)
{
	for (int m = 1; m < HTTP__MAX; m++)
		if (strcmp(s, method_names[m]) == 0)
			return (enum http_method)m;
	return HTTP_NONE;
}

const char *
http_method_name(enum http_method m)
{
	if ((int)m <= 0 || m >= HTTP__MAX)
		return "?";
	return method_names[m];
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
http_decode(struct arena *a, const char *src, size_t n, int plus_is_space,
            int *bad)
{
	char *out = arena_alloc(a, n + 1);
	size_t k = 0;

	*bad = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n) {
				*bad = 1;
				return NULL;
			}
			hi = hexdigit(src[i + 1]);
			lo = hexdigit(src[i + 2]);
			if (hi < 0 || lo < 0) {
				*bad = 1;
				return NULL;
			}
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		out[k++] = c;
	}
	out[k] = '\0';
	if (!utf8_valid(out, k)) {
		*bad = 1;
		return NULL;
	}
	return out;
}

int
req_parse_query(struct req *r, const char *query)
{
	const char *p = query;

	r->nparams = 0;
	if (!query || !*query)
		return 0;
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		int bad = 0;

		if (len > 0) {
			struct qparam *q;

			if (r->nparams >= REQ_MAX_PARAMS)
				return req_fail(r, 400, "bad_request",
				                "too many query parameters "
				                "(at most 100)");
			q = &r->params[r->nparams];
			q->key = http_decode(r->a, p, klen, 1, &bad);
			if (!bad)
				q->value =
				    eq ? http_decode(r->a, eq + 1,
				                     len - klen - 1, 1, &bad)
				       : "";
			if (bad)
				return req_fail(r, 400, "bad_request",
				                "query string has a bad "
				                "percent-escape, a NUL or "
				                "invalid UTF-8");
			if (!q->key || !q->value)
				return -1;
			r->nparams++;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}

const char *
req_param(const struct req *r, const char *key)
{
	for (size_t i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].key, key) == 0)
			return r->params[i].value;
	return NULL;
}

int
req_param_int(struct req *r, const char *key, int64_t def, int64_t min,
              int64_t max, int64_t *out)
{
	const char *v = req_param(r, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (parse_int64(v, min, max, out) < 0) {
		req_detail(r, key,
		           arena_printf(r->a,
		                        "must be an integer from %" PRId64
		                        " to %" PRId64,
		                        min, max));
		return req_fail(r, 422, "validation_failed",
		                "a query parameter is invalid");
	}
	return 0;
}

static int
param_invalid(struct req *r, const char *key, const char *msg)
{
	req_detail(r, key, msg);
	return req_fail(r, 422, "validation_failed",
	                "a query parameter is invalid");
}

int
req_page(struct req *r, int64_t *page, int64_t *per_page)
{
	if (req_param_int(r, "page", 1, 1, 1000000, page) < 0 ||
	    req_param_int(r, "per_page", 20, 1, 100, per_page) < 0)
		return -1;
	return 0;
}

int
req_sort(struct req *r, const char *const *names, size_t *idx)
{
	const char *v = req_param(r, "sort");
	struct buf b = BUF_INIT(512);
	const char *msg;

	*idx = 0;
	if (!v)
		return 0;
	for (size_t i = 0; names[i]; i++) {
		if (strcmp(names[i], v) == 0) {
			*idx = i;
			return 0;
		}
	}
	buf_adds(&b, "must be one of: ");
	for (size_t i = 0; names[i]; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", names[i]);
	msg = arena_strdup(r->a, b.s);
	buf_release(&b);
	return param_invalid(r, "sort", msg ? msg : "is not a sort order");
}

int
req_param_enum(struct req *r, const char *key, const char *const *choices,
               const char **out)
{
	const char *v = req_param(r, key);

	*out = NULL;
	if (!v)
		return 0;
	for (size_t i = 0; choices[i]; i++) {
		if (strcmp(choices[i], v) == 0) {
			*out = choices[i];
			return 0;
		}
	}
	return param_invalid(r, key, "is not an allowed value");
}

int
req_param_date(struct req *r, const char *key, const char **out)
{
	const char *v = req_param(r, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!valid_date(v, strlen(v)))
		return param_invalid(r, key, "must be a date YYYY-MM-DD");
	*out = v;
	return 0;
}

int
req_param_id(struct req *r, const char *key, int64_t *out)
{
	const char *v = req_param(r, key);

	*out = 0;
	if (!v)
		return 0;
	if (v[0] == '0' || parse_int64(v, 1, INT64_MAX, out) < 0)
		return param_invalid(r, key, "must be a positive integer id");
	return 0;
}

int
req_param_bool(struct req *r, const char *key, int *out)
{
	const char *v = req_param(r, key);

	*out = -1;
	if (!v)
		return 0;
	if (strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0)
		*out = 0;
	else
		return param_invalid(r, key, "must be true or false");
	return 0;
}

int
req_invalid(struct req *r, const char *field, const char *msg)
{
	req_detail(r, field, msg);
	return req_fail(r, 422, "validation_failed", "some fields are invalid");
}

int
req_fail(struct req *r, int status, const char *code, const char *msg)
{
	r->status = status;
	r->err_code = code;
	r->err_msg = msg;
	return -1;
}

void
req_detail(struct req *r, const char *field, const char *msg)
{
	cJSON *d;

	if (!r->err_details) {
		r->err_details = json_own(r->a, cJSON_CreateArray());
		if (!r->err_details)
			return;
	}
	/* Keep error bodies small whatever the request held. */
	if (cJSON_GetArraySize(r->err_details) >= 50)
		return;
	d = cJSON_CreateObject();
	if (!d)
		return;
	cJSON_AddStringToObject(d, "field", field ? field : "");
	cJSON_AddStringToObject(d, "message", msg ? msg : "is invalid");
	cJSON_AddItemToArray(r->err_details, d);
}

void
req_header(struct req *r, const char *name, const char *value)
{
	buf_addf(r->headers, "%s: %s\r\n", name, value);
}

int
req_data(struct req *r, int status, cJSON *data)
{
	buf_reset(r->body_out);
	buf_adds(r->body_out, "{\"data\":");
	if (json_print(r->body_out, data) < 0) {
		cJSON_Delete(data);
		return -1;
	}
	cJSON_Delete(data);
	buf_addch(r->body_out, '}');
	r->status = status;
	return r->body_out->over ? -1 : 0;
}

int
req_list(struct req *r, cJSON *items, int64_t page, int64_t per_page,
         int64_t total)
{
	int64_t pages = per_page > 0 ? (total + per_page - 1) / per_page : 0;

	buf_reset(r->body_out);
	buf_adds(r->body_out, "{\"data\":");
	if (json_print(r->body_out, items) < 0) {
		cJSON_Delete(items);
		return -1;
	}
	cJSON_Delete(items);
	buf_addf(r->body_out,
	         ",\"meta\":{\"page\":%" PRId64 ",\"per_page\":%" PRId64
	         ",\"total\":%" PRId64 ",\"total_pages\":%" PRId64 "}}",
	         page, per_page, total, pages);
	r->status = 200;
	return r->body_out->over ? -1 : 0;
}

int
req_raw(struct req *r, int status, const char *json)
{
	buf_reset(r->body_out);
	buf_adds(r->body_out, json);
	r->status = status;
	return r->body_out->over ? -1 : 0;
}

int
req_no_content(struct req *r)
{
	buf_reset(r->body_out);
	r->status = 204;
	return 0;
}

void
http_error(struct req *r)
{
	cJSON *root, *err;
	char *s;

	if (r->status < 400) {
		r->status = 500;
		r->err_code = NULL;
	}
	if (!r->err_code) {
		r->err_code = r->status == 503 ? "unavailable" : "internal";
		r->err_msg = r->status == 503
		                 ? "a service the API needs is unavailable; "
		                   "try again shortly"
		                 : "internal error; the request id "
		                   "identifies it in the logs";
	}
	buf_reset(r->body_out);
	root = cJSON_CreateObject();
	err = cJSON_AddObjectToObject(root, "error");
	if (!root || !err)
		goto out_fallback;
	cJSON_AddStringToObject(err, "code", r->err_code);
	cJSON_AddStringToObject(err, "message",
	                        r->err_msg ? r->err_msg : r->err_code);
	if (r->err_details && cJSON_GetArraySize(r->err_details) > 0) {
		cJSON *copy = cJSON_Duplicate(r->err_details, 1);
		if (copy)
			cJSON_AddItemToObject(err, "details", copy);
	}
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	root = NULL;
	if (!s)
		goto out_fallback;
	buf_adds(r->body_out, s);
	cJSON_free(s);
	if (!r->body_out->over)
		return;
	buf_reset(r->body_out);
out_fallback:
	cJSON_Delete(root);
	r->status = 500;
	buf_reset(r->body_out);
	buf_adds(r->body_out, "{\"error\":{\"code\":\"internal\",\"message\":"
	                      "\"internal error\"}}");
}

void
req_set_request_id(struct req *r, const char *given)
{
	if (given) {
		size_t n = strlen(given), i;

		for (i = 0; i < n && i < REQ_ID_MAX; i++) {
			char c = given[i];
			if (!((c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			      c == '.'))
				break;
		}
		if (n > 0 && i == n) {
			memcpy(r->request_id, given, n + 1);
			return;
		}
	}
	{
		unsigned char raw[16];

		if (random_bytes(raw, sizeof(raw)) < 0)
			memset(raw, 0, sizeof(raw));
		hex_encode(raw, sizeof(raw), r->request_id);
	}
}

/* ---- streamed responses ---------------------------------------------- */

static int
stream_filename_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++) {
		char c = s[n];

		if (n >= 100 ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	/* A leading dot would make a hidden file on the client. */
	return n > 0 && s[0] != '.';
}

int
req_stream_begin(struct req *r, const char *content_type, const char *filename,
                 int64_t length)
{
	struct req_stream *st = r->stream;

	if (!st || !st->head || !st->write || st->on) {
		log_error("stream: this worker cannot stream the response "
		          "(no transport, or begun twice)");
		return req_fail(r, 500, NULL, NULL);
	}
	if (!content_type || !filename || !stream_filename_ok(filename)) {
		log_error("stream: refusing a missing content type or a "
		          "download name outside [A-Za-z0-9._-]");
		return req_fail(r, 500, NULL, NULL);
	}
	st->content_type = content_type;
	st->filename = filename;
	st->length = length < 0 ? -1 : length;
	st->sent = 0;
	st->on = 1;
	r->status = 200;
	buf_reset(r->body_out);
	return 0;
}

/* Gives n body bytes to the transport (none for HEAD) and counts them. */
static int
stream_send(struct req *r, const void *data, size_t n)
{
	struct req_stream *st = r->stream;

	if (n == 0)
		return 0;
	if (st->length >= 0 && (int64_t)n > st->length - st->sent) {
		log_error("stream: the body is longer than the promised "
		          "%" PRId64 " bytes",
		          st->length);
		st->failed = 1;
		return -1;
	}
	if (r->method != HTTP_HEAD && st->write(st->ctx, data, n) < 0) {
		st->failed = 1;
		return -1;
	}
	st->sent += (int64_t)n;
	return 0;
}

/* Sends the head and whatever body was held back. */
static int
stream_start(struct req *r)
{
	struct req_stream *st = r->stream;

	st->started = 1;
	if (st->head(st->ctx, r) < 0) {
		st->failed = 1;
		return -1;
	}
	if (stream_send(r, r->body_out->s, r->body_out->len) < 0)
		return -1;
	buf_reset(r->body_out);
	return 0;
}

int
req_stream_write(void *req, const void *data, size_t n)
{
	struct req *r = req;
	struct req_stream *st = r->stream;

	if (!st || !st->on || st->failed)
		return -1;
	if (!st->started) {
		if (n <= REQ_STREAM_HOLD - r->body_out->len) {
			buf_add(r->body_out, data, n);
			return r->body_out->over ? -1 : 0;
		}
		if (stream_start(r) < 0)
			return -1;
	}
	return stream_send(r, data, n);
}

int
req_stream_end(struct req *r)
{
	struct req_stream *st = r->stream;

	if (!st || !st->on)
		return 0;
	/* The handler or the dispatcher failed the request. */
	if (r->status >= 400 || r->err_code)
		return st->started ? -1 : 0;
	if (st->failed)
		return -1;
	if (!st->started) {
		if (st->length < 0) {
			st->length = (int64_t)r->body_out->len;
		} else if (st->length != (int64_t)r->body_out->len) {
			log_error("stream: a body of %zu bytes instead of the "
			          "promised %" PRId64,
			          r->body_out->len, st->length);
			req_fail(r, 500, NULL, NULL);
			http_error(r);
			return 0;
		}
		return stream_start(r) < 0 ? -1 : 1;
	}
	if (st->length >= 0 && st->sent != st->length) {
		log_error("stream: %" PRId64 " body bytes instead of the "
		          "promised %" PRId64,
		          st->sent, st->length);
		return -1;
	}
	return 1;
}
