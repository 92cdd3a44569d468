/*
 * Provisioning jobs (API.md "Routers and provisioning: details"): the
 * queue of router operations that rtrw-provision applies, for the panel
 * to show what is pending on which router and why.  Jobs are written by
 * the customer actions (fcgi/customers.c) and speed boosts, never
 * created through this resource.
 *
 * POST /provisioning-jobs/{id}/retry (body {} or none) puts a failed job
 * back in the queue with its attempts reset, marks its customer pending
 * and nudges the daemon; a job that is not failed is 409, since retrying
 * a pending or running job would be a no-op at best and a done job has
 * nothing left to do (a new action queues a new job).
 */
#include "routes.h"

#include <string.h>

#include "nudge.h"
#include "reply.h"
#include "store/customer.h"
#include "store/provision.h"

static const char *const job_statuses[] = {"pending", "running", "done",
                                           "failed", NULL};

/* clang-format off */
static const struct filter_def job_filters[] = {
	FILTER_ENUM_(struct provision_job_filter, status, job_statuses,
	             "only jobs with this status"),
	FILTER_ID_(struct provision_job_filter, customer_id,
	           "only jobs of this customer"),
	FILTER_ID_(struct provision_job_filter, router_id,
	           "only jobs for this router"),
	FILTER_END
};
/* clang-format on */

const struct list_spec provisioning_job_list_spec = {
    .store = &store_provision_list,
    .filters = job_filters,
};

int
provisioning_jobs_list(struct req *r)
{
	return reply_list(r, &provisioning_job_list_spec);
}

int
provisioning_jobs_get(struct req *r)
{
	struct provision_job j;

	if (req_found(r, store_provision_get(r->tdb, r->ids[0], &j),
	              "provisioning job") < 0)
		return -1;
	return reply_row(r, 200, &provision_job_row, &j);
}

int
provisioning_jobs_retry(struct req *r)
{
	int64_t id = r->ids[0];
	struct provision_job before, after;
	int rc;

	/* The customer before its job, as every writer locks them. */
	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_provision_get(r->tdb, id, &before),
	              "provisioning job") < 0 ||
	    (before.customer_id &&
	     store_customer_lock_any(r->tdb, before.customer_id) < 0) ||
	    req_found(r, store_provision_lock(r->tdb, id, &before),
	              "provisioning job") < 0)
		return -1;
	if (strcmp(before.status, "failed") != 0)
		return req_fail(r, 409, "conflict",
		                "only a failed job can be retried; this one "
		                "is not failed");
	if (store_provision_retry(r->tdb, id) < 0 ||
	    (before.customer_id &&
	     store_customer_set_router_state(r->tdb, before.customer_id,
	                                     "pending", NULL) < 0) ||
	    store_provision_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "retry", "provisioning_job", id, &provision_job_row,
	               &before, &after, NULL) < 0)
		return -1;
	rc = reply_commit(r, 200, &provision_job_row, &after);
	if (rc == 0)
		nudge_send(r->cfg);
	return rc;
}
