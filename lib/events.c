#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "log.h"
#include "store/event.h"
#include "tdb.h"
#include "util.h"

/*
 * Tenants whose events the current transaction wrote.  A thread runs
 * one transaction at a time (an API worker serves one request, each of
 * rtrw-provision's pass threads has its own connection), so one list per
 * thread is enough; more tenants than fit in one transaction (a job)
 * lose their nudge and are found by the daemon's poll.
 */
#define PENDING_MAX 8

static _Thread_local int64_t pending[PENDING_MAX];
static _Thread_local size_t npending;

static void
pending_add(int64_t tenant_id)
{
	for (size_t i = 0; i < npending; i++)
		if (pending[i] == tenant_id)
			return;
	if (npending < PENDING_MAX)
		pending[npending++] = tenant_id;
}

/* The post-commit hook of lib/db.c. */
static void
after_transaction(const struct config *c, int committed)
{
	if (committed)
		for (size_t i = 0; i < npending; i++)
			events_nudge(c->events_socket, pending[i]);
	npending = 0;
}

/* The hook is the process's: set once, not by every thread at once. */
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static void
set_hook(void)
{
	db_set_commit_hook(after_transaction);
}

int
event_emit(struct tdb *t, const char *name, const char *entity_type,
           int64_t entity_id, const cJSON *data)
{
	char *text = NULL;
	int in_tx, own_tx = 0, rc = -1;

	pthread_once(&hook_once, set_hook);
	if (store_event_lock(t, &in_tx) < 0)
		return -1;
	if (!in_tx) {
		/* Autocommit: the lock above ended with its statement. */
		if (tdb_begin(t) < 0)
			return -1;
		own_tx = 1;
		if (store_event_lock(t, &in_tx) < 0)
			goto out;
	}
	if (data && !(text = cJSON_PrintUnformatted(data)))
		goto out;
	if (store_event_insert(t, name, entity_type, entity_id, text) < 0)
		goto out;
	pending_add(tdb_tenant(t));
	if (own_tx && tdb_commit(t) < 0)
		goto out;
	own_tx = 0;
	rc = 0;
out:
	free(text);
	/* The caller's transaction is the caller's to roll back. */
	if (own_tx)
		tdb_rollback(t);
	return rc;
}

void
events_nudge(const char *path, int64_t tenant_id)
{
	static int fd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char msg[24];
	int n;

	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path))
		return;
	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            0);
	if (fd < 0)
		return;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	n = snprintf(msg, sizeof(msg), "%" PRId64, tenant_id);
	/* ENOENT, ECONNREFUSED, EAGAIN: no daemon or a full queue. */
	if (sendto(fd, msg, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&sa,
	           sizeof(sa)) < 0 &&
	    errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
		log_debug("event nudge not sent: %s", strerror(errno));
}

/* Prunes one tenant; 0 or -1. */
static int
prune_tenant(struct tdb *t, const char *cutoff, struct events_prune_totals *tot)
{
	int64_t boundary, deleted;

	if (store_event_prune_boundary(t, cutoff, &boundary) < 0)
		return -1;
	if (boundary == 0)
		return 0;
	/*
	 * The mark first: a resume that reads it afterwards is told to
	 * resync instead of replaying from rows that are about to go.
	 */
	if (store_event_prune_mark(t, boundary) < 0)
		return -1;
	tot->tenants++;
	do {
		if (store_event_prune_delete(t, boundary, &deleted) < 0)
			return -1;
		tot->deleted += (long)deleted;
	} while (deleted >= 5000);
	return 0;
}

int
events_prune(struct db *db, struct arena *a, int days, time_t now,
             struct events_prune_totals *tot)
{
	time_t when = now - (time_t)days * 86400;
	char cutoff[32];
	int64_t after = 0;
	struct rows page;

	memset(tot, 0, sizeof(*tot));
	utc_text(when, UTC_SQL, cutoff);
	for (;;) {
		arena_reset(a);
		if (store_event_tenants(db, a, after, &page) < 0)
			return -1;
		if (page.n == 0)
			return 0;
		for (size_t i = 0; i < page.n; i++) {
			const struct event_tenant_head *h = rows_at(&page, i);
			struct tdb *t;

			after = h->tenant_id;
			t = tdb_open(db, a, after);
			if (!t || prune_tenant(t, cutoff, tot) < 0) {
				log_error("event retention failed: tenant "
				          "%" PRId64,
				          after);
				return -1;
			}
		}
	}
}
