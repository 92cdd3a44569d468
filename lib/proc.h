/*
 * Child processes of the jobs (mariadb-dump, mariadb, mariadb-binlog,
 * mariadbd): started with posix_spawnp() on given descriptors, waited
 * for, and their standard error kept in memory so that a failure can say
 * what the tool said.
 *
 * Nothing secret goes on a command line: argv is visible to every local
 * user in /proc.  Passwords reach the MariaDB tools through an option
 * file of mode 0600 (--defaults-file), see backupjob.c.
 */
#ifndef RTRW_PROC_H
#define RTRW_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct proc {
	pid_t pid;
	int err_fd; /* memfd holding the child's stderr, or -1 */
	char name[64];
};

/*
 * Starts argv[0] (looked up in PATH) with its standard input, output and
 * error on in, out and err (-1: /dev/null; for err, -1 keeps the stderr
 * in memory for proc_stderr()).  env, NULL-terminated "NAME=value"
 * entries, is added to this process's environment (may be NULL).
 * Returns 0, or -1 with err.
 */
int proc_start(struct proc *p, const char *const *argv, const char *const *env,
               int in, int out, int errfd, char *err, size_t errlen);

/*
 * Waits for the child.  Returns its exit status (0..255), 128 + the
 * signal that killed it, or -1 when waiting failed.
 */
int proc_wait(struct proc *p);

/*
 * The last line(s) of what the child wrote on standard error, at most
 * n - 1 bytes, NUL-terminated, newlines turned into "; ".  "" if none.
 */
void proc_stderr(struct proc *p, char *out, size_t n);

/* Closes what proc_start() opened (after proc_wait()). */
void proc_release(struct proc *p);

/*
 * Runs argv to the end with stdout captured into out (at most n - 1
 * bytes kept, NUL-terminated) and stderr into err.  Returns the exit
 * status as proc_wait() does, or -1 when it could not start.
 */
int proc_run(const char *const *argv, const char *const *env, char *out,
             size_t n, char *err, size_t errlen);

#endif
