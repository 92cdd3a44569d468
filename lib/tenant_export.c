#include "tenant_export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "store/tenant_dump.h"
#include "util.h"

#define MAX_TABLES 256
#define MAX_COLS   128
#define MAX_KEY    16

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
	char key[MAX_KEY][65]; /* the primary key, for the row order */
	size_t nkey;
	FILE *data; /* the JSON lines, in a temporary file */
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
collect_table(void *ctx, const char *name)
{
	struct plan *p = ctx;

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
collect_column(void *ctx, const char *name, const char *type, const char *extra)
{
	struct table *t = ctx;
	struct column *c;

	if (t->ncols == MAX_COLS)
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
collect_key(void *ctx, const char *column)
{
	struct table *t = ctx;

	if (t->nkey < MAX_KEY)
		snprintf(t->key[t->nkey++], 65, "%s", column);
	return 0;
}

/* ---- rows as JSON ------------------------------------------------------ */

/* A number the server printed: digits, one '.', a sign, an exponent. */
static int
numeric_text(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && strspn(s, "0123456789.-+eE") == n &&
	       strcspn(s, "0123456789") < n;
}

static int
write_row(void *ctx, const struct tenant_dump_cell *cells, size_t n)
{
	struct table *t = ctx;
	cJSON *o = cJSON_CreateObject();
	size_t k = 0;
	char *line;
	int rc = 0;

	for (size_t i = 0; i < t->ncols && k < n; i++) {
		const struct column *c = &t->cols[i];
		const struct tenant_dump_cell *cell;
		const char *v;

		if (!c->keep)
			continue;
		cell = &cells[k++];
		v = cell->v;
		if (!v)
			cJSON_AddNullToObject(o, c->name);
		else if (cell->kind == TENANT_DUMP_NUMBER && numeric_text(v))
			cJSON_AddItemToObject(o, c->name, cJSON_CreateRaw(v));
		else if (cell->kind == TENANT_DUMP_TIME && strlen(v) >= 19) {
			char iso[40];

			/* Stored in UTC ("YYYY-MM-DD HH:MM:SS[.ffffff]"). */
			snprintf(iso, sizeof(iso), "%.10sT%sZ", v, v + 11);
			cJSON_AddStringToObject(o, c->name, iso);
		} else
			cJSON_AddStringToObject(o, c->name, v);
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
	char slug[64], name[256];
};

/* Reads one table's columns, key and rows into t->data. */
static int
export_table(struct tenant_dump *d, struct table *t, int64_t tenant_id,
             char *err, size_t errlen)
{
	const char *cols[MAX_COLS], *key[MAX_KEY];
	size_t kept = 0;
	int rc;

	if (store_tenant_dump_columns(d, t->name, collect_column, t, err,
	                              errlen) < 0 ||
	    store_tenant_dump_key(d, t->name, collect_key, t, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < t->ncols; i++)
		if (t->cols[i].keep)
			cols[kept++] = t->cols[i].name;
	for (size_t i = 0; i < t->nkey; i++)
		key[i] = t->key[i];
	t->data = tmpfile();
	t->md = EVP_MD_CTX_new();
	if (!t->data || !t->md ||
	    EVP_DigestInit_ex(t->md, EVP_sha256(), NULL) != 1) {
		snprintf(err, errlen, "cannot create a temporary file: %s",
		         strerror(errno));
		return -1;
	}
	rc = store_tenant_dump_rows(d, t->name, cols, kept, key, t->nkey,
	                            tenant_id, write_row, t, err, errlen);
	if (rc == 0 && fflush(t->data) != 0) {
		snprintf(err, errlen, "writing a temporary file failed");
		rc = -1;
	}
	return rc;
}

static cJSON *
manifest(const struct plan *p, int64_t tenant_id, const struct tenant_row *tr,
         int64_t schema, const char *database, time_t now)
{
	cJSON *o = cJSON_CreateObject(), *t, *tables, *ex, *notes;
	char when[32];

	utc_text(now, UTC_RFC3339, when);
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
	struct tenant_row tr = {"", ""};
	struct tenant_dump *d;
	char part[4200];
	int64_t schema = 0;
	time_t now = time(NULL);
	FILE *out = NULL;
	int rc = -1, fd, found;

	d = store_tenant_dump_open(c, err, errlen);
	if (!d)
		goto out_close;
	found = store_tenant_dump_tenant(d, tenant_id, tr.slug, sizeof(tr.slug),
	                                 tr.name, sizeof(tr.name), err, errlen);
	if (found < 0)
		goto out_close;
	if (found == 0) {
		snprintf(err, errlen, "no tenant %" PRId64, tenant_id);
		goto out_close;
	}
	schema = store_tenant_dump_schema_version(d);
	/* The tenant's own row first, then every table with tenant_id. */
	snprintf(p->t[0].name, sizeof(p->t[0].name), "tenants");
	p->n = 1;
	if (store_tenant_dump_tables(d, collect_table, p, err, errlen) < 0)
		goto out_close;
	for (size_t i = 0; i < p->n; i++) {
		if (export_table(d, &p->t[i], tenant_id, err, errlen) < 0)
			goto out_close;
		if (msg)
			fprintf(msg, "  %-24s %8" PRIu64 " rows\n",
			        p->t[i].name, p->t[i].rows);
	}
	/* Everything is read: end the snapshot before writing the file. */
	store_tenant_dump_close(d);
	d = NULL;

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
	store_tenant_dump_close(d);
	for (size_t i = 0; i < p->n; i++) {
		if (p->t[i].data)
			fclose(p->t[i].data);
		EVP_MD_CTX_free(p->t[i].md);
	}
	free(p);
	return rc;
}
