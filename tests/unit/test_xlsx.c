/*
 * The XLSX writer (lib/xlsx.c): the workbook is opened back by openpyxl
 * (Debian's python3-openpyxl, through /usr/bin/python3), which checks the
 * sheet, the bold header and frozen pane, the column widths, each cell's
 * type, format and value, the neutralised text and non-ASCII names.  The
 * C side checks errors, the sink and that no temporary file is left.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "xlsx.h"
#include "tests/unit/unit.h"

/* clang-format off */
static const struct cell_col cols[] = {
	{ "Nama",          CELL_TEXT,     30 },
	{ "Telepon",       CELL_TEXT,     0 },
	{ "Paket",         CELL_INT,      0 },
	{ "Harga bulanan", CELL_MONEY,    0 },
	{ "Kecepatan",     CELL_DECIMAL,  0 },
	{ "Dipasang",      CELL_DATE,     0 },
	{ "Dibuat (UTC)",  CELL_DATETIME, 0 },
};
/* clang-format on */
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static char tmpdir[64];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_xlsx_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Number of entries in the temporary directory besides . and .. */
static int
tmpdir_entries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static int
file_sink(void *ctx, const void *data, size_t n)
{
	return fwrite(data, 1, n, ctx) == n ? 0 : -1;
}

struct count_sink {
	size_t calls, bytes, largest;
	int fail_at;
};

static int
count_write(void *ctx, const void *data, size_t n)
{
	struct count_sink *c = ctx;

	(void)data;
	if (c->fail_at && (int)++c->calls >= c->fail_at)
		return -1;
	if (!c->fail_at)
		c->calls++;
	c->bytes += n;
	if (n > c->largest)
		c->largest = n;
	return 0;
}

static void
row(struct xlsx *x, const char *const v[NCOLS])
{
	for (size_t i = 0; i < NCOLS; i++)
		ck_assert_msg(xlsx_cell(x, v[i]) == 0, "cell %zu '%s': %s", i,
		              v[i] ? v[i] : "(null)", x->err ? x->err : "");
	ck_assert_int_eq(xlsx_row_end(x), 0);
}

static int
run_python(const char *script, const char *path)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl("/usr/bin/python3", "python3", "-c", script, path,
		      (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static const char check_script[] =
    "import datetime, re, sys, openpyxl\n"
    "wb = openpyxl.load_workbook(sys.argv[1])\n"
    "ws = wb.active\n"
    "def want(what, got, exp):\n"
    "    if got != exp:\n"
    "        sys.exit('%s: got %r, want %r' % (what, got, exp))\n"
    "want('sheets', wb.sheetnames, ['Pelanggan'])\n"
    "want('frozen pane', ws.freeze_panes, 'A2')\n"
    "want('dimensions', ws.dimensions, 'A1:G8')\n"
    "head = [c.value for c in ws[1]]\n"
    "want('header', head, ['Nama', 'Telepon', 'Paket', 'Harga bulanan',\n"
    "     'Kecepatan', 'Dipasang', 'Dibuat (UTC)'])\n"
    "for c in ws[1]:\n"
    "    want('bold ' + c.coordinate, c.font.b, True)\n"
    "for c in ws[2]:\n"
    "    want('not bold ' + c.coordinate, bool(c.font.b), False)\n"
    "# Widths: as given, by kind, or the title's length + 2.\n"
    "for col, w in (('A', 30), ('B', 20), ('C', 10), ('D', 15),\n"
    "               ('E', 12), ('F', 12), ('G', 20)):\n"
    "    got = ws.column_dimensions[col].width\n"
    "    if not (w <= got < w + 1):\n"
    "        sys.exit('width %s: got %r, want about %r' % (col, got, w))\n"
    "# openpyxl leaves Excel's _xHHHH_ escapes as they are; Excel reads\n"
    "# them as the character.\n"
    "def excel(v):\n"
    "    if not isinstance(v, str):\n"
    "        return v\n"
    "    return re.sub('_x([0-9A-Fa-f]{4})_',\n"
    "                  lambda m: chr(int(m.group(1), 16)), v)\n"
    "def cell(ref, value, kind, fmt=None):\n"
    "    c = ws[ref]\n"
    "    want(ref + ' value', excel(c.value), value)\n"
    "    want(ref + ' type', c.data_type, kind)\n"
    "    if fmt is not None:\n"
    "        want(ref + ' format', c.number_format, fmt)\n"
    "D = datetime.datetime\n"
    "cell('A2', 'Siti Nurhaliza \\u00d1and\\u00fa \\u65e5\\u672c '\n"
    "     '\\U0001f600', 's')\n"
    "cell('B2', \"'+6281234567\", 's')\n"
    "cell('C2', 7, 'n', 'General')\n"
    "cell('D2', 150000, 'n', '#,##0.00')\n"
    "cell('E2', 10.5, 'n', 'General')\n"
    "cell('F2', D(2024, 2, 29), 'd', 'yyyy-mm-dd')\n"
    "cell('G2', D(2024, 5, 1, 13, 45, 10), 'd', 'yyyy-mm-dd hh:mm:ss')\n"
    "cell('A3', \"'=1+1\", 's')\n"
    "cell('B3', \"'-5\", 's')\n"
    "cell('C3', -3, 'n')\n"
    "cell('D3', -0.5, 'n', '#,##0.00')\n"
    "cell('E3', 0, 'n')\n"
    "cell('F3', '1899-12-31', 's')\n"
    "cell('G3', D(2024, 5, 1, 0, 0, 0), 'd')\n"
    "cell('A4', \"'@SUM(A1)\", 's')\n"
    "cell('B4', \"'\\tt\", 's')\n"
    "cell('C4', None, 'n')\n"
    "cell('D4', None, 'n')\n"
    "cell('F4', D(2024, 5, 1), 'd', 'yyyy-mm-dd')\n"
    "cell('G4', None, 'n')\n"
    "want('A5 length', len(ws['A5'].value), 32767)\n"
    "cell('B5', \"'\\rr\", 's')\n"
    "cell('C5', '9007199254740993', 's')\n"
    "cell('D5', 12345678901234.99, 'n', '#,##0.00')\n"
    "cell('A6', 'a\\ufffdz', 's')\n"
    "cell('C6', -42, 'n')\n"
    "cell('D6', -123.45, 'n', '#,##0.00')\n"
    "cell('E6', 1500, 'n')\n"
    "cell('A7', 'bell\\x07x', 's')\n"
    "cell('B7', 'a _x0041_ b _x12_', 's')\n"
    "want('A8 length', len(excel(ws['A8'].value)), 32767)\n"
    "want('A8 end', excel(ws['A8'].value)[-4:], 'a_x0')\n";

START_TEST(openpyxl_reads_types_header_and_pane)
{
	static const char *const rows[][NCOLS] = {
	    {"Siti Nurhaliza \xc3\x91"
	     "and\xc3\xba \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
	     "+6281234567", "7", "150000.00", "10.5", "2024-02-29",
	     "2024-05-01 13:45:10"},
	    {"=1+1", "-5", "-3", "-0.50", "0", "1899-12-31",
	     "2024-05-01T00:00:00Z"},
	    {"@SUM(A1)", "\tt", NULL, "", NULL, "2024-05-01 23:59:59", ""},
	};
	char path[128], *big;
	struct xlsx x;
	int64_t size = 0;
	struct stat st;
	FILE *f;

	make_tmpdir();
	ck_assert_int_eq(xlsx_open(&x, tmpdir, "Pelanggan", cols, NCOLS), 0);
	for (size_t i = 0; i < 3; i++)
		row(&x, rows[i]);

	/* Past Excel's cell limit, an integer past 2^53, a big amount. */
	big = malloc(40001);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 40000);
	big[40000] = '\0';
	ck_assert_int_eq(xlsx_cell(&x, big), 0);
	ck_assert_int_eq(xlsx_cell(&x, "\rr"), 0);
	ck_assert_int_eq(xlsx_cell(&x, "9007199254740993"), 0);
	ck_assert_int_eq(xlsx_cell(&x, "12345678901234.99"), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(xlsx_cell(&x, NULL), 0);
	ck_assert_int_eq(xlsx_row_end(&x), 0);
	free(big);

	/* Bad UTF-8 and computed cells. */
	ck_assert_int_eq(xlsx_cell_n(&x, "a\x80z", 3), 0);
	ck_assert_int_eq(xlsx_cell(&x, NULL), 0);
	ck_assert_int_eq(xlsx_cell_int(&x, -42), 0);
	ck_assert_int_eq(xlsx_cell_cents(&x, -12345), 0);
	ck_assert_int_eq(xlsx_cell_int(&x, 1500), 0);
	ck_assert_int_eq(xlsx_cell(&x, NULL), 0);
	ck_assert_int_eq(xlsx_cell(&x, NULL), 0);
	ck_assert_int_eq(xlsx_row_end(&x), 0);

	/* A control character XML cannot carry as such, a literal escape. */
	ck_assert_int_eq(xlsx_cell(&x, "bell\x07x"), 0);
	ck_assert_int_eq(xlsx_cell(&x, "a _x0041_ b _x12_"), 0);
	for (int i = 2; i < (int)NCOLS; i++)
		ck_assert_int_eq(xlsx_cell(&x, NULL), 0);
	ck_assert_int_eq(xlsx_row_end(&x), 0);

	/* A literal escape that the cut at 32,767 characters ends. */
	big = malloc(40001);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 40000);
	memcpy(big + XLSX_TEXT_MAX - 3, "_x0041_", 7);
	big[40000] = '\0';
	ck_assert_int_eq(xlsx_cell(&x, big), 0);
	for (int i = 1; i < (int)NCOLS; i++)
		ck_assert_int_eq(xlsx_cell(&x, NULL), 0);
	ck_assert_int_eq(xlsx_row_end(&x), 0);
	free(big);
	ck_assert_uint_eq(x.rows, 7);

	ck_assert_int_eq(xlsx_close(&x, &size), 0);
	ck_assert_int_gt(size, 1000);
	/* The finished file lives on only as the open descriptor. */
	ck_assert_int_eq(tmpdir_entries(), 0);

	snprintf(path, sizeof(path), "%s.xlsx", tmpdir);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(xlsx_send(&x, file_sink, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, size);
	xlsx_release(&x);
	ck_assert_int_eq(tmpdir_entries(), 0);
	ck_assert_int_eq(run_python(check_script, path), 0);
	unlink(path);
	rmdir(tmpdir);
}
END_TEST

/* Many rows: sent in XLSX_CHUNK pieces, the file removed afterwards. */
START_TEST(sends_in_chunks_and_cleans_up)
{
	struct count_sink c = {0, 0, 0, 0};
	struct xlsx x;
	int64_t size;
	char n[32];

	make_tmpdir();
	ck_assert_int_eq(xlsx_open(&x, tmpdir, "Rows", cols, NCOLS), 0);
	for (int i = 0; i < 20000; i++) {
		snprintf(n, sizeof(n), "Pelanggan %d", i);
		ck_assert_int_eq(xlsx_cell(&x, n), 0);
		ck_assert_int_eq(xlsx_cell(&x, "+628123"), 0);
		ck_assert_int_eq(xlsx_cell_int(&x, i), 0);
		ck_assert_int_eq(xlsx_cell(&x, "150000.00"), 0);
		ck_assert_int_eq(xlsx_cell(&x, "20"), 0);
		ck_assert_int_eq(xlsx_cell(&x, "2024-05-01"), 0);
		ck_assert_int_eq(xlsx_cell(&x, "2024-05-01 10:00:00"), 0);
		ck_assert_int_eq(xlsx_row_end(&x), 0);
	}
	ck_assert_int_eq(xlsx_close(&x, &size), 0);
	ck_assert_int_gt(size, 2 * XLSX_CHUNK);
	ck_assert_int_eq(xlsx_send(&x, count_write, &c), 0);
	ck_assert_uint_eq(c.bytes, (size_t)size);
	ck_assert_uint_eq(c.largest, XLSX_CHUNK);
	ck_assert_uint_eq(c.calls,
	                  (size_t)(size + XLSX_CHUNK - 1) / XLSX_CHUNK);
	/* A second send gives the same bytes again (a retry after HEAD). */
	c.bytes = 0;
	ck_assert_int_eq(xlsx_send(&x, count_write, &c), 0);
	ck_assert_uint_eq(c.bytes, (size_t)size);
	xlsx_release(&x);
	ck_assert_int_eq(tmpdir_entries(), 0);

	/* A sink that fails stops the send. */
	ck_assert_int_eq(xlsx_open(&x, tmpdir, "Rows", cols, 1), 0);
	for (int i = 0; i < 30000; i++) {
		snprintf(n, sizeof(n), "%d-%d-%d", i, i * 7, i * 13);
		ck_assert_int_eq(xlsx_cell(&x, n), 0);
		ck_assert_int_eq(xlsx_row_end(&x), 0);
	}
	ck_assert_int_eq(xlsx_close(&x, &size), 0);
	ck_assert_int_gt(size, 2 * XLSX_CHUNK);
	memset(&c, 0, sizeof(c));
	c.fail_at = 2;
	ck_assert_int_eq(xlsx_send(&x, count_write, &c), -1);
	ck_assert_uint_eq(c.calls, 2);
	ck_assert_ptr_nonnull(strstr(x.err, "could not be delivered"));
	xlsx_release(&x);
	ck_assert_int_eq(tmpdir_entries(), 0);
	rmdir(tmpdir);
}
END_TEST

START_TEST(bad_values_stop_and_leave_nothing)
{
	static const struct {
		size_t col;
		const char *value;
		const char *column;
	} bad[] = {
	    {2, "1.5", "'Paket'"},
	    {2, "x", "'Paket'"},
	    {3, "1e3", "'Harga bulanan'"},
	    {3, "+1", "'Harga bulanan'"},
	    {4, "1,5", "'Kecepatan'"},
	    {5, "2023-02-29", "'Dipasang'"},
	    {6, "2024-05-01 25:00:00", "'Dibuat (UTC)'"},
	};
	struct xlsx x;
	int64_t size;

	make_tmpdir();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(xlsx_open(&x, tmpdir, "S", cols, NCOLS), 0);
		for (size_t k = 0; k < bad[i].col; k++)
			ck_assert_int_eq(xlsx_cell(&x, NULL), 0);
		ck_assert_msg(xlsx_cell(&x, bad[i].value) == -1,
		              "'%s' accepted", bad[i].value);
		ck_assert_msg(strstr(x.err, bad[i].column) != NULL,
		              "error '%s' does not name %s", x.err,
		              bad[i].column);
		ck_assert_int_eq(xlsx_cell(&x, NULL), -1);
		ck_assert_int_eq(xlsx_row_end(&x), -1);
		ck_assert_int_eq(xlsx_close(&x, &size), -1);
		ck_assert_int_eq(xlsx_send(&x, file_sink, stdout), -1);
		xlsx_release(&x);
		ck_assert_int_eq(tmpdir_entries(), 0);
	}
	rmdir(tmpdir);
}
END_TEST

START_TEST(shape_and_names_are_checked)
{
	struct xlsx x;
	int64_t size;

	make_tmpdir();
	ck_assert_int_eq(xlsx_open(&x, tmpdir, "S", cols, 2), 0);
	ck_assert_int_eq(xlsx_cell(&x, "a"), 0);
	ck_assert_int_eq(xlsx_row_end(&x), -1);
	ck_assert_ptr_nonnull(strstr(x.err, "fewer cells"));
	xlsx_release(&x);

	ck_assert_int_eq(xlsx_open(&x, tmpdir, "S", cols, 2), 0);
	ck_assert_int_eq(xlsx_cell(&x, "a"), 0);
	ck_assert_int_eq(xlsx_cell(&x, "b"), 0);
	ck_assert_int_eq(xlsx_cell(&x, "c"), -1);
	ck_assert_ptr_nonnull(strstr(x.err, "more cells"));
	xlsx_release(&x);

	ck_assert_int_eq(xlsx_open(&x, tmpdir, "S", cols, 2), 0);
	ck_assert_int_eq(xlsx_cell(&x, "a"), 0);
	ck_assert_int_eq(xlsx_close(&x, &size), -1);
	ck_assert_ptr_nonnull(strstr(x.err, "incomplete"));
	xlsx_release(&x);

	/* Sending before closing, writing after it. */
	ck_assert_int_eq(xlsx_open(&x, tmpdir, "S", cols, 1), 0);
	ck_assert_int_eq(xlsx_send(&x, file_sink, stdout), -1);
	xlsx_release(&x);
	ck_assert_int_eq(xlsx_open(&x, tmpdir, "S", cols, 1), 0);
	ck_assert_int_eq(xlsx_close(&x, &size), 0);
	ck_assert_int_eq(xlsx_cell(&x, "a"), -1);
	xlsx_release(&x);

	/* Sheet names Excel refuses, no columns, a bad directory. */
	ck_assert_int_eq(xlsx_open(&x, tmpdir, "a/b", cols, 1), -1);
	ck_assert_ptr_nonnull(x.err);
	xlsx_release(&x);
	ck_assert_int_eq(xlsx_open(&x, tmpdir,
	                           "a name longer than thirty-one chars", cols,
	                           1),
	                 -1);
	xlsx_release(&x);
	ck_assert_int_eq(xlsx_open(&x, tmpdir, "S", cols, 0), -1);
	xlsx_release(&x);
	ck_assert_int_eq(xlsx_open(&x, "/nonexistent/dir", "S", cols, 1), -1);
	ck_assert_ptr_nonnull(strstr(x.err, "temporary"));
	xlsx_release(&x);
	ck_assert_int_eq(tmpdir_entries(), 0);
	rmdir(tmpdir);
}
END_TEST

UNIT_MAIN("xlsx", openpyxl_reads_types_header_and_pane,
          sends_in_chunks_and_cleans_up, bad_values_stop_and_leave_nothing,
          shape_and_names_are_checked)
