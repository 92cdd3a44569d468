#include "store/device.h"

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col device_cols[] = {
	COL_INT(struct device, id, 0),
	COL_STR(struct device, name, 0),
	COL_STR(struct device, type, 0),
	COL_STR(struct device, ip_address, 0),
	COL_INT(struct device, port, COL_F_NULL),
	COL_STR(struct device, location, COL_F_NULL),
	COL_STR(struct device, username, COL_F_NULL),
	COL_INT(struct device, uplink_id, COL_F_NULL),
	COL_STR(struct device, status, 0),
	COL_TIME(struct device, last_seen, COL_F_NULL),
	COL_TIME(struct device, last_checked_at, COL_F_NULL),
	COL_TIME(struct device, created_at, 0),
	COL_TIME(struct device, updated_at, 0),
	COL_END
};
const struct rowtype device_row = ROWTYPE(struct device, "device", device_cols);

static const struct col device_filter_cols[] = {
	COL_STR(struct device_filter, type, COL_F_NULL),
	COL_STR(struct device_filter, status, COL_F_NULL),
	COL_STR(struct device_filter, location, COL_F_NULL),
	COL_END
};
static const struct rowtype device_filter_in =
    ROWTYPE(struct device_filter, "device_filter", device_filter_cols);

static const struct col target_cols[] = {
	COL_INT(struct device_target, id, 0),
	COL_INT(struct device_target, tenant_id, 0),
	COL_STR(struct device_target, ip_address, 0),
	COL_INT(struct device_target, port, COL_F_NULL),
	COL_END
};
static const struct rowtype target_row =
    ROWTYPE(struct device_target, "device_target", target_cols);

/* What the writing statements bind. */
struct device_in {
	int64_t id, after, batch;
	const char *status;
	int answered, set_password, set_community;
	struct bytes password, community;
};
static const struct col device_in_cols[] = {
	COL_INT(struct device_in, id, 0),
	COL_INT(struct device_in, after, 0),
	COL_INT(struct device_in, batch, 0),
	COL_STR(struct device_in, status, 0),
	COL_BOOL(struct device_in, answered, 0),
	COL_BOOL(struct device_in, set_password, 0),
	COL_BOOL(struct device_in, set_community, 0),
	COL_BYTES(struct device_in, password, COL_F_NULL),
	COL_BYTES(struct device_in, community, COL_F_NULL),
	COL_END
};
static const struct rowtype device_in =
    ROWTYPE(struct device_in, "device_in", device_in_cols);

struct uplink {
	int64_t uplink_id;
};
static const struct col uplink_cols[] = {
	COL_INT(struct uplink, uplink_id, COL_F_NULL),
	COL_END
};
static const struct rowtype uplink_row =
    ROWTYPE(struct uplink, "uplink", uplink_cols);

static const struct sort_def device_sorts[] = {
	{ "name", "name ASC, id ASC" },
	{ "-name", "name DESC, id DESC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ "-created_at", "created_at DESC, id DESC" },
	{ "status", "status ASC, name ASC" },
	{ "-last_seen", "last_seen DESC, id DESC" },
	{ NULL, NULL }
};

#define DEVICE_FILTER \
	" WHERE tenant_id = :tenant AND deleted_at IS NULL" \
	" AND (:type IS NULL OR type = :type)" \
	" AND (:status IS NULL OR status = :status)" \
	" AND (:location IS NULL OR location = :location)"

#define DEVICE_LIVE " FROM devices WHERE tenant_id = :tenant AND id = :id" \
	" AND deleted_at IS NULL"

enum {
	S_GET, S_LOCK, S_LIST, S_COUNT, S_INSERT, S_UPDATE, S_SET_SECRETS,
	S_SET_STATUS, S_DELETE, S_DEPENDANTS, S_UPLINK_OF, S_LIVE, S_ALL_LIVE,
};

const struct stmt_def store_device_stmts[] = {
	[S_GET] = { "device_get", SCOPE_TENANT, "SELECT {COLS}" DEVICE_LIVE,
	     &db_id_in, &device_row, NULL },
	[S_LOCK] = { "device_lock", SCOPE_TENANT,
	     "SELECT {COLS}" DEVICE_LIVE " FOR UPDATE",
	     &db_id_in, &device_row, NULL },
	[S_LIST] = { "device_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM devices" DEVICE_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &device_filter_in, &device_row, device_sorts },
	[S_COUNT] = { "device_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM devices" DEVICE_FILTER,
	     &device_filter_in, &db_count_row, NULL },
	[S_INSERT] = { "device_insert", SCOPE_TENANT,
	     "INSERT INTO devices (tenant_id, name, type, ip_address, port,"
	     " location, username, uplink_id) VALUES (:tenant, :name, :type,"
	     " :ip_address, :port, :location, :username, :uplink_id)",
	     &device_row, NULL, NULL },
	[S_UPDATE] = { "device_update", SCOPE_TENANT,
	     "UPDATE devices SET name = :name, type = :type,"
	     " ip_address = :ip_address, port = :port, location = :location,"
	     " username = :username, uplink_id = :uplink_id"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &device_row, NULL, NULL },
	/* Flag, value: a set flag with a NULL value clears the secret. */
	[S_SET_SECRETS] = { "device_set_secrets", SCOPE_TENANT,
	     "UPDATE devices SET"
	     " password_enc = IF(:set_password, :password, password_enc),"
	     " snmp_community_enc = IF(:set_community, :community,"
	     " snmp_community_enc) WHERE tenant_id = :tenant AND id = :id",
	     &device_in, NULL, NULL },
	[S_SET_STATUS] = { "device_set_status", SCOPE_TENANT,
	     "UPDATE devices SET status = :status,"
	     " last_seen = IF(:answered, UTC_TIMESTAMP(), last_seen),"
	     " last_checked_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &device_in, NULL, NULL },
	/* Soft delete; the secrets go at once, the row stays as history. */
	[S_DELETE] = { "device_delete", SCOPE_TENANT,
	     "UPDATE devices SET deleted_at = UTC_TIMESTAMP(),"
	     " password_enc = NULL, snmp_community_enc = NULL"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &db_id_in, NULL, NULL },
	/* What depends on a device: live devices that name it as uplink. */
	[S_DEPENDANTS] = { "device_dependants", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM devices WHERE tenant_id = :tenant"
	     " AND uplink_id = :id AND deleted_at IS NULL",
	     &db_id_in, &db_count_row, NULL },
	[S_UPLINK_OF] = { "device_uplink_of", SCOPE_TENANT,
	     "SELECT uplink_id" DEVICE_LIVE, &db_id_in, &uplink_row, NULL },
	/* rtrw-monitor devices --tenant: the same page as S_ALL_LIVE. */
	[S_LIVE] = { "device_live", SCOPE_TENANT,
	     "SELECT id, tenant_id, ip_address, port FROM devices"
	     " WHERE tenant_id = :tenant AND deleted_at IS NULL"
	     " AND id > :after ORDER BY id LIMIT :batch",
	     &device_in, &target_row, NULL },
	/*
	 * rtrw-monitor devices pages through every live device of every
	 * active tenant by id (keyset paging: no OFFSET drift).
	 */
	[S_ALL_LIVE] = { "device_all_live", SCOPE_GLOBAL,
	     "SELECT d.id, d.tenant_id, d.ip_address, d.port FROM devices d"
	     " JOIN tenants tn ON tn.id = d.tenant_id"
	     " WHERE d.deleted_at IS NULL AND tn.status = 'active'"
	     " AND d.id > :after ORDER BY d.id LIMIT :batch",
	     &device_in, &target_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_device_stmts;

const struct store_list store_device_list = {
    .row = &device_row,
    .filter_size = sizeof(struct device_filter),
    .sorts = device_sorts,
    .page = &store_device_stmts[S_LIST],
    .count = &store_device_stmts[S_COUNT],
};

int
store_device_get(struct tdb *t, int64_t id, struct device *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_device_lock(struct tdb *t, int64_t id, struct device *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_LOCK], &in, out);
}

int
store_device_insert(struct tdb *t, const struct device *d, int64_t *id)
{
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], d, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_device_update(struct tdb *t, const struct device *d)
{
	return tdb_exec(t, &S[S_UPDATE], d, NULL);
}

int
store_device_set_secrets(struct tdb *t, int64_t id,
                         const struct device_secrets *s)
{
	struct device_in in = {.id = id,
	                       .set_password = s->set_password,
	                       .set_community = s->set_community,
	                       .password = s->password,
	                       .community = s->community};

	return tdb_exec(t, &S[S_SET_SECRETS], &in, NULL);
}

int
store_device_set_status(struct tdb *t, int64_t id, const char *status,
                        int answered)
{
	struct device_in in = {
	    .id = id, .status = status, .answered = answered};

	return tdb_exec(t, &S[S_SET_STATUS], &in, NULL);
}

int
store_device_delete(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return tdb_exec(t, &S[S_DELETE], &in, NULL);
}

int
store_device_dependants(struct tdb *t, int64_t id, int64_t *n)
{
	struct db_id in = {id};
	struct db_count c;

	if (tdb_one(t, &S[S_DEPENDANTS], &in, &c) < 0)
		return -1;
	*n = c.n;
	return 0;
}

int
store_device_uplink_of(struct tdb *t, int64_t id, int64_t *uplink)
{
	struct db_id in = {id};
	struct uplink u;
	int rc = tdb_one(t, &S[S_UPLINK_OF], &in, &u);

	*uplink = rc == 1 ? u.uplink_id : 0;
	return rc;
}

int
store_device_all_live(struct db *db, struct arena *a, int64_t after,
                      int64_t limit, struct rows *out)
{
	struct device_in in = {.after = after, .batch = limit};

	return db_exec(db, a, &S[S_ALL_LIVE], &in, out);
}

int
store_device_live(struct tdb *t, int64_t after, int64_t limit, struct rows *out)
{
	struct device_in in = {.after = after, .batch = limit};

	return tdb_exec(t, &S[S_LIVE], &in, out);
}
