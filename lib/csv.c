#include "csv.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "money.h"
#include "util.h"

/*
 * The pending output may pass CSV_FLUSH_BYTES by one cell; a cell is at
 * most twice its input (every byte a doubled quote) or three times it
 * (every byte replaced by U+FFFD).  The cap only guards against a bug.
 */
#define CSV_OUT_CAP (64 * 1024 * 1024)

static const char utf8_bom[3] = {'\xef', '\xbb', '\xbf'};
static const char replacement[3] = {'\xef', '\xbf', '\xbd'}; /* U+FFFD */

void
csv_init(struct csv *c, int (*sink)(void *ctx, const void *data, size_t n),
         void *ctx)
{
	memset(c, 0, sizeof(*c));
	c->sink = sink;
	c->ctx = ctx;
	buf_init(&c->out, CSV_OUT_CAP);
}

void
csv_release(struct csv *c)
{
	buf_release(&c->out);
}

static int
stop(struct csv *c, const char *why)
{
	if (!c->err)
		c->err = why;
	return -1;
}

/* Records an error that names the column the bad value was meant for. */
static int
stop_value(struct csv *c, const char *what)
{
	const struct cell_col *col = &c->cols[c->col];

	if (c->err)
		return -1;
	snprintf(c->err_buf, sizeof(c->err_buf), "column '%.60s' (%s) got %s",
	         col->title ? col->title : "", cell_kind_name(col->kind), what);
	c->err = c->err_buf;
	return -1;
}

static int
flush(struct csv *c)
{
	if (c->out.over)
		return stop(c, "a CSV row is larger than the writer's cap");
	if (c->out.len == 0)
		return 0;
	if (c->sink(c->ctx, c->out.s, c->out.len) < 0)
		return stop(c, "the CSV output could not be delivered");
	c->bytes += c->out.len;
	buf_reset(&c->out);
	return 0;
}

/* Starts a cell: the separator, after checking there is a column left. */
static int
cell_start(struct csv *c)
{
	if (c->err)
		return -1;
	if (!c->cols)
		return stop(c, "csv_begin() was not called");
	if (c->col >= c->ncols)
		return stop(c, "a CSV row has more cells than the header");
	if (c->col > 0)
		buf_addch(&c->out, ',');
	return 0;
}

static int
cell_done(struct csv *c)
{
	c->col++;
	if (c->out.over)
		return stop(c, "a CSV row is larger than the writer's cap");
	return 0;
}

static int
needs_quotes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return 1;
	return 0;
}

/* Appends n bytes of valid UTF-8, doubling quotes when quoted. */
static void
add_escaped(struct buf *out, const char *s, size_t n, int quoted)
{
	const char *q;

	if (!quoted) {
		buf_add(out, s, n);
		return;
	}
	while (n > 0 && (q = memchr(s, '"', n)) != NULL) {
		size_t k = (size_t)(q - s) + 1;

		buf_add(out, s, k);
		buf_addch(out, '"');
		s += k;
		n -= k;
	}
	buf_add(out, s, n);
}

static void
add_text(struct csv *c, const char *s, size_t n)
{
	int quoted = needs_quotes(s, n);

	if (quoted)
		buf_addch(&c->out, '"');
	if (cell_formula_risk(s, n))
		buf_addch(&c->out, '\'');
	while (n > 0) {
		size_t ok = cell_utf8_prefix(s, n);

		add_escaped(&c->out, s, ok, quoted);
		if (ok == n)
			break;
		/* One bad byte at a time: each becomes U+FFFD. */
		buf_add(&c->out, replacement, sizeof(replacement));
		s += ok + 1;
		n -= ok + 1;
	}
	if (quoted)
		buf_addch(&c->out, '"');
}

static void
add_date(struct buf *out, const struct cell_date *d, int with_time)
{
	buf_addf(out, "%04d-%02d-%02d", d->year, d->month, d->day);
	if (with_time)
		buf_addf(out, " %02d:%02d:%02d", d->hour, d->min, d->sec);
}

int
csv_begin(struct csv *c, const struct cell_col *cols, size_t ncols, int bom)
{
	if (c->err)
		return -1;
	if (c->cols)
		return stop(c, "csv_begin() was called twice");
	if (!cols || ncols == 0)
		return stop(c, "a CSV export needs at least one column");
	for (size_t i = 0; i < ncols; i++)
		if ((int)cols[i].kind < 0 || cols[i].kind >= CELL__MAX)
			return stop(c, "a CSV column has an unknown kind");
	c->cols = cols;
	c->ncols = ncols;
	if (bom)
		buf_add(&c->out, utf8_bom, sizeof(utf8_bom));
	for (size_t i = 0; i < ncols; i++) {
		const char *t = cols[i].title ? cols[i].title : "";

		if (cell_start(c) < 0)
			return -1;
		add_text(c, t, strlen(t));
		if (cell_done(c) < 0)
			return -1;
	}
	/* The header is not a data row. */
	buf_adds(&c->out, "\r\n");
	c->col = 0;
	return 0;
}

int
csv_cell(struct csv *c, const char *s)
{
	return csv_cell_n(c, s, s ? strlen(s) : 0);
}

int
csv_cell_n(struct csv *c, const char *s, size_t n)
{
	struct cell_date d;
	int64_t v;

	if (cell_start(c) < 0)
		return -1;
	if (!s || n == 0)
		return cell_done(c);
	switch (c->cols[c->col].kind) {
	case CELL_TEXT:
		add_text(c, s, n);
		break;
	case CELL_INT:
		if (parse_int64_n(s, n, INT64_MIN, INT64_MAX, &v) < 0)
			return stop_value(c, "a value that is not an integer");
		buf_addf(&c->out, "%" PRId64, v);
		break;
	case CELL_DECIMAL:
	case CELL_MONEY:
		if (cell_decimal_ok(s, n) < 0)
			return stop_value(c, "a value that is not a decimal "
			                     "number");
		buf_add(&c->out, s, n);
		break;
	case CELL_DATE:
	case CELL_DATETIME:
		if (cell_parse_date(s, n, &d) < 0)
			return stop_value(c, "a value that is not a date");
		add_date(&c->out, &d, c->cols[c->col].kind == CELL_DATETIME);
		break;
	default:
		return stop(c, "a CSV column has an unknown kind");
	}
	return cell_done(c);
}

int
csv_cell_int(struct csv *c, int64_t v)
{
	enum cell_kind k;

	if (cell_start(c) < 0)
		return -1;
	k = c->cols[c->col].kind;
	if (k != CELL_INT && k != CELL_DECIMAL && k != CELL_MONEY)
		return stop_value(c, "an integer");
	buf_addf(&c->out, "%" PRId64, v);
	return cell_done(c);
}

int
csv_cell_cents(struct csv *c, int64_t cents)
{
	char s[MONEY_STR_MAX];
	enum cell_kind k;

	if (cell_start(c) < 0)
		return -1;
	k = c->cols[c->col].kind;
	if (k != CELL_DECIMAL && k != CELL_MONEY)
		return stop_value(c, "a money amount");
	money_format(cents, s);
	buf_adds(&c->out, s);
	return cell_done(c);
}

int
csv_row_end(struct csv *c)
{
	if (c->err)
		return -1;
	if (!c->cols)
		return stop(c, "csv_begin() was not called");
	if (c->col != c->ncols)
		return stop(c, "a CSV row has fewer cells than the header");
	buf_adds(&c->out, "\r\n");
	c->col = 0;
	c->rows++;
	if (c->out.len >= CSV_FLUSH_BYTES)
		return flush(c);
	return c->out.over ? flush(c) : 0;
}

int
csv_finish(struct csv *c)
{
	if (c->err)
		return -1;
	if (!c->cols)
		return stop(c, "csv_begin() was not called");
	if (c->col != 0)
		return stop(c, "the last CSV row is incomplete");
	return flush(c);
}
