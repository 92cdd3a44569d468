#include "store/ticket.h"

#include <string.h>

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col ticket_cols[] = {
	COL_INT(struct ticket, id, 0),
	COL_STR(struct ticket, ticket_number, 0),
	COL_INT(struct ticket, customer_id, 0),
	COL_STR(struct ticket, title, 0),
	COL_STR(struct ticket, description, 0),
	COL_STR(struct ticket, priority, 0),
	COL_STR(struct ticket, status, 0),
	COL_INT(struct ticket, assigned_to, COL_F_NULL),
	COL_INT(struct ticket, created_by, COL_F_NULL),
	COL_TIME(struct ticket, resolved_at, COL_F_NULL),
	COL_TIME(struct ticket, closed_at, COL_F_NULL),
	COL_TIME(struct ticket, created_at, 0),
	COL_TIME(struct ticket, updated_at, 0),
	COL_END
};
const struct rowtype ticket_row = ROWTYPE(struct ticket, "ticket", ticket_cols);

static const struct col ticket_filter_cols[] = {
	COL_INT(struct ticket_filter, customer_id, COL_F_NULL),
	COL_INT(struct ticket_filter, assigned_to, COL_F_NULL),
	COL_STR(struct ticket_filter, status, COL_F_NULL),
	COL_STR(struct ticket_filter, priority, COL_F_NULL),
	COL_END
};
static const struct rowtype ticket_filter_in =
    ROWTYPE(struct ticket_filter, "ticket_filter", ticket_filter_cols);

static const struct col comment_cols[] = {
	COL_INT(struct ticket_comment, id, 0),
	COL_INT(struct ticket_comment, ticket_id, 0),
	COL_INT(struct ticket_comment, author_id, COL_F_NULL),
	COL_STR(struct ticket_comment, author_name, COL_F_NULL),
	COL_STR(struct ticket_comment, body, 0),
	COL_TIME(struct ticket_comment, created_at, 0),
	COL_END
};
const struct rowtype ticket_comment_row =
    ROWTYPE(struct ticket_comment, "ticket_comment", comment_cols);

static const struct col comment_filter_cols[] = {
	COL_INT(struct ticket_comment_filter, ticket_id, 0),
	COL_END
};
static const struct rowtype comment_filter_in = ROWTYPE(
    struct ticket_comment_filter, "ticket_comment_filter", comment_filter_cols);

static const struct col ticket_customer_cols[] = {
	COL_INT(struct ticket_customer, id, 0),
	COL_STR(struct ticket_customer, customer_code, 0),
	COL_STR(struct ticket_customer, name, 0),
	COL_END
};
static const struct rowtype ticket_customer_row =
    ROWTYPE(struct ticket_customer, "ticket_customer", ticket_customer_cols);

/* What the writing statements bind. */
struct ticket_in {
	int64_t id, customer_id, assigned_to, created_by, user_id;
	int set_assignee;
	const char *ticket_number, *title, *description, *priority, *status;
	const char *body;
};
static const struct col ticket_in_cols[] = {
	COL_INT(struct ticket_in, id, 0),
	COL_INT(struct ticket_in, customer_id, 0),
	COL_INT(struct ticket_in, assigned_to, COL_F_NULL),
	COL_INT(struct ticket_in, created_by, COL_F_NULL),
	COL_INT(struct ticket_in, user_id, COL_F_NULL),
	COL_BOOL(struct ticket_in, set_assignee, 0),
	COL_STR(struct ticket_in, ticket_number, 0),
	COL_STR(struct ticket_in, title, COL_F_NULL),
	COL_STR(struct ticket_in, description, COL_F_NULL),
	COL_STR(struct ticket_in, priority, COL_F_NULL),
	COL_STR(struct ticket_in, status, COL_F_NULL),
	COL_STR(struct ticket_in, body, 0),
	COL_END
};
static const struct rowtype ticket_in =
    ROWTYPE(struct ticket_in, "ticket_in", ticket_in_cols);

struct status_count {
	const char *status;
	int64_t n;
};
static const struct col status_count_cols[] = {
	COL_STR(struct status_count, status, 0),
	COL_INT(struct status_count, n, 0),
	COL_END
};
static const struct rowtype status_count_row =
    ROWTYPE(struct status_count, "status_count", status_count_cols);

static const struct sort_def ticket_sorts[] = {
	{ "-created_at", "created_at DESC, id DESC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ "-priority", "FIELD(priority, 'urgent', 'high', 'medium', 'low'), id DESC" },
	{ "priority", "FIELD(priority, 'low', 'medium', 'high', 'urgent'), id ASC" },
	{ "-updated_at", "updated_at DESC, id DESC" },
	{ "ticket_number", "ticket_number ASC" },
	{ NULL, NULL }
};

static const struct sort_def comment_sorts[] = {
	{ "created_at", "c.created_at ASC, c.id ASC" },
	{ NULL, NULL }
};

#define TICKET_FILTER " WHERE tenant_id = :tenant" \
	" AND (:customer_id IS NULL OR customer_id = :customer_id)" \
	" AND (:status IS NULL OR status = :status)" \
	" AND (:priority IS NULL OR priority = :priority)" \
	" AND (:assigned_to IS NULL OR assigned_to = :assigned_to)"

#define COMMENT_COLS \
	"c.id, c.ticket_id, c.user_id AS author_id, u.name AS author_name," \
	" c.body, c.created_at"

enum {
	S_GET, S_LOCK, S_LIST, S_COUNT, S_INSERT, S_UPDATE, S_CUSTOMER,
	S_ASSIGNEE, S_COMMENT_INSERT, S_COMMENT_GET, S_COMMENT_LIST,
	S_COMMENT_COUNT, S_COUNTS,
};

const struct stmt_def store_ticket_stmts[] = {
	[S_GET] = { "ticket_get", SCOPE_TENANT,
	     "SELECT {COLS} FROM tickets WHERE tenant_id = :tenant AND id = :id",
	     &db_id_in, &ticket_row, NULL },
	[S_LOCK] = { "ticket_lock", SCOPE_TENANT,
	     "SELECT {COLS} FROM tickets WHERE tenant_id = :tenant AND id = :id"
	     " FOR UPDATE", &db_id_in, &ticket_row, NULL },
	[S_LIST] = { "ticket_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM tickets" TICKET_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &ticket_filter_in, &ticket_row, ticket_sorts },
	[S_COUNT] = { "ticket_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM tickets" TICKET_FILTER,
	     &ticket_filter_in, &db_count_row, NULL },
	[S_INSERT] = { "ticket_insert", SCOPE_TENANT,
	     "INSERT INTO tickets (tenant_id, ticket_number, customer_id,"
	     " title, description, priority, assigned_to, created_by)"
	     " VALUES (:tenant, :ticket_number, :customer_id, :title,"
	     " :description, :priority, :assigned_to, :created_by)",
	     &ticket_in, NULL, NULL },
	/*
	 * NULL leaves a column as it is; assigned_to takes a flag first
	 * because NULL is also its "unassigned" value.  The timestamps
	 * follow the new status.
	 */
	[S_UPDATE] = { "ticket_update", SCOPE_TENANT,
	     "UPDATE tickets SET title = COALESCE(:title, title),"
	     " description = COALESCE(:description, description),"
	     " priority = COALESCE(:priority, priority),"
	     " assigned_to = IF(:set_assignee, :assigned_to, assigned_to),"
	     " status = COALESCE(:status, status),"
	     " resolved_at = IF(:status = 'resolved', UTC_TIMESTAMP(),"
	     " resolved_at),"
	     " closed_at = IF(:status = 'closed', UTC_TIMESTAMP(), closed_at)"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &ticket_in, NULL, NULL },
	[S_CUSTOMER] = { "ticket_customer", SCOPE_TENANT,
	     "SELECT id, customer_code, name FROM customers"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &db_id_in, &ticket_customer_row, NULL },
	[S_ASSIGNEE] = { "ticket_assignee_ok", SCOPE_TENANT,
	     "SELECT id FROM users"
	     " WHERE tenant_id = :tenant AND id = :id AND active = 1",
	     &db_id_in, &db_id_in, NULL },
	[S_COMMENT_INSERT] = { "ticket_comment_insert", SCOPE_TENANT,
	     "INSERT INTO ticket_comments (tenant_id, ticket_id, user_id, body)"
	     " VALUES (:tenant, :id, :user_id, :body)",
	     &ticket_in, NULL, NULL },
	[S_COMMENT_GET] = { "ticket_comment_get", SCOPE_TENANT,
	     "SELECT " COMMENT_COLS " FROM ticket_comments c"
	     " LEFT JOIN users u ON u.id = c.user_id"
	     " WHERE c.tenant_id = :tenant AND c.id = :id",
	     &db_id_in, &ticket_comment_row, NULL },
	[S_COMMENT_LIST] = { "ticket_comment_list", SCOPE_TENANT,
	     "SELECT " COMMENT_COLS " FROM ticket_comments c"
	     " LEFT JOIN users u ON u.id = c.user_id"
	     " WHERE c.tenant_id = :tenant AND c.ticket_id = :ticket_id"
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &comment_filter_in, &ticket_comment_row, comment_sorts },
	[S_COMMENT_COUNT] = { "ticket_comment_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM ticket_comments"
	     " WHERE tenant_id = :tenant AND ticket_id = :ticket_id",
	     &comment_filter_in, &db_count_row, NULL },
	[S_COUNTS] = { "ticket_counts", SCOPE_TENANT,
	     "SELECT status, COUNT(*) AS n FROM tickets"
	     " WHERE tenant_id = :tenant GROUP BY status",
	     NULL, &status_count_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_ticket_stmts;

const struct store_list store_ticket_list = {
    .row = &ticket_row,
    .filter_size = sizeof(struct ticket_filter),
    .sorts = ticket_sorts,
    .page = &store_ticket_stmts[S_LIST],
    .count = &store_ticket_stmts[S_COUNT],
};

const struct store_list store_ticket_comment_list = {
    .row = &ticket_comment_row,
    .filter_size = sizeof(struct ticket_comment_filter),
    .sorts = comment_sorts,
    .page = &store_ticket_stmts[S_COMMENT_LIST],
    .count = &store_ticket_stmts[S_COMMENT_COUNT],
};

int
store_ticket_get(struct tdb *t, int64_t id, struct ticket *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_ticket_lock(struct tdb *t, int64_t id, struct ticket *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_LOCK], &in, out);
}

int
store_ticket_insert(struct tdb *t, const struct ticket *tk, int64_t *id)
{
	struct ticket_in in = {.ticket_number = tk->ticket_number,
	                       .customer_id = tk->customer_id,
	                       .title = tk->title,
	                       .description = tk->description,
	                       .priority = tk->priority,
	                       .assigned_to = tk->assigned_to,
	                       .created_by = tk->created_by};
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_ticket_update(struct tdb *t, int64_t id, const struct ticket_change *c)
{
	struct ticket_in in = {.id = id,
	                       .title = c->title,
	                       .description = c->description,
	                       .priority = c->priority,
	                       .status = c->status,
	                       .set_assignee = c->set_assignee,
	                       .assigned_to = c->assigned_to};

	return tdb_exec(t, &S[S_UPDATE], &in, NULL);
}

int
store_ticket_customer(struct tdb *t, int64_t id, struct ticket_customer *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_CUSTOMER], &in, out);
}

int
store_ticket_assignee_ok(struct tdb *t, int64_t uid)
{
	struct db_id in = {uid}, out;

	return tdb_one(t, &S[S_ASSIGNEE], &in, &out);
}

int
store_ticket_comment_insert(struct tdb *t, int64_t ticket_id, int64_t user_id,
                            const char *body, int64_t *id)
{
	struct ticket_in in = {
	    .id = ticket_id, .user_id = user_id, .body = body};
	struct rows res;

	if (tdb_exec(t, &S[S_COMMENT_INSERT], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_ticket_comment_get(struct tdb *t, int64_t id, struct ticket_comment *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_COMMENT_GET], &in, out);
}

int
store_ticket_counts(struct tdb *t, struct ticket_counts *out)
{
	struct rows rs;

	memset(out, 0, sizeof(*out));
	if (tdb_exec(t, &S[S_COUNTS], NULL, &rs) < 0)
		return -1;
	for (size_t i = 0; i < rs.n; i++) {
		const struct status_count *c = rows_at(&rs, i);

		if (strcmp(c->status, "open") == 0)
			out->open = c->n;
		else if (strcmp(c->status, "in_progress") == 0)
			out->in_progress = c->n;
		else if (strcmp(c->status, "resolved") == 0)
			out->resolved = c->n;
		else if (strcmp(c->status, "closed") == 0)
			out->closed = c->n;
	}
	return 0;
}
