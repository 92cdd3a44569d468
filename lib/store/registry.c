#include "store/store.h"

#include <stddef.h>

/* Every statement table; db_check_statements() walks this list. */
const struct stmt_def *const store_tables[] = {
    store_health_stmts,
    NULL,
};
