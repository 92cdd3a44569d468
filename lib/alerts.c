#include "alerts.h"

#include <stdlib.h>

#include "db.h"
#include "store/store.h"

int
alert_raise(struct tdb *t, const char *type, const char *subject_type,
            const char *subject_id, const char *message, const cJSON *details)
{
	char *text = details ? cJSON_PrintUnformatted(details) : NULL;
	struct dbres res;
	int rc;

	rc = tdb_query(t, &store_alert_stmts[ALERT_RAISE],
	               DB_ARGS(DBS(type), DBS(subject_type), DBS(subject_id),
	                       DBS(message), DBS(text)),
	               &res);
	free(text);
	if (rc < 0)
		return -1;
	/* 1 for an insert; 2 when the open alert's counter went up. */
	return res.affected == 1 ? 1 : 0;
}
