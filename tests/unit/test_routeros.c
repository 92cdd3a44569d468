/*
 * lib/routeros.c: the word codec at every boundary, the sentence parser
 * fed one byte at a time, replies (!re, !done with =ret=, several !trap,
 * !fatal, !empty, unknown reply words, interleaved tags) through the
 * memory transport, command building and its refusals, and the network
 * side against an in-process peer on loopback: login (modern and the
 * legacy MD5 challenge), refused logins, silent peers and their deadlines,
 * TLS with a self-signed certificate made here (fingerprint learned,
 * pinned, pinned and changed) and an ADH-only server for tls_anonymous.
 * Last, the most expensive replies under the default caps, measured in
 * CPU time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "routeros.h"
#include "util.h"
#include "tests/unit/unit.h"

/* ------------------------------------------------------------------ */
/* Helpers: sentences as bytes. */

static void
put_word(struct buf *b, const void *w, size_t n)
{
	unsigned char hdr[5];
	size_t h = ros_len_encode((uint32_t)n, hdr);

	buf_add(b, hdr, h);
	buf_add(b, w, n);
}

/* Appends a sentence of NUL-terminated words, the list ended by NULL. */
static void
put_sentence(struct buf *b, ...)
{
	va_list ap;
	const char *w;

	va_start(ap, b);
	while ((w = va_arg(ap, const char *)))
		put_word(b, w, strlen(w));
	va_end(ap);
	buf_add(b, "", 1);
}

/* A parser's word i as a NUL-terminated string. */
static const char *
word(const struct ros_parser *p, size_t i)
{
	return p->buf + p->words[i].off;
}

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ */
/* The word codec. */

struct len_case {
	uint32_t len;
	size_t n;
	unsigned char bytes[5];
};

/* clang-format off */
static const struct len_case len_cases[] = {
	{ 0,          1, { 0x00 } },
	{ 1,          1, { 0x01 } },
	{ 0x7F,       1, { 0x7F } },
	{ 0x80,       2, { 0x80, 0x80 } },
	{ 0x3FFF,     2, { 0xBF, 0xFF } },
	{ 0x4000,     3, { 0xC0, 0x40, 0x00 } },
	{ 0x1FFFFF,   3, { 0xDF, 0xFF, 0xFF } },
	{ 0x200000,   4, { 0xE0, 0x20, 0x00, 0x00 } },
	{ 0xFFFFFFF,  4, { 0xEF, 0xFF, 0xFF, 0xFF } },
	{ 0x10000000, 5, { 0xF0, 0x10, 0x00, 0x00, 0x00 } },
	{ 0xFFFFFFFF, 5, { 0xF0, 0xFF, 0xFF, 0xFF, 0xFF } },
};
/* clang-format on */

START_TEST(codec_boundaries_both_ways)
{
	for (size_t i = 0; i < ARRAY_SIZE(len_cases); i++) {
		const struct len_case *t = &len_cases[i];
		unsigned char out[5];
		uint32_t len = 0;

		ck_assert_uint_eq(ros_len_encode(t->len, out), t->n);
		ck_assert_mem_eq(out, t->bytes, t->n);
		ck_assert_int_eq(ros_len_decode(t->bytes, t->n, &len),
		                 (int)t->n);
		ck_assert_uint_eq(len, t->len);
		/* Every shorter prefix says "more bytes needed". */
		for (size_t k = 0; k < t->n; k++)
			ck_assert_int_eq(ros_len_decode(t->bytes, k, &len), 0);
	}
}
END_TEST

START_TEST(codec_refuses_control_bytes)
{
	unsigned char b[5] = {0, 1, 2, 3, 4};
	uint32_t len = 0;

	for (unsigned v = 0xF8; v <= 0xFF; v++) {
		b[0] = (unsigned char)v;
		ck_assert_int_eq(ros_len_decode(b, 5, &len), -1);
		ck_assert_int_eq(ros_len_decode(b, 1, &len), -1);
	}
	/* 0xF0-0xF7 are the five-byte form; longer forms of small lengths
	 * are what the protocol defines them to be. */
	b[0] = 0xF7;
	ck_assert_int_eq(ros_len_decode(b, 5, &len), 5);
	ck_assert_uint_eq(len, 0x01020304);
	b[0] = 0x80;
	b[1] = 0x05;
	ck_assert_int_eq(ros_len_decode(b, 2, &len), 2);
	ck_assert_uint_eq(len, 5);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The parser. */

/* Feeds a stream one byte at a time; returns the sentences' word counts. */
static size_t
feed_bytewise(struct ros_parser *p, const struct buf *in, size_t *counts,
              size_t max, size_t *lens_of_second)
{
	size_t nsent = 0, bad = 0;

	/*
	 * No ck_assert() per byte: in fork mode each one writes to a pipe,
	 * which would make millions of bytes take minutes.
	 */
	for (size_t i = 0; i < in->len; i++) {
		size_t used = 0;
		int rc = ros_parser_feed(p, in->s + i, 1, &used);

		if (rc < 0 || used != 1)
			bad++;
		if (rc == 1) {
			ck_assert_uint_lt(nsent, max);
			counts[nsent] = p->nwords;
			if (nsent == 1 && lens_of_second)
				for (size_t k = 0; k < p->nwords; k++)
					lens_of_second[k] = p->words[k].len;
			nsent++;
		}
	}
	ck_assert_uint_eq(bad, 0);
	return nsent;
}

START_TEST(parser_one_byte_at_a_time)
{
	static const uint32_t sizes[] = {0x7F,    0x80,     0x3FFF,   0x4000,
	                                 0x1FFFF, 0x1FFFFF, 0x200000, 1};
	struct buf in = BUF_INIT(64 * 1024 * 1024);
	struct ros_parser p;
	size_t counts[4], lens[16], nsent;
	char *big = xmalloc(0x200000);

	memset(big, 'v', 0x200000);
	/* Lengths in all four lengths forms the caps allow. */
	put_sentence(&in, "!re", "=name=alice", "=comment=a=b", ".tag=7", NULL);
	put_word(&in, "!re", 3);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		put_word(&in, big, sizes[i]);
	buf_add(&in, "", 1);
	/* Empty sentences in between are skipped. */
	buf_add(&in, "\0\0", 2);
	put_sentence(&in, "!done", ".tag=7", NULL);
	ck_assert(!in.over);

	ros_parser_init(&p, 0x200000, 0, 8 * 1024 * 1024);
	nsent = feed_bytewise(&p, &in, counts, 4, lens);
	ck_assert_uint_eq(nsent, 3);
	ck_assert_uint_eq(counts[0], 4);
	ck_assert_uint_eq(counts[1], 1 + ARRAY_SIZE(sizes));
	ck_assert_uint_eq(counts[2], 2);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		ck_assert_uint_eq(lens[1 + i], sizes[i]);
	ck_assert_str_eq(word(&p, 0), "!done");
	ck_assert_str_eq(word(&p, 1), ".tag=7");
	ros_parser_release(&p);

	/* The same stream in one piece gives the same sentences. */
	{
		size_t off = 0, used, n = 0;

		ros_parser_init(&p, 0x200000, 0, 8 * 1024 * 1024);
		while (off < in.len) {
			int rc = ros_parser_feed(&p, in.s + off, in.len - off,
			                         &used);

			ck_assert_int_ge(rc, 0);
			off += used;
			if (rc == 1) {
				if (n == 0) {
					ck_assert_str_eq(word(&p, 1),
					                 "=name=alice");
					ck_assert_str_eq(word(&p, 2),
					                 "=comment=a=b");
				}
				if (n == 1)
					ck_assert_uint_eq(p.words[6].len,
					                  0x1FFFFF);
				n++;
			}
		}
		ck_assert_uint_eq(n, 3);
		ros_parser_release(&p);
	}
	free(big);
	buf_release(&in);
}
END_TEST

/* Feeds a buffer; returns the first negative or the last result. */
static int
feed_all(struct ros_parser *p, const void *d, size_t n)
{
	const char *s = d;
	size_t off = 0, used;
	int rc = 0;

	while (off < n) {
		rc = ros_parser_feed(p, s + off, n - off, &used);
		if (rc < 0)
			return rc;
		off += used;
	}
	return rc;
}

START_TEST(parser_refuses_what_is_over_its_caps)
{
	struct ros_parser p;
	struct buf in = BUF_INIT(0);
	unsigned char hdr[5];
	size_t h;

	/* A control byte. */
	ros_parser_init(&p, 0, 0, 0);
	ck_assert_int_eq(feed_all(&p, "\x03!re\xF8", 5), -1);
	ck_assert(strstr(p.error, "control byte 0xf8"));
	ros_parser_release(&p);

	/* The 0xFFFFFFF and 0x10000000 lengths, refused before any
	 * allocation. */
	ros_parser_init(&p, 0, 0, 0);
	h = ros_len_encode(0xFFFFFFF, hdr);
	ck_assert_int_eq(feed_all(&p, hdr, h), -1);
	ck_assert(strstr(p.error, "268435455 bytes over the limit of 65536"));
	ros_parser_release(&p);
	ros_parser_init(&p, 0, 0, 0);
	h = ros_len_encode(0x10000000, hdr);
	ck_assert_int_eq(feed_all(&p, hdr, h), -1);
	ros_parser_release(&p);

	/* One word over max_word, at the two-byte boundary. */
	ros_parser_init(&p, 0x7F, 0, 0);
	h = ros_len_encode(0x7F, hdr);
	buf_add(&in, hdr, h);
	ck_assert_int_eq(feed_all(&p, in.s, in.len), 0);
	h = ros_len_encode(0x80, hdr);
	ck_assert_int_eq(feed_all(&p, hdr, 1), 0); /* a header in pieces */
	ck_assert_int_eq(feed_all(&p, hdr + 1, 1), 0);
	ros_parser_release(&p);
	buf_reset(&in);

	/* Too many words, too many bytes. */
	ros_parser_init(&p, 0, 3, 0);
	put_sentence(&in, "!re", "=a=1", "=b=2", "=c=3", NULL);
	ck_assert_int_eq(feed_all(&p, in.s, in.len), -1);
	ck_assert(strstr(p.error, "limit of 3 words"));
	ros_parser_release(&p);
	ros_parser_init(&p, 0, 0, 16);
	ck_assert_int_eq(feed_all(&p, in.s, in.len), -1);
	ck_assert(strstr(p.error, "limit of 16 bytes"));
	ros_parser_release(&p);

	/* A few empty sentences are skipped, a stream of them is not. */
	ros_parser_init(&p, 0, 0, 0);
	ck_assert_int_eq(feed_all(&p, "\0\0\0", 3), 0);
	ck_assert_int_eq(feed_all(&p, in.s, in.len), 1);
	ck_assert_int_eq(feed_all(&p, "\0\0\0\0\0\0\0\0\0\0", 10), -1);
	ck_assert(strstr(p.error, "empty sentences"));
	ros_parser_release(&p);
	buf_release(&in);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Replies through the memory transport. */

START_TEST(call_collects_items_and_sends_the_words)
{
	struct arena a;
	struct buf in = BUF_INIT(0), want = BUF_INIT(0);
	struct ros_conn *c;
	struct ros_result res;
	struct ros_error err;
	struct ros_cmd *cmd;
	const struct ros_item *it;
	const void *sent;
	size_t nsent;

	arena_init(&a, 0);
	put_sentence(&in, "!re", "=.id=*1", "=name=alice", "=comment=a=b c",
	             "=disabled=", ".tag=1", ".section=0", NULL);
	put_sentence(&in, "!re", "=.id=*2", "=name=bob", ".tag=1", NULL);
	put_sentence(&in, "!done", ".tag=1", NULL);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	cmd = ros_cmd_new(&a, "/ppp/secret/print");
	ros_cmd_query(cmd, "service", "pppoe");
	ros_cmd_attr(cmd, ".proplist", ".id,name,comment,disabled");
	ck_assert_int_eq(ros_call(c, cmd, &a, &res, &err), 0);
	ck_assert_int_eq(res.status, ROS_OK);
	ck_assert_uint_eq(res.nitems, 2);
	ck_assert_ptr_null(res.ret);
	ck_assert_int_eq(res.empty, 0);
	it = res.items;
	ck_assert_uint_eq(it->nattrs, 4);
	ck_assert_str_eq(ros_item_get(it, ".id"), "*1");
	ck_assert_str_eq(ros_item_get(it, "name"), "alice");
	/* Values are raw: '=' and spaces are part of them. */
	ck_assert_str_eq(ros_item_get(it, "comment"), "a=b c");
	ck_assert_str_eq(ros_item_get(it, "disabled"), "");
	ck_assert_ptr_null(ros_item_get(it, "section"));
	ck_assert_str_eq(ros_item_get(it->next, "name"), "bob");
	ck_assert_ptr_null(it->next->next);

	put_sentence(&want, "/ppp/secret/print", "?service=pppoe",
	             "=.proplist=.id,name,comment,disabled", ".tag=1", NULL);
	sent = ros_mem_sent(c, &nsent);
	ck_assert_uint_eq(nsent, want.len);
	ck_assert_mem_eq(sent, want.s, want.len);
	ck_assert(ros_conn_usable(c));
	ck_assert_str_eq(ros_conn_fingerprint(c), "");
	ros_close(c);
	buf_release(&in);
	buf_release(&want);
	arena_release(&a);
}
END_TEST

START_TEST(done_ret_empty_and_unknown_reply_words)
{
	struct arena a;
	struct buf in = BUF_INIT(0);
	struct ros_conn *c;
	struct ros_result res;
	struct ros_error err;

	arena_init(&a, 0);
	put_sentence(&in, "!done", "=ret=*2A", ".tag=1", NULL);
	/* RouterOS 7.18+: !empty, then !done. */
	put_sentence(&in, "!empty", ".tag=2", NULL);
	put_sentence(&in, "!done", ".tag=2", NULL);
	/* A reply word from a future RouterOS is skipped. */
	put_sentence(&in, "!later", "=x=1", ".tag=3", NULL);
	put_sentence(&in, "!done", ".tag=3", NULL);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	ck_assert_int_eq(
	    ros_call(c, ros_cmd_new(&a, "/ppp/secret/add"), &a, &res, &err), 0);
	ck_assert_str_eq(res.ret, "*2A");
	ck_assert_int_eq(
	    ros_call(c, ros_cmd_new(&a, "/ppp/active/print"), &a, &res, &err),
	    0);
	ck_assert_uint_eq(res.nitems, 0);
	ck_assert_int_eq(res.empty, 1);
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/x/y"), &a, &res, &err),
	                 0);
	ck_assert_uint_eq(res.nitems, 0);
	ros_close(c);
	buf_release(&in);
	arena_release(&a);
}
END_TEST

START_TEST(several_traps_then_done)
{
	struct arena a;
	struct buf in = BUF_INIT(0);
	struct ros_conn *c;
	struct ros_result res;
	struct ros_error err;

	arena_init(&a, 0);
	put_sentence(&in, "!trap", "=category=1",
	             "=message=failure: secret with the same name already "
	             "exists",
	             ".tag=1", NULL);
	put_sentence(&in, "!trap", "=message=second", ".tag=1", NULL);
	put_sentence(&in, "!done", ".tag=1", NULL);
	put_sentence(&in, "!done", ".tag=2", NULL);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	ck_assert_int_eq(
	    ros_call(c, ros_cmd_new(&a, "/ppp/secret/add"), &a, &res, &err),
	    -1);
	ck_assert_int_eq(err.code, ROS_ERR_TRAP);
	ck_assert_int_eq(err.category, 1);
	ck_assert_str_eq(err.message,
	                 "failure: secret with the same name already exists");
	ck_assert_int_eq(res.status, ROS_ERR_TRAP);
	ck_assert_uint_eq(res.ntraps, 2);
	ck_assert_int_eq(res.traps->next->category, -1);
	ck_assert_str_eq(res.traps->next->message, "second");
	/* A refused command leaves the connection usable. */
	ck_assert(ros_conn_usable(c));
	ck_assert_int_eq(
	    ros_call(c, ros_cmd_new(&a, "/ppp/secret/print"), &a, &res, &err),
	    0);
	ros_close(c);
	buf_release(&in);
	arena_release(&a);
}
END_TEST

START_TEST(fatal_keeps_its_text_and_breaks_the_connection)
{
	struct arena a;
	struct buf in = BUF_INIT(0);
	struct ros_conn *c;
	struct ros_result res;
	struct ros_error err;

	arena_init(&a, 0);
	put_sentence(&in, "!fatal", "session terminated on request", NULL);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/quit"), &a, &res, &err),
	                 -1);
	ck_assert_int_eq(err.code, ROS_ERR_FATAL);
	ck_assert_str_eq(err.message, "session terminated on request");
	ck_assert_int_eq(res.status, ROS_ERR_FATAL);
	ck_assert(!ros_conn_usable(c));
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/x/y"), &a, &res, &err),
	                 -1);
	ck_assert_int_eq(err.code, ROS_ERR_IO);
	ros_close(c);
	buf_release(&in);
	arena_release(&a);
}
END_TEST

/* Replies to three tagged commands, interleaved as a router may. */
static void
interleaved_replies(struct buf *in)
{
	put_sentence(in, "!re", "=name=two", ".tag=2", NULL);
	put_sentence(in, "!re", "=name=one", ".tag=1", NULL);
	put_sentence(in, "!done", "=ret=*3", ".tag=3", NULL);
	put_sentence(in, "!trap", "=message=no such item", ".tag=2", NULL);
	put_sentence(in, "!done", ".tag=1", NULL);
	put_sentence(in, "!done", ".tag=2", NULL);
}

START_TEST(pipeline_matches_interleaved_tags)
{
	struct arena a;
	struct buf in = BUF_INIT(0);
	struct ros_conn *c;
	struct ros_result res[3];
	struct ros_error err;
	struct ros_cmd *cmds[3];

	arena_init(&a, 0);
	interleaved_replies(&in);
	/* Chunks of 1 byte: the engine reassembles every sentence. */
	for (size_t chunk = 0; chunk <= 1; chunk++) {
		c = ros_mem_open(NULL, in.s, in.len, chunk);
		cmds[0] = ros_cmd_new(&a, "/ppp/secret/print");
		cmds[1] = ros_cmd_new(&a, "/ppp/secret/remove");
		cmds[2] = ros_cmd_new(&a, "/ppp/secret/add");
		ck_assert_int_eq(ros_pipeline(c, cmds, 3, &a, res, &err), 0);
		ck_assert_int_eq(res[0].status, ROS_OK);
		ck_assert_str_eq(ros_item_get(res[0].items, "name"), "one");
		ck_assert_int_eq(res[1].status, ROS_ERR_TRAP);
		ck_assert_str_eq(ros_result_message(&res[1]), "no such item");
		ck_assert_str_eq(ros_item_get(res[1].items, "name"), "two");
		ck_assert_int_eq(res[2].status, ROS_OK);
		ck_assert_str_eq(res[2].ret, "*3");
		ck_assert_str_eq(ros_result_message(&res[2]), "");
		ros_close(c);
	}
	buf_release(&in);
	arena_release(&a);
}
END_TEST

START_TEST(pipeline_keeps_a_window_and_the_order)
{
	enum { N = 300 };
	struct arena a;
	struct buf in = BUF_INIT(0), want = BUF_INIT(0);
	struct ros_conn *c;
	struct ros_opts o = {0};
	struct ros_result *res;
	struct ros_error err;
	struct ros_cmd *cmds[N];
	const void *sent;
	size_t nsent;
	char tag[32], name[32];

	arena_init(&a, 0);
	res = arena_alloc(&a, N * sizeof(*res));
	for (int i = 0; i < N; i++) {
		snprintf(tag, sizeof(tag), ".tag=%d", i + 1);
		snprintf(name, sizeof(name), "c-%06d", i);
		put_sentence(&in, "!done", tag, NULL);
		cmds[i] = ros_cmd_new(&a, "/ppp/secret/set");
		ros_cmd_attr(cmds[i], ".id", name);
		ros_cmd_attr(cmds[i], "disabled", "yes");
		put_sentence(&want, "/ppp/secret/set", "=.id=c-000000", NULL);
		buf_truncate(&want, want.len - 1);
		/* Replace the name written above by the right one. */
		memcpy(want.s + want.len - 6, name + 2, 6);
		put_word(&want, "=disabled=yes", 13);
		put_word(&want, tag, strlen(tag));
		buf_add(&want, "", 1);
	}
	o.max_inflight = 8;
	c = ros_mem_open(&o, in.s, in.len, 7);
	ck_assert_int_eq(ros_pipeline(c, cmds, N, &a, res, &err), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(res[i].status, ROS_OK);
	sent = ros_mem_sent(c, &nsent);
	ck_assert_uint_eq(nsent, want.len);
	ck_assert_mem_eq(sent, want.s, want.len);
	ros_close(c);
	buf_release(&in);
	buf_release(&want);
	arena_release(&a);
}
END_TEST

START_TEST(replies_that_break_the_stream)
{
	struct arena a;
	struct buf in = BUF_INIT(0);
	struct ros_conn *c;
	struct ros_result res[2];
	struct ros_error err;
	struct ros_cmd *cmds[2];

	arena_init(&a, 0);
	/* A tag nobody sent. */
	put_sentence(&in, "!done", ".tag=9", NULL);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/a/b"), &a, res, &err),
	                 -1);
	ck_assert_int_eq(err.code, ROS_ERR_PROTOCOL);
	ck_assert(strstr(err.message, "unknown tag 9"));
	ck_assert(!ros_conn_usable(c));
	ros_close(c);

	/* An untagged reply to a tagged command, a reply without '!'. */
	buf_reset(&in);
	put_sentence(&in, "!done", NULL);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/a/b"), &a, res, &err),
	                 -1);
	ck_assert_int_eq(err.code, ROS_ERR_PROTOCOL);
	ros_close(c);
	buf_reset(&in);
	put_sentence(&in, "done", ".tag=1", NULL);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/a/b"), &a, res, &err),
	                 -1);
	ck_assert_int_eq(err.code, ROS_ERR_PROTOCOL);
	ros_close(c);

	/* Cut in the middle of a sentence: the first command is done and
	 * keeps its result, the second is not. */
	buf_reset(&in);
	put_sentence(&in, "!done", ".tag=1", NULL);
	put_sentence(&in, "!re", "=name=x", ".tag=2", NULL);
	c = ros_mem_open(NULL, in.s, in.len - 4, 0);
	cmds[0] = ros_cmd_new(&a, "/a/b");
	cmds[1] = ros_cmd_new(&a, "/a/c");
	ck_assert_int_eq(ros_pipeline(c, cmds, 2, &a, res, &err), -1);
	ck_assert_int_eq(err.code, ROS_ERR_IO);
	ck_assert_str_eq(err.message, "connection closed by the router");
	ck_assert_int_eq(res[0].status, ROS_OK);
	ck_assert_int_eq(res[1].status, ROS_ERR_IO);
	ros_close(c);
	buf_release(&in);
	arena_release(&a);
}
END_TEST

START_TEST(reply_over_max_reply_bytes)
{
	struct arena a;
	struct buf in = BUF_INIT(0);
	struct ros_opts o = {0};
	struct ros_conn *c;
	struct ros_result res;
	struct ros_error err;

	arena_init(&a, 0);
	for (int i = 0; i < 100; i++)
		put_sentence(&in, "!re", "=name=0123456789", ".tag=1", NULL);
	put_sentence(&in, "!done", ".tag=1", NULL);
	o.max_reply_bytes = 4096;
	c = ros_mem_open(&o, in.s, in.len, 0);
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/a/b"), &a, &res, &err),
	                 -1);
	ck_assert_int_eq(err.code, ROS_ERR_PROTOCOL);
	ck_assert(strstr(err.message, "limit of 4096 bytes"));
	ck_assert_uint_lt(res.nitems, 100);
	ros_close(c);

	/* Skipped reply words count as well. */
	buf_reset(&in);
	for (int i = 0; i < 1000; i++)
		put_sentence(&in, "!later", ".tag=1", NULL);
	c = ros_mem_open(&o, in.s, in.len, 0);
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/a/b"), &a, &res, &err),
	                 -1);
	ck_assert_int_eq(err.code, ROS_ERR_PROTOCOL);
	ros_close(c);

	/* An arena over its cap fails the call, not the process. */
	{
		struct arena small;

		arena_init(&small, 2048);
		buf_reset(&in);
		for (int i = 0; i < 100; i++)
			put_sentence(&in, "!re", "=name=0123456789", ".tag=1",
			             NULL);
		put_sentence(&in, "!done", ".tag=1", NULL);
		c = ros_mem_open(NULL, in.s, in.len, 0);
		ck_assert_int_eq(
		    ros_call(c, ros_cmd_new(&a, "/a/b"), &small, &res, &err),
		    -1);
		ck_assert_int_eq(err.code, ROS_ERR_PROTOCOL);
		ck_assert_str_eq(err.message, "reply too large for the arena");
		ros_close(c);
		arena_release(&small);
	}
	buf_release(&in);
	arena_release(&a);
}
END_TEST

START_TEST(commands_refuse_bad_input_before_sending)
{
	struct arena a, tiny;
	struct ros_conn *c;
	struct ros_result res;
	struct ros_error err;
	struct ros_cmd *cmd, *cmds[2];
	size_t nsent;
	char *big = xmalloc(ROS_CMD_MAX_WORD + 1);

	arena_init(&a, 0);
	memset(big, 'x', ROS_CMD_MAX_WORD + 1);
	c = ros_mem_open(NULL, "", 0, 0);

	cmd = ros_cmd_new(&a, "/ppp/secret/add");
	ck_assert_int_eq(ros_cmd_attrn(cmd, "password", "ab\0cd", 5), -1);
	ck_assert_str_eq(cmd->problem, "NUL byte in the value of \"password\"");
	/* The first problem sticks; later additions are refused too. */
	ck_assert_int_eq(ros_cmd_attr(cmd, "name", "fine"), -1);
	ck_assert_int_eq(ros_call(c, cmd, &a, &res, &err), -1);
	ck_assert_int_eq(err.code, ROS_ERR_INVALID);
	ck_assert(strstr(err.message, "NUL byte"));

	/* The longest value that fits, and one byte more. */
	cmd = ros_cmd_new(&a, "/a/b");
	ck_assert_int_eq(ros_cmd_word(cmd, big, ROS_CMD_MAX_WORD), 0);
	ck_assert_int_eq(ros_cmd_word(cmd, big, ROS_CMD_MAX_WORD + 1), -1);
	ck_assert(strstr(cmd->problem, "over the limit"));
	cmd = ros_cmd_new(&a, "/a/b");
	ck_assert_int_eq(ros_cmd_attrn(cmd, "comment", big, ROS_CMD_MAX_WORD),
	                 -1);

	cmd = ros_cmd_new(&a, "/a/b");
	ck_assert_int_eq(ros_cmd_attr(cmd, ".tag", "5"), -1);
	cmd = ros_cmd_new(&a, "/a/b");
	ck_assert_int_eq(ros_cmd_word(cmd, ".tag=5", 6), -1);
	cmd = ros_cmd_new(&a, "/a/b");
	ck_assert_int_eq(ros_cmd_word(cmd, "", 0), -1);
	ck_assert_str_eq(cmd->problem, "empty word");
	cmd = ros_cmd_new(&a, "/a/b");
	ck_assert_int_eq(ros_cmd_attr(cmd, "a=b", "c"), -1);
	cmd = ros_cmd_new(&a, "/a/b");
	ck_assert_int_eq(ros_cmd_query(cmd, "", "c"), -1);
	cmd = ros_cmd_new(&a, "ppp/secret/add");
	ck_assert_str_eq(cmd->problem, "a command starts with '/'");
	cmd = ros_cmd_new(&a, "/a/b");
	for (int i = 1; i < ROS_CMD_MAX_WORDS; i++)
		ck_assert_int_eq(ros_cmd_word(cmd, "?#|", 3), 0);
	ck_assert_int_eq(ros_cmd_word(cmd, "?#|", 3), -1);

	/* An arena over its cap: NULL, refused at the send. */
	arena_init(&tiny, 64);
	ck_assert_ptr_null(ros_cmd_new(&tiny, "/a/b"));
	ck_assert_int_eq(ros_cmd_attr(NULL, "a", "b"), -1);
	ck_assert_int_eq(ros_call(c, NULL, &a, &res, &err), -1);
	ck_assert_int_eq(err.code, ROS_ERR_INVALID);
	arena_release(&tiny);

	/* One bad command refuses the whole batch, and nothing was sent. */
	cmds[0] = ros_cmd_new(&a, "/a/b");
	cmds[1] = ros_cmd_new(&a, "/a/c");
	ros_cmd_attrn(cmds[1], "x", "\0", 1);
	ck_assert_int_eq(ros_pipeline(c, cmds, 2, &a, &res, &err), -1);
	ck_assert_int_eq(err.code, ROS_ERR_INVALID);
	ck_assert(strstr(err.message, "command 1"));
	ros_mem_sent(c, &nsent);
	ck_assert_uint_eq(nsent, 0);
	ck_assert(ros_conn_usable(c));
	ros_close(c);
	free(big);
	arena_release(&a);
}
END_TEST

START_TEST(find_helpers)
{
	struct arena a;
	struct buf in = BUF_INIT(0), want = BUF_INIT(0);
	struct ros_conn *c;
	struct ros_result res;
	struct ros_error err;
	const char *id = "x";
	const void *sent;
	size_t nsent;

	arena_init(&a, 0);
	put_sentence(&in, "!re", "=.id=*1F", ".tag=1", NULL);
	put_sentence(&in, "!done", ".tag=1", NULL);
	put_sentence(&in, "!empty", ".tag=2", NULL);
	put_sentence(&in, "!done", ".tag=2", NULL);
	put_sentence(&in, "!re", "=.id=*1", "=address=10.0.0.2", ".tag=3",
	             NULL);
	put_sentence(&in, "!re", "=.id=*2", "=address=10.0.0.3", ".tag=3",
	             NULL);
	put_sentence(&in, "!done", ".tag=3", NULL);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	ck_assert_int_eq(
	    ros_find_id(c, &a, "/ppp/secret", "name", "alice", &id, &err), 1);
	ck_assert_str_eq(id, "*1F");
	ck_assert_int_eq(
	    ros_find_id(c, &a, "/ppp/secret", "name", "nobody", &id, &err), 0);
	ck_assert_ptr_null(id);
	ck_assert_int_eq(ros_find(c, &a, "/ppp/active", "name", "alice", 5,
	                          ".id,address", &res, &err),
	                 2);
	ck_assert_str_eq(ros_item_get(res.items->next, "address"), "10.0.0.3");

	put_sentence(&want, "/ppp/secret/print", "?name=alice",
	             "=.proplist=.id", ".tag=1", NULL);
	put_sentence(&want, "/ppp/secret/print", "?name=nobody",
	             "=.proplist=.id", ".tag=2", NULL);
	put_sentence(&want, "/ppp/active/print", "?name=alice",
	             "=.proplist=.id,address", ".tag=3", NULL);
	sent = ros_mem_sent(c, &nsent);
	ck_assert_uint_eq(nsent, want.len);
	ck_assert_mem_eq(sent, want.s, want.len);
	ros_close(c);
	buf_release(&in);
	buf_release(&want);
	arena_release(&a);
}
END_TEST

START_TEST(fingerprint_forms)
{
	unsigned char fp[ROS_FINGERPRINT_LEN], want[ROS_FINGERPRINT_LEN];
	char colons[ROS_FINGERPRINT_HEX + ROS_FINGERPRINT_LEN];
	const char *hex = "00112233445566778899aabbccddeeff"
	                  "00112233445566778899AABBCCDDEEFF";

	ck_assert_int_eq(hex_decode(hex, ROS_FINGERPRINT_LEN, want), 0);
	ck_assert_int_eq(ros_fingerprint_parse(hex, fp), 0);
	ck_assert_mem_eq(fp, want, sizeof(fp));
	for (size_t i = 0, j = 0; i < ROS_FINGERPRINT_LEN; i++) {
		colons[j++] = hex[2 * i];
		colons[j++] = hex[2 * i + 1];
		colons[j++] = i + 1 < ROS_FINGERPRINT_LEN ? ':' : '\0';
	}
	ck_assert_int_eq(ros_fingerprint_parse(colons, fp), 0);
	ck_assert_mem_eq(fp, want, sizeof(fp));
	colons[2] = '-';
	ck_assert_int_eq(ros_fingerprint_parse(colons, fp), -1);
	ck_assert_int_eq(ros_fingerprint_parse("abcd", fp), -1);
	ck_assert_int_eq(ros_fingerprint_parse(NULL, fp), -1);
	ck_assert_int_eq(
	    ros_fingerprint_parse("g0112233445566778899aabbccddeeff"
	                          "00112233445566778899aabbccddeeff",
	                          fp),
	    -1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* An in-process peer on loopback: plain TCP, TLS or ADH. */

enum peer_tls { PEER_PLAIN, PEER_TLS, PEER_ADH };

enum peer_script {
	SCRIPT_ROUTER,      /* modern login, then answers commands */
	SCRIPT_LEGACY,      /* MD5 challenge login, then answers */
	SCRIPT_BAD_LOGIN,   /* !trap, !done */
	SCRIPT_TRAP_CLOSE,  /* !trap, then hangs up */
	SCRIPT_SILENT,      /* reads and never answers */
	SCRIPT_MUTE_AFTER,  /* logs in, then never answers */
	SCRIPT_DROP_MIDWAY, /* logs in, half a reply, hangs up */
	SCRIPT_BYTEWISE,    /* logs in, replies one byte per send */
	SCRIPT_DEAF_AFTER,  /* logs in, then never reads again */
};

#define PEER_MAX_CONNS 4

struct peer {
	enum peer_tls tls;
	enum peer_script script;
	int accepts; /* connections to serve, one after the other */
	int lfd, port;
	int wake[2]; /* peer_stop() writes here to end a deaf peer */
	SSL_CTX *ctx;
	X509 *cert;
	EVP_PKEY *key;
	pthread_t th;
	/* What the peer saw, for the test to check after the join. */
	char login[4][128]; /* the last login sentence's words */
	size_t nlogin;
	int handshake_ok[PEER_MAX_CONNS];
	long bytes[PEER_MAX_CONNS]; /* received after the handshake */
	int commands;
};

struct pconn {
	int fd;
	SSL *ssl;
	struct ros_parser parser;
	unsigned char in[4096];
	size_t in_len, in_off;
	long *bytes;
};

static long
p_read_some(struct pconn *pc, void *buf, size_t n)
{
	ssize_t r;

	if (pc->ssl) {
		int k = SSL_read(pc->ssl, buf, (int)n);

		return k > 0 ? k : -1;
	}
	r = read(pc->fd, buf, n);
	return r > 0 ? (long)r : -1;
}

static int
p_write(struct pconn *pc, const void *buf, size_t n)
{
	if (pc->ssl)
		return SSL_write(pc->ssl, buf, (int)n) == (int)n ? 0 : -1;
	return send(pc->fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Reads one sentence into the peer's parser; -1 at end of file. */
static int
p_sentence(struct pconn *pc)
{
	for (;;) {
		long r;

		if (pc->in_off < pc->in_len) {
			size_t used = 0;
			int rc =
			    ros_parser_feed(&pc->parser, pc->in + pc->in_off,
			                    pc->in_len - pc->in_off, &used);

			pc->in_off += used;
			if (rc < 0)
				return -1;
			if (rc == 1)
				return 0;
			continue;
		}
		r = p_read_some(pc, pc->in, sizeof(pc->in));
		if (r <= 0)
			return -1;
		pc->in_len = (size_t)r;
		pc->in_off = 0;
		*pc->bytes += r;
	}
}

/* The rest of the first word starting with prefix, or NULL. */
static const char *
p_word(struct pconn *pc, const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < pc->parser.nwords; i++) {
		const char *w = pc->parser.buf + pc->parser.words[i].off;

		if (strncmp(w, prefix, n) == 0)
			return w + n;
	}
	return NULL;
}

static void
p_reply(struct pconn *pc, const char *type, const char *attr, const char *tag)
{
	struct buf b = BUF_INIT(0);
	char tagw[64];

	put_word(&b, type, strlen(type));
	if (attr)
		put_word(&b, attr, strlen(attr));
	if (tag) {
		snprintf(tagw, sizeof(tagw), ".tag=%s", tag);
		put_word(&b, tagw, strlen(tagw));
	}
	buf_add(&b, "", 1);
	p_write(pc, b.s, b.len);
	buf_release(&b);
}

#define PEER_PASSWORD  "s3cret pass"
#define PEER_CHALLENGE "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

/* The legacy response the peer expects, computed here on its own. */
static void
legacy_response(char out[35])
{
	unsigned char in[64], md[16];
	size_t n = 0;
	unsigned int mdlen = 0;

	in[n++] = 0;
	memcpy(in + n, PEER_PASSWORD, strlen(PEER_PASSWORD));
	n += strlen(PEER_PASSWORD);
	hex_decode(PEER_CHALLENGE, 16, in + n);
	n += 16;
	EVP_Digest(in, n, md, &mdlen, EVP_md5(), NULL);
	out[0] = '0';
	out[1] = '0';
	hex_encode(md, 16, out + 2);
}

/* Records the login sentence's words; whether it logs in admin. */
static int
p_login_ok(struct pconn *pc, struct peer *pe, const char *key,
           const char *secret)
{
	const char *name = p_word(pc, "=name="), *v;
	char want[64];

	pe->nlogin = 0;
	for (size_t i = 0; i < pc->parser.nwords && pe->nlogin < 4; i++)
		snprintf(pe->login[pe->nlogin++], sizeof(pe->login[0]), "%s",
		         pc->parser.buf + pc->parser.words[i].off);
	snprintf(want, sizeof(want), "=%s=", key);
	v = p_word(pc, want);
	return strcmp(pc->parser.buf, "/login") == 0 && name &&
	       strcmp(name, "admin") == 0 && v && strcmp(v, secret) == 0 &&
	       !p_word(pc, ".tag=");
}

/* Answers commands as a small router would, until end of file. */
static void
p_serve(struct pconn *pc, struct peer *pe)
{
	while (p_sentence(pc) == 0) {
		const char *tag = p_word(pc, ".tag=");

		pe->commands++;
		if (pe->script == SCRIPT_MUTE_AFTER)
			continue;
		if (strcmp(pc->parser.buf, "/system/identity/print") == 0) {
			if (pe->script == SCRIPT_DROP_MIDWAY) {
				/* "!re", then half of "=name=MikroTik". */
				p_write(pc, "\x03!re\x0e=name=Mik", 13);
				return;
			}
			if (pe->script == SCRIPT_BYTEWISE) {
				struct buf b = BUF_INIT(0);
				char tw[40];

				snprintf(tw, sizeof(tw), ".tag=%s", tag);
				put_sentence(&b, "!re", "=name=MikroTik", tw,
				             NULL);
				put_sentence(&b, "!done", tw, NULL);
				for (size_t i = 0; i < b.len; i++)
					p_write(pc, b.s + i, 1);
				buf_release(&b);
				continue;
			}
			p_reply(pc, "!re", "=name=MikroTik", tag);
		}
		p_reply(pc, "!done", NULL, tag);
	}
}

/* One connection, as the script says. */
static void
p_script(struct pconn *pc, struct peer *pe)
{
	char resp[35];

	switch (pe->script) {
	case SCRIPT_SILENT:
		/*
		 * Raw reads: a ClientHello is no sentence, and must not end
		 * the silence.
		 */
		while (p_read_some(pc, pc->in, sizeof(pc->in)) > 0)
			;
		return;
	case SCRIPT_BAD_LOGIN:
	case SCRIPT_TRAP_CLOSE:
		if (p_sentence(pc) < 0)
			return;
		p_login_ok(pc, pe, "password", PEER_PASSWORD);
		p_reply(pc, "!trap",
		        "=message=invalid user name or password (6)", NULL);
		if (pe->script == SCRIPT_TRAP_CLOSE)
			return;
		p_reply(pc, "!done", NULL, NULL);
		while (p_sentence(pc) == 0)
			;
		return;
	case SCRIPT_LEGACY:
		if (p_sentence(pc) < 0)
			return;
		p_reply(pc, "!done", "=ret=" PEER_CHALLENGE, NULL);
		if (p_sentence(pc) < 0)
			return;
		legacy_response(resp);
		if (!p_login_ok(pc, pe, "response", resp))
			return;
		p_reply(pc, "!done", NULL, NULL);
		p_serve(pc, pe);
		return;
	default:
		if (p_sentence(pc) < 0)
			return;
		if (!p_login_ok(pc, pe, "password", PEER_PASSWORD)) {
			p_reply(pc, "!trap", "=message=unexpected login", NULL);
			p_reply(pc, "!done", NULL, NULL);
			return;
		}
		p_reply(pc, "!done", NULL, NULL);
		if (pe->script == SCRIPT_DEAF_AFTER) {
			/* Never reads again, until the test is over. */
			struct pollfd w = {pe->wake[0], POLLIN, 0};

			poll(&w, 1, 20000);
			return;
		}
		p_serve(pc, pe);
		return;
	}
}

static void *
peer_main(void *arg)
{
	struct peer *pe = arg;
	sigset_t pipe;

	/*
	 * The peer's own OpenSSL writes may hit a closed socket.  Blocked
	 * in this thread only: the library, on the test's thread, must
	 * never raise SIGPIPE itself.
	 */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	for (int k = 0; k < pe->accepts; k++) {
		/* Records of a long run share the last slot. */
		int slot = k < PEER_MAX_CONNS ? k : PEER_MAX_CONNS - 1;
		struct pconn pc;
		int one = 1, hs = 0;

		memset(&pc, 0, sizeof(pc));
		pe->bytes[slot] = 0;
		pc.bytes = &pe->bytes[slot];
		ros_parser_init(&pc.parser, 0, 0, 0);
		pc.fd = accept(pe->lfd, NULL, NULL);
		if (pc.fd < 0)
			break;
		setsockopt(pc.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pe->tls != PEER_PLAIN) {
			pc.ssl = SSL_new(pe->ctx);
			SSL_set_fd(pc.ssl, pc.fd);
			hs = SSL_accept(pc.ssl) == 1;
		}
		pe->handshake_ok[slot] = hs;
		if (pe->tls == PEER_PLAIN || hs)
			p_script(&pc, pe);
		if (pc.ssl) {
			SSL_shutdown(pc.ssl);
			SSL_free(pc.ssl);
		}
		close(pc.fd);
		ros_parser_release(&pc.parser);
	}
	return NULL;
}

/* A self-signed P-256 certificate for CN=router, valid for an hour. */
static void
make_cert(struct peer *pe)
{
	X509_NAME *name;

	pe->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(pe->key);
	pe->cert = X509_new();
	X509_set_version(pe->cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(pe->cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(pe->cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(pe->cert), 3600);
	X509_set_pubkey(pe->cert, pe->key);
	name = X509_get_subject_name(pe->cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)"router", -1, -1, 0);
	X509_set_issuer_name(pe->cert, name);
	ck_assert_int_gt(X509_sign(pe->cert, pe->key, EVP_sha256()), 0);
}

static void
peer_start_n(struct peer *pe, enum peer_tls tls, enum peer_script script,
             int accepts)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(pe, 0, sizeof(*pe));
	pe->tls = tls;
	pe->script = script;
	pe->accepts = accepts;
	ck_assert_int_eq(pipe(pe->wake), 0);
	pe->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(pe->lfd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(pe->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	                 0);
	ck_assert_int_eq(listen(pe->lfd, 4), 0);
	ck_assert_int_eq(getsockname(pe->lfd, (struct sockaddr *)&sin, &len),
	                 0);
	pe->port = ntohs(sin.sin_port);
	if (tls == PEER_TLS) {
		make_cert(pe);
		pe->ctx = SSL_CTX_new(TLS_server_method());
		ck_assert_int_eq(SSL_CTX_use_certificate(pe->ctx, pe->cert), 1);
		ck_assert_int_eq(SSL_CTX_use_PrivateKey(pe->ctx, pe->key), 1);
	} else if (tls == PEER_ADH) {
		/* What an api-ssl service without a certificate offers. */
		pe->ctx = SSL_CTX_new(TLS_server_method());
		SSL_CTX_set_max_proto_version(pe->ctx, TLS1_2_VERSION);
		SSL_CTX_set_security_level(pe->ctx, 0);
		ck_assert_int_eq(SSL_CTX_set_cipher_list(pe->ctx, "ADH"), 1);
		SSL_CTX_set_dh_auto(pe->ctx, 1);
	}
	ck_assert_int_eq(pthread_create(&pe->th, NULL, peer_main, pe), 0);
}

static void
peer_start(struct peer *pe, enum peer_tls tls, enum peer_script script)
{
	peer_start_n(pe, tls, script, 1);
}

static void
peer_stop(struct peer *pe)
{
	ck_assert_int_eq(write(pe->wake[1], "x", 1), 1);
	pthread_join(pe->th, NULL);
	close(pe->lfd);
	close(pe->wake[0]);
	close(pe->wake[1]);
	SSL_CTX_free(pe->ctx);
	X509_free(pe->cert);
	EVP_PKEY_free(pe->key);
}

/* The SHA-256 of the peer's certificate in hex, computed here. */
static void
peer_fingerprint(const struct peer *pe, char out[ROS_FINGERPRINT_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	ck_assert_int_eq(X509_digest(pe->cert, EVP_sha256(), md, &n), 1);
	ck_assert_uint_eq(n, 32);
	hex_encode(md, 32, out);
}

/* Options for the peer, with a writable password. */
static void
opts_for(struct ros_opts *o, const struct peer *pe, char *password)
{
	memset(o, 0, sizeof(*o));
	memset(password, 0, 32);
	snprintf(password, 32, "%s", PEER_PASSWORD);
	o->host = "127.0.0.1";
	o->port = pe->port;
	o->username = "admin";
	o->password = password;
	o->connect_timeout_ms = 2000;
	o->read_timeout_ms = 2000;
}

/* Asserts that the password buffer holds only zeros. */
static void
assert_wiped(const char *password)
{
	static const char zeros[32];

	ck_assert_mem_eq(password, zeros, 32);
}

/* One identity print on a logged-in connection. */
static void
assert_identity(struct ros_conn *c)
{
	struct arena a;
	struct ros_result res;
	struct ros_error err;

	arena_init(&a, 0);
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/system/identity/print"),
	                          &a, &res, &err),
	                 0);
	ck_assert_str_eq(ros_item_get(res.items, "name"), "MikroTik");
	arena_release(&a);
}

START_TEST(login_modern)
{
	struct peer pe;
	struct ros_opts o;
	struct ros_error err;
	struct ros_conn *c;
	char pw[32];

	peer_start(&pe, PEER_PLAIN, SCRIPT_ROUTER);
	opts_for(&o, &pe, pw);
	c = ros_connect(&o, &err);
	ck_assert_msg(c != NULL, "%s: %s", ros_code_name(err.code),
	              err.message);
	assert_wiped(pw);
	assert_identity(c);
	assert_identity(c);
	ros_close(c);
	peer_stop(&pe);
	ck_assert_uint_eq(pe.nlogin, 3);
	ck_assert_str_eq(pe.login[0], "/login");
	ck_assert_str_eq(pe.login[1], "=name=admin");
	ck_assert_str_eq(pe.login[2], "=password=" PEER_PASSWORD);
	ck_assert_int_eq(pe.commands, 2);
}
END_TEST

START_TEST(login_legacy_challenge)
{
	struct peer pe;
	struct ros_opts o;
	struct ros_error err;
	struct ros_conn *c;
	char pw[32], resp[35];

	peer_start(&pe, PEER_PLAIN, SCRIPT_LEGACY);
	opts_for(&o, &pe, pw);
	c = ros_connect(&o, &err);
	ck_assert_msg(c != NULL, "%s: %s", ros_code_name(err.code),
	              err.message);
	assert_wiped(pw);
	assert_identity(c);
	ros_close(c);
	peer_stop(&pe);
	legacy_response(resp);
	ck_assert_uint_eq(pe.nlogin, 3);
	ck_assert_str_eq(pe.login[1], "=name=admin");
	ck_assert_str_eq(pe.login[2] + strlen("=response="), resp);
}
END_TEST

START_TEST(login_refused)
{
	struct peer pe;
	struct ros_opts o;
	struct ros_error err;
	char pw[32];

	for (int close_early = 0; close_early <= 1; close_early++) {
		peer_start(&pe, PEER_PLAIN,
		           close_early ? SCRIPT_TRAP_CLOSE : SCRIPT_BAD_LOGIN);
		opts_for(&o, &pe, pw);
		ck_assert_ptr_null(ros_connect(&o, &err));
		ck_assert_int_eq(err.code, ROS_ERR_AUTH);
		ck_assert_str_eq(err.message,
		                 "invalid user name or password (6)");
		assert_wiped(pw);
		peer_stop(&pe);
	}
}
END_TEST

START_TEST(unreachable_and_invalid_options)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct ros_opts o;
	struct ros_error err;
	char pw[32];
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	/* A loopback port nothing listens on: bound, then closed. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);

	memset(&o, 0, sizeof(o));
	memset(pw, 0, sizeof(pw));
	snprintf(pw, sizeof(pw), "secret");
	o.host = "127.0.0.1";
	o.port = port;
	o.username = "admin";
	o.password = pw;
	ck_assert_ptr_null(ros_connect(&o, &err));
	ck_assert_int_eq(err.code, ROS_ERR_UNREACHABLE);
	ck_assert(strstr(err.message, "refused"));
	ck_assert_int_eq(err.timed_out, 0);
	assert_wiped(pw);

	/* Refused before any connection, the password wiped all the same. */
	snprintf(pw, sizeof(pw), "secret");
	o.host = "router.example.net";
	ck_assert_ptr_null(ros_connect(&o, &err));
	ck_assert_int_eq(err.code, ROS_ERR_INVALID);
	ck_assert(strstr(err.message, "not an IP address"));
	assert_wiped(pw);
	o.host = "::1";
	o.port = 70000;
	ck_assert_ptr_null(ros_connect(&o, &err));
	ck_assert_int_eq(err.code, ROS_ERR_INVALID);
	o.port = port;
	o.use_tls = 1;
	o.tls_fingerprint = "not a fingerprint";
	ck_assert_ptr_null(ros_connect(&o, &err));
	ck_assert_int_eq(err.code, ROS_ERR_INVALID);
	o.tls_fingerprint =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	o.tls_anonymous = 1;
	ck_assert_ptr_null(ros_connect(&o, &err));
	ck_assert_int_eq(err.code, ROS_ERR_INVALID);
	o.tls_anonymous = 0;
	o.username = "";
	ck_assert_ptr_null(ros_connect(&o, &err));
	ck_assert_int_eq(err.code, ROS_ERR_INVALID);
	ck_assert_ptr_null(ros_connect(NULL, &err));
	ck_assert_int_eq(err.code, ROS_ERR_INVALID);
	ck_assert_str_eq(ros_code_name(ROS_ERR_AUTH), "auth_failed");
	ck_assert_str_eq(ros_code_name(ROS_ERR_CERT_MISMATCH), "cert_mismatch");
	ck_assert_str_eq(ros_code_name((enum ros_code)99), "unknown");
}
END_TEST

/* Runs ros_connect() against a peer; returns the wall time in ms. */
static long
timed_connect(struct peer *pe, int use_tls, struct ros_error *err,
              struct ros_conn **out)
{
	struct ros_opts o;
	char pw[32];
	int64_t t0;

	opts_for(&o, pe, pw);
	o.use_tls = use_tls;
	o.connect_timeout_ms = 300;
	o.read_timeout_ms = 300;
	t0 = now_usec();
	*out = ros_connect(&o, err);
	assert_wiped(pw);
	return (long)((now_usec() - t0) / 1000);
}

START_TEST(silent_peer_is_bounded)
{
	struct peer pe;
	struct ros_error err;
	struct ros_conn *c;
	long ms;

	/* Accepts TCP, reads the login, says nothing. */
	peer_start(&pe, PEER_PLAIN, SCRIPT_SILENT);
	ms = timed_connect(&pe, 0, &err, &c);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(err.code, ROS_ERR_UNREACHABLE);
	ck_assert_int_eq(err.timed_out, 1);
	ck_assert_msg(ms >= 250 && ms < 1500, "took %ld ms", ms);
	peer_stop(&pe);

	/* The same peer for a TLS client: the handshake times out. */
	peer_start(&pe, PEER_PLAIN, SCRIPT_SILENT);
	ms = timed_connect(&pe, 1, &err, &c);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(err.code, ROS_ERR_UNREACHABLE);
	ck_assert_int_eq(err.timed_out, 1);
	ck_assert_str_eq(err.message, "tls handshake timed out");
	ck_assert_msg(ms >= 250 && ms < 1500, "took %ld ms", ms);
	peer_stop(&pe);
}
END_TEST

START_TEST(silent_after_login_is_bounded)
{
	struct peer pe;
	struct ros_opts o;
	struct ros_error err;
	struct ros_result res;
	struct ros_conn *c;
	struct arena a;
	char pw[32];
	int64_t t0;
	long ms;

	arena_init(&a, 0);
	peer_start(&pe, PEER_PLAIN, SCRIPT_MUTE_AFTER);
	opts_for(&o, &pe, pw);
	o.read_timeout_ms = 300;
	c = ros_connect(&o, &err);
	ck_assert_ptr_nonnull(c);
	t0 = now_usec();
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/system/identity/print"),
	                          &a, &res, &err),
	                 -1);
	ms = (long)((now_usec() - t0) / 1000);
	ck_assert_int_eq(err.code, ROS_ERR_IO);
	ck_assert_int_eq(err.timed_out, 1);
	ck_assert_int_eq(res.status, ROS_ERR_IO);
	ck_assert_msg(ms >= 250 && ms < 1500, "took %ld ms", ms);
	ck_assert(!ros_conn_usable(c));
	ros_close(c);
	peer_stop(&pe);
	arena_release(&a);
}
END_TEST

START_TEST(write_timeout_is_bounded)
{
	enum { N = 300, SIZE = 60000 };
	struct peer pe;
	struct ros_opts o;
	struct ros_error err;
	struct ros_result *res;
	struct ros_conn *c;
	struct ros_cmd *cmds[N];
	struct arena a;
	char pw[32], *big = xmalloc(SIZE);
	int64_t t0;
	long ms;

	arena_init(&a, 64 * 1024 * 1024);
	memset(big, 'c', SIZE);
	res = arena_alloc(&a, N * sizeof(*res));
	peer_start(&pe, PEER_PLAIN, SCRIPT_DEAF_AFTER);
	opts_for(&o, &pe, pw);
	o.read_timeout_ms = 60000;
	o.write_timeout_ms = 300;
	o.max_inflight = N;
	c = ros_connect(&o, &err);
	ck_assert_ptr_nonnull(c);
	/* 18 MB of commands nobody reads: the socket buffers fill. */
	for (int i = 0; i < N; i++) {
		cmds[i] = ros_cmd_new(&a, "/system/script/add");
		ros_cmd_attrn(cmds[i], "source", big, SIZE);
	}
	t0 = now_usec();
	ck_assert_int_eq(ros_pipeline(c, cmds, N, &a, res, &err), -1);
	ms = (long)((now_usec() - t0) / 1000);
	ck_assert_int_eq(err.code, ROS_ERR_IO);
	ck_assert_int_eq(err.timed_out, 1);
	ck_assert_str_eq(err.message, "write timed out after 300 ms");
	ck_assert_msg(ms >= 250 && ms < 3000, "took %ld ms", ms);
	ros_close(c);
	peer_stop(&pe);
	free(big);
	arena_release(&a);
}
END_TEST

START_TEST(dropped_mid_sentence_and_bytewise)
{
	struct peer pe;
	struct ros_opts o;
	struct ros_error err;
	struct ros_result res;
	struct ros_conn *c;
	struct arena a;
	char pw[32];

	arena_init(&a, 0);
	peer_start(&pe, PEER_PLAIN, SCRIPT_DROP_MIDWAY);
	opts_for(&o, &pe, pw);
	c = ros_connect(&o, &err);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ros_call(c, ros_cmd_new(&a, "/system/identity/print"),
	                          &a, &res, &err),
	                 -1);
	ck_assert_int_eq(err.code, ROS_ERR_IO);
	ck_assert_int_eq(err.timed_out, 0);
	ck_assert_str_eq(err.message, "connection closed by the router");
	ros_close(c);
	peer_stop(&pe);

	/* A reply written one byte per packet. */
	peer_start(&pe, PEER_PLAIN, SCRIPT_BYTEWISE);
	opts_for(&o, &pe, pw);
	c = ros_connect(&o, &err);
	ck_assert_ptr_nonnull(c);
	assert_identity(c);
	assert_identity(c);
	ros_close(c);
	peer_stop(&pe);
	arena_release(&a);
}
END_TEST

START_TEST(tls_fingerprint_learned_pinned_and_refused)
{
	struct peer pe;
	struct ros_opts o;
	struct ros_error err;
	struct ros_conn *c;
	char pw[32], fp[ROS_FINGERPRINT_HEX + 1], colons[100];
	char other[ROS_FINGERPRINT_HEX + 1];
	size_t j = 0;

	peer_start_n(&pe, PEER_TLS, SCRIPT_ROUTER, 3);
	peer_fingerprint(&pe, fp);

	/* First connection: nothing pinned, the fingerprint is learned. */
	opts_for(&o, &pe, pw);
	o.use_tls = 1;
	c = ros_connect(&o, &err);
	ck_assert_msg(c != NULL, "%s: %s", ros_code_name(err.code),
	              err.message);
	ck_assert_str_eq(ros_conn_fingerprint(c), fp);
	assert_identity(c);
	ros_close(c);

	/* Pinned in the "AB:CD:..." form: the same certificate passes. */
	for (size_t i = 0; i < ROS_FINGERPRINT_HEX; i++) {
		colons[j++] = (char)(fp[i] >= 'a' ? fp[i] - 'a' + 'A' : fp[i]);
		if (i % 2 == 1)
			colons[j++] = ':';
	}
	colons[j - 1] = '\0';
	opts_for(&o, &pe, pw);
	o.use_tls = 1;
	o.tls_fingerprint = colons;
	c = ros_connect(&o, &err);
	ck_assert_msg(c != NULL, "%s: %s", ros_code_name(err.code),
	              err.message);
	assert_identity(c);
	ros_close(c);

	/* Pinned to another certificate: refused after the handshake,
	 * before a single byte (the login) is sent. */
	memcpy(other, fp, sizeof(other));
	other[0] = other[0] == '0' ? '1' : '0';
	opts_for(&o, &pe, pw);
	o.use_tls = 1;
	o.tls_fingerprint = other;
	ck_assert_ptr_null(ros_connect(&o, &err));
	ck_assert_int_eq(err.code, ROS_ERR_CERT_MISMATCH);
	ck_assert(strstr(err.message, fp));
	assert_wiped(pw);
	peer_stop(&pe);
	ck_assert_int_eq(pe.handshake_ok[2], 1);
	ck_assert_int_eq(pe.bytes[2], 0);
	ck_assert_int_gt(pe.bytes[1], 0);
}
END_TEST

START_TEST(many_tls_connections)
{
	enum { N = 160 };
	struct peer pe;
	struct ros_opts o;
	struct ros_error err;
	struct ros_conn *c;
	char pw[32];
	int ok = 0;

	/*
	 * More connections than there are application BIO type indexes
	 * (128-255), each closed again: nothing per connection may run out
	 * or leak.
	 */
	peer_start_n(&pe, PEER_TLS, SCRIPT_ROUTER, N);
	for (int i = 0; i < N; i++) {
		opts_for(&o, &pe, pw);
		o.use_tls = 1;
		c = ros_connect(&o, &err);
		ok += c != NULL;
		ros_close(c);
	}
	peer_stop(&pe);
	ck_assert_int_eq(ok, N);
}
END_TEST

START_TEST(tls_anonymous)
{
	struct peer pe;
	struct ros_opts o;
	struct ros_error err;
	struct ros_conn *c;
	char pw[32];

	peer_start_n(&pe, PEER_ADH, SCRIPT_ROUTER, 2);
	opts_for(&o, &pe, pw);
	o.tls_anonymous = 1;
	c = ros_connect(&o, &err);
	ck_assert_msg(c != NULL, "%s: %s", ros_code_name(err.code),
	              err.message);
	ck_assert_str_eq(ros_conn_fingerprint(c), "");
	assert_identity(c);
	ros_close(c);

	/* Without tls_anonymous the handshake fails, with a hint. */
	opts_for(&o, &pe, pw);
	o.use_tls = 1;
	ck_assert_ptr_null(ros_connect(&o, &err));
	ck_assert_int_eq(err.code, ROS_ERR_UNREACHABLE);
	ck_assert(strstr(err.message, "tls handshake failed"));
	ck_assert(strstr(err.message, "needs tls_anonymous"));
	assert_wiped(pw);
	peer_stop(&pe);
	ck_assert_int_eq(pe.handshake_ok[0], 1);
	ck_assert_int_eq(pe.handshake_ok[1], 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The most expensive replies under the default caps. */

/*
 * Runs one command against a reply of the given shape, repeated until
 * the next sentence would pass max_reply_bytes, then !done.  Returns the
 * CPU time in ms and checks the call succeeded.
 */
static double
worst_case(const char *what, const char *const *words, size_t nwords)
{
	struct arena a;
	struct buf in = BUF_INIT(64 * 1024 * 1024), one = BUF_INIT(0);
	struct ros_conn *c;
	struct ros_result res;
	struct ros_error err;
	size_t per;
	double t0, ms;
	int rc;

	for (size_t i = 0; i < nwords; i++)
		put_word(&one, words[i], strlen(words[i]));
	put_word(&one, ".tag=1", 6);
	buf_add(&one, "", 1);
	/* A generous bound on the sentences that fit; the call stops at the
	 * cap, so more is only more of the same refused work. */
	per = one.len;
	for (size_t n = 0; n * per < 2 * ROS_DEFAULT_MAX_REPLY; n++)
		buf_add(&in, one.s, one.len);
	put_sentence(&in, "!done", ".tag=1", NULL);
	ck_assert(!in.over);
	arena_init(&a, 64 * 1024 * 1024);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	t0 = cpu_ms();
	rc = ros_call(c, ros_cmd_new(&a, "/x/print"), &a, &res, &err);
	ms = cpu_ms() - t0;
	/* Whatever the shape, the cap stops it. */
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(err.code, ROS_ERR_PROTOCOL);
	ck_assert(strstr(err.message, "over the limit"));
	fprintf(stderr,
	        "routeros worst case %-22s stopped at %7zu of %d bytes, "
	        "%5zu items, %6.2f ms CPU\n",
	        what, res.bytes, ROS_DEFAULT_MAX_REPLY, res.nitems, ms);
	ros_close(c);
	arena_release(&a);
	buf_release(&in);
	buf_release(&one);
	return ms;
}

/* A print of n secrets as RouterOS 7 sends them, whole or with a
 * proplist of seven fields; whether it fits the default cap. */
static int
secrets_fit(int n, int whole, size_t *per_item)
{
	struct arena a;
	struct buf in = BUF_INIT(64 * 1024 * 1024);
	struct ros_conn *c;
	struct ros_result res;
	struct ros_error err;
	char id[32], name[48], pw[48], comment[64];
	int rc;

	for (int i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "=.id=*%X", 0x100 + i);
		snprintf(name, sizeof(name), "=name=C-%06d", i);
		snprintf(pw, sizeof(pw), "=password=Xk29vLq%05d", i);
		snprintf(comment, sizeof(comment),
		         "=comment=rtrw:C-%06d Budi Santoso", i);
		if (whole)
			put_sentence(
			    &in, "!re", id, name, "=service=pppoe",
			    "=caller-id=", pw, "=profile=10M-UP",
			    "=local-address=", "=remote-address=", "=routes=",
			    "=ipv6-routes=", "=limit-bytes-in=0",
			    "=limit-bytes-out=0",
			    "=last-logged-out=2025-01-31 21:14:07",
			    "=last-caller-id=AA:BB:CC:DD:EE:FF",
			    "=last-disconnect-reason=peer-request",
			    "=disabled=false", comment, ".tag=1", NULL);
		else
			put_sentence(&in, "!re", id, name, "=service=pppoe", pw,
			             "=profile=10M-UP", "=disabled=false",
			             comment, ".tag=1", NULL);
	}
	put_sentence(&in, "!done", ".tag=1", NULL);
	arena_init(&a, 64 * 1024 * 1024);
	c = ros_mem_open(NULL, in.s, in.len, 0);
	rc = ros_call(c, ros_cmd_new(&a, "/ppp/secret/print"), &a, &res, &err);
	*per_item = n ? res.bytes / (res.nitems ? res.nitems : 1) : 0;
	ros_close(c);
	arena_release(&a);
	buf_release(&in);
	return rc == 0;
}

START_TEST(default_cap_holds_a_router_of_secrets)
{
	size_t whole, few;

	/* What README.md promises: about 950 whole, 2,100 with a proplist. */
	ck_assert(secrets_fit(900, 1, &whole));
	ck_assert(!secrets_fit(1000, 1, &whole));
	ck_assert(secrets_fit(2100, 0, &few));
	ck_assert(!secrets_fit(2250, 0, &few));
	fprintf(stderr,
	        "routeros: a whole secret costs %zu bytes of the cap, one "
	        "with seven fields %zu\n",
	        whole, few);
}
END_TEST

START_TEST(worst_case_replies_cost_milliseconds)
{
	static const char *const tiny_attrs[] = {
	    "!re", "=a", "=b", "=c", "=d", "=e", "=f", "=g", "=h", "=i", "=j",
	    "=k",  "=l", "=m", "=n", "=o", "=p", "=q", "=r", "=s", "=t", "=u"};
	static const char *const tiny_words[] = {
	    "!re", "x", "x", "x", "x", "x", "x", "x", "x", "x", "x",
	    "x",   "x", "x", "x", "x", "x", "x", "x", "x", "x", "x"};
	static const char *const empty_items[] = {"!re"};
	static const char *const skipped[] = {"!x"};
	static const char *const traps[] = {"!trap", "=message=m",
	                                    "=category=1"};
	/*
	 * About 1.5 ms each in a release build, 5-11 ms under ASan and
	 * UBSan; the bound leaves room for a loaded machine, and a parser
	 * gone quadratic would pass it by far.
	 */
	const double bound = 50.0;

	ck_assert_double_lt(
	    worst_case("tiny attributes", tiny_attrs, ARRAY_SIZE(tiny_attrs)),
	    bound);
	ck_assert_double_lt(worst_case("tiny skipped words", tiny_words,
	                               ARRAY_SIZE(tiny_words)),
	                    bound);
	ck_assert_double_lt(
	    worst_case("empty items", empty_items, ARRAY_SIZE(empty_items)),
	    bound);
	ck_assert_double_lt(
	    worst_case("unknown reply words", skipped, ARRAY_SIZE(skipped)),
	    bound);
	ck_assert_double_lt(worst_case("traps", traps, ARRAY_SIZE(traps)),
	                    bound);
}
END_TEST

UNIT_MAIN("routeros", codec_boundaries_both_ways, codec_refuses_control_bytes,
          parser_one_byte_at_a_time, parser_refuses_what_is_over_its_caps,
          call_collects_items_and_sends_the_words,
          done_ret_empty_and_unknown_reply_words, several_traps_then_done,
          fatal_keeps_its_text_and_breaks_the_connection,
          pipeline_matches_interleaved_tags,
          pipeline_keeps_a_window_and_the_order, replies_that_break_the_stream,
          reply_over_max_reply_bytes, commands_refuse_bad_input_before_sending,
          find_helpers, fingerprint_forms, login_modern, login_legacy_challenge,
          login_refused, unreachable_and_invalid_options,
          silent_peer_is_bounded, silent_after_login_is_bounded,
          write_timeout_is_bounded, dropped_mid_sentence_and_bytewise,
          tls_fingerprint_learned_pinned_and_refused, many_tls_connections,
          tls_anonymous, default_cap_holds_a_router_of_secrets,
          worst_case_replies_cost_milliseconds)
