#include "tenant_export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mysql.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "util.h"

#define MAX_TABLES 256
#define MAX_COLS   128
#define CELL_INIT  256

/* One row of a statement, every column as text. */
struct row {
	size_t n;
	char **v;
	unsigned long *len;
	my_bool *null;
	enum enum_field_types *type;
	unsigned *flags;
};

typedef int (*row_fn)(void *ctx, const struct row *r);

/*
 * Runs sql as a prepared statement with up to one integer and one string
 * parameter (in that order when both; NULL/absent when not wanted) and
 * calls fn for each row, every column fetched as text whatever its size.
 * 0, or -1 with err.
 */
static int
query(MYSQL *m, const char *sql, const int64_t *ip, const char *sp, row_fn fn,
      void *ctx, char *err, size_t errlen)
{
	MYSQL_STMT *st = mysql_stmt_init(m);
	MYSQL_BIND params[2], *res = NULL;
	MYSQL_RES *meta = NULL;
	struct row r;
	unsigned long slen = sp ? strlen(sp) : 0;
	int64_t ival = ip ? *ip : 0;
	int np = 0, rc = -1, f;

	memset(&r, 0, sizeof(r));
	if (!st)
		abort();
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		snprintf(err, errlen, "export query failed: %s",
		         mysql_stmt_error(st));
		goto out;
	}
	memset(params, 0, sizeof(params));
	if (ip) {
		params[np].buffer_type = MYSQL_TYPE_LONGLONG;
		params[np].buffer = &ival;
		np++;
	}
	if (sp) {
		params[np].buffer_type = MYSQL_TYPE_STRING;
		params[np].buffer = (void *)sp;
		params[np].buffer_length = slen;
		params[np].length = &slen;
		np++;
	}
	if ((np && mysql_stmt_bind_param(st, params) != 0) ||
	    mysql_stmt_execute(st) != 0) {
		snprintf(err, errlen, "export query failed: %s",
		         mysql_stmt_error(st));
		goto out;
	}
	meta = mysql_stmt_result_metadata(st);
	if (!meta) {
		rc = 0;
		goto out;
	}
	r.n = mysql_num_fields(meta);
	res = xcalloc(r.n, sizeof(*res));
	r.v = xcalloc(r.n, sizeof(*r.v));
	r.len = xcalloc(r.n, sizeof(*r.len));
	r.null = xcalloc(r.n, sizeof(*r.null));
	r.type = xcalloc(r.n, sizeof(*r.type));
	r.flags = xcalloc(r.n, sizeof(*r.flags));
	for (size_t i = 0; i < r.n; i++) {
		MYSQL_FIELD *fd = mysql_fetch_field_direct(meta, (unsigned)i);

		r.type[i] = fd->type;
		r.flags[i] = fd->charsetnr == 63 ? BINARY_FLAG : 0;
		r.v[i] = xmalloc(CELL_INIT + 1);
		res[i].buffer_type = MYSQL_TYPE_STRING;
		res[i].buffer = r.v[i];
		res[i].buffer_length = CELL_INIT;
		res[i].length = &r.len[i];
		res[i].is_null = &r.null[i];
	}
	if (mysql_stmt_bind_result(st, res) != 0)
		goto out_err;
	while ((f = mysql_stmt_fetch(st)) == 0 || f == MYSQL_DATA_TRUNCATED) {
		for (size_t i = 0; i < r.n; i++) {
			if (r.null[i] || r.len[i] <= res[i].buffer_length)
				continue;
			/* A long value: fetch it whole into a larger cell. */
			r.v[i] = xrealloc(r.v[i], r.len[i] + 1);
			res[i].buffer = r.v[i];
			res[i].buffer_length = r.len[i];
			if (mysql_stmt_fetch_column(st, &res[i], (unsigned)i,
			                            0) != 0)
				goto out_err;
		}
		for (size_t i = 0; i < r.n; i++)
			if (!r.null[i])
				r.v[i][r.len[i]] = '\0';
		if (fn(ctx, &r) < 0) {
			snprintf(err, errlen, "writing the export failed: %s",
			         strerror(errno));
			goto out;
		}
		/* Shrink cells back so that the binding stays valid. */
		for (size_t i = 0; i < r.n; i++)
			if (res[i].buffer_length != CELL_INIT) {
				res[i].buffer_length = CELL_INIT;
				if (mysql_stmt_bind_result(st, res) != 0)
					goto out_err;
				break;
			}
	}
	if (f != MYSQL_NO_DATA)
		goto out_err;
	rc = 0;
	goto out;
out_err:
	snprintf(err, errlen, "reading the export failed: %s",
	         mysql_stmt_error(st));
out:
	if (meta)
		mysql_free_result(meta);
	for (size_t i = 0; i < r.n; i++)
		free(r.v[i]);
	free(r.v);
	free(r.len);
	free(r.null);
	free(r.type);
	free(r.flags);
	free(res);
	mysql_stmt_close(st);
	return rc;
}

static int
ident_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* ---- what to export ---------------------------------------------------- */

struct column {
	char name[65];
	int keep;
	char why[64];
};

struct table {
	char name[65];
	struct column cols[MAX_COLS];
	size_t ncols;
	char order[1024]; /* the primary key, for ORDER BY */
	FILE *data;       /* the JSON lines, in a temporary file */
	uint64_t rows, bytes;
	EVP_MD_CTX *md;
};

struct plan {
	struct table t[MAX_TABLES];
	size_t n;
	char excluded[MAX_TABLES][65];
	size_t nexcluded;
};

/* Tables left out whole, and why (see the header). */
static const char *
excluded_table(const char *name)
{
	if (strcmp(name, "refresh_tokens") == 0)
		return "session credentials (hashed refresh tokens), nothing "
		       "the tenant entered";
	return NULL;
}

static int
collect_table(void *ctx, const struct row *r)
{
	struct plan *p = ctx;
	const char *name = r->v[0];

	if (r->null[0] || !ident_ok(name))
		return 0;
	if (excluded_table(name)) {
		if (p->nexcluded < MAX_TABLES)
			snprintf(p->excluded[p->nexcluded++], 65, "%s", name);
		return 0;
	}
	if (p->n == MAX_TABLES)
		return 0;
	memset(&p->t[p->n], 0, sizeof(p->t[p->n]));
	snprintf(p->t[p->n].name, sizeof(p->t[p->n].name), "%s", name);
	p->n++;
	return 0;
}

static int
collect_column(void *ctx, const struct row *r)
{
	struct table *t = ctx;
	struct column *c;
	const char *name = r->v[0], *type = r->null[1] ? "" : r->v[1],
	           *extra = r->null[2] ? "" : r->v[2];

	if (t->ncols == MAX_COLS || r->null[0] || !ident_ok(name))
		return 0;
	c = &t->cols[t->ncols++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->keep = 1;
	if (strstr(type, "binary") || strstr(type, "blob")) {
		c->keep = 0;
		snprintf(c->why, sizeof(c->why), "binary (sealed or hashed)");
	} else if (strstr(name, "password") || strstr(name, "secret") ||
	           strstr(name, "token")) {
		c->keep = 0;
		snprintf(c->why, sizeof(c->why), "a credential");
	} else if (strstr(extra, "GENERATED")) {
		c->keep = 0;
		snprintf(c->why, sizeof(c->why), "generated from the others");
	}
	return 0;
}

static int
collect_key(void *ctx, const struct row *r)
{
	struct table *t = ctx;
	size_t n = strlen(t->order);

	if (r->null[0] || !ident_ok(r->v[0]))
		return 0;
	snprintf(t->order + n, sizeof(t->order) - n, "%s`%s`", n ? ", " : "",
	         r->v[0]);
	return 0;
}

/* ---- rows as JSON ------------------------------------------------------ */

static int
is_number_type(enum enum_field_types t)
{
	switch (t) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR:
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL:
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
		return 1;
	default:
		return 0;
	}
}

/* A number the server printed: digits, one '.', a sign, an exponent. */
static int
numeric_text(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && strspn(s, "0123456789.-+eE") == n &&
	       strcspn(s, "0123456789") < n;
}

static int
write_row(void *ctx, const struct row *r)
{
	struct table *t = ctx;
	cJSON *o = cJSON_CreateObject();
	size_t k = 0;
	char *line;
	int rc = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		const struct column *c = &t->cols[i];
		const char *v;

		if (!c->keep)
			continue;
		v = r->null[k] ? NULL : r->v[k];
		if (!v)
			cJSON_AddNullToObject(o, c->name);
		else if (is_number_type(r->type[k]) && numeric_text(v))
			cJSON_AddItemToObject(o, c->name, cJSON_CreateRaw(v));
		else if ((r->type[k] == MYSQL_TYPE_DATETIME ||
		          r->type[k] == MYSQL_TYPE_TIMESTAMP) &&
		         strlen(v) >= 19) {
			char iso[40];

			/* Stored in UTC ("YYYY-MM-DD HH:MM:SS[.ffffff]"). */
			snprintf(iso, sizeof(iso), "%.10sT%sZ", v, v + 11);
			cJSON_AddStringToObject(o, c->name, iso);
		} else
			cJSON_AddStringToObject(o, c->name, v);
		k++;
	}
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		abort();
	if (fputs(line, t->data) < 0 || fputc('\n', t->data) < 0)
		rc = -1;
	EVP_DigestUpdate(t->md, line, strlen(line));
	EVP_DigestUpdate(t->md, "\n", 1);
	t->bytes += strlen(line) + 1;
	t->rows++;
	free(line);
	return rc;
}

/* ---- tar --------------------------------------------------------------- */

/* A ustar header block for a regular file. */
static void
tar_header(unsigned char h[512], const char *name, uint64_t size, time_t mtime)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0600);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011" PRIo64, size);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)mtime);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	snprintf((char *)h + 265, 32, "rtrw");
	snprintf((char *)h + 297, 32, "rtrw");
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static int
tar_member(FILE *out, const char *name, FILE *src, const char *text,
           uint64_t size, time_t mtime)
{
	unsigned char h[512], block[65536];
	static const unsigned char zero[512];
	uint64_t left = size;

	tar_header(h, name, size, mtime);
	if (fwrite(h, 1, 512, out) != 512)
		return -1;
	if (text) {
		if (fwrite(text, 1, size, out) != size)
			return -1;
	} else {
		rewind(src);
		while (left > 0) {
			size_t want =
			    left < sizeof(block) ? (size_t)left : sizeof(block);

			if (fread(block, 1, want, src) != want ||
			    fwrite(block, 1, want, out) != want)
				return -1;
			left -= want;
		}
	}
	if (size % 512 &&
	    fwrite(zero, 1, 512 - size % 512, out) != 512 - size % 512)
		return -1;
	return 0;
}

/* ---- the export -------------------------------------------------------- */

struct tenant_row {
	int found;
	char slug[64], name[256];
};

static int
collect_tenant(void *ctx, const struct row *r)
{
	struct tenant_row *t = ctx;

	t->found = 1;
	snprintf(t->slug, sizeof(t->slug), "%s", r->null[0] ? "" : r->v[0]);
	snprintf(t->name, sizeof(t->name), "%s", r->null[1] ? "" : r->v[1]);
	return 0;
}

static int
collect_int(void *ctx, const struct row *r)
{
	int64_t *v = ctx;

	if (!r->null[0])
		(void)parse_int64(r->v[0], INT64_MIN, INT64_MAX, v);
	return 0;
}

/* Reads one table's columns, key and rows into t->data. */
static int
export_table(MYSQL *m, struct table *t, int64_t tenant_id, char *err,
             size_t errlen)
{
	struct buf sql = BUF_INIT(16384);
	const char *where;
	size_t kept = 0;
	int rc = -1;

	if (query(m,
	          "SELECT column_name, column_type, extra FROM "
	          "information_schema.columns WHERE table_schema = DATABASE()"
	          " AND table_name = ? ORDER BY ordinal_position",
	          NULL, t->name, collect_column, t, err, errlen) < 0 ||
	    query(m,
	          "SELECT column_name FROM information_schema.statistics"
	          " WHERE table_schema = DATABASE() AND table_name = ?"
	          " AND index_name = 'PRIMARY' ORDER BY seq_in_index",
	          NULL, t->name, collect_key, t, err, errlen) < 0)
		return -1;
	buf_adds(&sql, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		if (!t->cols[i].keep)
			continue;
		buf_addf(&sql, "%s`%s`", kept ? ", " : "", t->cols[i].name);
		kept++;
	}
	if (kept == 0) {
		snprintf(err, errlen, "table '%s' has no column to export",
		         t->name);
		goto out;
	}
	where = strcmp(t->name, "tenants") == 0 ? "id" : "tenant_id";
	buf_addf(&sql, " FROM `%s` WHERE `%s` = ?", t->name, where);
	if (t->order[0])
		buf_addf(&sql, " ORDER BY %s", t->order);
	t->data = tmpfile();
	t->md = EVP_MD_CTX_new();
	if (!t->data || !t->md ||
	    EVP_DigestInit_ex(t->md, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "cannot create a temporary file: %s",
		         strerror(errno));
		goto out;
	}
	if (sql.over) {
		snprintf(err, errlen, "table '%s': query too long", t->name);
		goto out;
	}
	rc = query(m, sql.s, &tenant_id, NULL, write_row, t, err, errlen);
	if (rc == 0 && fflush(t->data) != 0) {
		snprintf(err, errlen, "writing a temporary file failed");
		rc = -1;
	}
out:
	buf_release(&sql);
	return rc;
}

static cJSON *
manifest(const struct plan *p, int64_t tenant_id, const struct tenant_row *tr,
         int64_t schema, const char *database, time_t now)
{
	cJSON *o = cJSON_CreateObject(), *t, *tables, *ex, *notes;
	char when[32];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(o, "format", "rtrw-tenant-export");
	json_add_int(o, "version", 1);
	t = cJSON_AddObjectToObject(o, "tenant");
	json_add_int(t, "id", tenant_id);
	cJSON_AddStringToObject(t, "slug", tr->slug);
	cJSON_AddStringToObject(t, "name", tr->name);
	cJSON_AddStringToObject(o, "exported_at", when);
	json_add_int(o, "schema_version", schema);
	cJSON_AddStringToObject(o, "database", database);
	tables = cJSON_AddArrayToObject(o, "tables");
	for (size_t i = 0; i < p->n; i++) {
		const struct table *tb = &p->t[i];
		cJSON *e = cJSON_CreateObject(), *cols, *om;
		unsigned char d[32];
		unsigned int dn = 0;
		char hex[65], file[80];
		EVP_MD_CTX *copy = EVP_MD_CTX_new();

		snprintf(file, sizeof(file), "%s.jsonl", tb->name);
		cJSON_AddStringToObject(e, "name", tb->name);
		cJSON_AddStringToObject(e, "file", file);
		json_add_int(e, "rows", (int64_t)tb->rows);
		if (copy && EVP_MD_CTX_copy_ex(copy, tb->md) == 1 &&
		    EVP_DigestFinal_ex(copy, d, &dn) == 1 && dn == 32) {
			hex_encode(d, 32, hex);
			cJSON_AddStringToObject(e, "sha256", hex);
		}
		EVP_MD_CTX_free(copy);
		cols = cJSON_AddArrayToObject(e, "columns");
		om = cJSON_AddArrayToObject(e, "omitted_columns");
		for (size_t k = 0; k < tb->ncols; k++) {
			if (tb->cols[k].keep) {
				cJSON_AddItemToArray(
				    cols, cJSON_CreateString(tb->cols[k].name));
			} else {
				cJSON *c = cJSON_CreateObject();

				cJSON_AddStringToObject(c, "name",
				                        tb->cols[k].name);
				cJSON_AddStringToObject(c, "reason",
				                        tb->cols[k].why);
				cJSON_AddItemToArray(om, c);
			}
		}
		cJSON_AddItemToArray(tables, e);
	}
	ex = cJSON_AddArrayToObject(o, "excluded_tables");
	for (size_t i = 0; i < p->nexcluded; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "name", p->excluded[i]);
		cJSON_AddStringToObject(e, "reason",
		                        excluded_table(p->excluded[i]));
		cJSON_AddItemToArray(ex, e);
	}
	notes = cJSON_AddArrayToObject(o, "notes");
	cJSON_AddItemToArray(
	    notes, cJSON_CreateString(
	               "One JSON object per line; rows in primary-key order; "
	               "all tables read in one consistent snapshot."));
	cJSON_AddItemToArray(
	    notes, cJSON_CreateString(
	               "Integers and decimals are JSON numbers exactly as "
	               "stored (money has two decimals); times are RFC 3339 "
	               "UTC; JSON columns are strings holding JSON."));
	return o;
}

int
tenant_export(const struct config *c, int64_t tenant_id, const char *out_path,
              FILE *msg, char *err, size_t errlen)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	struct tenant_row tr = {0};
	char pw[256], part[4200];
	int64_t schema = 0;
	time_t now = time(NULL);
	FILE *out = NULL;
	MYSQL *m;
	int rc = -1, fd;

	if (config_read_password(c->db_password_file, pw, sizeof(pw), err,
	                         errlen) < 0) {
		free(p);
		return -1;
	}
	m = mysql_init(NULL);
	if (!m)
		abort();
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(m, c->db_socket[0] ? NULL : c->db_host,
	                        c->db_user, pw, c->db_name,
	                        (unsigned)c->db_port,
	                        c->db_socket[0] ? c->db_socket : NULL, 0)) {
		snprintf(err, errlen, "connecting to the database failed: %s",
		         mysql_error(m));
		goto out_close;
	}
	explicit_bzero(pw, sizeof(pw));
	/* One snapshot for every table; times as stored (UTC). */
	if (mysql_query(m, "SET SESSION time_zone = '+00:00'") != 0 ||
	    mysql_query(m, "SET SESSION TRANSACTION ISOLATION LEVEL "
	                   "REPEATABLE READ") != 0 ||
	    mysql_query(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ "
	                   "ONLY") != 0) {
		snprintf(err, errlen, "starting the snapshot failed: %s",
		         mysql_error(m));
		goto out_close;
	}
	if (query(m, "SELECT slug, name FROM tenants WHERE id = ?", &tenant_id,
	          NULL, collect_tenant, &tr, err, errlen) < 0)
		goto out_close;
	if (!tr.found) {
		snprintf(err, errlen, "no tenant %" PRId64, tenant_id);
		goto out_close;
	}
	(void)query(m,
	            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
	            NULL, NULL, collect_int, &schema, err, errlen);
	/* The tenant's own row first, then every table with tenant_id. */
	snprintf(p->t[0].name, sizeof(p->t[0].name), "tenants");
	p->n = 1;
	if (query(m,
	          "SELECT c.table_name FROM information_schema.columns c"
	          " JOIN information_schema.tables t"
	          "  ON t.table_schema = c.table_schema"
	          "  AND t.table_name = c.table_name"
	          " WHERE c.table_schema = DATABASE()"
	          " AND c.column_name = 'tenant_id'"
	          " AND t.table_type = 'BASE TABLE' ORDER BY c.table_name",
	          NULL, NULL, collect_table, p, err, errlen) < 0)
		goto out_close;
	for (size_t i = 0; i < p->n; i++) {
		if (export_table(m, &p->t[i], tenant_id, err, errlen) < 0)
			goto out_close;
		if (msg)
			fprintf(msg, "  %-24s %8" PRIu64 " rows\n",
			        p->t[i].name, p->t[i].rows);
	}
	mysql_query(m, "COMMIT");

	snprintf(part, sizeof(part), "%s.part", out_path);
	if (access(out_path, F_OK) == 0) {
		snprintf(err, errlen, "'%s' exists; choose another name",
		         out_path);
		goto out_close;
	}
	fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || !(out = fdopen(fd, "wb"))) {
		snprintf(err, errlen, "cannot create '%s': %s", part,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out_close;
	}
	{
		cJSON *mj =
		    manifest(p, tenant_id, &tr, schema, c->db_name, now);
		char *text = cJSON_Print(mj);
		int bad;

		cJSON_Delete(mj);
		bad = tar_member(out, "manifest.json", NULL, text, strlen(text),
		                 now) < 0;
		free(text);
		for (size_t i = 0; !bad && i < p->n; i++) {
			char name[80];

			snprintf(name, sizeof(name), "%s.jsonl", p->t[i].name);
			bad = tar_member(out, name, p->t[i].data, NULL,
			                 p->t[i].bytes, now) < 0;
		}
		/* Two zero blocks end a tar archive. */
		for (int z = 0; !bad && z < 1024; z++)
			bad = fputc(0, out) == EOF;
		if (bad || fflush(out) != 0 || fsync(fileno(out)) != 0) {
			snprintf(err, errlen, "writing '%s' failed: %s", part,
			         strerror(errno));
			fclose(out);
			out = NULL;
			unlink(part);
			goto out_close;
		}
	}
	if (fclose(out) != 0 || rename(part, out_path) < 0) {
		out = NULL;
		snprintf(err, errlen, "storing '%s' failed: %s", out_path,
		         strerror(errno));
		unlink(part);
		goto out_close;
	}
	out = NULL;
	rc = 0;
out_close:
	explicit_bzero(pw, sizeof(pw));
	for (size_t i = 0; i < p->n; i++) {
		if (p->t[i].data)
			fclose(p->t[i].data);
		EVP_MD_CTX_free(p->t[i].md);
	}
	free(p);
	mysql_close(m);
	return rc;
}
