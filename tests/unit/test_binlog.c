/*
 * The binary log walker (lib/binlog.c) on synthetic logs: time range,
 * data detection, closed and open files, and the damage it must notice,
 * fed whole and one byte at a time.
 */
#include <string.h>

#include "binlog.h"
#include "buf.h"
#include "tests/unit/unit.h"

static void
event(struct buf *b, unsigned ts, int type, size_t body, int good_pos)
{
	unsigned char h[BINLOG_HEADER_LEN] = {0};
	unsigned size = (unsigned)(BINLOG_HEADER_LEN + body);
	unsigned end = (unsigned)(b->len + size) + (good_pos ? 0 : 7);

	for (int i = 0; i < 4; i++) {
		h[i] = (unsigned char)(ts >> (8 * i));
		h[9 + i] = (unsigned char)(size >> (8 * i));
		h[13 + i] = (unsigned char)(end >> (8 * i));
	}
	h[4] = (unsigned char)type;
	h[5] = 1; /* server id */
	buf_add(b, h, sizeof(h));
	for (size_t i = 0; i < body; i++)
		buf_addch(b, (char)('a' + i % 26));
}

/* magic, format description, GTID list, [GTID, query], rotate. */
static void
make_log(struct buf *b, int with_data, int closed)
{
	buf_reset(b);
	buf_add(b,
	        "\xfe"
	        "bin",
	        4);
	event(b, 1000, BINLOG_FORMAT_DESCRIPTION_EVENT, 237, 1);
	event(b, 1000, BINLOG_GTID_LIST_EVENT, 10, 1);
	if (with_data) {
		event(b, 1003, BINLOG_GTID_EVENT, 23, 1);
		event(b, 1003, 2 /* query */, 300, 1);
		event(b, 0, 16 /* xid, no time */, 12, 1);
	}
	if (closed)
		event(b, 1009, BINLOG_ROTATE_EVENT, 30, 1);
}

static int
scan(const struct buf *b, size_t len, size_t step, int closed,
     struct binlog_scan *s)
{
	binlog_scan_init(s);
	for (size_t off = 0; off < len; off += step)
		if (binlog_scan_feed(s, b->s + off,
		                     len - off < step ? len - off : step) < 0)
			return -1;
	return binlog_scan_finish(s, closed);
}

START_TEST(closed_log_with_data)
{
	struct buf b = BUF_INIT(0);
	struct binlog_scan s;

	make_log(&b, 1, 1);
	for (size_t step = 1; step <= b.len; step = step * 3 + 1) {
		ck_assert_int_eq(scan(&b, b.len, step, 1, &s), 0);
		ck_assert_int_eq(s.first_at, 1000);
		ck_assert_int_eq(s.last_at, 1009);
		ck_assert_int_eq(s.events, 6);
		ck_assert_int_eq(s.has_data, 1);
		ck_assert_int_eq(s.offset, b.len);
	}
	buf_release(&b);
}
END_TEST

START_TEST(empty_and_open_logs)
{
	struct buf b = BUF_INIT(0);
	struct binlog_scan s;

	make_log(&b, 0, 1);
	ck_assert_int_eq(scan(&b, b.len, 64, 1, &s), 0);
	ck_assert_int_eq(s.has_data, 0);
	/* The log being written: no rotate yet, maybe half an event. */
	make_log(&b, 1, 0);
	ck_assert_int_eq(scan(&b, b.len, 64, 0, &s), 0);
	ck_assert_int_eq(s.has_data, 1);
	ck_assert_int_eq(scan(&b, b.len - 5, 64, 0, &s), 0);
	ck_assert_int_eq(scan(&b, b.len, 64, 1, &s), -1);
	ck_assert_ptr_nonnull(strstr(s.err, "not closed"));
	buf_release(&b);
}
END_TEST

START_TEST(damage_is_noticed)
{
	struct buf b = BUF_INIT(0);
	struct binlog_scan s;

	make_log(&b, 1, 1);
	/* Cut anywhere inside the last event. */
	ck_assert_int_eq(scan(&b, b.len - 1, 7, 1, &s), -1);
	ck_assert_ptr_nonnull(strstr(s.err, "inside an event"));
	ck_assert_int_eq(scan(&b, 3, 1, 1, &s), -1);
	/* Bad magic. */
	b.s[1] = 'x';
	ck_assert_int_eq(scan(&b, b.len, 100, 1, &s), -1);
	ck_assert_ptr_nonnull(strstr(s.err, "bad magic"));
	/* An end position that does not match. */
	buf_reset(&b);
	buf_add(&b,
	        "\xfe"
	        "bin",
	        4);
	event(&b, 1000, BINLOG_FORMAT_DESCRIPTION_EVENT, 100, 1);
	event(&b, 1001, 2, 50, 0);
	ck_assert_int_eq(scan(&b, b.len, 100, 0, &s), -1);
	ck_assert_ptr_nonnull(strstr(s.err, "position"));
	/* A first event that is not a format description. */
	buf_reset(&b);
	buf_add(&b,
	        "\xfe"
	        "bin",
	        4);
	event(&b, 1000, 2, 100, 1);
	ck_assert_int_eq(scan(&b, b.len, 100, 0, &s), -1);
	/* An event shorter than its header. */
	buf_reset(&b);
	buf_add(&b,
	        "\xfe"
	        "bin",
	        4);
	event(&b, 1000, BINLOG_FORMAT_DESCRIPTION_EVENT, 100, 1);
	b.s[4 + 9] = 3;
	b.s[4 + 10] = 0;
	ck_assert_int_eq(scan(&b, b.len, 100, 0, &s), -1);
	ck_assert_ptr_nonnull(strstr(s.err, "impossible event size"));
	/* Encrypted logs are refused rather than misread. */
	buf_reset(&b);
	buf_add(&b,
	        "\xfe"
	        "bin",
	        4);
	event(&b, 1000, BINLOG_FORMAT_DESCRIPTION_EVENT, 100, 1);
	event(&b, 1000, BINLOG_START_ENCRYPTION_EVENT, 20, 1);
	ck_assert_int_eq(scan(&b, b.len, 100, 0, &s), -1);
	ck_assert_ptr_nonnull(strstr(s.err, "encrypted"));
	buf_release(&b);
}
END_TEST

START_TEST(names)
{
	ck_assert_int_eq(binlog_name_seq("mysql-bin.000012"), 12);
	ck_assert_int_eq(binlog_name_seq("db.1.000001"), 1);
	ck_assert_int_eq(binlog_name_seq("mysql-bin.0"), 0);
	ck_assert_int_eq(binlog_name_seq("mysql-bin."), -1);
	ck_assert_int_eq(binlog_name_seq("mysql-bin"), -1);
	ck_assert_int_eq(binlog_name_seq("mysql-bin.00x1"), -1);
	ck_assert_int_eq(binlog_name_seq("../x.000001"), -1);
	ck_assert_int_eq(binlog_name_seq(".000001"), -1);
}
END_TEST

UNIT_MAIN("binlog", closed_log_with_data, empty_and_open_logs,
          damage_is_noticed, names)
