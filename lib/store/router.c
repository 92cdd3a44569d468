#include "store/router.h"

#include <string.h>

#include "db.h"
#include "store/list.h"

/*
 * Every UPDATE of a router goes through its primary key, as the locking
 * reads (router_lock) do.  Left to itself the optimizer finds the row of
 * "tenant_id = :tenant AND id = :id" through uq_routers_tenant_id for an
 * UPDATE but through PRIMARY for a SELECT ... FOR UPDATE, so a PATCH that
 * had locked the router deadlocked with rtrw-provision's recording of a
 * failed pass, each holding one index entry of the row and waiting for
 * the other's.
 */
#define BY_KEY " FORCE INDEX (PRIMARY)"

/* clang-format off */
#define ROUTER_MEMBERS(T) \
	COL_INT(T, id, 0), \
	COL_STR(T, name, 0), \
	COL_STR(T, host, 0), \
	COL_INT(T, api_port, 0), \
	COL_BOOL(T, use_tls, 0), \
	COL_BOOL(T, tls_anonymous, 0), \
	COL_STR(T, tls_fingerprint, COL_F_NULL), \
	COL_STR(T, username, 0), \
	COL_STR(T, status, 0)

static const struct col router_cols[] = {
	ROUTER_MEMBERS(struct router),
	COL_STR(struct router, routeros_version, COL_F_NULL),
	COL_STR(struct router, identity, COL_F_NULL),
	COL_TIME(struct router, last_seen, COL_F_NULL),
	COL_STR(struct router, last_error, COL_F_NULL),
	COL_INT(struct router, uplink_capacity_kbps, COL_F_NULL),
	COL_TIME(struct router, created_at, 0),
	COL_TIME(struct router, updated_at, 0),
	COL_END
};
const struct rowtype router_row = ROWTYPE(struct router, "router", router_cols);

static const struct col secret_cols[] = {
	ROUTER_MEMBERS(struct router_secret),
	COL_INT(struct router_secret, tenant_id, 0),
	COL_BYTES(struct router_secret, password_enc, COL_F_NULL),
	COL_END
};
static const struct rowtype secret_row =
    ROWTYPE(struct router_secret, "router_secret", secret_cols);

static const struct col filter_cols[] = {
	COL_STR(struct router_filter, status, COL_F_NULL),
	COL_END
};
static const struct rowtype filter_in =
    ROWTYPE(struct router_filter, "router_filter", filter_cols);

static const struct col ref_cols[] = {
	COL_INT(struct router_ref, id, 0),
	COL_INT(struct router_ref, tenant_id, 0),
	COL_END
};
static const struct rowtype ref_row =
    ROWTYPE(struct router_ref, "router_ref", ref_cols);

/* What the writing statements bind. */
struct router_in {
	int64_t id, after, batch;
	const char *status, *routeros_version, *identity, *tls_fingerprint;
	const char *last_error;
	int seen;
	struct bytes password;
};
static const struct col router_in_cols[] = {
	COL_INT(struct router_in, id, 0),
	COL_INT(struct router_in, after, 0),
	COL_INT(struct router_in, batch, 0),
	COL_STR(struct router_in, status, 0),
	COL_STR(struct router_in, routeros_version, COL_F_NULL),
	COL_STR(struct router_in, identity, COL_F_NULL),
	COL_STR(struct router_in, tls_fingerprint, COL_F_NULL),
	COL_STR(struct router_in, last_error, COL_F_NULL),
	COL_BOOL(struct router_in, seen, 0),
	COL_BYTES(struct router_in, password, COL_F_NULL),
	COL_END
};
static const struct rowtype router_in =
    ROWTYPE(struct router_in, "router_in", router_in_cols);

static const struct sort_def router_sorts[] = {
	{ "name", "ix_routers_tenant_live_name|name ASC, id ASC" },
	{ "-name", "ix_routers_tenant_live_name|name DESC, id DESC" },
	{ NULL, NULL }
};

#define ROUTER_LIVE " FROM routers WHERE tenant_id = :tenant AND id = :id" \
	" AND deleted_at IS NULL"
#define ROUTER_FILTER " WHERE tenant_id = :tenant AND deleted_at IS NULL" \
	" AND (:status IS NULL OR status = :status)"

enum {
	S_GET, S_LOCK, S_SECRET, S_LIST, S_COUNT, S_INSERT, S_UPDATE,
	S_PASSWORD, S_SEEN, S_DELETE, S_USERS, S_ALL_LIVE, S_LIVE,
};

const struct stmt_def store_router_stmts[] = {
	[S_GET] = { "router_get", SCOPE_TENANT, "SELECT {COLS}" ROUTER_LIVE,
	     &db_id_in, &router_row, NULL },
	[S_LOCK] = { "router_lock", SCOPE_TENANT,
	     "SELECT {COLS}" ROUTER_LIVE " FOR UPDATE",
	     &db_id_in, &router_row, NULL },
	[S_SECRET] = { "router_secret", SCOPE_TENANT,
	     "SELECT {COLS}" ROUTER_LIVE, &db_id_in, &secret_row, NULL },
	[S_LIST] = { "router_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM routers{INDEX}" ROUTER_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &filter_in, &router_row, router_sorts },
	[S_COUNT] = { "router_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM routers" ROUTER_FILTER,
	     &filter_in, &db_count_row, NULL },
	[S_INSERT] = { "router_insert", SCOPE_TENANT,
	     "INSERT INTO routers (tenant_id, name, host, api_port, use_tls,"
	     " tls_anonymous, tls_fingerprint, username, uplink_capacity_kbps)"
	     " VALUES (:tenant, :name, :host, :api_port, :use_tls,"
	     " :tls_anonymous, :tls_fingerprint, :username,"
	     " :uplink_capacity_kbps)", &router_row, NULL, NULL },
	[S_UPDATE] = { "router_update", SCOPE_TENANT,
	     "UPDATE routers" BY_KEY " SET name = :name, host = :host,"
	     " api_port = :api_port, use_tls = :use_tls,"
	     " tls_anonymous = :tls_anonymous,"
	     " tls_fingerprint = :tls_fingerprint, username = :username,"
	     " uplink_capacity_kbps = :uplink_capacity_kbps"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &router_row, NULL, NULL },
	[S_PASSWORD] = { "router_set_password", SCOPE_TENANT,
	     "UPDATE routers" BY_KEY " SET password_enc = :password"
	     " WHERE tenant_id = :tenant AND id = :id",
	     &router_in, NULL, NULL },
	[S_SEEN] = { "router_set_seen", SCOPE_TENANT,
	     "UPDATE routers" BY_KEY " SET status = :status,"
	     " last_seen = IF(:seen, UTC_TIMESTAMP(), last_seen),"
	     " routeros_version = COALESCE(:routeros_version,"
	     " routeros_version), identity = COALESCE(:identity, identity),"
	     " tls_fingerprint = COALESCE(:tls_fingerprint, tls_fingerprint),"
	     " last_error = :last_error"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &router_in, NULL, NULL },
	[S_DELETE] = { "router_delete", SCOPE_TENANT,
	     "UPDATE routers" BY_KEY " SET deleted_at = UTC_TIMESTAMP(),"
	     " password_enc = NULL"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &db_id_in, NULL, NULL },
	[S_USERS] = { "router_users", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM customers WHERE tenant_id = :tenant"
	     " AND router_id = :id AND deleted_at IS NULL"
	     " AND status <> 'terminated'", &db_id_in, &db_count_row, NULL },
	[S_ALL_LIVE] = { "router_all_live", SCOPE_GLOBAL,
	     "SELECT r.id, r.tenant_id FROM routers r"
	     " JOIN tenants tn ON tn.id = r.tenant_id"
	     " WHERE r.deleted_at IS NULL AND tn.status = 'active'"
	     " AND r.id > :after ORDER BY r.id LIMIT :batch",
	     &router_in, &ref_row, NULL },
	/* The same for one tenant (rtrw-monitor usage --tenant). */
	[S_LIVE] = { "router_live", SCOPE_TENANT,
	     "SELECT id, tenant_id FROM routers"
	     " WHERE tenant_id = :tenant AND deleted_at IS NULL"
	     " AND id > :after ORDER BY id LIMIT :batch",
	     &router_in, &ref_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_router_stmts;

const struct store_list store_router_list = {
    .row = &router_row,
    .filter_size = sizeof(struct router_filter),
    .sorts = router_sorts,
    .page = &store_router_stmts[S_LIST],
    .count = &store_router_stmts[S_COUNT],
};

int
store_router_get(struct tdb *t, int64_t id, struct router *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_router_lock(struct tdb *t, int64_t id, struct router *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_LOCK], &in, out);
}

int
store_router_secret(struct tdb *t, int64_t id, struct router_secret *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_SECRET], &in, out);
}

int
store_router_insert(struct tdb *t, const struct router *rt, int64_t *id)
{
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], rt, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_router_update(struct tdb *t, const struct router *rt)
{
	return tdb_exec(t, &S[S_UPDATE], rt, NULL);
}

int
store_router_set_password(struct tdb *t, int64_t id, const unsigned char *p,
                          size_t n)
{
	struct router_in in = {.id = id, .password = {p, n}};

	return tdb_exec(t, &S[S_PASSWORD], &in, NULL);
}

int
store_router_set_seen(struct tdb *t, int64_t id, const struct router_seen *s)
{
	struct router_in in = {.id = id,
	                       .status = s->status,
	                       .seen = s->status &&
	                               strcmp(s->status, "online") == 0,
	                       .routeros_version = s->routeros_version,
	                       .identity = s->identity,
	                       .tls_fingerprint = s->tls_fingerprint,
	                       .last_error = s->last_error};

	return tdb_exec(t, &S[S_SEEN], &in, NULL);
}

int
store_router_delete(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return tdb_exec(t, &S[S_DELETE], &in, NULL);
}

int
store_router_users(struct tdb *t, int64_t id, int64_t *n)
{
	struct db_id in = {id};
	struct db_count c;

	if (tdb_one(t, &S[S_USERS], &in, &c) < 0)
		return -1;
	*n = c.n;
	return 0;
}

int
store_router_all_live(struct db *db, struct arena *a, int64_t after,
                      int64_t limit, struct rows *out)
{
	struct router_in in = {.after = after, .batch = limit};

	return db_exec(db, a, &S[S_ALL_LIVE], &in, out);
}

int
store_router_live(struct tdb *t, int64_t after, int64_t limit, struct rows *out)
{
	struct router_in in = {.after = after, .batch = limit};

	return tdb_exec(t, &S[S_LIVE], &in, out);
}
