/*
 * An XLSX writer on libxlsxwriter in constant-memory mode: one sheet, a
 * bold header row with a frozen pane under it, column widths, and typed
 * cells (cell.h):
 *
 *   text       a string cell, neutralised like CSV (a leading ' before
 *              = + - @, tab or CR; bad UTF-8 becomes U+FFFD), cut at
 *              Excel's 32,767 characters
 *   int        a number cell (integers beyond 2^53 would lose digits as
 *              a double, so they are written as text instead)
 *   decimal    a number cell, general format
 *   money      a number cell with the format "#,##0.00"
 *   date       a date cell shown "yyyy-mm-dd" (dates before 1900, which
 *              Excel cannot hold, are written as YYYY-MM-DD text)
 *   date-time  a date cell shown "yyyy-mm-dd hh:mm:ss"
 *
 * Memory stays constant whatever the number of rows: libxlsxwriter writes
 * each finished row to a temporary file, and xlsx_close() zips the
 * workbook into one more temporary file (mode 0600, in tmpdir).
 * xlsx_send() then hands that file to a sink in XLSX_CHUNK pieces and
 * xlsx_release() removes it.  Because the whole file exists before the
 * first byte is sent, its size is known (a Content-Length) and any
 * failure up to xlsx_close() can still be answered with an error
 * envelope.
 *
 * Errors follow csv.h: a value that does not fit its kind, a wrong
 * number of cells, more rows than a sheet holds or a library failure
 * stop the writer; every later call returns -1 and x->err says why.
 *
 *	struct xlsx x;
 *	if (xlsx_open(&x, NULL, "Customers", cols, ncols) < 0) ...
 *	for each row: xlsx_cell(&x, ...) per column, then xlsx_row_end(&x)
 *	if (xlsx_close(&x, &size) < 0) ...
 *	if (xlsx_send(&x, sink, ctx) < 0) ...
 *	xlsx_release(&x);
 */
#ifndef RTRW_XLSX_H
#define RTRW_XLSX_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cell.h"

/* Data rows one sheet holds (Excel's 1,048,576 minus the header). */
#define XLSX_MAX_ROWS 1048575
/* Characters Excel keeps in one cell. */
#define XLSX_TEXT_MAX 32767
/* Bytes per call of the sink in xlsx_send(). */
#define XLSX_CHUNK (64 * 1024)
/* Longest temporary file name. */
#define XLSX_PATH_MAX 512

struct lxw_workbook;
struct lxw_worksheet;
struct lxw_format;

struct xlsx {
	struct lxw_workbook *wb;
	struct lxw_worksheet *ws;
	struct lxw_format *f_bold, *f_money, *f_date, *f_datetime;
	const struct cell_col *cols;
	size_t ncols;
	size_t col;         /* cells written in the current row */
	uint32_t rows;      /* data rows completed */
	struct buf scratch; /* a NUL-terminated, repaired copy of a text cell */
	char path[XLSX_PATH_MAX]; /* the temporary output file, "" once removed
	                           */
	int fd;                   /* the finished file, -1 until xlsx_close() */
	int64_t size;             /* its size */
	const char *err;          /* why the writer stopped, or NULL */
	char err_buf[160];
};

/*
 * Starts a workbook with one sheet named sheet (at most 31 characters,
 * none of []:*?/\) and writes its header row from cols (which must
 * outlive the writer).  Temporary files go to tmpdir, or $TMPDIR, or
 * /tmp.  Returns 0, or -1 with x->err set; x must be released either way.
 */
int xlsx_open(struct xlsx *x, const char *tmpdir, const char *sheet,
              const struct cell_col *cols, size_t ncols);

/*
 * Writes the next cell of the current row from text (NUL-terminated, or
 * n bytes), checked against the column's kind; NULL or "" is an empty
 * cell.  Returns 0 or -1.
 */
int xlsx_cell(struct xlsx *x, const char *s);
int xlsx_cell_n(struct xlsx *x, const char *s, size_t n);

/* Writes a computed integer into an int, decimal or money column. */
int xlsx_cell_int(struct xlsx *x, int64_t v);

/* Writes integer cents into a money or decimal column. */
int xlsx_cell_cents(struct xlsx *x, int64_t cents);

/* Ends the row; it must have exactly one cell per column.  0 or -1. */
int xlsx_row_end(struct xlsx *x);

/*
 * Finishes the workbook into its temporary file and stores the file's
 * size.  The current row must be complete.  Returns 0 or -1.
 */
int xlsx_close(struct xlsx *x, int64_t *size);

/*
 * Hands the finished file to sink(ctx, data, n) in XLSX_CHUNK pieces.
 * Returns 0, or -1 when reading failed or the sink refused (x->err).
 */
int xlsx_send(struct xlsx *x,
              int (*sink)(void *ctx, const void *data, size_t n), void *ctx);

/*
 * Frees everything and removes the temporary files, whatever state x is
 * in (also after a failed xlsx_open()).
 */
void xlsx_release(struct xlsx *x);

#endif
