/*
 * Connections and handles as their users see them: the process's
 * connection (struct db), the tenant-scoped handle bound to one tenant
 * (struct tdb), transactions, and the kind of the last error.  What runs
 * through them is the business of lib/store/ (lib/db.h): handlers, jobs
 * and services call store_*() functions, so this header and the store
 * headers are all of the data layer they include.
 *
 * A transaction that a handler opened and did not commit is rolled back
 * by the dispatcher after the handler returns, so a handler that fails
 * midway simply returns -1 (or a req_fail()): there is no rollback to
 * write on any error path.
 */
#ifndef RTRW_TDB_H
#define RTRW_TDB_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct config;
struct db;
struct tdb;

enum db_error {
	DBE_NONE = 0,
	DBE_CONN,      /* the server is unreachable: answer 503 */
	DBE_DUPLICATE, /* unique key violated: usually 409 */
	DBE_FK,        /* foreign key violated */
	DBE_LOCK,      /* deadlock or lock wait timeout */
	DBE_OTHER,
};

/*
 * Transactions on the handle's connection: 0 or -1.  tdb_rollback() of
 * no transaction is a no-op; a rollback that succeeds keeps the last
 * error (the failure that led to it), so a caller rolls back first and
 * then asks tdb_last_error() whether it lost a lock and may run again.
 */
int tdb_begin(struct tdb *t);
int tdb_commit(struct tdb *t);
int tdb_rollback(struct tdb *t);

/* The kind of the last failure on the handle's connection. */
enum db_error tdb_last_error(const struct tdb *t);

/*
 * The tenant the handle is bound to, for values that must name it (the
 * audit hash, cache keys, event nudges).  Statements never need it: the
 * :tenant parameter binds it.
 */
int64_t tdb_tenant(const struct tdb *t);

/*
 * Creates a connection object from the configuration and tries to
 * connect.  A server that is down is not an error here: queries answer
 * DBE_CONN until it is back, and reconnecting happens on its own.  The
 * password is read from the account's password file.  NULL only when
 * that file cannot be read (err says why).
 */
struct db *db_open(const struct config *c, int account, char *err,
                   size_t errlen);

/* The account argument of db_open(). */
#define DB_ACCOUNT_APP   0 /* db_user: the API and the jobs */
#define DB_ACCOUNT_ADMIN 1 /* db_admin_user: the schema owner, tools */
#define DB_ACCOUNT_MAINT 2 /* db_maint_user: the audit archive job */
void db_close(struct db *db);

/* Transactions on the connection (global work; tenants use tdb_*()). */
int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);
int db_in_transaction(const struct db *db);

/* The kind of the last failure on this connection. */
enum db_error db_last_error(const struct db *db);

/*
 * Opens the tenant-scoped handle for tenant_id, allocated in a.  The
 * handle cannot be re-pointed at another tenant.
 */
struct tdb *tdb_open(struct db *db, struct arena *a, int64_t tenant_id);

/* Called after every request: rolls back a transaction left open. */
void db_request_done(struct db *db);

/*
 * Called after every COMMIT (committed 1 when it succeeded) and every
 * ROLLBACK of a transaction (committed 0) of any connection of the
 * process, with the connection's configuration.  One hook per process
 * (lib/events.c sets it to nudge the event daemon once a transaction's
 * events are visible); NULL removes it.
 */
typedef void (*db_commit_hook)(const struct config *c, int committed);
void db_set_commit_hook(db_commit_hook fn);

/*
 * Prepares every registered statement on the server and checks each
 * result's columns against its reader (lib/db.h), so that a typo in SQL
 * or a reader that does not match its statement stops start-up instead
 * of a request.  1 when all prepared, 0 when the server is unreachable
 * (not checked), -1 with err on a bad statement.
 */
int db_prepare_all(struct db *db, char *err, size_t errlen);

#endif
