/*
 * libFuzzer driver: the CSV writer and the cell checks it shares with the
 * XLSX writer, on whatever a column may hold.  The input is split at 0x1f
 * bytes into cells of a row of every kind, rows at 0x1e.  Whatever comes
 * in, the writer must not crash, and what it gives the sink must be valid
 * UTF-8 (no NUL) and made of whole CRLF-terminated records.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cell.h"
#include "csv.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* clang-format off */
static const struct cell_col cols[] = {
	{ "text",  CELL_TEXT,     0 },
	{ "int",   CELL_INT,      0 },
	{ "dec",   CELL_DECIMAL,  0 },
	{ "money", CELL_MONEY,    0 },
	{ "date",  CELL_DATE,     0 },
	{ "time",  CELL_DATETIME, 0 },
};
/* clang-format on */
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static int
check_sink(void *ctx, const void *p, size_t n)
{
	struct buf *all = ctx;

	if (!utf8_valid(p, n))
		abort();
	if (n < 2 || memcmp((const char *)p + n - 2, "\r\n", 2) != 0)
		abort();
	buf_add(all, p, n);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	struct buf all = BUF_INIT(0);
	struct cell_date d;
	struct csv c;
	size_t col = 0;
	int ok = 1;

	/* The checks on their own, on the whole input. */
	(void)cell_decimal_ok(s, size);
	(void)cell_parse_date(s, size, &d);
	if (cell_utf8_prefix(s, size) > size)
		abort();

	csv_init(&c, check_sink, &all);
	if (csv_begin(&c, cols, NCOLS, size > 0 && data[0] & 1) < 0)
		abort();
	while (ok && s < end) {
		const char *p = s;

		while (p < end && *p != 0x1f && *p != 0x1e)
			p++;
		if (col < NCOLS)
			ok = csv_cell_n(&c, s, (size_t)(p - s)) == 0;
		col++;
		if (ok && (p == end || *p == 0x1e)) {
			for (; col < NCOLS && ok; col++)
				ok = csv_cell(&c, NULL) == 0;
			ok = ok && csv_row_end(&c) == 0;
			col = 0;
		}
		s = p < end ? p + 1 : p;
	}
	if (ok && col == 0 && csv_finish(&c) < 0)
		abort();
	if (!ok && !c.err)
		abort();
	csv_release(&c);
	buf_release(&all);
	return 0;
}
