/*
 * Exports (API.md "Exports and reports"): the tenant's customers and
 * payments as CSV or XLSX downloads, operators and admins only.
 *
 *	GET /exports/customers?format=csv|xlsx[&status=][&bom=true]
 *	GET /exports/payments?format=csv|xlsx[&from=&to=][&date_field=]
 *	    [&bom=true]
 *
 * Rows stream from the database one at a time (store_export_*()) into
 * the writers of lib/csv.h and lib/xlsx.h: a CSV goes to the client as it
 * is written (lib/http.h req_stream_*()), an XLSX is finished in a
 * temporary file first (constant-memory mode) and then sent with its
 * length.  Either way memory stays bounded whatever the tenant's size.
 * Numbers are numbers (dot decimal in CSV, numeric cells in XLSX), text
 * cells that could start a formula are neutralised, times are UTC and
 * say so in their title, dates are the tenant's.  format is required:
 * an export is a file the caller chose, and an unknown format is 422.
 */
#include "routes.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "billing.h"
#include "csv.h"
#include "log.h"
#include "reply.h"
#include "store/export.h"
#include "store/user.h"
#include "xlsx.h"

static const char *const formats[] = {"csv", "xlsx", NULL};
static const char *const statuses[] = {"pending", "active", "suspended",
                                       "terminated", NULL};
static const char *const date_fields[] = {"due_date", "payment_date", NULL};

#define XLSX_TYPE                                                              \
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

/* clang-format off */
static const struct cell_col customer_cols[] = {
	{ "Customer code",     CELL_TEXT,     14 },
	{ "Name",              CELL_TEXT,     28 },
	{ "Phone",             CELL_TEXT,     16 },
	{ "Email",             CELL_TEXT,     26 },
	{ "Address",           CELL_TEXT,     36 },
	{ "Status",            CELL_TEXT,     11 },
	{ "Plan",              CELL_TEXT,     20 },
	{ "Router",            CELL_TEXT,     16 },
	{ "PPPoE username",    CELL_TEXT,     18 },
	{ "Monthly price",     CELL_MONEY,    14 },
	{ "Billing day",       CELL_INT,      11 },
	{ "Installed at",      CELL_DATE,     12 },
	{ "Created at (UTC)",  CELL_DATETIME, 19 },
	{ "Total paid",        CELL_MONEY,    14 },
	{ "Outstanding",       CELL_MONEY,    14 },
	{ "Days overdue",      CELL_INT,      12 },
	{ "Last payment",      CELL_DATE,     12 },
};
#define CUSTOMER_NCOLS (sizeof(customer_cols) / sizeof(customer_cols[0]))

static const struct cell_col payment_cols[] = {
	{ "Payment id",        CELL_INT,      10 },
	{ "Customer code",     CELL_TEXT,     14 },
	{ "Customer",          CELL_TEXT,     28 },
	{ "Period",            CELL_TEXT,     9 },
	{ "Amount",            CELL_MONEY,    14 },
	{ "Status",            CELL_TEXT,     10 },
	{ "Due date",          CELL_DATE,     12 },
	{ "Payment date",      CELL_DATE,     12 },
	{ "Method",            CELL_TEXT,     14 },
	{ "Reference",         CELL_TEXT,     20 },
	{ "Source",            CELL_TEXT,     9 },
	{ "Days overdue",      CELL_INT,      12 },
	{ "Created at (UTC)",  CELL_DATETIME, 19 },
};
#define PAYMENT_NCOLS (sizeof(payment_cols) / sizeof(payment_cols[0]))
/* clang-format on */

/* One export in progress: whichever writer the format chose. */
struct sheet {
	int xlsx;
	struct csv csv;
	struct xlsx x;
	int failed; /* a cell or the client failed: stop the rows */
};

static void
cell(struct sheet *s, const char *v)
{
	if (!s->failed &&
	    (s->xlsx ? xlsx_cell(&s->x, v) : csv_cell(&s->csv, v)))
		s->failed = 1;
}

static void
cell_int(struct sheet *s, int64_t v)
{
	if (!s->failed &&
	    (s->xlsx ? xlsx_cell_int(&s->x, v) : csv_cell_int(&s->csv, v)))
		s->failed = 1;
}

static int
row_end(struct sheet *s)
{
	if (!s->failed &&
	    (s->xlsx ? xlsx_row_end(&s->x) : csv_row_end(&s->csv)))
		s->failed = 1;
	return s->failed ? -1 : 0;
}

static int
customer_row(void *ctx, const struct export_customer *c)
{
	struct sheet *s = ctx;

	cell(s, c->customer_code);
	cell(s, c->name);
	cell(s, c->phone);
	cell(s, c->email);
	cell(s, c->address);
	cell(s, c->status);
	cell(s, c->plan_name);
	cell(s, c->router_name);
	cell(s, c->pppoe_username);
	cell(s, c->monthly_price);
	cell_int(s, c->billing_day);
	cell(s, c->installed_at);
	cell(s, c->created_at);
	cell(s, c->total_paid);
	cell(s, c->outstanding);
	cell_int(s, c->days_overdue);
	cell(s, c->last_payment_date);
	return row_end(s);
}

static int
payment_row(void *ctx, const struct export_payment *p)
{
	struct sheet *s = ctx;

	cell_int(s, p->id);
	cell(s, p->customer_code);
	cell(s, p->customer_name);
	cell(s, p->period);
	cell(s, p->amount);
	cell(s, p->status);
	cell(s, p->due_date);
	cell(s, p->payment_date);
	cell(s, p->method);
	cell(s, p->reference);
	cell(s, p->source);
	cell_int(s, p->days_overdue);
	cell(s, p->created_at);
	return row_end(s);
}

/* The query parameters of the exports (read by req_query()). */
struct export_query {
	const char *format, *status, *from, *to;
	int bom, by_payment_date;
};

/* clang-format off */
static const struct filter_def customer_params[] = {
	FILTER_REQUIRED_ENUM_(struct export_query, format, formats,
	                      "the file format"),
	FILTER_BOOL_(struct export_query, bom,
	             "CSV only: a UTF-8 byte order mark first (Excel)"),
	FILTER_ENUM_(struct export_query, status, statuses,
	             "only customers with this status"),
	FILTER_END
};
static const struct filter_def payment_params[] = {
	FILTER_REQUIRED_ENUM_(struct export_query, format, formats,
	                      "the file format"),
	FILTER_BOOL_(struct export_query, bom,
	             "CSV only: a UTF-8 byte order mark first (Excel)"),
	FILTER_DATE_(struct export_query, from,
	             "first day of the range (inclusive)"),
	FILTER_DATE_(struct export_query, to,
	             "last day of the range (inclusive)"),
	FILTER_NAMED_INDEX_(struct export_query, by_payment_date, "date_field",
	                    date_fields, "the date the range filters"),
	FILTER_END
};
/* clang-format on */

/* The route table names these for --schema: query parameters only. */
const struct list_spec exports_customers_query = {.filters = customer_params};
const struct list_spec exports_payments_query = {.filters = payment_params};

/* What an export needs of its request. */
struct export_req {
	int xlsx, bom;
	char today[BILLING_DATE_LEN];
	const char *filename; /* in the arena: the stream keeps it */
};

static int
export_params(struct req *r, const char *what, const struct filter_def *params,
              struct export_query *q, struct export_req *e)
{
	memset(q, 0, sizeof(*q));
	if (req_query(r, params, q) < 0)
		return -1;
	e->xlsx = strcmp(q->format, "xlsx") == 0;
	e->bom = q->bom;
	if (billing_today(r->who_row ? r->who_row->tenant_timezone : NULL,
	                  time(NULL), e->today) < 0)
		return -1;
	e->filename = arena_printf(r->a, "%s-%s.%s", what, e->today, q->format);
	return e->filename ? 0 : -1;
}

/* Why an export stopped, for the log; the client sees a 500 or a cut. */
static int
export_failed(const struct sheet *s)
{
	const char *why = s->xlsx ? s->x.err : s->csv.err;

	if (why)
		log_warn("export failed: %s", why);
	return -1;
}

/*
 * Runs one export: the rows through run(), into the chosen writer, out
 * through the streamed response.  0 or -1.
 */
static int
export_run(struct req *r, const struct export_req *e,
           const struct cell_col *cols, size_t ncols, const char *sheet_name,
           int (*run)(struct req *r, struct sheet *s, void *arg), void *arg)
{
	struct sheet s = {.xlsx = e->xlsx};
	int64_t size;
	int rc = -1;

	if (!e->xlsx) {
		if (req_stream_begin(r, "text/csv; charset=utf-8", e->filename,
		                     -1) < 0)
			return -1;
		csv_init(&s.csv, req_stream_write, r);
		if (csv_begin(&s.csv, cols, ncols, e->bom) < 0 ||
		    run(r, &s, arg) < 0 || s.failed || csv_finish(&s.csv) < 0)
			rc = export_failed(&s);
		else
			rc = 0;
		csv_release(&s.csv);
		return rc;
	}
	if (xlsx_open(&s.x, NULL, sheet_name, cols, ncols) < 0 ||
	    run(r, &s, arg) < 0 || s.failed || xlsx_close(&s.x, &size) < 0) {
		rc = export_failed(&s);
		goto out;
	}
	if (req_stream_begin(r, XLSX_TYPE, e->filename, size) < 0)
		goto out;
	rc = xlsx_send(&s.x, req_stream_write, r) < 0 ? export_failed(&s) : 0;
out:
	xlsx_release(&s.x);
	return rc;
}

struct customer_args {
	const char *status, *today;
};

static int
run_customers(struct req *r, struct sheet *s, void *arg)
{
	const struct customer_args *a = arg;

	return store_export_customers(r->tdb, a->status, a->today, customer_row,
	                              s);
}

int
exports_customers(struct req *r)
{
	struct customer_args a;
	struct export_query q;
	struct export_req e;

	if (export_params(r, "customers", customer_params, &q, &e) < 0)
		return -1;
	a.status = q.status;
	a.today = e.today;
	return export_run(r, &e, customer_cols, CUSTOMER_NCOLS, "Customers",
	                  run_customers, &a);
}

struct payment_args {
	const char *from, *to, *today;
	int by_paid;
};

static int
run_payments(struct req *r, struct sheet *s, void *arg)
{
	const struct payment_args *a = arg;

	return store_export_payments(r->tdb, a->from, a->to, a->by_paid,
	                             a->today, payment_row, s);
}

int
exports_payments(struct req *r)
{
	struct payment_args a = {0};
	struct export_query q;
	struct export_req e;

	if (export_params(r, "payments", payment_params, &q, &e) < 0)
		return -1;
	if (q.from && q.to && strcmp(q.from, q.to) > 0)
		return req_invalid(r, "to", "must not be before from");
	a.from = q.from;
	a.to = q.to;
	a.by_paid = q.by_payment_date;
	a.today = e.today;
	return export_run(r, &e, payment_cols, PAYMENT_NCOLS, "Payments",
	                  run_payments, &a);
}
