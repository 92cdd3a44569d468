/*
 * lib/mail.c: building messages (headers, RFC 2047 words, quoted-
 * printable parts) and the checks mail_send() makes before it connects.
 * Delivery through a real SMTP server is tested end to end
 * (tests/e2e/test_mailer.py).
 */
#include <openssl/evp.h>
#include <string.h>

#include "buf.h"
#include "mail.h"
#include "tests/unit/unit.h"

/* Decodes quoted-printable (soft breaks, =XX) for the round trips. */
static void
qp_decode(const char *in, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '=' && i + 2 < n && in[i + 1] == '\r' &&
		    in[i + 2] == '\n') {
			i += 2;
		} else if (in[i] == '=' && i + 2 < n) {
			char hex[3] = {in[i + 1], in[i + 2], 0};

			buf_addch(out, (char)strtol(hex, NULL, 16));
			i += 2;
		} else {
			buf_addch(out, in[i]);
		}
	}
}

/* Decodes every encoded-word of a header value (and drops the folds). */
static void
words_decode(const char *v, struct buf *out)
{
	const char *p = v;

	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		const char *end = strstr(p + 10, "?=");
		unsigned char raw[128];
		int n;

		ck_assert_ptr_nonnull(end);
		ck_assert_int_le((int)(end + 2 - p), 75);
		n = EVP_DecodeBlock(raw, (const unsigned char *)p + 10,
		                    (int)(end - p - 10));
		ck_assert_int_ge(n, 0);
		/* EVP_DecodeBlock counts the padding as zero bytes. */
		while (n > 0 && end[-1] == '=' && raw[n - 1] == 0) {
			n--;
			end--;
		}
		buf_add(out, raw, (size_t)n);
		p = strstr(p + 10, "?=") + 2;
	}
}

/* The value of header name (unfolded), or NULL. */
static char *
header(const char *msg, const char *name, struct buf *out)
{
	size_t n = strlen(name);
	const char *end = strstr(msg, "\r\n\r\n");

	buf_reset(out);
	for (const char *p = msg; p && p < end;) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			for (;;) {
				const char *eol = strstr(v, "\r\n");

				buf_add(out, v, (size_t)(eol - v));
				if (eol[2] != ' ' && eol[2] != '\t')
					break;
				v = eol + 2;
			}
			return out->s;
		}
		p = strstr(p, "\r\n");
		if (p)
			p += 2;
	}
	return NULL;
}

static void
assert_lines(const char *msg)
{
	for (const char *p = msg; *p;) {
		const char *eol = strstr(p, "\r\n");

		ck_assert_msg(eol != NULL, "message does not end in CRLF");
		ck_assert_msg(memchr(p, '\n', (size_t)(eol - p)) == NULL,
		              "bare LF");
		ck_assert_msg(memchr(p, '\r', (size_t)(eol - p)) == NULL,
		              "bare CR");
		ck_assert_msg(eol - p <= 78, "line of %d: %.*s", (int)(eol - p),
		              (int)(eol - p), p);
		p = eol + 2;
	}
}

static struct mail_msg
sample(void)
{
	struct mail_msg m = {
	    .from_email = "noreply@rtrw.example.id",
	    .from_name = "RT/RW Net \"Warga\"",
	    .to_email = "budi@example.com",
	    .to_name = "Budi Śantoso",
	    .subject = "Tagihan 2026-02 sudah jatuh tempo — segera bayar",
	    .text = "Yth. Budi,\nTagihan Rp 150.000 = lunas?\n.\nbaris "
	            "terakhir dengan spasi   \n",
	    .html = "<p>Yth. Budi &amp; Sari,</p>\r\n<p>Ini baris yang "
	            "sangat panjang sekali, lebih dari tujuh puluh enam "
	            "karakter, ü ß 日本</p>",
	    .message_id = "<rtrw.n42.t7@rtrw.example.id>",
	    .date = 1767225600, /* 2026-01-01 00:00:00 UTC, a Thursday */
	};
	return m;
}

START_TEST(builds_a_multipart_message)
{
	struct buf out = BUF_INIT(0), h = BUF_INIT(0), dec = BUF_INIT(0);
	struct mail_msg m = sample();
	const char *b, *part, *body, *next;
	char err[200], boundary[80];

	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), 0);
	assert_lines(out.s);
	ck_assert_str_eq(header(out.s, "Date", &h),
	                 "Thu, 01 Jan 2026 00:00:00 +0000");
	ck_assert_str_eq(header(out.s, "Message-ID", &h),
	                 "<rtrw.n42.t7@rtrw.example.id>");
	ck_assert_str_eq(header(out.s, "MIME-Version", &h), "1.0");
	ck_assert_str_eq(header(out.s, "Auto-Submitted", &h), "auto-generated");
	ck_assert_str_eq(
	    header(out.s, "From", &h),
	    "\"RT/RW Net \\\"Warga\\\"\" <noreply@rtrw.example.id>");
	header(out.s, "To", &h);
	ck_assert_ptr_nonnull(strstr(h.s, " <budi@example.com>"));
	words_decode(h.s, &dec);
	ck_assert_str_eq(dec.s, "Budi Śantoso");
	buf_reset(&dec);
	words_decode(header(out.s, "Subject", &h), &dec);
	ck_assert_str_eq(dec.s, m.subject);

	b = strstr(header(out.s, "Content-Type", &h), "boundary=\"");
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(strstr(h.s, "multipart/alternative"));
	snprintf(boundary, sizeof(boundary), "--%.*s",
	         (int)strcspn(b + 10, "\""), b + 10);
	ck_assert_ptr_nonnull(strstr(boundary, "=_"));

	/* Part 1: text/plain, quoted-printable, decodes to the text. */
	part = strstr(out.s, boundary);
	ck_assert_ptr_nonnull(part);
	ck_assert_ptr_nonnull(strstr(part, "Content-Type: text/plain; "
	                                   "charset=UTF-8\r\n"));
	body = strstr(part, "\r\n\r\n") + 4;
	next = strstr(body, boundary);
	ck_assert_ptr_nonnull(next);
	buf_reset(&dec);
	qp_decode(body, (size_t)(next - body - 2), &dec);
	ck_assert_str_eq(dec.s, "Yth. Budi,\r\nTagihan Rp 150.000 = lunas?\r\n"
	                        ".\r\nbaris terakhir dengan spasi   \r\n");
	/* A line of its own "." never reaches SMTP as the end of data. */
	ck_assert_ptr_null(strstr(out.s, "\r\n.\r\n"));
	ck_assert_ptr_nonnull(strstr(body, "spasi  =20"));

	/* Part 2: text/html. */
	part = next;
	ck_assert_ptr_nonnull(strstr(part, "Content-Type: text/html; "
	                                   "charset=UTF-8\r\n"));
	body = strstr(part, "\r\n\r\n") + 4;
	next = strstr(body, boundary);
	ck_assert_ptr_nonnull(next);
	buf_reset(&dec);
	qp_decode(body, (size_t)(next - body - 2), &dec);
	ck_assert_str_eq(dec.s, m.html);
	ck_assert_int_eq(strncmp(next + strlen(boundary), "--\r\n", 4), 0);
	buf_release(&out);
	buf_release(&h);
	buf_release(&dec);
}
END_TEST

/* A template with one body gives a message of that part alone. */
START_TEST(one_body_makes_a_single_part_message)
{
	struct buf out = BUF_INIT(0), h = BUF_INIT(0), dec = BUF_INIT(0);
	struct mail_msg m = sample();
	const char *body;
	char err[200];

	m.html = NULL;
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), 0);
	assert_lines(out.s);
	ck_assert_str_eq(header(out.s, "Content-Type", &h),
	                 "text/plain; charset=UTF-8");
	ck_assert_str_eq(header(out.s, "Content-Transfer-Encoding", &h),
	                 "quoted-printable");
	ck_assert_ptr_null(strstr(out.s, "multipart"));
	body = strstr(out.s, "\r\n\r\n") + 4;
	qp_decode(body, strlen(body) - 2, &dec);
	ck_assert_str_eq(dec.s, "Yth. Budi,\r\nTagihan Rp 150.000 = lunas?\r\n"
	                        ".\r\nbaris terakhir dengan spasi   \r\n");
	m = sample();
	m.text = NULL;
	buf_reset(&out);
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), 0);
	ck_assert_str_eq(header(out.s, "Content-Type", &h),
	                 "text/html; charset=UTF-8");
	/* Neither body: no message. */
	m.html = NULL;
	buf_reset(&out);
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no body"));
	buf_release(&out);
	buf_release(&h);
	buf_release(&dec);
}
END_TEST

START_TEST(plain_subjects_stay_plain)
{
	struct buf out = BUF_INIT(0), h = BUF_INIT(0);
	struct mail_msg m = sample();
	char err[200], longer[200];

	m.subject = "Tiket T-202602-0001: Internet mati";
	m.to_name = NULL;
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), 0);
	ck_assert_str_eq(header(out.s, "Subject", &h), m.subject);
	ck_assert_str_eq(header(out.s, "To", &h), "budi@example.com");
	/* Too long for one line, or looking like an encoded-word: encoded. */
	memset(longer, 'a', 120);
	longer[120] = '\0';
	m.subject = longer;
	buf_reset(&out);
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), 0);
	assert_lines(out.s);
	ck_assert_ptr_nonnull(
	    strstr(header(out.s, "Subject", &h), "=?UTF-8?B?"));
	m.subject = "=?UTF-8?B?QQ==?=";
	buf_reset(&out);
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), 0);
	ck_assert_str_ne(header(out.s, "Subject", &h), m.subject);
	buf_release(&out);
	buf_release(&h);
}
END_TEST

START_TEST(header_injection_is_refused)
{
	struct buf out = BUF_INIT(0);
	struct mail_msg m = sample();
	char err[200];

	m.subject = "Halo\r\nBcc: victim@example.com";
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), -1);
	m = sample();
	m.to_name = "Budi\nBcc: x@example.com";
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), -1);
	m = sample();
	m.to_email = "budi@example.com\r\nBcc: x@example.com";
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), -1);
	m = sample();
	m.message_id = "<a@b>\r\nBcc: x";
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), -1);
	m = sample();
	m.subject = "\xc3\x28 invalid";
	ck_assert_int_eq(mail_build(&m, &out, err, sizeof(err)), -1);
	buf_release(&out);
}
END_TEST

START_TEST(addresses_and_message_ids)
{
	static const char *const good[] = {
	    "a@b.co",
	    "budi.santoso+rt05@mail.example.id",
	    "x_y-z@a-b.c",
	    "o'brien@example.com",
	};
	static const char *const bad[] = {
	    "",         "a",       "@b.c",   "a@",        "a@@b.c",
	    "a b@c.d",  "a@b..c",  ".a@b.c", "a.@b.c",    "a..b@c.d",
	    "a@-b_c.d", "<a@b.c>", "a@b.c>", "\"a\"@b.c", "a@b.c\r\n",
	    "ü@b.c",    "a@b,c.d", "a@.b.c",
	};
	char id[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(mail_address_ok(good[i]), "%s refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!mail_address_ok(bad[i]), "%s accepted", bad[i]);
	ck_assert(!mail_address_ok(NULL));
	ck_assert_int_eq(
	    mail_message_id(7, 42, "rtrw.example.id", id, sizeof(id)), 0);
	ck_assert_str_eq(id, "<rtrw.n42.t7@rtrw.example.id>");
	ck_assert_int_eq(
	    mail_message_id(0, 42, "rtrw.example.id", id, sizeof(id)), 0);
	ck_assert_str_eq(id, "<rtrw.p42@rtrw.example.id>");
	ck_assert_int_eq(mail_message_id(7, 42, "bad domain", id, sizeof(id)),
	                 -1);
	ck_assert_int_eq(mail_message_id(7, 42, "rtrw.example.id", id, 10), -1);
}
END_TEST

START_TEST(qp_keeps_lines_short_and_round_trips)
{
	struct buf out = BUF_INIT(0), dec = BUF_INIT(0);
	char in[4096];

	/* Every byte value but NUL, and one very long line. */
	for (int i = 0; i < 255; i++)
		in[i] = (char)(i + 1);
	memset(in + 255, 'x', 2000);
	memcpy(in + 2255, " \t", 3);
	mail_qp_encode(&out, in);
	for (const char *p = out.s; *p;) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		ck_assert_uint_le(len, 76);
		for (size_t i = 0; i < len; i++)
			ck_assert((unsigned char)p[i] >= 32 &&
			          (unsigned char)p[i] < 127);
		p += len + (eol ? 2 : 0);
	}
	qp_decode(out.s, out.len, &dec);
	/* Line breaks come back as CRLF: \n (10) and \r (13) each one. */
	ck_assert_uint_eq(dec.len, 2257 + 2);
	ck_assert_int_eq(memcmp(dec.s,
	                        "\x01\x02\x03\x04\x05\x06\x07\x08\x09"
	                        "\r\n\x0b\x0c\r\n",
	                        15),
	                 0);
	ck_assert_int_eq(memcmp(dec.s + dec.len - 4, "xx \t", 4), 0);
	buf_release(&out);
	buf_release(&dec);
}
END_TEST

START_TEST(send_checks_before_connecting)
{
	struct mail_conn *c = mail_conn_new();
	struct mail_server s = {
	    .host = "127.0.0.1",
	    .port = 1,
	    .security = MAIL_PLAIN,
	    .username = "user",
	    .password = "secret",
	    .helo_domain = "rtrw.example.id",
	    .connect_timeout = 2,
	    .timeout = 5,
	};
	struct mail_result r;

	/* Credentials never travel without TLS. */
	ck_assert_int_eq(mail_send(c, &s, "a@b.co", "c@d.co", "x", 1, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.error, "TLS"));
	s.security = MAIL_STARTTLS_OPTIONAL;
	ck_assert_int_eq(mail_send(c, &s, "a@b.co", "c@d.co", "x", 1, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.error, "TLS"));
	/* Nothing that could bend the URL. */
	s.username = NULL;
	s.host = "evil/host";
	ck_assert_int_eq(mail_send(c, &s, "a@b.co", "c@d.co", "x", 1, &r), -1);
	s.host = "127.0.0.1";
	ck_assert_int_eq(
	    mail_send(c, &s, "a@b.co>\r\nRCPT TO:<x@y.z", "c@d.co", "x", 1, &r),
	    -1);
	/* A closed port is an error with a reason, quickly. */
	ck_assert_int_eq(mail_send(c, &s, "a@b.co", "c@d.co", "x", 1, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.error, "127.0.0.1:1"));
	ck_assert_int_eq(mail_security_parse("starttls"), MAIL_STARTTLS);
	ck_assert_int_eq(mail_security_parse("tls"), MAIL_TLS);
	ck_assert_int_eq(mail_security_parse("none"), MAIL_PLAIN);
	ck_assert_int_eq(mail_security_parse("ssl"), -1);
	ck_assert_int_eq(mail_security_parse(NULL), -1);
	mail_conn_free(c);
}
END_TEST

int
main(void)
{
	const TTest *const tests[] = {
	    builds_a_multipart_message,    one_body_makes_a_single_part_message,
	    plain_subjects_stay_plain,     header_injection_is_refused,
	    addresses_and_message_ids,     qp_keeps_lines_short_and_round_trips,
	    send_checks_before_connecting,
	};
	int rc;

	mail_global_init();
	rc = unit_run("mail", tests, sizeof(tests) / sizeof(tests[0]));
	mail_global_cleanup();
	return rc;
}
