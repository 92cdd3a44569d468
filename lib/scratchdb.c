#include "scratchdb.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
scratchdb_remove_tree(const char *dir)
{
	if (!dir[0])
		return 0;
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* mariadb-admin ping answers 0 once the server accepts connections. */
static int
ping(const struct scratchdb *s)
{
	char sock[SCRATCHDB_PATH_MAX + 16], out[64], err[256];
	const char *argv[] = {
	    "mariadb-admin",       "--no-defaults", sock, "-uroot",
	    "--connect-timeout=2", "ping",          NULL};

	snprintf(sock, sizeof(sock), "--socket=%s", s->socket);
	return proc_run(argv, NULL, out, sizeof(out), err, sizeof(err));
}

static int
alive(pid_t pid)
{
	int st;

	return waitpid(pid, &st, WNOHANG) == 0;
}

int
scratchdb_start(struct scratchdb *s, const char *parent, int buffer_pool_mb,
                char *err, size_t errlen)
{
	char datadir[4200], datadir_opt[4300], sock_opt[200], pid_opt[4300],
	    log_opt[4300], pool_opt[64], user_opt[32] = "--user=root", out[256],
	                                 why[512];
	int root = geteuid() == 0, rc;
	struct proc p;

	memset(s, 0, sizeof(*s));
	s->pid = -1;
	if (snprintf(s->dir, sizeof(s->dir), "%s/rtrw-scratch-XXXXXX",
	             parent) >= (int)sizeof(s->dir) ||
	    !mkdtemp(s->dir)) {
		snprintf(err, errlen,
		         "cannot create a scratch directory in "
		         "'%s': %s",
		         parent, strerror(errno));
		s->dir[0] = '\0';
		return -1;
	}
	if (snprintf(s->socket, sizeof(s->socket), "%s/s.sock", s->dir) >=
	    (int)sizeof(s->socket)) {
		snprintf(err, errlen,
		         "the scratch directory '%s' is too long for a socket "
		         "path; set backup_scratch_dir to a shorter one",
		         s->dir);
		goto out_remove;
	}
	snprintf(datadir, sizeof(datadir), "%s/data", s->dir);
	snprintf(datadir_opt, sizeof(datadir_opt), "--datadir=%s", datadir);
	snprintf(sock_opt, sizeof(sock_opt), "--socket=%s", s->socket);
	snprintf(pid_opt, sizeof(pid_opt), "--pid-file=%s/mariadbd.pid",
	         s->dir);
	snprintf(log_opt, sizeof(log_opt), "--log-error=%s/mariadbd.log",
	         s->dir);
	snprintf(pool_opt, sizeof(pool_opt), "--innodb-buffer-pool-size=%dM",
	         buffer_pool_mb);
	{
		/* mariadbd refuses to run as root unless told to. */
		const char *argv[] = {
		    "mariadb-install-db",
		    "--no-defaults",
		    datadir_opt,
		    "--auth-root-authentication-method=socket",
		    "--skip-test-db",
		    "--skip-name-resolve",
		    root ? user_opt : NULL,
		    NULL};

		rc = proc_run(argv, NULL, out, sizeof(out), why, sizeof(why));
		if (rc != 0) {
			snprintf(err, errlen,
			         "mariadb-install-db failed (exit %d): %s", rc,
			         why);
			goto out_remove;
		}
	}
	{
		const char *argv[] = {"mariadbd",
		                      "--no-defaults",
		                      datadir_opt,
		                      sock_opt,
		                      pid_opt,
		                      log_opt,
		                      pool_opt,
		                      "--skip-networking",
		                      "--skip-grant-tables",
		                      "--innodb-flush-log-at-trx-commit=0",
		                      "--innodb-doublewrite=0",
		                      "--innodb-log-file-size=256M",
		                      "--character-set-server=utf8mb4",
		                      "--collation-server=utf8mb4_unicode_ci",
		                      "--max-allowed-packet=1G",
		                      root ? user_opt : NULL,
		                      NULL};

		if (proc_start(&p, argv, NULL, -1, -1, -1, err, errlen) < 0)
			goto out_remove;
		proc_release(&p);
		s->pid = p.pid;
	}
	for (int i = 0; i < 1200; i++) {
		if (!alive(s->pid)) {
			char log[4200], tail[600] = "";
			FILE *f;

			s->pid = -1;
			snprintf(log, sizeof(log), "%s/mariadbd.log", s->dir);
			f = fopen(log, "r");
			if (f) {
				/* The last line says why. */
				char line[600];

				while (fgets(line, sizeof(line), f))
					if (line[0] != '\n')
						snprintf(tail, sizeof(tail),
						         "%s", line);
				fclose(f);
				tail[strcspn(tail, "\n")] = '\0';
			}
			snprintf(err, errlen,
			         "the scratch mariadbd exited at start: %s",
			         tail[0] ? tail : "no message");
			goto out_remove;
		}
		if (ping(s) == 0)
			return 0;
		sleep_ms(100);
	}
	snprintf(err, errlen, "the scratch mariadbd did not answer in 120 s");
	scratchdb_stop(s);
	return -1;
out_remove:
	scratchdb_remove_tree(s->dir);
	s->dir[0] = '\0';
	return -1;
}

void
scratchdb_stop(struct scratchdb *s)
{
	if (s->pid > 0) {
		int st;

		kill(s->pid, SIGTERM);
		for (int i = 0; i < 600; i++) {
			if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
				s->pid = -1;
				break;
			}
			sleep_ms(100);
		}
		if (s->pid > 0) {
			log_warn("scratch mariadbd %d did not stop; killing",
			         (int)s->pid);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
			s->pid = -1;
		}
	}
	if (s->dir[0] && scratchdb_remove_tree(s->dir) < 0)
		log_warn("cannot remove the scratch directory '%s'", s->dir);
	s->dir[0] = '\0';
}
