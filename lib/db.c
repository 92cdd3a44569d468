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
#include "sqlcheck.h"
#include "util.h"

#define DB_MAX_PARAMS     64
#define DB_RECONNECT_USEC 500000 /* at most two connect attempts a second */
#define DB_STREAM_CELL    65536  /* a streamed cell's first buffer */

/* The reserved parameters, in a compiled statement's parameter map. */
#define P_TENANT (-1)
#define P_LIMIT  (-2)
#define P_OFFSET (-3)

/* What the server says a result column is. */
enum db_coltype {
	DBT_STRING,
	DBT_INT,
	DBT_BOOL,
	DBT_DECIMAL,
	DBT_DATETIME,
	DBT_DATE,
	DBT_BINARY,
	DBT_FLOAT,
};

struct slot {
	MYSQL_STMT *stmt;
	MYSQL_RES *meta; /* NULL for statements without a result set */
	int *map;        /* result column -> column of def->out */
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
	char why[256]; /* the last prepare failure, for db_prepare_all() */
};

/* The process's post-transaction hook (db_set_commit_hook()). */
static db_commit_hook commit_hook;

struct tdb {
	struct db *db;
	struct arena *a;
	int64_t tenant_id;
};

/* clang-format off */
static const struct col db_id_cols[] = {
	COL_INT(struct db_id, id, 0),
	COL_END
};
const struct rowtype db_id_in = ROWTYPE(struct db_id, "id", db_id_cols);

static const struct col db_count_cols[] = {
	COL_INT(struct db_count, n, 0),
	COL_END
};
const struct rowtype db_count_row =
    ROWTYPE(struct db_count, "count", db_count_cols);
/* clang-format on */

/* ---- the statement registry ------------------------------------------ */

/*
 * A registered statement, compiled once per process: the SQL of each
 * sort variant with :name turned into '?', and for each '?' the column
 * of def->in it binds (or a reserved P_*).
 */
struct compiled {
	const struct stmt_def *def;
	char **sql;
	size_t nvariants;
	int *pmap;
	size_t nparams;
	long slot; /* the first of nvariants slots */
};

static struct {
	int done;
	size_t ntables;
	const struct stmt_def **table; /* start of each table */
	size_t *len;                   /* statements in each */
	struct compiled **comp;        /* compiled statements of each */
	size_t nslots;
} reg;

size_t
db_stmt_variants(const struct stmt_def *def)
{
	size_t n = 0;

	while (def->sorts && def->sorts[n].key)
		n++;
	return n ? n : 1;
}

int
db_sort_index(const struct stmt_def *def, const char *key)
{
	for (size_t i = 0; def->sorts && def->sorts[i].key; i++)
		if (strcmp(def->sorts[i].key, key) == 0)
			return (int)i;
	return -1;
}

static int
reserved(const char *s, size_t n)
{
	if (n == 6 && memcmp(s, "tenant", 6) == 0)
		return P_TENANT;
	if (n == 5 && memcmp(s, "limit", 5) == 0)
		return P_LIMIT;
	if (n == 6 && memcmp(s, "offset", 6) == 0)
		return P_OFFSET;
	return 0;
}

/* The columns of out as "a, b, c". */
static void
add_cols(struct buf *b, const struct rowtype *out)
{
	for (const struct col *c = out->cols; c->name; c++) {
		if (c != out->cols)
			buf_adds(b, ", ");
		buf_adds(b, c->name);
	}
}

/*
 * Expands the markers of def->sql for variant k and turns each :name
 * into '?', recording its binding in pmap (when not NULL; room for
 * DB_MAX_PARAMS).  The caller frees the SQL.  NULL with err on a
 * parameter that binds nothing or a marker out of place.
 */
static char *
expand(const struct stmt_def *def, size_t k, int *pmap, size_t *np, char *err,
       size_t errlen)
{
	const char *clause = def->sorts ? def->sorts[k].clause : NULL;
	const char *bar = clause ? strchr(clause, '|') : NULL;
	struct buf b = BUF_INIT(0);
	char quote = 0;
	size_t n = 0;

	for (const char *p = def->sql; *p;) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			buf_addch(&b, *p++);
		} else if (*p == '\'' || *p == '"' || *p == '`') {
			quote = *p;
			buf_addch(&b, *p++);
		} else if (strncmp(p, "{ORDER}", 7) == 0 && clause) {
			buf_adds(&b, bar ? bar + 1 : clause);
			p += 7;
		} else if (strncmp(p, "{INDEX}", 7) == 0 && clause) {
			if (bar) {
				buf_adds(&b, " FORCE INDEX (");
				buf_add(&b, clause, (size_t)(bar - clause));
				buf_adds(&b, ")");
			}
			p += 7;
		} else if (strncmp(p, "{COLS}", 6) == 0 && def->out) {
			add_cols(&b, def->out);
			p += 6;
		} else if (*p == '{') {
			snprintf(err, errlen, "a marker %.8s out of place", p);
			goto out_bad;
		} else if (*p == ':' &&
		           (islower((unsigned char)p[1]) || p[1] == '_')) {
			const char *s = ++p;
			char name[64];
			int idx;

			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			idx = reserved(s, (size_t)(p - s));
			snprintf(name, sizeof(name), "%.*s", (int)(p - s), s);
			if (!idx) {
				idx =
				    def->in ? row_col_index(def->in, name) : -1;
				if (idx < 0) {
					snprintf(err, errlen,
					         "parameter :%s is not a "
					         "member of its input type %s",
					         name,
					         def->in ? def->in->name
					                 : "(none)");
					goto out_bad;
				}
			}
			if (n == DB_MAX_PARAMS) {
				snprintf(err, errlen, "more than %d parameters",
				         DB_MAX_PARAMS);
				goto out_bad;
			}
			if (pmap)
				pmap[n] = idx;
			n++;
			buf_addch(&b, '?');
		} else {
			buf_addch(&b, *p++);
		}
	}
	if (np)
		*np = n;
	return buf_detach(&b);

out_bad:
	buf_release(&b);
	return NULL;
}

/* The checks of one statement that need no server; 0 or -1 with err. */
static int
check_def(const struct stmt_def *d, const char *const *globals, char *err,
          size_t errlen)
{
	char why[200];
	int has_order = strstr(d->sql, "{ORDER}") != NULL;
	char *sql;

	if ((d->sorts != NULL) != has_order) {
		snprintf(err, errlen,
		         "statement '%s': {ORDER} and the sorts whitelist go "
		         "together",
		         d->name);
		return -1;
	}
	if (strstr(d->sql, "{COLS}") && !d->out) {
		snprintf(err, errlen,
		         "statement '%s': {COLS} without an out "
		         "row type",
		         d->name);
		return -1;
	}
	for (const struct sort_def *s = d->sorts; s && s->key; s++) {
		const char *bar = strchr(s->clause, '|');
		size_t ilen = bar ? (size_t)(bar - s->clause) : 0;
		const char *rest = bar ? bar + 1 : s->clause;

		/* An index name is an identifier and nothing else. */
		if (bar && (ilen == 0 ||
		            strspn(s->clause, "abcdefghijklmnopqrstuvwxyz"
		                              "0123456789_") != ilen ||
		            !strstr(d->sql, "{INDEX}"))) {
			snprintf(err, errlen,
			         "statement '%s': bad index in sort '%s'",
			         d->name, s->key);
			return -1;
		}
		/*
		 * A clause is column names, commas, directions and the odd
		 * FIELD(col, 'a', 'b'): no parameter, no statement break.
		 */
		if (strspn(rest,
		           "abcdefghijklmnopqrstuvwxyz"
		           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_., ()'") !=
		    strlen(rest)) {
			snprintf(err, errlen,
			         "statement '%s': sort '%s' holds more than "
			         "column names and FIELD()",
			         d->name, s->key);
			return -1;
		}
	}
	sql = expand(d, 0, NULL, NULL, why, sizeof(why));
	if (!sql) {
		snprintf(err, errlen, "statement '%s': %s", d->name, why);
		return -1;
	}
	free(sql);
	if (sqlcheck_tenant(d->sql, d->scope == SCOPE_TENANT, globals, why,
	                    sizeof(why)) < 0) {
		snprintf(err, errlen, "statement '%s': %s", d->name, why);
		return -1;
	}
	return 0;
}

int
db_check_table(const struct stmt_def *defs, const char *const *globals,
               char *err, size_t errlen)
{
	for (const struct stmt_def *d = defs; d->name; d++)
		if (check_def(d, globals, err, errlen) < 0)
			return -1;
	return 0;
}

int
db_register(const struct stmt_def *const *tables, const char *const *globals,
            char *err, size_t errlen)
{
	long slot = 0;
	size_t nt = 0;

	if (reg.done) {
		snprintf(err, errlen, "db_register() called twice");
		return -1;
	}
	while (tables[nt])
		nt++;
	reg.table = xcalloc(nt + 1, sizeof(*reg.table));
	reg.len = xcalloc(nt + 1, sizeof(*reg.len));
	reg.comp = xcalloc(nt + 1, sizeof(*reg.comp));
	for (size_t t = 0; t < nt; t++) {
		const struct stmt_def *defs = tables[t];
		size_t n = 0;

		if (db_check_table(defs, globals, err, errlen) < 0)
			return -1;
		while (defs[n].name)
			n++;
		reg.table[t] = defs;
		reg.len[t] = n;
		reg.comp[t] = xcalloc(n ? n : 1, sizeof(struct compiled));
		for (size_t i = 0; i < n; i++) {
			struct compiled *cp = &reg.comp[t][i];
			int pmap[DB_MAX_PARAMS];

			cp->def = &defs[i];
			cp->nvariants = db_stmt_variants(&defs[i]);
			cp->sql = xcalloc(cp->nvariants, sizeof(char *));
			for (size_t k = 0; k < cp->nvariants; k++) {
				cp->sql[k] = expand(&defs[i], k, pmap,
				                    &cp->nparams, err, errlen);
				if (!cp->sql[k])
					return -1;
			}
			cp->pmap = xcalloc(cp->nparams + 1, sizeof(int));
			memcpy(cp->pmap, pmap, cp->nparams * sizeof(int));
			cp->slot = slot;
			slot += (long)cp->nvariants;
		}
	}
	reg.ntables = nt;
	reg.nslots = (size_t)slot;
	reg.done = 1;
	return 0;
}

/* The compiled form of def, or NULL when def is in no registered table. */
static const struct compiled *
compiled_of(const struct stmt_def *def)
{
	for (size_t t = 0; t < reg.ntables; t++)
		if (def >= reg.table[t] && def < reg.table[t] + reg.len[t])
			return &reg.comp[t][def - reg.table[t]];
	return NULL;
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
		free(db->slots[i].map);
		db->slots[i].map = NULL;
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
	if (!reg.done) {
		snprintf(err, errlen, "db_register() was not called");
		explicit_bzero(db->password, sizeof(db->password));
		free(db);
		return NULL;
	}
	db->nslots = reg.nslots;
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

/* ---- statements ------------------------------------------------------ */

/* Whether a result column of server type t can be read as column c. */
static int
compatible(enum db_coltype t, const MYSQL_FIELD *f, const struct col *c)
{
	switch (c->type) {
	case COLT_INT:
		return t == DBT_INT || t == DBT_BOOL ||
		       (t == DBT_DECIMAL && f->decimals == 0);
	case COLT_BOOL:
		return t == DBT_BOOL || t == DBT_INT;
	case COLT_DEC:
		return t == DBT_DECIMAL || t == DBT_INT;
	case COLT_TIME:
		return t == DBT_DATETIME;
	case COLT_DATE:
		return t == DBT_DATE;
	case COLT_BYTES:
		return t == DBT_BINARY;
	case COLT_STR:
	case COLT_JSON:
		return t == DBT_STRING;
	default:
		return 0;
	}
}

/*
 * Checks that the result columns of a prepared statement are exactly
 * the columns of def->out, with compatible types, and maps each result
 * column to its reader column.  0, or -1 with db->why.
 */
static int
map_columns(struct db *db, const struct stmt_def *def, MYSQL_RES *meta,
            int **map_out)
{
	size_t ncols = meta ? mysql_num_fields(meta) : 0, nout;
	MYSQL_FIELD *f = meta ? mysql_fetch_fields(meta) : NULL;
	int *map;

	*map_out = NULL;
	if (!def->out) {
		if (!meta)
			return 0;
		snprintf(db->why, sizeof(db->why),
		         "it returns rows but has no out row type");
		return -1;
	}
	if (!meta) {
		snprintf(db->why, sizeof(db->why),
		         "it returns no rows but has the out row type %s",
		         def->out->name);
		return -1;
	}
	nout = row_ncols(def->out);
	if (ncols != nout) {
		snprintf(db->why, sizeof(db->why),
		         "it returns %zu columns, its row type %s has %zu",
		         ncols, def->out->name, nout);
		return -1;
	}
	map = xcalloc(ncols + 1, sizeof(int));
	for (size_t i = 0; i < ncols; i++) {
		int c = row_col_index(def->out, f[i].name);

		if (c < 0) {
			snprintf(
			    db->why, sizeof(db->why),
			    "column '%s' is not a member of its row type %s",
			    f[i].name, def->out->name);
			goto out_bad;
		}
		for (size_t j = 0; j < i; j++) {
			if (map[j] == c) {
				snprintf(db->why, sizeof(db->why),
				         "column '%s' comes twice", f[i].name);
				goto out_bad;
			}
		}
		if (!compatible(coltype(&f[i]), &f[i], &def->out->cols[c])) {
			snprintf(db->why, sizeof(db->why),
			         "column '%s' (server type %d) cannot be read "
			         "as the %s member of %s",
			         f[i].name, (int)f[i].type,
			         row_type_json_name(def->out->cols[c].type),
			         def->out->name);
			goto out_bad;
		}
		map[i] = c;
	}
	*map_out = map;
	return 0;

out_bad:
	free(map);
	return -1;
}

static MYSQL_STMT *
slot_prepare(struct db *db, const struct compiled *cp, size_t k)
{
	struct slot *s = &db->slots[cp->slot + (long)k];
	const char *sql = cp->sql[k];
	MYSQL_STMT *st;
	my_bool on = 1;

	if (s->stmt)
		return s->stmt;
	st = mysql_stmt_init(db->conn);
	if (!st)
		abort();
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		unsigned e = mysql_stmt_errno(st);

		snprintf(db->why, sizeof(db->why), "%s", mysql_stmt_error(st));
		log_error("db prepare failed: statement '%s': %s",
		          cp->def->name, db->why);
		mysql_stmt_close(st);
		db->last = classify(e);
		if (db->last == DBE_CONN)
			db_disconnect(db);
		return NULL;
	}
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
	s->meta = mysql_stmt_result_metadata(st);
	if (map_columns(db, cp->def, s->meta, &s->map) < 0) {
		log_error("db statement '%s' does not match its reader: %s",
		          cp->def->name, db->why);
		if (s->meta)
			mysql_free_result(s->meta);
		s->meta = NULL;
		mysql_stmt_close(st);
		db->last = DBE_OTHER;
		return NULL;
	}
	s->stmt = st;
	return st;
}

int
db_prepare_all(struct db *db, char *err, size_t errlen)
{
	if (db_connect(db) < 0)
		return 0;
	for (size_t t = 0; t < reg.ntables; t++) {
		for (size_t i = 0; i < reg.len[t]; i++) {
			const struct compiled *cp = &reg.comp[t][i];

			/* Only the maintenance account may run these. */
			if (cp->def->scope == SCOPE_MAINT &&
			    db->admin != DB_ACCOUNT_MAINT)
				continue;
			for (size_t k = 0; k < cp->nvariants; k++) {
				if (slot_prepare(db, cp, k))
					continue;
				if (db->last == DBE_CONN)
					return 0;
				snprintf(err, errlen, "statement '%s': %s",
				         cp->def->name, db->why);
				return -1;
			}
		}
	}
	return 1;
}

/* Binding values of a call. */
struct call {
	int64_t tenant, limit, offset;
	const void *in;
};

static int
bind_params(struct db *db, const struct compiled *cp, const struct call *cl,
            MYSQL_BIND *pb, my_bool *nullv)
{
	const struct rowtype *in = cp->def->in;

	for (size_t i = 0; i < cp->nparams; i++) {
		int idx = cp->pmap[i];
		const struct col *c;
		const void *m;

		memset(&pb[i], 0, sizeof(pb[i]));
		if (idx < 0) {
			pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
			pb[i].buffer = (void *)(idx == P_TENANT  ? &cl->tenant
			                        : idx == P_LIMIT ? &cl->limit
			                                         : &cl->offset);
			continue;
		}
		if (!cl->in) {
			log_error("db bind failed: statement '%s' needs its "
			          "%s parameters",
			          cp->def->name, in->name);
			db->last = DBE_OTHER;
			return -1;
		}
		c = &in->cols[idx];
		m = row_member(cl->in, c);
		switch (c->type) {
		case COLT_INT:
			if ((c->flags & COL_F_NULL) && *(const int64_t *)m == 0)
				goto null;
			pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
			pb[i].buffer = (void *)m;
			break;
		case COLT_BOOL:
			if ((c->flags & COL_F_NULL) && *(const int *)m < 0)
				goto null;
			pb[i].buffer_type = MYSQL_TYPE_LONG;
			pb[i].buffer = (void *)m;
			break;
		case COLT_BYTES: {
			const struct bytes *bv = m;

			if (!bv->p)
				goto null;
			pb[i].buffer_type = MYSQL_TYPE_BLOB;
			pb[i].buffer = (void *)bv->p;
			pb[i].buffer_length = bv->n;
			break;
		}
		default: {
			/* Decimals, times and dates travel as text too. */
			const char *s = *(const char *const *)m;

			if (!s)
				goto null;
			pb[i].buffer_type = MYSQL_TYPE_STRING;
			pb[i].buffer = (void *)s;
			pb[i].buffer_length = strlen(s);
		}
		}
		continue;
	null:
		nullv[i] = 1;
		pb[i].buffer_type = MYSQL_TYPE_NULL;
		pb[i].is_null = &nullv[i];
	}
	return 0;
}

/* Stores the text of one cell into the member of column c of row. */
static int
decode(struct arena *a, const struct col *c, void *row, const char *v,
       unsigned long len, int null)
{
	void *m = row_member(row, c);

	switch (c->type) {
	case COLT_INT:
		*(int64_t *)m = 0;
		if (!null &&
		    parse_int64_n(v, len, INT64_MIN, INT64_MAX, m) < 0) {
			log_error("db fetch failed: column '%s' is not an "
			          "integer",
			          c->name);
			return -1;
		}
		return 0;
	case COLT_BOOL:
		if (null && (c->flags & COL_F_NULL))
			*(int *)m = -1;
		else
			*(int *)m = !null && !(len == 1 && v[0] == '0');
		return 0;
	case COLT_BYTES: {
		struct bytes *bv = m;
		unsigned char *p = NULL;

		if (!null) {
			p = arena_alloc(a, len + 1);
			if (!p)
				return -1;
			memcpy(p, v, len);
		}
		bv->p = p;
		bv->n = null ? 0 : len;
		return 0;
	}
	default:
		*(const char **)m = null ? NULL : arena_strndup(a, v, len);
		return null || *(const char **)m ? 0 : -1;
	}
}

/*
 * How fetch_result() receives a column.  Integers and times come in the
 * binary protocol's own form: received as text, libmariadb would print
 * them with the printf family (about 3,000 instructions a DATETIME, a
 * third of a list page's client CPU), only for decode() to parse them
 * back.
 */
enum fetch_as {
	FETCH_TEXT,
	FETCH_INT,
	FETCH_DATETIME,
	FETCH_DATE,
};

static enum fetch_as
fetch_as(const MYSQL_FIELD *f, const struct col *c)
{
	enum db_coltype t = coltype(f);

	if (c->type == COLT_INT && t == DBT_INT)
		return FETCH_INT;
	if (c->type == COLT_TIME && t == DBT_DATETIME && f->decimals <= 6)
		return FETCH_DATETIME;
	if (c->type == COLT_DATE && t == DBT_DATE)
		return FETCH_DATE;
	return FETCH_TEXT;
}

/* Writes the n low decimal digits of v at p. */
static void
put_digits(char *p, unsigned long v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * A time as the server writes it in text: "YYYY-MM-DD", then for a
 * DATETIME " HH:MM:SS" and, for DATETIME(n), '.' and n digits of the
 * fraction.  Returns the length (at most 26).
 */
static size_t
format_time(const MYSQL_TIME *t, int with_time, unsigned decimals, char *out)
{
	size_t n = 10;

	put_digits(out, t->year, 4);
	out[4] = '-';
	put_digits(out + 5, t->month, 2);
	out[7] = '-';
	put_digits(out + 8, t->day, 2);
	if (with_time) {
		out[10] = ' ';
		put_digits(out + 11, t->hour, 2);
		out[13] = ':';
		put_digits(out + 14, t->minute, 2);
		out[16] = ':';
		put_digits(out + 17, t->second, 2);
		n = 19;
		if (decimals > 0) {
			unsigned long frac = t->second_part;

			for (unsigned i = decimals; i < 6; i++)
				frac /= 10;
			out[19] = '.';
			put_digits(out + 20, frac, (int)decimals);
			n = 20 + decimals;
		}
	}
	out[n] = '\0';
	return n;
}

/* Stores a binary-protocol cell (FETCH_INT or a time) into row. */
static int
decode_binary(struct arena *a, const struct col *c, void *row, enum fetch_as as,
              const MYSQL_FIELD *f, const void *v, int null)
{
	void *m = row_member(row, c);
	char text[32];

	if (as == FETCH_INT) {
		uint64_t u = *(const uint64_t *)v;

		*(int64_t *)m = 0;
		if (null)
			return 0;
		if ((f->flags & UNSIGNED_FLAG) && u > INT64_MAX) {
			log_error(
			    "db fetch failed: column '%s' is out of range",
			    c->name);
			return -1;
		}
		*(int64_t *)m = (int64_t)u;
		return 0;
	}
	if (null) {
		*(const char **)m = NULL;
		return 0;
	}
	*(const char **)m = arena_strndup(
	    a, text, format_time(v, as == FETCH_DATETIME, f->decimals, text));
	return *(const char **)m ? 0 : -1;
}

static int
fetch_result(struct db *db, struct arena *a, MYSQL_STMT *st,
             const struct slot *s, const struct rowtype *type, struct rows *out)
{
	MYSQL_FIELD *fields;
	MYSQL_BIND *bind;
	my_bool *nulls, *errs;
	unsigned long *lens;
	unsigned char *as;
	size_t ncols, nrows, r = 0;
	int rc;

	if (mysql_stmt_store_result(st)) {
		db->last = classify(mysql_stmt_errno(st));
		return -1;
	}
	ncols = mysql_num_fields(s->meta);
	nrows = (size_t)mysql_stmt_num_rows(st);
	/* After store_result, max_length holds each column's widest value. */
	fields = mysql_fetch_fields(s->meta);
	out->type = type;
	out->data = arena_zalloc(a, nrows * type->size + 1);
	bind = arena_zalloc(a, ncols * sizeof(*bind) + 1);
	nulls = arena_zalloc(a, ncols * sizeof(*nulls) + 1);
	errs = arena_zalloc(a, ncols * sizeof(*errs) + 1);
	lens = arena_zalloc(a, ncols * sizeof(*lens) + 1);
	as = arena_zalloc(a, ncols + 1);
	if (!out->data || !bind || !nulls || !errs || !lens || !as)
		goto out_nomem;
	for (size_t c = 0; c < ncols; c++) {
		unsigned long size = fields[c].max_length;

		as[c] =
		    (unsigned char)fetch_as(&fields[c], &type->cols[s->map[c]]);
		bind[c].is_null = &nulls[c];
		bind[c].error = &errs[c];
		bind[c].length = &lens[c];
		if (as[c] == FETCH_INT) {
			bind[c].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[c].is_unsigned =
			    (fields[c].flags & UNSIGNED_FLAG) != 0;
			size = sizeof(uint64_t);
		} else if (as[c] != FETCH_TEXT) {
			bind[c].buffer_type = as[c] == FETCH_DATE
			                          ? MYSQL_TYPE_DATE
			                          : MYSQL_TYPE_DATETIME;
			size = sizeof(MYSQL_TIME);
		} else {
			bind[c].buffer_type = MYSQL_TYPE_STRING;
			if (size < 64)
				size = 64;
			size++;
		}
		bind[c].buffer = arena_alloc(a, size);
		bind[c].buffer_length = size;
		if (!bind[c].buffer)
			goto out_nomem;
	}
	if (ncols && mysql_stmt_bind_result(st, bind)) {
		db->last = classify(mysql_stmt_errno(st));
		goto out_free;
	}
	while (r < nrows && ((rc = mysql_stmt_fetch(st)) == 0 ||
	                     rc == MYSQL_DATA_TRUNCATED)) {
		void *row = (char *)out->data + r * type->size;

		if (rc == MYSQL_DATA_TRUNCATED) {
			log_error("db fetch truncated a value");
			db->last = DBE_OTHER;
			goto out_free;
		}
		for (size_t c = 0; c < ncols; c++) {
			const struct col *col = &type->cols[s->map[c]];
			int bad =
			    as[c] == FETCH_TEXT
			        ? decode(a, col, row, bind[c].buffer, lens[c],
			                 nulls[c])
			        : decode_binary(a, col, row, as[c], &fields[c],
			                        bind[c].buffer, nulls[c]);

			if (bad < 0) {
				db->last = DBE_OTHER;
				goto out_free;
			}
		}
		r++;
	}
	out->n = r;
	goto out_free;

out_nomem:
	db->last = DBE_OTHER;
	log_error("db fetch failed: request memory cap reached");
out_free:
	mysql_stmt_free_result(st);
	return db->last == DBE_NONE ? 0 : -1;
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

/*
 * Executes def (variant k) with the call's values.  With fetch, the
 * rows go into out (buffered); without, the caller reads the statement
 * (streaming) and *stp is set.
 */
static int
execute(struct db *db, const struct stmt_def *def, size_t k,
        const struct call *cl, const struct compiled **cpp, MYSQL_STMT **stp)
{
	MYSQL_BIND pb[DB_MAX_PARAMS];
	my_bool nullv[DB_MAX_PARAMS] = {0};
	const struct compiled *cp = compiled_of(def);
	int attempt = 0;

	db->last = DBE_NONE;
	if (!cp || k >= cp->nvariants) {
		log_error("db query failed: statement '%s' is not registered",
		          def->name);
		db->last = DBE_OTHER;
		return -1;
	}
	*cpp = cp;
	if (bind_params(db, cp, cl, pb, nullv) < 0)
		return -1;
again:
	db->last = DBE_NONE;
	if (db_connect(db) < 0)
		return -1;
	{
		MYSQL_STMT *st = slot_prepare(db, cp, k);

		if (!st)
			goto out_error;
		if ((cp->nparams && mysql_stmt_bind_param(st, pb)) ||
		    mysql_stmt_execute(st)) {
			unsigned e = mysql_stmt_errno(st);

			db->last = classify(e);
			if (db->last != DBE_DUPLICATE && db->last != DBE_FK)
				log_error("db query failed: statement '%s': %s",
				          def->name, mysql_stmt_error(st));
			goto out_error;
		}
		*stp = st;
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

static int
run(struct db *db, struct arena *a, const struct stmt_def *def, size_t k,
    const struct call *cl, struct rows *out)
{
	const struct compiled *cp;
	struct rows scratch;
	MYSQL_STMT *st;

	if (!out)
		out = &scratch;
	memset(out, 0, sizeof(*out));
	out->type = def->out;
	if (execute(db, def, k, cl, &cp, &st) < 0)
		return -1;
	if (def->out) {
		const struct slot *s = &db->slots[cp->slot + (long)k];

		if (fetch_result(db, a, st, s, def->out, out) < 0) {
			if (db->last == DBE_CONN)
				db_disconnect(db);
			return -1;
		}
	}
	out->affected = mysql_stmt_affected_rows(st);
	out->insert_id = mysql_stmt_insert_id(st);
	return 0;
}

/* Runs a one-row statement into row: 1, 0 or -1. */
static int
run_one(struct db *db, struct arena *a, const struct stmt_def *def,
        const struct call *cl, void *row)
{
	struct rows rs;

	if (!def->out) {
		log_error("db query failed: statement '%s' has no rows to "
		          "read",
		          def->name);
		db->last = DBE_OTHER;
		return -1;
	}
	if (run(db, a, def, 0, cl, &rs) < 0)
		return -1;
	if (rs.n == 0)
		return 0;
	memcpy(row, rs.data, def->out->size);
	return 1;
}

static int
global_ok(struct db *db, const struct stmt_def *def)
{
	if (def->scope == SCOPE_MAINT && db->admin != DB_ACCOUNT_MAINT) {
		log_error("db query refused: statement '%s' is for the "
		          "maintenance account",
		          def->name);
		db->last = DBE_OTHER;
		return 0;
	}
	if (def->scope == SCOPE_TENANT) {
		log_error("db query refused: tenant statement '%s' run "
		          "without a tenant handle",
		          def->name);
		db->last = DBE_OTHER;
		return 0;
	}
	return 1;
}

int
db_exec(struct db *db, struct arena *a, const struct stmt_def *def,
        const void *in, struct rows *out)
{
	struct call cl = {.in = in};

	if (!global_ok(db, def))
		return -1;
	return run(db, a, def, 0, &cl, out);
}

int
db_list(struct db *db, struct arena *a, const struct stmt_def *def, size_t sort,
        int64_t limit, int64_t offset, const void *in, struct rows *out)
{
	struct call cl = {.in = in, .limit = limit, .offset = offset};

	if (!global_ok(db, def))
		return -1;
	return run(db, a, def, sort, &cl, out);
}

int
db_one(struct db *db, struct arena *a, const struct stmt_def *def,
       const void *in, void *row)
{
	struct call cl = {.in = in};

	if (!global_ok(db, def))
		return -1;
	return run_one(db, a, def, &cl, row);
}

static int
simple(struct db *db, const char *sql)
{
	/*
	 * Only START TRANSACTION may be sent again on a fresh connection
	 * (nothing happened yet): after a server restart a worker's idle
	 * connection is dead, and the first request must not pay a 503 for
	 * it.  A COMMIT or ROLLBACK whose connection died lost its
	 * transaction with it, so those are never retried.
	 */
	int retry = strcmp(sql, "START TRANSACTION") == 0;

again:
	db->last = DBE_NONE;
	if (db_connect(db) < 0)
		return -1;
	if (mysql_real_query(db->conn, sql, strlen(sql))) {
		db->last = classify(mysql_errno(db->conn));
		if (db->last == DBE_CONN && retry--) {
			db_disconnect(db);
			db->last_attempt_us = 0;
			goto again;
		}
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
	enum db_error cause;
	int rc;

	if (!db->conn || !db->in_tx) {
		db->in_tx = 0;
		return 0;
	}
	/*
	 * A rollback follows a failure: the failure's cause stays the last
	 * error (a caller retries a deadlock victim after rolling it back),
	 * unless the rollback itself fails.
	 */
	cause = db->last;
	rc = simple(db, "ROLLBACK");
	if (rc == 0)
		db->last = cause;
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
	if (db->in_tx)
		db_rollback(db);
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

static int
tenant_ok(struct tdb *t, const struct stmt_def *def)
{
	if (def->scope == SCOPE_TENANT)
		return 1;
	log_error("db query refused: global statement '%s' run through a "
	          "tenant handle",
	          def->name);
	t->db->last = DBE_OTHER;
	return 0;
}

int
tdb_exec(struct tdb *t, const struct stmt_def *def, const void *in,
         struct rows *out)
{
	struct call cl = {.in = in, .tenant = t->tenant_id};

	if (!tenant_ok(t, def))
		return -1;
	return run(t->db, t->a, def, 0, &cl, out);
}

int
tdb_list(struct tdb *t, const struct stmt_def *def, size_t sort, int64_t limit,
         int64_t offset, const void *in, struct rows *out)
{
	struct call cl = {
	    .in = in, .tenant = t->tenant_id, .limit = limit, .offset = offset};

	if (!tenant_ok(t, def))
		return -1;
	return run(t->db, t->a, def, sort, &cl, out);
}

int
tdb_one(struct tdb *t, const struct stmt_def *def, const void *in, void *row)
{
	struct call cl = {.in = in, .tenant = t->tenant_id};

	if (!tenant_ok(t, def))
		return -1;
	return run_one(t->db, t->a, def, &cl, row);
}

int
tdb_each(struct tdb *t, const struct stmt_def *def, const void *in,
         int (*fn)(void *ctx, const void *row), void *ctx)
{
	struct call cl = {.in = in, .tenant = t->tenant_id};
	struct db *db = t->db;
	const struct compiled *cp;
	const struct slot *s;
	struct arena scratch;
	MYSQL_BIND *bind = NULL;
	MYSQL_FIELD *fields;
	my_bool *nulls = NULL, *errs = NULL;
	unsigned long *lens = NULL;
	char **bufs = NULL;
	size_t ncols = 0;
	MYSQL_STMT *st;
	void *row;
	int rc, out = -1;

	if (!tenant_ok(t, def) || !def->out)
		return -1;
	if (execute(db, def, 0, &cl, &cp, &st) < 0)
		return -1;
	s = &db->slots[cp->slot];
	ncols = mysql_num_fields(s->meta);
	fields = mysql_fetch_fields(s->meta);
	bind = xcalloc(ncols + 1, sizeof(*bind));
	nulls = xcalloc(ncols + 1, sizeof(*nulls));
	errs = xcalloc(ncols + 1, sizeof(*errs));
	lens = xcalloc(ncols + 1, sizeof(*lens));
	bufs = xcalloc(ncols + 1, sizeof(*bufs));
	arena_init(&scratch, 0);
	for (size_t c = 0; c < ncols; c++) {
		unsigned long size = fields[c].length;

		/* Unbuffered: widths are the declared ones, capped. */
		if (size < 64)
			size = 64;
		if (size > DB_STREAM_CELL)
			size = DB_STREAM_CELL;
		bufs[c] = xmalloc(size + 1);
		bind[c].buffer_type = MYSQL_TYPE_STRING;
		bind[c].buffer = bufs[c];
		bind[c].buffer_length = size + 1;
		bind[c].is_null = &nulls[c];
		bind[c].error = &errs[c];
		bind[c].length = &lens[c];
	}
	if (ncols && mysql_stmt_bind_result(st, bind)) {
		db->last = classify(mysql_stmt_errno(st));
		goto out_free;
	}
	while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		arena_reset(&scratch);
		row = arena_zalloc(&scratch, def->out->size);
		if (!row)
			goto out_free;
		for (size_t c = 0; c < ncols; c++) {
			const char *v = bufs[c];

			if (errs[c]) {
				/* Longer than the buffer: fetch it whole. */
				MYSQL_BIND one = bind[c];
				char *big = arena_alloc(&scratch, lens[c] + 1);

				if (!big)
					goto out_free;
				one.buffer = big;
				one.buffer_length = lens[c] + 1;
				if (mysql_stmt_fetch_column(st, &one,
				                            (unsigned)c, 0))
					goto out_free;
				v = big;
			}
			if (decode(&scratch, &def->out->cols[s->map[c]], row, v,
			           lens[c], nulls[c]) < 0)
				goto out_free;
		}
		if (fn(ctx, row) < 0)
			goto out_free;
	}
	if (rc == 1) {
		db->last = classify(mysql_stmt_errno(st));
		goto out_free;
	}
	out = 0;
out_free:
	if (out < 0 && db->last == DBE_NONE)
		db->last = DBE_OTHER;
	mysql_stmt_free_result(st);
	if (db->last == DBE_CONN)
		db_disconnect(db);
	arena_release(&scratch);
	for (size_t c = 0; c < ncols; c++)
		free(bufs[c]);
	free(bufs);
	free(bind);
	free(nulls);
	free(errs);
	free(lens);
	return out;
}

int64_t
tdb_tenant(const struct tdb *t)
{
	return t->tenant_id;
}

struct arena *
tdb_arena(const struct tdb *t)
{
	return t->a;
}

struct db *
tdb_db(const struct tdb *t)
{
	return t->db;
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
