#include "auth.h"

#include <argon2.h>
#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "principal.h"
#include "util.h"

#define SALT_LEN 16
#define HASH_LEN 32

int
auth_password_hash(const struct config *c, const char *password, char *out,
                   size_t outlen)
{
	unsigned char salt[SALT_LEN];
	int rc;

	if (random_bytes(salt, sizeof(salt)) < 0)
		return -1;
	rc = argon2id_hash_encoded(
	    (uint32_t)c->argon2_t, (uint32_t)c->argon2_m_kib,
	    (uint32_t)c->argon2_p, password, strlen(password), salt,
	    sizeof(salt), HASH_LEN, out, outlen);
	if (rc != ARGON2_OK) {
		/* Whatever argon2 left in out is of no use to the caller. */
		explicit_bzero(out, outlen);
		log_error("password hash failed: %s", argon2_error_message(rc));
		return -1;
	}
	return 0;
}

int
auth_password_verify(const char *encoded, const char *password)
{
	int rc;

	if (strncmp(encoded, "$argon2id$", 10) != 0)
		return -1;
	/* argon2 compares the computed and stored hashes in constant time. */
	rc = argon2id_verify(encoded, password, strlen(password));
	if (rc == ARGON2_OK)
		return 1;
	if (rc == ARGON2_VERIFY_MISMATCH)
		return 0;
	return -1;
}

void
auth_password_dummy(const struct config *c, const char *password)
{
	/*
	 * A hash of the current parameters, made once per process: checking
	 * against it costs what checking a real user's hash costs.
	 */
	static char dummy[AUTH_HASH_MAX];
	static int made_m, made_t, made_p;

	if (!dummy[0] || made_m != c->argon2_m_kib || made_t != c->argon2_t ||
	    made_p != c->argon2_p) {
		char pw[33];
		unsigned char raw[16];
		int rc;

		if (random_bytes(raw, sizeof(raw)) < 0)
			memset(raw, 7, sizeof(raw));
		hex_encode(raw, sizeof(raw), pw);
		rc = auth_password_hash(c, pw, dummy, sizeof(dummy));
		explicit_bzero(pw, sizeof(pw));
		explicit_bzero(raw, sizeof(raw));
		if (rc < 0)
			return;
		made_m = c->argon2_m_kib;
		made_t = c->argon2_t;
		made_p = c->argon2_p;
	}
	(void)auth_password_verify(dummy, password);
}

int
auth_password_needs_rehash(const struct config *c, const char *encoded)
{
	char want[64];

	snprintf(want, sizeof(want), "$argon2id$v=19$m=%d,t=%d,p=%d$",
	         c->argon2_m_kib, c->argon2_t, c->argon2_p);
	return strncmp(encoded, want, strlen(want)) != 0;
}

int
auth_token_issue(const struct config *c, const struct principal *p, time_t now,
                 char *out, size_t outlen)
{
	jwt_t *jwt = NULL;
	unsigned char raw[16];
	char jti[33], *s = NULL;
	int rc = -1;

	if (random_bytes(raw, sizeof(raw)) < 0)
		return -1;
	hex_encode(raw, sizeof(raw), jti);
	if (jwt_new(&jwt) != 0)
		return -1;
	if (jwt_add_grant_int(jwt, "sub", (long)p->user_id) ||
	    jwt_add_grant_int(jwt, "tid", (long)p->tenant_id) ||
	    jwt_add_grant(jwt, "role", role_name((enum role)p->role)) ||
	    jwt_add_grant_int(jwt, "iat", (long)now) ||
	    jwt_add_grant_int(jwt, "exp",
	                      (long)(now + c->access_ttl_seconds)) ||
	    jwt_add_grant(jwt, "jti", jti) ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, c->jwt_secret,
	                (int)c->jwt_secret_len))
		goto out_free;
	s = jwt_encode_str(jwt);
	if (!s || strlen(s) >= outlen)
		goto out_free;
	memcpy(out, s, strlen(s) + 1);
	rc = 0;
out_free:
	/* The token is a credential until it expires: no copy is left. */
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
	jwt_free(jwt);
	return rc;
}

/* Decodes base64url without padding into out; returns length or -1. */
static long
b64url_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
	char tmp[1024] = {0};
	size_t k = 0;
	int len;

	if (n + 4 > sizeof(tmp) || (n * 3) / 4 + 3 > outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		           (c >= '0' && c <= '9')))
			return -1;
		tmp[k++] = c;
	}
	while (k % 4)
		tmp[k++] = '=';
	len = EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)k);
	if (len < 0)
		return -1;
	/* EVP_DecodeBlock counts the padding bytes as data. */
	for (size_t i = n; i % 4; i++)
		len--;
	return len;
}

/*
 * Reads the header segment ourselves and insists on exactly HS256 and
 * typ JWT (when present), before libjwt sees the token.
 */
static int
header_is_hs256(const char *token)
{
	const char *dot = strchr(token, '.');
	unsigned char json[512];
	cJSON *h, *alg, *typ;
	long n;
	int ok;

	if (!dot)
		return 0;
	n = b64url_decode(token, (size_t)(dot - token), json, sizeof(json) - 1);
	if (n <= 0)
		return 0;
	json[n] = '\0';
	h = cJSON_ParseWithLength((const char *)json, (size_t)n);
	if (!h)
		return 0;
	alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
	typ = cJSON_GetObjectItemCaseSensitive(h, "typ");
	ok = cJSON_IsString(alg) && strcmp(alg->valuestring, "HS256") == 0 &&
	     (!typ ||
	      (cJSON_IsString(typ) && strcmp(typ->valuestring, "JWT") == 0));
	cJSON_Delete(h);
	return ok;
}

enum auth_token_result
auth_token_verify(const struct config *c, const char *token, time_t now,
                  struct principal *p)
{
	time_t exp;

	return auth_token_verify_exp(c, token, now, p, &exp);
}

enum auth_token_result
auth_token_verify_exp(const struct config *c, const char *token, time_t now,
                      struct principal *p, time_t *expires)
{
	enum auth_token_result res = AUTH_TOKEN_BAD;
	const char *role, *jti;
	long sub, tid, iat, exp;
	int dots = 0, r;
	jwt_t *jwt = NULL;

	memset(p, 0, sizeof(*p));
	*expires = 0;
	if (!token || strlen(token) >= AUTH_TOKEN_MAX)
		return AUTH_TOKEN_BAD;
	for (const char *s = token; *s; s++)
		dots += *s == '.';
	if (dots != 2 || !header_is_hs256(token))
		return AUTH_TOKEN_BAD;
	if (jwt_decode(&jwt, token, c->jwt_secret, (int)c->jwt_secret_len) != 0)
		return AUTH_TOKEN_BAD;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto out_free;
	sub = jwt_get_grant_int(jwt, "sub");
	tid = jwt_get_grant_int(jwt, "tid");
	iat = jwt_get_grant_int(jwt, "iat");
	exp = jwt_get_grant_int(jwt, "exp");
	role = jwt_get_grant(jwt, "role");
	jti = jwt_get_grant(jwt, "jti");
	if (sub <= 0 || tid < 0 || iat <= 0 || exp <= 0 || !role || !jti)
		goto out_free;
	r = role_parse(role);
	if (r <= ROLE_PUBLIC || (r == ROLE_PLATFORM) != (tid == 0))
		goto out_free;
	if (iat > (long)now + c->jwt_leeway_seconds || exp < iat)
		goto out_free;
	p->user_id = sub;
	p->tenant_id = tid;
	p->role = r;
	p->platform = r == ROLE_PLATFORM;
	*expires = (time_t)exp;
	res = exp + c->jwt_leeway_seconds < (long)now ? AUTH_TOKEN_EXPIRED
	                                              : AUTH_TOKEN_OK;
out_free:
	jwt_free(jwt);
	return res;
}

int
auth_refresh_new(char out[AUTH_REFRESH_HEX + 1])
{
	unsigned char raw[AUTH_REFRESH_HEX / 2];

	if (random_bytes(raw, sizeof(raw)) < 0)
		return -1;
	hex_encode(raw, sizeof(raw), out);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

int
auth_refresh_valid(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') ||
		      (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == AUTH_REFRESH_HEX;
}

void
auth_refresh_hash(const char *token, unsigned char out[32])
{
	SHA256((const unsigned char *)token, strlen(token), out);
}
