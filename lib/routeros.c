#include "routeros.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "util.h"

/*
 * RouterOS never sends an empty sentence; the protocol says to skip them,
 * so a few are tolerated, but an endless stream of NUL bytes is refused
 * rather than keeping a caller busy until its deadline.
 */
#define ROS_MAX_EMPTIES 8

/* Queue commands while less than this much output waits to be sent. */
#define ROS_OUT_HIGH (64 * 1024)

/* Reads from the socket in pieces of this size. */
#define ROS_READ_CHUNK (16 * 1024)

/*
 * The ciphers of tls_anonymous: anonymous Diffie-Hellman only, which is
 * what a RouterOS api-ssl service without a certificate offers.
 */
#define ROS_ADH_CIPHERS "ADH:!eNULL:!3DES"

enum transport { TR_TCP, TR_TLS, TR_MEM };

struct ros_conn {
	enum transport tr;
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	size_t wpend; /* length of an SSL_write() that must be repeated */

	int read_ms, write_ms;
	size_t max_reply, max_inflight;
	struct ros_parser parser;

	/*
	 * Output waiting to be sent: out[out_off..out_len).  Its memory is
	 * wiped whenever it moves, since the login puts the password in it.
	 */
	unsigned char *out;
	size_t out_len, out_off, out_alloc;

	/*
	 * Bytes read past the last !done of a run, fed first in the next
	 * run (a memory router hands out every reply at once).
	 */
	unsigned char *rest;
	size_t rest_len;

	uint64_t next_tag;
	int broken;
	char fingerprint[ROS_FINGERPRINT_HEX + 1];

	/* The memory transport of ros_mem_open(). */
	const unsigned char *mem;
	size_t mem_len, mem_off, mem_chunk;
	struct buf mem_sent;
};

/* What a command waits for in a run. */
enum slot_state { SLOT_QUEUED = 0, SLOT_SENT, SLOT_DONE };

struct slot {
	enum slot_state state;
	int64_t deadline; /* usec, for the whole reply */
	struct ros_result *res;
};

/* clang-format off */
static const char *const code_names[ROS_CODE__MAX] = {
	[ROS_OK]                = "ok",
	[ROS_ERR_UNREACHABLE]   = "unreachable",
	[ROS_ERR_CERT_MISMATCH] = "cert_mismatch",
	[ROS_ERR_AUTH]          = "auth_failed",
	[ROS_ERR_TRAP]          = "trap",
	[ROS_ERR_FATAL]         = "fatal",
	[ROS_ERR_IO]            = "io",
	[ROS_ERR_PROTOCOL]      = "protocol",
	[ROS_ERR_INVALID]       = "invalid",
};
/* clang-format on */

const char *
ros_code_name(enum ros_code code)
{
	if ((unsigned)code >= ROS_CODE__MAX)
		return "unknown";
	return code_names[code];
}

static int seterr(struct ros_error *err, enum ros_code code, int timed_out,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fills *err and returns -1, so that failures read "return seterr(...)". */
static int
seterr(struct ros_error *err, enum ros_code code, int timed_out,
       const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->category = -1;
	err->timed_out = timed_out;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* The reason of the first OpenSSL error queued, or fallback. */
static const char *
tls_reason(char *out, size_t n, const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	snprintf(out, n, "%s", reason ? reason : fallback);
	ERR_clear_error();
	return out;
}

/* ------------------------------------------------------------------ */
/* The word codec. */

size_t
ros_len_encode(uint32_t len, unsigned char out[5])
{
	if (len < 0x80) {
		out[0] = (unsigned char)len;
		return 1;
	}
	if (len < 0x4000) {
		uint32_t v = len | 0x8000;

		out[0] = (unsigned char)(v >> 8);
		out[1] = (unsigned char)v;
		return 2;
	}
	if (len < 0x200000) {
		uint32_t v = len | 0xC00000;

		out[0] = (unsigned char)(v >> 16);
		out[1] = (unsigned char)(v >> 8);
		out[2] = (unsigned char)v;
		return 3;
	}
	if (len < 0x10000000) {
		uint32_t v = len | 0xE0000000;

		out[0] = (unsigned char)(v >> 24);
		out[1] = (unsigned char)(v >> 16);
		out[2] = (unsigned char)(v >> 8);
		out[3] = (unsigned char)v;
		return 4;
	}
	out[0] = 0xF0;
	out[1] = (unsigned char)(len >> 24);
	out[2] = (unsigned char)(len >> 16);
	out[3] = (unsigned char)(len >> 8);
	out[4] = (unsigned char)len;
	return 5;
}

int
ros_len_decode(const unsigned char *p, size_t n, uint32_t *len)
{
	unsigned char b;
	size_t need;

	if (n == 0)
		return 0;
	b = p[0];
	if (b < 0x80)
		need = 1;
	else if (b < 0xC0)
		need = 2;
	else if (b < 0xE0)
		need = 3;
	else if (b < 0xF0)
		need = 4;
	else if (b < 0xF8)
		need = 5;
	else
		return -1;
	if (n < need)
		return 0;
	switch (need) {
	case 1:
		*len = b;
		break;
	case 2:
		*len = (uint32_t)(b & 0x3F) << 8 | p[1];
		break;
	case 3:
		*len = (uint32_t)(b & 0x1F) << 16 | (uint32_t)p[1] << 8 | p[2];
		break;
	case 4:
		*len = (uint32_t)(b & 0x0F) << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
		break;
	default:
		/* The low three bits of 0xF0-0xF7 carry nothing. */
		*len = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		       (uint32_t)p[3] << 8 | p[4];
		break;
	}
	return (int)need;
}

/* ------------------------------------------------------------------ */
/* The sentence parser. */

void
ros_parser_init(struct ros_parser *p, size_t max_word, size_t max_words,
                size_t max_sentence)
{
	memset(p, 0, sizeof(*p));
	p->max_word = max_word ? max_word : ROS_DEFAULT_MAX_WORD;
	p->max_words = max_words ? max_words : ROS_DEFAULT_MAX_WORDS;
	p->max_sentence =
	    max_sentence ? max_sentence : ROS_DEFAULT_MAX_SENTENCE;
}

void
ros_parser_release(struct ros_parser *p)
{
	free(p->buf);
	free(p->words);
	p->buf = NULL;
	p->words = NULL;
	p->len = p->alloc = p->nwords = p->words_alloc = 0;
}

static int parser_refuse(struct ros_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
parser_refuse(struct ros_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	return -1;
}

/* Makes room for a word of wlen bytes and its NUL; 0, or -1 past a cap. */
static int
parser_start_word(struct ros_parser *p, uint32_t wlen)
{
	size_t need;

	if (wlen > p->max_word)
		return parser_refuse(p,
		                     "word of %lu bytes over the limit of %zu",
		                     (unsigned long)wlen, p->max_word);
	if (p->nwords >= p->max_words)
		return parser_refuse(p, "sentence over the limit of %zu words",
		                     p->max_words);
	need = p->len + wlen + 1;
	if (need > p->max_sentence)
		return parser_refuse(p, "sentence over the limit of %zu bytes",
		                     p->max_sentence);
	if (need > p->alloc) {
		size_t alloc = p->alloc ? p->alloc : 512;

		while (alloc < need)
			alloc *= 2;
		if (alloc > p->max_sentence)
			alloc = p->max_sentence;
		p->buf = xrealloc(p->buf, alloc);
		p->alloc = alloc;
	}
	if (p->nwords == p->words_alloc) {
		size_t n = p->words_alloc ? p->words_alloc * 2 : 16;

		if (n > p->max_words)
			n = p->max_words;
		p->words = xrealloc(p->words, n * sizeof(*p->words));
		p->words_alloc = n;
	}
	p->words[p->nwords].off = p->len;
	p->words[p->nwords].len = wlen;
	p->nwords++;
	p->need_ = wlen;
	p->in_body_ = 1;
	return 0;
}

int
ros_parser_feed(struct ros_parser *p, const void *data, size_t n, size_t *used)
{
	const unsigned char *d = data;
	size_t i = 0;

	if (p->complete_) {
		p->complete_ = 0;
		p->len = 0;
		p->nwords = 0;
	}
	while (i < n) {
		uint32_t wlen;
		int rc;

		if (p->in_body_) {
			size_t take = n - i < p->need_ ? n - i : p->need_;

			memcpy(p->buf + p->len, d + i, take);
			p->len += take;
			p->need_ -= take;
			i += take;
			if (p->need_ == 0) {
				p->buf[p->len++] = '\0';
				p->in_body_ = 0;
			}
			continue;
		}
		p->hdr_[p->nhdr_++] = d[i++];
		rc = ros_len_decode(p->hdr_, p->nhdr_, &wlen);
		if (rc < 0)
			return parser_refuse(p, "control byte 0x%02x",
			                     p->hdr_[0]);
		if (rc == 0)
			continue;
		p->nhdr_ = 0;
		if (wlen == 0) {
			if (p->nwords == 0) {
				if (++p->empties_ > ROS_MAX_EMPTIES)
					return parser_refuse(
					    p, "too many empty sentences");
				continue;
			}
			p->empties_ = 0;
			p->complete_ = 1;
			*used = i;
			return 1;
		}
		if (parser_start_word(p, wlen) < 0)
			return -1;
	}
	*used = n;
	return 0;
}

/*
 * What a sentence costs against max_reply_bytes: its bytes and the index
 * of its words, so that a sentence of many tiny words costs what it takes
 * to parse it, not just its few bytes.
 */
static size_t
sentence_cost(const struct ros_parser *p)
{
	return p->len + p->nwords * sizeof(struct ros_word);
}

/* Word i of the parser's sentence. */
static const char *
pword(const struct ros_parser *p, size_t i, size_t *len)
{
	*len = p->words[i].len;
	return p->buf + p->words[i].off;
}

static int
word_is(const struct ros_parser *p, size_t i, const char *s)
{
	size_t len, n = strlen(s);
	const char *w = pword(p, i, &len);

	return len == n && memcmp(w, s, n) == 0;
}

/*
 * The value of the attribute "=key=" in the parser's sentence (first
 * occurrence), or NULL.
 */
static const char *
pattr(const struct ros_parser *p, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);

	for (size_t i = 1; i < p->nwords; i++) {
		size_t len;
		const char *w = pword(p, i, &len);

		if (len >= klen + 2 && w[0] == '=' && w[klen + 1] == '=' &&
		    memcmp(w + 1, key, klen) == 0) {
			*vlen = len - klen - 2;
			return w + klen + 2;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Commands. */

static int cmd_refuse(struct ros_cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
cmd_refuse(struct ros_cmd *c, const char *fmt, ...)
{
	va_list ap;

	if (c->problem[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->problem, sizeof(c->problem), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Grows the encoding in the arena.  The old copy is wiped, so that wiping
 * enc at the end wipes every copy of a password the command held.
 */
static int
cmd_grow(struct ros_cmd *c, size_t more)
{
	size_t need = c->len + more, alloc;
	unsigned char *p;

	if (need <= c->alloc)
		return 0;
	alloc = c->alloc ? c->alloc * 2 : 128;
	while (alloc < need)
		alloc *= 2;
	p = arena_alloc(c->a, alloc);
	if (!p)
		return cmd_refuse(c, "the arena is over its cap");
	if (c->len)
		memcpy(p, c->enc, c->len);
	if (c->enc)
		explicit_bzero(c->enc, c->alloc);
	c->enc = p;
	c->alloc = alloc;
	return 0;
}

/*
 * Appends one word: lead (if not 0), key, sep (if not 0), then the value.
 * Only the value may hold arbitrary bytes; a NUL anywhere is refused.
 */
static int
cmd_put(struct ros_cmd *c, char lead, const char *key, size_t klen, char sep,
        const void *value, size_t vlen)
{
	unsigned char hdr[5];
	size_t total, h;

	if (!c || c->problem[0])
		return -1;
	if (vlen && !value)
		return cmd_refuse(c, "value missing");
	total = (lead ? 1 : 0) + klen + (sep ? 1 : 0);
	if (vlen > ROS_CMD_MAX_WORD || total + vlen > ROS_CMD_MAX_WORD)
		return cmd_refuse(c, "word of %zu bytes over the limit of %d",
		                  total + vlen, ROS_CMD_MAX_WORD);
	total += vlen;
	if (total == 0)
		return cmd_refuse(c, "empty word");
	if (c->nwords >= ROS_CMD_MAX_WORDS)
		return cmd_refuse(c, "more than %d words", ROS_CMD_MAX_WORDS);
	if (klen && memchr(key, '\0', klen))
		return cmd_refuse(c, "NUL byte in a key");
	if (vlen && memchr(value, '\0', vlen)) {
		if (klen)
			return cmd_refuse(c,
			                  "NUL byte in the value of \"%.*s\"",
			                  (int)(klen > 40 ? 40 : klen), key);
		return cmd_refuse(c, "NUL byte in a word");
	}
	h = ros_len_encode((uint32_t)total, hdr);
	if (cmd_grow(c, h + total) < 0)
		return -1;
	memcpy(c->enc + c->len, hdr, h);
	c->len += h;
	if (lead)
		c->enc[c->len++] = (unsigned char)lead;
	if (klen) {
		memcpy(c->enc + c->len, key, klen);
		c->len += klen;
	}
	if (sep)
		c->enc[c->len++] = (unsigned char)sep;
	if (vlen) {
		memcpy(c->enc + c->len, value, vlen);
		c->len += vlen;
	}
	c->nwords++;
	return 0;
}

struct ros_cmd *
ros_cmd_new(struct arena *a, const char *command)
{
	struct ros_cmd *c = arena_zalloc(a, sizeof(*c));
	size_t n;

	if (!c)
		return NULL;
	c->a = a;
	if (!command || command[0] != '/' || !command[1]) {
		cmd_refuse(c, "a command starts with '/'");
		return c;
	}
	n = strlen(command);
	cmd_put(c, 0, NULL, 0, 0, command, n);
	return c;
}

/* Checks an attribute or query key. */
static int
key_ok(struct ros_cmd *c, const char *key)
{
	if (!c || c->problem[0])
		return -1;
	if (!key || !key[0])
		return cmd_refuse(c, "empty key");
	if (strchr(key, '='))
		return cmd_refuse(c, "'=' in the key \"%.40s\"", key);
	if (strcmp(key, ".tag") == 0)
		return cmd_refuse(c, ".tag is set by the library");
	return 0;
}

int
ros_cmd_attrn(struct ros_cmd *c, const char *key, const void *value, size_t n)
{
	if (key_ok(c, key) < 0)
		return -1;
	return cmd_put(c, '=', key, strlen(key), '=', value, n);
}

int
ros_cmd_attr(struct ros_cmd *c, const char *key, const char *value)
{
	return ros_cmd_attrn(c, key, value, value ? strlen(value) : 0);
}

int
ros_cmd_queryn(struct ros_cmd *c, const char *key, const void *value, size_t n)
{
	if (key_ok(c, key) < 0)
		return -1;
	return cmd_put(c, '?', key, strlen(key), '=', value, n);
}

int
ros_cmd_query(struct ros_cmd *c, const char *key, const char *value)
{
	return ros_cmd_queryn(c, key, value, value ? strlen(value) : 0);
}

int
ros_cmd_word(struct ros_cmd *c, const void *word, size_t n)
{
	if (!c || c->problem[0])
		return -1;
	if (n >= 4 && memcmp(word, ".tag", 4) == 0)
		return cmd_refuse(c, ".tag is set by the library");
	return cmd_put(c, 0, NULL, 0, 0, word, n);
}

/* ------------------------------------------------------------------ */
/* Transports. */

/*
 * A socket BIO that sends with MSG_NOSIGNAL: a router that closes while
 * we write must give an error, not kill the process with SIGPIPE.
 */
static int
bio_write(BIO *b, const char *data, int n)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	r = send(fd, data, (size_t)n, MSG_NOSIGNAL);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_write(b);
		return -1;
	}
	return (int)r;
}

static int
bio_read(BIO *b, char *data, int n)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t r;

	BIO_clear_retry_flags(b);
	r = recv(fd, data, (size_t)n, 0);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_read(b);
		return -1;
	}
	return (int)r;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/*
 * The method is made once per process: a BIO type index has eight bits
 * (128-255 for applications), and a daemon connects again and again.
 * OpenSSL 3.0 hands out more indexes without complaint, which then spill
 * into the type's flag bits.
 */
static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void
bio_method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	                             "rtrw-routeros");

	if (m && BIO_meth_set_write(m, bio_write) &&
	    BIO_meth_set_read(m, bio_read) && BIO_meth_set_ctrl(m, bio_ctrl)) {
		bio_method = m;
		return;
	}
	BIO_meth_free(m);
}

/*
 * Reads what is there.  Returns the number of bytes, 0 when the read
 * would block (*want says what to wait for), or -1 with *err (end of
 * file included).
 */
static ssize_t
tr_read(struct ros_conn *c, void *buf, size_t n, short *want,
        struct ros_error *err)
{
	char why[160];
	ssize_t r;
	int e;

	switch (c->tr) {
	case TR_MEM: {
		size_t left = c->mem_len - c->mem_off;

		if (!left)
			return seterr(err, ROS_ERR_IO, 0,
			              "connection closed by the router");
		if (c->mem_chunk && left > c->mem_chunk)
			left = c->mem_chunk;
		if (left > n)
			left = n;
		memcpy(buf, c->mem + c->mem_off, left);
		c->mem_off += left;
		return (ssize_t)left;
	}
	case TR_TCP:
		r = recv(c->fd, buf, n, 0);
		if (r > 0)
			return r;
		if (r == 0)
			return seterr(err, ROS_ERR_IO, 0,
			              "connection closed by the router");
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			*want = POLLIN;
			return 0;
		}
		return seterr(err, ROS_ERR_IO, 0, "read: %s", strerror(errno));
	case TR_TLS:
		ERR_clear_error();
		r = SSL_read(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
		if (r > 0)
			return r;
		e = SSL_get_error(c->ssl, (int)r);
		if (e == SSL_ERROR_WANT_READ) {
			*want = POLLIN;
			return 0;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			*want = POLLOUT;
			return 0;
		}
		if (e == SSL_ERROR_ZERO_RETURN ||
		    (e == SSL_ERROR_SYSCALL && r == 0) ||
		    (e == SSL_ERROR_SSL &&
		     ERR_GET_REASON(ERR_peek_error()) ==
		         SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
			ERR_clear_error();
			return seterr(err, ROS_ERR_IO, 0,
			              "connection closed by the router");
		}
		return seterr(err, ROS_ERR_IO, 0, "tls read: %s",
		              tls_reason(why, sizeof(why),
		                         "connection closed by the router"));
	}
	return -1;
}

/* Writes what the socket takes; the same returns as tr_read(). */
static ssize_t
tr_write(struct ros_conn *c, const void *buf, size_t n, short *want,
         struct ros_error *err)
{
	char why[160];
	ssize_t r;
	int e, len;

	switch (c->tr) {
	case TR_MEM:
		buf_add(&c->mem_sent, buf, n);
		return (ssize_t)n;
	case TR_TCP:
		r = send(c->fd, buf, n, MSG_NOSIGNAL);
		if (r >= 0)
			return r;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			*want = POLLOUT;
			return 0;
		}
		return seterr(err, ROS_ERR_IO, 0, "write: %s", strerror(errno));
	case TR_TLS:
		/* A repeated SSL_write() must ask for the same length. */
		len =
		    c->wpend ? (int)c->wpend : (n > INT_MAX ? INT_MAX : (int)n);
		ERR_clear_error();
		r = SSL_write(c->ssl, buf, len);
		if (r > 0) {
			c->wpend = 0;
			return r;
		}
		e = SSL_get_error(c->ssl, (int)r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			c->wpend = (size_t)len;
			*want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
			return 0;
		}
		return seterr(err, ROS_ERR_IO, 0, "tls write: %s",
		              tls_reason(why, sizeof(why), "failed"));
	}
	return -1;
}

/*
 * Waits until fd is ready for events or the deadline (usec) passes.
 * Returns 1 when ready (an error condition counts: the next operation
 * reports it), 0 at the deadline, -1 when poll() fails.
 */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_usec();
		struct pollfd pfd;
		int r;

		if (left <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* ------------------------------------------------------------------ */
/* Connections. */

/* Appends to the output, wiping the old memory when it moves. */
static void
out_add(struct ros_conn *c, const void *data, size_t n)
{
	if (c->out_len + n > c->out_alloc) {
		size_t alloc = c->out_alloc ? c->out_alloc : 4096;
		unsigned char *p;

		while (alloc < c->out_len + n)
			alloc *= 2;
		p = xmalloc(alloc);
		if (c->out_len)
			memcpy(p, c->out, c->out_len);
		if (c->out) {
			explicit_bzero(c->out, c->out_alloc);
			free(c->out);
		}
		c->out = p;
		c->out_alloc = alloc;
	}
	memcpy(c->out + c->out_len, data, n);
	c->out_len += n;
}

/* Queues a command with its tag (0: none) and the end of sentence. */
static void
out_command(struct ros_conn *c, const struct ros_cmd *cmd, uint64_t tag)
{
	out_add(c, cmd->enc, cmd->len);
	if (tag) {
		char word[32];
		unsigned char hdr[5];
		int n = snprintf(word, sizeof(word), ".tag=%llu",
		                 (unsigned long long)tag);
		size_t h = ros_len_encode((uint32_t)n, hdr);

		out_add(c, hdr, h);
		out_add(c, word, (size_t)n);
	}
	out_add(c, "", 1);
}

static struct ros_conn *
conn_new(const struct ros_opts *o)
{
	struct ros_conn *c = xcalloc(1, sizeof(*c));
	static const struct ros_opts none;

	if (!o)
		o = &none;
	c->fd = -1;
	c->read_ms = o->read_timeout_ms > 0 ? o->read_timeout_ms
	                                    : ROS_DEFAULT_READ_TIMEOUT_MS;
	c->write_ms = o->write_timeout_ms > 0 ? o->write_timeout_ms
	                                      : ROS_DEFAULT_WRITE_TIMEOUT_MS;
	c->max_reply =
	    o->max_reply_bytes ? o->max_reply_bytes : ROS_DEFAULT_MAX_REPLY;
	c->max_inflight =
	    o->max_inflight ? o->max_inflight : ROS_DEFAULT_MAX_INFLIGHT;
	ros_parser_init(&c->parser, o->max_word, o->max_words, o->max_sentence);
	c->next_tag = 1;
	buf_init(&c->mem_sent, 0);
	return c;
}

void
ros_close(struct ros_conn *c)
{
	if (!c)
		return;
	if (c->ssl) {
		/* One try at close_notify; a router gone or slow is no matter.
		 */
		if (!c->broken)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	ros_parser_release(&c->parser);
	free(c->rest);
	if (c->out) {
		explicit_bzero(c->out, c->out_alloc);
		free(c->out);
	}
	buf_release(&c->mem_sent);
	free(c);
}

int
ros_conn_usable(const struct ros_conn *c)
{
	return c && !c->broken;
}

const char *
ros_conn_fingerprint(const struct ros_conn *c)
{
	return c ? c->fingerprint : "";
}

struct ros_conn *
ros_mem_open(const struct ros_opts *opts, const void *data, size_t n,
             size_t chunk)
{
	struct ros_conn *c = conn_new(opts);

	c->tr = TR_MEM;
	c->mem = data;
	c->mem_len = n;
	c->mem_chunk = chunk;
	return c;
}

const void *
ros_mem_sent(const struct ros_conn *c, size_t *n)
{
	*n = c->mem_sent.len;
	return c->mem_sent.s;
}

int
ros_fingerprint_parse(const char *s, unsigned char out[ROS_FINGERPRINT_LEN])
{
	char hex[ROS_FINGERPRINT_HEX];
	size_t n;

	if (!s)
		return -1;
	n = strlen(s);
	if (n == ROS_FINGERPRINT_HEX) {
		memcpy(hex, s, n);
	} else if (n == ROS_FINGERPRINT_HEX + ROS_FINGERPRINT_LEN - 1) {
		/* "AB:CD:...": a colon after every byte but the last. */
		for (size_t i = 0, j = 0; i < n; i++) {
			if (i % 3 == 2) {
				if (s[i] != ':')
					return -1;
				continue;
			}
			hex[j++] = s[i];
		}
	} else {
		return -1;
	}
	return hex_decode(hex, ROS_FINGERPRINT_LEN, out);
}

/* ------------------------------------------------------------------ */
/* Replies. */

/*
 * Stores the parser's !re sentence as an item of res: one block for the
 * strings, one for the attributes.  Words that are not attributes (API
 * words such as .section) are left out.
 */
static int
store_item(const struct ros_parser *p, struct arena *a, struct ros_result *res,
           struct ros_error *err)
{
	struct ros_item *it;
	struct ros_attr *attrs = NULL;
	size_t nattrs = 0, bytes = 0, k = 0;
	char *s = NULL;

	for (size_t i = 1; i < p->nwords; i++) {
		size_t len;
		const char *w = pword(p, i, &len);

		if (len && w[0] == '=') {
			nattrs++;
			bytes += len + 1;
		}
	}
	it = arena_alloc(a, sizeof(*it));
	if (it && nattrs) {
		attrs = arena_alloc(a, nattrs * sizeof(*attrs));
		s = arena_alloc(a, bytes);
	}
	if (!it || (nattrs && (!attrs || !s)))
		return seterr(err, ROS_ERR_PROTOCOL, 0,
		              "reply too large for the arena");
	for (size_t i = 1; i < p->nwords; i++) {
		size_t len;
		const char *w = pword(p, i, &len);
		const char *eq;
		size_t klen;

		if (!len || w[0] != '=')
			continue;
		/* "=key=value": the value may hold '=' itself. */
		eq = memchr(w + 1, '=', len - 1);
		klen = eq ? (size_t)(eq - (w + 1)) : len - 1;
		memcpy(s, w + 1, klen);
		s[klen] = '\0';
		attrs[k].key = s;
		s += klen + 1;
		attrs[k].value_len = eq ? len - 2 - klen : 0;
		if (attrs[k].value_len)
			memcpy(s, eq + 1, attrs[k].value_len);
		s[attrs[k].value_len] = '\0';
		attrs[k].value = s;
		s += attrs[k].value_len + 1;
		k++;
	}
	it->next = NULL;
	it->attrs = attrs;
	it->nattrs = nattrs;
	if (res->last_item_)
		res->last_item_->next = it;
	else
		res->items = it;
	res->last_item_ = it;
	res->nitems++;
	/* What came in, and what indexes it (the strings are about as big). */
	res->bytes += sentence_cost(p) + sizeof(*it) + nattrs * sizeof(*attrs);
	return 0;
}

static int
store_trap(const struct ros_parser *p, struct arena *a, struct ros_result *res,
           struct ros_error *err)
{
	struct ros_trap *t = arena_alloc(a, sizeof(*t));
	size_t mlen = 0, clen = 0;
	const char *m = pattr(p, "message", &mlen);
	const char *cat = pattr(p, "category", &clen);
	int64_t v;
	char *copy;

	copy = t ? arena_strndup(a, m ? m : "", m ? mlen : 0) : NULL;
	if (!copy)
		return seterr(err, ROS_ERR_PROTOCOL, 0,
		              "reply too large for the arena");
	t->next = NULL;
	t->message = copy;
	t->category = -1;
	if (cat && parse_int64_n(cat, clen, 0, 7, &v) == 0)
		t->category = (int)v;
	if (res->last_trap_)
		res->last_trap_->next = t;
	else
		res->traps = t;
	res->last_trap_ = t;
	res->ntraps++;
	res->bytes += sizeof(*t);
	return 0;
}

/* The tag of the parser's sentence: 1 and *tag, 0 when untagged, -1 bad. */
static int
sentence_tag(const struct ros_parser *p, uint64_t *tag)
{
	for (size_t i = 1; i < p->nwords; i++) {
		size_t len;
		const char *w = pword(p, i, &len);
		int64_t v;

		if (len < 5 || memcmp(w, ".tag=", 5) != 0)
			continue;
		if (parse_int64_n(w + 5, len - 5, 1, INT64_MAX, &v) < 0)
			return -1;
		*tag = (uint64_t)v;
		return 1;
	}
	return 0;
}

/* The words after !fatal, joined with spaces, into err. */
static int
fatal(const struct ros_parser *p, struct ros_error *err)
{
	struct buf b = BUF_INIT(sizeof(err->message) - 1);

	for (size_t i = 1; i < p->nwords; i++) {
		size_t len;
		const char *w = pword(p, i, &len);

		if (len >= 5 && memcmp(w, ".tag=", 5) == 0)
			continue;
		if (b.len)
			buf_addch(&b, ' ');
		buf_add(&b, w, len);
	}
	seterr(err, ROS_ERR_FATAL, 0, "%s", b.len ? b.s : "(no text)");
	buf_release(&b);
	return -1;
}

/* A run: the commands of one ros_call() or ros_pipeline(). */
struct run {
	struct ros_conn *c;
	struct arena *a;
	struct slot *slots;
	size_t n, next, oldest, inflight, ndone;
	uint64_t base; /* tag of slot 0; 0 for one untagged command */
};

/* Applies the parser's complete sentence to its command's result. */
static int
dispatch(struct run *r, struct ros_error *err)
{
	const struct ros_parser *p = &r->c->parser;
	struct slot *s;
	struct ros_result *res;
	uint64_t tag = 0;
	size_t len;
	const char *w0 = pword(p, 0, &len);
	int tagged;

	if (word_is(p, 0, "!fatal"))
		return fatal(p, err);
	if (len < 2 || w0[0] != '!')
		return seterr(err, ROS_ERR_PROTOCOL, 0,
		              "reply without a reply word");
	tagged = sentence_tag(p, &tag);
	if (tagged < 0)
		return seterr(err, ROS_ERR_PROTOCOL, 0, "reply with a bad tag");
	if (r->base == 0) {
		if (tagged)
			return seterr(err, ROS_ERR_PROTOCOL, 0,
			              "tagged reply to an untagged command");
		s = &r->slots[0];
	} else {
		if (!tagged)
			return seterr(err, ROS_ERR_PROTOCOL, 0,
			              "untagged reply to a tagged command");
		if (tag < r->base || tag - r->base >= r->n)
			return seterr(err, ROS_ERR_PROTOCOL, 0,
			              "reply for the unknown tag %llu",
			              (unsigned long long)tag);
		s = &r->slots[tag - r->base];
	}
	if (s->state != SLOT_SENT)
		return seterr(err, ROS_ERR_PROTOCOL, 0,
		              "reply for a command not in flight");
	res = s->res;
	/*
	 * Every sentence counts against max_reply_bytes, so that skipped
	 * ones are bounded too; store_item() counts an item's.
	 */
	if (!word_is(p, 0, "!re"))
		res->bytes += sentence_cost(p);
	if (word_is(p, 0, "!re")) {
		if (store_item(p, r->a, res, err) < 0)
			return -1;
	} else if (word_is(p, 0, "!trap")) {
		if (store_trap(p, r->a, res, err) < 0)
			return -1;
	} else if (word_is(p, 0, "!empty")) {
		res->empty = 1;
	} else if (word_is(p, 0, "!done")) {
		size_t rlen;
		const char *ret = pattr(p, "ret", &rlen);

		if (ret) {
			res->ret = arena_strndup(r->a, ret, rlen);
			if (!res->ret)
				return seterr(err, ROS_ERR_PROTOCOL, 0,
				              "reply too large for the arena");
		}
		res->status = res->ntraps ? ROS_ERR_TRAP : ROS_OK;
		s->state = SLOT_DONE;
		r->inflight--;
		r->ndone++;
		while (r->oldest < r->n &&
		       r->slots[r->oldest].state == SLOT_DONE)
			r->oldest++;
	}
	/*
	 * Any other reply word is skipped: the next new one (as !empty was
	 * in 7.18) must not break every deployed client.  Its bytes count.
	 */
	if (res->bytes > r->c->max_reply)
		return seterr(err, ROS_ERR_PROTOCOL, 0,
		              "reply over the limit of %zu bytes",
		              r->c->max_reply);
	return 0;
}

/*
 * Feeds n bytes read from the router to the parser and the results; once
 * every command of the run is done, keeps the rest for the next run.
 */
static int
consume(struct run *r, const unsigned char *d, size_t n, struct ros_error *err)
{
	size_t off = 0;

	while (off < n) {
		if (r->ndone == r->n) {
			struct ros_conn *c = r->c;
			unsigned char *keep = xmalloc(n - off + c->rest_len);

			memcpy(keep, d + off, n - off);
			if (c->rest_len)
				memcpy(keep + n - off, c->rest, c->rest_len);
			free(c->rest);
			c->rest = keep;
			c->rest_len += n - off;
			return 0;
		}
		size_t used = 0;
		int rc =
		    ros_parser_feed(&r->c->parser, d + off, n - off, &used);

		if (rc < 0)
			return seterr(err, ROS_ERR_PROTOCOL, 0, "%s",
			              r->c->parser.error);
		off += used;
		if (rc == 1 && dispatch(r, err) < 0)
			return -1;
	}
	return 0;
}

/*
 * Sends cmds and reads until each has its !done or the connection fails.
 * untagged sends one command without a tag (the login, which precedes
 * everything).  Returns 0 or -1 with *err; on -1 the connection is broken
 * and the unfinished results carry the error.
 */
static int
run(struct ros_conn *c, struct ros_cmd *const *cmds, size_t n, int untagged,
    struct arena *a, struct ros_result *res, struct ros_error *err)
{
	unsigned char rb[ROS_READ_CHUNK];
	struct run r;
	short rwant = POLLIN, wwant = POLLOUT;
	int64_t write_since = 0;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.a = a;
	r.n = n;
	r.slots = xcalloc(n, sizeof(*r.slots));
	r.base = untagged ? 0 : c->next_tag;
	c->next_tag += untagged ? 0 : n;
	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].status = ROS_ERR_IO;
		r.slots[i].res = &res[i];
	}
	while (r.ndone < n) {
		int progress = 0;
		ssize_t got;

		while (r.next < n && r.inflight < c->max_inflight &&
		       c->out_len - c->out_off < ROS_OUT_HIGH) {
			out_command(c, cmds[r.next],
			            untagged ? 0 : r.base + r.next);
			r.slots[r.next].state = SLOT_SENT;
			r.slots[r.next].deadline =
			    now_usec() + (int64_t)c->read_ms * 1000;
			r.next++;
			r.inflight++;
		}
		if (c->out_off < c->out_len) {
			got = tr_write(c, c->out + c->out_off,
			               c->out_len - c->out_off, &wwant, err);
			if (got < 0)
				goto out;
			if (got > 0) {
				progress = 1;
				c->out_off += (size_t)got;
				write_since = 0;
				if (c->out_off == c->out_len)
					c->out_off = c->out_len = 0;
			} else if (!write_since) {
				write_since = now_usec();
			}
		}
		/*
		 * What an earlier run read too far comes before anything
		 * new, once what it answers has been sent.
		 */
		if (c->rest_len && c->out_off == c->out_len) {
			unsigned char *old = c->rest;
			size_t len = c->rest_len;

			c->rest = NULL;
			c->rest_len = 0;
			rc = consume(&r, old, len, err);
			free(old);
			if (rc < 0)
				goto out;
			rc = -1;
			continue;
		}
		/* Reading while output waits keeps a full pipe from locking. */
		got = tr_read(c, rb, sizeof(rb), &rwant, err);
		if (got < 0)
			goto out;
		if (got > 0) {
			progress = 1;
			if (consume(&r, rb, (size_t)got, err) < 0)
				goto out;
		}
		if (!progress) {
			int64_t deadline = r.slots[r.oldest].deadline;
			int64_t now = now_usec();
			short events = rwant;

			if (c->out_off < c->out_len) {
				int64_t wd =
				    write_since + (int64_t)c->write_ms * 1000;

				if (now >= wd) {
					seterr(err, ROS_ERR_IO, 1,
					       "write timed out after %d ms",
					       c->write_ms);
					goto out;
				}
				if (wd < deadline)
					deadline = wd;
				events |= wwant;
			}
			if (now >= deadline) {
				seterr(err, ROS_ERR_IO, 1,
				       "no reply within %d ms", c->read_ms);
				goto out;
			}
			if (wait_fd(c->fd, events, deadline) < 0) {
				seterr(err, ROS_ERR_IO, 0, "poll: %s",
				       strerror(errno));
				goto out;
			}
		}
	}
	rc = 0;
out:
	if (rc < 0) {
		c->broken = 1;
		for (size_t i = 0; i < n; i++)
			if (r.slots[i].state != SLOT_DONE)
				res[i].status = err->code;
	}
	free(r.slots);
	return rc;
}

/* Checks a batch before anything is sent. */
static int
check_cmds(struct ros_conn *c, struct ros_cmd *const *cmds, size_t n,
           struct ros_error *err)
{
	if (!c)
		return seterr(err, ROS_ERR_INVALID, 0, "no connection");
	if (c->broken)
		return seterr(err, ROS_ERR_IO, 0,
		              "the connection broke earlier");
	for (size_t i = 0; i < n; i++) {
		if (!cmds[i])
			return seterr(err, ROS_ERR_INVALID, 0,
			              "command %zu: the arena is over its cap",
			              i);
		if (cmds[i]->problem[0])
			return seterr(err, ROS_ERR_INVALID, 0,
			              "command %zu: %s", i, cmds[i]->problem);
	}
	return 0;
}

int
ros_pipeline(struct ros_conn *c, struct ros_cmd *const *cmds, size_t n,
             struct arena *a, struct ros_result *res, struct ros_error *err)
{
	struct ros_error dummy;

	if (!err)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	err->category = -1;
	if (check_cmds(c, cmds, n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	return run(c, cmds, n, 0, a, res, err);
}

/* Puts a result's first trap into *err. */
static int
trap_error(const struct ros_result *res, struct ros_error *err)
{
	seterr(err, ROS_ERR_TRAP, 0, "%s", ros_result_message(res));
	err->category = res->traps ? res->traps->category : -1;
	return -1;
}

int
ros_call(struct ros_conn *c, const struct ros_cmd *cmd, struct arena *a,
         struct ros_result *res, struct ros_error *err)
{
	struct ros_cmd *const cmds[1] = {(struct ros_cmd *)cmd};

	if (ros_pipeline(c, cmds, 1, a, res, err) < 0)
		return -1;
	if (res->status == ROS_ERR_TRAP)
		return trap_error(res, err);
	return 0;
}

const char *
ros_item_get(const struct ros_item *it, const char *key)
{
	if (!it)
		return NULL;
	for (size_t i = 0; i < it->nattrs; i++)
		if (strcmp(it->attrs[i].key, key) == 0)
			return it->attrs[i].value;
	return NULL;
}

const char *
ros_result_message(const struct ros_result *res)
{
	return res && res->traps ? res->traps->message : "";
}

struct ros_cmd *
ros_cmd_find(struct arena *a, const char *menu, const char *key,
             const void *value, size_t n, const char *proplist)
{
	char *command = arena_printf(a, "%s/print", menu ? menu : "");
	struct ros_cmd *c;

	if (!command)
		return NULL;
	c = ros_cmd_new(a, command);
	ros_cmd_queryn(c, key, value, n);
	ros_cmd_attr(c, ".proplist", proplist ? proplist : ".id");
	return c;
}

long
ros_find(struct ros_conn *c, struct arena *a, const char *menu, const char *key,
         const void *value, size_t n, const char *proplist,
         struct ros_result *res, struct ros_error *err)
{
	struct ros_cmd *cmd = ros_cmd_find(a, menu, key, value, n, proplist);

	if (ros_call(c, cmd, a, res, err) < 0)
		return -1;
	return (long)res->nitems;
}

int
ros_find_id(struct ros_conn *c, struct arena *a, const char *menu,
            const char *key, const char *value, const char **id,
            struct ros_error *err)
{
	struct ros_result res;
	struct ros_error dummy;
	long found;

	if (!err)
		err = &dummy;
	*id = NULL;
	found = ros_find(c, a, menu, key, value, value ? strlen(value) : 0,
	                 ".id", &res, err);
	if (found <= 0)
		return (int)found;
	*id = ros_item_get(res.items, ".id");
	if (!*id) {
		/* The stream is in step, but the router is not one we know. */
		c->broken = 1;
		return seterr(err, ROS_ERR_PROTOCOL, 0,
		              "%s/print returned an item without .id", menu);
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* Connecting and logging in. */

static int
tcp_connect(struct ros_conn *c, const char *host, int port, int64_t deadline,
            struct ros_error *err)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	socklen_t len, elen = sizeof(int);
	int one = 1, e = 0, w;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		len = sizeof(*v6);
	} else {
		return seterr(err, ROS_ERR_INVALID, 0,
		              "host \"%.64s\" is not an IP address", host);
	}
	c->fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return seterr(err, ROS_ERR_UNREACHABLE, 0, "socket: %s",
		              strerror(errno));
	/* Commands are small and answered one by one: no Nagle delay. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&ss, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return seterr(err, ROS_ERR_UNREACHABLE, 0,
		              "connect to %s port %d: %s", host, port,
		              strerror(errno));
	w = wait_fd(c->fd, POLLOUT, deadline);
	if (w == 0)
		return seterr(err, ROS_ERR_UNREACHABLE, 1,
		              "connect to %s port %d: timed out", host, port);
	if (w < 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		e = errno;
	if (e)
		return seterr(err, ROS_ERR_UNREACHABLE, 0,
		              "connect to %s port %d: %s", host, port,
		              strerror(e));
	return 0;
}

/* Records the presented certificate's fingerprint and checks the pin. */
static int
tls_check_cert(struct ros_conn *c, const unsigned char *pin,
               struct ros_error *err)
{
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!cert) {
		if (pin)
			return seterr(err, ROS_ERR_CERT_MISMATCH, 0,
			              "the router presented no certificate");
		return 0;
	}
	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1 ||
	    mdlen != ROS_FINGERPRINT_LEN)
		return seterr(err, ROS_ERR_UNREACHABLE, 0,
		              "tls: cannot hash the router's certificate");
	hex_encode(md, ROS_FINGERPRINT_LEN, c->fingerprint);
	if (pin && CRYPTO_memcmp(md, pin, ROS_FINGERPRINT_LEN) != 0)
		return seterr(err, ROS_ERR_CERT_MISMATCH, 0,
		              "certificate %s is not the pinned one",
		              c->fingerprint);
	return 0;
}

static int
tls_start(struct ros_conn *c, int anonymous, const unsigned char *pin,
          int64_t deadline, struct ros_error *err)
{
	char why[160];
	BIO *bio;

	ERR_clear_error();
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx)
		return seterr(err, ROS_ERR_UNREACHABLE, 0, "tls: %s",
		              tls_reason(why, sizeof(why), "no context"));
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	if (anonymous) {
		/*
		 * OpenSSL 3 allows unauthenticated suites only at security
		 * level 0, and TLS 1.3 has none: this context is only ever
		 * used for routers the operator marked tls_anonymous.
		 */
		SSL_CTX_set_max_proto_version(c->ctx, TLS1_2_VERSION);
		SSL_CTX_set_security_level(c->ctx, 0);
		if (SSL_CTX_set_cipher_list(c->ctx, ROS_ADH_CIPHERS) != 1)
			return seterr(err, ROS_ERR_UNREACHABLE, 0, "tls: %s",
			              tls_reason(why, sizeof(why),
			                         "no anonymous ciphers"));
	}
	/* Self-signed router certificates: trust comes from the pin. */
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	pthread_once(&bio_once, bio_method_init);
	if (!bio_method)
		return seterr(err, ROS_ERR_UNREACHABLE, 0, "tls: no bio");
	c->ssl = SSL_new(c->ctx);
	bio = c->ssl ? BIO_new(bio_method) : NULL;
	if (!bio)
		return seterr(err, ROS_ERR_UNREACHABLE, 0, "tls: %s",
		              tls_reason(why, sizeof(why), "no session"));
	BIO_set_data(bio, (void *)(intptr_t)c->fd);
	BIO_set_init(bio, 1);
	SSL_set_bio(c->ssl, bio, bio);
	for (;;) {
		int r, e, w;

		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r == 1)
			break;
		e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			tls_reason(why, sizeof(why),
			           "connection closed during the handshake");
			return seterr(err, ROS_ERR_UNREACHABLE, 0,
			              "tls handshake failed: %s%s", why,
			              anonymous
			                  ? ""
			                  : " (an api-ssl service without a "
			                    "certificate needs tls_anonymous)");
		}
		w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		            deadline);
		if (w == 0)
			return seterr(err, ROS_ERR_UNREACHABLE, 1,
			              "tls handshake timed out");
		if (w < 0)
			return seterr(err, ROS_ERR_UNREACHABLE, 0, "poll: %s",
			              strerror(errno));
	}
	c->tr = TR_TLS;
	if (anonymous)
		return 0;
	return tls_check_cert(c, pin, err);
}

/*
 * The legacy response: "00" and the hex MD5 of a zero byte, the password
 * and the challenge's bytes.  Every buffer that held the password is
 * wiped.
 */
static int
md5_response(const char *password, const char *challenge, size_t clen,
             char out[3 + 2 * 16])
{
	size_t plen = strlen(password), n = clen / 2;
	unsigned char md[EVP_MAX_MD_SIZE], *in;
	unsigned int mdlen = 0;
	int rc = -1;

	if (clen == 0 || clen % 2 || n > 64)
		return -1;
	in = xmalloc(1 + plen + n);
	in[0] = 0;
	memcpy(in + 1, password, plen);
	if (hex_decode(challenge, n, in + 1 + plen) < 0)
		goto out_wipe;
	if (EVP_Digest(in, 1 + plen + n, md, &mdlen, EVP_md5(), NULL) != 1 ||
	    mdlen != 16)
		goto out_wipe;
	out[0] = '0';
	out[1] = '0';
	hex_encode(md, 16, out + 2);
	rc = 0;
out_wipe:
	explicit_bzero(in, 1 + plen + n);
	free(in);
	return rc;
}

/*
 * Runs one /login sentence.  Returns 0 with the reply in *res, or -1 with
 * *err in the login's terms.
 */
static int
login_step(struct ros_conn *c, struct arena *a, const char *user,
           const char *key, const char *secret, struct ros_result *res,
           struct ros_error *err)
{
	struct ros_cmd *cmd = ros_cmd_new(a, "/login");
	int rc;

	ros_cmd_attr(cmd, "name", user);
	ros_cmd_attr(cmd, key, secret);
	if (!cmd || cmd->problem[0]) {
		rc = seterr(err, ROS_ERR_INVALID, 0, "login: %s",
		            cmd ? cmd->problem : "the arena is over its cap");
		goto out_wipe;
	}
	rc = run(c, &cmd, 1, 1, a, res, err);
	if (rc < 0 && res->ntraps) {
		/* A router may hang up right after refusing the login. */
		rc =
		    seterr(err, ROS_ERR_AUTH, 0, "%s", ros_result_message(res));
	} else if (rc < 0 && err->code == ROS_ERR_IO) {
		err->code = ROS_ERR_UNREACHABLE;
	} else if (rc == 0 && res->status == ROS_ERR_TRAP) {
		rc =
		    seterr(err, ROS_ERR_AUTH, 0, "%s", ros_result_message(res));
	}
out_wipe:
	if (cmd && cmd->enc)
		explicit_bzero(cmd->enc, cmd->alloc);
	explicit_bzero(c->out, c->out_alloc);
	return rc;
}

static int
login(struct ros_conn *c, const char *user, const char *password,
      struct ros_error *err)
{
	struct arena a;
	struct ros_result res;
	char response[3 + 2 * 16];
	size_t clen;
	int rc;

	arena_init(&a, 64 * 1024);
	rc = login_step(c, &a, user, "password", password, &res, err);
	if (rc < 0 || !res.ret)
		goto out;
	/* RouterOS before 6.43 ignores the password and sends a challenge. */
	clen = strlen(res.ret);
	if (md5_response(password, res.ret, clen, response) < 0) {
		c->broken = 1;
		rc = seterr(err, ROS_ERR_PROTOCOL, 0,
		            "login: the challenge is not hex");
		goto out;
	}
	rc = login_step(c, &a, user, "response", response, &res, err);
	explicit_bzero(response, sizeof(response));
out:
	arena_release(&a);
	return rc;
}

struct ros_conn *
ros_connect(struct ros_opts *o, struct ros_error *err)
{
	struct ros_error dummy;
	struct ros_conn *c = NULL;
	unsigned char pin[ROS_FINGERPRINT_LEN];
	int have_pin, port, use_tls, ms;
	int64_t deadline;
	const char *password;

	if (!err)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	err->category = -1;
	if (!o) {
		seterr(err, ROS_ERR_INVALID, 0, "no options");
		return NULL;
	}
	password = o->password ? o->password : "";
	have_pin = o->tls_fingerprint && o->tls_fingerprint[0];
	use_tls = o->use_tls || o->tls_anonymous;
	port = o->port ? o->port : use_tls ? ROS_TLS_PORT : ROS_PORT;
	ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
	                               : ROS_DEFAULT_CONNECT_TIMEOUT_MS;
	if (!o->host || !o->host[0]) {
		seterr(err, ROS_ERR_INVALID, 0, "no host");
		goto out_wipe;
	}
	if (port < 1 || port > 65535) {
		seterr(err, ROS_ERR_INVALID, 0, "port %d out of range", port);
		goto out_wipe;
	}
	if (!o->username || !o->username[0]) {
		seterr(err, ROS_ERR_INVALID, 0, "no user name");
		goto out_wipe;
	}
	if (have_pin && ros_fingerprint_parse(o->tls_fingerprint, pin) < 0) {
		seterr(err, ROS_ERR_INVALID, 0,
		       "tls_fingerprint is not a SHA-256 fingerprint");
		goto out_wipe;
	}
	if (have_pin && o->tls_anonymous) {
		seterr(err, ROS_ERR_INVALID, 0,
		       "anonymous TLS has no certificate to pin");
		goto out_wipe;
	}
	if (have_pin && !use_tls) {
		seterr(err, ROS_ERR_INVALID, 0,
		       "tls_fingerprint needs use_tls");
		goto out_wipe;
	}
	c = conn_new(o);
	deadline = now_usec() + (int64_t)ms * 1000;
	if (tcp_connect(c, o->host, port, deadline, err) < 0)
		goto out_fail;
	if (use_tls && tls_start(c, o->tls_anonymous, have_pin ? pin : NULL,
	                         deadline, err) < 0)
		goto out_fail;
	if (login(c, o->username, password, err) < 0)
		goto out_fail;
	goto out_wipe;
out_fail:
	c->broken = 1;
	ros_close(c);
	c = NULL;
out_wipe:
	if (o->password)
		explicit_bzero(o->password, strlen(o->password));
	return c;
}
