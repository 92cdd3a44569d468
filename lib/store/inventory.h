/*
 * Infrastructure inventory and its stock movements.  Soft-deleted items
 * (deleted_at set) are invisible to every statement here except the
 * movement history, which keeps pointing at them.
 */
#ifndef RTRW_STORE_INVENTORY_H
#define RTRW_STORE_INVENTORY_H

#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

struct inventory_item {
	int64_t id;
	const char *name, *type;
	int64_t quantity;
	const char *unit;
	int64_t min_quantity;
	const char *location, *notes, *created_at, *updated_at;
};
extern const struct rowtype inventory_row;

/* Filters of GET /inventory; low_stock 1 keeps items at or below min. */
struct inventory_filter {
	const char *type, *location;
	int low_stock;
};
extern const struct store_list store_inventory_list;

struct inventory_movement {
	int64_t id, inventory_id, delta, quantity_before, quantity_after;
	const char *reason;
	int64_t user_id;
	const char *created_at;
};
extern const struct rowtype inventory_movement_row;

struct inventory_movement_filter {
	int64_t inventory_id;
};
extern const struct store_list store_inventory_movement_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_inventory_get(struct tdb *t, int64_t id, struct inventory_item *out);
int store_inventory_lock(struct tdb *t, int64_t id, struct inventory_item *out);

/* Inserts it (unit NULL: pcs); 0 or -1. */
int store_inventory_insert(struct tdb *t, const struct inventory_item *it,
                           int64_t *id);

/*
 * Writes every field of it to item it->id (the caller merged the change
 * onto the row it read); 0 or -1.
 */
int store_inventory_update(struct tdb *t, const struct inventory_item *it);

int store_inventory_delete(struct tdb *t, int64_t id);

/* Records a stock movement (user_id 0 for none); 0 or -1. */
int store_inventory_move(struct tdb *t, const struct inventory_movement *m);

#endif
