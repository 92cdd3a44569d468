/*
 * The route table of stream_probe, a test build of rtrw-api: the real
 * worker (fcgi/main.c, linked unchanged) with these routes in place of
 * fcgi/routes.c, so that tests/e2e/test_stream.py can drive a streamed
 * download through the production nginx site before the export handlers
 * exist.  It is never installed.  Each route writes N rows of
 * tools/export_sample.h through the real writers and req_stream_*():
 *
 *   GET /api/v1/exports/csv?rows=N[&fail_at=K][&bom=0]
 *   GET /api/v1/exports/xlsx?rows=N[&fail_at=K]
 *
 * fail_at=K makes the handler fail (503) when it reaches row K: before
 * the first byte went out that must be the JSON envelope, after it an
 * aborted transfer.  The routes are public: there is no data behind them.
 */
#include <stddef.h>

#include "csv.h"
#include "fcgi/routes.h"
#include "http.h"
#include "log.h"
#include "tools/export_sample.h"
#include "xlsx.h"

static int
probe_params(struct req *r, int64_t *rows, int64_t *fail_at)
{
	return req_param_int(r, "rows", 10, 0, XLSX_MAX_ROWS, rows) < 0 ||
	               req_param_int(r, "fail_at", -1, -1, XLSX_MAX_ROWS,
	                             fail_at) < 0
	           ? -1
	           : 0;
}

static int
probe_fail(struct req *r, int64_t row)
{
	log_info("stream_probe: failing at row %lld as asked", (long long)row);
	return req_fail(r, 503, "unavailable", "probe: failing as asked");
}

static int
probe_csv(struct req *r)
{
	int64_t rows, fail_at, bom;
	struct sample_row s;
	struct csv c;
	int rc = -1;

	if (probe_params(r, &rows, &fail_at) < 0 ||
	    req_param_int(r, "bom", 1, 0, 1, &bom) < 0)
		return -1;
	if (req_stream_begin(r, "text/csv; charset=utf-8", "customers.csv",
	                     -1) < 0)
		return -1;
	csv_init(&c, req_stream_write, r);
	if (csv_begin(&c, sample_cols, SAMPLE_NCOLS, (int)bom) < 0)
		goto out;
	for (int64_t i = 0; i < rows; i++) {
		if (i == fail_at) {
			probe_fail(r, i);
			goto out;
		}
		sample_row_fill(&s, i);
		for (size_t k = 0; k < SAMPLE_NCOLS; k++)
			if (csv_cell(&c, s.v[k]) < 0)
				goto out;
		if (csv_row_end(&c) < 0)
			goto out;
	}
	rc = csv_finish(&c);
out:
	if (rc < 0 && c.err)
		log_warn("stream_probe: csv stopped: %s", c.err);
	csv_release(&c);
	return rc;
}

static int
probe_xlsx(struct req *r)
{
	int64_t rows, fail_at, size;
	struct sample_row s;
	struct xlsx x;
	int rc = -1;

	if (probe_params(r, &rows, &fail_at) < 0)
		return -1;
	if (xlsx_open(&x, NULL, "Customers", sample_cols, SAMPLE_NCOLS) < 0)
		goto out;
	for (int64_t i = 0; i < rows; i++) {
		if (i == fail_at) {
			probe_fail(r, i);
			goto out;
		}
		sample_row_fill(&s, i);
		for (size_t k = 0; k < SAMPLE_NCOLS; k++)
			if (xlsx_cell(&x, s.v[k]) < 0)
				goto out;
		if (xlsx_row_end(&x) < 0)
			goto out;
	}
	if (xlsx_close(&x, &size) < 0)
		goto out;
	if (req_stream_begin(r,
	                     "application/vnd.openxmlformats-officedocument."
	                     "spreadsheetml.sheet",
	                     "customers.xlsx", size) < 0)
		goto out;
	rc = xlsx_send(&x, req_stream_write, r);
out:
	if (rc < 0 && x.err)
		log_warn("stream_probe: xlsx stopped: %s", x.err);
	xlsx_release(&x);
	return rc;
}

/* clang-format off */
const struct route routes_api[] = {
	{ HTTP_GET, "/exports/csv",  ROLE_PUBLIC, probe_csv,  NULL, R_HAND, "Stream sample rows as CSV", NULL, NULL },
	{ HTTP_GET, "/exports/xlsx", ROLE_PUBLIC, probe_xlsx, NULL, R_HAND, "Stream sample rows as XLSX", NULL, NULL },
	{ 0 }
};
const struct route routes_root[] = {
	{ 0 }
};
/* clang-format on */
