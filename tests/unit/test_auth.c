/*
 * Passwords and tokens without a server: argon2id round trips and
 * re-hash detection, and every way an access token can be wrong.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "http.h"
#include "router.h"
#include "tests/unit/unit.h"

static struct config cfg;

static void
setup(void)
{
	config_defaults(&cfg);
	memcpy(cfg.jwt_secret, "0123456789abcdef0123456789abcdef", 32);
	cfg.jwt_secret_len = 32;
	cfg.argon2_m_kib = 8192;
	cfg.argon2_t = 1;
	cfg.have_secrets = 1;
}

START_TEST(password_round_trip)
{
	char h1[AUTH_HASH_MAX], h2[AUTH_HASH_MAX];

	setup();
	ck_assert_int_eq(
	    auth_password_hash(&cfg, "correct horse", h1, sizeof(h1)), 0);
	ck_assert_int_eq(
	    auth_password_hash(&cfg, "correct horse", h2, sizeof(h2)), 0);
	ck_assert_str_ne(h1, h2); /* fresh salt each time */
	ck_assert_ptr_nonnull(strstr(h1, "$argon2id$v=19$m=8192,t=1,p=1$"));
	ck_assert_int_eq(auth_password_verify(h1, "correct horse"), 1);
	ck_assert_int_eq(auth_password_verify(h1, "correct horsE"), 0);
	ck_assert_int_eq(auth_password_verify("$2y$10$bcrypt", "x"), -1);
	ck_assert_int_eq(auth_password_needs_rehash(&cfg, h1), 0);
	cfg.argon2_t = 2;
	ck_assert_int_eq(auth_password_needs_rehash(&cfg, h1), 1);
}
END_TEST

START_TEST(default_parameters_meet_owasp)
{
	struct config c;

	config_defaults(&c);
	ck_assert_int_ge(c.argon2_m_kib, 19456);
	ck_assert_int_ge(c.argon2_t, 2);
	ck_assert_int_ge(c.argon2_p, 1);
	ck_assert_int_eq(c.access_ttl_seconds, 900);
	ck_assert_int_eq(c.rate_limit_per_minute, 100);
}
END_TEST

static void
b64url(const unsigned char *in, size_t n, char *out)
{
	char tmp[2048];
	int len = EVP_EncodeBlock((unsigned char *)tmp, in, (int)n);
	size_t k = 0;

	for (int i = 0; i < len; i++) {
		if (tmp[i] == '=')
			break;
		out[k++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : tmp[i];
	}
	out[k] = '\0';
}

/* Builds header.payload.signature with key (or no signature). */
static void
make_token(const char *header, const char *payload, const char *key, char *out,
           size_t n)
{
	char h[512], p[1024], sig[128], signing[1600];
	unsigned char mac[32];
	unsigned int maclen = 0;

	b64url((const unsigned char *)header, strlen(header), h);
	b64url((const unsigned char *)payload, strlen(payload), p);
	snprintf(signing, sizeof(signing), "%s.%s", h, p);
	sig[0] = '\0';
	if (key) {
		HMAC(EVP_sha256(), key, (int)strlen(key),
		     (const unsigned char *)signing, strlen(signing), mac,
		     &maclen);
		b64url(mac, maclen, sig);
	}
	snprintf(out, n, "%s.%s", signing, sig);
}

static const char key[] = "0123456789abcdef0123456789abcdef";
static const char hs256[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static enum auth_token_result
verify_payload(const char *header, const char *payload, const char *k,
               struct principal *p)
{
	char tok[2048];

	make_token(header, payload, k, tok, sizeof(tok));
	return auth_token_verify(&cfg, tok, time(NULL), p);
}

START_TEST(issue_and_verify)
{
	struct principal in = {.user_id = 42,
	                       .tenant_id = 7,
	                       .role = ROLE_OPERATOR},
	                 out;
	char tok[AUTH_TOKEN_MAX];

	setup();
	ck_assert_int_eq(
	    auth_token_issue(&cfg, &in, time(NULL), tok, sizeof(tok)), 0);
	ck_assert_int_eq(auth_token_verify(&cfg, tok, time(NULL), &out),
	                 AUTH_TOKEN_OK);
	ck_assert_int_eq(out.user_id, 42);
	ck_assert_int_eq(out.tenant_id, 7);
	ck_assert_int_eq(out.role, ROLE_OPERATOR);
	/* 900 s later (plus leeway) it has expired. */
	ck_assert_int_eq(auth_token_verify(&cfg, tok, time(NULL) + 1000, &out),
	                 AUTH_TOKEN_EXPIRED);
	/* Within the clock-skew leeway it is still fine. */
	ck_assert_int_eq(auth_token_verify(&cfg, tok, time(NULL) + 920, &out),
	                 AUTH_TOKEN_OK);
}
END_TEST

START_TEST(hostile_tokens)
{
	struct principal p;
	char payload[256];
	long now = (long)time(NULL);

	setup();
	snprintf(payload, sizeof(payload),
	         "{\"sub\":1,\"tid\":2,\"role\":\"admin\",\"iat\":%ld,"
	         "\"exp\":%ld,\"jti\":\"x\"}",
	         now, now + 600);
	ck_assert_int_eq(verify_payload(hs256, payload, key, &p),
	                 AUTH_TOKEN_OK);
	/* alg none, with and without a signature. */
	ck_assert_int_eq(verify_payload("{\"alg\":\"none\",\"typ\":\"JWT\"}",
	                                payload, NULL, &p),
	                 AUTH_TOKEN_BAD);
	ck_assert_int_eq(verify_payload("{\"alg\":\"none\"}", payload, key, &p),
	                 AUTH_TOKEN_BAD);
	ck_assert_int_eq(
	    verify_payload("{\"alg\":\"NONE\"}", payload, NULL, &p),
	    AUTH_TOKEN_BAD);
	/* Another algorithm, even signed with the right key. */
	ck_assert_int_eq(verify_payload("{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
	                                payload, key, &p),
	                 AUTH_TOKEN_BAD);
	ck_assert_int_eq(
	    verify_payload("{\"alg\":\"RS256\"}", payload, key, &p),
	    AUTH_TOKEN_BAD);
	/* Wrong key. */
	ck_assert_int_eq(verify_payload(hs256, payload,
	                                "another-key-another-key-another!", &p),
	                 AUTH_TOKEN_BAD);
	/* Claims missing or wrong. */
	ck_assert_int_eq(verify_payload(hs256, "{\"sub\":1}", key, &p),
	                 AUTH_TOKEN_BAD);
	snprintf(payload, sizeof(payload),
	         "{\"sub\":1,\"tid\":2,\"role\":\"root\",\"iat\":%ld,"
	         "\"exp\":%ld,\"jti\":\"x\"}",
	         now, now + 600);
	ck_assert_int_eq(verify_payload(hs256, payload, key, &p),
	                 AUTH_TOKEN_BAD);
	/* A tenant role without a tenant, and platform with one. */
	snprintf(payload, sizeof(payload),
	         "{\"sub\":1,\"tid\":0,\"role\":\"admin\",\"iat\":%ld,"
	         "\"exp\":%ld,\"jti\":\"x\"}",
	         now, now + 600);
	ck_assert_int_eq(verify_payload(hs256, payload, key, &p),
	                 AUTH_TOKEN_BAD);
	snprintf(payload, sizeof(payload),
	         "{\"sub\":1,\"tid\":3,\"role\":\"platform\",\"iat\":%ld,"
	         "\"exp\":%ld,\"jti\":\"x\"}",
	         now, now + 600);
	ck_assert_int_eq(verify_payload(hs256, payload, key, &p),
	                 AUTH_TOKEN_BAD);
	/* Issued in the future. */
	snprintf(payload, sizeof(payload),
	         "{\"sub\":1,\"tid\":2,\"role\":\"admin\",\"iat\":%ld,"
	         "\"exp\":%ld,\"jti\":\"x\"}",
	         now + 3600, now + 4000);
	ck_assert_int_eq(verify_payload(hs256, payload, key, &p),
	                 AUTH_TOKEN_BAD);
	/* Garbage. */
	ck_assert_int_eq(auth_token_verify(&cfg, "", now, &p), AUTH_TOKEN_BAD);
	ck_assert_int_eq(auth_token_verify(&cfg, "a.b", now, &p),
	                 AUTH_TOKEN_BAD);
	ck_assert_int_eq(auth_token_verify(&cfg, "a.b.c.d", now, &p),
	                 AUTH_TOKEN_BAD);
	ck_assert_int_eq(auth_token_verify(&cfg, "!!!.???.***", now, &p),
	                 AUTH_TOKEN_BAD);
	ck_assert_int_eq(p.user_id, 0);
}
END_TEST

/*
 * Worst-case bearer tokens.  nginx passes an Authorization header of up to
 * 8 KiB (large_client_header_buffers 4 8k); auth_token_verify() refuses
 * anything of AUTH_TOKEN_MAX (1024) bytes or more before looking at it,
 * so the most expensive tokens are just under that: many segments, bad
 * base64, a header or payload of deep JSON, or a valid token with as many
 * claims as fit.  Each must cost at most UNIT_CPU_BUDGET_MS of CPU (a few
 * microseconds in fact).
 */
static enum auth_token_result
timed_verify(const char *what, const char *tok, struct principal *p)
{
	enum auth_token_result res = AUTH_TOKEN_OK;

	UNIT_CPU_AT_MOST(UNIT_CPU_BUDGET_MS, what,
	                 res = auth_token_verify(&cfg, tok, time(NULL), p));
	return res;
}

START_TEST(worst_case_tokens)
{
	static char tok[8192 + 1], payload[1024], header[512];
	struct principal p;
	long now = (long)time(NULL);
	size_t n;

	setup();
	/* The whole header line: refused on its length. */
	memset(tok, 'A', 8192);
	tok[8192] = '\0';
	ck_assert_int_eq(timed_verify("jwt: 8 KiB", tok, &p), AUTH_TOKEN_BAD);
	/* As many segments as fit. */
	memset(tok, '.', AUTH_TOKEN_MAX - 1);
	tok[AUTH_TOKEN_MAX - 1] = '\0';
	ck_assert_int_eq(timed_verify("jwt: 1023 dots", tok, &p),
	                 AUTH_TOKEN_BAD);
	/* Three segments, the header as long as fits, bad base64 and good. */
	memset(tok, '*', AUTH_TOKEN_MAX - 1);
	tok[AUTH_TOKEN_MAX - 3] = '.';
	tok[AUTH_TOKEN_MAX - 2] = '.';
	ck_assert_int_eq(timed_verify("jwt: 1021 bytes of bad base64", tok, &p),
	                 AUTH_TOKEN_BAD);
	memset(tok, 'e', AUTH_TOKEN_MAX - 3);
	ck_assert_int_eq(timed_verify("jwt: 1021 bytes of base64", tok, &p),
	                 AUTH_TOKEN_BAD);
	/* A header of nested arrays, as deep as its 380 bytes allow. */
	n = 0;
	while (n < 190)
		header[n++] = '[';
	while (n < 380)
		header[n++] = ']';
	header[n] = '\0';
	make_token(header, "{}", key, tok, sizeof(tok));
	ck_assert_uint_lt(strlen(tok), AUTH_TOKEN_MAX);
	ck_assert_int_eq(timed_verify("jwt: nested header", tok, &p),
	                 AUTH_TOKEN_BAD);
	/* A signed payload of nested arrays. */
	n = 0;
	while (n < 350)
		payload[n++] = '[';
	while (n < 700)
		payload[n++] = ']';
	payload[n] = '\0';
	make_token(hs256, payload, key, tok, sizeof(tok));
	ck_assert_uint_lt(strlen(tok), AUTH_TOKEN_MAX);
	ck_assert_int_eq(timed_verify("jwt: signed nested payload", tok, &p),
	                 AUTH_TOKEN_BAD);
	/* A valid token carrying as many extra claims as fit. */
	n = (size_t)snprintf(payload, sizeof(payload),
	                     "{\"sub\":1,\"tid\":2,\"role\":\"admin\","
	                     "\"iat\":%ld,\"exp\":%ld,\"jti\":\"x\"",
	                     now, now + 600);
	for (int i = 0; n < 680; i++)
		n += (size_t)snprintf(payload + n, sizeof(payload) - n,
		                      ",\"c%d\":%d", i, i);
	snprintf(payload + n, sizeof(payload) - n, "}");
	make_token(hs256, payload, key, tok, sizeof(tok));
	ck_assert_uint_lt(strlen(tok), AUTH_TOKEN_MAX);
	ck_assert_uint_gt(strlen(tok), AUTH_TOKEN_MAX - 100);
	ck_assert_int_eq(timed_verify("jwt: valid, many claims", tok, &p),
	                 AUTH_TOKEN_OK);
	ck_assert_int_eq(p.user_id, 1);
	/* The same with its signature's base64 broken. */
	tok[strlen(tok) - 2] = '*';
	ck_assert_int_eq(timed_verify("jwt: bad signature base64", tok, &p),
	                 AUTH_TOKEN_BAD);
}
END_TEST

/* A hash that fails leaves nothing in the caller's buffer. */
START_TEST(failed_hash_leaves_nothing)
{
	char h[AUTH_HASH_MAX];

	setup();
	memset(h, 'x', sizeof(h));
	cfg.argon2_m_kib = 1; /* below argon2's minimum of 8 KiB per lane */
	ck_assert_int_eq(
	    auth_password_hash(&cfg, "correct horse", h, sizeof(h)), -1);
	for (size_t i = 0; i < sizeof(h); i++)
		ck_assert_int_eq(h[i], 0);
}
END_TEST

START_TEST(refresh_tokens)
{
	char a[AUTH_REFRESH_HEX + 1], b[AUTH_REFRESH_HEX + 1];
	unsigned char h[32];

	ck_assert_int_eq(auth_refresh_new(a), 0);
	ck_assert_int_eq(auth_refresh_new(b), 0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(auth_refresh_valid(a), 1);
	ck_assert_int_eq(auth_refresh_valid("abc"), 0);
	a[3] = 'G';
	ck_assert_int_eq(auth_refresh_valid(a), 0);
	auth_refresh_hash("abc", h);
	ck_assert_uint_eq(h[0], 0xba); /* SHA-256("abc") = ba7816bf... */
	ck_assert_uint_eq(h[1], 0x78);
}
END_TEST

UNIT_MAIN("auth", password_round_trip, default_parameters_meet_owasp,
          issue_and_verify, hostile_tokens, worst_case_tokens,
          failed_hash_leaves_nothing, refresh_tokens)
