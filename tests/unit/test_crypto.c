#include <string.h>

#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "tests/unit/unit.h"

static struct config cfg;

static void
setup(void)
{
	config_defaults(&cfg);
	for (int i = 0; i < DATA_KEY_LEN; i++)
		cfg.data_key[i] = (unsigned char)(i * 7 + 1);
	cfg.have_secrets = 1;
}

START_TEST(seal_open_round_trip)
{
	unsigned char sealed[128], again[128];
	char plain[128];
	long n, m;

	setup();
	n = crypto_seal(&cfg, "customer:1:pppoe", "s3cret", 6, sealed,
	                sizeof(sealed));
	ck_assert_int_eq(n, 6 + CRYPTO_OVERHEAD);
	m = crypto_seal(&cfg, "customer:1:pppoe", "s3cret", 6, again,
	                sizeof(again));
	/* A fresh nonce each time: equal secrets do not look equal. */
	ck_assert_int_ne(memcmp(sealed, again, (size_t)n), 0);
	ck_assert_int_eq(m, n);
	ck_assert_int_eq(crypto_open(&cfg, "customer:1:pppoe", sealed,
	                             (size_t)n, plain, sizeof(plain)),
	                 6);
	ck_assert_str_eq(plain, "s3cret");
	ck_assert_ptr_null(memmem(sealed, (size_t)n, "s3cret", 6));
}
END_TEST

START_TEST(tampering_and_wrong_context_fail)
{
	unsigned char sealed[128];
	char plain[128];
	long n;

	setup();
	n = crypto_seal(&cfg, "device:9:password", "admin123", 8, sealed,
	                sizeof(sealed));
	ck_assert_int_eq(crypto_open(&cfg, "device:10:password", sealed,
	                             (size_t)n, plain, sizeof(plain)),
	                 -1);
	sealed[20] ^= 1;
	ck_assert_int_eq(crypto_open(&cfg, "device:9:password", sealed,
	                             (size_t)n, plain, sizeof(plain)),
	                 -1);
	sealed[20] ^= 1;
	sealed[1] = 9; /* unknown key id */
	ck_assert_int_eq(crypto_open(&cfg, "device:9:password", sealed,
	                             (size_t)n, plain, sizeof(plain)),
	                 -1);
	sealed[1] = 1;
	ck_assert_int_eq(crypto_open(&cfg, "device:9:password", sealed, 10,
	                             plain, sizeof(plain)),
	                 -1);
	cfg.data_key[0] ^= 1;
	ck_assert_int_eq(crypto_open(&cfg, "device:9:password", sealed,
	                             (size_t)n, plain, sizeof(plain)),
	                 -1);
}
END_TEST

START_TEST(audit_mask_and_hash)
{
	cJSON *v = cJSON_Parse("{\"name\":\"x\",\"password\":\"p\","
	                       "\"nested\":{\"snmp_community\":\"public\","
	                       "\"PPPoE_Password\":\"q\",\"ok\":1}}");
	cJSON *m = audit_mask(v);
	char *s = cJSON_PrintUnformatted(m);
	char h1[65], h2[65], h3[65];

	ck_assert_str_eq(s, "{\"name\":\"x\",\"password\":\"***\","
	                    "\"nested\":{\"snmp_community\":\"***\","
	                    "\"PPPoE_Password\":\"***\",\"ok\":1}}");
	cJSON_free(s);
	cJSON_Delete(m);
	cJSON_Delete(v);
	audit_hash(NULL, 1, "2", "create", "user", "3", NULL, "{}", "1.2.3.4",
	           "ua", "2026-01-01 00:00:00.000000", h1);
	audit_hash(NULL, 1, "2", "create", "user", "3", NULL, "{}", "1.2.3.4",
	           "ua", "2026-01-01 00:00:00.000000", h2);
	ck_assert_str_eq(h1, h2);
	ck_assert_uint_eq(strlen(h1), 64);
	/* NULL and "" differ; moving text between fields changes the hash. */
	audit_hash(NULL, 1, "2", "create", "user", "3", "", "{}", "1.2.3.4",
	           "ua", "2026-01-01 00:00:00.000000", h3);
	ck_assert_str_ne(h1, h3);
	audit_hash(NULL, 1, "2", "create", "use", "r3", NULL, "{}", "1.2.3.4",
	           "ua", "2026-01-01 00:00:00.000000", h3);
	ck_assert_str_ne(h1, h3);
	audit_hash(h1, 1, "2", "create", "user", "3", NULL, "{}", "1.2.3.4",
	           "ua", "2026-01-01 00:00:00.000000", h3);
	ck_assert_str_ne(h1, h3);
}
END_TEST

UNIT_MAIN("crypto", seal_open_round_trip, tampering_and_wrong_context_fail,
          audit_mask_and_hash)
