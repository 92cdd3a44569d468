#include "events.h"

#include <stdlib.h>

/* clang-format off */
const struct stmt_def store_event_stmts[] = {
	STMT("event_emit", SCOPE_TENANT, "tssis",
	     "INSERT INTO events (tenant_id, name, entity_type, entity_id, data)"
	     " VALUES (?, ?, ?, NULLIF(?, 0), ?)"),
	STMT_END
};
/* clang-format on */

int
event_emit(struct tdb *t, const char *name, const char *entity_type,
           int64_t entity_id, const cJSON *data)
{
	char *text = data ? cJSON_PrintUnformatted(data) : NULL;
	int rc;

	rc = tdb_query(
	    t, &store_event_stmts[0],
	    DB_ARGS(DBS(name), DBS(entity_type), DBI(entity_id), DBS(text)),
	    NULL);
	free(text);
	return rc;
}
