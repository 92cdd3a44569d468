#include "identity.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "arena.h"
#include "audit.h"
#include "config.h"
#include "log.h"
#include "principal.h"
#include "seed.h"
#include "store/tenant.h"
#include "store/token.h"
#include "store/user.h"
#include "util.h"

void
identity_fold_email(char *email)
{
	for (char *p = email; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

int
identity_timezone_ok(const char *tz)
{
	char path[256];
	struct stat st;
	size_t n = strlen(tz);

	if (n == 0 || n > 64 || tz[0] == '/' || strstr(tz, ".."))
		return 0;
	for (const char *p = tz; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("/_+-", *p)))
			return 0;
	if (strcmp(tz, "UTC") == 0)
		return 1;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

enum identity_result
identity_user_insert(struct tdb *t, const struct config *c, const char *name,
                     const char *email, const char *password, const char *role,
                     int64_t *user_id)
{
	char hash[AUTH_HASH_MAX], folded[256];
	int rc;

	snprintf(folded, sizeof(folded), "%s", email);
	identity_fold_email(folded);
	if (auth_password_hash(c, password, hash, sizeof(hash)) < 0)
		return IDENTITY_FAILED;
	rc = store_user_insert(t, name, folded, hash, role, user_id);
	explicit_bzero(hash, sizeof(hash));
	if (rc < 0)
		return tdb_last_error(t) == DBE_DUPLICATE ? IDENTITY_TAKEN
		                                          : IDENTITY_FAILED;
	return IDENTITY_OK;
}

enum identity_result
identity_tenant_create(struct db *db, struct arena *a, const struct config *c,
                       const struct new_tenant *nt, int64_t *tenant_id,
                       int64_t *user_id)
{
	enum identity_result res = IDENTITY_FAILED;
	const char *tz = nt->timezone ? nt->timezone : "Asia/Jakarta";
	struct tdb *t;
	cJSON *tv = NULL, *uv = NULL;
	struct audit_entry e;

	if (db_begin(db) < 0)
		return IDENTITY_FAILED;
	if (store_tenant_insert(db, a, nt->slug, nt->name, tz, tenant_id) < 0) {
		if (db_last_error(db) == DBE_DUPLICATE)
			res = IDENTITY_TAKEN;
		goto out_rollback;
	}
	t = tdb_open(db, a, *tenant_id);
	if (!t || store_tenant_chain_init(t) < 0)
		goto out_rollback;
	res = identity_user_insert(t, c, nt->admin_name, nt->admin_email,
	                           nt->admin_password, "admin", user_id);
	if (res != IDENTITY_OK)
		goto out_rollback;
	res = IDENTITY_FAILED;
	if (seed_tenant(t) < 0)
		goto out_rollback;

	tv = cJSON_CreateObject();
	cJSON_AddStringToObject(tv, "slug", nt->slug);
	cJSON_AddStringToObject(tv, "name", nt->name);
	cJSON_AddStringToObject(tv, "timezone", tz);
	uv = cJSON_CreateObject();
	cJSON_AddStringToObject(uv, "name", nt->admin_name);
	{
		char folded[256];

		snprintf(folded, sizeof(folded), "%s", nt->admin_email);
		identity_fold_email(folded);
		cJSON_AddStringToObject(uv, "email", folded);
	}
	cJSON_AddStringToObject(uv, "role", "admin");
	memset(&e, 0, sizeof(e));
	e.user_id = *user_id;
	e.action = "create";
	e.ip = nt->ip;
	e.user_agent = nt->user_agent;
	e.entity_type = "tenant";
	e.entity_id = *tenant_id;
	e.new_values = tv;
	if (audit_write(t, &e) < 0)
		goto out_rollback;
	e.entity_type = "user";
	e.entity_id = *user_id;
	e.new_values = uv;
	if (audit_write(t, &e) < 0)
		goto out_rollback;
	if (db_commit(db) < 0)
		goto out_free;
	res = IDENTITY_OK;
	goto out_free;

out_rollback:
	db_rollback(db);
out_free:
	cJSON_Delete(tv);
	cJSON_Delete(uv);
	return res;
}

int
identity_session_open(struct tdb *t, const struct config *c,
                      const struct principal *p, const char *family,
                      int64_t parent_id, const char *ip, const char *ua,
                      struct session *s, int64_t *refresh_id)
{
	unsigned char hash[32], raw[16];
	struct token_new n;
	char fam[33];

	if (auth_token_issue(c, p, time(NULL), s->access, sizeof(s->access)) <
	        0 ||
	    auth_refresh_new(s->refresh) < 0)
		return -1;
	if (family) {
		snprintf(fam, sizeof(fam), "%s", family);
	} else {
		if (random_bytes(raw, sizeof(raw)) < 0)
			return -1;
		hex_encode(raw, sizeof(raw), fam);
	}
	auth_refresh_hash(s->refresh, hash);
	n.user_id = p->user_id;
	n.family = fam;
	n.hash = hash;
	n.parent_id = parent_id;
	n.ttl_seconds = c->refresh_ttl_seconds;
	n.ip = ip;
	n.user_agent = ua;
	return store_token_insert(t, &n, refresh_id);
}
