/*
 * A streaming CSV writer: RFC 4180 (comma separated, CRLF after every
 * record, a field with a comma, double quote, CR or LF enclosed in double
 * quotes with its quotes doubled), UTF-8, optionally behind a byte order
 * mark so that Excel reads the UTF-8 as such.
 *
 * Rows go out as they are written: the writer keeps at most about
 * CSV_FLUSH_BYTES (plus one cell) and hands them to a sink callback, so
 * a 100,000-row export never sits in memory.  Cells follow their column's
 * kind (cell.h):
 *
 *   text       neutralised as API.md says: a cell that starts with
 *              = + - @, tab or CR gets a leading ' (a phone "+62..."
 *              reads "'+62..."); bytes that are not UTF-8 become U+FFFD
 *   int        the integer, canonical ("-5", never "'-5")
 *   decimal,   the decimal literal exactly as given ("150000.00"), with a
 *   money      dot whatever the locale
 *   date       YYYY-MM-DD
 *   date-time  YYYY-MM-DD HH:MM:SS (what the caller passes: UTC unless it
 *              converted; say so in the column title)
 *
 * NULL or "" is an empty field for every kind.  A value that does not fit
 * its kind, a row with the wrong number of cells or a failing sink stops
 * the writer: that call and every later one return -1 and c->err says
 * why.  Nothing is written for the bad row's remaining cells, but what
 * the sink already took stays taken: a caller that has started sending
 * must abort the transfer rather than end it normally.
 *
 * Usage:
 *
 *	struct csv c;
 *	csv_init(&c, sink, ctx);
 *	if (csv_begin(&c, cols, ncols, 1) < 0) ...
 *	for each row: csv_cell(&c, ...) per column, then csv_row_end(&c)
 *	if (csv_finish(&c) < 0) ...
 *	csv_release(&c);
 */
#ifndef RTRW_CSV_H
#define RTRW_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cell.h"

/* The writer hands its output to the sink in pieces of about this size. */
#define CSV_FLUSH_BYTES (64 * 1024)

struct csv {
	/*
	 * Receives n bytes of output; returns 0, or -1 when they could not
	 * be delivered (the client went away), which stops the writer.
	 */
	int (*sink)(void *ctx, const void *data, size_t n);
	void *ctx;
	struct buf out; /* output not yet given to the sink */
	const struct cell_col *cols;
	size_t ncols;
	size_t col;      /* cells written in the current row */
	uint64_t rows;   /* data rows completed (the header not counted) */
	uint64_t bytes;  /* bytes handed to the sink */
	const char *err; /* why the writer stopped, or NULL */
	char err_buf[160];
};

/* Prepares c to write to sink(ctx, ...).  Allocates nothing yet. */
void csv_init(struct csv *c, int (*sink)(void *ctx, const void *data, size_t n),
              void *ctx);

/*
 * Writes the byte order mark (when bom) and the header row of the ncols
 * columns (titles as text cells).  cols must outlive the writer.
 * Returns 0 or -1.
 */
int csv_begin(struct csv *c, const struct cell_col *cols, size_t ncols,
              int bom);

/*
 * Writes the next cell of the current row from text: s (NUL-terminated)
 * or the n bytes at s, checked against the column's kind.  NULL is an
 * empty cell.  Returns 0 or -1.
 */
int csv_cell(struct csv *c, const char *s);
int csv_cell_n(struct csv *c, const char *s, size_t n);

/* Writes a computed integer into an int, decimal or money column. */
int csv_cell_int(struct csv *c, int64_t v);

/* Writes integer cents as "-?digits.dd" into a money or decimal column. */
int csv_cell_cents(struct csv *c, int64_t cents);

/*
 * Ends the row (CRLF); it must have exactly one cell per column.  Hands
 * the output to the sink once CSV_FLUSH_BYTES are pending.  0 or -1.
 */
int csv_row_end(struct csv *c);

/*
 * Hands everything still pending to the sink.  The current row must be
 * complete.  0 or -1.
 */
int csv_finish(struct csv *c);

/* Frees the writer's memory; c may then be initialised again. */
void csv_release(struct csv *c);

#endif
