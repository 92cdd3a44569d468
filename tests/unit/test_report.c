#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "report.h"
#include "store/report.h"
#include "tests/unit/unit.h"
#include "util.h"

/* A report whose link secret is secret (32 bytes). */
static void
linked(struct report *rep, int64_t id, const unsigned char *secret,
       unsigned char hash[SHA256_DIGEST_LENGTH])
{
	memset(rep, 0, sizeof(*rep));
	rep->id = id;
	SHA256(secret, 32, hash);
	rep->link_hash.p = hash;
	rep->link_hash.n = SHA256_DIGEST_LENGTH;
}

START_TEST(link_tokens)
{
	unsigned char secret[32], hash[SHA256_DIGEST_LENGTH];
	char hex[65], token[REPORT_TOKEN_MAX + 16];
	struct report rep;
	int64_t t, r;

	for (int i = 0; i < 32; i++)
		secret[i] = (unsigned char)(i * 7 + 1);
	hex_encode(secret, sizeof(secret), hex);
	linked(&rep, 42, secret, hash);
	snprintf(token, sizeof(token), "7-42-%s", hex);
	ck_assert_int_eq(report_link_ids(token, &t, &r), 0);
	ck_assert_int_eq(t, 7);
	ck_assert_int_eq(r, 42);
	ck_assert_int_eq(report_link_ok(token, &rep), 1);
	/* Another report's id, one flipped digit, no hash: refused. */
	rep.id = 43;
	ck_assert_int_eq(report_link_ok(token, &rep), 0);
	rep.id = 42;
	token[strlen(token) - 1] = token[strlen(token) - 1] == '0' ? '1' : '0';
	ck_assert_int_eq(report_link_ok(token, &rep), 0);
	snprintf(token, sizeof(token), "7-42-%s", hex);
	rep.link_hash.n = 0;
	ck_assert_int_eq(report_link_ok(token, &rep), 0);
}
END_TEST

START_TEST(malformed_tokens)
{
	/* Each breaks one rule of "<tenant>-<report>-<64 hex>". */
	static const struct {
		const char *head;
		int digits;
	} bad[] = {
	    {"", 64},                        /* no ids */
	    {"7-42", 0},                     /* no secret */
	    {"x-42-", 64},                   /* a tenant that is no number */
	    {"0-42-", 64},                   /* id 0 */
	    {"7--", 64},                     /* no report id */
	    {"+7-42-", 64},                  /* a sign */
	    {"7-42-", 65},                   /* too many digits */
	    {"7-42-", 63},                   /* too few */
	    {"99999999999999999999-1-", 64}, /* past int64 */
	};
	char token[256];
	int64_t t, r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = strlen(bad[i].head);

		memcpy(token, bad[i].head, n);
		memset(token + n, '0', (size_t)bad[i].digits);
		token[n + (size_t)bad[i].digits] = '\0';
		ck_assert_msg(report_link_ids(token, &t, &r) == -1, "%s",
		              token);
	}
	memcpy(token, "7-42-", 5);
	memset(token + 5, 'a', 64);
	token[69] = '\0';
	ck_assert_int_eq(report_link_ids(token, &t, &r), 0);
	ck_assert_int_eq(report_link_ids(NULL, &t, &r), -1);
}
END_TEST

START_TEST(names_and_types)
{
	struct report rep = {0};
	struct arena a;

	arena_init(&a, 0);
	rep.id = 12;
	rep.type = "revenue";
	rep.format = "xlsx";
	rep.from = "2026-01-01";
	rep.to = "2026-03-31";
	ck_assert_str_eq(report_download_name(&a, &rep),
	                 "revenue-2026-01-01-2026-03-31-12.xlsx");
	ck_assert_str_eq(report_content_type("json"), "application/json");
	ck_assert_str_eq(report_content_type("csv"), "text/csv; charset=utf-8");
	ck_assert(strstr(report_content_type("xlsx"), "spreadsheetml"));
	arena_release(&a);
}
END_TEST

UNIT_MAIN("report", link_tokens, malformed_tokens, names_and_types)
