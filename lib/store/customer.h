/*
 * Customers.  Rows are soft-deleted (deleted_at): payments and tickets
 * keep their customer.  The sealed PPPoE password is written here and
 * never selected by a statement whose rows reach a response: the
 * handlers cannot leak what they never read.
 */
#ifndef RTRW_STORE_CUSTOMER_H
#define RTRW_STORE_CUSTOMER_H

#include <stddef.h>
#include <stdint.h>

#include "row.h"
#include "tdb.h"

struct store_list;

/*
 * A customer.  router_id 0 is none; total_count is the list's total
 * carried by its rows (never part of a customer's JSON).
 */
struct customer {
	int64_t id;
	const char *customer_code, *name, *phone, *email, *address;
	int64_t service_plan_id;
	const char *status;
	int64_t router_id;
	const char *router_state, *router_error;
	const char *pppoe_username, *monthly_price;
	int64_t billing_day;
	const char *installed_at, *notes, *created_at, *updated_at;
	int64_t total_count;
};
extern const struct rowtype customer_row;

/*
 * Filters of GET /customers: status, plan and router (0: any), and q,
 * matched against the customer code and the phone by prefix, the email
 * exactly and the name by word prefix (see lib/store/customer.c).
 */
struct customer_filter {
	const char *status;
	int64_t service_plan_id, router_id;
	const char *q;
};
extern const struct store_list store_customer_list;

/* Lookups return 1 found, 0 absent, -1 error. */
int store_customer_get(struct tdb *t, int64_t id, struct customer *out);
int store_customer_lock(struct tdb *t, int64_t id, struct customer *out);

/*
 * Inserts c (id, status and times are the database's); DBE_DUPLICATE
 * for a PPPoE user name taken on the router.  0 or -1.
 */
int store_customer_insert(struct tdb *t, const struct customer *c, int64_t *id);

/* Writes the changeable fields of c to customer c->id; 0 or -1. */
int store_customer_update(struct tdb *t, const struct customer *c);

/* Stores the sealed PPPoE password of customer id (p NULL clears). */
int store_customer_set_password(struct tdb *t, int64_t id,
                                const unsigned char *p, size_t n);

int store_customer_set_status(struct tdb *t, int64_t id, const char *status);
int store_customer_delete(struct tdb *t, int64_t id);

/* Live customers by status (zeros before the first customer). */
struct customer_counts {
	int64_t pending, active, suspended, terminated;
};
int store_customer_counts(struct tdb *t, struct customer_counts *out);

/*
 * Queues a router operation for a customer (payload is JSON text) and
 * marks the customer's router_state pending (router_error cleared) in
 * the caller's transaction; 0 or -1.  The caller nudges rtrw-provision
 * after its commit (lib/nudge.h).
 */
int store_customer_queue_job(struct tdb *t, int64_t customer_id,
                             int64_t router_id, const char *action,
                             const char *payload);

/*
 * Records what the router confirmed of customer id: state synced,
 * pending or failed (NULL without a router) and the last router error
 * (NULL clears it); 0 or -1.
 */
int store_customer_set_router_state(struct tdb *t, int64_t id,
                                    const char *state, const char *error);

/*
 * What provisioning needs of a customer: deleted ones too (deleted 1),
 * since a deleted customer's secret must go, and the sealed PPPoE
 * password (aad "customer:<id>:pppoe").  Never reaches a response.
 */
struct customer_secret {
	int64_t id;
	const char *customer_code, *name, *status;
	int64_t router_id, service_plan_id;
	const char *pppoe_username;
	int deleted;
	struct bytes password_enc;
};

/* 1 found (deleted or not), 0 absent, -1 error. */
int store_customer_secret(struct tdb *t, int64_t id,
                          struct customer_secret *out);

/*
 * Locks customer id's row (deleted or not) until commit: 1, 0 absent,
 * -1 error.  Whoever changes a customer and its jobs in one transaction
 * locks the customer first (the API's actions do), so that the daemon's
 * recording and the API never wait on each other in a circle.
 */
int store_customer_lock_any(struct tdb *t, int64_t id);

/*
 * Every live (not deleted) customer on router_id, any status, in id
 * order: rows of struct customer_secret in the handle's arena.  0 or -1.
 */
int store_customer_on_router(struct tdb *t, int64_t router_id,
                             struct rows *out);

/*
 * Every live active or suspended customer on a router whose own plan is
 * plan_id, in id order: rows of struct customer in the handle's arena.
 * 0 or -1.
 */
int store_customer_on_plan(struct tdb *t, int64_t plan_id, struct rows *out);

/*
 * Inserts an imported customer: c's fields, status c->status, on router
 * c->router_id with router_state synced.  0 or -1 (DBE_DUPLICATE for a
 * taken PPPoE user name).
 */
int store_customer_import(struct tdb *t, const struct customer *c, int64_t *id);

/*
 * Records a provisioning outcome for customer id: router_state becomes
 * pending while the customer has another unfinished job, otherwise
 * state (synced or failed); error NULL clears router_error.  Only a
 * customer with a router changes.  0 or -1.
 */
int store_customer_router_result(struct tdb *t, int64_t id, const char *state,
                                 const char *error);

#endif
