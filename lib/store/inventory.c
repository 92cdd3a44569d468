#include "store/inventory.h"

#include "db.h"
#include "store/list.h"

/* clang-format off */
static const struct col inventory_cols[] = {
	COL_INT(struct inventory_item, id, 0),
	COL_STR(struct inventory_item, name, 0),
	COL_STR(struct inventory_item, type, 0),
	COL_INT(struct inventory_item, quantity, 0),
	COL_STR(struct inventory_item, unit, 0),
	COL_INT(struct inventory_item, min_quantity, 0),
	COL_STR(struct inventory_item, location, COL_F_NULL),
	COL_STR(struct inventory_item, notes, COL_F_NULL),
	COL_TIME(struct inventory_item, created_at, 0),
	COL_TIME(struct inventory_item, updated_at, 0),
	COL_END
};
const struct rowtype inventory_row =
    ROWTYPE(struct inventory_item, "inventory_item", inventory_cols);

static const struct col inventory_filter_cols[] = {
	COL_STR(struct inventory_filter, type, COL_F_NULL),
	COL_STR(struct inventory_filter, location, COL_F_NULL),
	COL_BOOL(struct inventory_filter, low_stock, 0),
	COL_END
};
static const struct rowtype inventory_filter_in = ROWTYPE(
    struct inventory_filter, "inventory_filter", inventory_filter_cols);

static const struct col movement_cols[] = {
	COL_INT(struct inventory_movement, id, 0),
	COL_INT(struct inventory_movement, inventory_id, 0),
	COL_INT(struct inventory_movement, delta, 0),
	COL_INT(struct inventory_movement, quantity_before, 0),
	COL_INT(struct inventory_movement, quantity_after, 0),
	COL_STR(struct inventory_movement, reason, 0),
	COL_INT(struct inventory_movement, user_id, COL_F_NULL),
	COL_TIME(struct inventory_movement, created_at, 0),
	COL_END
};
const struct rowtype inventory_movement_row =
    ROWTYPE(struct inventory_movement, "inventory_movement", movement_cols);

static const struct col movement_filter_cols[] = {
	COL_INT(struct inventory_movement_filter, inventory_id, 0),
	COL_END
};
static const struct rowtype movement_filter_in =
    ROWTYPE(struct inventory_movement_filter, "inventory_movement_filter",
            movement_filter_cols);

static const struct sort_def inventory_sorts[] = {
	{ "name", "name ASC, id ASC" },
	{ "-name", "name DESC, id DESC" },
	{ "quantity", "quantity ASC, id ASC" },
	{ "-quantity", "quantity DESC, id DESC" },
	{ "created_at", "created_at ASC, id ASC" },
	{ "-created_at", "created_at DESC, id DESC" },
	{ "location", "location ASC, id ASC" },
	{ NULL, NULL }
};

static const struct sort_def movement_sorts[] = {
	{ "-id", "id DESC" },
	{ NULL, NULL }
};

#define INVENTORY_FILTER \
	" WHERE tenant_id = :tenant AND deleted_at IS NULL" \
	" AND (:type IS NULL OR type = :type)" \
	" AND (:location IS NULL OR location = :location)" \
	" AND (:low_stock = 0 OR (min_quantity > 0" \
	" AND quantity <= min_quantity))"

#define INVENTORY_LIVE " FROM inventory WHERE tenant_id = :tenant" \
	" AND id = :id AND deleted_at IS NULL"

enum {
	S_GET, S_LOCK, S_LIST, S_COUNT, S_INSERT, S_UPDATE, S_DELETE,
	S_MOVE_INSERT, S_MOVE_LIST, S_MOVE_COUNT,
};

const struct stmt_def store_inventory_stmts[] = {
	[S_GET] = { "inventory_get", SCOPE_TENANT, "SELECT {COLS}" INVENTORY_LIVE,
	     &db_id_in, &inventory_row, NULL },
	[S_LOCK] = { "inventory_lock", SCOPE_TENANT,
	     "SELECT {COLS}" INVENTORY_LIVE " FOR UPDATE",
	     &db_id_in, &inventory_row, NULL },
	[S_LIST] = { "inventory_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM inventory" INVENTORY_FILTER
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &inventory_filter_in, &inventory_row, inventory_sorts },
	[S_COUNT] = { "inventory_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM inventory" INVENTORY_FILTER,
	     &inventory_filter_in, &db_count_row, NULL },
	[S_INSERT] = { "inventory_insert", SCOPE_TENANT,
	     "INSERT INTO inventory (tenant_id, name, type, quantity, unit,"
	     " min_quantity, location, notes) VALUES (:tenant, :name, :type,"
	     " :quantity, COALESCE(:unit, 'pcs'), :min_quantity, :location,"
	     " :notes)", &inventory_row, NULL, NULL },
	[S_UPDATE] = { "inventory_update", SCOPE_TENANT,
	     "UPDATE inventory SET name = :name, type = :type,"
	     " quantity = :quantity, unit = :unit,"
	     " min_quantity = :min_quantity, location = :location,"
	     " notes = :notes"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &inventory_row, NULL, NULL },
	[S_DELETE] = { "inventory_delete", SCOPE_TENANT,
	     "UPDATE inventory SET deleted_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = :tenant AND id = :id AND deleted_at IS NULL",
	     &db_id_in, NULL, NULL },
	[S_MOVE_INSERT] = { "inventory_move_insert", SCOPE_TENANT,
	     "INSERT INTO inventory_movements (tenant_id, inventory_id, delta,"
	     " quantity_before, quantity_after, reason, user_id)"
	     " VALUES (:tenant, :inventory_id, :delta, :quantity_before,"
	     " :quantity_after, :reason, :user_id)",
	     &inventory_movement_row, NULL, NULL },
	[S_MOVE_LIST] = { "inventory_move_list", SCOPE_TENANT,
	     "SELECT {COLS} FROM inventory_movements"
	     " WHERE tenant_id = :tenant AND inventory_id = :inventory_id"
	     " ORDER BY {ORDER} LIMIT :limit OFFSET :offset",
	     &movement_filter_in, &inventory_movement_row, movement_sorts },
	[S_MOVE_COUNT] = { "inventory_move_count", SCOPE_TENANT,
	     "SELECT COUNT(*) AS n FROM inventory_movements"
	     " WHERE tenant_id = :tenant AND inventory_id = :inventory_id",
	     &movement_filter_in, &db_count_row, NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};
/* clang-format on */

static const struct stmt_def *const S = store_inventory_stmts;

const struct store_list store_inventory_list = {
    .row = &inventory_row,
    .filter_size = sizeof(struct inventory_filter),
    .sorts = inventory_sorts,
    .page = &store_inventory_stmts[S_LIST],
    .count = &store_inventory_stmts[S_COUNT],
};

const struct store_list store_inventory_movement_list = {
    .row = &inventory_movement_row,
    .filter_size = sizeof(struct inventory_movement_filter),
    .sorts = movement_sorts,
    .page = &store_inventory_stmts[S_MOVE_LIST],
    .count = &store_inventory_stmts[S_MOVE_COUNT],
};

int
store_inventory_get(struct tdb *t, int64_t id, struct inventory_item *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_GET], &in, out);
}

int
store_inventory_lock(struct tdb *t, int64_t id, struct inventory_item *out)
{
	struct db_id in = {id};

	return tdb_one(t, &S[S_LOCK], &in, out);
}

int
store_inventory_insert(struct tdb *t, const struct inventory_item *it,
                       int64_t *id)
{
	struct rows res;

	if (tdb_exec(t, &S[S_INSERT], it, &res) < 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int
store_inventory_update(struct tdb *t, const struct inventory_item *it)
{
	return tdb_exec(t, &S[S_UPDATE], it, NULL);
}

int
store_inventory_delete(struct tdb *t, int64_t id)
{
	struct db_id in = {id};

	return tdb_exec(t, &S[S_DELETE], &in, NULL);
}

int
store_inventory_move(struct tdb *t, const struct inventory_movement *m)
{
	return tdb_exec(t, &S[S_MOVE_INSERT], m, NULL);
}
