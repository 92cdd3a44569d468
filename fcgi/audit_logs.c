/*
 * Reading the audit log (admins).  There is no way to change or delete
 * an entry: those methods answer 405, and the database refuses them too.
 */
#include "routes.h"

#include "db.h"
#include "json.h"
#include "store/store.h"

static const char *const json_cols[] = {"old_values", "new_values", NULL};
static const char *const audit_sorts[] = {"-id", "id", NULL};

int
audit_logs_list(struct req *r)
{
	const struct stmt_def *A = store_audit_stmts;
	int64_t page, per_page, user_id, entity_id;
	const char *from, *to, *action, *entity;
	struct dbres rows, count;
	size_t sort;

	if (req_page(r, &page, &per_page) < 0 ||
	    req_sort(r, audit_sorts, &sort) < 0 ||
	    req_param_id(r, "user_id", &user_id) < 0 ||
	    req_param_id(r, "entity_id", &entity_id) < 0 ||
	    req_param_date(r, "from", &from) < 0 ||
	    req_param_date(r, "to", &to) < 0)
		return -1;
	action = req_param(r, "action");
	entity = req_param(r, "entity_type");
	{
		struct dbv f[] = {
		    user_id ? DBI(user_id) : DBNULL('i'),
		    user_id ? DBI(user_id) : DBNULL('i'),
		    DBS(action),
		    DBS(action),
		    DBS(entity),
		    DBS(entity),
		    entity_id ? DBI(entity_id) : DBNULL('i'),
		    entity_id ? DBI(entity_id) : DBNULL('i'),
		    DBS(from),
		    DBS(from),
		    /* "to" is inclusive: the SQL adds a day. */
		    DBS(to),
		    DBS(to),
		    DBI(per_page),
		    DBI((page - 1) * per_page),
		};

		if (tdb_query_order(r->tdb, &A[AUDIT_LIST], sort, f, 14,
		                    &rows) < 0 ||
		    tdb_query(r->tdb, &A[AUDIT_COUNT], f, 12, &count) < 0)
			return -1;
	}
	return req_list_rows(r, &rows, json_cols, NULL, page, per_page,
	                     dbres_int(&count, 0, 0));
}

int
audit_logs_get(struct req *r)
{
	return req_get_one(r, &store_audit_stmts[AUDIT_GET], json_cols,
	                   "audit entry not found");
}
