#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cell.h"
#include "config.h"
#include "csv.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "notify.h"
#include "store/report.h"
#include "tdb.h"
#include "util.h"
#include "xlsx.h"

const char *const report_types[] = {"revenue", "customer_growth", "payments",
                                    NULL};
const char *const report_formats[] = {"csv", "xlsx", "json", NULL};
const char *const report_statuses[] = {"queued", "running", "done",
                                       "failed", "expired", NULL};
const char *const report_frequencies[] = {"daily", "weekly", "monthly", NULL};
/* In the order of enum report_range. */
const char *const report_ranges[] = {"previous_day",   "previous_week",
                                     "previous_month", "last_7_days",
                                     "last_30_days",   NULL};

enum { FMT_CSV, FMT_XLSX, FMT_JSON };

static int
choice(const char *const *choices, const char *s)
{
	for (int i = 0; s && choices[i]; i++)
		if (strcmp(choices[i], s) == 0)
			return i;
	return -1;
}

const char *
report_content_type(const char *format)
{
	switch (choice(report_formats, format)) {
	case FMT_XLSX:
		return "application/"
		       "vnd.openxmlformats-officedocument.spreadsheetml.sheet";
	case FMT_JSON:
		return "application/json";
	default:
		return "text/csv; charset=utf-8";
	}
}

const char *
report_download_name(struct arena *a, const struct report *rep)
{
	return arena_printf(a, "%s-%s-%s-%" PRId64 ".%s", rep->type, rep->from,
	                    rep->to, rep->id, rep->format);
}

/* A bare name of the files this module writes: [0-9a-z.-], no dot first. */
static int
bare_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 100 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') || s[i] == '.' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

int
report_file_open(const struct config *c, int64_t tenant_id,
                 const struct report *rep, int *fd)
{
	char path[CONFIG_STR_MAX + 160];
	struct stat st;
	int f;

	if (!bare_name(rep->file_name) ||
	    snprintf(path, sizeof(path), "%s/%" PRId64 "/%s", c->reports_dir,
	             tenant_id, rep->file_name) >= (int)sizeof(path)) {
		log_error("report file refused: tenant %" PRId64
		          " report %" PRId64 " has a bad file name",
		          tenant_id, rep->id);
		return -1;
	}
	f = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0) {
		log_error("report file '%s' cannot be opened: %s", path,
		          strerror(errno));
		return -1;
	}
	if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (int64_t)st.st_size != rep->size_bytes) {
		log_error("report file '%s' is not the file its report "
		          "recorded",
		          path);
		close(f);
		return -1;
	}
	*fd = f;
	return 0;
}

/* ---- Links ------------------------------------------------------------ */

#define LINK_SECRET 32 /* bytes */

int
report_link_ids(const char *token, int64_t *tenant_id, int64_t *report_id)
{
	const char *a, *b;
	size_t n = token ? strlen(token) : 0;

	if (n == 0 || n > REPORT_TOKEN_MAX)
		return -1;
	a = strchr(token, '-');
	b = a ? strchr(a + 1, '-') : NULL;
	if (!a || !b ||
	    parse_int64_n(token, (size_t)(a - token), 1, INT64_MAX, tenant_id) <
	        0 ||
	    parse_int64_n(a + 1, (size_t)(b - a - 1), 1, INT64_MAX, report_id) <
	        0 ||
	    strlen(b + 1) != 2 * LINK_SECRET)
		return -1;
	return 0;
}

int
report_link_ok(const char *token, const struct report *rep)
{
	unsigned char secret[LINK_SECRET], hash[SHA256_DIGEST_LENGTH];
	int64_t tid, rid;
	const char *hex;
	int ok = 0;

	if (report_link_ids(token, &tid, &rid) < 0 || rid != rep->id ||
	    rep->link_hash.n != sizeof(hash))
		return 0;
	hex = strrchr(token, '-') + 1;
	if (hex_decode(hex, LINK_SECRET, secret) == 0) {
		SHA256(secret, sizeof(secret), hash);
		ok = CRYPTO_memcmp(hash, rep->link_hash.p, sizeof(hash)) == 0;
	}
	explicit_bzero(secret, sizeof(secret));
	return ok;
}

/* ---- Schedules --------------------------------------------------------- */

static int
schedule_rule(const struct report_schedule *s, struct report_rule *rule)
{
	int f = choice(report_frequencies, s->frequency);

	if (f < 0)
		return -1;
	rule->freq = (enum report_freq)f;
	rule->hour = (int)s->hour;
	rule->day_of_week = (int)s->day_of_week;
	rule->day_of_month = (int)s->day_of_month;
	return 0;
}

int
report_schedule_next(const char *tz, const struct report_schedule *s,
                     time_t now, char next[REPORT_SQLTIME_LEN])
{
	struct report_rule rule;
	time_t t;

	if (schedule_rule(s, &rule) < 0 ||
	    report_rule_next(tz, &rule, now, &t, NULL) < 0)
		return -1;
	report_sqltime(t, next);
	return 0;
}

/* ---- The service ------------------------------------------------------- */

int
report_service_init(struct report_service *s, const struct config *cfg,
                    int64_t only_tenant, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->only_tenant = only_tenant;
	arena_init(&s->work, 64L * 1024 * 1024);
	arena_init(&s->side_work, 1024L * 1024);
	s->db = db_open(cfg, DB_ACCOUNT_APP, err, errlen);
	if (!s->db)
		return -1;
	s->side = db_open(cfg, DB_ACCOUNT_APP, err, errlen);
	return s->side ? 0 : -1;
}

void
report_service_release(struct report_service *s)
{
	if (s->db)
		db_close(s->db);
	if (s->side)
		db_close(s->side);
	arena_release(&s->work);
	arena_release(&s->side_work);
	s->db = s->side = NULL;
}

int
report_run_schedules(struct report_service *s, time_t now)
{
	char now_s[REPORT_SQLTIME_LEN], next_s[REPORT_SQLTIME_LEN];
	char from[REPORT_DATE_LEN], to[REPORT_DATE_LEN];
	int queued = 0;

	report_sqltime(now, now_s);
	/* A bound, so that one pass cannot run for ever. */
	while (queued < 10000) {
		struct report_schedule sch;
		struct report_new n = {0};
		struct report_rule rule;
		struct report_due due;
		struct tdb *t;
		int64_t day, dfrom, dto, id;
		time_t next, last;
		int rc, range;

		arena_reset(&s->work);
		if (db_begin(s->db) < 0)
			return -1;
		rc = store_report_schedule_next_due(
		    s->db, &s->work, s->only_tenant, now_s, &due);
		if (rc <= 0) {
			db_rollback(s->db);
			return rc < 0 ? -1 : queued;
		}
		t = tdb_open(s->db, &s->work, due.tenant_id);
		if (!t || store_report_schedule_get(t, due.id, &sch) != 1)
			goto out_fail;
		range = choice(report_ranges, sch.date_range);
		if (range < 0 || schedule_rule(&sch, &rule) < 0 ||
		    report_rule_next(due.timezone, &rule, now, &next, &last) <
		        0 ||
		    report_local_day(due.timezone, last, &day) < 0) {
			/*
			 * The table's checks make this unreachable; a bad
			 * row must not stop every other schedule, so it
			 * stops running (next_run_at NULL) and is logged.
			 */
			log_error("report schedule %" PRId64
			          " of tenant %" PRId64
			          " has no valid next run; stopped",
			          due.id, due.tenant_id);
			if (store_report_schedule_ran(t, due.id, now_s, 0,
			                              NULL) < 0 ||
			    db_commit(s->db) < 0)
				goto out_fail;
			continue;
		}
		report_range_of((enum report_range)range, day, &dfrom, &dto);
		report_date_str(dfrom, from);
		report_date_str(dto, to);
		report_sqltime(next, next_s);
		n.type = sch.type;
		n.format = sch.format;
		n.from = from;
		n.to = to;
		n.schedule_id = sch.id;
		n.recipients = sch.recipients;
		if (store_report_insert(t, &n, &id) < 0 ||
		    store_report_schedule_ran(t, sch.id, now_s, id, next_s) <
		        0 ||
		    db_commit(s->db) < 0)
			goto out_fail;
		queued++;
		s->scheduled++;
		continue;
	out_fail:
		db_rollback(s->db);
		return -1;
	}
	return queued;
}

/* ---- Writing a report file ------------------------------------------- */

/* Where the file's bytes go: the descriptor and the running digest. */
struct sink {
	int fd;
	EVP_MD_CTX *md;
	int64_t bytes;
};

static int
sink_write(void *ctx, const void *data, size_t n)
{
	struct sink *k = ctx;
	const char *p = data;

	if (EVP_DigestUpdate(k->md, data, n) != 1)
		return -1;
	while (n > 0) {
		ssize_t w = write(k->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		k->bytes += w;
	}
	return 0;
}

/* One column of a report: its JSON key and its CSV/XLSX cell. */
struct rcol {
	const char *key;
	struct cell_col cell;
};

/* The writer of the chosen format, one row and one cell at a time. */
struct tab {
	int fmt;
	const struct rcol *cols;
	size_t ncols, col;
	struct cell_col cells[8];
	struct csv csv;
	struct xlsx x;
	struct buf j;
	struct sink *out;
	int64_t rows;
	int failed, totals;
	const char *err; /* the writer's own reason, for the log */
};

#define JSON_FLUSH (64 * 1024)

static void
tab_fail(struct tab *t, const char *why)
{
	if (!t->failed) {
		t->failed = 1;
		t->err = why;
	}
}

static void
json_flush(struct tab *t, int all)
{
	if (t->failed || (!all && t->j.len < JSON_FLUSH))
		return;
	if (t->j.over)
		tab_fail(t, "json buffer over its cap");
	else if (sink_write(t->out, t->j.s, t->j.len) < 0)
		tab_fail(t, "write failed");
	buf_reset(&t->j);
}

static void
json_key(struct tab *t, const char *key)
{
	json_write_string(&t->j, key, strlen(key));
	buf_addch(&t->j, ':');
}

/*
 * Starts the file.  The JSON document opens with what the report is
 * (id, type, range, zone, columns) and then its rows.
 */
static int
tab_open(struct tab *t, int fmt, const struct rcol *cols, size_t ncols,
         struct sink *out, const char *tmpdir, const char *sheet,
         const struct report *rep, const char *tz)
{
	memset(t, 0, sizeof(*t));
	t->fmt = fmt;
	t->cols = cols;
	t->ncols = ncols;
	t->out = out;
	buf_init(&t->j, 1024 * 1024);
	for (size_t i = 0; i < ncols && i < ARRAY_SIZE(t->cells); i++)
		t->cells[i] = cols[i].cell;
	switch (fmt) {
	case FMT_CSV:
		csv_init(&t->csv, sink_write, out);
		if (csv_begin(&t->csv, t->cells, ncols, 0) < 0)
			tab_fail(t, t->csv.err);
		break;
	case FMT_XLSX:
		if (xlsx_open(&t->x, tmpdir, sheet, t->cells, ncols) < 0)
			tab_fail(t, t->x.err);
		break;
	default: {
		char now[REPORT_SQLTIME_LEN];

		report_sqltime(time(NULL), now);
		now[10] = 'T';
		buf_adds(&t->j, "{\"report\":{");
		buf_addf(&t->j, "\"id\":%" PRId64 ",", rep->id);
		json_key(t, "type");
		json_write_string(&t->j, rep->type, strlen(rep->type));
		buf_adds(&t->j, ",\"from\":");
		json_write_string(&t->j, rep->from, strlen(rep->from));
		buf_adds(&t->j, ",\"to\":");
		json_write_string(&t->j, rep->to, strlen(rep->to));
		buf_adds(&t->j, ",\"timezone\":");
		json_write_string(&t->j, tz, strlen(tz));
		buf_addf(&t->j, ",\"generated_at\":\"%sZ\",\"columns\":[", now);
		for (size_t i = 0; i < ncols; i++) {
			if (i)
				buf_addch(&t->j, ',');
			json_write_string(&t->j, cols[i].key,
			                  strlen(cols[i].key));
		}
		buf_adds(&t->j, "]},\"rows\":[");
		break;
	}
	}
	return t->failed ? -1 : 0;
}

static void
json_cell_start(struct tab *t)
{
	buf_addch(&t->j, t->col == 0 ? '{' : ',');
	json_key(t, t->cols[t->col].key);
}

/* A text, decimal or date cell from the database's text (NULL: empty). */
static void
tab_cell(struct tab *t, const char *s)
{
	if (t->failed || t->col >= t->ncols) {
		tab_fail(t, "too many cells");
		return;
	}
	switch (t->fmt) {
	case FMT_CSV:
		if (csv_cell(&t->csv, s) < 0)
			tab_fail(t, t->csv.err);
		break;
	case FMT_XLSX:
		if (xlsx_cell(&t->x, s) < 0)
			tab_fail(t, t->x.err);
		break;
	default: {
		enum cell_kind k = t->cols[t->col].cell.kind;

		if (t->rows > 0 && t->col == 0)
			buf_addch(&t->j, ',');
		json_cell_start(t);
		if (!s)
			buf_adds(&t->j, "null");
		else if (k == CELL_MONEY || k == CELL_DECIMAL) {
			/* Exact: the literal MariaDB printed, as a number. */
			if (cell_decimal_ok(s, strlen(s)) < 0)
				tab_fail(t, "not a decimal");
			buf_adds(&t->j, s);
		} else
			json_write_string(&t->j, s, strlen(s));
		break;
	}
	}
	t->col++;
}

static void
tab_int(struct tab *t, int64_t v)
{
	if (t->failed || t->col >= t->ncols) {
		tab_fail(t, "too many cells");
		return;
	}
	switch (t->fmt) {
	case FMT_CSV:
		if (csv_cell_int(&t->csv, v) < 0)
			tab_fail(t, t->csv.err);
		break;
	case FMT_XLSX:
		if (xlsx_cell_int(&t->x, v) < 0)
			tab_fail(t, t->x.err);
		break;
	default:
		if (t->rows > 0 && t->col == 0)
			buf_addch(&t->j, ',');
		json_cell_start(t);
		buf_addf(&t->j, "%" PRId64, v);
		break;
	}
	t->col++;
}

static void
tab_row_end(struct tab *t)
{
	if (!t->failed && t->col != t->ncols)
		tab_fail(t, "a row with the wrong number of cells");
	if (t->failed)
		return;
	switch (t->fmt) {
	case FMT_CSV:
		if (csv_row_end(&t->csv) < 0)
			tab_fail(t, t->csv.err);
		break;
	case FMT_XLSX:
		if (xlsx_row_end(&t->x) < 0)
			tab_fail(t, t->x.err);
		break;
	default:
		buf_addch(&t->j, '}');
		json_flush(t, 0);
		break;
	}
	t->col = 0;
	t->rows++;
}

/* Totals go into the JSON document only (CSV and XLSX hold rows). */
static void
tab_total(struct tab *t, const char *key, const char *dec, int64_t v)
{
	if (t->fmt != FMT_JSON || t->failed)
		return;
	buf_adds(&t->j, t->totals++ ? "," : "],\"totals\":{");
	json_key(t, key);
	if (dec) {
		if (cell_decimal_ok(dec, strlen(dec)) < 0)
			tab_fail(t, "not a decimal");
		buf_adds(&t->j, dec);
	} else
		buf_addf(&t->j, "%" PRId64, v);
}

static int
tab_finish(struct tab *t)
{
	int64_t size;

	if (t->failed)
		return -1;
	switch (t->fmt) {
	case FMT_CSV:
		if (csv_finish(&t->csv) < 0)
			tab_fail(t, t->csv.err);
		break;
	case FMT_XLSX:
		if (xlsx_close(&t->x, &size) < 0 ||
		    xlsx_send(&t->x, sink_write, t->out) < 0)
			tab_fail(t, t->x.err);
		break;
	default:
		buf_adds(&t->j, t->totals ? "}}\n" : "],\"totals\":{}}\n");
		json_flush(t, 1);
		break;
	}
	return t->failed ? -1 : 0;
}

static void
tab_release(struct tab *t)
{
	if (t->fmt == FMT_CSV)
		csv_release(&t->csv);
	else if (t->fmt == FMT_XLSX)
		xlsx_release(&t->x);
	buf_release(&t->j);
}

/* clang-format off */
static const struct rcol revenue_cols[] = {
	{ "month",     { "Month",   CELL_TEXT,  8 } },
	{ "plan_id",   { "Plan id", CELL_INT,   8 } },
	{ "plan_name", { "Plan",    CELL_TEXT,  24 } },
	{ "payments",  { "Payments", CELL_INT,  10 } },
	{ "revenue",   { "Revenue", CELL_MONEY, 16 } },
};
static const struct rcol growth_cols[] = {
	{ "month",            { "Month",            CELL_TEXT, 8 } },
	{ "new",              { "New",              CELL_INT,  8 } },
	{ "churned",          { "Churned",          CELL_INT,  8 } },
	{ "net",              { "Net",              CELL_INT,  8 } },
	{ "customers_at_end", { "Customers at end", CELL_INT,  16 } },
};
static const struct rcol payment_cols[] = {
	{ "status",   { "Status",   CELL_TEXT,  10 } },
	{ "method",   { "Method",   CELL_TEXT,  16 } },
	{ "payments", { "Payments", CELL_INT,   10 } },
	{ "amount",   { "Amount",   CELL_MONEY, 16 } },
};
/* clang-format on */

/* The months of a report at most (REPORT_MAX_DAYS plus the edges). */
#define MONTHS_MAX 124

/* One build: what it needs besides the service. */
struct build {
	struct report_service *s;
	struct tdb *t;    /* figures and finishing (s->db) */
	struct tdb *side; /* progress (s->side) */
	const struct report *rep;
	const char *tz;
	int64_t attempt;
	int64_t progress;
	int lost;          /* another service took the report over */
	const char *error; /* for the report row: a sentence for users */
	struct tab tab;
};

/*
 * Commits progress p (5..95 while rows are made) on the side connection
 * when it changed; a 0 from the fenced update means the claim is gone.
 *
 * The side connection sits idle between reports, so after a MariaDB
 * restart its first statement finds the server gone (the main one
 * reconnects at its START TRANSACTION).  db.c re-runs only reads after a
 * lost connection, since a write may have happened; this one may be run
 * again, because setting the same progress twice changes nothing, and
 * it is, once, on a fresh connection: otherwise the first report after
 * every restart would fail.
 */
static int
progress(struct build *b, int64_t done, int64_t steps)
{
	int64_t p = 5 + (steps > 0 ? 90 * done / steps : 90);
	int rc;

	if (p == b->progress)
		return 0;
	arena_reset(&b->s->side_work);
	b->side = tdb_open(b->s->side, &b->s->side_work, tdb_tenant(b->t));
	rc = b->side ? store_report_progress(b->side, b->rep->id, b->attempt, p)
	             : -1;
	if (rc < 0 && b->side && tdb_last_error(b->side) == DBE_CONN)
		rc = store_report_progress(b->side, b->rep->id, b->attempt, p);
	if (rc == 0)
		b->lost = 1;
	if (rc <= 0) {
		b->error = "the report's progress could not be recorded";
		return -1;
	}
	b->progress = p;
	return 0;
}

static int
month_range(const struct report_month *m, char from[REPORT_DATE_LEN],
            char to[REPORT_DATE_LEN])
{
	report_date_str(m->first, from);
	report_date_str(m->last, to);
	return 0;
}

static int
build_revenue(struct build *b, const struct report_month *months, int n)
{
	char from[REPORT_DATE_LEN], to[REPORT_DATE_LEN];
	struct report_total tot;
	struct rows rs;

	for (int i = 0; i < n; i++) {
		month_range(&months[i], from, to);
		if (store_report_revenue(b->t, from, to, &rs) < 0)
			return -1;
		for (size_t k = 0; k < rs.n; k++) {
			const struct report_revenue *r = rows_at(&rs, k);

			tab_cell(&b->tab, months[i].month);
			tab_int(&b->tab, r->plan_id);
			tab_cell(&b->tab, r->plan_name);
			tab_int(&b->tab, r->payments);
			tab_cell(&b->tab, r->revenue);
			tab_row_end(&b->tab);
		}
		if (b->tab.failed || progress(b, i + 1, n) < 0)
			return -1;
	}
	if (store_report_revenue_total(b->t, b->rep->from, b->rep->to, &tot) <
	    0)
		return -1;
	tab_total(&b->tab, "payments", NULL, tot.payments);
	tab_total(&b->tab, "revenue", tot.amount, 0);
	return 0;
}

static int
build_payments(struct build *b)
{
	struct report_total tot;
	struct rows rs;

	if (store_report_payments(b->t, b->rep->from, b->rep->to, &rs) < 0)
		return -1;
	for (size_t k = 0; k < rs.n; k++) {
		const struct report_payment *p = rows_at(&rs, k);

		tab_cell(&b->tab, p->status);
		tab_cell(&b->tab, p->method);
		tab_int(&b->tab, p->payments);
		tab_cell(&b->tab, p->amount);
		tab_row_end(&b->tab);
	}
	if (b->tab.failed || store_report_payments_total(b->t, b->rep->from,
	                                                 b->rep->to, &tot) < 0)
		return -1;
	tab_total(&b->tab, "payments", NULL, tot.payments);
	tab_total(&b->tab, "amount", tot.amount, 0);
	return progress(b, 1, 1);
}

/*
 * Customer growth by local month: the month's bounds are the tenant's
 * local midnights as UTC instants (created_at and left_at are UTC), so
 * a customer created at 23:30 on the 31st in Jakarta counts in that
 * month, not the next.  The customers at each month's end follow from
 * those at the range's start plus each month's net, which keeps the
 * column consistent with the others and costs one query, not one per
 * month over every customer.
 */
static int
build_growth(struct build *b, const struct report_month *months, int n)
{
	char start[REPORT_SQLTIME_LEN], end[REPORT_SQLTIME_LEN];
	int64_t at_start, count, new_total = 0, churn_total = 0;
	struct report_growth g;
	time_t ts, te;

	if (report_local_instant(b->tz, months[0].first, 0, &ts) < 0)
		return -1;
	report_sqltime(ts, start);
	if (store_report_customers_at(b->t, start, &at_start) < 0)
		return -1;
	count = at_start;
	for (int i = 0; i < n; i++) {
		if (report_local_instant(b->tz, months[i].first, 0, &ts) < 0 ||
		    report_local_instant(b->tz, months[i].last + 1, 0, &te) < 0)
			return -1;
		report_sqltime(ts, start);
		report_sqltime(te, end);
		if (store_report_growth(b->t, start, end, &g) < 0)
			return -1;
		count += g.new_customers - g.churned;
		new_total += g.new_customers;
		churn_total += g.churned;
		tab_cell(&b->tab, months[i].month);
		tab_int(&b->tab, g.new_customers);
		tab_int(&b->tab, g.churned);
		tab_int(&b->tab, g.new_customers - g.churned);
		tab_int(&b->tab, count);
		tab_row_end(&b->tab);
		if (b->tab.failed || progress(b, i + 1, n) < 0)
			return -1;
	}
	tab_total(&b->tab, "new", NULL, new_total);
	tab_total(&b->tab, "churned", NULL, churn_total);
	tab_total(&b->tab, "net", NULL, new_total - churn_total);
	tab_total(&b->tab, "customers_at_start", NULL, at_start);
	tab_total(&b->tab, "customers_at_end", NULL, count);
	return 0;
}

/* reports_dir/<tenant>, made 0700 (and reports_dir too) when missing. */
static int
tenant_dir(const struct config *c, int64_t tenant_id, char *out, size_t n)
{
	if (mkdir(c->reports_dir, 0700) < 0 && errno != EEXIST)
		return -1;
	if (snprintf(out, n, "%s/%" PRId64, c->reports_dir, tenant_id) >=
	    (int)n)
		return -1;
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* The report:completed event of rep (status done or failed). */
static int
emit_completed(struct tdb *t, const struct report *rep, const char *status)
{
	cJSON *d = cJSON_CreateObject();
	int rc;

	if (!d)
		return -1;
	json_add_int(d, "id", rep->id);
	cJSON_AddStringToObject(d, "type", rep->type);
	cJSON_AddStringToObject(d, "format", rep->format);
	cJSON_AddStringToObject(d, "from", rep->from);
	cJSON_AddStringToObject(d, "to", rep->to);
	cJSON_AddStringToObject(d, "status", status);
	rc = event_emit(t, "report:completed", "report", rep->id, d);
	cJSON_Delete(d);
	return rc;
}

/*
 * The report_ready emails of a done report: to the requester (a user)
 * and to each address its schedule had.  Variables: report_id,
 * report_type, date_from, date_to, download_url (the mailer adds
 * tenant_name, and recipient_name for a user).  A schedule's recipient
 * is an address without a name, so recipient_name is that address: the
 * default template greets "Halo {{recipient_name}}", which would
 * otherwise read "Halo ,".  Dedupe keys make a repeated finish queue
 * nothing twice.
 */
static int
queue_emails(struct tdb *t, const struct report *rep, const char *url)
{
	cJSON *p = cJSON_CreateObject(), *list = NULL;
	char key[64];
	int rc = -1, i = 0;

	if (!p)
		return -1;
	json_add_int(p, "report_id", rep->id);
	cJSON_AddStringToObject(p, "report_type", rep->type);
	cJSON_AddStringToObject(p, "date_from", rep->from);
	cJSON_AddStringToObject(p, "date_to", rep->to);
	cJSON_AddStringToObject(p, "download_url", url);
	if (rep->requested_by) {
		snprintf(key, sizeof(key), "report_ready:%" PRId64 ":user",
		         rep->id);
		if (notify_queue(t, "report_ready", rep->requested_by, NULL, p,
		                 key) < 0)
			goto out;
	}
	if (rep->recipients) {
		const cJSON *e;

		list = cJSON_Parse(rep->recipients);
		cJSON_ArrayForEach(e, list)
		{
			if (!cJSON_IsString(e))
				continue;
			snprintf(key, sizeof(key),
			         "report_ready:%" PRId64 ":%d", rep->id, i++);
			cJSON_DeleteItemFromObjectCaseSensitive(
			    p, "recipient_name");
			if (!cJSON_AddStringToObject(p, "recipient_name",
			                             e->valuestring) ||
			    notify_queue(t, "report_ready", 0, e->valuestring,
			                 p, key) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	cJSON_Delete(list);
	cJSON_Delete(p);
	return rc;
}

/*
 * Records the outcome in one transaction on the main connection: done
 * with the file, its link and the emails, or failed with b->error; and
 * the event either way.  1 recorded, 0 when the claim was lost, -1.
 */
static int
record(struct build *b, const struct report_done *d, const char *url)
{
	struct report after;
	int rc;

	if (tdb_begin(b->t) < 0)
		return -1;
	rc = d ? store_report_finish(b->t, b->rep->id, b->attempt, d)
	       : store_report_fail(b->t, b->rep->id, b->attempt, b->error);
	if (rc <= 0)
		goto out;
	rc = -1;
	if (store_report_get(b->t, b->rep->id, &after) != 1 ||
	    emit_completed(b->t, &after, d ? "done" : "failed") < 0 ||
	    (d && queue_emails(b->t, &after, url) < 0) || tdb_commit(b->t) < 0)
		goto out;
	return 1;
out:
	tdb_rollback(b->t);
	return rc;
}

/* The public base URL without a trailing slash. */
static const char *
link_url(struct arena *a, const struct config *c, const char *token)
{
	size_t n = strlen(c->public_url);

	while (n > 0 && c->public_url[n - 1] == '/')
		n--;
	return arena_printf(a, "%.*s/api/v1/report-files?token=%s", (int)n,
	                    c->public_url, token);
}

static const char *const extensions[] = {"csv", "xlsx", "json"};

/*
 * Builds a claimed report: the rows into a temporary file in the
 * tenant's directory inside one read snapshot, the file renamed into
 * place, then the outcome recorded.  Returns 1 done, 0 failed or lost,
 * -1 when even the failure could not be recorded.
 */
static int
build(struct report_service *s, const struct report_job *job,
      const struct report *rep, int64_t attempt)
{
	const struct config *c = s->cfg;
	struct report_month months[MONTHS_MAX];
	unsigned char secret[LINK_SECRET], hash[SHA256_DIGEST_LENGTH];
	unsigned char rnd[8], digest[SHA256_DIGEST_LENGTH];
	char dir[CONFIG_STR_MAX + 32], name[64], tmp[72], sha[65];
	char hex[2 * LINK_SECRET + 1], token[REPORT_TOKEN_MAX + 1], rh[17];
	struct build b = {0};
	struct report_done done = {0};
	struct sink out = {-1, NULL, 0};
	int64_t dfrom, dto;
	int fmt = choice(report_formats, rep->format);
	int type = choice(report_types, rep->type);
	int n = 0, dfd = -1, rc = 0, written = 0;
	unsigned int dlen = 0;
	const char *url;

	b.s = s;
	b.rep = rep;
	b.tz = job->timezone;
	b.attempt = attempt;
	b.t = tdb_open(s->db, &s->work, job->tenant_id);
	b.error = "the report could not be built";
	if (!b.t)
		return -1;
	if (fmt < 0 || type < 0 || report_date_days(rep->from, &dfrom) < 0 ||
	    report_date_days(rep->to, &dto) < 0 ||
	    (n = report_months(dfrom, dto, months, MONTHS_MAX)) <= 0) {
		b.error = "the report's type, format or dates are invalid";
		goto out_fail;
	}
	if (random_bytes(rnd, sizeof(rnd)) < 0)
		goto out_fail;
	hex_encode(rnd, sizeof(rnd), rh);
	snprintf(name, sizeof(name), "%" PRId64 "-%s.%s", rep->id, rh,
	         extensions[fmt]);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if (tenant_dir(c, job->tenant_id, dir, sizeof(dir)) < 0 ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (out.fd = openat(
	         dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	         0600)) < 0) {
		log_error("report %" PRId64
		          " file in '%s' cannot be created: %s",
		          rep->id, dir, strerror(errno));
		b.error = "the report file could not be written";
		goto out_fail;
	}
	out.md = EVP_MD_CTX_new();
	if (!out.md || EVP_DigestInit_ex(out.md, EVP_sha256(), NULL) != 1)
		goto out_fail;
	if (tab_open(&b.tab, fmt,
	             type == 0   ? revenue_cols
	             : type == 1 ? growth_cols
	                         : payment_cols,
	             type == 0   ? ARRAY_SIZE(revenue_cols)
	             : type == 1 ? ARRAY_SIZE(growth_cols)
	                         : ARRAY_SIZE(payment_cols),
	             &out, dir,
	             type == 0   ? "Revenue"
	             : type == 1 ? "Customer growth"
	                         : "Payments",
	             rep, b.tz) < 0)
		goto out_writer;
	/* Every figure of the report from one snapshot. */
	if (tdb_begin(b.t) < 0)
		goto out_fail;
	rc = type == 0   ? build_revenue(&b, months, n)
	     : type == 1 ? build_growth(&b, months, n)
	                 : build_payments(&b);
	tdb_rollback(b.t);
	if (b.lost)
		goto out_lost;
	if (rc < 0 && !b.tab.failed) {
		b.error = "the database failed while the report was built";
		goto out_fail;
	}
	if (rc < 0 || tab_finish(&b.tab) < 0)
		goto out_writer;
	rc = fsync(out.fd);
	if (close(out.fd) < 0)
		rc = -1;
	out.fd = -1;
	if (rc < 0) {
		b.error = "the report file could not be written";
		goto out_fail;
	}
	if (EVP_DigestFinal_ex(out.md, digest, &dlen) != 1 ||
	    renameat(dfd, tmp, dfd, name) < 0) {
		b.error = "the report file could not be written";
		goto out_fail;
	}
	written = 1;
	fsync(dfd);
	hex_encode(digest, sizeof(digest), sha);
	if (random_bytes(secret, sizeof(secret)) < 0)
		goto out_fail;
	hex_encode(secret, sizeof(secret), hex);
	SHA256(secret, sizeof(secret), hash);
	explicit_bzero(secret, sizeof(secret));
	snprintf(token, sizeof(token), "%" PRId64 "-%" PRId64 "-%s",
	         job->tenant_id, rep->id, hex);
	explicit_bzero(hex, sizeof(hex));
	url = link_url(&s->work, c, token);
	explicit_bzero(token, sizeof(token));
	done.row_count = b.tab.rows;
	done.size_bytes = out.bytes;
	done.sha256 = sha;
	done.file_name = name;
	done.link_hash.p = hash;
	done.link_hash.n = sizeof(hash);
	done.retention_days = c->reports_retention_days;
	rc = url ? record(&b, &done, url) : -1;
	if (url)
		explicit_bzero((char *)url, strlen(url));
	if (rc == 1) {
		tab_release(&b.tab);
		EVP_MD_CTX_free(out.md);
		close(dfd);
		s->built++;
		return 1;
	}
	if (rc == 0)
		goto out_lost;
	b.error = "the report could not be recorded";
	goto out_fail;

out_writer:
	log_error("report %" PRId64 " writer failed: %s", rep->id,
	          b.tab.err ? b.tab.err : "unknown");
	b.error = b.tab.err && strstr(b.tab.err, "rows")
	              ? "the report has more rows than its format holds"
	              : "the report file could not be written";
out_fail:
	rc = record(&b, NULL, NULL) < 0 ? -1 : 0;
	if (rc == 0)
		s->failed++;
	goto out_clean;
out_lost:
	log_warn("report %" PRId64 " of tenant %" PRId64
	         " was taken over by another service; attempt %" PRId64
	         " stops",
	         rep->id, job->tenant_id, attempt);
	rc = 0;
out_clean:
	tab_release(&b.tab);
	if (out.fd >= 0)
		close(out.fd);
	if (dfd >= 0) {
		unlinkat(dfd, written ? name : tmp, 0);
		close(dfd);
	}
	EVP_MD_CTX_free(out.md);
	return rc;
}

int
report_run_one(struct report_service *s)
{
	struct report_job job;
	struct report rep;
	struct tdb *t;
	int rc, stale;

	arena_reset(&s->work);
	if (db_begin(s->db) < 0)
		return -1;
	rc = store_report_next_stale(s->db, &s->work, s->only_tenant,
	                             s->cfg->reports_lease_seconds, &job);
	stale = rc == 1;
	if (rc == 0)
		rc = store_report_next_queued(s->db, &s->work, s->only_tenant,
		                              &job);
	if (rc <= 0)
		goto out_rollback;
	t = tdb_open(s->db, &s->work, job.tenant_id);
	if (!t)
		goto out_error;
	if (stale && job.attempts >= REPORT_MAX_ATTEMPTS) {
		log_warn("report %" PRId64 " of tenant %" PRId64
		         " given up after %" PRId64 " attempts",
		         job.id, job.tenant_id, job.attempts);
		if (store_report_fail(t, job.id, job.attempts,
		                      "the report was given up after 3 "
		                      "attempts: the service building it "
		                      "stopped each time") <= 0 ||
		    store_report_get(t, job.id, &rep) != 1 ||
		    emit_completed(t, &rep, "failed") < 0 ||
		    db_commit(s->db) < 0)
			goto out_error;
		s->failed++;
		return 1;
	}
	if (stale)
		log_warn("report %" PRId64 " of tenant %" PRId64
		         " went silent; claimed again",
		         job.id, job.tenant_id);
	if (store_report_claim(t, job.id) != 1 ||
	    store_report_get(t, job.id, &rep) != 1 || db_commit(s->db) < 0)
		goto out_error;
	return build(s, &job, &rep, job.attempts + 1) < 0 ? -1 : 1;
out_error:
	rc = -1;
out_rollback:
	db_rollback(s->db);
	return rc;
}

/* ---- Retention --------------------------------------------------------- */

#define EXPIRE_BATCH 100

/* Files a failed or killed build may leave: its .tmp and XLSX scratch. */
static int
leftover(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && strcmp(name + n - 4, ".tmp") == 0) ||
	       strncmp(name, "rtrw-export-", 12) == 0;
}

/*
 * Removes what no report needs any more: in each tenant directory the
 * leftovers older than a day, and the whole directory of a tenant that
 * was deleted (its rows went with it).  Only names this module makes
 * are touched; anything else in reports_dir is left alone.  Files are
 * aged by the real clock, not by --now: their times are real.
 */
static void
sweep(struct report_service *s)
{
	DIR *top = opendir(s->cfg->reports_dir);
	time_t now = time(NULL);
	struct dirent *e;

	if (!top)
		return;
	while ((e = readdir(top))) {
		int64_t tid;
		int dfd, gone;
		DIR *d;
		struct dirent *f;

		if (parse_int64(e->d_name, 1, INT64_MAX, &tid) < 0 ||
		    (s->only_tenant && tid != s->only_tenant))
			continue;
		arena_reset(&s->work);
		gone = store_report_tenant_exists(s->db, &s->work, tid) == 0;
		dfd = openat(dirfd(top), e->d_name,
		             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0 || !(d = fdopendir(dfd))) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		while ((f = readdir(d))) {
			struct stat st;

			if (f->d_name[0] == '.' ||
			    fstatat(dfd, f->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			        0 ||
			    !S_ISREG(st.st_mode))
				continue;
			if (gone ||
			    (leftover(f->d_name) && st.st_mtime < now - 86400))
				unlinkat(dfd, f->d_name, 0);
		}
		closedir(d);
		if (gone && unlinkat(dirfd(top), e->d_name, AT_REMOVEDIR) == 0)
			log_info("removed the report files of deleted tenant "
			         "%" PRId64,
			         tid);
	}
	closedir(top);
}

int
report_expire(struct report_service *s, time_t now)
{
	char now_s[REPORT_SQLTIME_LEN], path[CONFIG_STR_MAX + 160];
	int expired = 0;

	report_sqltime(now, now_s);
	for (;;) {
		struct rows rs;
		size_t i;

		arena_reset(&s->work);
		if (db_begin(s->db) < 0)
			return -1;
		if (store_report_expiring(s->db, &s->work, s->only_tenant,
		                          now_s, EXPIRE_BATCH, &rs) < 0)
			goto out_fail;
		for (i = 0; i < rs.n; i++) {
			const struct report_expiring *x = rows_at(&rs, i);
			struct tdb *t = tdb_open(s->db, &s->work, x->tenant_id);

			if (!t || store_report_expire(t, x->id) < 0)
				goto out_fail;
		}
		if (db_commit(s->db) < 0)
			goto out_fail;
		/*
		 * The files go after the commit: a failed commit leaves
		 * rows that still have their files; a failed unlink leaves
		 * a file no row names, which only a tenant deletion's sweep
		 * would find.  XXX: such a file stays until then.
		 */
		for (i = 0; i < rs.n; i++) {
			const struct report_expiring *x = rows_at(&rs, i);

			if (!bare_name(x->file_name) ||
			    snprintf(path, sizeof(path), "%s/%" PRId64 "/%s",
			             s->cfg->reports_dir, x->tenant_id,
			             x->file_name) >= (int)sizeof(path))
				continue;
			if (unlink(path) < 0 && errno != ENOENT)
				log_warn("expired report file '%s' cannot be "
				         "removed: %s",
				         path, strerror(errno));
		}
		expired += (int)rs.n;
		s->expired += (int64_t)rs.n;
		if (rs.n < EXPIRE_BATCH)
			break;
		continue;
	out_fail:
		db_rollback(s->db);
		return -1;
	}
	sweep(s);
	return expired;
}
