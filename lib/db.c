#include "db.h"

#include <ctype.h>
#include <errmsg.h>
#include <inttypes.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "store/store.h"
#include "util.h"

#define DB_MAX_PARAMS     64
#define DB_RECONNECT_USEC 500000 /* at most two connect attempts a second */

struct slot {
	MYSQL_STMT *stmt;
	MYSQL_RES *meta; /* NULL for statements without a result set */
};

struct db {
	MYSQL *conn; /* NULL while disconnected */
	struct config cfg;
	char password[256];
	int admin;
	struct slot *slots;
	size_t nslots;
	int in_tx;
	enum db_error last;
	int64_t last_attempt_us;
};

struct tdb {
	struct db *db;
	struct arena *a;
	int64_t tenant_id;
};

/* ---- statement registry ---------------------------------------------- */

static size_t
table_len(const struct stmt_def *defs)
{
	size_t n = 0;

	while (defs[n].name)
		n++;
	return n;
}

size_t
db_stmt_variants(const struct stmt_def *def)
{
	size_t n = 0;

	while (def->orders && def->orders[n])
		n++;
	return n ? n : 1;
}

static size_t
table_slots(const struct stmt_def *defs)
{
	size_t n = 0;

	for (const struct stmt_def *d = defs; d->name; d++)
		n += db_stmt_variants(d);
	return n;
}

static size_t
registry_total(void)
{
	size_t n = 0;

	for (size_t t = 0; store_tables[t]; t++)
		n += table_slots(store_tables[t]);
	return n;
}

/*
 * Where each registered table's statements sit among the slots, worked
 * out once (every query looks its statement up here).  The registry is
 * constant, so the index is built on first use and, in the API, before
 * the workers fork.
 */
#define REGISTRY_TABLES 64

static struct {
	size_t ntables;
	uintptr_t lo[REGISTRY_TABLES], hi[REGISTRY_TABLES];
	long *slot[REGISTRY_TABLES]; /* slot of each statement of table t */
} reg;

static void
registry_index(void)
{
	long base = 0;

	for (size_t t = 0; store_tables[t]; t++) {
		size_t n = table_len(store_tables[t]);

		if (t == REGISTRY_TABLES) {
			log_error("db registry has more than %d statement "
			          "tables",
			          REGISTRY_TABLES);
			abort();
		}
		reg.lo[t] = (uintptr_t)store_tables[t];
		reg.hi[t] = (uintptr_t)(store_tables[t] + n);
		reg.slot[t] = xcalloc(n ? n : 1, sizeof(long));
		for (size_t i = 0; i < n; i++) {
			reg.slot[t][i] = base;
			base += (long)db_stmt_variants(&store_tables[t][i]);
		}
		reg.ntables = t + 1;
	}
}

/* The slot of def, or -1 when def is in no registered table. */
static long
registry_slot(const struct stmt_def *def)
{
	uintptr_t p = (uintptr_t)def;

	if (!reg.ntables)
		registry_index();
	for (size_t t = 0; t < reg.ntables; t++)
		if (p >= reg.lo[t] && p < reg.hi[t])
			return reg.slot[t][(p - reg.lo[t]) / sizeof(*def)];
	return -1;
}

/* ---- the start-up rule ----------------------------------------------- */

/*
 * Whether the placeholder at sql[q] is the right-hand side of "col = ?".
 * With alias, a table alias may qualify col ("c.tenant_id"); without, the
 * name must stand alone ("tenants.id").  "xtenant_id" is another column.
 */
static int
compares_with(const char *sql, size_t q, const char *col, int alias)
{
	size_t i = q, n = strlen(col);
	char c;

	while (i > 0 && isspace((unsigned char)sql[i - 1]))
		i--;
	if (i == 0 || sql[i - 1] != '=')
		return 0;
	i--;
	while (i > 0 && isspace((unsigned char)sql[i - 1]))
		i--;
	if (i < n || strncasecmp(sql + i - n, col, n) != 0)
		return 0;
	if (i == n)
		return 1;
	c = sql[i - n - 1];
	return !(isalnum((unsigned char)c) || c == '_' || (!alias && c == '.'));
}

/*
 * A tenant placeholder: "tenant_id = ?" (optionally "alias.tenant_id"),
 * or the tenants table's own key written out in full, "tenants.id = ?".
 */
static int
is_tenant_placeholder(const char *sql, size_t q)
{
	return compares_with(sql, q, "tenant_id", 1) ||
	       compares_with(sql, q, "tenants.id", 0);
}

/* Whether an INSERT lists tenant_id as its first column. */
static int
insert_leads_with_tenant(const char *sql)
{
	const char *p = sql;

	while (isspace((unsigned char)*p))
		p++;
	if (strncasecmp(p, "INSERT", 6) != 0)
		return 0;
	p = strchr(p, '(');
	if (!p)
		return 0;
	p++;
	while (isspace((unsigned char)*p))
		p++;
	return strncasecmp(p, "tenant_id", 9) == 0 &&
	       (p[9] == ',' || p[9] == ')' || isspace((unsigned char)p[9]));
}

int
db_check_table(const struct stmt_def *defs, char *err, size_t errlen)
{
	for (const struct stmt_def *d = defs; d->name; d++) {
		size_t nph = 0, np = strlen(d->params), tenant_pos = 0, nt = 0;
		int is_insert = insert_leads_with_tenant(d->sql);
		const char *sql = d->sql;
		char quote = 0;

		if ((d->orders != NULL) != (strstr(sql, "{ORDER}") != NULL)) {
			snprintf(err, errlen,
			         "statement '%s': {ORDER} and the orders "
			         "whitelist go together",
			         d->name);
			return -1;
		}
		for (const char *const *o = d->orders; o && *o; o++) {
			const char *bar = strchr(*o, '|');
			size_t ilen = bar ? (size_t)(bar - *o) : 0;

			/* An index name is an identifier and nothing else. */
			if (bar && (ilen == 0 ||
			            strspn(*o, "abcdefghijklmnopqrstuvwxyz"
			                       "0123456789_") != ilen ||
			            !strstr(sql, "{INDEX}"))) {
				snprintf(err, errlen,
				         "statement '%s': bad index in ORDER "
				         "entry '%s'",
				         d->name, *o);
				return -1;
			}
			if (strchr(*o, '?') || strchr(*o, ';')) {
				snprintf(err, errlen,
				         "statement '%s': an ORDER BY clause "
				         "holds a placeholder or ';'",
				         d->name);
				return -1;
			}
		}
		if (strspn(d->params, "tisdb") != np) {
			snprintf(err, errlen,
			         "statement '%s' has unknown param letters "
			         "\"%s\"",
			         d->name, d->params);
			return -1;
		}
		for (size_t i = 0; sql[i]; i++) {
			char c = sql[i];
			int at_tenant;

			if (quote) {
				if (c == quote)
					quote = 0;
				continue;
			}
			if (c == '\'' || c == '"' || c == '`') {
				quote = c;
				continue;
			}
			if (c != '?')
				continue;
			if (nph >= np) {
				nph++;
				continue;
			}
			at_tenant = is_tenant_placeholder(sql, i);
			tenant_pos += at_tenant;
			if (at_tenant && d->params[nph] != 't') {
				snprintf(err, errlen,
				         "statement '%s': tenant_id "
				         "placeholder %zu is not bound from "
				         "the tenant handle",
				         d->name, nph + 1);
				return -1;
			}
			if (d->params[nph] == 't') {
				nt++;
				if (!at_tenant && !(is_insert && nph == 0)) {
					snprintf(err, errlen,
					         "statement '%s': placeholder "
					         "%zu binds the tenant id "
					         "where it is not compared "
					         "with tenant_id",
					         d->name, nph + 1);
					return -1;
				}
			}
			nph++;
		}
		if (nph != np) {
			snprintf(err, errlen,
			         "statement '%s' has %zu placeholders but "
			         "params \"%s\"",
			         d->name, nph, d->params);
			return -1;
		}
		if (d->scope != SCOPE_TENANT) {
			if (nt) {
				snprintf(err, errlen,
				         "global statement '%s' binds a "
				         "tenant id",
				         d->name);
				return -1;
			}
			continue;
		}
		if (nt == 0) {
			snprintf(err, errlen,
			         "tenant statement '%s' does not filter on "
			         "tenant_id = ? (nor insert tenant_id first)",
			         d->name);
			return -1;
		}
	}
	return 0;
}

int
db_check_statements(char *err, size_t errlen)
{
	for (size_t t = 0; store_tables[t]; t++)
		if (db_check_table(store_tables[t], err, errlen) < 0)
			return -1;
	return 0;
}

/* ---- connection ------------------------------------------------------ */

static enum db_error
classify(unsigned err)
{
	switch (err) {
	case 0:
		return DBE_NONE;
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case CR_COMMANDS_OUT_OF_SYNC:
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */
		return DBE_CONN;
	case ER_DUP_ENTRY:
	case ER_DUP_KEY:
		return DBE_DUPLICATE;
	case ER_ROW_IS_REFERENCED:
	case ER_ROW_IS_REFERENCED_2:
	case ER_NO_REFERENCED_ROW:
	case ER_NO_REFERENCED_ROW_2:
		return DBE_FK;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		return DBE_LOCK;
	default:
		return DBE_OTHER;
	}
}

static void
db_disconnect(struct db *db)
{
	if (!db->conn)
		return;
	/*
	 * mysql_close() detaches the statements first, so closing them
	 * afterwards only frees memory and sends nothing to a dead server.
	 */
	mysql_close(db->conn);
	db->conn = NULL;
	for (size_t i = 0; i < db->nslots; i++) {
		if (db->slots[i].meta)
			mysql_free_result(db->slots[i].meta);
		if (db->slots[i].stmt)
			mysql_stmt_close(db->slots[i].stmt);
		db->slots[i].meta = NULL;
		db->slots[i].stmt = NULL;
	}
	db->in_tx = 0;
}

static int
db_connect(struct db *db)
{
	unsigned timeout = (unsigned)db->cfg.db_connect_timeout;
	unsigned rw_timeout = 30;
	const char *user;
	MYSQL *m;

	if (db->conn)
		return 0;
	/* Do not hammer a server that is down: one attempt per interval. */
	if (db->last_attempt_us &&
	    now_usec() - db->last_attempt_us < DB_RECONNECT_USEC) {
		db->last = DBE_CONN;
		return -1;
	}
	db->last_attempt_us = now_usec();
	m = mysql_init(NULL);
	if (!m)
		abort();
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_INIT_COMMAND,
	              "SET time_zone = '+00:00', sql_mode = "
	              "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
	              "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'");
	user = db->cfg.db_user;
	if (db->admin == DB_ACCOUNT_ADMIN && db->cfg.db_admin_user[0])
		user = db->cfg.db_admin_user;
	else if (db->admin == DB_ACCOUNT_MAINT)
		user = db->cfg.db_maint_user;
	if (!mysql_real_connect(
	        m, db->cfg.db_socket[0] ? NULL : db->cfg.db_host, user,
	        db->password, db->cfg.db_name, (unsigned)db->cfg.db_port,
	        db->cfg.db_socket[0] ? db->cfg.db_socket : NULL,
	        CLIENT_FOUND_ROWS)) {
		log_warn("db connect failed: %s", mysql_error(m));
		mysql_close(m);
		db->last = DBE_CONN;
		return -1;
	}
	db->conn = m;
	db->in_tx = 0;
	db->last_attempt_us = 0;
	return 0;
}

struct db *
db_open(const struct config *c, int admin, char *err, size_t errlen)
{
	struct db *db = xcalloc(1, sizeof(*db));
	const char *pwfile = c->db_password_file;

	if (admin == DB_ACCOUNT_ADMIN && c->db_admin_password_file[0])
		pwfile = c->db_admin_password_file;
	else if (admin == DB_ACCOUNT_MAINT)
		pwfile = c->db_maint_password_file;

	db->cfg = *c;
	/* The connection needs no keys; keep them out of this copy. */
	config_wipe(&db->cfg);
	db->admin = admin;
	if (config_read_password(pwfile, db->password, sizeof(db->password),
	                         err, errlen) < 0) {
		free(db);
		return NULL;
	}
	db->nslots = registry_total();
	db->slots = xcalloc(db->nslots ? db->nslots : 1, sizeof(*db->slots));
	(void)db_connect(db);
	return db;
}

void
db_close(struct db *db)
{
	if (!db)
		return;
	db_disconnect(db);
	explicit_bzero(db->password, sizeof(db->password));
	free(db->slots);
	free(db);
}

/* ---- statements ------------------------------------------------------ */

/*
 * The SQL of variant k: def->sql with {ORDER} replaced by the k-th
 * whitelisted clause.  A clause may name the index that serves it,
 * "ix_name|id DESC": then {INDEX} becomes "FORCE INDEX (ix_name)", so the
 * optimizer does not probe every index of a table that has many (it
 * costs more than reading the page), and "" when none is named.
 * Caller frees.
 */
static char *
variant_sql(const struct stmt_def *def, size_t k)
{
	const char *order, *bar;
	struct buf b = BUF_INIT(0);

	if (!def->orders)
		return xstrdup(def->sql);
	order = def->orders[k];
	bar = strchr(order, '|');
	for (const char *p = def->sql; *p;) {
		if (strncmp(p, "{ORDER}", 7) == 0) {
			buf_adds(&b, bar ? bar + 1 : order);
			p += 7;
		} else if (strncmp(p, "{INDEX}", 7) == 0) {
			if (bar) {
				buf_adds(&b, " FORCE INDEX (");
				buf_add(&b, order, (size_t)(bar - order));
				buf_adds(&b, ")");
			}
			p += 7;
		} else {
			buf_addch(&b, *p++);
		}
	}
	return buf_detach(&b);
}

static MYSQL_STMT *
slot_prepare(struct db *db, long slot, const struct stmt_def *def, size_t k)
{
	struct slot *s = &db->slots[slot + (long)k];
	MYSQL_STMT *st;
	my_bool on = 1;
	char *sql;
	int bad;

	if (s->stmt)
		return s->stmt;
	st = mysql_stmt_init(db->conn);
	if (!st)
		abort();
	sql = variant_sql(def, k);
	bad = mysql_stmt_prepare(st, sql, strlen(sql)) != 0;
	free(sql);
	if (bad) {
		unsigned e = mysql_stmt_errno(st);

		log_error("db prepare failed: statement '%s': %s", def->name,
		          mysql_stmt_error(st));
		mysql_stmt_close(st);
		db->last = classify(e);
		if (db->last == DBE_CONN)
			db_disconnect(db);
		return NULL;
	}
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
	s->stmt = st;
	s->meta = mysql_stmt_result_metadata(st);
	return st;
}

int
db_prepare_all(struct db *db, char *err, size_t errlen)
{
	size_t slot = 0;

	if (db_connect(db) < 0)
		return 0;
	for (size_t t = 0; store_tables[t]; t++) {
		for (const struct stmt_def *d = store_tables[t]; d->name; d++) {
			for (size_t k = 0; k < db_stmt_variants(d); k++) {
				/* Only the maintenance account may run these.
				 */
				if (d->scope == SCOPE_MAINT &&
				    db->admin != DB_ACCOUNT_MAINT)
					break;
				if (slot_prepare(db, (long)slot, d, k))
					continue;
				if (db->last == DBE_CONN)
					return 0;
				snprintf(err, errlen,
				         "statement '%s' does not prepare: %s",
				         d->name,
				         db->conn ? mysql_error(db->conn) : "");
				return -1;
			}
			slot += db_stmt_variants(d);
		}
	}
	return 1;
}

static enum db_coltype
coltype(const MYSQL_FIELD *f)
{
	switch (f->type) {
	case MYSQL_TYPE_TINY:
		return f->length == 1 ? DBT_BOOL : DBT_INT;
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR:
		return DBT_INT;
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL:
		return DBT_DECIMAL;
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
		return DBT_FLOAT;
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
		return DBT_DATETIME;
	case MYSQL_TYPE_DATE:
		return DBT_DATE;
	case MYSQL_TYPE_TINY_BLOB:
	case MYSQL_TYPE_BLOB:
	case MYSQL_TYPE_MEDIUM_BLOB:
	case MYSQL_TYPE_LONG_BLOB:
	case MYSQL_TYPE_STRING:
	case MYSQL_TYPE_VAR_STRING:
		/* charsetnr 63 is "binary": BINARY, VARBINARY, BLOB. */
		return f->charsetnr == 63 ? DBT_BINARY : DBT_STRING;
	default:
		return DBT_STRING;
	}
}

static int
fetch_result(struct db *db, struct arena *a, MYSQL_STMT *st, MYSQL_RES *meta,
             struct dbres *out)
{
	MYSQL_FIELD *fields;
	MYSQL_BIND *bind;
	my_bool *nulls, *errs;
	unsigned long *lens;
	size_t ncols, nrows, r = 0;
	int rc;

	if (mysql_stmt_store_result(st)) {
		db->last = classify(mysql_stmt_errno(st));
		return -1;
	}
	ncols = mysql_num_fields(meta);
	nrows = (size_t)mysql_stmt_num_rows(st);
	/* After store_result, max_length holds each column's widest value. */
	fields = mysql_fetch_fields(meta);
	out->ncols = ncols;
	out->nrows = nrows;
	out->names = arena_alloc(a, ncols * sizeof(*out->names) + 1);
	out->types = arena_alloc(a, ncols * sizeof(*out->types) + 1);
	out->cells = arena_zalloc(a, nrows * ncols * sizeof(char *) + 1);
	out->lens = arena_zalloc(a, nrows * ncols * sizeof(unsigned long) + 1);
	bind = arena_zalloc(a, ncols * sizeof(*bind) + 1);
	nulls = arena_zalloc(a, ncols * sizeof(*nulls) + 1);
	errs = arena_zalloc(a, ncols * sizeof(*errs) + 1);
	lens = arena_zalloc(a, ncols * sizeof(*lens) + 1);
	if (!out->names || !out->types || !out->cells || !out->lens || !bind ||
	    !nulls || !errs || !lens)
		goto out_nomem;
	for (size_t c = 0; c < ncols; c++) {
		unsigned long size = fields[c].max_length;

		out->names[c] = arena_strdup(a, fields[c].name);
		out->types[c] = coltype(&fields[c]);
		if (out->types[c] != DBT_STRING &&
		    out->types[c] != DBT_BINARY && size < 64)
			size = 64;
		bind[c].buffer_type = MYSQL_TYPE_STRING;
		bind[c].buffer = arena_alloc(a, size + 1);
		bind[c].buffer_length = size + 1;
		bind[c].is_null = &nulls[c];
		bind[c].error = &errs[c];
		bind[c].length = &lens[c];
		if (!out->names[c] || !bind[c].buffer)
			goto out_nomem;
	}
	if (ncols && mysql_stmt_bind_result(st, bind)) {
		db->last = classify(mysql_stmt_errno(st));
		goto out_free;
	}
	while (r < nrows && ((rc = mysql_stmt_fetch(st)) == 0 ||
	                     rc == MYSQL_DATA_TRUNCATED)) {
		if (rc == MYSQL_DATA_TRUNCATED) {
			log_error("db fetch truncated a value");
			db->last = DBE_OTHER;
			goto out_free;
		}
		for (size_t c = 0; c < ncols; c++) {
			size_t k = r * ncols + c;

			if (nulls[c])
				continue;
			out->cells[k] =
			    arena_strndup(a, bind[c].buffer, lens[c]);
			out->lens[k] = lens[c];
			if (!out->cells[k])
				goto out_nomem;
		}
		r++;
	}
	out->nrows = r;
	goto out_free;

out_nomem:
	db->last = DBE_OTHER;
	log_error("db fetch failed: request memory cap reached");
out_free:
	mysql_stmt_free_result(st);
	return db->last == DBE_NONE ? 0 : -1;
}

static int
bind_params(struct db *db, const struct stmt_def *def, int64_t tenant_id,
            const struct dbv *args, size_t nargs, MYSQL_BIND *pb,
            int64_t *tenant_slot, my_bool *nullv)
{
	size_t np = strlen(def->params), k = 0;

	if (np > DB_MAX_PARAMS)
		goto out_mismatch;
	*tenant_slot = tenant_id;
	for (size_t i = 0; i < np; i++) {
		char want = def->params[i];

		memset(&pb[i], 0, sizeof(pb[i]));
		if (want == 't') {
			pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
			pb[i].buffer = tenant_slot;
			continue;
		}
		if (k >= nargs || args[k].type != want)
			goto out_mismatch;
		if (args[k].is_null) {
			nullv[i] = 1;
			pb[i].buffer_type = MYSQL_TYPE_NULL;
			pb[i].is_null = &nullv[i];
		} else if (want == 'i') {
			pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
			pb[i].buffer = (void *)&args[k].i;
		} else {
			/* Decimals travel as text: the server parses them. */
			pb[i].buffer_type =
			    want == 'b' ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
			pb[i].buffer = (void *)args[k].s;
			pb[i].buffer_length = args[k].len;
		}
		k++;
	}
	if (k != nargs)
		goto out_mismatch;
	return 0;

out_mismatch:
	log_error("db bind failed: statement '%s' wants params \"%s\" but "
	          "got %zu values of other types",
	          def->name, def->params, nargs);
	db->last = DBE_OTHER;
	return -1;
}

/* Whether a failed statement may be re-run on a fresh connection. */
static int
retryable(const struct db *db, const struct stmt_def *def)
{
	const char *p = def->sql;

	while (isspace((unsigned char)*p))
		p++;
	/*
	 * Only reads outside a transaction: a write may have happened
	 * before the connection died, and a transaction is gone with it.
	 */
	return !db->in_tx && strncasecmp(p, "SELECT", 6) == 0;
}

static int
run(struct db *db, struct arena *a, const struct stmt_def *def, size_t order,
    int64_t tenant_id, const struct dbv *args, size_t nargs, struct dbres *out)
{
	MYSQL_BIND pb[DB_MAX_PARAMS];
	my_bool nullv[DB_MAX_PARAMS] = {0};
	int64_t tenant_slot;
	long slot = registry_slot(def);
	struct dbres scratch;
	int attempt = 0;

	db->last = DBE_NONE;
	if (!out)
		out = &scratch;
	memset(out, 0, sizeof(*out));
	if (slot < 0 || order >= db_stmt_variants(def)) {
		log_error("db query failed: statement '%s' is not registered",
		          def->name);
		db->last = DBE_OTHER;
		return -1;
	}
	if (bind_params(db, def, tenant_id, args, nargs, pb, &tenant_slot,
	                nullv) < 0)
		return -1;
again:
	db->last = DBE_NONE;
	if (db_connect(db) < 0)
		return -1;
	{
		MYSQL_STMT *st = slot_prepare(db, slot, def, order);
		struct slot *s = &db->slots[slot + (long)order];

		if (!st)
			goto out_error;
		if ((strlen(def->params) && mysql_stmt_bind_param(st, pb)) ||
		    mysql_stmt_execute(st)) {
			unsigned e = mysql_stmt_errno(st);

			db->last = classify(e);
			if (db->last != DBE_DUPLICATE && db->last != DBE_FK)
				log_error("db query failed: statement '%s': %s",
				          def->name, mysql_stmt_error(st));
			goto out_error;
		}
		if (s->meta) {
			if (fetch_result(db, a, st, s->meta, out) < 0)
				goto out_error;
		}
		out->affected = mysql_stmt_affected_rows(st);
		out->insert_id = mysql_stmt_insert_id(st);
		return 0;
	}

out_error:
	if (db->last == DBE_CONN) {
		int retry = attempt == 0 && retryable(db, def);

		db_disconnect(db);
		if (retry) {
			attempt++;
			db->last_attempt_us = 0;
			goto again;
		}
	}
	return -1;
}

int
db_query(struct db *db, struct arena *a, const struct stmt_def *def,
         const struct dbv *args, size_t nargs, struct dbres *out)
{
	if (def->scope == SCOPE_MAINT && db->admin != DB_ACCOUNT_MAINT) {
		log_error("db query refused: statement '%s' is for the "
		          "maintenance account",
		          def->name);
		db->last = DBE_OTHER;
		return -1;
	}
	if (def->scope == SCOPE_TENANT) {
		log_error("db query refused: tenant statement '%s' run "
		          "without a tenant handle",
		          def->name);
		db->last = DBE_OTHER;
		return -1;
	}
	return run(db, a, def, 0, 0, args, nargs, out);
}

int
db_query_order(struct db *db, struct arena *a, const struct stmt_def *def,
               size_t order, const struct dbv *args, size_t nargs,
               struct dbres *out)
{
	if (def->scope != SCOPE_GLOBAL) {
		db->last = DBE_OTHER;
		return -1;
	}
	return run(db, a, def, order, 0, args, nargs, out);
}

static const struct stmt_def *
ping_stmt(void)
{
	return &store_health_stmts[0];
}

int
db_ping(struct db *db, struct arena *a)
{
	struct dbres res;

	if (db_query(db, a, ping_stmt(), DB_NOARGS, &res) < 0)
		return -1;
	return res.nrows == 1 ? 0 : -1;
}

static int
simple(struct db *db, const char *sql)
{
	db->last = DBE_NONE;
	if (db_connect(db) < 0)
		return -1;
	if (mysql_real_query(db->conn, sql, strlen(sql))) {
		db->last = classify(mysql_errno(db->conn));
		log_error("db '%s' failed: %s", sql, mysql_error(db->conn));
		if (db->last == DBE_CONN)
			db_disconnect(db);
		return -1;
	}
	return 0;
}

int
db_begin(struct db *db)
{
	if (simple(db, "START TRANSACTION") < 0)
		return -1;
	db->in_tx = 1;
	return 0;
}

/*
 * The post-commit hook (lib/events.c sets it: it nudges the event daemon
 * once the events of a transaction are visible).
 */
static db_commit_hook commit_hook;

void
db_set_commit_hook(db_commit_hook fn)
{
	commit_hook = fn;
}

int
db_commit(struct db *db)
{
	int rc = simple(db, "COMMIT");

	db->in_tx = 0;
	if (commit_hook)
		commit_hook(&db->cfg, rc == 0);
	return rc;
}

int
db_rollback(struct db *db)
{
	int rc;

	if (!db->conn) {
		db->in_tx = 0;
		return 0;
	}
	rc = simple(db, "ROLLBACK");
	db->in_tx = 0;
	if (commit_hook)
		commit_hook(&db->cfg, 0);
	return rc;
}

int
db_in_transaction(const struct db *db)
{
	return db->in_tx;
}

enum db_error
db_last_error(const struct db *db)
{
	return db->last;
}

void
db_request_done(struct db *db)
{
	if (db->in_tx) {
		log_warn("db transaction left open by a request, rolling back");
		db_rollback(db);
	}
}

/* ---- tenant handle --------------------------------------------------- */

struct tdb *
tdb_open(struct db *db, struct arena *a, int64_t tenant_id)
{
	struct tdb *t = arena_alloc(a, sizeof(*t));

	if (!t)
		return NULL;
	t->db = db;
	t->a = a;
	t->tenant_id = tenant_id;
	return t;
}

int
tdb_query(struct tdb *t, const struct stmt_def *def, const struct dbv *args,
          size_t nargs, struct dbres *out)
{
	if (def->scope != SCOPE_TENANT) {
		log_error("db query refused: global statement '%s' run "
		          "through a tenant handle",
		          def->name);
		t->db->last = DBE_OTHER;
		return -1;
	}
	return run(t->db, t->a, def, 0, t->tenant_id, args, nargs, out);
}

int
tdb_query_order(struct tdb *t, const struct stmt_def *def, size_t order,
                const struct dbv *args, size_t nargs, struct dbres *out)
{
	if (def->scope != SCOPE_TENANT) {
		log_error("db query refused: global statement '%s' run "
		          "through a tenant handle",
		          def->name);
		t->db->last = DBE_OTHER;
		return -1;
	}
	return run(t->db, t->a, def, order, t->tenant_id, args, nargs, out);
}

int64_t
tdb_tenant(const struct tdb *t)
{
	return t->tenant_id;
}

int
tdb_begin(struct tdb *t)
{
	return db_begin(t->db);
}

int
tdb_commit(struct tdb *t)
{
	return db_commit(t->db);
}

int
tdb_rollback(struct tdb *t)
{
	return db_rollback(t->db);
}

enum db_error
tdb_last_error(const struct tdb *t)
{
	return t->db->last;
}

/* ---- results --------------------------------------------------------- */

const char *
dbres_get(const struct dbres *res, size_t row, size_t col)
{
	if (row >= res->nrows || col >= res->ncols)
		return NULL;
	return res->cells[row * res->ncols + col];
}

int
dbres_col(const struct dbres *res, const char *name)
{
	for (size_t c = 0; c < res->ncols; c++)
		if (strcmp(res->names[c], name) == 0)
			return (int)c;
	return -1;
}

int64_t
dbres_int(const struct dbres *res, size_t row, size_t col)
{
	const char *s = dbres_get(res, row, col);
	int64_t v;

	if (!s || parse_int64(s, INT64_MIN, INT64_MAX, &v) < 0)
		return 0;
	return v;
}

void
db_datetime_rfc3339(const char *in, char *out, size_t n)
{
	/* "YYYY-MM-DD HH:MM:SS" is 19 bytes; fractions are dropped. */
	if (strlen(in) < 19) {
		snprintf(out, n, "%s", in);
		return;
	}
	snprintf(out, n, "%.10sT%.8sZ", in, in + 11);
}

cJSON *
dbres_row_json(const struct dbres *res, size_t row,
               const char *const *json_cols)
{
	cJSON *obj = cJSON_CreateObject();

	if (!obj)
		return NULL;
	for (size_t c = 0; c < res->ncols; c++) {
		const char *v = dbres_get(res, row, c);
		const char *name = res->names[c];
		int as_json = 0;
		char when[40];

		for (const char *const *j = json_cols; j && *j; j++)
			if (strcmp(*j, name) == 0)
				as_json = 1;
		if (res->types[c] == DBT_BINARY)
			continue;
		if (!v) {
			cJSON_AddNullToObject(obj, name);
			continue;
		}
		if (as_json) {
			cJSON_AddRawToObject(obj, name, v);
			continue;
		}
		switch (res->types[c]) {
		case DBT_INT:
		case DBT_DECIMAL:
		case DBT_FLOAT:
			cJSON_AddRawToObject(obj, name, v);
			break;
		case DBT_BOOL:
			cJSON_AddBoolToObject(obj, name, strcmp(v, "0") != 0);
			break;
		case DBT_DATETIME:
			db_datetime_rfc3339(v, when, sizeof(when));
			cJSON_AddStringToObject(obj, name, when);
			break;
		default:
			cJSON_AddStringToObject(obj, name, v);
			break;
		}
	}
	return obj;
}

static int
name_in(const char *name, const char *const *list)
{
	for (const char *const *p = list; p && *p; p++)
		if (strcmp(*p, name) == 0)
			return 1;
	return 0;
}

/* A JSON string literal: quotes, backslashes and controls escaped. */
static void
write_json_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;

	buf_addch(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + start, i - start);
		start = i + 1;
		switch (c) {
		case '"':
			buf_adds(b, "\\\"");
			break;
		case '\\':
			buf_adds(b, "\\\\");
			break;
		case '\n':
			buf_adds(b, "\\n");
			break;
		case '\r':
			buf_adds(b, "\\r");
			break;
		case '\t':
			buf_adds(b, "\\t");
			break;
		default: {
			char u[7] = {'\\',        'u',          '0', '0',
			             hex[c >> 4], hex[c & 0xf], 0};
			buf_adds(b, u);
		}
		}
	}
	buf_add(b, s + start, n - start);
	buf_addch(b, '"');
}

void
dbres_write_json(struct buf *b, const struct dbres *res, size_t row,
                 const char *const *json_cols, const char *const *skip)
{
	int first = 1;

	buf_addch(b, '{');
	for (size_t c = 0; c < res->ncols; c++) {
		const char *v = dbres_get(res, row, c);
		const char *name = res->names[c];
		char when[40];

		if (res->types[c] == DBT_BINARY || name_in(name, skip))
			continue;
		if (!first)
			buf_addch(b, ',');
		first = 0;
		write_json_string(b, name, strlen(name));
		buf_addch(b, ':');
		if (!v) {
			buf_adds(b, "null");
			continue;
		}
		if (name_in(name, json_cols)) {
			buf_adds(b, v);
			continue;
		}
		switch (res->types[c]) {
		case DBT_INT:
		case DBT_DECIMAL:
		case DBT_FLOAT:
			buf_adds(b, v);
			break;
		case DBT_BOOL:
			buf_adds(b, strcmp(v, "0") != 0 ? "true" : "false");
			break;
		case DBT_DATETIME:
			db_datetime_rfc3339(v, when, sizeof(when));
			write_json_string(b, when, strlen(when));
			break;
		default:
			write_json_string(b, v,
			                  res->lens[row * res->ncols + c]);
			break;
		}
	}
	buf_addch(b, '}');
}

struct dbres *
dbres_dup_heap(const struct dbres *res)
{
	size_t n = res->nrows * res->ncols, size = sizeof(*res), c;
	struct dbres *d;
	char *p;

	size += res->ncols * (sizeof(char *) + sizeof(enum db_coltype));
	size += n * (sizeof(char *) + sizeof(unsigned long));
	for (c = 0; c < res->ncols; c++)
		size += strlen(res->names[c]) + 1;
	for (c = 0; c < n; c++)
		size += res->cells[c] ? res->lens[c] + 1 : 0;
	d = xmalloc(size);
	*d = *res;
	p = (char *)(d + 1);
	d->names = (const char **)(void *)p;
	p += res->ncols * sizeof(char *);
	d->cells = (char **)(void *)p;
	p += n * sizeof(char *);
	d->lens = (unsigned long *)(void *)p;
	p += n * sizeof(unsigned long);
	d->types = (enum db_coltype *)(void *)p;
	p += res->ncols * sizeof(enum db_coltype);
	memcpy(d->types, res->types, res->ncols * sizeof(enum db_coltype));
	memcpy(d->lens, res->lens, n * sizeof(unsigned long));
	for (c = 0; c < res->ncols; c++) {
		size_t len = strlen(res->names[c]) + 1;

		memcpy(p, res->names[c], len);
		d->names[c] = p;
		p += len;
	}
	for (c = 0; c < n; c++) {
		if (!res->cells[c]) {
			d->cells[c] = NULL;
			continue;
		}
		memcpy(p, res->cells[c], res->lens[c]);
		p[res->lens[c]] = '\0';
		d->cells[c] = p;
		p += res->lens[c] + 1;
	}
	return d;
}
