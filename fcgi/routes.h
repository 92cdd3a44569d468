/*
 * The handlers of every resource and the two route tables.  Each
 * fcgi/<res>.c exports <res>_*() handlers only.
 */
#ifndef RTRW_ROUTES_H
#define RTRW_ROUTES_H

#include "router.h"

/* Routes under /api/v1 and routes from the root (/health). */
extern const struct route routes_api[];
extern const struct route routes_root[];

/* fcgi/health.c */
int health_get(struct req *r);

#endif
