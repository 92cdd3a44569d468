#include "store/tenant_dump.h"

#include <errno.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "util.h"

#define CELL_INIT 256

struct tenant_dump {
	MYSQL *m;
	int in_snapshot;
};

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

struct tenant_dump *
store_tenant_dump_open(const struct config *c, char *err, size_t errlen)
{
	struct tenant_dump *d;
	char pw[256];

	if (config_read_password(c->db_password_file, pw, sizeof(pw), err,
	                         errlen) < 0)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	d->m = mysql_init(NULL);
	if (!d->m)
		abort();
	mysql_options(d->m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(d->m, c->db_socket[0] ? NULL : c->db_host,
	                        c->db_user, pw, c->db_name,
	                        (unsigned)c->db_port,
	                        c->db_socket[0] ? c->db_socket : NULL, 0)) {
		snprintf(err, errlen, "connecting to the database failed: %s",
		         mysql_error(d->m));
		goto out_fail;
	}
	explicit_bzero(pw, sizeof(pw));
	/* One snapshot for every table; times as stored (UTC). */
	if (mysql_query(d->m, "SET SESSION time_zone = '+00:00'") != 0 ||
	    mysql_query(d->m, "SET SESSION TRANSACTION ISOLATION LEVEL "
	                      "REPEATABLE READ") != 0 ||
	    mysql_query(d->m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, "
	                      "READ ONLY") != 0) {
		snprintf(err, errlen, "starting the snapshot failed: %s",
		         mysql_error(d->m));
		goto out_fail;
	}
	d->in_snapshot = 1;
	return d;

out_fail:
	explicit_bzero(pw, sizeof(pw));
	mysql_close(d->m);
	free(d);
	return NULL;
}

void
store_tenant_dump_close(struct tenant_dump *d)
{
	if (!d)
		return;
	if (d->in_snapshot)
		mysql_query(d->m, "COMMIT");
	mysql_close(d->m);
	free(d);
}

struct tenant_row {
	int found;
	char *slug, *name;
	size_t slug_len, name_len;
};

static int
collect_tenant(void *ctx, const struct row *r)
{
	struct tenant_row *t = ctx;

	t->found = 1;
	snprintf(t->slug, t->slug_len, "%s", r->null[0] ? "" : r->v[0]);
	snprintf(t->name, t->name_len, "%s", r->null[1] ? "" : r->v[1]);
	return 0;
}

int
store_tenant_dump_tenant(struct tenant_dump *d, int64_t id, char *slug,
                         size_t slug_len, char *name, size_t name_len,
                         char *err, size_t errlen)
{
	struct tenant_row t = {0, slug, name, slug_len, name_len};

	if (query(d->m, "SELECT slug, name FROM tenants WHERE id = ?", &id,
	          NULL, collect_tenant, &t, err, errlen) < 0)
		return -1;
	return t.found;
}

static int
collect_int(void *ctx, const struct row *r)
{
	int64_t *v = ctx;

	if (!r->null[0])
		(void)parse_int64(r->v[0], INT64_MIN, INT64_MAX, v);
	return 0;
}

int64_t
store_tenant_dump_schema_version(struct tenant_dump *d)
{
	int64_t v = 0;
	char err[256];

	(void)query(d->m,
	            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
	            NULL, NULL, collect_int, &v, err, sizeof(err));
	return v;
}

/* Hands the first column, when it is a plain name, to a name callback. */
struct name_cb {
	int (*fn)(void *ctx, const char *name);
	void *ctx;
};

static int
pass_name(void *ctx, const struct row *r)
{
	struct name_cb *cb = ctx;

	if (r->null[0] || !ident_ok(r->v[0]))
		return 0;
	return cb->fn(cb->ctx, r->v[0]);
}

int
store_tenant_dump_tables(struct tenant_dump *d,
                         int (*fn)(void *ctx, const char *name), void *ctx,
                         char *err, size_t errlen)
{
	struct name_cb cb = {fn, ctx};

	return query(d->m,
	             "SELECT c.table_name FROM information_schema.columns c"
	             " JOIN information_schema.tables t"
	             "  ON t.table_schema = c.table_schema"
	             "  AND t.table_name = c.table_name"
	             " WHERE c.table_schema = DATABASE()"
	             " AND c.column_name = 'tenant_id'"
	             " AND t.table_type = 'BASE TABLE' ORDER BY c.table_name",
	             NULL, NULL, pass_name, &cb, err, errlen);
}

struct column_cb {
	int (*fn)(void *ctx, const char *name, const char *type,
	          const char *extra);
	void *ctx;
};

static int
pass_column(void *ctx, const struct row *r)
{
	struct column_cb *cb = ctx;

	if (r->null[0] || !ident_ok(r->v[0]))
		return 0;
	return cb->fn(cb->ctx, r->v[0], r->null[1] ? "" : r->v[1],
	              r->null[2] ? "" : r->v[2]);
}

int
store_tenant_dump_columns(struct tenant_dump *d, const char *table,
                          int (*fn)(void *ctx, const char *name,
                                    const char *type, const char *extra),
                          void *ctx, char *err, size_t errlen)
{
	struct column_cb cb = {fn, ctx};

	return query(d->m,
	             "SELECT column_name, column_type, extra FROM "
	             "information_schema.columns WHERE table_schema = "
	             "DATABASE() AND table_name = ? ORDER BY ordinal_position",
	             NULL, table, pass_column, &cb, err, errlen);
}

int
store_tenant_dump_key(struct tenant_dump *d, const char *table,
                      int (*fn)(void *ctx, const char *column), void *ctx,
                      char *err, size_t errlen)
{
	struct name_cb cb = {fn, ctx};

	return query(d->m,
	             "SELECT column_name FROM information_schema.statistics"
	             " WHERE table_schema = DATABASE() AND table_name = ?"
	             " AND index_name = 'PRIMARY' ORDER BY seq_in_index",
	             NULL, table, pass_name, &cb, err, errlen);
}

static enum tenant_dump_kind
kind_of(enum enum_field_types t)
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
		return TENANT_DUMP_NUMBER;
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
		return TENANT_DUMP_TIME;
	default:
		return TENANT_DUMP_TEXT;
	}
}

struct rows_cb {
	int (*fn)(void *ctx, const struct tenant_dump_cell *cells, size_t n);
	void *ctx;
	struct tenant_dump_cell *cells;
};

static int
pass_row(void *ctx, const struct row *r)
{
	struct rows_cb *cb = ctx;

	for (size_t i = 0; i < r->n; i++) {
		cb->cells[i].v = r->null[i] ? NULL : r->v[i];
		cb->cells[i].kind = kind_of(r->type[i]);
	}
	return cb->fn(cb->ctx, cb->cells, r->n);
}

int
store_tenant_dump_rows(
    struct tenant_dump *d, const char *table, const char *const *cols,
    size_t ncols, const char *const *key, size_t nkey, int64_t tenant_id,
    int (*fn)(void *ctx, const struct tenant_dump_cell *cells, size_t n),
    void *ctx, char *err, size_t errlen)
{
	struct buf sql = BUF_INIT(16384);
	struct rows_cb cb = {fn, ctx, NULL};
	int rc = -1;

	if (ncols == 0 || !ident_ok(table)) {
		snprintf(err, errlen, "table '%s' has no column to export",
		         table);
		goto out;
	}
	buf_adds(&sql, "SELECT ");
	for (size_t i = 0; i < ncols; i++) {
		if (!ident_ok(cols[i]))
			goto out_name;
		buf_addf(&sql, "%s`%s`", i ? ", " : "", cols[i]);
	}
	buf_addf(&sql, " FROM `%s` WHERE `%s` = ?", table,
	         strcmp(table, "tenants") == 0 ? "id" : "tenant_id");
	for (size_t i = 0; i < nkey; i++) {
		if (!ident_ok(key[i]))
			goto out_name;
		buf_addf(&sql, "%s`%s`", i ? ", " : " ORDER BY ", key[i]);
	}
	if (sql.over) {
		snprintf(err, errlen, "table '%s': query too long", table);
		goto out;
	}
	cb.cells = xcalloc(ncols, sizeof(*cb.cells));
	rc = query(d->m, sql.s, &tenant_id, NULL, pass_row, &cb, err, errlen);
	goto out;
out_name:
	snprintf(err, errlen, "table '%s': a column name is not [a-z0-9_]",
	         table);
out:
	free(cb.cells);
	buf_release(&sql);
	return rc;
}
