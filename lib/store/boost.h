/*
 * Speed boosts (API.md "Speed boosts").  This module holds what the
 * provisioning daemon needs of them: the plan a customer runs at right
 * now.  The boost resource itself (requests, approval, expiry) adds its
 * statements here.
 */
#ifndef RTRW_STORE_BOOST_H
#define RTRW_STORE_BOOST_H

#include <stdint.h>

#include "tdb.h"

/*
 * The plan customer_id runs at now: the boost plan of its fastest active,
 * unexpired boost (by speed_download, then the earliest boost), or the
 * customer's own plan when it has none.  1 with *plan_id, 0 when the
 * customer does not exist (or is deleted), -1 on error.
 */
int store_boost_effective_plan(struct tdb *t, int64_t customer_id,
                               int64_t *plan_id);

#endif
