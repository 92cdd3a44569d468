/* libFuzzer driver: bearer tokens through auth_token_verify(). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	struct principal p;
	char *tok = malloc(size + 1);

	if (!c.have_secrets) {
		config_defaults(&c);
		memcpy(c.jwt_secret, "0123456789abcdef0123456789abcdef", 32);
		c.jwt_secret_len = 32;
		c.have_secrets = 1;
	}
	memcpy(tok, data, size);
	tok[size] = '\0';
	auth_token_verify(&c, tok, time(NULL), &p);
	free(tok);
	return 0;
}
