/*
 * seed_bulk: loads N tenants x M customers with a year of payments, fast,
 * for benchmarks.  Multi-row INSERTs of 1,000 rows in large
 * transactions; it is a tool, so it talks to MariaDB through mysql.h
 * directly, as the schema owner named in the configuration.
 *
 *   seed_bulk [--config FILE] --tenants N --customers M [--payments K]
 *   seed_bulk [--config FILE] --tenant-id ID --customers M [--payments K]
 *
 * The first form creates tenants "bulk-<stamp>-<i>" with the default
 * plans; the second adds customers to an existing tenant (one registered
 * through the API, so that it has users to log in with).  K payments per
 * customer (default 12) cover the K months before the current one: paid
 * (payment_date a few days after due) except the last month, where one in
 * ten is overdue.  Every value is generated here, never read from input;
 * names still go through mysql_real_escape_string.
 */
#include <inttypes.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "util.h"

#define BATCH 1000

static const char *const first_names[] = {
    "Budi",  "Siti",   "Agus", "Dewi",  "Rina",   "Joko",    "Sri",
    "Ahmad", "Putri",  "Eko",  "Wahyu", "Indah",  "Bambang", "Nur",
    "Dian",  "Hendra", "Yuni", "Rudi",  "Fitri",  "Andi",    "Lestari",
    "Teguh", "Ayu",    "Bayu", "Ratna", "Slamet", "Wulan",   "Arif",
};
static const char *const last_names[] = {
    "Santoso", "Wijaya",  "Saputra",  "Kusuma",      "Hidayat", "Pratama",
    "Lestari", "Nugroho", "Setiawan", "Rahmawati",   "Susanto", "Gunawan",
    "Halim",   "Siregar", "Nasution", "Simanjuntak", "Utomo",   "Purnomo",
};

static MYSQL *m;

static void
die(const char *what)
{
	fprintf(stderr, "seed_bulk: %s: %s\n", what, m ? mysql_error(m) : "");
	exit(1);
}

static void
run(struct buf *b)
{
	if (b->over)
		die("statement too large");
	if (mysql_real_query(m, b->s, b->len) != 0)
		die("query failed");
	buf_reset(b);
}

static uint64_t rng = 88172645463325252ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t
insert_id(void)
{
	return (int64_t)mysql_insert_id(m);
}

/* Creates the default plans of tenant t; stores the first plan's id. */
static void
plans(int64_t t, int64_t *plan_ids, struct buf *b)
{
	static const char *const v[] = {
	    "'Paket 10 Mbps', 10000, 5000, 150000.00, 'paket-10-mbps'",
	    "'Paket 20 Mbps', 20000, 10000, 250000.00, 'paket-20-mbps'",
	    "'Paket 30 Mbps', 30000, 15000, 350000.00, 'paket-30-mbps'",
	    "'Paket 50 Mbps', 50000, 25000, 500000.00, 'paket-50-mbps'"};

	for (int i = 0; i < 4; i++) {
		buf_addf(
		    b,
		    "INSERT INTO service_plans (tenant_id, name, "
		    "speed_download, speed_upload, price, mikrotik_profile)"
		    " VALUES (%" PRId64 ", %s)",
		    t, v[i]);
		run(b);
		plan_ids[i] = insert_id();
	}
}

static const char *const plan_prices[] = {"150000.00", "250000.00", "350000.00",
                                          "500000.00"};

/*
 * Adds n customers to tenant t, numbered after the tenant's "customer"
 * counter (codes never collide with customers created through the API),
 * with k payments each.
 */
static void
customers(int64_t t, const int64_t *plan_ids, int64_t n, int k, struct buf *b,
          int64_t *ncust, int64_t *npay)
{
	int64_t base = 0;
	MYSQL_RES *res;
	MYSQL_ROW row;
	struct buf pay = BUF_INIT(64 * 1024 * 1024);
	time_t now = time(NULL);
	struct tm tm;
	int cy, cm;

	buf_addf(b,
	         "SELECT value FROM tenant_counters WHERE tenant_id = %" PRId64
	         " AND name = 'customer' FOR UPDATE",
	         t);
	run(b);
	res = mysql_store_result(m);
	if (res && (row = mysql_fetch_row(res)) && row[0])
		base = strtoll(row[0], NULL, 10);
	if (res)
		mysql_free_result(res);
	gmtime_r(&now, &tm);
	cy = tm.tm_year + 1900;
	cm = tm.tm_mon + 1;
	for (int64_t done = 0; done < n;) {
		int64_t rows = n - done < BATCH ? n - done : BATCH, first;
		int pl[BATCH], day[BATCH];

		buf_adds(b, "INSERT INTO customers (tenant_id, customer_code, "
		            "name, phone, email, address, service_plan_id, "
		            "status, monthly_price, billing_day) VALUES ");
		for (int64_t i = 0; i < rows; i++) {
			int64_t no = base + done + i + 1;
			const char *fn =
			    first_names[rnd() % ARRAY_SIZE(first_names)];
			const char *ln =
			    last_names[rnd() % ARRAY_SIZE(last_names)];
			uint64_t r = rnd();
			const char *st = r % 100 < 85   ? "active"
			                 : r % 100 < 92 ? "suspended"
			                 : r % 100 < 97 ? "pending"
			                                : "terminated";

			pl[i] = (int)(rnd() % 4);
			day[i] = (int)(rnd() % 28) + 1;
			buf_addf(b,
			         "%s(%" PRId64 ", 'C-%06" PRId64 "', '%s %s', "
			         "'08%010" PRIu64 "', %s%s%s%s, 'Jl. Kenanga "
			         "%" PRId64 ", RT 0%d/RW 0%d', %" PRId64
			         ", '%s', %s, %d)",
			         i ? "," : "", t, no, fn, ln,
			         (uint64_t)(rnd() % 10000000000ull),
			         r % 10 < 3 ? "'" : "NULL",
			         r % 10 < 3 ? fn : "", r % 10 < 3 ? "." : "",
			         r % 10 < 3 ? "x@warga.id'" : "", no % 200,
			         (int)(no % 9) + 1, (int)(no % 7) + 1,
			         plan_ids[pl[i]], st, plan_prices[pl[i]],
			         day[i]);
		}
		run(b);
		first = insert_id(); /* of the first row; ids are consecutive */
		for (int64_t i = 0; i < rows && k > 0; i++) {
			for (int p = k; p >= 1; p--) {
				int y = cy, mo = cm - p;
				int late = (int)(rnd() % 6);
				int over = p == 1 && rnd() % 10 == 0;

				while (mo < 1) {
					mo += 12;
					y--;
				}
				char paid[16] = "NULL";

				if (!over)
					snprintf(
					    paid, sizeof(paid),
					    "'%04u-%02u-%02u'",
					    (unsigned)y % 10000u,
					    (unsigned)mo % 100u,
					    (unsigned)(day[i] + late > 28
					                   ? 28
					                   : day[i] + late) %
					        100u);
				buf_addf(&pay,
				         "%s(%" PRId64 ", %" PRId64
				         ", %s, '%s', '%04d-%02d', "
				         "'%04d-%02d-%02d', %s, 'invoice')",
				         pay.len ? "," : "", t, first + i,
				         plan_prices[pl[i]],
				         over ? "overdue" : "paid", y, mo, y,
				         mo, day[i], paid);
				(*npay)++;
			}
			if ((i + 1) % 100 == 0 || i + 1 == rows) {
				struct buf q = BUF_INIT(64 * 1024 * 1024);

				buf_adds(
				    &q,
				    "INSERT INTO payments (tenant_id, "
				    "customer_id, amount, status, period, "
				    "due_date, payment_date, source) VALUES ");
				buf_add(&q, pay.s, pay.len);
				run(&q);
				buf_release(&q);
				buf_reset(&pay);
			}
		}
		done += rows;
		*ncust += rows;
	}
	buf_addf(b,
	         "INSERT INTO tenant_counters (tenant_id, name, value) VALUES "
	         "(%" PRId64 ", 'customer', %" PRId64
	         ") ON DUPLICATE KEY UPDATE value = value + %" PRId64,
	         t, n, n);
	run(b);
	buf_release(&pay);
}

static const char *
opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	struct buf b = BUF_INIT(64 * 1024 * 1024);
	const char *s;
	int64_t ntenants = 0, ncustomers = 0, k = 12, tid = 0, ncust = 0,
	        npay = 0, t0 = now_usec();
	char err[256], pw[256];

	if (((s = opt(argc, argv, "--tenants")) &&
	     parse_int64(s, 1, 1000000, &ntenants) < 0) ||
	    ((s = opt(argc, argv, "--customers")) &&
	     parse_int64(s, 0, 100000000, &ncustomers) < 0) ||
	    ((s = opt(argc, argv, "--payments")) &&
	     parse_int64(s, 0, 120, &k) < 0) ||
	    ((s = opt(argc, argv, "--tenant-id")) &&
	     parse_int64(s, 1, INT64_MAX, &tid) < 0) ||
	    (!ntenants && !tid)) {
		fprintf(stderr, "usage: seed_bulk [--config FILE] (--tenants N "
		                "| --tenant-id ID) --customers M "
		                "[--payments K]\n");
		return 2;
	}
	if (config_load(&cfg, opt(argc, argv, "--config"), err, sizeof(err)) <
	        0 ||
	    config_read_password(cfg.db_admin_password_file[0]
	                             ? cfg.db_admin_password_file
	                             : cfg.db_password_file,
	                         pw, sizeof(pw), err, sizeof(err)) < 0) {
		fprintf(stderr, "seed_bulk: %s\n", err);
		return 1;
	}
	rng ^= (uint64_t)time(NULL);
	m = mysql_init(NULL);
	if (!m || !mysql_real_connect(
	              m, cfg.db_socket[0] ? NULL : cfg.db_host,
	              cfg.db_admin_user[0] ? cfg.db_admin_user : cfg.db_user,
	              pw, cfg.db_name, (unsigned)cfg.db_port,
	              cfg.db_socket[0] ? cfg.db_socket : NULL, 0))
		die("connect");
	explicit_bzero(pw, sizeof(pw));
	buf_adds(&b, "SET unique_checks = 0, foreign_key_checks = 0");
	run(&b);
	if (tid) {
		int64_t plan_ids[4];
		MYSQL_RES *res;
		MYSQL_ROW row;
		int n = 0;

		buf_addf(
		    &b,
		    "SELECT id FROM service_plans WHERE tenant_id = %" PRId64
		    " AND deleted_at IS NULL ORDER BY id LIMIT 4",
		    tid);
		run(&b);
		res = mysql_store_result(m);
		while (res && (row = mysql_fetch_row(res)) && n < 4)
			plan_ids[n++] = strtoll(row[0], NULL, 10);
		if (res)
			mysql_free_result(res);
		if (n < 4)
			die("the tenant needs its 4 default plans");
		buf_adds(&b, "START TRANSACTION");
		run(&b);
		customers(tid, plan_ids, ncustomers, (int)k, &b, &ncust, &npay);
		buf_adds(&b, "COMMIT");
		run(&b);
	}
	for (int64_t i = 0; i < ntenants; i++) {
		int64_t t, plan_ids[4];

		buf_adds(&b, "START TRANSACTION");
		run(&b);
		buf_addf(&b,
		         "INSERT INTO tenants (slug, name, timezone) VALUES "
		         "('bulk-%" PRIx64 "-%" PRId64 "', 'Bulk %" PRId64
		         "', 'Asia/Jakarta')",
		         (uint64_t)t0 & 0xffffff, i, i);
		run(&b);
		t = insert_id();
		buf_addf(&b,
		         "INSERT INTO audit_chain (tenant_id) VALUES (%" PRId64
		         ")",
		         t);
		run(&b);
		plans(t, plan_ids, &b);
		customers(t, plan_ids, ncustomers, (int)k, &b, &ncust, &npay);
		buf_adds(&b, "COMMIT");
		run(&b);
		if ((i + 1) % 50 == 0)
			fprintf(stderr, "seed_bulk: %" PRId64 " tenants\n",
			        i + 1);
	}
	printf("seed_bulk: tenants=%" PRId64 " customers=%" PRId64
	       " payments=%" PRId64 " seconds=%.1f\n",
	       ntenants ? ntenants : 1, ncust, npay,
	       (double)(now_usec() - t0) / 1e6);
	buf_release(&b);
	mysql_close(m);
	return 0;
}
