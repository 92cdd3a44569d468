#include "xlsx.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "money.h"
#include "util.h"

/* Integers beyond this lose digits as a double. */
#define XLSX_EXACT_INT ((int64_t)1 << 53)

static const char replacement[3] = {'\xef', '\xbf', '\xbd'}; /* U+FFFD */

static int
stop(struct xlsx *x, const char *why)
{
	if (!x->err)
		x->err = why;
	return -1;
}

static int
stop_lxw(struct xlsx *x, const char *what, lxw_error e)
{
	if (x->err)
		return -1;
	snprintf(x->err_buf, sizeof(x->err_buf), "%s failed: %s", what,
	         lxw_strerror(e));
	x->err = x->err_buf;
	return -1;
}

/* Records an error that names the column the bad value was meant for. */
static int
stop_value(struct xlsx *x, const char *what)
{
	const struct cell_col *col = &x->cols[x->col];

	if (x->err)
		return -1;
	snprintf(x->err_buf, sizeof(x->err_buf), "column '%.60s' (%s) got %s",
	         col->title ? col->title : "", cell_kind_name(col->kind), what);
	x->err = x->err_buf;
	return -1;
}

/* The default width of a column, in characters, when cols gives none. */
static double
col_width(const struct cell_col *c)
{
	static const unsigned by_kind[CELL__MAX] = {20, 10, 12, 14, 12, 20};
	size_t title = c->title ? utf8_len(c->title, strlen(c->title)) : 0;
	unsigned w = c->width ? c->width : by_kind[c->kind];

	/* Wide enough for the bold title too, within Excel's 255. */
	if (title + 2 > w)
		w = (unsigned)(title + 2);
	return w > 255 ? 255.0 : (double)w;
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/*
 * Whether the n bytes at s start with "_xHHHH_", which Excel reads as an
 * escaped character (libxlsxwriter writes control characters that way).
 * A literal one must be written "_x005F_xHHHH_" to survive.
 */
static int
looks_escaped(const char *s, size_t n)
{
	return n >= 7 && s[0] == '_' && s[1] == 'x' && is_hex(s[2]) &&
	       is_hex(s[3]) && is_hex(s[4]) && is_hex(s[5]) && s[6] == '_';
}

static size_t
utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	return 4;
}

/*
 * Fills x->scratch with the text cell s: neutralised, bad bytes replaced
 * by U+FFFD, literal "_xHHHH_" escaped, cut at XLSX_TEXT_MAX characters
 * (never inside a character), NUL-terminated.
 */
static int
text_copy(struct xlsx *x, const char *s, size_t n)
{
	struct buf *b = &x->scratch;
	size_t chars = 0;

	buf_reset(b);
	if (cell_formula_risk(s, n)) {
		buf_addch(b, '\'');
		chars++;
	}
	while (n > 0 && chars < XLSX_TEXT_MAX) {
		size_t ok = cell_utf8_prefix(s, n), i = 0;

		if (ok == 0) {
			/* One bad byte at a time: each becomes U+FFFD. */
			buf_add(b, replacement, sizeof(replacement));
			chars++;
			s++;
			n--;
			continue;
		}
		/*
		 * The common case in one piece: no '_' to escape, and too
		 * short to reach the cut (a character is at least a byte).
		 */
		if (chars + ok <= XLSX_TEXT_MAX && !memchr(s, '_', ok)) {
			buf_add(b, s, ok);
			chars += utf8_len(s, ok);
			s += ok;
			n -= ok;
			continue;
		}
		while (i < ok && chars < XLSX_TEXT_MAX) {
			size_t len = utf8_seq_len((unsigned char)s[i]);

			/*
			 * Where fewer than 7 characters are left the cut
			 * leaves an incomplete, literal "_x..." anyway.
			 */
			if (looks_escaped(s + i, ok - i) &&
			    chars + 7 <= XLSX_TEXT_MAX) {
				buf_adds(b, "_x005F_");
				chars += 7;
				i++;
				continue;
			}
			buf_add(b, s + i, len);
			chars++;
			i += len;
		}
		s += i;
		n -= i;
	}
	if (b->over)
		return stop(x, "an XLSX text cell is larger than the cap");
	return 0;
}

static int
write_text(struct xlsx *x, const char *s, size_t n, struct lxw_format *f)
{
	lxw_error e;

	if (text_copy(x, s, n) < 0)
		return -1;
	e = worksheet_write_string(x->ws, x->rows + 1, (lxw_col_t)x->col,
	                           x->scratch.s, f);
	return e ? stop_lxw(x, "writing an XLSX text cell", e) : 0;
}

static int
write_number(struct xlsx *x, double v, struct lxw_format *f)
{
	lxw_error e =
	    worksheet_write_number(x->ws, x->rows + 1, (lxw_col_t)x->col, v, f);

	return e ? stop_lxw(x, "writing an XLSX number cell", e) : 0;
}

/* A decimal literal (already checked) as the nearest double. */
static double
decimal_value(const char *s, size_t n)
{
	static locale_t c_numeric;
	char tmp[CELL_NUM_MAX + 1];

	/* strtod() follows LC_NUMERIC; the literal always has a dot. */
	if (!c_numeric)
		c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return c_numeric ? strtod_l(tmp, NULL, c_numeric) : strtod(tmp, NULL);
}

static int
write_date(struct xlsx *x, const char *s, size_t n)
{
	enum cell_kind k = x->cols[x->col].kind;
	struct cell_date d;
	lxw_datetime dt;
	lxw_error e;
	char text[64];

	if (cell_parse_date(s, n, &d) < 0)
		return stop_value(x, "a value that is not a date");
	if (d.year < 1900) {
		if (k == CELL_DATETIME)
			snprintf(text, sizeof(text),
			         "%04d-%02d-%02d %02d:%02d:%02d", d.year,
			         d.month, d.day, d.hour, d.min, d.sec);
		else
			snprintf(text, sizeof(text), "%04d-%02d-%02d", d.year,
			         d.month, d.day);
		return write_text(x, text, strlen(text), NULL);
	}
	dt.year = d.year;
	dt.month = d.month;
	dt.day = d.day;
	dt.hour = k == CELL_DATETIME ? d.hour : 0;
	dt.min = k == CELL_DATETIME ? d.min : 0;
	dt.sec = k == CELL_DATETIME ? d.sec : 0;
	e = worksheet_write_datetime(x->ws, x->rows + 1, (lxw_col_t)x->col, &dt,
	                             k == CELL_DATETIME ? x->f_datetime
	                                                : x->f_date);
	return e ? stop_lxw(x, "writing an XLSX date cell", e) : 0;
}

/* An integer into the current cell of an int, decimal or money column. */
static int
put_int(struct xlsx *x, int64_t v)
{
	char text[24];

	if (v > XLSX_EXACT_INT || v < -XLSX_EXACT_INT) {
		snprintf(text, sizeof(text), "%lld", (long long)v);
		return write_text(x, text, strlen(text), NULL);
	}
	return write_number(x, (double)v,
	                    x->cols[x->col].kind == CELL_MONEY ? x->f_money
	                                                       : NULL);
}

static int
cell_start(struct xlsx *x)
{
	if (x->err)
		return -1;
	if (!x->ws)
		return stop(x, "xlsx_open() did not succeed");
	if (x->fd >= 0 || !x->wb)
		return stop(x, "the XLSX workbook is already closed");
	if (x->col >= x->ncols)
		return stop(x, "an XLSX row has more cells than the header");
	return 0;
}

static int
cell_done(struct xlsx *x, int rc)
{
	if (rc == 0)
		x->col++;
	return rc;
}

int
xlsx_open(struct xlsx *x, const char *tmpdir, const char *sheet,
          const struct cell_col *cols, size_t ncols)
{
	lxw_workbook_options opt;
	int fd, n;

	memset(x, 0, sizeof(*x));
	x->fd = -1;
	buf_init(&x->scratch, 4 * XLSX_TEXT_MAX + 16);
	if (!cols || ncols == 0 || ncols > LXW_COL_MAX)
		return stop(x, "an XLSX export needs 1 to 16384 columns");
	for (size_t i = 0; i < ncols; i++)
		if ((int)cols[i].kind < 0 || cols[i].kind >= CELL__MAX)
			return stop(x, "an XLSX column has an unknown kind");
	if (!tmpdir || !*tmpdir)
		tmpdir = getenv("TMPDIR");
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	n = snprintf(x->path, sizeof(x->path), "%s/rtrw-export-XXXXXX", tmpdir);
	if (n < 0 || (size_t)n >= sizeof(x->path)) {
		x->path[0] = '\0';
		return stop(x, "the temporary directory's name is too long");
	}
	/* mkstemp() makes the file 0600; libxlsxwriter rewrites it. */
	fd = mkstemp(x->path);
	if (fd < 0) {
		x->path[0] = '\0';
		return stop(x, "cannot create the temporary XLSX file");
	}
	close(fd);

	memset(&opt, 0, sizeof(opt));
	opt.constant_memory = LXW_TRUE;
	opt.tmpdir = (char *)tmpdir;
	x->wb = workbook_new_opt(x->path, &opt);
	if (!x->wb)
		return stop(x, "cannot start the XLSX workbook");
	x->ws = workbook_add_worksheet(x->wb, sheet);
	x->f_bold = workbook_add_format(x->wb);
	x->f_money = workbook_add_format(x->wb);
	x->f_date = workbook_add_format(x->wb);
	x->f_datetime = workbook_add_format(x->wb);
	if (!x->ws || !x->f_bold || !x->f_money || !x->f_date || !x->f_datetime)
		return stop(x, "cannot add the XLSX sheet (a bad sheet name?)");
	format_set_bold(x->f_bold);
	format_set_num_format(x->f_money, "#,##0.00");
	format_set_num_format(x->f_date, "yyyy-mm-dd");
	format_set_num_format(x->f_datetime, "yyyy-mm-dd hh:mm:ss");

	x->cols = cols;
	x->ncols = ncols;
	for (size_t i = 0; i < ncols; i++) {
		lxw_error e =
		    worksheet_set_column(x->ws, (lxw_col_t)i, (lxw_col_t)i,
		                         col_width(&cols[i]), NULL);
		if (e)
			return stop_lxw(x, "setting an XLSX column width", e);
	}
	worksheet_freeze_panes(x->ws, 1, 0);
	for (size_t i = 0; i < ncols; i++) {
		const char *t = cols[i].title ? cols[i].title : "";
		lxw_error e;

		if (text_copy(x, t, strlen(t)) < 0)
			return -1;
		e = worksheet_write_string(x->ws, 0, (lxw_col_t)i, x->scratch.s,
		                           x->f_bold);
		if (e)
			return stop_lxw(x, "writing the XLSX header", e);
	}
	return 0;
}

int
xlsx_cell(struct xlsx *x, const char *s)
{
	return xlsx_cell_n(x, s, s ? strlen(s) : 0);
}

int
xlsx_cell_n(struct xlsx *x, const char *s, size_t n)
{
	int64_t v;

	if (cell_start(x) < 0)
		return -1;
	if (!s || n == 0)
		return cell_done(x, 0);
	switch (x->cols[x->col].kind) {
	case CELL_TEXT:
		return cell_done(x, write_text(x, s, n, NULL));
	case CELL_INT:
		if (parse_int64_n(s, n, INT64_MIN, INT64_MAX, &v) < 0)
			return stop_value(x, "a value that is not an integer");
		return cell_done(x, put_int(x, v));
	case CELL_DECIMAL:
	case CELL_MONEY:
		if (cell_decimal_ok(s, n) < 0)
			return stop_value(x, "a value that is not a decimal "
			                     "number");
		return cell_done(x,
		                 write_number(x, decimal_value(s, n),
		                              x->cols[x->col].kind == CELL_MONEY
		                                  ? x->f_money
		                                  : NULL));
	case CELL_DATE:
	case CELL_DATETIME:
		return cell_done(x, write_date(x, s, n));
	default:
		return stop(x, "an XLSX column has an unknown kind");
	}
}

int
xlsx_cell_int(struct xlsx *x, int64_t v)
{
	enum cell_kind k;

	if (cell_start(x) < 0)
		return -1;
	k = x->cols[x->col].kind;
	if (k != CELL_INT && k != CELL_DECIMAL && k != CELL_MONEY)
		return stop_value(x, "an integer");
	return cell_done(x, put_int(x, v));
}

int
xlsx_cell_cents(struct xlsx *x, int64_t cents)
{
	enum cell_kind k;

	if (cell_start(x) < 0)
		return -1;
	k = x->cols[x->col].kind;
	if (k != CELL_DECIMAL && k != CELL_MONEY)
		return stop_value(x, "a money amount");
	/* Correctly rounded: both operands are exact doubles. */
	return cell_done(x, write_number(x, (double)cents / 100.0,
	                                 k == CELL_MONEY ? x->f_money : NULL));
}

int
xlsx_row_end(struct xlsx *x)
{
	if (x->err)
		return -1;
	if (!x->ws || !x->wb)
		return stop(x, "the XLSX workbook is not open");
	if (x->col != x->ncols)
		return stop(x, "an XLSX row has fewer cells than the header");
	if (x->rows >= XLSX_MAX_ROWS)
		return stop(x, "more rows than one XLSX sheet holds "
		               "(1,048,575); export CSV instead");
	x->rows++;
	x->col = 0;
	return 0;
}

int
xlsx_close(struct xlsx *x, int64_t *size)
{
	struct stat st;
	lxw_error e;

	if (x->err)
		return -1;
	if (!x->wb)
		return stop(x, "the XLSX workbook is not open");
	if (x->col != 0)
		return stop(x, "the last XLSX row is incomplete");
	/* workbook_close() frees the workbook whether or not it worked. */
	e = workbook_close(x->wb);
	x->wb = NULL;
	x->ws = NULL;
	if (e)
		return stop_lxw(x, "writing the XLSX file", e);
	x->fd = open(x->path, O_RDONLY | O_CLOEXEC);
	if (x->fd < 0)
		return stop(x, "cannot reopen the finished XLSX file");
	/* From here the open descriptor is all that keeps the file. */
	unlink(x->path);
	x->path[0] = '\0';
	if (fstat(x->fd, &st) < 0)
		return stop(x, "cannot read the finished XLSX file's size");
	x->size = (int64_t)st.st_size;
	if (size)
		*size = x->size;
	return 0;
}

int
xlsx_send(struct xlsx *x, int (*sink)(void *ctx, const void *data, size_t n),
          void *ctx)
{
	char chunk[XLSX_CHUNK];
	int64_t left;

	if (x->err)
		return -1;
	if (x->fd < 0)
		return stop(x, "xlsx_close() did not succeed");
	if (lseek(x->fd, 0, SEEK_SET) < 0)
		return stop(x, "cannot rewind the XLSX file");
	for (left = x->size; left > 0;) {
		ssize_t got =
		    read(x->fd, chunk,
		         left < XLSX_CHUNK ? (size_t)left : sizeof(chunk));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return stop(x, "cannot read the XLSX file");
		if (sink(ctx, chunk, (size_t)got) < 0)
			return stop(x, "the XLSX output could not be "
			               "delivered");
		left -= got;
	}
	return 0;
}

void
xlsx_release(struct xlsx *x)
{
	if (x->wb)
		lxw_workbook_free(x->wb);
	x->wb = NULL;
	x->ws = NULL;
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	if (x->path[0])
		unlink(x->path);
	x->path[0] = '\0';
	buf_release(&x->scratch);
}
