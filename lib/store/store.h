/*
 * The typed, tenant-scoped data access of each resource.  Every module
 * lib/store/<res>.c keeps its SQL in a table of struct stmt_def and lists
 * it in lib/store/registry.c, so that the start-up check sees all of it.
 */
#ifndef RTRW_STORE_H
#define RTRW_STORE_H

#include "db.h"

/* Every statement table, NULL-terminated (lib/store/registry.c). */
extern const struct stmt_def *const store_tables[];

/* lib/store/health.c: the global statements of GET /health. */
extern const struct stmt_def store_health_stmts[];

#endif
