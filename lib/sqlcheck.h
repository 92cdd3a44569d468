/*
 * The tenant rule over a statement's SQL text (see lib/db.h for what it
 * guarantees): a small tokenizer that knows quotes, parentheses, query
 * blocks (UNION branches and parenthesised subqueries), the clauses of a
 * block and where a tenant filter stands.  It is not a SQL parser: it
 * accepts the shapes the stores use and refuses what it cannot place,
 * which is the safe side.
 *
 * Layer: data (lib/db.c runs it for every registered statement).
 */
#ifndef RTRW_SQLCHECK_H
#define RTRW_SQLCHECK_H

#include <stddef.h>

/*
 * Checks sql of a tenant statement (tenant != 0) or a global one.
 * global_tables (NULL-terminated, may be NULL) names the tables that
 * carry no tenant_id; "tenants" and "dual" are always global.  0, or -1
 * with a sentence in err.
 */
int sqlcheck_tenant(const char *sql, int tenant,
                    const char *const *global_tables, char *err, size_t errlen);

#endif
