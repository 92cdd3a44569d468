#include "notify.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

/* clang-format off */
const struct stmt_def store_notify_stmts[] = {
	STMT("notify_queue", SCOPE_TENANT, "tsisss",
	     "INSERT IGNORE INTO notifications (tenant_id, template_key,"
	     " recipient_user_id, recipient_email, payload, dedupe_key)"
	     " VALUES (?, ?, NULLIF(?, 0), ?, ?, ?)"),
	STMT("notify_admins", SCOPE_TENANT, "ssst",
	     "INSERT IGNORE INTO notifications (tenant_id, template_key,"
	     " recipient_user_id, payload, dedupe_key)"
	     " SELECT tenant_id, ?, id, ?, CONCAT(?, ':', id) FROM users"
	     " WHERE tenant_id = ? AND role = 'admin' AND active = 1"),
	STMT("notify_admins_nodedupe", SCOPE_TENANT, "sst",
	     "INSERT INTO notifications (tenant_id, template_key,"
	     " recipient_user_id, payload)"
	     " SELECT tenant_id, ?, id, ? FROM users"
	     " WHERE tenant_id = ? AND role = 'admin' AND active = 1"),
	STMT_END
};
/* clang-format on */

int
notify_queue(struct tdb *t, const char *template_key, int64_t user_id,
             const char *email, const cJSON *payload, const char *dedupe_key)
{
	char *text = payload ? cJSON_PrintUnformatted(payload) : NULL;
	struct dbres res;
	int rc;

	rc = tdb_query(t, &store_notify_stmts[0],
	               DB_ARGS(DBS(template_key), DBI(user_id), DBS(email),
	                       DBS(text), DBS(dedupe_key)),
	               &res);
	free(text);
	if (rc < 0)
		return -1;
	return res.affected == 1 ? 1 : 0;
}

int
notify_admins(struct tdb *t, const char *template_key, const cJSON *payload,
              const char *dedupe_key)
{
	char *text = payload ? cJSON_PrintUnformatted(payload) : NULL;
	int rc;

	if (dedupe_key)
		rc = tdb_query(
		    t, &store_notify_stmts[1],
		    DB_ARGS(DBS(template_key), DBS(text), DBS(dedupe_key)),
		    NULL);
	else
		rc = tdb_query(t, &store_notify_stmts[2],
		               DB_ARGS(DBS(template_key), DBS(text)), NULL);
	free(text);
	return rc;
}

int
notify_platform_admins(struct db *db, struct arena *a, const char *template_key,
                       const cJSON *payload, const char *dedupe_key)
{
	char *text = payload ? cJSON_PrintUnformatted(payload) : NULL;
	struct dbres res;
	int rc;

	if (dedupe_key)
		rc = db_query(
		    db, a, &store_mail_platform_stmts[MAIL_P_QUEUE_ADMINS],
		    DB_ARGS(DBS(template_key), DBS(text), DBS(dedupe_key)),
		    &res);
	else
		rc = db_query(
		    db, a,
		    &store_mail_platform_stmts[MAIL_P_QUEUE_ADMINS_NODEDUPE],
		    DB_ARGS(DBS(template_key), DBS(text)), &res);
	free(text);
	return rc < 0 ? -1 : (int)res.affected;
}
