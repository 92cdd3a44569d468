/*
 * Credentials: argon2id password hashes and HS256 access tokens.
 *
 * Passwords are hashed with argon2id into PHC strings
 * ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash") with the parameters of
 * the configuration; a stored hash made with other parameters is
 * re-hashed at the next successful login.
 *
 * Access tokens are JWTs signed with HS256 and the key from
 * jwt_secret_file.  The header's "alg" is never trusted: a token whose
 * header names anything but HS256 (including "none") is refused before
 * any signature code runs.
 */
#ifndef RTRW_AUTH_H
#define RTRW_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct config;
struct principal;

#define AUTH_HASH_MAX     160 /* a PHC string with our parameters */
#define AUTH_TOKEN_MAX    1024
#define AUTH_REFRESH_HEX  64 /* 256-bit refresh tokens, hex */
#define AUTH_PASSWORD_MIN 10
#define AUTH_PASSWORD_MAX 128

/*
 * Hashes password into out (AUTH_HASH_MAX bytes) with a fresh random salt.
 * Returns 0 or -1.
 */
int auth_password_hash(const struct config *c, const char *password, char *out,
                       size_t outlen);

/*
 * Checks password against a PHC string in time that does not depend on
 * where they differ.  Returns 1 on a match, 0 on a mismatch, -1 when the
 * stored hash is unusable.
 */
int auth_password_verify(const char *encoded, const char *password);

/*
 * Spends the same time as auth_password_verify() against a hash of the
 * current parameters, for logins of unknown users.
 */
void auth_password_dummy(const struct config *c, const char *password);

/* Whether encoded was made with other parameters than the configuration. */
int auth_password_needs_rehash(const struct config *c, const char *encoded);

/*
 * Signs an access token for the principal, valid from now for
 * access_ttl_seconds, into out.  Returns 0 or -1.
 */
int auth_token_issue(const struct config *c, const struct principal *p,
                     time_t now, char *out, size_t outlen);

enum auth_token_result {
	AUTH_TOKEN_OK = 0,
	AUTH_TOKEN_BAD,     /* malformed, wrong alg, bad signature, claims */
	AUTH_TOKEN_EXPIRED, /* signature fine, exp in the past */
};

/*
 * Verifies token and fills p from its claims (sub, tid, role).  Expiry
 * and "issued in the future" allow jwt_leeway_seconds of clock skew.
 */
enum auth_token_result auth_token_verify(const struct config *c,
                                         const char *token, time_t now,
                                         struct principal *p);

/*
 * auth_token_verify() that also gives the token's exp claim, for the
 * WebSocket daemon, whose connections outlive a request and must end
 * when the token does.  *expires is set whenever p is filled.
 */
enum auth_token_result auth_token_verify_exp(const struct config *c,
                                             const char *token, time_t now,
                                             struct principal *p,
                                             time_t *expires);

/* Makes a random refresh token (AUTH_REFRESH_HEX hex digits and a NUL). */
int auth_refresh_new(char out[AUTH_REFRESH_HEX + 1]);

/* Whether s looks like a refresh token (64 lower-case hex digits). */
int auth_refresh_valid(const char *s);

/* SHA-256 of a refresh token: what the database stores. */
void auth_refresh_hash(const char *token, unsigned char out[32]);

#endif
