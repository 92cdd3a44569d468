/*
 * Per-tenant seed data (default service plans, email templates, ...):
 * every function listed in lib/seed.c runs inside the transaction that
 * creates a tenant.  Later features add theirs to that list.
 */
#ifndef RTRW_SEED_H
#define RTRW_SEED_H

struct tdb;

/* Runs every seed function for the handle's tenant; 0 or -1. */
int seed_tenant(struct tdb *t);

#endif
