/*
 * Per-tenant counters for human-readable numbers (customer codes, ticket
 * numbers).  The next value comes from one atomic upsert on the tenant's
 * counter row, inside the caller's transaction: concurrent creates queue
 * on that row and never collide, and a number is never handed out twice
 * (a rolled-back transaction gives its number back with it).
 */
#ifndef RTRW_COUNTER_H
#define RTRW_COUNTER_H

#include <stdint.h>

#include "db.h"

extern const struct stmt_def store_counter_stmts[];

/* Stores the next value of the named counter (1, 2, ...); 0 or -1. */
int counter_next(struct tdb *t, const char *name, int64_t *out);

#endif
