/*
 * The start-up rule of the data layer (no server needed): tenant
 * statements must bind tenant_id from the handle, global ones never.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "store/store.h"
#include "tests/unit/unit.h"

static int
check1(enum scope scope, const char *params, const char *sql, char *err,
       size_t n)
{
	const struct stmt_def t[] = {
	    {"s", scope, params, sql, NULL},
	    {NULL, 0, NULL, NULL, NULL},
	};

	return db_check_table(t, err, n);
}

START_TEST(good_statements_pass)
{
	char err[256];

	ck_assert_int_eq(check1(SCOPE_TENANT, "ti",
	                        "SELECT id FROM customers WHERE tenant_id = ? "
	                        "AND id = ?",
	                        err, sizeof(err)),
	                 0);
	ck_assert_int_eq(check1(SCOPE_TENANT, "tss",
	                        "INSERT INTO users (tenant_id, name, email) "
	                        "VALUES (?, ?, ?)",
	                        err, sizeof(err)),
	                 0);
	ck_assert_int_eq(check1(SCOPE_TENANT, "sit",
	                        "UPDATE users SET name = ? WHERE id = ? AND "
	                        "tenant_id=?",
	                        err, sizeof(err)),
	                 0);
	ck_assert_int_eq(check1(SCOPE_TENANT, "tit",
	                        "SELECT c.id FROM customers c JOIN plans p ON "
	                        "p.id = c.plan_id AND p.tenant_id = ? WHERE "
	                        "c.id = ? AND c.tenant_id = ?",
	                        err, sizeof(err)),
	                 0);
	ck_assert_int_eq(check1(SCOPE_GLOBAL, "s",
	                        "SELECT id FROM tenants WHERE slug = ?", err,
	                        sizeof(err)),
	                 0);
	/* The tenants table's own key counts as its tenant column. */
	ck_assert_int_eq(
	    check1(SCOPE_TENANT, "st",
	           "UPDATE tenants SET name = ? WHERE tenants.id = ?", err,
	           sizeof(err)),
	    0);
	ck_assert_int_eq(
	    check1(SCOPE_TENANT, "t",
	           "SELECT 1 FROM tenants x WHERE x.tenants.id = ?", err,
	           sizeof(err)),
	    -1);
	/* A '?' inside a string literal is not a placeholder. */
	ck_assert_int_eq(check1(SCOPE_TENANT, "t",
	                        "SELECT 'why?' FROM t WHERE tenant_id = ?", err,
	                        sizeof(err)),
	                 0);
}
END_TEST

START_TEST(forgetting_the_tenant_is_refused)
{
	char err[256];

	ck_assert_int_eq(check1(SCOPE_TENANT, "i",
	                        "SELECT id FROM customers WHERE id = ?", err,
	                        sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "does not filter on tenant_id"));
	/* tenant_id compared with a caller-supplied value. */
	ck_assert_int_eq(check1(SCOPE_TENANT, "ii",
	                        "SELECT id FROM customers WHERE tenant_id = ? "
	                        "AND id = ?",
	                        err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "not bound from the tenant"));
	/* The tenant id bound somewhere it filters nothing. */
	ck_assert_int_eq(check1(SCOPE_TENANT, "tt",
	                        "SELECT id FROM customers WHERE tenant_id = ? "
	                        "OR owner = ?",
	                        err, sizeof(err)),
	                 -1);
	/* An INSERT whose first column is not tenant_id. */
	ck_assert_int_eq(check1(SCOPE_TENANT, "st",
	                        "INSERT INTO users (name, tenant_id) VALUES "
	                        "(?, ?)",
	                        err, sizeof(err)),
	                 -1);
	/* A look-alike column. */
	ck_assert_int_eq(check1(SCOPE_TENANT, "t",
	                        "SELECT id FROM t WHERE old_tenant_id = ?", err,
	                        sizeof(err)),
	                 -1);
	/* Global statements may not take a tenant. */
	ck_assert_int_eq(check1(SCOPE_GLOBAL, "t",
	                        "SELECT id FROM t WHERE tenant_id = ?", err,
	                        sizeof(err)),
	                 -1);
	/* Placeholder count and params must agree. */
	ck_assert_int_eq(
	    check1(SCOPE_TENANT, "t",
	           "SELECT id FROM t WHERE tenant_id = ? AND id = ?", err,
	           sizeof(err)),
	    -1);
	ck_assert_int_eq(
	    check1(SCOPE_TENANT, "tx",
	           "SELECT id FROM t WHERE tenant_id = ? AND id = ?", err,
	           sizeof(err)),
	    -1);
}
END_TEST

START_TEST(registered_tables_pass)
{
	char err[256] = "";

	ck_assert_msg(db_check_statements(err, sizeof(err)) == 0, "%s", err);
}
END_TEST

START_TEST(datetime_format)
{
	char out[40];

	db_datetime_rfc3339("2026-11-27 10:15:00", out, sizeof(out));
	ck_assert_str_eq(out, "2026-11-27T10:15:00Z");
	db_datetime_rfc3339("2026-11-27 10:15:00.123456", out, sizeof(out));
	ck_assert_str_eq(out, "2026-11-27T10:15:00Z");
}
END_TEST

START_TEST(streamed_rows_match_cjson)
{
	static const char *names[] = {"id",   "name",  "price",   "active",
	                              "at",   "day",   "nothing", "doc",
	                              "hash", "skipme"};
	static enum db_coltype types[] = {
	    DBT_INT,  DBT_STRING, DBT_DECIMAL, DBT_BOOL,   DBT_DATETIME,
	    DBT_DATE, DBT_STRING, DBT_STRING,  DBT_BINARY, DBT_INT};
	static const char *const src[] = {
	    "42",
	    "Budi \"the\" \\ <b>\n\t\x01 caf\xc3\xa9",
	    "150000.50",
	    "1",
	    "2026-11-27 10:15:00",
	    "2026-11-27",
	    NULL,
	    "{\"a\":[1,2]}",
	    "\x00\xff",
	    "7"};
	char *cells[10];
	unsigned long lens[10];
	struct dbres res = {.nrows = 1,
	                    .ncols = 10,
	                    .names = names,
	                    .types = types,
	                    .cells = cells,
	                    .lens = lens};
	static const char *const json_cols[] = {"doc", NULL};
	static const char *const skip[] = {"skipme", NULL};
	struct buf b = BUF_INIT(0);
	cJSON *tree, *parsed;
	char *printed;

	/* dbres cells are mutable text; these literals are only read. */
	for (size_t i = 0; i < 10; i++) {
		cells[i] = (char *)(uintptr_t)src[i];
		lens[i] = src[i] ? strlen(src[i]) : 0;
	}
	dbres_write_json(&b, &res, 0, json_cols, skip);
	/* Raw numbers compare as text: go through a print and a parse. */
	tree = dbres_row_json(&res, 0, json_cols);
	cJSON_DeleteItemFromObject(tree, "skipme");
	printed = cJSON_PrintUnformatted(tree);
	cJSON_Delete(tree);
	tree = cJSON_Parse(printed);
	cJSON_free(printed);
	parsed = cJSON_Parse(b.s);
	ck_assert_msg(parsed != NULL, "not JSON: %s", b.s);
	ck_assert_msg(cJSON_Compare(tree, parsed, 1), "streamed %s", b.s);
	printed = cJSON_PrintUnformatted(parsed);
	ck_assert_ptr_null(strstr(printed, "hash"));
	ck_assert_ptr_nonnull(strstr(b.s, "\"active\":true"));
	ck_assert_ptr_nonnull(strstr(b.s, "\"at\":\"2026-11-27T10:15:00Z\""));
	ck_assert_ptr_nonnull(strstr(b.s, "\"price\":150000.50"));
	cJSON_free(printed);
	cJSON_Delete(parsed);
	cJSON_Delete(tree);
	buf_release(&b);
}
END_TEST

UNIT_MAIN("db", good_statements_pass, forgetting_the_tenant_is_refused,
          registered_tables_pass, datetime_format, streamed_rows_match_cjson)
