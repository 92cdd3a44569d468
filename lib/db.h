/*
 * The data layer: one MariaDB connection per process, prepared statements
 * only, named parameters bound from typed structs, result columns read by
 * name into typed structs (lib/row.h), and a tenant-scoped handle (struct
 * tdb, lib/tdb.h) through which every tenant statement runs.
 *
 * Only lib/store/ includes this header (tools/layers.sh checks it): the
 * store modules keep their SQL in tables of struct stmt_def and wrap each
 * operation in a typed store_<res>_<verb>() function.
 *
 * A statement:
 *
 *	static const struct stmt_def plan_get = {
 *		"plan_get", SCOPE_TENANT,
 *		"SELECT {COLS} FROM service_plans"
 *		" WHERE tenant_id = :tenant AND id = :id",
 *		&db_id_in, &plan_row, NULL,
 *	};
 *
 * - Parameters are :name, bound from the member called name of the
 *   struct described by `in` (one member may appear several times; it is
 *   bound once by the caller).  Three names are reserved: :tenant (the
 *   handle's tenant id, never the caller's), :limit and :offset (the page
 *   of tdb_list()).  A '?' in the SQL is refused.
 * - {COLS} becomes the comma-separated names of `out`'s columns.  Whether
 *   written out or not, the result's column names must be exactly the
 *   names of `out`'s columns, with compatible types; db_prepare_all()
 *   checks it against the server's metadata at start-up and a mismatch
 *   makes the program refuse to start.
 * - Sort orders: `sorts` is a whitelist of {key, clause} pairs; the SQL
 *   holds {ORDER} (and optionally {INDEX}), and each clause becomes its
 *   own prepared statement, chosen by index.  A clause "ix_name|id DESC"
 *   also names the index that serves it: {INDEX} becomes
 *   "FORCE INDEX (ix_name)".  Request text never reaches SQL.
 *
 * The tenant rule, checked for every registered statement when the
 * program starts (db_register() refuses to continue otherwise):
 * - a SCOPE_TENANT statement binds :tenant only in a tenant filter, and
 *   has one: "tenant_id = :tenant" (the column may be alias-qualified;
 *   "tenants.id = :tenant" for the tenants table itself) as a conjunct
 *   of a WHERE clause, that is, after WHERE or AND with no OR (and no
 *   XOR, ||) at the same parenthesis level of that WHERE clause; or, for
 *   an INSERT ... VALUES, a column list that starts with tenant_id and
 *   values that start with :tenant.  A filter inside a JOIN's ON clause
 *   does not count (a LEFT JOIN's ON filters nothing of the other side).
 * - every query block (the statement, each UNION branch, each
 *   parenthesised subquery) that names a tenant table after FROM, JOIN,
 *   UPDATE or INTO has its own such WHERE filter; a block over global
 *   tables only needs none.  Tables are tenant tables unless listed as
 *   global at registration (tenants, roles, platform_admins...).
 * - "tenant_id = :x" for any other parameter is refused, as is :tenant
 *   in a SCOPE_GLOBAL statement; comments are refused (they would hide
 *   text from the reader of the rule).
 * So a tenant statement cannot read or change rows of another tenant
 * through a missing filter, an OR beside the filter, or a UNION or
 * subquery branch without one.  What the rule does not see: values
 * computed from a correlated subquery's outer columns in a SELECT list
 * (each block that reads a tenant table is filtered anyway), and tables
 * reached only through a view or a stored function (the schema has none;
 * keep it so).
 *
 * Every result value arrives as text and is converted by the column's
 * type; strings and bytes live in the caller's arena.
 */
#ifndef RTRW_DB_H
#define RTRW_DB_H

#include <stddef.h>
#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct arena;
struct config;

/*
 * SCOPE_MAINT statements are global statements only the maintenance
 * account may run (deleting archived audit rows); the API never prepares
 * them.
 */
enum scope { SCOPE_TENANT, SCOPE_GLOBAL, SCOPE_MAINT };

/* One whitelisted sort: the request's key and its ORDER BY clause. */
struct sort_def {
	const char *key;    /* "-created_at" */
	const char *clause; /* "[ix_name|]created_at DESC, id DESC" */
};

struct stmt_def {
	const char *name; /* for logs: "tenant_by_slug" */
	enum scope scope;
	const char *sql;
	const struct rowtype *in;     /* parameters; NULL: only reserved ones */
	const struct rowtype *out;    /* result columns; NULL: no result set */
	const struct sort_def *sorts; /* NULL-key terminated, or NULL */
};

/* The parameters of "... AND id = :id": a struct db_id. */
struct db_id {
	int64_t id;
};
extern const struct rowtype db_id_in;

/* A single count: "SELECT COUNT(*) AS n ...". */
struct db_count {
	int64_t n;
};
extern const struct rowtype db_count_row;

/*
 * Registers every statement table of the program (NULL-terminated list of
 * tables, each closed by an entry with a NULL name) and the names of the
 * global tables (NULL-terminated), compiles the named parameters, and
 * checks the tenant rule.  Must be called once, before db_open().  0, or
 * -1 with err naming the statement and the broken rule.
 */
int db_register(const struct stmt_def *const *tables,
                const char *const *global_tables, char *err, size_t errlen);

/*
 * Checks one table against the rules above without registering it (unit
 * tests).  global_tables may be NULL (then only "tenants" is global).
 */
int db_check_table(const struct stmt_def *defs,
                   const char *const *global_tables, char *err, size_t errlen);

/*
 * Runs a SCOPE_GLOBAL (or, on the maintenance account, SCOPE_MAINT)
 * statement with parameters from *in (NULL when it has none).  out may be
 * NULL when nothing of the result is wanted; rows go into a.  0 or -1
 * (see db_last_error()).
 */
int db_exec(struct db *db, struct arena *a, const struct stmt_def *def,
            const void *in, struct rows *out);

/* db_exec() of the sort-th clause of def->sorts with a page. */
int db_list(struct db *db, struct arena *a, const struct stmt_def *def,
            size_t sort, int64_t limit, int64_t offset, const void *in,
            struct rows *out);

/* One row into *row: 1 found, 0 none, -1 error. */
int db_one(struct db *db, struct arena *a, const struct stmt_def *def,
           const void *in, void *row);

/* Runs a SCOPE_TENANT statement; :tenant gets the handle's tenant. */
int tdb_exec(struct tdb *t, const struct stmt_def *def, const void *in,
             struct rows *out);

/* tdb_exec() of the sort-th clause of def->sorts with a page. */
int tdb_list(struct tdb *t, const struct stmt_def *def, size_t sort,
             int64_t limit, int64_t offset, const void *in, struct rows *out);

/* One row into *row: 1 found, 0 none, -1 error. */
int tdb_one(struct tdb *t, const struct stmt_def *def, const void *in,
            void *row);

/*
 * Streams the rows of def one at a time into fn without keeping the
 * result (exports of 100,000 rows in bounded memory).  The row and its
 * strings are valid only during the call; fn returns 0 to go on, -1 to
 * stop (tdb_each() then returns -1).  No other statement may run on the
 * handle's connection while rows stream.
 */
int tdb_each(struct tdb *t, const struct stmt_def *def, const void *in,
             int (*fn)(void *ctx, const void *row), void *ctx);

/* The arena of the handle (store functions allocate results in it). */
struct arena *tdb_arena(const struct tdb *t);

/* The connection behind a handle (the stores of jobs and dispatch). */
struct db *tdb_db(const struct tdb *t);

/* Number of sort variants of def (1 when it has none). */
size_t db_stmt_variants(const struct stmt_def *def);

/*
 * The index of key in def->sorts, or -1 (sort keys of a request are
 * checked against this before a list runs).
 */
int db_sort_index(const struct stmt_def *def, const char *key);

#endif
