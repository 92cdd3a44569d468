/*
 * Streamed responses (req_stream_*() in lib/http.c) against a recording
 * transport: what is held back, when the head goes out, that an error
 * before the first byte is still the JSON envelope, that one after it is
 * an abort, and the promised length.  fcgi/main.c's side (FastCGI, nginx)
 * is covered by tests/e2e/test_stream.py.
 */
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "http.h"
#include "tests/unit/unit.h"

struct rec {
	int heads;
	int status_at_head;
	int64_t length_at_head;
	size_t body_before_head; /* body bytes the transport saw first */
	struct buf body;
	size_t writes;
	int fail_write_at; /* 1-based; 0 never */
};

static struct arena a;
static struct buf hdrs, out;
static struct req r;
static struct req_stream st;
static struct rec rec;

static int
rec_head(void *ctx, const struct req *rq)
{
	struct rec *t = ctx;

	t->heads++;
	t->status_at_head = rq->status;
	t->length_at_head = rq->stream->length;
	t->body_before_head = t->body.len;
	return 0;
}

static int
rec_write(void *ctx, const void *data, size_t n)
{
	struct rec *t = ctx;

	t->writes++;
	if (t->fail_write_at && (int)t->writes >= t->fail_write_at)
		return -1;
	buf_add(&t->body, data, n);
	return 0;
}

static void
setup(void)
{
	arena_init(&a, 0);
	buf_init(&hdrs, 0);
	buf_init(&out, 0);
	memset(&r, 0, sizeof(r));
	memset(&st, 0, sizeof(st));
	memset(&rec, 0, sizeof(rec));
	buf_init(&rec.body, 64 * 1024 * 1024);
	r.a = &a;
	r.headers = &hdrs;
	r.body_out = &out;
	r.method = HTTP_GET;
	st.head = rec_head;
	st.write = rec_write;
	st.ctx = &rec;
	r.stream = &st;
}

static void
teardown(void)
{
	arena_release(&a);
	buf_release(&hdrs);
	buf_release(&out);
	buf_release(&rec.body);
}

/* What the dispatcher does when a handler returns -1. */
static void
handler_failed(void)
{
	if (r.status < 400)
		r.status = 500;
	http_error(&r);
}

static void
put(size_t n, char fill)
{
	char chunk[4096];

	memset(chunk, fill, sizeof(chunk));
	while (n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);

		ck_assert_int_eq(req_stream_write(&r, chunk, k), 0);
		n -= k;
	}
}

START_TEST(small_body_goes_out_whole_with_a_length)
{
	setup();
	ck_assert_int_eq(req_stream_begin(&r, "text/csv; charset=utf-8",
	                                  "customers-2024-05-01.csv", -1),
	                 0);
	ck_assert_int_eq(r.status, 200);
	put(1000, 'a');
	put(REQ_STREAM_HOLD - 1000, 'b');
	ck_assert_int_eq(rec.heads, 0);
	ck_assert_uint_eq(rec.writes, 0);
	ck_assert_int_eq(req_stream_end(&r), 1);
	ck_assert_int_eq(rec.heads, 1);
	ck_assert_int_eq(rec.status_at_head, 200);
	ck_assert_int_eq(rec.length_at_head, REQ_STREAM_HOLD);
	ck_assert_uint_eq(rec.body.len, REQ_STREAM_HOLD);
	ck_assert_int_eq(rec.body.s[0], 'a');
	ck_assert_int_eq(rec.body.s[REQ_STREAM_HOLD - 1], 'b');
	ck_assert_str_eq(st.filename, "customers-2024-05-01.csv");
	ck_assert_str_eq(st.content_type, "text/csv; charset=utf-8");
	teardown();
}
END_TEST

START_TEST(large_body_streams_with_bounded_memory)
{
	const size_t total = 20 * 1024 * 1024;

	setup();
	ck_assert_int_eq(req_stream_begin(&r, "text/csv", "big.csv", -1), 0);
	for (size_t done = 0; done < total; done += 4096) {
		put(4096, (char)('a' + (done / 4096) % 26));
		/* Held back: never more than REQ_STREAM_HOLD. */
		ck_assert_uint_le(out.len, REQ_STREAM_HOLD);
		if (done == REQ_STREAM_HOLD)
			ck_assert_int_eq(rec.heads, 1);
	}
	ck_assert_int_eq(rec.heads, 1);
	ck_assert_int_eq(rec.length_at_head, -1);
	ck_assert_uint_eq(rec.body_before_head, 0);
	ck_assert_int_eq(req_stream_end(&r), 1);
	ck_assert_int_eq(rec.heads, 1);
	ck_assert_uint_eq(rec.body.len, total);
	ck_assert_int_eq(st.sent, (int64_t)total);
	ck_assert_int_eq(rec.body.s[0], 'a');
	ck_assert_int_eq(rec.body.s[4096], 'b');
	ck_assert_int_eq(rec.body.s[total - 1],
	                 'a' + (int)((total / 4096 - 1) % 26));
	teardown();
}
END_TEST

START_TEST(error_before_the_first_byte_is_the_envelope)
{
	setup();
	ck_assert_int_eq(req_stream_begin(&r, "text/csv", "c.csv", -1), 0);
	put(REQ_STREAM_HOLD - 1, 'x');
	req_fail(&r, 503, "unavailable", "the database is unavailable");
	handler_failed();
	ck_assert_int_eq(req_stream_end(&r), 0);
	ck_assert_int_eq(rec.heads, 0);
	ck_assert_uint_eq(rec.writes, 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(out.s, "{\"error\":{\"code\":\"unavailable\","
	                        "\"message\":\"the database is "
	                        "unavailable\"}}");
	teardown();
}
END_TEST

START_TEST(error_after_the_head_is_an_abort)
{
	setup();
	ck_assert_int_eq(req_stream_begin(&r, "text/csv", "c.csv", -1), 0);
	put(REQ_STREAM_HOLD + 1, 'x');
	ck_assert_int_eq(rec.heads, 1);
	handler_failed();
	ck_assert_int_eq(req_stream_end(&r), -1);
	ck_assert_int_eq(rec.heads, 1);
	ck_assert_uint_eq(rec.body.len, REQ_STREAM_HOLD + 1);
	teardown();
}
END_TEST

START_TEST(client_gone_stops_the_writer)
{
	char x[REQ_STREAM_HOLD + 1];

	setup();
	memset(x, 'x', sizeof(x));
	rec.fail_write_at = 2;
	ck_assert_int_eq(req_stream_begin(&r, "text/csv", "c.csv", -1), 0);
	ck_assert_int_eq(req_stream_write(&r, x, sizeof(x)), 0);
	ck_assert_int_eq(req_stream_write(&r, x, 10), -1);
	ck_assert_int_eq(st.failed, 1);
	ck_assert_int_eq(req_stream_write(&r, x, 10), -1);
	ck_assert_uint_eq(rec.writes, 2);
	/* Even a handler that ignores the error does not end normally. */
	ck_assert_int_eq(req_stream_end(&r), -1);
	teardown();
}
END_TEST

START_TEST(promised_length_is_kept)
{
	char x[100];

	memset(x, 'x', sizeof(x));

	/* Exactly as promised. */
	setup();
	ck_assert_int_eq(req_stream_begin(&r, "application/x", "f.xlsx", 100),
	                 0);
	ck_assert_int_eq(req_stream_write(&r, x, 100), 0);
	ck_assert_int_eq(req_stream_end(&r), 1);
	ck_assert_int_eq(rec.length_at_head, 100);
	ck_assert_uint_eq(rec.body.len, 100);
	teardown();

	/* Short, before anything went out: a 500 envelope instead. */
	setup();
	ck_assert_int_eq(req_stream_begin(&r, "application/x", "f.xlsx", 100),
	                 0);
	ck_assert_int_eq(req_stream_write(&r, x, 99), 0);
	ck_assert_int_eq(req_stream_end(&r), 0);
	ck_assert_int_eq(rec.heads, 0);
	ck_assert_int_eq(r.status, 500);
	ck_assert_ptr_nonnull(strstr(out.s, "\"internal\""));
	teardown();

	/* Long, after the head: refused, then an abort. */
	setup();
	ck_assert_int_eq(req_stream_begin(&r, "application/x", "f.xlsx",
	                                  REQ_STREAM_HOLD + 50),
	                 0);
	put(REQ_STREAM_HOLD + 50, 'y');
	ck_assert_int_eq(rec.heads, 1);
	ck_assert_int_eq(rec.length_at_head, REQ_STREAM_HOLD + 50);
	ck_assert_int_eq(req_stream_write(&r, x, 1), -1);
	ck_assert_int_eq(req_stream_end(&r), -1);
	ck_assert_uint_eq(rec.body.len, REQ_STREAM_HOLD + 50);
	teardown();

	/* Short after the head: an abort. */
	setup();
	ck_assert_int_eq(req_stream_begin(&r, "application/x", "f.xlsx",
	                                  REQ_STREAM_HOLD + 50),
	                 0);
	put(REQ_STREAM_HOLD + 10, 'y');
	ck_assert_int_eq(req_stream_end(&r), -1);
	teardown();
}
END_TEST

START_TEST(head_request_sends_no_body)
{
	setup();
	r.method = HTTP_HEAD;
	ck_assert_int_eq(req_stream_begin(&r, "text/csv", "c.csv", -1), 0);
	put(3 * REQ_STREAM_HOLD, 'x');
	ck_assert_int_eq(req_stream_end(&r), 1);
	ck_assert_int_eq(rec.heads, 1);
	ck_assert_uint_eq(rec.writes, 0);
	ck_assert_uint_eq(rec.body.len, 0);
	teardown();
}
END_TEST

START_TEST(bad_names_and_no_transport_are_500)
{
	static const char *const bad[] = {
	    "",
	    ".hidden.csv",
	    "../etc/passwd",
	    "a b.csv",
	    "a\"b.csv",
	    "a;b.csv",
	    "caf\xc3\xa9.csv",
	    "a\r\nX-Evil: 1",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.csv",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup();
		ck_assert_msg(req_stream_begin(&r, "text/csv", bad[i], -1) ==
		                  -1,
		              "'%s' accepted", bad[i]);
		ck_assert_int_eq(r.status, 500);
		ck_assert_int_eq(st.on, 0);
		ck_assert_int_eq(req_stream_end(&r), 0);
		teardown();
	}

	setup();
	ck_assert_int_eq(req_stream_begin(&r, NULL, "c.csv", -1), -1);
	teardown();

	setup();
	r.stream = NULL;
	ck_assert_int_eq(req_stream_begin(&r, "text/csv", "c.csv", -1), -1);
	ck_assert_int_eq(r.status, 500);
	ck_assert_int_eq(req_stream_write(&r, "x", 1), -1);
	ck_assert_int_eq(req_stream_end(&r), 0);
	teardown();

	setup();
	ck_assert_int_eq(req_stream_begin(&r, "text/csv", "c.csv", -1), 0);
	ck_assert_int_eq(req_stream_begin(&r, "text/csv", "c.csv", -1), -1);
	teardown();

	/* Writing without req_stream_begin(). */
	setup();
	ck_assert_int_eq(req_stream_write(&r, "x", 1), -1);
	ck_assert_int_eq(req_stream_end(&r), 0);
	teardown();
}
END_TEST

UNIT_MAIN("http_stream", small_body_goes_out_whole_with_a_length,
          large_body_streams_with_bounded_memory,
          error_before_the_first_byte_is_the_envelope,
          error_after_the_head_is_an_abort, client_gone_stops_the_writer,
          promised_length_is_kept, head_request_sends_no_body,
          bad_names_and_no_transport_are_500)
