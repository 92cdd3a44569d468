/*
 * Backups, for platform administrators (API.md "Backups"; the work is
 * rtrw-backup's, lib/backupjob.h).  The API never takes a backup
 * itself: POST /platform/backups queues one and answers 202 with the
 * queued row, and rtrw-backup-queued.timer (`rtrw-backup queued`, every
 * minute) takes it; the row then shows running, completed or failed.
 * POST /platform/backups/{id}/verify queues a verification the same
 * service runs (every chunk and digest, then a test load into a scratch
 * server); the row shows verify_status, verify_error and verified_at.
 *
 * Decisions:
 * - A second backup while one is queued or running is 409 conflict
 *   naming it: it would back up almost the same data again, and the
 *   queued-backup service takes one at a time anyway.  The database
 *   holds at most one queued row (uq_backups_queued), so two requests at
 *   once cannot both queue one.
 * - Only a completed backup can be verified, and not while a
 *   verification of it is queued or running: 409 conflict otherwise.  A
 *   pruned backup has no file left to verify.
 * - Each request that queues something writes an entry in
 *   platform_audit_logs (these actions belong to no tenant).
 * - Restores stay on the command line (API.md): a restore replaces the
 *   database the API itself runs on.
 */
#include "routes.h"

#include <inttypes.h>
#include <string.h>

#include "arena.h"
#include "reply.h"
#include "store/backup.h"
#include "tdb.h"

/* clang-format off */
static const struct filter_def backup_filters[] = {
	FILTER_ENUM_(struct backup_filter, status, backup_statuses,
	             "only backups with this status"),
	FILTER_END
};
/* clang-format on */

const struct list_spec backup_list_spec = {
    .store = &store_backup_list,
    .filters = backup_filters,
};

int
backups_list(struct req *r)
{
	return reply_list(r, &backup_list_spec);
}

int
backups_get(struct req *r)
{
	struct backup b;

	if (req_found(r, store_backup_get(r->db, r->a, r->ids[0], &b),
	              "backup") < 0)
		return -1;
	return reply_row(r, 200, &backup_detail_row, &b);
}

int
backups_create(struct req *r)
{
	struct backup active, b;
	int64_t id;
	int rc;

	if (db_begin(r->db) < 0)
		return -1;
	rc = store_backup_active(r->db, r->a, &active);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return req_fail(r, 409, "conflict",
		                arena_printf(r->a,
		                             "backup %" PRId64 " is %s; ask "
		                             "again when it has finished",
		                             active.id, active.status));
	if (store_backup_queue(r->db, r->a, r->who.user_id, &id) < 0) {
		/* Another request queued one since the check above. */
		if (db_last_error(r->db) == DBE_DUPLICATE)
			return req_fail(r, 409, "conflict",
			                "a backup is already queued");
		return -1;
	}
	if (store_backup_get(r->db, r->a, id, &b) != 1 ||
	    req_platform_record(r, "create", "backup", id, &backup_row, NULL,
	                        &b) < 0 ||
	    db_commit(r->db) < 0)
		return -1;
	return reply_row(r, 202, &backup_detail_row, &b);
}

int
backups_verify(struct req *r)
{
	int64_t id = r->ids[0];
	struct backup before, after;
	int rc;

	if (db_begin(r->db) < 0 ||
	    req_found(r, store_backup_get(r->db, r->a, id, &before), "backup") <
	        0)
		return -1;
	rc = store_backup_verify_queue(r->db, r->a, id);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		/* Read again: the row may have moved since the first read. */
		if (req_found(r, store_backup_get(r->db, r->a, id, &before),
		              "backup") < 0)
			return -1;
		if (strcmp(before.status, "completed") != 0)
			return req_fail(
			    r, 409, "conflict",
			    arena_printf(r->a,
			                 "backup %" PRId64 " is %s; only a "
			                 "completed backup can be verified",
			                 id, before.status));
		return req_fail(r, 409, "conflict",
		                arena_printf(r->a,
		                             "a verification of backup %" PRId64
		                             " is already %s",
		                             id,
		                             before.verify_status
		                                 ? before.verify_status
		                                 : "queued"));
	}
	if (store_backup_get(r->db, r->a, id, &after) != 1 ||
	    req_platform_record(r, "verify", "backup", id, &backup_row, &before,
	                        &after) < 0 ||
	    db_commit(r->db) < 0)
		return -1;
	return reply_row(r, 202, &backup_detail_row, &after);
}
