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
#include "json.h"
#include "log.h"
#include "store/audit.h"
#include "util.h"

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
	char *old_text = masked_text(e->old_values);
	char *new_text = masked_text(e->new_values);
	char at[40], uid[24], eid[24], hash[65], ua[256];
	struct audit_new row;
	struct timespec ts;
	int64_t id;
	int rc = -1;

	if ((e->old_values && !old_text) || (e->new_values && !new_text))
		goto out_free;
	clock_gettime(CLOCK_REALTIME, &ts);
	utc_text(ts.tv_sec, UTC_SQL, at);
	snprintf(at + strlen(at), sizeof(at) - strlen(at), ".%06ld",
	         ts.tv_nsec / 1000);
	snprintf(uid, sizeof(uid), "%" PRId64, e->user_id);
	snprintf(eid, sizeof(eid), "%" PRId64, e->entity_id);
	/* user_agent is capped to the column; the hash covers what is kept. */
	snprintf(ua, sizeof(ua), "%s", e->user_agent ? e->user_agent : "");
	if (!utf8_valid(ua, strlen(ua)))
		ua[0] = '\0';

	memset(&row, 0, sizeof(row));
	if (store_audit_chain_lock(t, &row.prev_hash) < 0)
		goto out_free;
	audit_hash(row.prev_hash, tdb_tenant(t), e->user_id ? uid : NULL,
	           e->action, e->entity_type, e->entity_id ? eid : NULL,
	           old_text, new_text, e->ip, e->user_agent ? ua : NULL, at,
	           hash);
	row.user_id = e->user_id;
	row.entity_id = e->entity_id;
	row.action = e->action;
	row.entity_type = e->entity_type;
	row.old_values = old_text;
	row.new_values = new_text;
	row.ip_address = e->ip;
	row.user_agent = e->user_agent ? ua : NULL;
	row.at = at;
	row.hash = hash;
	if (store_audit_insert(t, &row, &id) < 0 ||
	    store_audit_chain_advance(t, id, hash) < 0)
		goto out_free;
	rc = 0;
out_free:
	free(old_text);
	free(new_text);
	return rc;
}

int
audit_hold(struct tdb *t)
{
	const char *prev;

	return store_audit_chain_lock(t, &prev);
}

int
audit_verify(struct tdb *t, struct arena *a, int64_t *checked, int64_t *bad_id,
             const char **why)
{
	char prev[65] = "", computed[65];
	const char *head;
	int64_t after = 0;
	int first = 1;
	struct rows res;

	*checked = 0;
	*bad_id = 0;
	*why = NULL;
	for (;;) {
		if (store_audit_chain_page(t, after, &res) < 0)
			return -1;
		if (res.n == 0)
			break;
		for (size_t i = 0; i < res.n; i++) {
			const struct audit_stored *s = rows_at(&res, i);

			after = s->id;
			/*
			 * The oldest row may point at an archived one; from
			 * there on each row must point at its predecessor.
			 */
			if (!first && (!s->prev_hash ||
			               strcmp(s->prev_hash, prev) != 0)) {
				*bad_id = after;
				*why = "prev_hash does not match the previous "
				       "entry (an entry was removed)";
				return 1;
			}
			audit_hash(s->prev_hash, tdb_tenant(t), s->user_id,
			           s->action, s->entity_type, s->entity_id,
			           s->old_values, s->new_values, s->ip_address,
			           s->user_agent, s->at, computed);
			if (!s->hash || strcmp(s->hash, computed) != 0) {
				*bad_id = after;
				*why =
				    "hash does not match the entry's content "
				    "(the entry was altered)";
				return 1;
			}
			snprintf(prev, sizeof(prev), "%s", s->hash);
			first = 0;
			(*checked)++;
		}
		arena_reset(a);
	}
	if (store_audit_chain_head(t, &head) < 0)
		return -1;
	if (*checked > 0 && (!head || strcmp(head, prev) != 0)) {
		*why = "the chain head does not match the newest entry (the "
		       "newest entries were removed)";
		return 1;
	}
	return 0;
}
