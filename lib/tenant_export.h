/*
 * All of one tenant's data as one archive, for data portability and
 * GDPR-style access requests (rtrw-admin tenant export ID --out FILE).
 *
 * The archive is a POSIX tar file (ustar, readable by any tar) of:
 *
 *   manifest.json   {"format": "rtrw-tenant-export", "version": 1,
 *                    "tenant": {"id", "slug", "name"}, "exported_at",
 *                    "schema_version", "database",
 *                    "tables": [{"name", "file", "rows", "sha256",
 *                                "columns": [...], "omitted_columns":
 *                                [...]}],
 *                    "excluded_tables": [{"name", "reason"}],
 *                    "notes": [...]}
 *   tenants.jsonl   the tenant's own row
 *   <table>.jsonl   one JSON object per row, for every table that has a
 *                   tenant_id column, only rows of this tenant
 *
 * The tables are found in information_schema by their tenant_id column,
 * so tables that later migrations add are exported without a change
 * here.  All of them are read in one consistent snapshot (a read-only
 * REPEATABLE READ transaction).  Values: integers and decimals are JSON
 * numbers written exactly as stored, DATETIME values RFC 3339 UTC, dates
 * "YYYY-MM-DD", everything else (JSON columns included) strings, SQL
 * NULL null.  Rows come in primary-key order.
 *
 * Left out, and named in the manifest: binary columns (sealed PPPoE and
 * device passwords, token hashes: the tenant could not open them and
 * they are credentials), columns named *password*, *secret* or *token*,
 * generated columns (derived from the others), and refresh_tokens
 * (session credentials, nothing the tenant entered).
 *
 * The reading is lib/store/tenant_dump.h (a table named at run time is
 * more than a statement table can say); this file decides what is left
 * out and writes the archive.
 *
 * Layer: services.
 */
#ifndef RTRW_TENANT_EXPORT_H
#define RTRW_TENANT_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;

/*
 * Writes tenant tenant_id's archive to out_path, which must not exist
 * (it is written as out_path.part, mode 0600, then renamed).  A summary
 * line per table goes to msg.  Connects as db_user.  Returns 0, or -1
 * with a sentence in err (no such tenant, a file that exists, the
 * server).
 */
int tenant_export(const struct config *c, int64_t tenant_id,
                  const char *out_path, FILE *msg, char *err, size_t errlen);

#endif
