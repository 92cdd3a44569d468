/*
 * Infrastructure inventory: cables, routers, switches, antennas,
 * connectors and tools in stock.
 *
 * quantity is positive on create and never negative afterwards.  Stock
 * moves through POST /inventory/{id}/adjust {"delta", "reason"}; a PATCH
 * of quantity (a stock count) is a movement too.  Every movement is kept
 * in inventory_movements (GET /inventory/{id}/movements) and audited with
 * the old and new quantity.
 *
 * Low stock: an item with min_quantity > 0 is low when quantity <=
 * min_quantity (min_quantity 0 means "no threshold").  The low_stock
 * alert is raised when an item becomes low (create, adjust, PATCH of
 * quantity or min_quantity), not again while it stays low, and resolved
 * when it is no longer low or is deleted.  DELETE is soft.
 */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>

#include "alerts.h"
#include "arena.h"
#include "fields.h"
#include "json.h"
#include "reply.h"
#include "store/inventory.h"

#define QTY_MAX 1000000000

static const char *const inventory_types[] = {
    "cable", "router", "switch", "antenna", "connector", "tools", NULL,
};

/* clang-format off */
const struct field inventory_create_fields[] = {
	{ "name",         FT_STRING, 1, 200,     F_REQUIRED | F_TEXT, NULL },
	{ "type",         FT_ENUM,   0, 0,       F_REQUIRED, inventory_types },
	{ "quantity",     FT_INT,    1, QTY_MAX, F_REQUIRED, NULL },
	{ "unit",         FT_STRING, 1, 20,      F_TEXT, NULL },
	{ "min_quantity", FT_INT,    0, QTY_MAX, 0, NULL },
	{ "location",     FT_STRING, 0, 200,     F_TEXT | F_NULLABLE, NULL },
	{ "notes",        FT_STRING, 0, 5000,    F_TEXT | F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
const struct field inventory_update_fields[] = {
	{ "name",         FT_STRING, 1, 200,     F_TEXT, NULL },
	{ "type",         FT_ENUM,   0, 0,       0, inventory_types },
	{ "quantity",     FT_INT,    0, QTY_MAX, 0, NULL },
	{ "unit",         FT_STRING, 1, 20,      F_TEXT, NULL },
	{ "min_quantity", FT_INT,    0, QTY_MAX, 0, NULL },
	{ "location",     FT_STRING, 0, 200,     F_TEXT | F_NULLABLE, NULL },
	{ "notes",        FT_STRING, 0, 5000,    F_TEXT | F_NULLABLE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum {
	INVENTORY_F_NAME,
	INVENTORY_F_TYPE,
	INVENTORY_F_QTY,
	INVENTORY_F_UNIT,
	INVENTORY_F_MIN,
	INVENTORY_F_LOCATION,
	INVENTORY_F_NOTES,
};

const struct field inventory_adjust_fields[] = {
	{ "delta",  FT_INT,    -QTY_MAX, QTY_MAX, F_REQUIRED, NULL },
	{ "reason", FT_STRING, 1, 500,            F_REQUIRED | F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { INVENTORY_A_DELTA, INVENTORY_A_REASON };
/* clang-format on */

/* clang-format off */
static const struct filter_def inventory_filters[] = {
	FILTER_ENUM_(struct inventory_filter, type, inventory_types,
	             "only items of this type"),
	FILTER_TEXT_(struct inventory_filter, location, 200,
	             "only items at this location (exact)"),
	FILTER_BOOL_(struct inventory_filter, low_stock,
	             "true: only items at or below their minimum"),
	FILTER_END
};
/* clang-format on */

const struct list_spec inventory_list_spec = {
    .store = &store_inventory_list,
    .filters = inventory_filters,
};

static int
item_exists(struct tdb *t, int64_t id)
{
	struct inventory_item it;

	return store_inventory_get(t, id, &it);
}

const struct list_spec inventory_movement_list_spec = {
    .store = &store_inventory_movement_list,
    .parent_get = item_exists,
    .parent_off = offsetof(struct inventory_movement_filter, inventory_id),
    .parent_what = "inventory item",
};

/*
 * Raises or resolves the low_stock alert of item it after a change from
 * (oldq, oldmin); was_known is 0 on create.
 */
static int
stock_alert(struct req *r, const struct inventory_item *it, int was_known,
            int64_t oldq, int64_t oldmin)
{
	int was_low = was_known && oldmin > 0 && oldq <= oldmin;
	int is_low = it->min_quantity > 0 && it->quantity <= it->min_quantity;
	char subject[24];
	cJSON *d;

	snprintf(subject, sizeof(subject), "%" PRId64, it->id);
	if (is_low && !was_low) {
		d = json_own(r->a, cJSON_CreateObject());
		if (!d)
			return -1;
		json_add_int(d, "inventory_id", it->id);
		cJSON_AddStringToObject(d, "name", it->name);
		json_add_int(d, "quantity", it->quantity);
		json_add_int(d, "min_quantity", it->min_quantity);
		cJSON_AddStringToObject(d, "unit", it->unit);
		return alert_raise(
		           r->tdb, "low_stock", "inventory", subject,
		           arena_printf(r->a,
		                        "stock of \"%s\" is low: %" PRId64
		                        " %s left (minimum %" PRId64 ")",
		                        it->name, it->quantity, it->unit,
		                        it->min_quantity),
		           d) < 0
		           ? -1
		           : 0;
	}
	if (!is_low && was_low)
		return alert_resolve(r->tdb, "low_stock", "inventory",
		                     subject) < 0
		           ? -1
		           : 0;
	return 0;
}

/* Records a movement of item id from before to after. */
static int
movement(struct req *r, int64_t id, int64_t before, int64_t after,
         const char *reason)
{
	struct inventory_movement m = {.inventory_id = id,
	                               .delta = after - before,
	                               .quantity_before = before,
	                               .quantity_after = after,
	                               .reason = reason,
	                               .user_id = r->who.user_id};

	return store_inventory_move(r->tdb, &m);
}

int
inventory_list(struct req *r)
{
	return reply_list(r, &inventory_list_spec);
}

int
inventory_get(struct req *r)
{
	struct inventory_item it;

	if (req_found(r, store_inventory_get(r->tdb, r->ids[0], &it),
	              "inventory item") < 0)
		return -1;
	return reply_row(r, 200, &inventory_row, &it);
}

int
inventory_create(struct req *r)
{
	const struct fval *v = r->vals;
	struct inventory_item it = {0}, after;
	int64_t id;

	it.name = v[INVENTORY_F_NAME].s;
	it.type = v[INVENTORY_F_TYPE].s;
	it.quantity = v[INVENTORY_F_QTY].i;
	it.unit = fval_str(&v[INVENTORY_F_UNIT]);
	it.min_quantity = v[INVENTORY_F_MIN].present ? v[INVENTORY_F_MIN].i : 0;
	it.location = fval_str(&v[INVENTORY_F_LOCATION]);
	it.notes = fval_str(&v[INVENTORY_F_NOTES]);
	if (tdb_begin(r->tdb) < 0 ||
	    store_inventory_insert(r->tdb, &it, &id) < 0 ||
	    store_inventory_get(r->tdb, id, &after) != 1 ||
	    movement(r, id, 0, it.quantity, "initial stock") < 0 ||
	    stock_alert(r, &after, 0, 0, 0) < 0 ||
	    req_record(r, "create", "inventory", id, &inventory_row, NULL,
	               &after, NULL) < 0)
		return -1;
	return reply_commit(r, 201, &inventory_row, &after);
}

int
inventory_update(struct req *r)
{
	const struct fval *v = r->vals;
	int64_t id = r->ids[0];
	struct inventory_item before, it, after;

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_inventory_lock(r->tdb, id, &before),
	              "inventory item") < 0)
		return -1;
	it = before;
	if (v[INVENTORY_F_NAME].present)
		it.name = v[INVENTORY_F_NAME].s;
	if (v[INVENTORY_F_TYPE].present)
		it.type = v[INVENTORY_F_TYPE].s;
	if (v[INVENTORY_F_QTY].present)
		it.quantity = v[INVENTORY_F_QTY].i;
	if (v[INVENTORY_F_UNIT].present)
		it.unit = v[INVENTORY_F_UNIT].s;
	if (v[INVENTORY_F_MIN].present)
		it.min_quantity = v[INVENTORY_F_MIN].i;
	if (v[INVENTORY_F_LOCATION].present)
		it.location = fval_str(&v[INVENTORY_F_LOCATION]);
	if (v[INVENTORY_F_NOTES].present)
		it.notes = fval_str(&v[INVENTORY_F_NOTES]);
	if (store_inventory_update(r->tdb, &it) < 0 ||
	    store_inventory_get(r->tdb, id, &after) != 1)
		return -1;
	if (after.quantity != before.quantity &&
	    movement(r, id, before.quantity, after.quantity,
	             "stock count (update)") < 0)
		return -1;
	if (stock_alert(r, &after, 1, before.quantity, before.min_quantity) <
	        0 ||
	    req_record(r, "update", "inventory", id, &inventory_row, &before,
	               &after, NULL) < 0)
		return -1;
	return reply_commit(r, 200, &inventory_row, &after);
}

int
inventory_adjust(struct req *r)
{
	const struct fval *v = r->vals;
	int64_t id = r->ids[0], delta = v[INVENTORY_A_DELTA].i, newq;
	struct inventory_item before, it, after;
	cJSON *old, *new;

	if (delta == 0)
		return req_invalid(r, "delta", "must not be zero");
	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_inventory_lock(r->tdb, id, &before),
	              "inventory item") < 0)
		return -1;
	newq = before.quantity + delta;
	if (newq < 0 || newq > QTY_MAX)
		return req_invalid(r, "delta",
		                   newq < 0
		                       ? arena_printf(r->a,
		                                      "would make the quantity "
		                                      "negative: only %" PRId64
		                                      " in stock",
		                                      before.quantity)
		                       : "would make the quantity too large");
	it = before;
	it.quantity = newq;
	if (store_inventory_update(r->tdb, &it) < 0 ||
	    movement(r, id, before.quantity, newq, v[INVENTORY_A_REASON].s) <
	        0 ||
	    store_inventory_get(r->tdb, id, &after) != 1)
		return -1;
	old = json_own(r->a, cJSON_CreateObject());
	new = json_own(r->a, cJSON_CreateObject());
	if (!old || !new)
		return -1;
	json_add_int(old, "quantity", before.quantity);
	json_add_int(new, "quantity", newq);
	json_add_int(new, "delta", delta);
	cJSON_AddStringToObject(new, "reason", v[INVENTORY_A_REASON].s);
	if (stock_alert(r, &after, 1, before.quantity, before.min_quantity) <
	        0 ||
	    req_audit(r, "adjust", "inventory", id, old, new) < 0)
		return -1;
	return reply_commit(r, 200, &inventory_row, &after);
}

int
inventory_delete(struct req *r)
{
	int64_t id = r->ids[0];
	struct inventory_item before;
	char subject[24];

	snprintf(subject, sizeof(subject), "%" PRId64, id);
	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_inventory_lock(r->tdb, id, &before),
	              "inventory item") < 0 ||
	    store_inventory_delete(r->tdb, id) < 0 ||
	    alert_resolve(r->tdb, "low_stock", "inventory", subject) < 0 ||
	    req_record(r, "delete", "inventory", id, &inventory_row, &before,
	               NULL, NULL) < 0)
		return -1;
	return reply_commit(r, 204, NULL, NULL);
}

int
inventory_movements_list(struct req *r)
{
	return reply_list(r, &inventory_movement_list_spec);
}
