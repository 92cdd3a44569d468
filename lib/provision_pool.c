#include "provision_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "log.h"
#include "nudge.h"
#include "provision.h"
#include "store/provision.h"
#include "tdb.h"
#include "util.h"

/* Routers read per look at the due list (as provision_round()). */
#define DUE_PER_LOOK   100
#define DUE_ARENA      (4L * 1024 * 1024)
#define DB_RETRY_MS    1000
#define WORKER_RETRY_S 1

struct provision_pool;

/*
 * One worker thread.  Every member below pv is guarded by the pool's
 * mutex; pv (its connection and counters) belongs to the thread while it
 * runs and to the main thread once it was joined.
 */
struct worker {
	pthread_t thread;
	struct provision_pool *pool;
	struct provisioner pv;
	int started; /* the thread exists (join it) */
	int ready;   /* its connection is open: it may take routers */
	int busy;    /* it has a router in hand */
	int done;    /* a pass ended; result not yet collected */
	int result;  /* provision_pass()'s answer */
	int64_t tenant_id, router_id;
};

struct provision_pool {
	const struct config *cfg;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a router was handed out, or stop */
	int stopping;
	int wake[2]; /* a byte per ended pass wakes the main thread */
	struct worker *w;
	int n;
};

/* Wakes the main thread's poll(); a full pipe has woken it already. */
static void
poke(struct provision_pool *p)
{
	char b = 1;

	(void)!write(p->wake[1], &b, 1);
}

static int
pool_stopping(struct provision_pool *p)
{
	int s;

	pthread_mutex_lock(&p->mu);
	s = p->stopping;
	pthread_mutex_unlock(&p->mu);
	return s;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct provision_pool *p = w->pool;
	char err[256];

	/* Its own connection: a MySQL handle serves one thread at a time. */
	while (
	    !(w->pv.db = db_open(p->cfg, DB_ACCOUNT_APP, err, sizeof(err)))) {
		log_error("provisioning worker start failed: %s", err);
		if (pool_stopping(p))
			return NULL;
		sleep(WORKER_RETRY_S);
	}
	pthread_mutex_lock(&p->mu);
	w->ready = 1;
	pthread_mutex_unlock(&p->mu);
	poke(p);
	for (;;) {
		int64_t tenant_id, router_id;
		int n;

		pthread_mutex_lock(&p->mu);
		while (!w->busy && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!w->busy) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		tenant_id = w->tenant_id;
		router_id = w->router_id;
		pthread_mutex_unlock(&p->mu);

		n = provision_pass(&w->pv, tenant_id, router_id);

		pthread_mutex_lock(&p->mu);
		w->result = n;
		w->busy = 0;
		w->done = 1;
		pthread_mutex_unlock(&p->mu);
		poke(p);
	}
	db_close(w->pv.db);
	w->pv.db = NULL;
	return NULL;
}

/*
 * Collects the passes that ended.  Returns 1 when one of them handled
 * jobs (the router may have more, and a worker is free again: look at
 * once), 0 when none did, -1 when one failed on the database.
 */
static int
collect(struct provision_pool *p)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];

		if (!w->done)
			continue;
		w->done = 0;
		if (w->result < 0) {
			log_error("provisioning pass failed: router %" PRId64
			          " of tenant %" PRId64
			          ": the database did not answer",
			          w->router_id, w->tenant_id);
			rc = -1;
		} else if (w->result > 0 && rc == 0) {
			rc = 1;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/*
 * Hands router d to an idle worker unless one has it in hand already.
 * Returns 1 handed out (or in hand), 0 when no worker is idle.  Called
 * with the mutex held.
 */
static int
hand_out(struct provision_pool *p, const struct provision_due *d)
{
	struct worker *idle = NULL;

	for (int i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];

		if (w->busy && w->router_id == d->id)
			return 1;
		if (!idle && w->ready && !w->busy && !w->done)
			idle = w;
	}
	if (!idle)
		return 0;
	idle->tenant_id = d->tenant_id;
	idle->router_id = d->id;
	idle->busy = 1;
	return 1;
}

static int
idle_workers(struct provision_pool *p)
{
	int n = 0;

	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->n; i++)
		n += p->w[i].ready && !p->w[i].busy && !p->w[i].done;
	pthread_mutex_unlock(&p->mu);
	return n;
}

/*
 * One look at the due list: every router not in hand goes to an idle
 * worker.  Returns 1 when routers were left for want of a worker (look
 * again when one is free), 0 when all were handed out, -1 when the
 * database failed.
 */
static int
look(struct provision_pool *p, struct db *db, struct arena *a)
{
	struct rows due;
	int left = 0;

	if (store_provision_due(db, a, DUE_PER_LOOK, &due) < 0)
		return -1;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < due.n && !left; i++)
		if (!hand_out(p, rows_at(&due, i)))
			left = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	arena_reset(a);
	return left;
}

/* Waits for a nudge, an ended pass or ms; 1 when it is time to look. */
static int
wait_event(struct provision_pool *p, int nudge_fd, int ms)
{
	struct pollfd fds[2] = {
	    {.fd = p->wake[0], .events = POLLIN},
	    {.fd = nudge_fd, .events = POLLIN},
	};
	char b[64];
	int n = poll(fds, nudge_fd >= 0 ? 2 : 1, ms);

	if (n == 0)
		return 1; /* the poll interval: look anyway */
	if (n < 0)
		return 0; /* a signal: the caller checks stopping */
	if (fds[0].revents & POLLIN)
		while (read(p->wake[0], b, sizeof(b)) > 0)
			;
	if (nudge_fd >= 0 && (fds[1].revents & POLLIN)) {
		(void)nudge_wait(nudge_fd, 0); /* drains every datagram */
		return 1;
	}
	return 0;
}

/* Starts the workers with SIGTERM and SIGINT blocked: they go to main. */
static int
start_workers(struct provision_pool *p)
{
	sigset_t block, old;
	int started = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (int i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];
		int rc;

		w->pool = p;
		w->pv.cfg = p->cfg;
		rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			log_error("provisioning worker start failed: %s",
			          strerror(rc));
			continue;
		}
		w->started = 1;
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return started;
}

/* Lets passes in progress end, joins the workers, adds their counters. */
static void
stop_workers(struct provision_pool *p, struct provisioner *tot)
{
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->n; i++) {
		struct worker *w = &p->w[i];

		if (!w->started)
			continue;
		pthread_join(w->thread, NULL);
		tot->passes += w->pv.passes;
		tot->jobs_done += w->pv.jobs_done;
		tot->jobs_retried += w->pv.jobs_retried;
		tot->jobs_failed += w->pv.jobs_failed;
		tot->router_failures += w->pv.router_failures;
	}
}

int
provision_pool_serve(const struct config *cfg, struct db *db, const char *owner,
                     int nudge_fd, volatile sig_atomic_t *stopping,
                     struct provisioner *tot)
{
	struct provision_pool p = {0};
	struct arena a;
	int want = 1, rc = -1, ms;

	p.cfg = cfg;
	p.n = cfg->provision_workers > 0 ? cfg->provision_workers : 1;
	if (pipe2(p.wake, O_NONBLOCK | O_CLOEXEC) < 0) {
		log_error("provisioning start failed: pipe: %s",
		          strerror(errno));
		return -1;
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	p.w = xcalloc((size_t)p.n, sizeof(*p.w));
	for (int i = 0; i < p.n; i++)
		snprintf(p.w[i].pv.owner, sizeof(p.w[i].pv.owner), "%s", owner);
	arena_init(&a, (size_t)DUE_ARENA);
	if (start_workers(&p) == 0)
		goto out;
	rc = 0;
	while (!*stopping) {
		ms = cfg->provision_poll_ms;
		switch (collect(&p)) {
		case 1:
			want = 1;
			break;
		case -1:
			ms = DB_RETRY_MS; /* the next look after a pause */
			break;
		default:
			break;
		}
		if (want && idle_workers(&p) > 0) {
			switch (look(&p, db, &a)) {
			case 0:
				want = 0;
				break;
			case 1:
				/* Look again when a worker is free. */
				break;
			default:
				log_error("provisioning round failed: the "
				          "database did not answer");
				want = 0;
				ms = DB_RETRY_MS;
				break;
			}
		}
		if (wait_event(&p, nudge_fd, ms))
			want = 1;
	}
	stop_workers(&p, tot);
out:
	arena_release(&a);
	free(p.w);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	close(p.wake[0]);
	close(p.wake[1]);
	return rc;
}
