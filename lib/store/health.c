#include "store/store.h"

/* clang-format off */
const struct stmt_def store_health_stmts[] = {
	{ "health_ping", SCOPE_GLOBAL, "", "SELECT 1" },
	{ NULL, 0, NULL, NULL }
};
/* clang-format on */
