/*
 * Reports and report schedules (API.md "Exports and reports"; the types,
 * the files and the emailed links are described in lib/report.h).
 *
 *	POST   /reports                 queue one (202); rtrw-reports builds it
 *	GET    /reports[/{id}]          status, progress 0-100, error, sizes,
 *	                                times
 *	GET    /reports/{id}/download   the file; 409 until it is done
 *	GET    /report-files?token=     the file through an emailed link
 *	                                (public: the token is the credential)
 *	       /report-schedules        CRUD of daily, weekly, monthly runs
 *
 * Operators and admins only, except deleting a schedule (admins, as
 * every delete in API.md's role matrix) and the emailed link (anyone
 * holding it).  A report is answered 202 at once, however small: the
 * service builds every report, so a client polls GET /reports/{id} (or
 * listens for report:completed) the same way for every size.  A tenant
 * may have REPORT_MAX_ACTIVE reports queued or running at once; the next
 * is 429 with Retry-After, so that one tenant cannot fill the queue that
 * all share.
 *
 * A schedule runs at hour:00 in the tenant's time zone (tenants.timezone)
 * every day, every week on day_of_week (1 Monday .. 7 Sunday, default 1)
 * or every month on day_of_month (1..28, default 1); a day field of
 * another frequency is 422.  date_range says which days a run covers,
 * relative to the day it runs: by default the previous day, week (Monday
 * to Sunday) or month.  next_run_at (UTC) is computed here when the
 * timing changes and by the service after each run; changing the
 * tenant's time zone applies from the next run after that.  Each run is
 * a report row (schedule_id) whose report_ready email goes to every
 * recipient.
 */
#include "routes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "fields.h"
#include "json.h"
#include "log.h"
#include "reply.h"
#include "report.h"
#include "store/report.h"
#include "store/user.h"

/* clang-format off */
const struct field report_create_fields[] = {
	{ "type",   FT_ENUM, 0, 0, F_REQUIRED, report_types },
	{ "from",   FT_DATE, 0, 0, F_REQUIRED, NULL },
	{ "to",     FT_DATE, 0, 0, F_REQUIRED, NULL },
	{ "format", FT_ENUM, 0, 0, F_REQUIRED, report_formats },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */
enum {
	REPORT_F_TYPE,
	REPORT_F_FROM,
	REPORT_F_TO,
	REPORT_F_FORMAT,
};

/* One table for POST and PATCH (partial: nothing is required). */
/* clang-format off */
const struct field report_schedule_fields[] = {
	{ "name",         FT_STRING, 1, 100, F_REQUIRED | F_TEXT, NULL },
	{ "type",         FT_ENUM,   0, 0,   F_REQUIRED, report_types },
	{ "format",       FT_ENUM,   0, 0,   F_REQUIRED, report_formats },
	{ "frequency",    FT_ENUM,   0, 0,   F_REQUIRED, report_frequencies },
	{ "hour",         FT_INT,    0, 23,  0, NULL },
	{ "day_of_week",  FT_INT,    1, 7,   0, NULL },
	{ "day_of_month", FT_INT,    1, 28,  0, NULL },
	{ "date_range",   FT_ENUM,   0, 0,   0, report_ranges },
	{ "recipients",   FT_EMAILS, 1, REPORT_MAX_RECIPIENTS, F_REQUIRED, NULL },
	{ "active",       FT_BOOL,   0, 0,   0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */
enum {
	SCHEDULE_F_NAME,
	SCHEDULE_F_TYPE,
	SCHEDULE_F_FORMAT,
	SCHEDULE_F_FREQUENCY,
	SCHEDULE_F_HOUR,
	SCHEDULE_F_DOW,
	SCHEDULE_F_DOM,
	SCHEDULE_F_RANGE,
	SCHEDULE_F_RECIPIENTS,
	SCHEDULE_F_ACTIVE,
};

/* clang-format off */
static const struct filter_def report_filters[] = {
	FILTER_ENUM_(struct report_filter, status, report_statuses,
	             "only reports with this status"),
	FILTER_ENUM_(struct report_filter, type, report_types,
	             "only reports of this type"),
	FILTER_ID_(struct report_filter, schedule_id,
	           "only the runs of this schedule"),
	FILTER_END
};
static const struct filter_def schedule_filters[] = {
	FILTER_ENUM_(struct report_schedule_filter, type, report_types,
	             "only schedules of this report type"),
	FILTER_ENUM_(struct report_schedule_filter, frequency,
	             report_frequencies, "only schedules of this frequency"),
	FILTER_END
};

/* The query of the emailed link. */
struct report_file_query {
	const char *token;
};
static const struct filter_def report_file_params[] = {
	{ "token", FILTER_TEXT, offsetof(struct report_file_query, token),
	  NULL, REPORT_TOKEN_MAX, "the token of the emailed link", 1 },
	FILTER_END
};
/* clang-format on */

const struct list_spec report_list_spec = {
    .store = &store_report_list,
    .filters = report_filters,
};
const struct list_spec report_schedule_list_spec = {
    .store = &store_report_schedule_list,
    .filters = schedule_filters,
};
const struct list_spec report_files_query = {.filters = report_file_params};

static const char *
tenant_tz(const struct req *r)
{
	return r->who_row && r->who_row->tenant_timezone
	           ? r->who_row->tenant_timezone
	           : "Asia/Jakarta";
}

int
reports_list(struct req *r)
{
	return reply_list(r, &report_list_spec);
}

int
reports_get(struct req *r)
{
	struct report rep;

	if (req_found(r, store_report_get(r->tdb, r->ids[0], &rep), "report") <
	    0)
		return -1;
	return reply_row(r, 200, &report_row, &rep);
}

int
reports_create(struct req *r)
{
	const struct fval *v = r->vals;
	struct report_new n = {0};
	struct report after;
	int64_t span, active, id;

	n.type = v[REPORT_F_TYPE].s;
	n.format = v[REPORT_F_FORMAT].s;
	n.from = v[REPORT_F_FROM].s;
	n.to = v[REPORT_F_TO].s;
	n.requested_by = r->who.user_id;
	span = report_span_days(n.from, n.to);
	if (span < 0)
		return req_invalid(r, "from", "must be a date from 1900-01-01");
	if (span < 1)
		return req_invalid(r, "to", "must not be before from");
	if (span > REPORT_MAX_DAYS)
		return req_invalid(
		    r, "to",
		    arena_printf(r->a, "must be at most %d days after from",
		                 REPORT_MAX_DAYS - 1));
	if (tdb_begin(r->tdb) < 0 ||
	    store_report_active_count(r->tdb, &active) < 0)
		return -1;
	if (active >= REPORT_MAX_ACTIVE) {
		req_header(r, "Retry-After", "30");
		return req_fail(r, 429, "rate_limited",
		                arena_printf(r->a,
		                             "at most %d reports may be queued "
		                             "or running at once; retry when "
		                             "one is done",
		                             REPORT_MAX_ACTIVE));
	}
	if (store_report_insert(r->tdb, &n, &id) < 0 ||
	    store_report_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "create", "report", id, &report_row, NULL, &after,
	               NULL) < 0)
		return -1;
	return reply_commit(r, 202, &report_row, &after);
}

/* Sends the open file fd (closed here) as the download of rep. */
static int
send_file(struct req *r, const struct report *rep, int fd)
{
	const size_t chunk = 64 * 1024;
	char *buf = arena_alloc(r->a, chunk);
	const char *name = report_download_name(r->a, rep);
	int64_t left = rep->size_bytes;
	int rc = -1;

	if (!buf || !name ||
	    req_stream_begin(r, report_content_type(rep->format), name,
	                     rep->size_bytes) < 0)
		goto out;
	while (left > 0) {
		ssize_t n = read(fd, buf, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("report %" PRId64 " file read failed",
			          rep->id);
			goto out;
		}
		if (req_stream_write(r, buf, (size_t)n) < 0)
			goto out;
		left -= n;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int
reports_download(struct req *r)
{
	struct report rep;
	int fd;

	if (req_found(r, store_report_get(r->tdb, r->ids[0], &rep), "report") <
	    0)
		return -1;
	if (strcmp(rep.status, "done") != 0)
		return req_fail(
		    r, 409, "conflict",
		    arena_printf(r->a,
		                 "the report is %s; its file can be downloaded "
		                 "once its status is done",
		                 rep.status));
	if (report_file_open(r->cfg, tdb_tenant(r->tdb), &rep, &fd) < 0)
		return req_fail(r, 500, "internal",
		                "the report's file is missing");
	return send_file(r, &rep, fd);
}

/*
 * The emailed link: no session, so the token is checked before anything
 * is read, and every way it can fail (malformed, unknown tenant or
 * report, wrong secret, not done, expired) is the same 404.
 */
int
report_files_get(struct req *r)
{
	static const char gone[] = "no such report, or its link has expired";
	struct report_file_query q = {0};
	int64_t tenant_id, report_id;
	struct report rep;
	struct tdb *t;
	int fd;

	if (req_query(r, report_file_params, &q) < 0)
		return -1;
	if (report_link_ids(q.token, &tenant_id, &report_id) < 0)
		return req_fail(r, 404, "not_found", gone);
	t = tdb_open(r->db, r->a, tenant_id);
	if (!t)
		return -1;
	switch (store_report_get(t, report_id, &rep)) {
	case 1:
		break;
	case 0:
		return req_fail(r, 404, "not_found", gone);
	default:
		return -1;
	}
	if (strcmp(rep.status, "done") != 0 || !report_link_ok(q.token, &rep))
		return req_fail(r, 404, "not_found", gone);
	if (report_file_open(r->cfg, tenant_id, &rep, &fd) < 0)
		return req_fail(r, 500, "internal",
		                "the report's file is missing");
	return send_file(r, &rep, fd);
}

/* ---- Schedules --------------------------------------------------------- */

int
report_schedules_list(struct req *r)
{
	return reply_list(r, &report_schedule_list_spec);
}

int
report_schedules_get(struct req *r)
{
	struct report_schedule s;

	if (req_found(r, store_report_schedule_get(r->tdb, r->ids[0], &s),
	              "report schedule") < 0)
		return -1;
	return reply_row(r, 200, &report_schedule_row, &s);
}

static const char *const default_ranges[] = {"previous_day", "previous_week",
                                             "previous_month"};

/*
 * Applies the request's fields to s (a new schedule's defaults, or the
 * row before a PATCH), checks what the field table cannot, and computes
 * next_run_at into next.  0, or -1 after a 422.
 */
static int
schedule_apply(struct req *r, struct report_schedule *s, int creating,
               char next[REPORT_SQLTIME_LEN])
{
	const struct fval *v = r->vals;
	int retime = creating, freq;
	char *text;

	if (v[SCHEDULE_F_NAME].present)
		s->name = v[SCHEDULE_F_NAME].s;
	if (v[SCHEDULE_F_TYPE].present)
		s->type = v[SCHEDULE_F_TYPE].s;
	if (v[SCHEDULE_F_FORMAT].present)
		s->format = v[SCHEDULE_F_FORMAT].s;
	if (v[SCHEDULE_F_FREQUENCY].present) {
		retime |= strcmp(s->frequency ? s->frequency : "",
		                 v[SCHEDULE_F_FREQUENCY].s) != 0;
		s->frequency = v[SCHEDULE_F_FREQUENCY].s;
	}
	for (freq = 0; report_frequencies[freq]; freq++)
		if (strcmp(report_frequencies[freq], s->frequency) == 0)
			break;
	if (v[SCHEDULE_F_HOUR].present) {
		retime |= s->hour != v[SCHEDULE_F_HOUR].i;
		s->hour = v[SCHEDULE_F_HOUR].i;
	}
	if (v[SCHEDULE_F_DOW].present && freq != REPORT_WEEKLY)
		req_detail(r, "day_of_week", "is only for weekly schedules");
	if (v[SCHEDULE_F_DOM].present && freq != REPORT_MONTHLY)
		req_detail(r, "day_of_month", "is only for monthly schedules");
	if (r->err_details)
		return req_fail(r, 422, "validation_failed",
		                "some fields are invalid");
	/* The day of another frequency goes; its own gets a default. */
	if (freq != REPORT_WEEKLY)
		s->day_of_week = 0;
	else if (v[SCHEDULE_F_DOW].present) {
		retime |= s->day_of_week != v[SCHEDULE_F_DOW].i;
		s->day_of_week = v[SCHEDULE_F_DOW].i;
	} else if (!s->day_of_week)
		s->day_of_week = 1;
	if (freq != REPORT_MONTHLY)
		s->day_of_month = 0;
	else if (v[SCHEDULE_F_DOM].present) {
		retime |= s->day_of_month != v[SCHEDULE_F_DOM].i;
		s->day_of_month = v[SCHEDULE_F_DOM].i;
	} else if (!s->day_of_month)
		s->day_of_month = 1;
	if (v[SCHEDULE_F_RANGE].present)
		s->date_range = v[SCHEDULE_F_RANGE].s;
	else if (creating)
		s->date_range = default_ranges[freq];
	if (v[SCHEDULE_F_RECIPIENTS].present) {
		text = cJSON_PrintUnformatted(v[SCHEDULE_F_RECIPIENTS].json);
		if (!text)
			return -1;
		s->recipients = arena_strdup(r->a, text);
		cJSON_free(text);
		if (!s->recipients)
			return -1;
	}
	if (v[SCHEDULE_F_ACTIVE].present) {
		retime |= !s->active && v[SCHEDULE_F_ACTIVE].i;
		s->active = (int)v[SCHEDULE_F_ACTIVE].i;
	}
	/*
	 * An untouched timing keeps its next run, which may be due this
	 * very minute: recomputing it from now would skip that run.
	 */
	if (!s->active) {
		s->next_run_at = NULL;
	} else if (retime || !s->next_run_at) {
		if (report_schedule_next(tenant_tz(r), s, time(NULL), next) < 0)
			return -1;
		s->next_run_at = next;
	}
	return 0;
}

int
report_schedules_create(struct req *r)
{
	struct report_schedule s = {0}, after;
	char next[REPORT_SQLTIME_LEN];
	int64_t count, id;

	s.hour = 6;
	s.active = 1;
	s.created_by = r->who.user_id;
	if (schedule_apply(r, &s, 1, next) < 0 || tdb_begin(r->tdb) < 0 ||
	    store_report_schedule_count(r->tdb, &count) < 0)
		return -1;
	if (count >= REPORT_MAX_SCHEDULES)
		return req_fail(r, 409, "conflict",
		                arena_printf(r->a,
		                             "a tenant may have at most %d "
		                             "report schedules",
		                             REPORT_MAX_SCHEDULES));
	if (store_report_schedule_insert(r->tdb, &s, &id) < 0 ||
	    store_report_schedule_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "create", "report_schedule", id, &report_schedule_row,
	               NULL, &after, NULL) < 0)
		return -1;
	return reply_commit(r, 201, &report_schedule_row, &after);
}

int
report_schedules_update(struct req *r)
{
	struct report_schedule before, s, after;
	char next[REPORT_SQLTIME_LEN];
	int64_t id = r->ids[0];

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_report_schedule_lock(r->tdb, id, &before),
	              "report schedule") < 0)
		return -1;
	s = before;
	if (schedule_apply(r, &s, 0, next) < 0 ||
	    store_report_schedule_update(r->tdb, &s) < 0 ||
	    store_report_schedule_get(r->tdb, id, &after) != 1 ||
	    req_record(r, "update", "report_schedule", id, &report_schedule_row,
	               &before, &after, NULL) < 0)
		return -1;
	return reply_commit(r, 200, &report_schedule_row, &after);
}

int
report_schedules_delete(struct req *r)
{
	struct report_schedule before;
	int64_t id = r->ids[0];

	if (tdb_begin(r->tdb) < 0 ||
	    req_found(r, store_report_schedule_lock(r->tdb, id, &before),
	              "report schedule") < 0 ||
	    store_report_schedule_delete(r->tdb, id) < 0 ||
	    req_record(r, "delete", "report_schedule", id, &report_schedule_row,
	               &before, NULL, NULL) < 0)
		return -1;
	return reply_commit(r, 204, NULL, NULL);
}
