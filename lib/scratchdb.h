/*
 * A throwaway MariaDB server under a private temporary directory, for
 * test-loading backups (rtrw-backup verify) and for restore tests: no
 * network (socket only, in a directory of mode 0700), no binary log, no
 * privilege tables (whoever reaches the socket is root, and only this
 * user can reach it), durability off.  Stopping it removes the directory.
 */
#ifndef RTRW_SCRATCHDB_H
#define RTRW_SCRATCHDB_H

#include <stddef.h>
#include <sys/types.h>

#define SCRATCHDB_PATH_MAX 108 /* sun_path */

struct scratchdb {
	char dir[4096];
	char socket[SCRATCHDB_PATH_MAX];
	pid_t pid;
};

/*
 * Creates PARENT/rtrw-scratch-XXXXXX (mode 0700), initialises a data
 * directory there (mariadb-install-db) and starts mariadbd with
 * buffer_pool_mb of buffer pool, waiting up to 120 s for it to answer.
 * Returns 0, or -1 with err (the directory is removed again).
 */
int scratchdb_start(struct scratchdb *s, const char *parent, int buffer_pool_mb,
                    char *err, size_t errlen);

/*
 * Stops the server (SIGTERM, then SIGKILL after 60 s) and removes its
 * directory.  Safe to call on a server that never started.
 */
void scratchdb_stop(struct scratchdb *s);

/*
 * Removes a directory tree (no symlinks followed).  0, or -1 when some
 * entry could not be removed.
 */
int scratchdb_remove_tree(const char *dir);

#endif
