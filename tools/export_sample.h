/*
 * Customer-like export rows for measuring and testing the export writers
 * (tools/bench_export.c, the e2e streaming probe tests/e2e/stream_probe.c)
 * without a database: the columns of a customer export with its computed
 * ones (plan name, days overdue, amount totals), names with non-ASCII
 * letters, phones that start with '+', addresses with commas, and every
 * 1000th row a note that is a formula-injection attempt.
 *
 * Row i is always the same, so a test can recompute what it should read
 * back.  Header only (static functions): each program includes it once.
 */
#ifndef RTRW_EXPORT_SAMPLE_H
#define RTRW_EXPORT_SAMPLE_H

#include <inttypes.h>
#include <stdio.h>

#include "cell.h"
#include "money.h"

/* clang-format off */
static const struct cell_col sample_cols[] = {
	{ "id",             CELL_INT,      8 },
	{ "customer_code",  CELL_TEXT,     12 },
	{ "name",           CELL_TEXT,     28 },
	{ "phone",          CELL_TEXT,     16 },
	{ "email",          CELL_TEXT,     28 },
	{ "address",        CELL_TEXT,     40 },
	{ "plan_name",      CELL_TEXT,     16 },
	{ "status",         CELL_TEXT,     10 },
	{ "monthly_price",  CELL_MONEY,    0 },
	{ "billing_day",    CELL_INT,      0 },
	{ "installed_at",   CELL_DATE,     0 },
	{ "days_overdue",   CELL_INT,      0 },
	{ "total_paid",     CELL_MONEY,    0 },
	{ "created_at_utc", CELL_DATETIME, 0 },
	{ "notes",          CELL_TEXT,     30 },
};
/* clang-format on */
#define SAMPLE_NCOLS (sizeof(sample_cols) / sizeof(sample_cols[0]))

struct sample_row {
	char text[1024];
	const char *v[SAMPLE_NCOLS];
};

static const char *const sample_names[] = {
    "Siti Nurhaliza",
    "Budi Santoso",
    "Dewi Lestari",
    "I Wayan S\xc3\xbcsilo",
    "Ni Ketut \xc3\x91oman",
    "Nguy\xe1\xbb\x85n V\xc4\x83n An",
    "Agus Salim",
    "Rina Marlina",
};
static const char *const sample_plans[] = {"Paket 10 Mbps", "Paket 20 Mbps",
                                           "Paket 50 Mbps"};
static const char *const sample_prices[] = {"150000.00", "250000.00",
                                            "450000.00"};
static const char *const sample_status[] = {"active", "active", "suspended",
                                            "pending", "terminated"};

/* Fills s with row i (i >= 0). */
static void
sample_row_fill(struct sample_row *s, int64_t i)
{
	char *p = s->text, *end = s->text + sizeof(s->text);
	char money[MONEY_STR_MAX];
	size_t k = 0;

/* Appends one printf-formatted value and points the next column at it. */
#define SAMPLE_PUT(...)                                                        \
	do {                                                                   \
		int n_ = snprintf(p, (size_t)(end - p), __VA_ARGS__);          \
		s->v[k++] = p;                                                 \
		p += n_ < 0 ? 0 : (n_ >= end - p ? end - p - 1 : n_) + 1;      \
	} while (0)

	SAMPLE_PUT("%" PRId64, i + 1);
	SAMPLE_PUT("C-%06" PRId64, i + 1);
	SAMPLE_PUT("%s %" PRId64, sample_names[i % 8], i + 1);
	SAMPLE_PUT("+62812%07" PRId64, i % 10000000);
	SAMPLE_PUT("pelanggan%" PRId64 "@contoh.id", i + 1);
	SAMPLE_PUT("Jl. Merdeka No. %" PRId64 ", RT 0%d/RW 0%d, Bekasi",
	           i % 300 + 1, (int)(i % 9) + 1, (int)(i % 7) + 1);
	SAMPLE_PUT("%s", sample_plans[i % 3]);
	SAMPLE_PUT("%s", sample_status[i % 5]);
	SAMPLE_PUT("%s", sample_prices[i % 3]);
	SAMPLE_PUT("%d", (int)(i % 28) + 1);
	SAMPLE_PUT("20%02d-%02d-%02d", (int)(i % 10) + 15, (int)(i % 12) + 1,
	           (int)(i % 28) + 1);
	SAMPLE_PUT("%d", (int)(i % 4 == 0 ? i % 45 : 0));
	money_format((i % 24) * 15000000 + (i % 100), money);
	SAMPLE_PUT("%s", money);
	SAMPLE_PUT("2024-%02d-%02d %02d:%02d:%02d", (int)(i % 12) + 1,
	           (int)(i % 28) + 1, (int)(i % 24), (int)(i % 60),
	           (int)(i * 7 % 60));
	if (i % 1000 == 999)
		SAMPLE_PUT("=HYPERLINK(\"http://evil.example/?%" PRId64
		           "\",\"klik\")",
		           i + 1);
	else if (i % 10 == 3)
		SAMPLE_PUT("minta dipasang \"sore\", setelah jam 4");
	else
		s->v[k++] = NULL;
#undef SAMPLE_PUT
}

#endif
