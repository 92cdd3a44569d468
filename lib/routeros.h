/*
 * RouterOS API client: MikroTik's binary API on TCP 8728 and API-SSL on
 * 8729, with OpenSSL only.
 *
 * The protocol.  Both sides send sentences; a sentence is a list of words
 * ended by a word of length zero.  A word is a length prefix and that many
 * raw bytes (no escaping exists: a value may hold '=', spaces or any byte
 * but NUL, which this library refuses to send).  The prefix takes one to
 * five bytes:
 *
 *	length < 0x80		1 byte:  len
 *	length < 0x4000		2 bytes: len | 0x8000
 *	length < 0x200000	3 bytes: len | 0xC00000
 *	length < 0x10000000	4 bytes: len | 0xE0000000
 *	otherwise		5 bytes: 0xF0, then len as 4 bytes
 *
 * big-endian; a first byte >= 0xF8 is a reserved control byte and is
 * refused.  A command is "/menu/verb", then attribute words "=key=value",
 * query words "?key=value" and API words such as ".proplist" or ".tag".
 * The router answers each command with zero or more "!re" sentences (one
 * per item), one or more "!trap" sentences when it refuses (=message= and
 * an optional =category= 0-7), "!empty" on RouterOS 7.18+ when a command
 * has no data, and finally "!done" (with =ret= after an "add": the new
 * item's .id).  "!fatal" (followed by raw text) means the router closes
 * the connection.  Each reply carries the .tag of its command, which lets
 * many commands be in flight on one connection.
 *
 * What the library does for its callers (the routers endpoints, the
 * provisioning daemon, the usage collector):
 *
 *  - ros_connect() connects with bounded time (TCP, TLS, login), checks a
 *    pinned certificate before any credential is sent, logs in with
 *    "/login =name= =password=" (RouterOS 6.43+) and falls back to the
 *    legacy MD5 challenge only when the router answers with =ret=.
 *  - ros_call() runs one command and collects its reply; ros_pipeline()
 *    sends many commands tagged on one connection and matches the replies
 *    to them, so that a provisioning pass of hundreds of changes costs
 *    about one round trip per window of commands, not one per change.
 *  - struct ros_cmd builds commands from length-counted values and
 *    refuses NUL bytes, over-long words and reserved words before anything
 *    is sent.  ros_find()/ros_find_id() make the "print ?name=x
 *    =.proplist=.id, then act on =.id=" pattern short (the API has no
 *    [find]).
 *  - Errors come in classes (enum ros_code) that callers map to their own
 *    errors without parsing text.
 *
 * Time.  Every blocking step has a deadline: connect_timeout_ms covers the
 * TCP connection and the TLS handshake together; the login exchange and
 * each command's reply must complete within read_timeout_ms of the moment
 * the command was queued; a send that makes no progress for
 * write_timeout_ms fails.  A router that accepts TCP and then says nothing
 * therefore costs at most connect_timeout_ms + read_timeout_ms.
 *
 * Size and CPU.  A reply sentence is bounded (max_word bytes per word,
 * max_words words, max_sentence bytes), and so is everything one command's
 * reply may store (max_reply_bytes, counting the bytes received and the
 * structures that index them).  The parser does constant work per byte
 * received, so the most expensive reply a router can send costs CPU in
 * proportion to max_reply_bytes (tests/unit/test_routeros.c measures it).
 *
 * Memory.  A connection and its buffers are malloc'd and freed by
 * ros_close().  Commands and results live in an arena the caller passes
 * (struct arena, see arena.h): nothing in them needs to be freed, and they
 * stay valid until that arena is reset, also after ros_close().  An
 * arena over its cap fails the call cleanly (ROS_ERR_PROTOCOL, "reply too
 * large").  Failed malloc() aborts the process, as everywhere here.
 *
 * Secrets.  ros_connect() overwrites opts->password with zeros before it
 * returns, whatever the outcome, and wipes every buffer of its own that
 * held the password or the MD5 response.  No password is kept in the
 * connection.
 *
 * A connection is used by one thread at a time.  The library never logs
 * and never resolves names: host is an IP literal, so that no step can
 * block in the resolver beyond the deadlines above.
 *
 * Layer: services.  Includes only base-layer headers and OpenSSL.
 */
#ifndef RTRW_ROUTEROS_H
#define RTRW_ROUTEROS_H

#include <stddef.h>
#include <stdint.h>

struct arena;

#define ROS_PORT     8728
#define ROS_TLS_PORT 8729

/* Defaults of struct ros_opts (a zero field means the default). */
#define ROS_DEFAULT_CONNECT_TIMEOUT_MS 3000
#define ROS_DEFAULT_READ_TIMEOUT_MS    5000
#define ROS_DEFAULT_WRITE_TIMEOUT_MS   5000
#define ROS_DEFAULT_MAX_WORD           (64 * 1024)
#define ROS_DEFAULT_MAX_WORDS          512
#define ROS_DEFAULT_MAX_SENTENCE       (256 * 1024)
#define ROS_DEFAULT_MAX_REPLY          (1024 * 1024)
#define ROS_DEFAULT_MAX_INFLIGHT       64

/*
 * Limits of what the library sends: a word of a command holds at most
 * ROS_CMD_MAX_WORD bytes, a command at most ROS_CMD_MAX_WORDS words.
 */
#define ROS_CMD_MAX_WORD  65535
#define ROS_CMD_MAX_WORDS 256

/* A SHA-256 certificate fingerprint: 32 bytes, 64 hex digits. */
#define ROS_FINGERPRINT_LEN 32
#define ROS_FINGERPRINT_HEX (2 * ROS_FINGERPRINT_LEN)

/*
 * Error classes.  After ROS_ERR_TRAP and ROS_ERR_INVALID the connection
 * is still usable; after any other error it is not (ros_conn_usable()
 * says 0, every later call fails at once) and the caller closes it.  The
 * outcome of commands that were in flight when a connection broke is
 * unknown: the router may or may not have applied them.
 */
enum ros_code {
	ROS_OK = 0,
	/*
	 * No working connection: refused, no route, connect or TLS
	 * handshake timed out, TLS failed, or the router went silent or
	 * closed the connection during login.  The router is down or the
	 * address, port or TLS settings are wrong.
	 */
	ROS_ERR_UNREACHABLE,
	/*
	 * The router presented a certificate whose SHA-256 differs from
	 * tls_fingerprint.  Nothing was sent to it.
	 */
	ROS_ERR_CERT_MISMATCH,
	/* The router refused the login ("invalid user name or password"). */
	ROS_ERR_AUTH,
	/*
	 * The router refused a command: a !trap with =message= (kept) and
	 * =category= (0-7, or -1 when absent).
	 */
	ROS_ERR_TRAP,
	/* The router sent !fatal (its text is kept) and closed. */
	ROS_ERR_FATAL,
	/*
	 * The connection broke after login: closed by the router, reset,
	 * or a read or write timed out (timed_out says which).
	 */
	ROS_ERR_IO,
	/*
	 * The router sent something this library does not accept: a
	 * malformed or over-long word, a sentence or reply over its cap, a
	 * reply with an unknown tag.
	 */
	ROS_ERR_PROTOCOL,
	/*
	 * The caller's input was refused before anything was sent: a bad
	 * option, a NUL byte or over-long value in a command, a reserved
	 * word.
	 */
	ROS_ERR_INVALID,
	ROS_CODE__MAX
};

struct ros_error {
	enum ros_code code;
	int category;      /* trap category 0-7; -1 when none */
	int timed_out;     /* the failure was a deadline passing */
	char message[256]; /* the router's text or the library's; never a secret
	                    */
};

/* "ok", "unreachable", "cert_mismatch", "auth_failed", "trap", "fatal",
 * "io", "protocol", "invalid". */
const char *ros_code_name(enum ros_code code);

struct ros_opts {
	const char *host; /* an IPv4 or IPv6 literal */
	int port;         /* 0: 8728, or 8729 with use_tls */
	/*
	 * API-SSL.  The certificate is not verified (a router's api-ssl
	 * certificate is usually self-signed) unless tls_fingerprint pins
	 * it.  TLS 1.2 or 1.3.
	 */
	int use_tls;
	/*
	 * 64 hex digits, upper or lower case, optionally with ':' between
	 * the bytes (as `openssl x509 -fingerprint -sha256` prints them):
	 * the SHA-256 of the certificate's DER encoding.  A different
	 * certificate is refused with ROS_ERR_CERT_MISMATCH.  NULL or ""
	 * pins nothing.
	 */
	const char *tls_fingerprint;
	/*
	 * For an api-ssl service without a certificate, which offers only
	 * anonymous Diffie-Hellman suites: TLS 1.2 with ADH suites only, at
	 * OpenSSL security level 0, in a context of its own.  This encrypts
	 * but authenticates nothing (anyone on the path can pose as the
	 * router).  Implies use_tls; cannot be combined with
	 * tls_fingerprint.
	 */
	int tls_anonymous;
	const char *username;
	/*
	 * NUL-terminated; NULL means the empty password.  ros_connect()
	 * overwrites it with zeros before returning, on every path, so it
	 * must point at writable memory the caller owns.
	 */
	char *password;
	int connect_timeout_ms; /* TCP connect and TLS handshake together */
	int read_timeout_ms;    /* each command's whole reply; the login */
	int write_timeout_ms;   /* a send without progress */
	size_t max_word;        /* bytes of one received word */
	size_t max_words;       /* words of one received sentence */
	size_t max_sentence;    /* bytes of one received sentence */
	/*
	 * What one command's reply may store.  The 1 MiB default holds
	 * about 950 whole /ppp/secret items or 2,100 with a .proplist of
	 * seven fields; raise it to print bigger tables.
	 */
	size_t max_reply_bytes;
	size_t max_inflight; /* ros_pipeline(): commands sent, not done */
};

struct ros_conn;

/*
 * Connects and logs in.  Returns the connection (ros_close() frees it),
 * or NULL with *err set (ROS_ERR_INVALID, _UNREACHABLE, _CERT_MISMATCH,
 * _AUTH, _FATAL or _PROTOCOL).  opts->password is wiped in both cases.
 * opts itself is not kept.
 */
struct ros_conn *ros_connect(struct ros_opts *opts, struct ros_error *err);

/* Closes and frees; NULL is fine.  Results already made stay valid. */
void ros_close(struct ros_conn *c);

/* 1 while the connection can take commands, 0 after it broke. */
int ros_conn_usable(const struct ros_conn *c);

/*
 * The SHA-256 fingerprint of the certificate the router presented, as 64
 * lower-case hex digits, or "" on plain TCP and anonymous TLS.  What a
 * caller stores to pin the certificate from the first successful
 * connection on.  Owned by the connection.
 */
const char *ros_conn_fingerprint(const struct ros_conn *c);

/*
 * Parses a fingerprint in the forms tls_fingerprint accepts into 32 bytes.
 * Returns 0, or -1 when s is not one (for validating user input).
 */
int ros_fingerprint_parse(const char *s,
                          unsigned char out[ROS_FINGERPRINT_LEN]);

/*
 * A command under construction, allocated in an arena.  The first problem
 * (a NUL byte, an over-long word, a reserved word, the arena's cap) is
 * recorded and every later ros_cmd_*() and the send refuse the command
 * with ROS_ERR_INVALID and that text, so callers may check once at the
 * end, as with struct buf.
 */
struct ros_cmd {
	struct arena *a;
	unsigned char *enc; /* the encoded words, without the end of sentence */
	size_t len, alloc;
	size_t nwords;
	char problem[96]; /* "" while the command is fine */
};

/*
 * Starts a command: "/ppp/secret/add".  It must start with '/'.  Returns
 * NULL only when the arena is over its cap (the ros_cmd_*() functions and
 * the sends accept NULL and refuse it).
 */
struct ros_cmd *ros_cmd_new(struct arena *a, const char *command);

/*
 * Adds "=key=value" with n bytes of value (any bytes but NUL).  The key
 * must be non-empty and hold no '=' or NUL; ".tag" is reserved for the
 * library.  Returns 0, or -1 when the command is or becomes refused.
 */
int ros_cmd_attrn(struct ros_cmd *c, const char *key, const void *value,
                  size_t n);

/* ros_cmd_attrn() of a NUL-terminated value. */
int ros_cmd_attr(struct ros_cmd *c, const char *key, const char *value);

/* Adds the query word "?key=value" (key and value as for attributes). */
int ros_cmd_queryn(struct ros_cmd *c, const char *key, const void *value,
                   size_t n);
int ros_cmd_query(struct ros_cmd *c, const char *key, const char *value);

/*
 * Adds one raw word of n bytes, for the query operators ("?#|", "?-name",
 * "?>rx-byte=0") and anything the helpers above do not build.  An empty
 * word (which would end the sentence), a NUL byte and a ".tag=" word are
 * refused.
 */
int ros_cmd_word(struct ros_cmd *c, const void *word, size_t n);

/* One !re item: its attributes in the order the router sent them. */
struct ros_attr {
	const char *key;   /* NUL-terminated */
	const char *value; /* NUL-terminated; may be "" */
	size_t value_len;
};

struct ros_item {
	struct ros_item *next;
	const struct ros_attr *attrs;
	size_t nattrs;
};

struct ros_trap {
	struct ros_trap *next;
	int category;        /* 0-7, or -1 when the router sent none */
	const char *message; /* "" when the router sent none */
};

/*
 * The reply to one command, in the caller's arena.  status is ROS_OK
 * (!done without a trap), ROS_ERR_TRAP (one or more !trap, then !done),
 * or the error that left the command without a complete reply (its items
 * are then incomplete: do not act on them).
 */
struct ros_result {
	enum ros_code status;
	struct ros_item *items; /* the !re sentences, first first */
	size_t nitems;
	const char *ret; /* =ret= of !done (the .id after add), or NULL */
	int empty;       /* the router said !empty (RouterOS 7.18+) */
	struct ros_trap *traps; /* the !trap sentences, first first */
	size_t ntraps;
	size_t bytes; /* what the reply cost against max_reply_bytes */
	/* Private. */
	struct ros_item *last_item_;
	struct ros_trap *last_trap_;
};

/*
 * Runs one command and waits for its !done.  Returns 0 with res filled
 * (status ROS_OK), or -1 with *err set: ROS_ERR_TRAP (res holds the traps
 * as well, err the first one's message and category; the connection is
 * still usable), ROS_ERR_INVALID (nothing sent), or a connection error.
 * res and its contents live in arena a.
 */
int ros_call(struct ros_conn *c, const struct ros_cmd *cmd, struct arena *a,
             struct ros_result *res, struct ros_error *err);

/*
 * Sends n commands with a .tag each, at most max_inflight awaiting their
 * replies at once, reads replies as they come and fills res[i] for
 * cmds[i].  Returns 0 when every command got its !done (each res[i].status
 * is ROS_OK or ROS_ERR_TRAP: check each), or -1 with *err set when the
 * batch was refused (ROS_ERR_INVALID: nothing was sent) or the connection
 * broke (commands already done keep their results; the others have
 * status set to the error).  The router applies commands in the order
 * sent.
 */
int ros_pipeline(struct ros_conn *c, struct ros_cmd *const *cmds, size_t n,
                 struct arena *a, struct ros_result *res,
                 struct ros_error *err);

/* The first value of key in an item, or NULL when it has none. */
const char *ros_item_get(const struct ros_item *it, const char *key);

/* The first trap's message, or "" when there was no trap. */
const char *ros_result_message(const struct ros_result *res);

/*
 * Builds "<menu>/print ?key=value =.proplist=<proplist>" (proplist NULL
 * means ".id"), to find items by a unique property without a round trip
 * of its own when pipelined.  NULL only when the arena is over its cap.
 */
struct ros_cmd *ros_cmd_find(struct arena *a, const char *menu, const char *key,
                             const void *value, size_t n, const char *proplist);

/*
 * Runs ros_cmd_find() and returns the number of items found (0 when
 * none), their properties in *res; -1 with *err on any error, a trap
 * included.
 */
long ros_find(struct ros_conn *c, struct arena *a, const char *menu,
              const char *key, const void *value, size_t n,
              const char *proplist, struct ros_result *res,
              struct ros_error *err);

/*
 * The .id of the item of menu whose key equals value: 1 found (*id in the
 * arena; the first one when several match), 0 none, -1 with *err.
 */
int ros_find_id(struct ros_conn *c, struct arena *a, const char *menu,
                const char *key, const char *value, const char **id,
                struct ros_error *err);

/*
 * The word codec, public for the tests.  ros_len_encode() writes the
 * shortest prefix for len into out and returns its size (1-5).
 * ros_len_decode() reads a prefix from the n bytes at p: it returns its
 * size and stores the length, 0 when n bytes do not yet hold the whole
 * prefix, -1 when the first byte is a control byte (>= 0xF8).  Longer
 * forms of small lengths are accepted as the protocol defines them.
 */
size_t ros_len_encode(uint32_t len, unsigned char out[5]);
int ros_len_decode(const unsigned char *p, size_t n, uint32_t *len);

/*
 * The incremental sentence parser (public for the tests and the fuzz
 * driver; connections use it internally).  It takes bytes in pieces of
 * any size, one byte at a time included, and keeps the sentence being
 * read in memory it owns (malloc), bounded by its limits.
 */
struct ros_word {
	size_t off; /* into buf */
	size_t len;
};

struct ros_parser {
	/* Limits, set by ros_parser_init(). */
	size_t max_word, max_words, max_sentence;
	/*
	 * The sentence: after ros_parser_feed() returned 1, nwords words,
	 * word i at buf + words[i].off with words[i].len bytes and a NUL
	 * after it.  Valid until the next feed.
	 */
	char *buf;
	size_t len, alloc;
	struct ros_word *words;
	size_t nwords, words_alloc;
	char error[96]; /* why the last feed returned -1 */
	/* Private. */
	unsigned char hdr_[5];
	size_t nhdr_, need_;
	int in_body_, complete_;
	unsigned empties_;
};

/* Prepares a parser; a zero limit means the ros_opts default. */
void ros_parser_init(struct ros_parser *p, size_t max_word, size_t max_words,
                     size_t max_sentence);

/* Frees its memory. */
void ros_parser_release(struct ros_parser *p);

/*
 * Consumes bytes until the end of a sentence or of the input.  Returns 1
 * when a sentence is complete (*used says how many bytes it took; feed
 * the rest next), 0 when all n bytes were taken and the sentence goes on,
 * -1 when the input is refused (p->error says why; the parser must not be
 * fed again).  Empty sentences are skipped, as the protocol says, but
 * more than a few in a row are refused: RouterOS never sends them.
 */
int ros_parser_feed(struct ros_parser *p, const void *data, size_t n,
                    size_t *used);

/*
 * Test and fuzzing hook: a connection that is already "logged in", whose
 * router is n bytes in memory (handed out chunk bytes per read, 0 meaning
 * all at once; then end of file), and whose sent bytes are kept for
 * ros_mem_sent().  data must outlive the connection.  opts gives the
 * limits (host, TLS and login fields are ignored; opts may be NULL).  No
 * socket is involved.
 */
struct ros_conn *ros_mem_open(const struct ros_opts *opts, const void *data,
                              size_t n, size_t chunk);

/* What the library sent on a ros_mem_open() connection. */
const void *ros_mem_sent(const struct ros_conn *c, size_t *n);

#endif
