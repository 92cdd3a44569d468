#include "audit.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arena.h"
#include "buf.h"
#include "db.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "store/store.h"
#include "util.h"

/* clang-format off */
const struct stmt_def store_audit_write_stmts[] = {
	STMT("audit_chain_lock", SCOPE_TENANT, "t",
	     "SELECT last_hash FROM audit_chain WHERE tenant_id = ? FOR UPDATE"),
	STMT("audit_chain_create", SCOPE_TENANT, "t",
	     "INSERT IGNORE INTO audit_chain (tenant_id) VALUES (?)"),
	STMT("audit_insert", SCOPE_TENANT, "tississsssss",
	     "INSERT INTO audit_logs (tenant_id, user_id, action, entity_type,"
	     " entity_id, old_values, new_values, ip_address, user_agent,"
	     " created_at, prev_hash, hash)"
	     " VALUES (?, NULLIF(?, 0), ?, ?, NULLIF(?, 0), ?, ?, ?, ?, ?, ?, ?)"),
	STMT("audit_chain_advance", SCOPE_TENANT, "ist",
	     "UPDATE audit_chain SET last_id = ?, last_hash = ?"
	     " WHERE tenant_id = ?"),
	STMT("audit_chain_head", SCOPE_TENANT, "t",
	     "SELECT last_hash FROM audit_chain WHERE tenant_id = ?"),
	STMT_END
};
/* clang-format on */

enum { S_LOCK, S_CREATE, S_INSERT, S_ADVANCE, S_HEAD };

static int
is_secret_key(const char *k)
{
	static const char *const words[] = {
	    "password", "secret",      "token", "snmp_community",
	    "api_key",  "private_key", NULL,
	};

	for (const char *const *w = words; *w; w++)
		if (strcasestr(k, *w))
			return 1;
	return 0;
}

cJSON *
audit_mask(const cJSON *v)
{
	cJSON *copy = cJSON_Duplicate(v, 1);

	if (!copy)
		return NULL;
	for (cJSON *stack[32], *node = copy, **sp = stack;;) {
		for (cJSON *c = node->child; c; c = c->next) {
			if (c->string && is_secret_key(c->string)) {
				cJSON *masked = cJSON_CreateString("***");
				size_t klen = strlen(c->string) + 1;

				/*
				 * The replacement takes over the key, in
				 * memory of cJSON's own allocator.
				 */
				if (masked) {
					masked->string = cJSON_malloc(klen);
					if (!masked->string)
						abort();
					memcpy(masked->string, c->string, klen);
					cJSON_ReplaceItemViaPointer(node, c,
					                            masked);
				}
				c = masked;
				if (!c)
					break;
				continue;
			}
			if (c->child && sp < stack + 32)
				*sp++ = c;
		}
		if (sp == stack)
			break;
		node = *--sp;
	}
	return copy;
}

static void
field(EVP_MD_CTX *md, const char *name, const char *v)
{
	/*
	 * name=length:value, so that neither an empty value nor one
	 * holding a separator can be confused with another entry.
	 */
	char head[64];

	if (!v) {
		snprintf(head, sizeof(head), "%s=null\n", name);
		EVP_DigestUpdate(md, head, strlen(head));
		return;
	}
	snprintf(head, sizeof(head), "%s=%zu:", name, strlen(v));
	EVP_DigestUpdate(md, head, strlen(head));
	EVP_DigestUpdate(md, v, strlen(v));
	EVP_DigestUpdate(md, "\n", 1);
}

void
audit_hash(const char *prev_hash, int64_t tenant_id, const char *user_id,
           const char *action, const char *entity_type, const char *entity_id,
           const char *old_values, const char *new_values, const char *ip,
           const char *user_agent, const char *created_at, char out[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[32];
	unsigned int n = 0;
	char tid[24];

	if (!md)
		abort();
	snprintf(tid, sizeof(tid), "%" PRId64, tenant_id);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	field(md, "prev", prev_hash);
	field(md, "tenant", tid);
	field(md, "user", user_id);
	field(md, "action", action);
	field(md, "entity_type", entity_type);
	field(md, "entity_id", entity_id);
	field(md, "old", old_values);
	field(md, "new", new_values);
	field(md, "ip", ip);
	field(md, "ua", user_agent);
	field(md, "at", created_at);
	EVP_DigestFinal_ex(md, digest, &n);
	EVP_MD_CTX_free(md);
	hex_encode(digest, sizeof(digest), out);
}

/* Serialises a masked copy of v, or NULL for no value. */
static char *
masked_text(const cJSON *v)
{
	cJSON *m;
	char *s;

	if (!v)
		return NULL;
	m = audit_mask(v);
	if (!m)
		return NULL;
	s = cJSON_PrintUnformatted(m);
	cJSON_Delete(m);
	return s;
}

int
audit_write(struct tdb *t, const struct audit_entry *e)
{
	const struct stmt_def *S = store_audit_write_stmts;
	char *old_text = masked_text(e->old_values);
	char *new_text = masked_text(e->new_values);
	char at[40], uid[24], eid[24], hash[65], ua[256];
	const char *prev = NULL;
	struct dbres res;
	struct timespec ts;
	struct tm tm;
	int rc = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(at + strlen(at), sizeof(at) - strlen(at), ".%06ld",
	         ts.tv_nsec / 1000);
	snprintf(uid, sizeof(uid), "%" PRId64, e->user_id);
	snprintf(eid, sizeof(eid), "%" PRId64, e->entity_id);
	/* user_agent is capped to the column; the hash covers what is kept. */
	snprintf(ua, sizeof(ua), "%s", e->user_agent ? e->user_agent : "");
	if (!utf8_valid(ua, strlen(ua)))
		ua[0] = '\0';

	if (tdb_query(t, &S[S_LOCK], DB_NOARGS, &res) < 0)
		goto out_free;
	if (res.nrows == 0) {
		/* Tenants made before the chain table existed. */
		if (tdb_query(t, &S[S_CREATE], DB_NOARGS, NULL) < 0 ||
		    tdb_query(t, &S[S_LOCK], DB_NOARGS, &res) < 0)
			goto out_free;
	}
	if (res.nrows == 1)
		prev = dbres_get(&res, 0, 0);
	audit_hash(prev, tdb_tenant(t), e->user_id ? uid : NULL, e->action,
	           e->entity_type, e->entity_id ? eid : NULL, old_text,
	           new_text, e->ip, e->user_agent ? ua : NULL, at, hash);
	if (tdb_query(t, &S[S_INSERT],
	              DB_ARGS(DBI(e->user_id), DBS(e->action),
	                      DBS(e->entity_type), DBI(e->entity_id),
	                      DBS(old_text), DBS(new_text), DBS(e->ip),
	                      DBS(e->user_agent ? ua : NULL), DBS(at),
	                      DBS(prev), DBS(hash)),
	              &res) < 0)
		goto out_free;
	if (tdb_query(t, &S[S_ADVANCE],
	              DB_ARGS(DBI((int64_t)res.insert_id), DBS(hash)),
	              NULL) < 0)
		goto out_free;
	rc = 0;
out_free:
	free(old_text);
	free(new_text);
	return rc;
}

int
audit_req(struct req *r, const char *action, const char *entity_type,
          int64_t entity_id, const cJSON *old_values, const cJSON *new_values)
{
	struct audit_entry e = {
	    .user_id = r->who.platform ? 0 : r->who.user_id,
	    .action = action,
	    .entity_type = entity_type,
	    .entity_id = entity_id,
	    .old_values = old_values,
	    .new_values = new_values,
	    .ip = r->remote_addr,
	    .user_agent = r->user_agent,
	};

	return audit_write(r->tdb, &e);
}

int
audit_verify(struct tdb *t, struct arena *a, int64_t *checked, int64_t *bad_id,
             const char **why)
{
	const struct stmt_def *page = &store_audit_stmts[AUDIT_CHAIN_PAGE];
	char prev[65] = "", computed[65];
	int64_t after = 0;
	int first = 1;
	struct dbres res;

	*checked = 0;
	*bad_id = 0;
	*why = NULL;
	for (;;) {
		if (tdb_query(t, page, DB_ARGS(DBI(after)), &res) < 0)
			return -1;
		if (res.nrows == 0)
			break;
		/*
		 * Columns: id, user_id, action, entity_type, entity_id,
		 * old_values, new_values, ip_address, user_agent, at,
		 * prev_hash, hash.
		 */
		for (size_t i = 0; i < res.nrows; i++) {
			const char *stored_prev = dbres_get(&res, i, 10);
			const char *hash = dbres_get(&res, i, 11);

			after = dbres_int(&res, i, 0);
			/*
			 * The oldest row may point at an archived one; from
			 * there on each row must point at its predecessor.
			 */
			if (!first &&
			    (!stored_prev || strcmp(stored_prev, prev) != 0)) {
				*bad_id = after;
				*why = "prev_hash does not match the previous "
				       "entry (an entry was removed)";
				return 1;
			}
			audit_hash(stored_prev, tdb_tenant(t),
			           dbres_get(&res, i, 1), dbres_get(&res, i, 2),
			           dbres_get(&res, i, 3), dbres_get(&res, i, 4),
			           dbres_get(&res, i, 5), dbres_get(&res, i, 6),
			           dbres_get(&res, i, 7), dbres_get(&res, i, 8),
			           dbres_get(&res, i, 9), computed);
			if (!hash || strcmp(hash, computed) != 0) {
				*bad_id = after;
				*why =
				    "hash does not match the entry's content "
				    "(the entry was altered)";
				return 1;
			}
			snprintf(prev, sizeof(prev), "%s", hash);
			first = 0;
			(*checked)++;
		}
		arena_reset(a);
	}
	if (tdb_query(t, &store_audit_write_stmts[S_HEAD], DB_NOARGS, &res) < 0)
		return -1;
	if (*checked > 0 && (res.nrows != 1 || !dbres_get(&res, 0, 0) ||
	                     strcmp(dbres_get(&res, 0, 0), prev) != 0)) {
		*why = "the chain head does not match the newest entry (the "
		       "newest entries were removed)";
		return 1;
	}
	return 0;
}
