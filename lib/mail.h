/*
 * Email messages and SMTP delivery.
 *
 * mail_build() writes one RFC 5322 message: Date, From, To, Subject,
 * Message-ID, MIME-Version, Auto-Submitted (RFC 3834: no auto-replies),
 * and a multipart/alternative body with a text/plain and a text/html
 * part (or one of them alone when the template has only that body),
 * UTF-8 in quoted-printable (every line stays under 78 characters
 * whatever the template holds).  Subjects and display names
 * that are not plain ASCII become RFC 2047 encoded-words (UTF-8, base64).
 * Addresses are plain ASCII addr-specs (no SMTPUTF8); anything else, and
 * any CR/LF that could start a header, is refused.
 *
 * mail_send() hands a built message to an SMTP server with libcurl:
 * smtp:// with STARTTLS required or tried, smtps:// (TLS from the first
 * byte), or plain SMTP; AUTH when a username is set (only over TLS);
 * connect and total timeouts; the server's certificate and host name
 * verified unless verification is turned off.  A struct mail_conn keeps
 * one libcurl handle whose connection cache lets consecutive messages to
 * the same server share one SMTP session.
 */
#ifndef RTRW_MAIL_H
#define RTRW_MAIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

#define MAIL_ADDR_MAX       254
#define MAIL_MESSAGE_ID_MAX 255

/* What goes into one message; every string is UTF-8. */
struct mail_msg {
	const char *from_email;
	const char *from_name; /* may be NULL */
	const char *to_email;
	const char *to_name; /* may be NULL */
	const char *subject;
	const char *text;       /* the text/plain part, NULL: none */
	const char *html;       /* the text/html part, NULL: none */
	const char *message_id; /* "<...@...>", see mail_message_id() */
	time_t date;
};

/* 1 when addr is an ASCII addr-spec mail_build() accepts, else 0. */
int mail_address_ok(const char *addr);

/*
 * The Message-ID of notification id: "<rtrw.n{id}.t{tenant}@{domain}>",
 * or "<rtrw.p{id}@{domain}>" for platform mail (tenant 0).  It depends on
 * nothing else, so every attempt at one notification carries the same
 * one and a receiver can drop a repeat.  0, or -1 when domain is not a
 * host name or the result does not fit n bytes.
 */
int mail_message_id(int64_t tenant, int64_t id, const char *domain, char *out,
                    size_t n);

/*
 * Appends the whole message to out with CRLF line ends.  Returns 0, or -1
 * with a sentence in err (a bad address, a header value with CR/LF or
 * control characters, invalid UTF-8, out over its cap).
 */
int mail_build(const struct mail_msg *m, struct buf *out, char *err,
               size_t errlen);

/*
 * Appends s as the value of a header whose name takes name_len
 * characters ("Subject: " is 9): as it is when it is printable ASCII
 * and the line stays within 78 characters, otherwise as RFC 2047
 * encoded-words of at most 75 characters, folded onto continuation
 * lines, never splitting a UTF-8 character.  -1 for control characters
 * or invalid UTF-8.
 */
int mail_header_text(struct buf *out, size_t name_len, const char *s);

/* Appends s in quoted-printable (RFC 2045), line breaks made CRLF. */
void mail_qp_encode(struct buf *out, const char *s);

enum mail_security {
	MAIL_STARTTLS,          /* smtp://, STARTTLS required */
	MAIL_STARTTLS_OPTIONAL, /* smtp://, STARTTLS when offered */
	MAIL_TLS,               /* smtps:// */
	MAIL_PLAIN,             /* smtp://, never TLS (local relays) */
	MAIL_SECURITY__MAX
};

/* "starttls", "starttls_optional", "tls", "none"; -1 if unknown. */
int mail_security_parse(const char *s);
const char *mail_security_name(enum mail_security s);

/* One SMTP server and how to talk to it. */
struct mail_server {
	const char *host; /* name, IPv4, or IPv6 without brackets */
	int port;
	enum mail_security security;
	const char *username; /* NULL or "": no AUTH */
	const char *password;
	int verify_tls;          /* check the certificate and host name */
	const char *ca_file;     /* NULL or "": the system's CAs */
	const char *helo_domain; /* the EHLO name */
	long connect_timeout;    /* seconds */
	long timeout;            /* seconds for the whole transaction */
};

/* What one delivery attempt did. */
struct mail_result {
	long smtp_code; /* the server's last reply code, 0 when none */
	char error[300];
};

struct mail_conn;

/* Runs curl_global_init(); once per process, before any thread. 0/-1. */
int mail_global_init(void);
void mail_global_cleanup(void);

/* A delivery handle; never NULL (allocation failure aborts). */
struct mail_conn *mail_conn_new(void);

/* Closes its connections and frees it; NULL is fine. */
void mail_conn_free(struct mail_conn *c);

/*
 * Sends the n bytes of message from from_email to to_email through
 * server s.  Returns 0 when the server accepted the message (its reply to
 * the end of DATA), -1 otherwise with r filled; r is filled either way.
 * Bounded by s->timeout.  Credentials over a server without TLS
 * (MAIL_PLAIN, MAIL_STARTTLS_OPTIONAL) are refused, not sent.
 */
int mail_send(struct mail_conn *c, const struct mail_server *s,
              const char *from_email, const char *to_email, const char *message,
              size_t n, struct mail_result *r);

#endif
