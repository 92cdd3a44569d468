/*
 * The audit log: one entry per create, update, delete and login, written
 * in the same transaction as the change it records.
 *
 * Entries of a tenant form a hash chain: each row stores the SHA-256 of
 * the previous row's hash and its own content, so that removing or
 * altering a row breaks the chain where it happened (rtrw-admin audit
 * verify).  The chain head per tenant lives in audit_chain and is locked
 * while an entry is written, so concurrent writers cannot fork the chain.
 *
 * Values are masked before they are stored: any key that names a secret
 * (password, password_hash, secret, token, snmp_community, ...) becomes
 * "***", at any depth.
 */
#ifndef RTRW_AUDIT_H
#define RTRW_AUDIT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct tdb;

struct audit_entry {
	int64_t user_id;         /* 0 when no user (unknown login, a job) */
	const char *action;      /* create, update, delete, login, ... */
	const char *entity_type; /* "user", "customer", ... */
	int64_t entity_id;       /* 0 when none */
	const cJSON *old_values; /* may be NULL */
	const cJSON *new_values; /* may be NULL */
	const char *ip;          /* from nginx, never a client header */
	const char *user_agent;
};

/*
 * Writes e for the handle's tenant.  Must run inside a transaction (the
 * caller's); returns 0 or -1.
 */
int audit_write(struct tdb *t, const struct audit_entry *e);

/*
 * Takes the tenant's chain lock now, as audit_write() would at its first
 * entry; it is held until the transaction ends.  A transaction that picks
 * rows (FOR UPDATE, SKIP LOCKED) and then writes entries calls it first:
 * otherwise two of them each hold their picked rows and gap locks and
 * wait for the chain the other holds, and InnoDB kills one (rtrw-billing
 * overdue run twice at once did).  Returns 0 or -1.
 */
int audit_hold(struct tdb *t);

/*
 * The chain hash of one entry: SHA-256, as 64 hex digits, over the
 * previous hash and the entry's fields as stored.  NULL columns are
 * passed as NULL.  Used by the writer and by the verifier alike.
 */
void audit_hash(const char *prev_hash, int64_t tenant_id, const char *user_id,
                const char *action, const char *entity_type,
                const char *entity_id, const char *old_values,
                const char *new_values, const char *ip, const char *user_agent,
                const char *created_at, char out[65]);

/*
 * Walks the handle's tenant's chain and recomputes every hash.  Returns
 * 0 when intact, 1 when broken (bad_id and why say where), -1 on error.
 * The arena is reset between pages.
 */
struct arena;
int audit_verify(struct tdb *t, struct arena *a, int64_t *checked,
                 int64_t *bad_id, const char **why);

/* Returns a copy of v with secret-named keys masked; caller deletes. */
cJSON *audit_mask(const cJSON *v);

#endif
