/*
 * Provisioning passes, reconciliation and import (lib/provision.h).
 *
 * A pass over one router, in rtrw-provision:
 *  1. lease the router (store_provision_lease(): one daemon per router);
 *  2. claim its due jobs in id order and mark them running (one short
 *     transaction; FOR UPDATE SKIP LOCKED);
 *  3. log in once (routerlink_connect());
 *  4. pipeline A: print the profiles and secrets the jobs concern, by
 *     name (".proplist" keeps replies small);
 *  5. pipeline B: profile add/set, then secret add/set/remove, then
 *     /ppp/active/print of the sessions to end, all tagged on the one
 *     connection; the router applies them in the order sent;
 *  6. pipeline C: /ppp/active/remove of the sessions found;
 *  7. record every job's outcome and every customer's router_state in
 *     one transaction, then give the lease back.
 * So a pass of 200 activations costs three round trips of pipelined
 * commands, not 200 logins.
 *
 * Failures.  A router that cannot be logged into (down, wrong password,
 * changed certificate), or whose connection breaks in the middle of a
 * pass, is paused as a whole with exponential back-off (1 s doubling up
 * to provision_router_pause_max_seconds, with jitter): its jobs go back
 * to pending with their attempts untouched and the router's error as
 * last_error.  The outcome of commands in flight when a connection
 * broke is unknown; the next pass prints again and converges, which is
 * why every step is idempotent.  A command the router refuses (a trap)
 * costs the job one attempt: it waits provision_retry_base_seconds
 * doubling up to provision_retry_max_seconds, with jitter, and fails
 * after max_attempts, raising provisioning_failed.  A job that cannot
 * succeed by waiting (a customer without a PPPoE name or password) fails
 * at once.
 */
#include "provision.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "arena.h"
#include "audit.h"
#include "config.h"
#include "crypto.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "routerlink.h"
#include "row.h"
#include "store/boost.h"
#include "store/customer.h"
#include "store/plan.h"
#include "store/provision.h"
#include "store/router.h"
#include "store/shared.h"
#include "util.h"
#include "valid.h"

#define ROUTERS_PER_ROUND 100
#define LEASE_SECONDS     120
#define GONE_MAX          8
#define PPPOE_PW_MAX      64
#define ERROR_MAX         300
#define PASS_ARENA_BYTES  (256L * 1024 * 1024)
#define SECRET_PROPLIST   ".id,name,password,profile,service,disabled,comment"
#define PROFILE_PROPLIST  ".id,name,rate-limit"

/* ---- Small helpers ---- */

void
provision_owner(char *out, size_t n)
{
	char host[64];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(out, n, "%s:%ld", host, (long)getpid());
}

void
provision_rate_limit(const struct plan *p, char *out, size_t n)
{
	int64_t up = p->speed_upload, down = p->speed_download;

	if (!p->burst_upload && !p->burst_download) {
		snprintf(out, n, "%" PRId64 "k/%" PRId64 "k", up, down);
		return;
	}
	snprintf(
	    out, n,
	    "%" PRId64 "k/%" PRId64 "k %" PRId64 "k/%" PRId64 "k %" PRId64
	    "k/%" PRId64 "k %" PRId64 "/%" PRId64 " %" PRId64,
	    up, down, p->burst_upload ? p->burst_upload : up,
	    p->burst_download ? p->burst_download : down,
	    p->burst_threshold_upload ? p->burst_threshold_upload : up,
	    p->burst_threshold_download ? p->burst_threshold_download : down,
	    p->burst_time ? p->burst_time : 8,
	    p->burst_time ? p->burst_time : 8, p->priority ? p->priority : 8);
}

int
provision_marker_code(const char *comment, char *out, size_t n)
{
	size_t pl = strlen(PROVISION_MARKER), len = 0;

	if (n)
		out[0] = '\0';
	if (!comment || strncmp(comment, PROVISION_MARKER, pl) != 0)
		return 0;
	comment += pl;
	while (comment[len] && comment[len] != ' ')
		len++;
	if (len == 0 || len >= n)
		return 0;
	memcpy(out, comment, len);
	out[len] = '\0';
	return 1;
}

/* The comment after the marker, or the whole comment without one. */
static const char *
comment_rest(const char *comment)
{
	char code[40];

	if (!comment)
		return "";
	if (!provision_marker_code(comment, code, sizeof(code)))
		return comment;
	comment += strlen(PROVISION_MARKER) + strlen(code);
	while (*comment == ' ')
		comment++;
	return comment;
}

/* The comment that marks a secret as code's, keeping what it said. */
static const char *
marked_comment(struct arena *a, const char *code, const char *old)
{
	const char *rest = comment_rest(old);

	return *rest ? arena_printf(a, PROVISION_MARKER "%s %s", code, rest)
	             : arena_printf(a, PROVISION_MARKER "%s", code);
}

static int
truthy(const char *v)
{
	return v && (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}

static int
same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Seconds of exponential back-off for the n-th failure, with jitter. */
static int64_t
backoff(int64_t n, int64_t base, int64_t cap)
{
	double d = (double)base;
	uint32_t r = 0;

	for (int64_t i = 1; i < n && d < (double)cap; i++)
		d *= 2;
	if (d > (double)cap)
		d = (double)cap;
	(void)random_bytes(&r, sizeof(r));
	d *= 0.5 + 0.5 * ((double)r / 4294967295.0);
	return d < 1 ? 1 : (int64_t)d;
}

/*
 * A PPPoE user name as the API accepts it (fcgi/customers.c): letters,
 * digits and . _ @ -, 1 to 64 bytes.
 */
static int
pppoe_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._@-", c)))
			return 0;
	}
	return 1;
}

/* Opens customer id's sealed PPPoE password into out; 0 or -1. */
static int
pppoe_password(const struct config *cfg, int64_t id, const struct bytes *enc,
               char *out, size_t cap)
{
	char aad[64];

	if (!enc->p || enc->n <= CRYPTO_OVERHEAD ||
	    enc->n - CRYPTO_OVERHEAD + 1 > cap)
		return -1;
	snprintf(aad, sizeof(aad), "customer:%" PRId64 ":pppoe", id);
	return crypto_open(cfg, aad, enc->p, enc->n, out, cap) < 0 ? -1 : 0;
}

/* ---- Plans as profiles ---- */

struct pplan {
	int64_t id;
	struct plan p;
	char rate[160];
};

struct plans {
	struct pplan *v;
	size_t n, cap;
};

/* The plan id (cached), or NULL when it does not exist or on error. */
static const struct pplan *
plan_for(struct tdb *t, struct arena *a, struct plans *ps, int64_t id)
{
	struct pplan *np;

	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].id == id)
			return &ps->v[i];
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 16;

		np = arena_alloc(a, cap * sizeof(*np));
		if (!np)
			return NULL;
		if (ps->n)
			memcpy(np, ps->v, ps->n * sizeof(*np));
		ps->v = np;
		ps->cap = cap;
	}
	np = &ps->v[ps->n];
	if (store_plan_get(t, id, &np->p) != 1)
		return NULL;
	np->id = id;
	provision_rate_limit(&np->p, np->rate, sizeof(np->rate));
	ps->n++;
	return np;
}

/* ---- What a customer should be on the router ---- */

struct target {
	int64_t customer_id;
	char code[32];
	const char *name;           /* the wanted secret; NULL: none wanted */
	char *password;             /* in the pass's arena; wiped at the end */
	const char *profile;        /* profile name */
	size_t prof;                /* index into the pass's profiles */
	int disabled, kick;         /* suspended; end the session anyway */
	const char *gone[GONE_MAX]; /* names of ours that must go */
	size_t ngone;
	/* Found by pipeline A. */
	const struct ros_item *found;
	const struct ros_item *found_gone[GONE_MAX];
	/* Outcome. */
	int skip;      /* left alone (sync: the secret is not ours) */
	int broken;    /* the connection broke first: outcome unknown */
	int permanent; /* error that waiting cannot fix */
	char error[ERROR_MAX];
	int changed; /* something was written for it */
};

struct profile_want {
	const char *name, *rate;
	const struct ros_item *found;
	char error[ERROR_MAX];
};

/* A growing list of tagged commands and who each belongs to. */
struct pipe {
	struct ros_cmd **cmds;
	struct ros_result *res;
	long *who; /* target index, or -1 - profile index */
	int *kind;
	size_t n, cap;
};

enum cmd_kind {
	K_PROFILE_PRINT,
	K_SECRET_PRINT,
	K_GONE_PRINT,
	K_PROFILE_WRITE,
	K_SECRET_WRITE,
	K_GONE_REMOVE,
	K_ACTIVE_PRINT,
	K_ACTIVE_REMOVE,
	K_COMMENT,
};

static int
pipe_init(struct pipe *p, struct arena *a, size_t cap)
{
	memset(p, 0, sizeof(*p));
	p->cap = cap ? cap : 1;
	p->cmds = arena_alloc(a, p->cap * sizeof(*p->cmds));
	p->res = arena_alloc(a, p->cap * sizeof(*p->res));
	p->who = arena_alloc(a, p->cap * sizeof(*p->who));
	p->kind = arena_alloc(a, p->cap * sizeof(*p->kind));
	return p->cmds && p->res && p->who && p->kind ? 0 : -1;
}

static void
pipe_add(struct pipe *p, struct ros_cmd *c, long who, int kind)
{
	if (p->n == p->cap)
		abort(); /* the caller sized the pipe: a bug, not input */
	p->cmds[p->n] = c;
	p->who[p->n] = who;
	p->kind[p->n] = kind;
	p->n++;
}

/*
 * Runs p on c.  0 when every command got its reply (check each status),
 * -1 when the connection broke or a command was refused before sending
 * (err says which).
 */
static int
pipe_run(struct ros_conn *c, struct pipe *p, struct arena *a,
         struct ros_error *err)
{
	if (p->n == 0)
		return 0;
	return ros_pipeline(c, p->cmds, p->n, a, p->res, err);
}

static void set_error(struct target *tg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the first error of a target (the cause, not its echoes). */
static void
set_error(struct target *tg, const char *fmt, ...)
{
	va_list ap;

	if (tg->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(tg->error, sizeof(tg->error), fmt, ap);
	va_end(ap);
}

static struct ros_cmd *
secret_print(struct arena *a, const char *name)
{
	return ros_cmd_find(a, "/ppp/secret", "name", name, strlen(name),
	                    SECRET_PROPLIST);
}

/* Adds name to tg's names to remove unless it is there or wanted. */
static void
add_gone(struct target *tg, const char *name)
{
	if (!name || !*name || (tg->name && strcmp(tg->name, name) == 0))
		return;
	for (size_t i = 0; i < tg->ngone; i++)
		if (strcmp(tg->gone[i], name) == 0)
			return;
	if (tg->ngone < GONE_MAX)
		tg->gone[tg->ngone++] = name;
}

/* Index of the profile name in pw (adding it); rate from the plan. */
static size_t
profile_index(struct profile_want *pw, size_t *n, const char *name,
              const char *rate)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(pw[i].name, name) == 0)
			return i;
	pw[*n].name = name;
	pw[*n].rate = rate;
	pw[*n].found = NULL;
	pw[*n].error[0] = '\0';
	return (*n)++;
}

/*
 * Fills tg with what customer cs should be on router_id.  The caller
 * has zeroed tg.  Errors that no retry can fix are permanent.
 */
static int
want_customer(const struct config *cfg, struct tdb *t, struct arena *a,
              struct plans *plans, int64_t router_id,
              const struct customer_secret *cs, struct target *tg)
{
	const struct pplan *pp;
	int64_t plan_id;
	int rc;

	tg->customer_id = cs->id;
	snprintf(tg->code, sizeof(tg->code), "%s", cs->customer_code);
	if (cs->deleted || cs->router_id != router_id ||
	    (strcmp(cs->status, "active") != 0 &&
	     strcmp(cs->status, "suspended") != 0)) {
		if (cs->router_id == router_id)
			add_gone(tg, cs->pppoe_username);
		return 0;
	}
	tg->name = cs->pppoe_username;
	tg->disabled = strcmp(cs->status, "suspended") == 0;
	if (!tg->name) {
		tg->permanent = 1;
		set_error(tg, "customer %s has no pppoe_username", tg->code);
		return 0;
	}
	tg->password = arena_alloc(a, PPPOE_PW_MAX * 4 + 1);
	if (!tg->password)
		return -1;
	if (pppoe_password(cfg, cs->id, &cs->password_enc, tg->password,
	                   PPPOE_PW_MAX * 4 + 1) < 0) {
		explicit_bzero(tg->password, PPPOE_PW_MAX * 4 + 1);
		tg->permanent = 1;
		set_error(tg, "customer %s has no pppoe_password", tg->code);
		return 0;
	}
	rc = store_boost_effective_plan(t, cs->id, &plan_id);
	if (rc < 0)
		return -1;
	pp = rc ? plan_for(t, a, plans, plan_id) : NULL;
	if (!pp) {
		tg->permanent = 1;
		set_error(tg, "customer %s has no plan", tg->code);
		return 0;
	}
	tg->profile = pp->p.mikrotik_profile;
	return 0;
}

/* Registers the profile tg runs at, with its plan's rate-limit. */
static void
want_profile(struct target *tg, struct plans *plans, struct profile_want *pw,
             size_t *npw)
{
	if (!tg->profile || tg->error[0])
		return;
	for (size_t i = 0; i < plans->n; i++)
		if (strcmp(plans->v[i].p.mikrotik_profile, tg->profile) == 0) {
			tg->prof = profile_index(pw, npw, tg->profile,
			                         plans->v[i].rate);
			return;
		}
}

/*
 * Is a trap a success?  Removing what is already gone is: the goal is
 * that it is gone.  RouterOS adds a code to some messages ("no such item
 * (4)"), so compare by prefix.
 */
static int
gone_ok(const struct ros_result *res)
{
	return res->status == ROS_OK ||
	       (res->status == ROS_ERR_TRAP &&
	        strncmp(ros_result_message(res), "no such item", 12) == 0);
}

/*
 * Brings the router to what the targets want (the pipelines A, B, C of
 * the file comment).  Each target ends with error set, broken set or
 * neither (done).  Returns 0, or -1 when the connection broke (err).
 */
static int
converge(struct ros_conn *c, struct arena *a, struct target *tg, size_t nt,
         struct profile_want *pw, size_t npw, struct ros_error *err)
{
	struct pipe A, B, C;
	size_t cap = npw + nt * (GONE_MAX + 1) + 1;

	if (pipe_init(&A, a, cap) < 0 || pipe_init(&B, a, 2 * cap + npw) < 0 ||
	    pipe_init(&C, a, cap) < 0)
		return -1;
	for (size_t i = 0; i < npw; i++)
		pipe_add(&A,
		         ros_cmd_find(a, "/ppp/profile", "name", pw[i].name,
		                      strlen(pw[i].name), PROFILE_PROPLIST),
		         -1 - (long)i, K_PROFILE_PRINT);
	for (size_t i = 0; i < nt; i++) {
		if (tg[i].error[0] || tg[i].skip)
			continue;
		if (tg[i].name)
			pipe_add(&A, secret_print(a, tg[i].name), (long)i,
			         K_SECRET_PRINT);
		for (size_t g = 0; g < tg[i].ngone; g++)
			pipe_add(&A, secret_print(a, tg[i].gone[g]),
			         (long)(i * GONE_MAX + g), K_GONE_PRINT);
	}
	if (pipe_run(c, &A, a, err) < 0)
		goto out_broken;
	for (size_t k = 0; k < A.n; k++) {
		const struct ros_result *r = &A.res[k];
		const char *msg = ros_result_message(r);

		switch (A.kind[k]) {
		case K_PROFILE_PRINT:
			if (r->status != ROS_OK)
				snprintf(pw[-1 - A.who[k]].error, ERROR_MAX,
				         "%s", msg);
			else
				pw[-1 - A.who[k]].found = r->items;
			break;
		case K_SECRET_PRINT:
			if (r->status != ROS_OK)
				set_error(&tg[A.who[k]], "%s", msg);
			else
				tg[A.who[k]].found = r->items;
			break;
		default: {
			struct target *t = &tg[A.who[k] / GONE_MAX];

			if (r->status != ROS_OK)
				set_error(t, "%s", msg);
			else
				t->found_gone[A.who[k] % GONE_MAX] = r->items;
			break;
		}
		}
	}

	/* B: profiles first, then secrets, then the sessions to end. */
	for (size_t i = 0; i < npw; i++) {
		struct ros_cmd *cmd;
		const char *rate;

		if (pw[i].error[0])
			continue;
		rate = pw[i].found ? ros_item_get(pw[i].found, "rate-limit")
		                   : NULL;
		if (pw[i].found && same(rate, pw[i].rate))
			continue;
		if (pw[i].found) {
			cmd = ros_cmd_new(a, "/ppp/profile/set");
			ros_cmd_attr(cmd, ".id",
			             ros_item_get(pw[i].found, ".id"));
		} else {
			cmd = ros_cmd_new(a, "/ppp/profile/add");
			ros_cmd_attr(cmd, "name", pw[i].name);
		}
		ros_cmd_attr(cmd, "rate-limit", pw[i].rate);
		pipe_add(&B, cmd, -1 - (long)i, K_PROFILE_WRITE);
	}
	for (size_t i = 0; i < nt; i++) {
		struct target *t = &tg[i];
		const struct ros_item *f = t->found;
		int kick = 0;

		if (t->error[0] || t->skip)
			continue;
		if (t->name && t->profile && pw[t->prof].error[0]) {
			set_error(t, "profile %s: %.200s", t->profile,
			          pw[t->prof].error);
			continue;
		}
		if (t->name && f) {
			char code[40];
			struct ros_cmd *cmd = ros_cmd_new(a, "/ppp/secret/set");
			const char *comment = ros_item_get(f, "comment");
			int n = 0,
			    was_disabled = truthy(ros_item_get(f, "disabled"));

			if (provision_marker_code(comment, code,
			                          sizeof(code)) &&
			    strcmp(code, t->code) != 0) {
				set_error(t,
				          "secret %s carries the marker of "
				          "customer %s",
				          t->name, code);
				continue;
			}
			ros_cmd_attr(cmd, ".id", ros_item_get(f, ".id"));
			if (!same(ros_item_get(f, "password"), t->password) &&
			    ++n)
				ros_cmd_attr(cmd, "password", t->password);
			if (!same(ros_item_get(f, "profile"), t->profile)) {
				ros_cmd_attr(cmd, "profile", t->profile);
				n++;
				kick = 1;
			}
			if (!same(ros_item_get(f, "service"), "pppoe") && ++n)
				ros_cmd_attr(cmd, "service", "pppoe");
			if (was_disabled != t->disabled && ++n)
				ros_cmd_attr(cmd, "disabled",
				             t->disabled ? "yes" : "no");
			if (!provision_marker_code(comment, code,
			                           sizeof(code)) &&
			    ++n)
				ros_cmd_attr(
				    cmd, "comment",
				    marked_comment(a, t->code, comment));
			if (n) {
				pipe_add(&B, cmd, (long)i, K_SECRET_WRITE);
				t->changed = 1;
			}
			if (t->disabled || t->kick)
				kick = 1;
		} else if (t->name) {
			struct ros_cmd *cmd = ros_cmd_new(a, "/ppp/secret/add");

			ros_cmd_attr(cmd, "name", t->name);
			ros_cmd_attr(cmd, "password", t->password);
			ros_cmd_attr(cmd, "profile", t->profile);
			ros_cmd_attr(cmd, "service", "pppoe");
			ros_cmd_attr(cmd, "disabled",
			             t->disabled ? "yes" : "no");
			ros_cmd_attr(cmd, "comment",
			             marked_comment(a, t->code, NULL));
			pipe_add(&B, cmd, (long)i, K_SECRET_WRITE);
			t->changed = 1;
		}
		for (size_t g = 0; g < t->ngone; g++) {
			const struct ros_item *gf = t->found_gone[g];
			char code[40];
			struct ros_cmd *cmd;

			if (!gf ||
			    !provision_marker_code(ros_item_get(gf, "comment"),
			                           code, sizeof(code)) ||
			    strcmp(code, t->code) != 0)
				continue; /* not ours: never touched */
			cmd = ros_cmd_new(a, "/ppp/secret/remove");
			ros_cmd_attr(cmd, ".id", ros_item_get(gf, ".id"));
			pipe_add(&B, cmd, (long)i, K_GONE_REMOVE);
			pipe_add(&B,
			         ros_cmd_find(a, "/ppp/active", "name",
			                      t->gone[g], strlen(t->gone[g]),
			                      ".id"),
			         (long)i, K_ACTIVE_PRINT);
			t->changed = 1;
		}
		if (kick && t->name)
			pipe_add(&B,
			         ros_cmd_find(a, "/ppp/active", "name", t->name,
			                      strlen(t->name), ".id"),
			         (long)i, K_ACTIVE_PRINT);
	}
	if (pipe_run(c, &B, a, err) < 0)
		goto out_broken;
	for (size_t k = 0; k < B.n; k++) {
		const struct ros_result *r = &B.res[k];
		const char *msg = ros_result_message(r);

		if (B.kind[k] == K_PROFILE_WRITE) {
			if (r->status != ROS_OK)
				snprintf(pw[-1 - B.who[k]].error, ERROR_MAX,
				         "%s", msg);
			continue;
		}
		switch (B.kind[k]) {
		case K_SECRET_WRITE:
			if (r->status != ROS_OK)
				set_error(&tg[B.who[k]], "%s", msg);
			break;
		case K_GONE_REMOVE:
			if (!gone_ok(r))
				set_error(&tg[B.who[k]], "%s", msg);
			break;
		case K_ACTIVE_PRINT:
			if (r->status != ROS_OK) {
				set_error(&tg[B.who[k]], "%s", msg);
				break;
			}
			for (const struct ros_item *it = r->items; it;
			     it = it->next) {
				struct ros_cmd *cmd;

				/*
				 * RouterOS keeps one session per secret: a
				 * router that lists more than we planned for
				 * gets an error, not a crash.
				 */
				if (C.n == C.cap) {
					set_error(&tg[B.who[k]],
					          "the router lists too many "
					          "sessions");
					break;
				}
				cmd = ros_cmd_new(a, "/ppp/active/remove");
				ros_cmd_attr(cmd, ".id",
				             ros_item_get(it, ".id"));
				pipe_add(&C, cmd, B.who[k], K_ACTIVE_REMOVE);
			}
			break;
		default:
			break;
		}
	}
	/* A profile that could not be written fails those who use it. */
	for (size_t i = 0; i < nt; i++)
		if (tg[i].name && tg[i].profile && !tg[i].error[0] &&
		    pw[tg[i].prof].error[0])
			set_error(&tg[i], "profile %s: %.200s", tg[i].profile,
			          pw[tg[i].prof].error);
	if (pipe_run(c, &C, a, err) < 0)
		goto out_broken;
	for (size_t k = 0; k < C.n; k++)
		if (!gone_ok(&C.res[k]))
			set_error(&tg[C.who[k]], "%s",
			          ros_result_message(&C.res[k]));
	return 0;
out_broken:
	for (size_t i = 0; i < nt; i++)
		if (!tg[i].error[0] && !tg[i].skip)
			tg[i].broken = 1;
	return -1;
}

/* Wipes every password of the targets. */
static void
wipe_targets(struct target *tg, size_t nt)
{
	for (size_t i = 0; i < nt; i++)
		if (tg[i].password)
			explicit_bzero(tg[i].password, PPPOE_PW_MAX * 4 + 1);
}

int
provision_queue_plan(struct tdb *t, int64_t plan_id, const char *profile,
                     int64_t *n)
{
	struct rows cs;

	*n = 0;
	if (tdb_begin(t) < 0)
		return -1;
	if (store_customer_on_plan(t, plan_id, &cs) < 0)
		goto out_rollback;
	for (size_t i = 0; i < cs.n; i++) {
		const struct customer *c = rows_at(&cs, i);
		cJSON *p = cJSON_CreateObject();
		char *text;
		int rc;

		if (!p)
			goto out_rollback;
		json_add_int(p, "customer_id", c->id);
		cJSON_AddStringToObject(p, "customer_code", c->customer_code);
		json_add_str_or_null(p, "pppoe_username", c->pppoe_username);
		json_add_int(p, "service_plan_id", c->service_plan_id);
		json_add_str_or_null(p, "profile", profile);
		cJSON_AddStringToObject(p, "reason", "plan_changed");
		text = cJSON_PrintUnformatted(p);
		cJSON_Delete(p);
		if (!text)
			goto out_rollback;
		rc =
		    store_customer_lock_any(t, c->id) < 0 ||
		            store_customer_queue_job(t, c->id, c->router_id,
		                                     "change_profile", text) < 0
		        ? -1
		        : 0;
		cJSON_free(text);
		if (rc < 0)
			goto out_rollback;
	}
	if (tdb_commit(t) < 0)
		goto out_rollback;
	*n = (int64_t)cs.n;
	return 0;
out_rollback:
	tdb_rollback(t);
	return -1;
}

/* ---- The daemon's pass over one router ---- */

/*
 * Adds the names a job's payload gives (the name when it was queued and
 * the one before a rename) to tg's names to remove; add_gone() keeps the
 * wanted one.
 */
static void
payload_names(struct arena *a, const char *payload, struct target *tg)
{
	static const char *const keys[] = {"pppoe_username",
	                                   "previous_pppoe_username"};
	cJSON *j = payload ? cJSON_Parse(payload) : NULL;

	for (size_t i = 0; j && i < 2; i++) {
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, keys[i]);

		if (cJSON_IsString(u))
			add_gone(tg, arena_strdup(a, u->valuestring));
	}
	cJSON_Delete(j);
}

/*
 * Records the pause of a router that failed a pass, in its own
 * transaction, with the offline status when the login failed (the jobs
 * go back to pending in record_jobs()).  0 or -1.
 */
static int
record_router_failure(struct provisioner *pv, struct tdb *t, int64_t router_id,
                      const struct ros_error *err, int login_failed)
{
	int64_t failures = 0;

	if (tdb_begin(t) < 0)
		return -1;
	if (store_provision_router_failures(t, router_id, &failures) < 0 ||
	    store_provision_router_result(
	        t, router_id, 0,
	        backoff(failures + 1, 1,
	                pv->cfg->provision_router_pause_max_seconds)) < 0)
		goto out_rollback;
	/*
	 * A connection that broke after a good login says the router is
	 * there but unreliable: it stays online, the pause still applies.
	 */
	if (login_failed &&
	    routerlink_record(t, router_id, err, NULL, NULL) < 0)
		goto out_rollback;
	if (tdb_commit(t) < 0)
		goto out_rollback;
	pv->router_failures++;
	return 0;
out_rollback:
	tdb_rollback(t);
	return -1;
}

/*
 * Records customer id's router_state and router_error (see
 * store_customer_router_result()) and, when they changed, writes a
 * customer:updated event with the customer, so that a panel showing
 * "pending on router" learns that the router confirmed.  0 or -1.
 */
static int
record_customer(struct tdb *t, int64_t id, const char *state, const char *error)
{
	struct customer before, after;
	cJSON *ev;
	int had = store_customer_get(t, id, &before), rc;

	if (had < 0 || store_customer_router_result(t, id, state, error) < 0)
		return -1;
	if (had == 0 || store_customer_get(t, id, &after) != 1)
		return 0; /* deleted: nobody shows it any more */
	if (same(before.router_state, after.router_state) &&
	    same(before.router_error, after.router_error))
		return 0;
	ev = row_json(&customer_row, &after);
	if (!ev)
		return -1;
	rc = event_emit(t, "customer:updated", "customer", id, ev);
	cJSON_Delete(ev);
	return rc;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Locks the targets' customers in id order; 0 or -1. */
static int
lock_customers(struct tdb *t, const struct target *tg, size_t nt)
{
	int64_t *ids = nt ? xcalloc(nt, sizeof(*ids)) : NULL;
	int rc = 0;

	for (size_t i = 0; i < nt; i++)
		ids[i] = tg[i].customer_id;
	if (nt)
		qsort(ids, nt, sizeof(*ids), cmp_id);
	for (size_t i = 0; i < nt && rc == 0; i++)
		if (store_customer_lock_any(t, ids[i]) < 0)
			rc = -1;
	free(ids);
	return rc;
}

/* Records every job's outcome and the customers' states; 0 or -1. */
static int
record_jobs(struct provisioner *pv, struct tdb *t, int64_t router_id,
            const struct rows *jobs, const size_t *job_target,
            struct target *tg, size_t nt, const char *router_error)
{
	const struct config *cfg = pv->cfg;

	if (tdb_begin(t) < 0)
		return -1;
	/*
	 * Customers first, in id order, as the API locks them before their
	 * jobs: then neither waits for the other in a circle.
	 */
	if (lock_customers(t, tg, nt) < 0)
		goto out_rollback;
	for (size_t i = 0; i < jobs->n; i++) {
		const struct provision_job *j = rows_at(jobs, i);
		struct target *x =
		    job_target[i] == (size_t)-1 ? NULL : &tg[job_target[i]];
		int rc;

		if (!x) {
			rc = store_provision_finish(t, j->id, "done", 0, 0,
			                            NULL);
			pv->jobs_done++;
		} else if (x->broken || router_error) {
			rc = store_provision_finish(
			    t, j->id, "pending", 0, 0,
			    router_error ? router_error
			                 : "the connection to the router "
			                   "broke; the job is applied again");
		} else if (x->error[0]) {
			int64_t tries = j->attempts + 1;

			if (x->permanent || tries >= j->max_attempts) {
				rc = store_provision_finish(t, j->id, "failed",
				                            1, 0, x->error);
				pv->jobs_failed++;
			} else {
				rc = store_provision_finish(
				    t, j->id, "pending", 1,
				    backoff(tries,
				            cfg->provision_retry_base_seconds,
				            cfg->provision_retry_max_seconds),
				    x->error);
				pv->jobs_retried++;
			}
		} else {
			rc = store_provision_finish(t, j->id, "done", 1, 0,
			                            NULL);
			pv->jobs_done++;
		}
		if (rc < 0)
			goto out_rollback;
	}
	for (size_t i = 0; i < nt; i++) {
		struct target *x = &tg[i];
		char subject[24], msg[500];
		const char *err;
		int failed = 0;

		snprintf(subject, sizeof(subject), "%" PRId64, x->customer_id);
		err = router_error  ? router_error
		      : x->broken   ? "the connection to the router "
		                      "broke; waiting to apply again"
		      : x->error[0] ? x->error
		                    : NULL;
		/* Did one of its jobs just fail for good? */
		for (size_t k = 0;
		     k < jobs->n && x->error[0] && !x->broken && !router_error;
		     k++) {
			const struct provision_job *j = rows_at(jobs, k);

			if (job_target[k] == i &&
			    (x->permanent ||
			     j->attempts + 1 >= j->max_attempts))
				failed = 1;
		}
		if (record_customer(t, x->customer_id,
		                    err ? "failed" : "synced", err) < 0)
			goto out_rollback;
		if (failed) {
			/*
			 * The alert (and its alert:created event) is all:
			 * the mailer has no provisioning_failed template
			 * (lib/template.c), so no email is queued.
			 */
			snprintf(msg, sizeof(msg),
			         "provisioning customer %s on router %" PRId64
			         " failed: %s",
			         x->code, router_id, x->error);
			if (alert_raise(t, "provisioning_failed", "customer",
			                subject, msg, NULL) < 0)
				goto out_rollback;
		} else if (!err && alert_resolve(t, "provisioning_failed",
		                                 "customer", subject) < 0) {
			goto out_rollback;
		}
	}
	if (tdb_commit(t) < 0)
		goto out_rollback;
	return 0;
out_rollback:
	tdb_rollback(t);
	return -1;
}

/* One pass over router_id of tenant_id; the number of jobs, or -1. */
static int
provision_router(struct provisioner *pv, struct arena *a, int64_t tenant_id,
                 int64_t router_id)
{
	const struct config *cfg = pv->cfg;
	struct tdb *t = tdb_open(pv->db, a, tenant_id);
	struct router_secret rs;
	struct routerlink_info info;
	struct ros_error err;
	struct ros_conn *c = NULL;
	struct rows jobs;
	struct plans plans = {0};
	struct target *tg = NULL;
	struct profile_want *pw = NULL;
	size_t *job_target = NULL, nt = 0, npw = 0;
	char router_error[400];
	int rc, n = -1;

	if (!t)
		return -1;
	rc = store_provision_lease(t, router_id, pv->owner, LEASE_SECONDS);
	if (rc <= 0)
		return rc;
	rc = store_router_secret(t, router_id, &rs);
	if (rc < 0)
		goto out_release;
	if (rc == 0) {
		/* Deleted: nothing will ever apply these jobs. */
		n = store_provision_fail_router(t, router_id,
		                                "the router was deleted") < 0
		        ? -1
		        : 0;
		goto out_release;
	}
	if (tdb_begin(t) < 0)
		goto out_release;
	if (store_provision_claim(t, router_id, cfg->provision_batch,
	                          cfg->provision_max_attempts, &jobs) < 0 ||
	    tdb_commit(t) < 0) {
		tdb_rollback(t);
		goto out_release;
	}
	if (jobs.n == 0) {
		n = 0;
		goto out_release;
	}
	pv->passes++;
	tg = arena_zalloc(a, jobs.n * sizeof(*tg));
	pw = arena_zalloc(a, (jobs.n + 1) * sizeof(*pw));
	job_target = arena_alloc(a, jobs.n * sizeof(*job_target));
	if (!tg || !pw || !job_target)
		goto out_release;
	for (size_t i = 0; i < jobs.n; i++) {
		const struct provision_job *j = rows_at(&jobs, i);
		struct customer_secret cs;
		size_t k;

		job_target[i] = (size_t)-1;
		if (!j->customer_id)
			continue;
		for (k = 0; k < nt; k++)
			if (tg[k].customer_id == j->customer_id)
				break;
		if (k == nt) {
			rc = store_customer_secret(t, j->customer_id, &cs);
			if (rc < 0)
				goto out_wipe;
			if (rc == 0)
				continue;
			if (want_customer(cfg, t, a, &plans, router_id, &cs,
			                  &tg[nt]) < 0)
				goto out_wipe;
			nt++;
		}
		job_target[i] = k;
		payload_names(a, j->payload, &tg[k]);
		if (strcmp(j->action, "change_profile") == 0)
			tg[k].kick = 1;
	}
	for (size_t i = 0; i < nt; i++)
		want_profile(&tg[i], &plans, pw, &npw);

	c = routerlink_connect(cfg, &rs, 0, a, &info, &err);
	if (!c) {
		routerlink_error_text(&err, router_error, sizeof(router_error));
		log_warn("router %" PRId64 " of tenant %" PRId64
		         " not reached: %s; its %zu job(s) wait",
		         router_id, tenant_id, router_error, jobs.n);
		if (record_router_failure(pv, t, router_id, &err, 1) < 0 ||
		    record_jobs(pv, t, router_id, &jobs, job_target, tg, nt,
		                router_error) < 0)
			goto out_wipe;
		n = (int)jobs.n;
		goto out_wipe;
	}
	if (tdb_begin(t) < 0 ||
	    store_provision_router_result(t, router_id, 1, 0) < 0 ||
	    routerlink_record(t, router_id, NULL, &info, NULL) < 0 ||
	    tdb_commit(t) < 0) {
		tdb_rollback(t);
		goto out_wipe;
	}
	if (converge(c, a, tg, nt, pw, npw, &err) < 0) {
		routerlink_error_text(&err, router_error, sizeof(router_error));
		log_warn("router %" PRId64 " of tenant %" PRId64
		         " broke off during a pass: %s",
		         router_id, tenant_id, router_error);
		if (record_router_failure(pv, t, router_id, &err, 0) < 0)
			goto out_wipe;
	}
	if (record_jobs(pv, t, router_id, &jobs, job_target, tg, nt, NULL) < 0)
		goto out_wipe;
	n = (int)jobs.n;
out_wipe:
	wipe_targets(tg, nt);
	ros_close(c);
out_release:
	if (store_provision_release(t, router_id, pv->owner) < 0)
		n = -1;
	return n;
}

int
provision_pass(struct provisioner *pv, int64_t tenant_id, int64_t router_id)
{
	struct arena pass;
	int n;

	arena_init(&pass, (size_t)PASS_ARENA_BYTES);
	n = provision_router(pv, &pass, tenant_id, router_id);
	arena_release(&pass);
	return n;
}

int
provision_round(struct provisioner *pv)
{
	struct arena a;
	struct rows due;
	int total = 0;

	arena_init(&a, (size_t)PASS_ARENA_BYTES);
	if (store_provision_due(pv->db, &a, ROUTERS_PER_ROUND, &due) < 0) {
		arena_release(&a);
		return -1;
	}
	for (size_t i = 0; i < due.n; i++) {
		const struct provision_due *d = rows_at(&due, i);
		int n = provision_pass(pv, d->tenant_id, d->id);

		if (n < 0) {
			log_error("provisioning pass failed: router %" PRId64
			          " of tenant %" PRId64
			          ": the database did not answer",
			          d->id, d->tenant_id);
			total = -1;
			break;
		}
		total += n;
	}
	arena_release(&a);
	return total;
}

/* ---- Reconciliation and import ---- */

/*
 * Takes router_id's lease, waiting up to a second for a pass that holds
 * it.  1 taken, 0 busy, -1 error, -2 no such router.
 */
static int
lease_wait(struct tdb *t, int64_t router_id, const char *owner)
{
	struct router rt;
	int found = store_router_get(t, router_id, &rt);

	/* A router of another tenant is absent, never busy. */
	if (found <= 0)
		return found < 0 ? -1 : -2;
	for (int i = 0; i < 10; i++) {
		int rc =
		    store_provision_lease(t, router_id, owner, LEASE_SECONDS);
		struct timespec ts = {0, 100 * 1000000L};

		if (rc != 0)
			return rc;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/*
 * Logs into the router for a sync or an import and records what the
 * login found in its own transaction.  The connection, or NULL with
 * *st set.
 */
static struct ros_conn *
open_for_request(const struct config *cfg, struct tdb *t, struct arena *a,
                 int64_t router_id, struct ros_error *err,
                 enum provision_status *st)
{
	struct router_secret rs;
	struct routerlink_info info;
	struct ros_conn *c;
	int rc = store_router_secret(t, router_id, &rs);

	if (rc <= 0) {
		*st = rc == 0 ? PROVISION_GONE : PROVISION_ERROR;
		return NULL;
	}
	c = routerlink_connect(cfg, &rs, 1, a, &info, err);
	if (tdb_begin(t) < 0 ||
	    routerlink_record(t, router_id, c ? NULL : err, &info, NULL) < 0 ||
	    (c && store_provision_router_result(t, router_id, 1, 0) < 0) ||
	    tdb_commit(t) < 0) {
		tdb_rollback(t);
		ros_close(c);
		*st = PROVISION_ERROR;
		return NULL;
	}
	if (!c)
		*st = PROVISION_ROUTER;
	return c;
}

/* The item of items whose name is name, or NULL. */
static const struct ros_item *
item_named(const struct ros_item *items, const char *name)
{
	for (const struct ros_item *it = items; it; it = it->next)
		if (same(ros_item_get(it, "name"), name))
			return it;
	return NULL;
}

/* Appends one difference to changes; the new object, or NULL. */
static cJSON *
add_change(cJSON *changes, const char *kind, const char *name,
           const char *problem, const char *action)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "name", name ? name : "");
	cJSON_AddStringToObject(o, "problem", problem);
	cJSON_AddStringToObject(o, "action", action);
	cJSON_AddItemToArray(changes, o);
	return o;
}

/*
 * Reports a secret that carries our marker (customer code) but belongs
 * to no active or suspended customer on this router: the customer was
 * terminated, deleted or moved and its terminate job never succeeded, a
 * rename left the old secret, or the marker was copied by hand or came
 * with a restored router backup.  It is reported, never removed:
 *  - the marker is only a comment, which anyone with access to the
 *    router can write or copy, so "ours" is a claim sync cannot prove;
 *  - "no such customer" may be this moment's truth only: a move or a
 *    termination whose job is still queued removes the secret itself,
 *    with its order, retries and audit trail, and a sync that removed it
 *    as well would race that job;
 *  - removing a secret cuts off whoever uses it, maybe a paying
 *    household whose row was deleted by mistake; a report costs nothing.
 * The change names the customer code, and the customer's id when a live
 * customer of this router has it (a pending or terminated one), so that
 * the operator can terminate it again, retry its failed job, or remove
 * the secret by hand.
 */
static void
add_orphan(cJSON *changes, const char *name, const char *code,
           const struct rows *custs)
{
	const struct customer_secret *owner = NULL;
	cJSON *o;

	for (size_t i = 0; i < custs->n && !owner; i++) {
		const struct customer_secret *cs = rows_at(custs, i);

		if (same(cs->customer_code, code))
			owner = cs;
	}
	o = add_change(changes, "secret", name, "orphaned", "reported");
	if (!o)
		return;
	cJSON_AddStringToObject(o, "customer_code", code);
	if (owner)
		json_add_int(o, "customer_id", owner->id);
	else
		cJSON_AddNullToObject(o, "customer_id");
}

enum provision_status
provision_sync(const struct config *cfg, struct tdb *t, struct arena *a,
               int64_t router_id, int dry_run, const char *owner,
               cJSON *changes, struct ros_error *err)
{
	struct ros_conn *c = NULL;
	struct ros_cmd *cmds[2];
	struct ros_result res[2];
	struct rows custs;
	struct plans plans = {0};
	struct target *tg = NULL;
	struct profile_want *pw = NULL;
	size_t nt = 0, npw = 0;
	enum provision_status st = PROVISION_ERROR;
	const char *act = dry_run ? "none" : "updated";
	int rc;

	memset(err, 0, sizeof(*err));
	rc = lease_wait(t, router_id, owner);
	if (rc <= 0)
		return rc == 0    ? PROVISION_BUSY
		       : rc == -2 ? PROVISION_GONE
		                  : PROVISION_ERROR;
	c = open_for_request(cfg, t, a, router_id, err, &st);
	if (!c)
		goto out_release;
	st = PROVISION_ERROR;
	cmds[0] = ros_cmd_new(a, "/ppp/secret/print");
	ros_cmd_attr(cmds[0], ".proplist", SECRET_PROPLIST);
	cmds[1] = ros_cmd_new(a, "/ppp/profile/print");
	ros_cmd_attr(cmds[1], ".proplist", PROFILE_PROPLIST);
	if (ros_pipeline(c, cmds, 2, a, res, err) < 0 ||
	    res[0].status != ROS_OK || res[1].status != ROS_OK) {
		if (!err->code)
			*err = (struct ros_error){.code = ROS_ERR_TRAP};
		st = PROVISION_ROUTER;
		goto out_close;
	}
	if (store_customer_on_router(t, router_id, &custs) < 0)
		goto out_close;
	tg = arena_zalloc(a, (custs.n + 1) * sizeof(*tg));
	pw = arena_zalloc(a, (custs.n + 1) * sizeof(*pw));
	if (!tg || !pw)
		goto out_close;
	for (size_t i = 0; i < custs.n; i++) {
		const struct customer_secret *cs = rows_at(&custs, i);

		if (strcmp(cs->status, "active") != 0 &&
		    strcmp(cs->status, "suspended") != 0)
			continue;
		if (want_customer(cfg, t, a, &plans, router_id, cs, &tg[nt]) <
		    0)
			goto out_wipe;
		tg[nt].ngone = 0; /* sync repairs; it does not rename */
		nt++;
	}
	for (size_t i = 0; i < nt; i++)
		want_profile(&tg[i], &plans, pw, &npw);

	/* Profiles: missing or with another rate-limit. */
	for (size_t i = 0; i < npw; i++) {
		const struct ros_item *f = item_named(res[1].items, pw[i].name);

		if (!f)
			add_change(changes, "profile", pw[i].name, "missing",
			           dry_run ? "none" : "created");
		else if (!same(ros_item_get(f, "rate-limit"), pw[i].rate))
			add_change(changes, "profile", pw[i].name, "rate_limit",
			           act);
	}
	/*
	 * Secrets: each customer's against the router's.  One that exists
	 * without the marker (or with another customer's) is reported and
	 * left alone, and so is the customer: sync never adopts.
	 */
	for (size_t i = 0; i < nt; i++) {
		struct target *x = &tg[i];
		const struct ros_item *f;
		char code[40];

		if (x->error[0] || !x->name)
			continue;
		f = item_named(res[0].items, x->name);
		if (!f) {
			add_change(changes, "secret", x->name, "missing",
			           dry_run ? "none" : "created");
			continue;
		}
		if (!provision_marker_code(ros_item_get(f, "comment"), code,
		                           sizeof(code))) {
			x->skip = 1; /* reported as unmanaged below */
			continue;
		}
		if (strcmp(code, x->code) != 0) {
			add_change(changes, "secret", x->name, "unmanaged",
			           "reported");
			x->skip = 1;
			continue;
		}
		if (!same(ros_item_get(f, "profile"), x->profile))
			add_change(changes, "secret", x->name, "profile", act);
		if (!same(ros_item_get(f, "password"), x->password))
			add_change(changes, "secret", x->name, "password", act);
		if (truthy(ros_item_get(f, "disabled")) && !x->disabled)
			add_change(changes, "secret", x->name, "disabled", act);
		if (!truthy(ros_item_get(f, "disabled")) && x->disabled)
			add_change(changes, "secret", x->name, "enabled", act);
	}
	/*
	 * Every secret without the marker is unmanaged (also one named like
	 * a customer, skipped above).  One with the marker but named like
	 * no active or suspended customer on this router is orphaned (see
	 * add_orphan()); one named like such a customer was judged above.
	 */
	for (const struct ros_item *it = res[0].items; it; it = it->next) {
		char code[40];
		const char *name = ros_item_get(it, "name");
		int known = 0;

		if (!provision_marker_code(ros_item_get(it, "comment"), code,
		                           sizeof(code))) {
			add_change(changes, "secret", name, "unmanaged",
			           "reported");
			continue;
		}
		for (size_t i = 0; i < nt && !known; i++)
			known = same(tg[i].name, name);
		if (!known)
			add_orphan(changes, name, code, &custs);
	}
	if (!dry_run) {
		/*
		 * Repair with the daemon's machinery: it prints by name again,
		 * which costs one round trip and sees what is there now.
		 */
		if (converge(c, a, tg, nt, pw, npw, err) < 0) {
			st = PROVISION_ROUTER;
			goto out_wipe;
		}
		if (tdb_begin(t) < 0)
			goto out_wipe;
		for (size_t i = 0; i < nt; i++) {
			const struct target *x = &tg[i];

			if (x->skip)
				continue;
			if (record_customer(t, x->customer_id,
			                    x->error[0] ? "failed" : "synced",
			                    x->error[0] ? x->error : NULL) <
			    0) {
				tdb_rollback(t);
				goto out_wipe;
			}
		}
		if (tdb_commit(t) < 0) {
			tdb_rollback(t);
			goto out_wipe;
		}
		/* A repair the router refused shows its error. */
		for (size_t i = 0; i < nt; i++)
			if (tg[i].error[0] && !tg[i].skip) {
				cJSON *o = cJSON_CreateObject();

				cJSON_AddStringToObject(o, "kind", "secret");
				cJSON_AddStringToObject(
				    o, "name", tg[i].name ? tg[i].name : "");
				cJSON_AddStringToObject(o, "problem",
				                        "refused");
				cJSON_AddStringToObject(o, "action", "none");
				cJSON_AddStringToObject(o, "error",
				                        tg[i].error);
				cJSON_AddItemToArray(changes, o);
			}
	}
	st = PROVISION_OK;
out_wipe:
	wipe_targets(tg, nt);
out_close:
	ros_close(c);
out_release:
	if (store_provision_release(t, router_id, owner) < 0)
		st = PROVISION_ERROR;
	return st;
}

/* The plan id as an active plan of the tenant (cached), or NULL. */
static const struct pplan *
import_plan(struct tdb *t, struct arena *a, struct plans *ps, int64_t id)
{
	const struct pplan *p = plan_for(t, a, ps, id);

	return p && p->p.active ? p : NULL;
}

/* The name an imported customer gets: the comment's, else the secret's. */
static const char *
import_name(struct arena *a, const char *secret, const char *comment)
{
	const char *rest = comment_rest(comment);
	size_t n = strlen(rest);

	while (n && rest[n - 1] == ' ')
		n--;
	if (n == 0 || n > 200 || !utf8_valid(rest, n) || valid_markup(rest, n))
		return secret;
	return arena_strndup(a, rest, n);
}

static void
add_skip(cJSON *skipped, const char *name, const char *reason)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	cJSON_AddStringToObject(o, "name", name ? name : "");
	cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddItemToArray(skipped, o);
}

/* Seals password for customer id and stores it; 0 or -1. */
static int
import_password(const struct config *cfg, struct tdb *t, int64_t id,
                const char *password)
{
	unsigned char sealed[PPPOE_PW_MAX * 4 + CRYPTO_OVERHEAD];
	char aad[64];
	size_t n = strlen(password);
	long len;
	int rc;

	if (n == 0)
		return 0;
	if (n > PPPOE_PW_MAX * 4)
		return 0; /* longer than the API accepts: leave it unset */
	snprintf(aad, sizeof(aad), "customer:%" PRId64 ":pppoe", id);
	len = crypto_seal(cfg, aad, password, n, sealed, sizeof(sealed));
	rc = len < 0 ? -1
	             : store_customer_set_password(t, id, sealed, (size_t)len);
	explicit_bzero(sealed, sizeof(sealed));
	return rc;
}

/*
 * The customer:created events of what an import made (the created ids,
 * increasing, all on router_id), in the import's transaction, as POST
 * /customers writes them: a panel that lists customers live sees each
 * one appear, and an import rolled back (the router refused a marker)
 * leaves no event behind.  The customers are read in one query, not one
 * each: with 1,000 secrets that halves the import's time.  0 or -1.
 */
static int
import_events(struct tdb *t, int64_t router_id, const cJSON *created)
{
	const cJSON *id = created ? created->child : NULL;
	struct rows made;

	if (!id)
		return 0;
	if (store_provision_imported(t, router_id, (int64_t)id->valuedouble,
	                             &made) < 0)
		return -1;
	for (size_t i = 0; i < made.n && id; i++) {
		const struct customer *c = rows_at(&made, i);
		cJSON *ev;
		int rc;

		/* Another writer's customer on the router is not ours. */
		if (c->id != (int64_t)id->valuedouble)
			continue;
		ev = row_json(&customer_row, c);
		if (!ev)
			return -1;
		rc = event_emit(t, "customer:created", "customer", c->id, ev);
		cJSON_Delete(ev);
		if (rc < 0)
			return -1;
		id = id->next;
	}
	/* Every customer made must be there: a miss is an error. */
	return id ? -1 : 0;
}

enum provision_status
provision_import(const struct config *cfg, struct tdb *t, struct arena *a,
                 int64_t router_id, const struct provision_import_req *q,
                 const char *owner, cJSON *created, cJSON *skipped,
                 char *message, size_t msglen, struct ros_error *err)
{
	struct ros_conn *c = NULL;
	struct ros_cmd *cmd;
	struct ros_result res;
	struct rows custs;
	struct plans plans = {0};
	struct pipe P = {0};
	const char **codes = NULL;
	enum provision_status st = PROVISION_ERROR;
	int rc;

	memset(err, 0, sizeof(*err));
	message[0] = '\0';
	rc = lease_wait(t, router_id, owner);
	if (rc <= 0)
		return rc == 0    ? PROVISION_BUSY
		       : rc == -2 ? PROVISION_GONE
		                  : PROVISION_ERROR;
	/* The mapping first: a bad plan id changes nothing anywhere. */
	if (q->default_plan && !import_plan(t, a, &plans, q->default_plan)) {
		snprintf(message, msglen,
		         "service_plan_id must be an active "
		         "service plan of this tenant");
		st = PROVISION_INVALID;
		goto out_release;
	}
	for (const cJSON *e = q->profiles ? q->profiles->child : NULL; e;
	     e = e->next)
		if (!import_plan(t, a, &plans, (int64_t)e->valuedouble)) {
			snprintf(message, msglen,
			         "profiles.%s must be an active service plan "
			         "of this tenant",
			         e->string);
			st = PROVISION_INVALID;
			goto out_release;
		}
	c = open_for_request(cfg, t, a, router_id, err, &st);
	if (!c)
		goto out_release;
	st = PROVISION_ERROR;
	cmd = ros_cmd_new(a, "/ppp/secret/print");
	ros_cmd_attr(cmd, ".proplist", SECRET_PROPLIST);
	if (ros_call(c, cmd, a, &res, err) < 0) {
		st = PROVISION_ROUTER;
		goto out_close;
	}
	if (tdb_begin(t) < 0)
		goto out_close;
	if (store_customer_on_router(t, router_id, &custs) < 0 ||
	    pipe_init(&P, a, res.nitems + 1) < 0)
		goto out_rollback;
	codes = arena_zalloc(a, (res.nitems + 1) * sizeof(*codes));
	if (!codes)
		goto out_rollback;
	for (const struct ros_item *it = res.items; it; it = it->next) {
		const char *name = ros_item_get(it, "name");
		const char *service = ros_item_get(it, "service");
		const char *profile = ros_item_get(it, "profile");
		const char *comment = ros_item_get(it, "comment");
		const cJSON *m;
		const struct pplan *pp;
		struct customer cu = {0};
		char code[32];
		int64_t n, id, plan_id = q->default_plan;
		int exists = 0;

		if (!name || !ros_item_get(it, ".id"))
			continue;
		for (size_t i = 0; i < custs.n && !exists; i++)
			exists = same(
			    ((const struct customer_secret *)rows_at(&custs, i))
			        ->pppoe_username,
			    name);
		if (exists) {
			add_skip(
			    skipped, name,
			    "a customer with this pppoe_username exists on "
			    "this router");
			continue;
		}
		if (service && strcmp(service, "pppoe") != 0 &&
		    strcmp(service, "any") != 0) {
			add_skip(skipped, name,
			         arena_printf(a, "service is %s, not pppoe",
			                      service));
			continue;
		}
		if (!pppoe_name_ok(name)) {
			add_skip(skipped, name,
			         "the name holds characters a pppoe_username "
			         "may not (letters, digits and . _ @ - only)");
			continue;
		}
		m = profile && q->profiles
		        ? cJSON_GetObjectItemCaseSensitive(q->profiles, profile)
		        : NULL;
		if (m)
			plan_id = (int64_t)m->valuedouble;
		if (!plan_id) {
			add_skip(
			    skipped, name,
			    arena_printf(a,
			                 "unknown profile %s: no mapping "
			                 "in profiles and no service_plan_id",
			                 profile ? profile : "(none)"));
			continue;
		}
		if (q->dry_run) {
			cJSON_AddItemToArray(created, cJSON_CreateString(name));
			continue;
		}
		pp = import_plan(t, a, &plans, plan_id);
		if (!pp || store_counter_next(t, "customer", &n) < 0)
			goto out_rollback;
		snprintf(code, sizeof(code), "C-%06" PRId64, n);
		cu.customer_code = code;
		cu.name = import_name(a, name, comment);
		cu.phone = "-";
		cu.address = "-";
		cu.service_plan_id = plan_id;
		cu.status = truthy(ros_item_get(it, "disabled")) ? "suspended"
		                                                 : "active";
		cu.router_id = router_id;
		cu.pppoe_username = name;
		cu.monthly_price = pp->p.price;
		cu.billing_day = 1;
		if (!cu.name)
			goto out_rollback;
		if (store_customer_import(t, &cu, &id) < 0) {
			/* A deleted customer keeps its name on the router. */
			if (tdb_last_error(t) != DBE_DUPLICATE)
				goto out_rollback;
			add_skip(skipped, name,
			         "a deleted customer had this pppoe_username "
			         "on this router");
			continue;
		}
		if (import_password(cfg, t, id,
		                    ros_item_get(it, "password")
		                        ? ros_item_get(it, "password")
		                        : "") < 0)
			goto out_rollback;
		cmd = ros_cmd_new(a, "/ppp/secret/set");
		ros_cmd_attr(cmd, ".id", ros_item_get(it, ".id"));
		ros_cmd_attr(cmd, "comment", marked_comment(a, code, comment));
		codes[P.n] = arena_strdup(a, name);
		pipe_add(&P, cmd, (long)P.n, K_COMMENT);
		cJSON_AddItemToArray(created, cJSON_CreateNumber((double)id));
	}
	if (!q->dry_run) {
		cJSON *audit = cJSON_CreateObject();
		struct audit_entry e = {0};

		if (pipe_run(c, &P, a, err) < 0) {
			st = PROVISION_ROUTER;
			cJSON_Delete(audit);
			goto out_rollback;
		}
		for (size_t k = 0; k < P.n; k++)
			if (P.res[k].status != ROS_OK) {
				*err = (struct ros_error){.code = ROS_ERR_TRAP};
				snprintf(err->message, sizeof(err->message),
				         "secret %s: %s", codes[k],
				         ros_result_message(&P.res[k]));
				st = PROVISION_ROUTER;
				cJSON_Delete(audit);
				goto out_rollback;
			}
		if (!audit || import_events(t, router_id, created) < 0) {
			cJSON_Delete(audit);
			goto out_rollback;
		}
		cJSON_AddItemToObject(audit, "created",
		                      cJSON_Duplicate(created, 1));
		json_add_int(audit, "skipped", cJSON_GetArraySize(skipped));
		e.user_id = q->user_id;
		e.action = "import";
		e.entity_type = "router";
		e.entity_id = router_id;
		e.new_values = audit;
		e.ip = q->ip;
		e.user_agent = q->user_agent;
		rc = audit_write(t, &e);
		cJSON_Delete(audit);
		if (rc < 0)
			goto out_rollback;
	}
	if (tdb_commit(t) < 0)
		goto out_rollback;
	st = PROVISION_OK;
	goto out_close;
out_rollback:
	tdb_rollback(t);
out_close:
	ros_close(c);
out_release:
	if (store_provision_release(t, router_id, owner) < 0)
		st = PROVISION_ERROR;
	return st;
}
