/*
 * Infrastructure inventory and its stock movements.  Soft-deleted items
 * (deleted_at set) are invisible to every statement here except the
 * movement history, which keeps pointing at them.
 */
#include "store/store.h"

#define INVENTORY_COLS                                                         \
	"id, name, type, quantity, unit, min_quantity, location, notes, "      \
	"created_at, updated_at"
#define INVENTORY_FILTER                                                       \
	" WHERE tenant_id = ? AND deleted_at IS NULL"                          \
	" AND (? IS NULL OR type = ?) AND (? IS NULL OR location = ?)"         \
	" AND (? IS NULL OR (min_quantity > 0 AND quantity <= min_quantity))"

/* The sorts of fcgi/inventory.c, in the same order. */
static const char *const inventory_orders[] = {
    "name ASC, id ASC",       "name DESC, id DESC",
    "quantity ASC, id ASC",   "quantity DESC, id DESC",
    "created_at ASC, id ASC", "created_at DESC, id DESC",
    "location ASC, id ASC",   NULL,
};

/* clang-format off */
const struct stmt_def store_inventory_stmts[] = {
	[INVENTORY_GET] = STMT("inventory_get", SCOPE_TENANT, "ti",
	     "SELECT " INVENTORY_COLS " FROM inventory"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[INVENTORY_GET_LOCKED] = STMT("inventory_get_locked", SCOPE_TENANT,
	     "ti",
	     "SELECT " INVENTORY_COLS " FROM inventory"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"
	     " FOR UPDATE"),
	[INVENTORY_LIST] = STMT_ORDERED("inventory_list", SCOPE_TENANT,
	     "tssssiii",
	     "SELECT " INVENTORY_COLS " FROM inventory" INVENTORY_FILTER
	     " ORDER BY {ORDER} LIMIT ? OFFSET ?", inventory_orders),
	[INVENTORY_COUNT] = STMT("inventory_count", SCOPE_TENANT, "tssssi",
	     "SELECT COUNT(*) FROM inventory" INVENTORY_FILTER),
	[INVENTORY_INSERT] = STMT("inventory_insert", SCOPE_TENANT,
	     "tssisiss",
	     "INSERT INTO inventory (tenant_id, name, type, quantity, unit,"
	     " min_quantity, location, notes)"
	     " VALUES (?, ?, ?, ?, COALESCE(?, 'pcs'), ?, ?, ?)"),
	/* NULL leaves a column; nullable columns take a flag first. */
	[INVENTORY_UPDATE] = STMT("inventory_update", SCOPE_TENANT,
	     "ssisiisisti",
	     "UPDATE inventory SET name = COALESCE(?, name),"
	     " type = COALESCE(?, type), quantity = COALESCE(?, quantity),"
	     " unit = COALESCE(?, unit),"
	     " min_quantity = COALESCE(?, min_quantity),"
	     " location = IF(?, ?, location), notes = IF(?, ?, notes)"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[INVENTORY_DELETE] = STMT("inventory_delete", SCOPE_TENANT, "ti",
	     "UPDATE inventory SET deleted_at = UTC_TIMESTAMP()"
	     " WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL"),
	[INVENTORY_MOVE_INSERT] = STMT("inventory_move_insert", SCOPE_TENANT,
	     "tiiiisi",
	     "INSERT INTO inventory_movements (tenant_id, inventory_id, delta,"
	     " quantity_before, quantity_after, reason, user_id)"
	     " VALUES (?, ?, ?, ?, ?, ?, NULLIF(?, 0))"),
	[INVENTORY_MOVE_LIST] = STMT("inventory_move_list", SCOPE_TENANT,
	     "tiii",
	     "SELECT id, inventory_id, delta, quantity_before, quantity_after,"
	     " reason, user_id, created_at FROM inventory_movements"
	     " WHERE tenant_id = ? AND inventory_id = ?"
	     " ORDER BY id DESC LIMIT ? OFFSET ?"),
	[INVENTORY_MOVE_COUNT] = STMT("inventory_move_count", SCOPE_TENANT,
	     "ti",
	     "SELECT COUNT(*) FROM inventory_movements"
	     " WHERE tenant_id = ? AND inventory_id = ?"),
	[INVENTORY__MAX] = STMT_END
};
/* clang-format on */
