#include "mail.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

/* RFC 5322 allows 998; RFC 2047 lines holding encoded-words stop at 76. */
#define LINE_SOFT 78
#define EW_LINE   76
#define EW_MAX    75

/* ---- addresses and identifiers ---------------------------------------- */

/* The characters of a dot-atom's atoms (RFC 5322 atext). */
static int
is_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

/* A host name: dot-separated labels of letters, digits and hyphens. */
static int
domain_ok(const char *d, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = d[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

int
mail_address_ok(const char *addr)
{
	const char *at;
	size_t n, local;

	if (!addr)
		return 0;
	n = strlen(addr);
	at = strchr(addr, '@');
	if (n == 0 || n > MAIL_ADDR_MAX || !at || strchr(at + 1, '@'))
		return 0;
	local = (size_t)(at - addr);
	if (local == 0 || local > 64 || addr[0] == '.' || at[-1] == '.')
		return 0;
	for (size_t i = 0; i < local; i++) {
		if (addr[i] == '.') {
			if (addr[i + 1] == '.')
				return 0;
			continue;
		}
		if (!is_atext(addr[i]))
			return 0;
	}
	return domain_ok(at + 1, n - local - 1);
}

int
mail_message_id(int64_t tenant, int64_t id, const char *domain, char *out,
                size_t n)
{
	int w;

	if (!domain || !domain_ok(domain, strlen(domain)) || id <= 0)
		return -1;
	if (tenant > 0)
		w = snprintf(out, n, "<rtrw.n%" PRId64 ".t%" PRId64 "@%s>", id,
		             tenant, domain);
	else
		w = snprintf(out, n, "<rtrw.p%" PRId64 "@%s>", id, domain);
	return w > 0 && (size_t)w < n ? 0 : -1;
}

/* Whether the message id is "<...>" without spaces or control bytes. */
static int
message_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n < 5 || n > MAIL_MESSAGE_ID_MAX || id[0] != '<' ||
	    id[n - 1] != '>' || !strchr(id, '@'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 ||
		    (unsigned char)id[i] >= 0x7f)
			return 0;
	return 1;
}

/* ---- header text -------------------------------------------------------- */

static int
has_controls(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int
printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* Appends one "=?UTF-8?B?...?=" word for the n bytes at s. */
static void
add_encoded_word(struct buf *out, const char *s, size_t n)
{
	unsigned char b64[EW_MAX + 4];

	/* n <= 45, so its base64 (60 characters) fits. */
	EVP_EncodeBlock(b64, (const unsigned char *)s, (int)n);
	buf_adds(out, "=?UTF-8?B?");
	buf_adds(out, (const char *)b64);
	buf_adds(out, "?=");
}

int
mail_header_text(struct buf *out, size_t name_len, const char *s)
{
	size_t n = strlen(s), col = name_len, i = 0;

	if (has_controls(s) || !utf8_valid(s, n))
		return -1;
	if (printable_ascii(s) && name_len + n <= LINE_SOFT &&
	    !strstr(s, "=?")) {
		buf_add(out, s, n);
		return 0;
	}
	/*
	 * Encoded-words: each line (with its leading space) stays within
	 * 76 characters, so the raw bytes per word are what base64 fits in
	 * the room left after "=?UTF-8?B?" and "?=".
	 */
	while (i < n) {
		size_t room = EW_LINE - col, b64, take;

		if (room < 12 + 4) {
			buf_adds(out, "\r\n ");
			col = 1;
			continue;
		}
		b64 = (room - 12) / 4 * 4;
		if (b64 > EW_MAX - 12)
			b64 = (EW_MAX - 12) / 4 * 4;
		take = b64 / 4 * 3;
		if (take > n - i)
			take = n - i;
		/* Never cut a UTF-8 sequence: back off to its first byte. */
		while (take > 0 && i + take < n &&
		       ((unsigned char)s[i + take] & 0xc0) == 0x80)
			take--;
		if (take == 0)
			return -1;
		add_encoded_word(out, s + i, take);
		i += take;
		if (i < n) {
			buf_adds(out, "\r\n ");
			col = 1;
		}
	}
	return 0;
}

/* A display name and address: Name <addr>, or the address alone. */
static int
add_mailbox(struct buf *out, size_t name_len, const char *name,
            const char *addr)
{
	if (!name || !*name) {
		buf_adds(out, addr);
		return 0;
	}
	if (has_controls(name) || !utf8_valid(name, strlen(name)))
		return -1;
	if (printable_ascii(name)) {
		/* A quoted-string holds any printable ASCII. */
		buf_addch(out, '"');
		for (const char *p = name; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addch(out, '\\');
			buf_addch(out, *p);
		}
		buf_addch(out, '"');
	} else if (mail_header_text(out, name_len, name) < 0) {
		return -1;
	}
	buf_adds(out, " <");
	buf_adds(out, addr);
	buf_addch(out, '>');
	return 0;
}

static void
add_date(struct buf *out, time_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
	                                   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
	                                     "May", "Jun", "Jul", "Aug",
	                                     "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	gmtime_r(&t, &tm);
	buf_addf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	         tm.tm_min, tm.tm_sec);
}

/* ---- quoted-printable --------------------------------------------------- */

void
mail_qp_encode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		int end_of_line = p[1] == '\0' || p[1] == '\n' || p[1] == '\r';
		char tok[3];
		size_t len;

		if (c == '\r' || c == '\n') {
			/* CRLF, lone LF and lone CR all end a line. */
			if (c == '\r' && p[1] == '\n')
				p++;
			buf_adds(out, "\r\n");
			col = 0;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !end_of_line)) {
			tok[0] = (char)c;
			len = 1;
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			len = 3;
		}
		/* Soft line break: the "=" ends the line at 76 characters. */
		if (col + len > 75) {
			buf_adds(out, "=\r\n");
			col = 0;
		}
		/* A line that starts with "." would need SMTP dot-stuffing. */
		if (col == 0 && c == '.') {
			memcpy(tok, "=2E", 3);
			len = 3;
		}
		buf_add(out, tok, len);
		col += len;
	}
}

/* ---- the message -------------------------------------------------------- */

static void
add_part(struct buf *out, const char *boundary, const char *type,
         const char *body)
{
	buf_addf(out,
	         "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
	         "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
	         boundary, type);
	mail_qp_encode(out, body);
	buf_adds(out, "\r\n");
}

int
mail_build(const struct mail_msg *m, struct buf *out, char *err, size_t errlen)
{
	unsigned char rnd[12];
	char boundary[64], hex[2 * sizeof(rnd) + 1];

	if (!mail_address_ok(m->from_email) || !mail_address_ok(m->to_email)) {
		snprintf(err, errlen, "address '%s' is not a plain addr-spec",
		         mail_address_ok(m->from_email) ? m->to_email
		                                        : m->from_email);
		return -1;
	}
	if (!message_id_ok(m->message_id)) {
		snprintf(err, errlen, "bad message id");
		return -1;
	}
	if (!m->subject || (!m->text && !m->html) ||
	    (m->text && !utf8_valid(m->text, strlen(m->text))) ||
	    (m->html && !utf8_valid(m->html, strlen(m->html)))) {
		snprintf(err, errlen,
		         "the message has no body or is not valid UTF-8 text");
		return -1;
	}
	/*
	 * The boundary holds "=_", which quoted-printable never writes
	 * ("=" is always "=3D"), so no body line can match it.
	 */
	if (random_bytes(rnd, sizeof(rnd)) < 0) {
		snprintf(err, errlen, "no random bytes for the boundary");
		return -1;
	}
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(boundary, sizeof(boundary), "=_rtrw_%s", hex);

	buf_adds(out, "Date: ");
	add_date(out, m->date);
	buf_adds(out, "\r\nFrom: ");
	if (add_mailbox(out, 6, m->from_name, m->from_email) < 0) {
		snprintf(err, errlen,
		         "the sender's name has control "
		         "characters or is not UTF-8");
		return -1;
	}
	buf_adds(out, "\r\nTo: ");
	if (add_mailbox(out, 4, m->to_name, m->to_email) < 0) {
		snprintf(err, errlen,
		         "the recipient's name has control "
		         "characters or is not UTF-8");
		return -1;
	}
	buf_adds(out, "\r\nSubject: ");
	if (mail_header_text(out, 9, m->subject) < 0) {
		snprintf(err, errlen,
		         "the subject has control characters "
		         "or is not UTF-8");
		return -1;
	}
	buf_addf(out,
	         "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
	         "Auto-Submitted: auto-generated\r\n",
	         m->message_id);
	if (m->text && m->html) {
		buf_addf(out,
		         "Content-Type: multipart/alternative;\r\n"
		         " boundary=\"%s\"\r\n\r\n"
		         "This is a multi-part message in MIME format.\r\n\r\n",
		         boundary);
		add_part(out, boundary, "text/plain", m->text);
		add_part(out, boundary, "text/html", m->html);
		buf_addf(out, "--%s--\r\n", boundary);
	} else {
		/* A template with one body: a single-part message. */
		buf_addf(out,
		         "Content-Type: %s; charset=UTF-8\r\n"
		         "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
		         m->text ? "text/plain" : "text/html");
		mail_qp_encode(out, m->text ? m->text : m->html);
		buf_adds(out, "\r\n");
	}
	if (out->over) {
		snprintf(err, errlen, "the message is too large");
		return -1;
	}
	return 0;
}

/* ---- SMTP through libcurl ---------------------------------------------- */

static const char *const security_names[MAIL_SECURITY__MAX] = {
    [MAIL_STARTTLS] = "starttls",
    [MAIL_STARTTLS_OPTIONAL] = "starttls_optional",
    [MAIL_TLS] = "tls",
    [MAIL_PLAIN] = "none",
};

int
mail_security_parse(const char *s)
{
	for (int i = 0; i < MAIL_SECURITY__MAX; i++)
		if (s && strcmp(s, security_names[i]) == 0)
			return i;
	return -1;
}

const char *
mail_security_name(enum mail_security s)
{
	return (unsigned)s < MAIL_SECURITY__MAX ? security_names[s] : "?";
}

struct mail_conn {
	CURL *h;
};

int
mail_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
mail_global_cleanup(void)
{
	curl_global_cleanup();
}

struct mail_conn *
mail_conn_new(void)
{
	struct mail_conn *c = xcalloc(1, sizeof(*c));

	c->h = curl_easy_init();
	if (!c->h)
		abort();
	return c;
}

void
mail_conn_free(struct mail_conn *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->h);
	free(c);
}

struct upload {
	const char *data;
	size_t len, off;
};

static size_t
read_message(char *dst, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t room = size * nitems, n = u->len - u->off;

	if (n > room)
		n = room;
	memcpy(dst, u->data + u->off, n);
	u->off += n;
	return n;
}

/* Host names, IPv4 and IPv6 literals: nothing that could bend the URL. */
static int
host_ok(const char *h)
{
	size_t n = h ? strlen(h) : 0;

	if (n == 0 || n > 253)
		return 0;
	if (strchr(h, ':'))
		return strspn(h, "0123456789abcdefABCDEF:.") == n;
	return domain_ok(h, n);
}

int
mail_send(struct mail_conn *c, const struct mail_server *s,
          const char *from_email, const char *to_email, const char *message,
          size_t n, struct mail_result *r)
{
	char url[600], from[MAIL_ADDR_MAX + 3], to[MAIL_ADDR_MAX + 3];
	char errbuf[CURL_ERROR_SIZE] = "";
	int auth = s->username && s->username[0];
	struct upload up = {message, n, 0};
	struct curl_slist *rcpt = NULL;
	int v6, rc = -1;
	CURLcode cc;
	CURL *h = c->h;

	r->smtp_code = 0;
	r->error[0] = '\0';
	v6 = s->host && strchr(s->host, ':') != NULL;
	if (!host_ok(s->host) || s->port < 1 || s->port > 65535 ||
	    (unsigned)s->security >= MAIL_SECURITY__MAX ||
	    !domain_ok(s->helo_domain, strlen(s->helo_domain))) {
		snprintf(r->error, sizeof(r->error),
		         "smtp server settings are not valid");
		return -1;
	}
	if (auth && (s->security == MAIL_PLAIN ||
	             s->security == MAIL_STARTTLS_OPTIONAL)) {
		snprintf(r->error, sizeof(r->error),
		         "credentials are only sent over TLS: set security to "
		         "starttls or tls");
		return -1;
	}
	if (!mail_address_ok(from_email) || !mail_address_ok(to_email)) {
		snprintf(r->error, sizeof(r->error), "bad envelope address");
		return -1;
	}
	snprintf(url, sizeof(url), "%s://%s%s%s:%d/%s",
	         s->security == MAIL_TLS ? "smtps" : "smtp", v6 ? "[" : "",
	         s->host, v6 ? "]" : "", s->port, s->helo_domain);
	snprintf(from, sizeof(from), "<%s>", from_email);
	snprintf(to, sizeof(to), "<%s>", to_email);
	rcpt = curl_slist_append(NULL, to);
	if (!rcpt)
		abort();

	/* Resetting keeps the connection cache: the next message to the
	 * same server reuses its session. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, read_message);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)n);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, s->connect_timeout);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, s->timeout);
	switch (s->security) {
	case MAIL_STARTTLS:
	case MAIL_TLS:
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
		break;
	case MAIL_STARTTLS_OPTIONAL:
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
		break;
	default:
		curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_NONE);
	}
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, s->verify_tls ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, s->verify_tls ? 2L : 0L);
	if (s->ca_file && s->ca_file[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
	if (auth) {
		curl_easy_setopt(h, CURLOPT_USERNAME, s->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
		                 s->password ? s->password : "");
	}

	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->smtp_code);
	if (cc == CURLE_OK) {
		rc = 0;
	} else {
		char code[48] = "";

		/* libcurl keeps the reply code, not its text: say the code. */
		if (r->smtp_code > 0)
			if (snprintf(code, sizeof(code),
			             " (server replied %ld)",
			             r->smtp_code) >= (int)sizeof(code))
				code[0] = '\0';
		/* A long error is cut; what it starts with says enough. */
		if (snprintf(r->error, sizeof(r->error), "smtp %s:%d: %s%s%s%s",
		             s->host, s->port, curl_easy_strerror(cc),
		             errbuf[0] ? ": " : "", errbuf,
		             code) >= (int)sizeof(r->error))
			r->error[sizeof(r->error) - 1] = '\0';
	}
	/* The handle keeps copies of the credentials until the next reset;
	 * drop them now rather than hold them between messages. */
	if (auth) {
		curl_easy_setopt(h, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(h, CURLOPT_PASSWORD, NULL);
	}
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(h, CURLOPT_READDATA, NULL);
	curl_slist_free_all(rcpt);
	return rc;
}
