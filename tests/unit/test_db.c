/*
 * The start-up rules of the data layer (no server needed): the tenant
 * rule of lib/sqlcheck.c, named parameters and their input types, sort
 * whitelists, and the typed rows of lib/row.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "row.h"
#include "sqlcheck.h"
#include "store/registry.h"
#include "tests/unit/unit.h"

static const char *const globals[] = {"roles", "platform_admins", NULL};

/* The tenant rule alone: 0 accepted, -1 refused (reason in err). */
static int
rule(int tenant, const char *sql, char *err, size_t n)
{
	err[0] = '\0';
	return sqlcheck_tenant(sql, tenant, globals, err, n);
}

#define ACCEPT(sql)                                                            \
	ck_assert_msg(rule(1, sql, err, sizeof(err)) == 0, "%s: %s", sql, err)
#define REFUSE(sql)                                                            \
	ck_assert_msg(rule(1, sql, err, sizeof(err)) == -1, "accepted: %s", sql)

START_TEST(tenant_filters_pass)
{
	char err[256];

	ACCEPT("SELECT {COLS} FROM customers WHERE tenant_id = :tenant"
	       " AND id = :id");
	ACCEPT("SELECT c.id FROM customers c WHERE c.tenant_id = :tenant"
	       " AND c.id = :id FOR UPDATE");
	ACCEPT("SELECT id FROM customers WHERE tenant_id = :tenant"
	       " AND (:status IS NULL OR status = :status)");
	ACCEPT("SELECT id FROM customers WHERE id = :id AND"
	       " tenant_id = :tenant ORDER BY id LIMIT :limit");
	ACCEPT("SELECT id FROM customers WHERE x BETWEEN 1 AND 5"
	       " AND tenant_id = :tenant");
	ACCEPT("SELECT u.id FROM users u JOIN tenants t ON t.id = u.tenant_id"
	       " WHERE u.tenant_id = :tenant AND u.id = :id");
	ACCEPT("SELECT name FROM tenants WHERE tenants.id = :tenant");
	ACCEPT("UPDATE customers SET status = :status"
	       " WHERE tenant_id = :tenant AND id = :id");
	ACCEPT("DELETE FROM refresh_tokens WHERE tenant_id = :tenant"
	       " AND user_id = :id");
	/* Every block with its own filter, whatever the nesting. */
	ACCEPT("SELECT id FROM customers WHERE tenant_id = :tenant"
	       " UNION SELECT id FROM customers WHERE tenant_id = :tenant");
	ACCEPT("SELECT id, (SELECT COUNT(*) FROM payments p"
	       " WHERE p.tenant_id = :tenant AND p.customer_id = c.id) AS n"
	       " FROM customers c WHERE c.tenant_id = :tenant");
	ACCEPT("SELECT {COLS} FROM (SELECT id AS match_id FROM customers"
	       " WHERE tenant_id = :tenant AND code LIKE :like ESCAPE '!'"
	       " UNION SELECT id FROM customers WHERE tenant_id = :tenant"
	       " AND phone LIKE :like) m STRAIGHT_JOIN customers"
	       " ON id = m.match_id WHERE tenant_id = :tenant");
	/* A global table's block needs no filter. */
	ACCEPT("SELECT id FROM users WHERE tenant_id = :tenant AND role IN"
	       " (SELECT name FROM roles)");
	/* INSERT forms. */
	ACCEPT("INSERT INTO customers (tenant_id, name) VALUES (:tenant,"
	       " :name)");
	ACCEPT("INSERT INTO events (tenant_id, a) VALUES (:tenant, 1),"
	       " (:tenant, 2)");
	ACCEPT("INSERT INTO audit_chain (tenant_id) VALUES (:tenant)"
	       " ON DUPLICATE KEY UPDATE last_id = VALUES(last_id)");
	ACCEPT("INSERT INTO payments (tenant_id, customer_id) SELECT"
	       " c.tenant_id, c.id FROM customers c WHERE c.tenant_id ="
	       " :tenant AND c.status = 'active'");
	/* ':' and '?' inside strings are text. */
	ACCEPT("SELECT DATE_FORMAT(created_at, '%H:%i?') AS at FROM t"
	       " WHERE tenant_id = :tenant");
	/* Global statements read across tenants. */
	ck_assert_int_eq(
	    rule(0, "SELECT id, tenant_id FROM customers", err, sizeof(err)),
	    0);
}
END_TEST

START_TEST(tenant_bypasses_are_refused)
{
	char err[256];

	/* No filter at all, or a look-alike column. */
	REFUSE("SELECT id FROM customers WHERE id = :id");
	REFUSE("SELECT id FROM t WHERE old_tenant_id = :tenant");
	/* A top-level OR beside the filter, in any position. */
	REFUSE("SELECT id FROM customers WHERE tenant_id = :tenant OR 1 = 1");
	REFUSE("SELECT id FROM customers WHERE id = :id OR"
	       " tenant_id = :tenant");
	REFUSE("SELECT id FROM customers WHERE tenant_id = :tenant AND a = 1"
	       " OR b = 2");
	REFUSE("SELECT id FROM customers WHERE tenant_id = :tenant XOR 1");
	REFUSE("SELECT id FROM customers WHERE (tenant_id = :tenant OR 1)");
	ck_assert_int_eq(rule(1,
	                      "SELECT id FROM customers WHERE tenant_id = "
	                      ":tenant || 1",
	                      err, sizeof(err)),
	                 -1);
	/* A UNION branch or a subquery over a tenant table without one. */
	REFUSE("SELECT id FROM customers WHERE tenant_id = :tenant UNION"
	       " SELECT id FROM customers WHERE id = :id");
	REFUSE("SELECT id, (SELECT COUNT(*) FROM payments p"
	       " WHERE p.customer_id = c.id) AS n FROM customers c"
	       " WHERE c.tenant_id = :tenant");
	REFUSE("SELECT {COLS} FROM (SELECT id AS match_id FROM customers"
	       " WHERE code LIKE :like) m STRAIGHT_JOIN customers"
	       " ON id = m.match_id WHERE tenant_id = :tenant");
	ck_assert_ptr_nonnull(strstr(err, "customers"));
	/* The filter where it filters nothing: ON, SELECT list, SET. */
	REFUSE("SELECT a.id FROM customers a LEFT JOIN plans p"
	       " ON p.tenant_id = :tenant AND p.id = a.plan");
	REFUSE("SELECT tenant_id = :tenant AS x FROM customers");
	REFUSE("UPDATE customers SET tenant_id = :tenant WHERE id = :id");
	/* Operators that would turn the filter into something else. */
	REFUSE("SELECT id FROM customers WHERE NOT tenant_id = :tenant");
	REFUSE("SELECT id FROM customers WHERE x BETWEEN 1 AND"
	       " tenant_id = :tenant");
	REFUSE("SELECT id FROM customers WHERE tenant_id = :tenant IS NULL");
	/* Another parameter as the tenant. */
	REFUSE("SELECT id FROM customers WHERE tenant_id = :other");
	ck_assert_ptr_nonnull(strstr(err, "another parameter"));
	/* INSERTs that do not put the tenant first. */
	REFUSE("INSERT INTO customers (name, tenant_id) VALUES (:name,"
	       " :tenant)");
	REFUSE("INSERT INTO customers (tenant_id, name) VALUES (:name,"
	       " :tenant)");
	REFUSE("INSERT INTO events (tenant_id, a) VALUES (:tenant, 1),"
	       " (7, 2)");
	REFUSE("INSERT INTO payments (tenant_id, customer_id) SELECT 7, c.id"
	       " FROM customers c WHERE c.tenant_id = :tenant");
	/* Shapes the rule cannot read are refused, not guessed. */
	REFUSE("SELECT id FROM customers WHERE tenant_id = :tenant -- x");
	REFUSE("SELECT id FROM customers WHERE tenant_id = ?");
	REFUSE("SELECT id FROM customers a, payments b"
	       " WHERE a.tenant_id = :tenant");
	REFUSE("SELECT 1 FROM roles");
	/* A global statement may not take a tenant. */
	ck_assert_int_eq(rule(0,
	                      "SELECT id FROM customers WHERE tenant_id = "
	                      ":tenant",
	                      err, sizeof(err)),
	                 -1);
}
END_TEST

/* A row type for the tests below. */
struct thing {
	int64_t id, uplink;
	const char *name, *price, *at, *day, *doc, *secret;
	int active, maybe;
	struct bytes hash;
};
static const struct col thing_cols[] = {
    COL_INT(struct thing, id, 0),
    COL_INT(struct thing, uplink, COL_F_NULL),
    COL_STR(struct thing, name, 0),
    COL_DEC(struct thing, price, 0),
    COL_TIME(struct thing, at, 0),
    COL_DATE(struct thing, day, COL_F_NULL),
    COL_JSON(struct thing, doc, 0),
    COL_STR(struct thing, secret, COL_F_HIDDEN),
    COL_BOOL(struct thing, active, 0),
    COL_BOOL(struct thing, maybe, COL_F_NULL),
    COL_BYTES(struct thing, hash, 0),
    COL_END,
};
static const struct rowtype thing_row =
    ROWTYPE(struct thing, "thing", thing_cols);

/* One statement checked alone. */
static int
check1(enum scope scope, const char *sql, const struct sort_def *sorts,
       char *err, size_t n)
{
	const struct stmt_def t[] = {
	    {"s", scope, sql, &thing_row, &thing_row, sorts},
	    {NULL, 0, NULL, NULL, NULL, NULL},
	};

	err[0] = '\0';
	return db_check_table(t, globals, err, n);
}

START_TEST(parameters_and_sorts)
{
	static const struct sort_def good[] = {
	    {"-id", "ix_things_id|id DESC"},
	    {"priority", "FIELD(name, 'a', 'b'), id"},
	    {NULL, NULL}};
	static const struct sort_def param[] = {{"x", "id, :id"}, {NULL, NULL}};
	static const struct sort_def sub[] = {{"x", "(SELECT 1); DROP"},
	                                      {NULL, NULL}};
	char err[256];

	ck_assert_msg(check1(SCOPE_TENANT,
	                     "SELECT {COLS} FROM things{INDEX} WHERE "
	                     "tenant_id = :tenant AND name = :name ORDER BY "
	                     "{ORDER} LIMIT :limit OFFSET :offset",
	                     good, err, sizeof(err)) == 0,
	              "%s", err);
	/* A parameter that is no member of the input type. */
	ck_assert_int_eq(check1(SCOPE_TENANT,
	                        "SELECT id FROM things WHERE tenant_id = "
	                        ":tenant AND colour = :colour",
	                        NULL, err, sizeof(err)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, ":colour"));
	/* {ORDER} and the whitelist go together. */
	ck_assert_int_eq(check1(SCOPE_TENANT,
	                        "SELECT id FROM things WHERE tenant_id = "
	                        ":tenant ORDER BY {ORDER}",
	                        NULL, err, sizeof(err)),
	                 -1);
	ck_assert_int_eq(check1(SCOPE_TENANT,
	                        "SELECT id FROM things WHERE tenant_id = "
	                        ":tenant",
	                        good, err, sizeof(err)),
	                 -1);
	/* A sort clause holds column names, nothing else. */
	ck_assert_int_eq(check1(SCOPE_TENANT,
	                        "SELECT id FROM things WHERE tenant_id = "
	                        ":tenant ORDER BY {ORDER}",
	                        param, err, sizeof(err)),
	                 -1);
	ck_assert_int_eq(check1(SCOPE_TENANT,
	                        "SELECT id FROM things WHERE tenant_id = "
	                        ":tenant ORDER BY {ORDER}",
	                        sub, err, sizeof(err)),
	                 -1);
	/* An unknown marker. */
	ck_assert_int_eq(check1(SCOPE_TENANT,
	                        "SELECT {ALL} FROM things WHERE tenant_id = "
	                        ":tenant",
	                        NULL, err, sizeof(err)),
	                 -1);
}
END_TEST

START_TEST(registered_tables_pass)
{
	char err[256] = "";

	ck_assert_msg(store_register(err, sizeof(err)) == 0, "%s", err);
	/* Only once per process. */
	ck_assert_int_eq(store_register(err, sizeof(err)), -1);
}
END_TEST

START_TEST(time_format)
{
	char out[40];

	row_time_rfc3339("2026-11-27 10:15:00", out, sizeof(out));
	ck_assert_str_eq(out, "2026-11-27T10:15:00Z");
	row_time_rfc3339("2026-11-27 10:15:00.123456", out, sizeof(out));
	ck_assert_str_eq(out, "2026-11-27T10:15:00Z");
}
END_TEST

START_TEST(row_json_is_exact_and_typed)
{
	struct thing t = {
	    .id = 9007199254740993, /* 2^53 + 1: not a double */
	    .uplink = 0,
	    .name = "Budi \"the\" \\ <b>\n\t\x01 caf\xc3\xa9",
	    .price = "150000.50",
	    .at = "2026-11-27 10:15:00",
	    .day = NULL,
	    .doc = "{\"a\":[1,2]}",
	    .secret = "hunter2",
	    .active = 1,
	    .maybe = -1,
	    .hash = {(const unsigned char *)"\x00\xff", 2},
	};
	struct buf b = BUF_INIT(0);
	cJSON *tree, *parsed;
	char *printed;

	row_write_json(&b, &thing_row, &t);
	ck_assert_ptr_nonnull(strstr(b.s, "\"id\":9007199254740993"));
	ck_assert_ptr_nonnull(strstr(b.s, "\"uplink\":null"));
	ck_assert_ptr_nonnull(strstr(b.s, "\"price\":150000.50"));
	ck_assert_ptr_nonnull(strstr(b.s, "\"at\":\"2026-11-27T10:15:00Z\""));
	ck_assert_ptr_nonnull(strstr(b.s, "\"day\":null"));
	ck_assert_ptr_nonnull(strstr(b.s, "\"doc\":{\"a\":[1,2]}"));
	ck_assert_ptr_nonnull(strstr(b.s, "\"active\":true"));
	ck_assert_ptr_nonnull(strstr(b.s, "\"maybe\":null"));
	/* Hidden and byte columns never reach JSON. */
	ck_assert_ptr_null(strstr(b.s, "secret"));
	ck_assert_ptr_null(strstr(b.s, "hunter2"));
	ck_assert_ptr_null(strstr(b.s, "hash"));
	/* The cJSON form says the same. */
	tree = row_json(&thing_row, &t);
	printed = cJSON_PrintUnformatted(tree);
	ck_assert_ptr_nonnull(strstr(printed, "9007199254740993"));
	ck_assert_ptr_nonnull(strstr(printed, "150000.50"));
	parsed = cJSON_Parse(b.s);
	ck_assert_msg(parsed != NULL, "not JSON: %s", b.s);
	cJSON_Delete(tree);
	tree = cJSON_Parse(printed);
	ck_assert_msg(cJSON_Compare(tree, parsed, 1), "%s vs %s", printed, b.s);
	cJSON_free(printed);
	cJSON_Delete(parsed);
	cJSON_Delete(tree);
	buf_release(&b);
}
END_TEST

START_TEST(row_dup_outlives_its_source)
{
	char name[] = "Siti", doc[] = "[1]";
	struct thing t = {.id = 5,
	                  .name = name,
	                  .doc = doc,
	                  .price = "1.00",
	                  .at = "2026-01-01 00:00:00"};
	struct thing *copy;

	t.hash.p = (const unsigned char *)"ab";
	t.hash.n = 2;
	copy = row_dup_heap(&thing_row, &t);
	memset(name, 'x', sizeof(name) - 1);
	memset(doc, 'x', sizeof(doc) - 1);
	ck_assert_str_eq(copy->name, "Siti");
	ck_assert_str_eq(copy->doc, "[1]");
	ck_assert_ptr_null(copy->day);
	ck_assert_int_eq(copy->id, 5);
	ck_assert_int_eq((int)copy->hash.n, 2);
	ck_assert_int_eq(memcmp(copy->hash.p, "ab", 2), 0);
	free(copy);
}
END_TEST

UNIT_MAIN("db", tenant_filters_pass, tenant_bypasses_are_refused,
          parameters_and_sorts, registered_tables_pass, time_format,
          row_json_is_exact_and_typed, row_dup_outlives_its_source)
