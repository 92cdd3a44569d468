/*
 * Every statement table of the program, for db_register() at start-up.
 * A new store module adds its table here and in lib/store/registry.c.
 */
#ifndef RTRW_STORE_REGISTRY_H
#define RTRW_STORE_REGISTRY_H

#include <stddef.h>

/*
 * Registers every store's statements and checks them against the tenant
 * rule (lib/db.h).  Call once, before db_open().  0, or -1 with err.
 */
int store_register(char *err, size_t errlen);

#endif
