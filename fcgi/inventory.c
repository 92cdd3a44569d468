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
#include "audit.h"
#include "db.h"
#include "fields.h"
#include "json.h"
#include "store/store.h"

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
enum { F_NAME, F_TYPE, F_QTY, F_UNIT, F_MIN, F_LOCATION, F_NOTES };

const struct field inventory_adjust_fields[] = {
	{ "delta",  FT_INT,    -QTY_MAX, QTY_MAX, F_REQUIRED, NULL },
	{ "reason", FT_STRING, 1, 500,            F_REQUIRED | F_TEXT, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
enum { A_DELTA, A_REASON };
/* clang-format on */

/* The orders of lib/store/inventory.c, in the same order. */
static const char *const inventory_sorts[] = {
    "name",       "-name",       "quantity", "-quantity",
    "created_at", "-created_at", "location", NULL,
};

/* Columns of INVENTORY_COLS. */
enum { COL_ID, COL_NAME, COL_TYPE, COL_QTY, COL_UNIT, COL_MIN };

static int
not_found(struct req *r)
{
	return req_fail(r, 404, "not_found", "inventory item not found");
}

/*
 * Raises or resolves the low_stock alert of item id after a change from
 * (oldq, oldmin) to the values in row; was_known is 0 on create.
 */
static int
stock_alert(struct req *r, const struct dbres *row, int was_known, int64_t oldq,
            int64_t oldmin)
{
	int64_t id = dbres_int(row, 0, COL_ID);
	int64_t q = dbres_int(row, 0, COL_QTY),
	        min = dbres_int(row, 0, COL_MIN);
	int was_low = was_known && oldmin > 0 && oldq <= oldmin;
	int is_low = min > 0 && q <= min;
	char subject[24];
	cJSON *d;

	snprintf(subject, sizeof(subject), "%" PRId64, id);
	if (is_low && !was_low) {
		d = json_own(r->a, cJSON_CreateObject());
		if (!d)
			return -1;
		json_add_int(d, "inventory_id", id);
		cJSON_AddStringToObject(d, "name", dbres_get(row, 0, COL_NAME));
		json_add_int(d, "quantity", q);
		json_add_int(d, "min_quantity", min);
		cJSON_AddStringToObject(d, "unit", dbres_get(row, 0, COL_UNIT));
		return alert_raise(
		           r->tdb, "low_stock", "inventory", subject,
		           arena_printf(r->a,
		                        "stock of \"%s\" is low: %" PRId64
		                        " %s left (minimum %" PRId64 ")",
		                        dbres_get(row, 0, COL_NAME), q,
		                        dbres_get(row, 0, COL_UNIT), min),
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
	return tdb_query(r->tdb, &store_inventory_stmts[INVENTORY_MOVE_INSERT],
	                 DB_ARGS(DBI(id), DBI(after - before), DBI(before),
	                         DBI(after), DBS(reason), DBI(r->who.user_id)),
	                 NULL);
}

int
inventory_list(struct req *r)
{
	const struct stmt_def *I = store_inventory_stmts;
	const char *type, *location;
	int64_t page, per_page;
	struct dbres rows, count;
	size_t sort;
	int low;

	if (req_page(r, &page, &per_page) < 0 ||
	    req_sort(r, inventory_sorts, &sort) < 0 ||
	    req_param_enum(r, "type", inventory_types, &type) < 0 ||
	    req_param_bool(r, "low_stock", &low) < 0)
		return -1;
	location = req_param(r, "location");
#define FILTER_ARGS                                                            \
	DBS(type), DBS(type), DBS(location), DBS(location),                    \
	    low == 1 ? DBI(1) : DBNULL('i')
	if (tdb_query_order(
	        r->tdb, &I[INVENTORY_LIST], sort,
	        DB_ARGS(FILTER_ARGS, DBI(per_page), DBI((page - 1) * per_page)),
	        &rows) < 0 ||
	    tdb_query(r->tdb, &I[INVENTORY_COUNT], DB_ARGS(FILTER_ARGS),
	              &count) < 0)
		return -1;
#undef FILTER_ARGS
	return req_list_rows(r, &rows, NULL, NULL, page, per_page,
	                     dbres_int(&count, 0, 0));
}

int
inventory_get(struct req *r)
{
	return req_get_one(r, &store_inventory_stmts[INVENTORY_GET], NULL,
	                   "inventory item not found");
}

int
inventory_create(struct req *r)
{
	const struct stmt_def *I = store_inventory_stmts;
	const struct fval *v = r->vals;
	struct dbres res, row;
	int64_t id;
	cJSON *new;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &I[INVENTORY_INSERT],
	              DB_ARGS(DBS(v[F_NAME].s), DBS(v[F_TYPE].s),
	                      DBI(v[F_QTY].i), DBS(fval_str(&v[F_UNIT])),
	                      DBI(v[F_MIN].present ? v[F_MIN].i : 0),
	                      DBS(fval_str(&v[F_LOCATION])),
	                      DBS(fval_str(&v[F_NOTES]))),
	              &res) < 0)
		goto out_fail;
	id = (int64_t)res.insert_id;
	if (tdb_query(r->tdb, &I[INVENTORY_GET], DB_ARGS(DBI(id)), &row) < 0 ||
	    row.nrows != 1)
		goto out_fail;
	new = json_own(r->a, dbres_row_json(&row, 0, NULL));
	if (!new || movement(r, id, 0, v[F_QTY].i, "initial stock") < 0 ||
	    stock_alert(r, &row, 0, 0, 0) < 0 ||
	    audit_req(r, "create", "inventory", id, NULL, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 201, dbres_row_json(&row, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
inventory_update(struct req *r)
{
	const struct stmt_def *I = store_inventory_stmts;
	const struct fval *v = r->vals;
	int64_t id = r->ids[0], oldq, oldmin;
	struct dbres before, after;
	cJSON *old, *new;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &I[INVENTORY_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	oldq = dbres_int(&before, 0, COL_QTY);
	oldmin = dbres_int(&before, 0, COL_MIN);
	if (tdb_query(
	        r->tdb, &I[INVENTORY_UPDATE],
	        DB_ARGS(DBS(fval_str(&v[F_NAME])), DBS(fval_str(&v[F_TYPE])),
	                v[F_QTY].present ? DBI(v[F_QTY].i) : DBNULL('i'),
	                DBS(fval_str(&v[F_UNIT])),
	                v[F_MIN].present ? DBI(v[F_MIN].i) : DBNULL('i'),
	                DBI(v[F_LOCATION].present),
	                DBS(fval_str(&v[F_LOCATION])), DBI(v[F_NOTES].present),
	                DBS(fval_str(&v[F_NOTES])), DBI(id)),
	        NULL) < 0 ||
	    tdb_query(r->tdb, &I[INVENTORY_GET], DB_ARGS(DBI(id)), &after) <
	        0 ||
	    after.nrows != 1)
		goto out_fail;
	if (v[F_QTY].present && v[F_QTY].i != oldq &&
	    movement(r, id, oldq, v[F_QTY].i, "stock count (update)") < 0)
		goto out_fail;
	old = json_own(r->a, dbres_row_json(&before, 0, NULL));
	new = json_own(r->a, dbres_row_json(&after, 0, NULL));
	if (!old || !new || stock_alert(r, &after, 1, oldq, oldmin) < 0 ||
	    audit_req(r, "update", "inventory", id, old, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
inventory_adjust(struct req *r)
{
	const struct stmt_def *I = store_inventory_stmts;
	const struct fval *v = r->vals;
	int64_t id = r->ids[0], delta = v[A_DELTA].i, oldq, oldmin, newq;
	struct dbres before, after;
	cJSON *old, *new;

	if (delta == 0) {
		return req_invalid(r, "delta", "must not be zero");
	}
	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &I[INVENTORY_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	oldq = dbres_int(&before, 0, COL_QTY);
	oldmin = dbres_int(&before, 0, COL_MIN);
	newq = oldq + delta;
	if (newq < 0 || newq > QTY_MAX) {
		tdb_rollback(r->tdb);
		return req_invalid(r, "delta",
		                   newq < 0
		                       ? arena_printf(r->a,
		                                      "would make the quantity "
		                                      "negative: only %" PRId64
		                                      " in stock",
		                                      oldq)
		                       : "would make the quantity too large");
	}
	if (tdb_query(r->tdb, &I[INVENTORY_UPDATE],
	              DB_ARGS(DBNULL('s'), DBNULL('s'), DBI(newq), DBNULL('s'),
	                      DBNULL('i'), DBI(0), DBNULL('s'), DBI(0),
	                      DBNULL('s'), DBI(id)),
	              NULL) < 0 ||
	    movement(r, id, oldq, newq, v[A_REASON].s) < 0 ||
	    tdb_query(r->tdb, &I[INVENTORY_GET], DB_ARGS(DBI(id)), &after) <
	        0 ||
	    after.nrows != 1)
		goto out_fail;
	old = json_own(r->a, cJSON_CreateObject());
	new = json_own(r->a, cJSON_CreateObject());
	if (!old || !new)
		goto out_fail;
	json_add_int(old, "quantity", oldq);
	json_add_int(new, "quantity", newq);
	json_add_int(new, "delta", delta);
	cJSON_AddStringToObject(new, "reason", v[A_REASON].s);
	if (stock_alert(r, &after, 1, oldq, oldmin) < 0 ||
	    audit_req(r, "adjust", "inventory", id, old, new) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_data(r, 200, dbres_row_json(&after, 0, NULL));
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
inventory_delete(struct req *r)
{
	const struct stmt_def *I = store_inventory_stmts;
	int64_t id = r->ids[0];
	struct dbres before;
	char subject[24];
	cJSON *old;

	if (tdb_begin(r->tdb) < 0)
		return -1;
	if (tdb_query(r->tdb, &I[INVENTORY_GET_LOCKED], DB_ARGS(DBI(id)),
	              &before) < 0)
		goto out_fail;
	if (before.nrows != 1) {
		tdb_rollback(r->tdb);
		return not_found(r);
	}
	snprintf(subject, sizeof(subject), "%" PRId64, id);
	old = json_own(r->a, dbres_row_json(&before, 0, NULL));
	if (!old ||
	    tdb_query(r->tdb, &I[INVENTORY_DELETE], DB_ARGS(DBI(id)), NULL) <
	        0 ||
	    alert_resolve(r->tdb, "low_stock", "inventory", subject) < 0 ||
	    audit_req(r, "delete", "inventory", id, old, NULL) < 0 ||
	    tdb_commit(r->tdb) < 0)
		goto out_fail;
	return req_no_content(r);
out_fail:
	tdb_rollback(r->tdb);
	return -1;
}

int
inventory_movements_list(struct req *r)
{
	const struct stmt_def *S = store_inventory_stmts;

	return req_child_list(r, &S[INVENTORY_GET], &S[INVENTORY_MOVE_LIST],
	                      &S[INVENTORY_MOVE_COUNT],
	                      "inventory item not found");
}
