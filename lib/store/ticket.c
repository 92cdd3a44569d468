/*
 * Tickets and their comments.  Every optional list filter is a pair of
 * placeholders "(? IS NULL OR col = ?)", so that one prepared statement
 * serves every combination.
 */
#include "store/store.h"

#define TICKET_COLS                                                            \
	"id, ticket_number, customer_id, title, description, priority, "       \
	"status, assigned_to, created_by, resolved_at, closed_at, "            \
	"created_at, updated_at"
#define TICKET_FILTER                                                          \
	" WHERE tenant_id = ? AND (? IS NULL OR customer_id = ?)"              \
	" AND (? IS NULL OR status = ?) AND (? IS NULL OR priority = ?)"       \
	" AND (? IS NULL OR assigned_to = ?)"
#define COMMENT_COLS                                                           \
	"c.id, c.ticket_id, c.user_id AS author_id, u.name AS author_name, "   \
	"c.body, c.created_at"

/* The sorts of fcgi/tickets.c, in the same order. */
static const char *const ticket_orders[] = {
    "created_at DESC, id DESC",
    "created_at ASC, id ASC",
    "FIELD(priority, 'urgent', 'high', 'medium', 'low'), id DESC",
    "FIELD(priority, 'low', 'medium', 'high', 'urgent'), id ASC",
    "updated_at DESC, id DESC",
    "ticket_number ASC",
    NULL,
};

/* clang-format off */
const struct stmt_def store_ticket_stmts[] = {
	[TICKET_GET] = STMT("ticket_get", SCOPE_TENANT, "ti",
	     "SELECT " TICKET_COLS " FROM tickets"
	     " WHERE tenant_id = ? AND id = ?"),
	[TICKET_GET_LOCKED] = STMT("ticket_get_locked", SCOPE_TENANT, "ti",
	     "SELECT " TICKET_COLS " FROM tickets"
	     " WHERE tenant_id = ? AND id = ? FOR UPDATE"),
	[TICKET_LIST] = STMT_ORDERED("ticket_list", SCOPE_TENANT, "tiissssiiii",
	     "SELECT " TICKET_COLS " FROM tickets" TICKET_FILTER
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", ticket_orders),
	[TICKET_COUNT] = STMT("ticket_count", SCOPE_TENANT, "tiissssii",
	     "SELECT COUNT(*) FROM tickets" TICKET_FILTER),
	[TICKET_INSERT] = STMT("ticket_insert", SCOPE_TENANT, "tsisssii",
	     "INSERT INTO tickets (tenant_id, ticket_number, customer_id,"
	     " title, description, priority, assigned_to, created_by)"
	     " VALUES (?, ?, ?, ?, ?, ?, NULLIF(?, 0), NULLIF(?, 0))"),
	/*
	 * NULL leaves a column as it is; assigned_to takes a flag first
	 * because NULL is also its "unassigned" value.  The timestamps
	 * follow the new status.
	 */
	[TICKET_UPDATE] = STMT("ticket_update", SCOPE_TENANT, "sssiisssti",
	     "UPDATE tickets SET title = COALESCE(?, title),"
	     " description = COALESCE(?, description),"
	     " priority = COALESCE(?, priority),"
	     " assigned_to = IF(?, ?, assigned_to),"
	     " status = COALESCE(?, status),"
	     " resolved_at = IF(? = 'resolved', UTC_TIMESTAMP(), resolved_at),"
	     " closed_at = IF(? = 'closed', UTC_TIMESTAMP(), closed_at)"
	     " WHERE tenant_id = ? AND id = ?"),
	[TICKET_CUSTOMER_OK] = STMT("ticket_customer_ok", SCOPE_TENANT, "ti",
	     "SELECT id, customer_code, name FROM customers"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[TICKET_ASSIGNEE_OK] = STMT("ticket_assignee_ok", SCOPE_TENANT, "ti",
	     "SELECT id, name, email, role FROM users"
	     " WHERE tenant_id = ? AND id = ? AND active = 1"),
	[TICKET_COMMENT_INSERT] = STMT("ticket_comment_insert", SCOPE_TENANT,
	     "tiis",
	     "INSERT INTO ticket_comments (tenant_id, ticket_id, user_id, body)"
	     " VALUES (?, ?, NULLIF(?, 0), ?)"),
	[TICKET_COMMENT_GET] = STMT("ticket_comment_get", SCOPE_TENANT, "ti",
	     "SELECT " COMMENT_COLS " FROM ticket_comments c"
	     " LEFT JOIN users u ON u.id = c.user_id"
	     " WHERE c.tenant_id = ? AND c.id = ?"),
	[TICKET_COMMENT_LIST] = STMT("ticket_comment_list", SCOPE_TENANT,
	     "tiii",
	     "SELECT " COMMENT_COLS " FROM ticket_comments c"
	     " LEFT JOIN users u ON u.id = c.user_id"
	     " WHERE c.tenant_id = ? AND c.ticket_id = ?"
	     " ORDER BY c.created_at ASC, c.id ASC LIMIT ? OFFSET ?"),
	[TICKET_COMMENT_COUNT] = STMT("ticket_comment_count", SCOPE_TENANT,
	     "ti",
	     "SELECT COUNT(*) FROM ticket_comments"
	     " WHERE tenant_id = ? AND ticket_id = ?"),
	[TICKET__MAX] = STMT_END
};
/* clang-format on */
