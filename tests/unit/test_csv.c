/*
 * The CSV writer (lib/csv.c): RFC 4180 quoting and line ends, the byte
 * order mark, API.md's formula neutralisation, typed cells, streaming to
 * the sink, and that a bad value or a failing sink stops everything.
 * One round trip goes through Python's csv module (/usr/bin/python3), a
 * reader written by others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "csv.h"
#include "tests/unit/unit.h"

/* A sink that keeps everything, counts calls and can be made to fail. */
struct mem_sink {
	struct buf all;
	size_t calls;
	size_t largest;
	int fail_at;    /* fail the call with this number (1-based); 0 never */
	int rows_whole; /* every call so far ended with CRLF */
};

static int
mem_write(void *ctx, const void *data, size_t n)
{
	struct mem_sink *m = ctx;

	m->calls++;
	if (m->fail_at && (int)m->calls >= m->fail_at)
		return -1;
	buf_add(&m->all, data, n);
	if (n > m->largest)
		m->largest = n;
	if (n < 2 || memcmp((const char *)data + n - 2, "\r\n", 2) != 0)
		m->rows_whole = 0;
	return 0;
}

static void
sink_init(struct mem_sink *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->all, 0);
	m->rows_whole = 1;
}

/* clang-format off */
static const struct cell_col people[] = {
	{ "name",    CELL_TEXT,     0 },
	{ "count",   CELL_INT,      0 },
	{ "price",   CELL_MONEY,    0 },
	{ "since",   CELL_DATE,     0 },
	{ "updated", CELL_DATETIME, 0 },
};
/* clang-format on */

/* Writes one header and the given rows of 5 cells; returns the text. */
static void
write_rows(struct mem_sink *m, int bom, const char *const (*rows)[5],
           size_t nrows)
{
	struct csv c;

	csv_init(&c, mem_write, m);
	ck_assert_int_eq(csv_begin(&c, people, 5, bom), 0);
	for (size_t i = 0; i < nrows; i++) {
		for (size_t k = 0; k < 5; k++)
			ck_assert_int_eq(csv_cell(&c, rows[i][k]), 0);
		ck_assert_int_eq(csv_row_end(&c), 0);
	}
	ck_assert_int_eq(csv_finish(&c), 0);
	ck_assert_ptr_null(c.err);
	ck_assert_uint_eq(c.rows, nrows);
	ck_assert_uint_eq(c.bytes, m->all.len);
	csv_release(&c);
}

START_TEST(header_crlf_and_bom)
{
	static const char *const rows[][5] = {
	    {"Budi", "3", "150000.00", "2024-05-01", "2024-05-01 13:45:10"},
	};
	struct mem_sink m;

	sink_init(&m);
	write_rows(&m, 0, rows, 1);
	ck_assert_str_eq(m.all.s, "name,count,price,since,updated\r\n"
	                          "Budi,3,150000.00,2024-05-01,"
	                          "2024-05-01 13:45:10\r\n");
	buf_release(&m.all);

	sink_init(&m);
	write_rows(&m, 1, rows, 1);
	ck_assert_uint_gt(m.all.len, 3);
	ck_assert_int_eq(memcmp(m.all.s, "\xef\xbb\xbfname,count,", 14), 0);
	buf_release(&m.all);
}
END_TEST

START_TEST(quoting)
{
	static const char *const rows[][5] = {
	    {"Jl. Merdeka 5, RT 02", NULL, NULL, NULL, NULL},
	    {"say \"hi\"", "", "", "", ""},
	    {"line one\r\nline two", NULL, NULL, NULL, NULL},
	    {"lf\nonly", NULL, NULL, NULL, NULL},
	    {"\"", NULL, NULL, NULL, NULL},
	    {"plain 'text' ; semi", NULL, NULL, NULL, NULL},
	};
	struct mem_sink m;

	sink_init(&m);
	write_rows(&m, 0, rows, 6);
	ck_assert_str_eq(m.all.s, "name,count,price,since,updated\r\n"
	                          "\"Jl. Merdeka 5, RT 02\",,,,\r\n"
	                          "\"say \"\"hi\"\"\",,,,\r\n"
	                          "\"line one\r\nline two\",,,,\r\n"
	                          "\"lf\nonly\",,,,\r\n"
	                          "\"\"\"\",,,,\r\n"
	                          "plain 'text' ; semi,,,,\r\n");
	buf_release(&m.all);
}
END_TEST

START_TEST(every_formula_prefix_is_neutralised)
{
	static const char *const rows[][5] = {
	    {"=1+1", NULL, NULL, NULL, NULL},
	    {"+6281234567", NULL, NULL, NULL, NULL},
	    {"-2+3", NULL, NULL, NULL, NULL},
	    {"@SUM(A1)", NULL, NULL, NULL, NULL},
	    {"\tx", NULL, NULL, NULL, NULL},
	    {"\rx", NULL, NULL, NULL, NULL},
	    {"=HYPERLINK(\"http://x\",\"y\")", NULL, NULL, NULL, NULL},
	    /* Not at the start, or not one of the six: left alone. */
	    {"a=b", NULL, NULL, NULL, NULL},
	    {" =1", NULL, NULL, NULL, NULL},
	    {"'quoted", NULL, NULL, NULL, NULL},
	    {"\nx", NULL, NULL, NULL, NULL},
	};
	struct mem_sink m;

	sink_init(&m);
	write_rows(&m, 0, rows, 11);
	ck_assert_str_eq(m.all.s,
	                 "name,count,price,since,updated\r\n"
	                 "'=1+1,,,,\r\n"
	                 "'+6281234567,,,,\r\n"
	                 "'-2+3,,,,\r\n"
	                 "'@SUM(A1),,,,\r\n"
	                 "'\tx,,,,\r\n"
	                 "\"'\rx\",,,,\r\n"
	                 "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",,,,\r\n"
	                 "a=b,,,,\r\n"
	                 " =1,,,,\r\n"
	                 "'quoted,,,,\r\n"
	                 "\"\nx\",,,,\r\n");
	buf_release(&m.all);
}
END_TEST

START_TEST(numbers_are_numbers)
{
	static const char *const rows[][5] = {
	    /* A negative number is a number, never "'-5". */
	    {"x", "-5", "-0.50", NULL, NULL},
	    {"x", "9223372036854775807", "12345678901234.99", NULL, NULL},
	    {"x", "007", "0.1", NULL, NULL},
	};
	struct mem_sink m;

	sink_init(&m);
	write_rows(&m, 0, rows, 3);
	ck_assert_str_eq(m.all.s,
	                 "name,count,price,since,updated\r\n"
	                 "x,-5,-0.50,,\r\n"
	                 "x,9223372036854775807,12345678901234.99,,\r\n"
	                 "x,7,0.1,,\r\n");
	buf_release(&m.all);
}
END_TEST

START_TEST(computed_cells)
{
	struct mem_sink m;
	struct csv c;

	sink_init(&m);
	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 5, 0), 0);
	ck_assert_int_eq(csv_cell(&c, "t"), 0);
	ck_assert_int_eq(csv_cell_int(&c, -42), 0);
	ck_assert_int_eq(csv_cell_cents(&c, -12345), 0);
	ck_assert_int_eq(csv_cell(&c, NULL), 0);
	ck_assert_int_eq(csv_cell(&c, NULL), 0);
	ck_assert_int_eq(csv_row_end(&c), 0);
	ck_assert_int_eq(csv_cell(&c, "t"), 0);
	ck_assert_int_eq(csv_cell(&c, "1"), 0);
	ck_assert_int_eq(csv_cell_int(&c, 150000), 0);
	ck_assert_int_eq(csv_cell(&c, NULL), 0);
	ck_assert_int_eq(csv_cell(&c, NULL), 0);
	ck_assert_int_eq(csv_row_end(&c), 0);
	ck_assert_int_eq(csv_finish(&c), 0);
	ck_assert_str_eq(m.all.s, "name,count,price,since,updated\r\n"
	                          "t,-42,-123.45,,\r\n"
	                          "t,1,150000,,\r\n");
	csv_release(&c);

	/* An integer into a text column or cents into an int column. */
	buf_reset(&m.all);
	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 5, 0), 0);
	ck_assert_int_eq(csv_cell_int(&c, 1), -1);
	ck_assert_ptr_nonnull(strstr(c.err, "'name'"));
	csv_release(&c);
	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 5, 0), 0);
	ck_assert_int_eq(csv_cell(&c, "x"), 0);
	ck_assert_int_eq(csv_cell_cents(&c, 1), -1);
	ck_assert_ptr_nonnull(strstr(c.err, "'count'"));
	csv_release(&c);
	buf_release(&m.all);
}
END_TEST

START_TEST(dates)
{
	static const char *const rows[][5] = {
	    {"x", NULL, NULL, "2024-02-29", "2024-05-01T13:45:10Z"},
	    {"x", NULL, NULL, "2024-05-01 08:00:00",
	     "2024-05-01 13:45:10.123456"},
	    {"x", NULL, NULL, "0001-01-01", "2024-05-01"},
	};
	struct mem_sink m;

	sink_init(&m);
	write_rows(&m, 0, rows, 3);
	ck_assert_str_eq(m.all.s, "name,count,price,since,updated\r\n"
	                          "x,,,2024-02-29,2024-05-01 13:45:10\r\n"
	                          "x,,,2024-05-01,2024-05-01 13:45:10\r\n"
	                          "x,,,0001-01-01,2024-05-01 00:00:00\r\n");
	buf_release(&m.all);
}
END_TEST

/* Each bad value stops the writer with an error naming the column. */
START_TEST(bad_values_stop_the_writer)
{
	static const struct {
		size_t col;
		const char *value;
		const char *column;
	} bad[] = {
	    {1, "1.5", "'count'"},
	    {1, "12a", "'count'"},
	    {1, " 1", "'count'"},
	    {1, "99999999999999999999", "'count'"},
	    {2, "1e5", "'price'"},
	    {2, "+5", "'price'"},
	    {2, ".5", "'price'"},
	    {2, "1.", "'price'"},
	    {2, "1,5", "'price'"},
	    {2, "=1+1", "'price'"},
	    {2, "-", "'price'"},
	    {2, "NaN", "'price'"},
	    {3, "2023-02-29", "'since'"},
	    {3, "2024-13-01", "'since'"},
	    {3, "2024-1-01", "'since'"},
	    {3, "01/05/2024", "'since'"},
	    {3, "2024-05-01x", "'since'"},
	    {4, "2024-05-01 24:00:00", "'updated'"},
	    {4, "2024-05-01 12:00", "'updated'"},
	    {4, "2024-05-01 12:00:00.", "'updated'"},
	    {3, "0000-01-01", "'since'"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mem_sink m;
		struct csv c;

		sink_init(&m);
		csv_init(&c, mem_write, &m);
		ck_assert_int_eq(csv_begin(&c, people, 5, 0), 0);
		for (size_t k = 0; k < bad[i].col; k++)
			ck_assert_int_eq(csv_cell(&c, NULL), 0);
		ck_assert_msg(csv_cell(&c, bad[i].value) == -1, "'%s' accepted",
		              bad[i].value);
		ck_assert_ptr_nonnull(c.err);
		ck_assert_msg(strstr(c.err, bad[i].column) != NULL,
		              "error '%s' does not name %s", c.err,
		              bad[i].column);
		/* Stopped: nothing more is accepted or sent. */
		ck_assert_int_eq(csv_cell(&c, NULL), -1);
		ck_assert_int_eq(csv_row_end(&c), -1);
		ck_assert_int_eq(csv_finish(&c), -1);
		ck_assert_uint_eq(m.calls, 0);
		csv_release(&c);
		buf_release(&m.all);
	}
}
END_TEST

START_TEST(row_shape_is_checked)
{
	struct mem_sink m;
	struct csv c;

	sink_init(&m);
	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_cell(&c, "x"), -1); /* before csv_begin() */
	csv_release(&c);

	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 5, 0), 0);
	ck_assert_int_eq(csv_cell(&c, "x"), 0);
	ck_assert_int_eq(csv_row_end(&c), -1);
	ck_assert_ptr_nonnull(strstr(c.err, "fewer cells"));
	csv_release(&c);

	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 5, 0), 0);
	for (int k = 0; k < 5; k++)
		ck_assert_int_eq(csv_cell(&c, NULL), 0);
	ck_assert_int_eq(csv_cell(&c, NULL), -1);
	ck_assert_ptr_nonnull(strstr(c.err, "more cells"));
	csv_release(&c);

	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 5, 0), 0);
	ck_assert_int_eq(csv_cell(&c, NULL), 0);
	ck_assert_int_eq(csv_finish(&c), -1);
	ck_assert_ptr_nonnull(strstr(c.err, "incomplete"));
	csv_release(&c);

	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 0, 0), -1);
	csv_release(&c);
	ck_assert_uint_eq(m.calls, 0);
	buf_release(&m.all);
}
END_TEST

START_TEST(non_ascii_and_bad_utf8)
{
	static const char *const rows[][5] = {
	    {"Siti Nurhaliza \xc3\x91"
	     "and\xc3\xba \xe6\x97\xa5\xe6\x9c\xac "
	     "\xf0\x9f\x98\x80",
	     NULL, NULL, NULL, NULL},
	    /* A lone continuation byte, an overlong '/', a truncated one. */
	    {"a\x80z \xc0\xaf \xe6\x97", NULL, NULL, NULL, NULL},
	};
	struct mem_sink m;
	struct csv c;

	sink_init(&m);
	write_rows(&m, 0, rows, 2);
	ck_assert_str_eq(m.all.s, "name,count,price,since,updated\r\n"
	                          "Siti Nurhaliza \xc3\x91"
	                          "and\xc3\xba "
	                          "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"
	                          ",,,,\r\n"
	                          "a\xef\xbf\xbdz \xef\xbf\xbd\xef\xbf\xbd "
	                          "\xef\xbf\xbd\xef\xbf\xbd,,,,\r\n");
	buf_release(&m.all);

	/* A NUL inside a counted cell becomes U+FFFD too. */
	sink_init(&m);
	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 1, 0), 0);
	ck_assert_int_eq(csv_cell_n(&c, "a\0b", 3), 0);
	ck_assert_int_eq(csv_row_end(&c), 0);
	ck_assert_int_eq(csv_finish(&c), 0);
	ck_assert_str_eq(m.all.s, "name\r\na\xef\xbf\xbd"
	                          "b\r\n");
	csv_release(&c);
	buf_release(&m.all);
}
END_TEST

/* Rows reach the sink while later ones are still being written. */
START_TEST(streams_in_whole_rows)
{
	struct mem_sink m;
	struct csv c;
	size_t before_last = 0;
	char name[64];

	sink_init(&m);
	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 5, 1), 0);
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "Pelanggan nomor %d, Bekasi", i);
		ck_assert_int_eq(csv_cell(&c, name), 0);
		ck_assert_int_eq(csv_cell_int(&c, i), 0);
		ck_assert_int_eq(csv_cell(&c, "150000.00"), 0);
		ck_assert_int_eq(csv_cell(&c, "2024-05-01"), 0);
		ck_assert_int_eq(csv_cell(&c, "2024-05-01 10:00:00"), 0);
		ck_assert_int_eq(csv_row_end(&c), 0);
		/* Never more than a flush and a row pending. */
		ck_assert_uint_lt(c.out.len, CSV_FLUSH_BYTES + 200);
		if (i == 19998)
			before_last = m.calls;
	}
	ck_assert_int_eq(csv_finish(&c), 0);
	ck_assert_uint_gt(before_last, 10);
	ck_assert_uint_le(m.largest, CSV_FLUSH_BYTES + 200);
	ck_assert_int_eq(m.rows_whole, 1);
	ck_assert_uint_eq(c.bytes, m.all.len);
	ck_assert_uint_eq(c.rows, 20000);
	csv_release(&c);
	buf_release(&m.all);
}
END_TEST

START_TEST(failing_sink_stops_the_writer)
{
	struct mem_sink m;
	struct csv c;
	int rc = 0, i;

	sink_init(&m);
	m.fail_at = 2;
	csv_init(&c, mem_write, &m);
	ck_assert_int_eq(csv_begin(&c, people, 1, 0), 0);
	for (i = 0; i < 100000 && rc == 0; i++) {
		rc = csv_cell(&c, "some text that fills the buffer quickly");
		if (rc == 0)
			rc = csv_row_end(&c);
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(m.calls, 2);
	ck_assert_ptr_nonnull(strstr(c.err, "could not be delivered"));
	ck_assert_int_eq(csv_cell(&c, "x"), -1);
	ck_assert_int_eq(csv_finish(&c), -1);
	ck_assert_int_eq(m.calls, 2);
	csv_release(&c);
	buf_release(&m.all);
}
END_TEST

/* Python's csv module reads back exactly the cells that went in. */
START_TEST(python_reads_it_back)
{
	static const char *const rows[][5] = {
	    {"Budi, \"Bud\" Santoso", "1", "150000.00", "2024-05-01",
	     "2024-05-01 13:45:10"},
	    {"baris\r\nkedua", "-2", "-0.01", NULL, NULL},
	    {"=cmd|' /C calc'!A0", NULL, NULL, NULL, NULL},
	    {"Ng\xe1\xbb\x8d"
	     "c \xe6\x97\xa5\xe6\x9c\xac",
	     NULL, NULL, NULL, NULL},
	};
	static const char script[] =
	    "import csv, sys\n"
	    "with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:\n"
	    "    rows = list(csv.reader(f, strict=True))\n"
	    "want = [['name', 'count', 'price', 'since', 'updated'],\n"
	    "        ['Budi, \"Bud\" Santoso', '1', '150000.00', "
	    "'2024-05-01',\n"
	    "         '2024-05-01 13:45:10'],\n"
	    "        ['baris\\r\\nkedua', '-2', '-0.01', '', ''],\n"
	    "        [\"'=cmd|' /C calc'!A0\", '', '', '', ''],\n"
	    "        ['Ng\\u1ecdc \\u65e5\\u672c', '', '', '', '']]\n"
	    "if rows != want:\n"
	    "    sys.exit('got %r' % (rows,))\n";
	char path[] = "/tmp/test_csv_XXXXXX";
	struct mem_sink m;
	int fd, status;
	pid_t pid;

	sink_init(&m);
	write_rows(&m, 1, rows, 4);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, m.all.s, m.all.len), (ssize_t)m.all.len);
	close(fd);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl("/usr/bin/python3", "python3", "-c", script, path,
		      (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	unlink(path);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "python3 csv read-back failed (status %d)", status);
	buf_release(&m.all);
}
END_TEST

UNIT_MAIN("csv", header_crlf_and_bom, quoting,
          every_formula_prefix_is_neutralised, numbers_are_numbers,
          computed_cells, dates, bad_values_stop_the_writer,
          row_shape_is_checked, non_ascii_and_bad_utf8, streams_in_whole_rows,
          failing_sink_stops_the_writer, python_reads_it_back)
