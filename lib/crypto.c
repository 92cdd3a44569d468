#include "crypto.h"

#include <openssl/evp.h>
#include <string.h>

#include "config.h"
#include "util.h"

#define VERSION   1
#define NONCE_LEN 12
#define TAG_LEN   16

long
crypto_seal(const struct config *c, const char *aad, const void *plain,
            size_t n, unsigned char *out, size_t outcap)
{
	EVP_CIPHER_CTX *ctx;
	unsigned char *nonce = out + 2, *ct = out + 2 + NONCE_LEN;
	int len = 0, fin = 0;
	long rc = -1;

	if (!c->have_secrets || n > (size_t)INT32_MAX ||
	    outcap < n + CRYPTO_OVERHEAD)
		return -1;
	out[0] = VERSION;
	out[1] = CRYPTO_KEY_ID;
	if (random_bytes(nonce, NONCE_LEN) < 0)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, c->data_key,
	                       nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad,
	                      (int)strlen(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &len, plain, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, ct + len, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
	                        ct + len + fin) != 1)
		goto out_free;
	rc = (long)(2 + NONCE_LEN + (size_t)(len + fin) + TAG_LEN);
out_free:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

long
crypto_open(const struct config *c, const char *aad,
            const unsigned char *sealed, size_t n, char *out, size_t outcap)
{
	EVP_CIPHER_CTX *ctx;
	const unsigned char *nonce = sealed + 2, *ct = sealed + 2 + NONCE_LEN;
	size_t ctlen;
	int len = 0, fin = 0;
	long rc = -1;

	if (!c->have_secrets || n < CRYPTO_OVERHEAD || sealed[0] != VERSION ||
	    sealed[1] != CRYPTO_KEY_ID)
		return -1;
	ctlen = n - CRYPTO_OVERHEAD;
	if (outcap < ctlen + 1)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, c->data_key,
	                       nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad,
	                      (int)strlen(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)out, &len, ct,
	                      (int)ctlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	                        (void *)(ct + ctlen)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)out + len, &fin) != 1) {
		explicit_bzero(out, outcap);
		goto out_free;
	}
	out[len + fin] = '\0';
	rc = len + fin;
out_free:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}
