#include "store/store.h"

/* clang-format off */
const struct stmt_def store_health_stmts[] = {
	STMT("health_ping", SCOPE_GLOBAL, "", "SELECT 1"),
	STMT_END
};
/* clang-format on */
