#include "store/tenant.h"

#include "db.h"

/* clang-format off */
static const struct col tenant_cols[] = {
	COL_INT(struct tenant, id, 0),
	COL_STR(struct tenant, slug, 0),
	COL_STR(struct tenant, name, 0),
	COL_STR(struct tenant, timezone, 0),
	COL_STR(struct tenant, status, 0),
	COL_TIME(struct tenant, created_at, 0),
	COL_TIME(struct tenant, updated_at, 0),
	COL_END
};
const struct rowtype tenant_row = ROWTYPE(struct tenant, "tenant", tenant_cols);

static const struct col tenant_summary_cols[] = {
	COL_INT(struct tenant_summary, id, 0),
	COL_STR(struct tenant_summary, slug, 0),
	COL_STR(struct tenant_summary, name, 0),
	COL_STR(struct tenant_summary, timezone, 0),
	COL_STR(struct tenant_summary, status, 0),
	COL_TIME(struct tenant_summary, created_at, 0),
	COL_TIME(struct tenant_summary, updated_at, 0),
	COL_INT(struct tenant_summary, users, 0),
	COL_END
};
const struct rowtype tenant_summary_row =
    ROWTYPE(struct tenant_summary, "tenant_summary", tenant_summary_cols);

struct tenant_in {
	const char *slug, *name, *timezone;
};
static const struct col tenant_in_cols[] = {
	COL_STR(struct tenant_in, slug, COL_F_NULL),
	COL_STR(struct tenant_in, name, COL_F_NULL),
	COL_STR(struct tenant_in, timezone, COL_F_NULL),
	COL_END
};
static const struct rowtype tenant_in =
    ROWTYPE(struct tenant_in, "tenant_in", tenant_in_cols);

enum {
	S_BY_SLUG, S_INSERT, S_CHAIN_INIT, S_GET_OWN, S_UPDATE_OWN, S_GET,
	S_LIST, S_COUNT, S_DELETE,
};

#define SUMMARY "SELECT id, slug, name, timezone, status, created_at," \
	" updated_at, (SELECT COUNT(*) FROM users u" \
	" WHERE u.tenant_id = tenants.id) AS users FROM tenants"

const struct stmt_def store_tenant_stmts[] = {
	[S_BY_SLUG] = { "tenant_by_slug", SCOPE_GLOBAL,
	     "SELECT {COLS} FROM tenants WHERE slug = :slug",
	     &tenant_in, &tenant_row, NULL },
	[S_INSERT] = { "tenant_insert", SCOPE_GLOBAL,
	     "INSERT INTO tenants (slug, name, timezone)"
	     " VALUES (:slug, :name, :timezone)", &tenant_in, NULL, NULL },
	[S_CHAIN_INIT] = { "tenant_chain_init", SCOPE_TENANT,
	     "INSERT INTO audit_chain (tenant_id) VALUES (:tenant)",
	     NULL, NULL, NULL },
	[S_GET_OWN] = { "tenant_get_own", SCOPE_TENANT,
	     "SELECT {COLS} FROM tenants WHERE tenants.id = :tenant",
	     NULL, &tenant_row, NULL },
	[S_UPDATE_OWN] = { "tenant_update_own", SCOPE_TENANT,
	     "UPDATE tenants SET name = COALESCE(:name, name),"
	     " timezone = COALESCE(:timezone, timezone)"
	     " WHERE tenants.id = :tenant", &tenant_in, NULL, NULL },
	[S_GET] = { "tenant_get", SCOPE_GLOBAL, SUMMARY " WHERE id = :id",
	     &db_id_in, &tenant_summary_row, NULL },
	[S_LIST] = { "tenant_list", SCOPE_GLOBAL,
	     SUMMARY " ORDER BY id LIMIT :limit OFFSET :offset",
	     NULL, &tenant_summary_row, NULL },
	[S_COUNT] = { "tenant_count", SCOPE_GLOBAL,
	     "SELECT COUNT(*) AS n FROM tenants", NULL, &db_count_row, NULL },
	[S_DELETE] = { "tenant_delete", SCOPE_GLOBAL,
	     "DELETE FROM tenants WHERE id = :id", &db_id_in, NULL, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_tenant_stmts;

int
store_tenant_by_slug(struct db *db, struct arena *a, const char *slug,
                     struct tenant *out)
{
	struct tenant_in in = {.slug = slug};

	return db_one(db, a, &S[S_BY_SLUG], &in, out);
}

int
store_tenant_insert(struct db *db, struct arena *a, const char *slug,
                    const char *name, const char *timezone, int64_t *id)
{
	struct tenant_in in = {slug, name, timezone};
	struct rows res;

	if (db_exec(db, a, &S[S_INSERT], &in, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_tenant_chain_init(struct tdb *t)
{
	return tdb_exec(t, &S[S_CHAIN_INIT], NULL, NULL);
}

int
store_tenant_get_own(struct tdb *t, struct tenant *out)
{
	return tdb_one(t, &S[S_GET_OWN], NULL, out);
}

int
store_tenant_update_own(struct tdb *t, const char *name, const char *timezone)
{
	struct tenant_in in = {.name = name, .timezone = timezone};

	return tdb_exec(t, &S[S_UPDATE_OWN], &in, NULL);
}

int
store_tenant_get(struct db *db, struct arena *a, int64_t id,
                 struct tenant_summary *out)
{
	struct db_id in = {id};

	return db_one(db, a, &S[S_GET], &in, out);
}

int
store_tenant_list(struct db *db, struct arena *a, int64_t limit, int64_t offset,
                  struct rows *out, int64_t *total)
{
	struct db_count n;

	if (db_list(db, a, &S[S_LIST], 0, limit, offset, NULL, out) < 0 ||
	    db_one(db, a, &S[S_COUNT], NULL, &n) < 0)
		return -1;
	*total = n.n;
	return 0;
}

int
store_tenant_delete(struct db *db, struct arena *a, int64_t id)
{
	struct db_id in = {id};
	struct rows res;

	if (db_exec(db, a, &S[S_DELETE], &in, &res) < 0)
		return -1;
	return res.affected > 0;
}
