#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

/* environ with the entries of add replacing those of the same name. */
static char **
merged_env(const char *const *add)
{
	size_t n = 0, k = 0, j = 0;
	char **out;

	while (environ[n])
		n++;
	while (add && add[k])
		k++;
	out = xcalloc(n + k + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(environ[i], "=");
		int replaced = 0;

		for (size_t a = 0; a < k; a++)
			if (strncmp(add[a], environ[i], len) == 0 &&
			    add[a][len] == '=')
				replaced = 1;
		if (!replaced)
			out[j++] = environ[i];
	}
	for (size_t a = 0; a < k; a++)
		out[j++] = (char *)add[a];
	out[j] = NULL;
	return out;
}

int
proc_start(struct proc *p, const char *const *argv, const char *const *env,
           int in, int out, int errfd, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t def;
	char **envp = merged_env(env);
	int null_fd, rc;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->err_fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", argv[0]);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0) {
		snprintf(err, errlen, "cannot open /dev/null: %s",
		         strerror(errno));
		free(envp);
		return -1;
	}
	if (errfd < 0) {
		p->err_fd = memfd_create("stderr", MFD_CLOEXEC);
		if (p->err_fd < 0) {
			snprintf(err, errlen, "memfd_create failed: %s",
			         strerror(errno));
			close(null_fd);
			free(envp);
			return -1;
		}
		errfd = p->err_fd;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in >= 0 ? in : null_fd, 0);
	posix_spawn_file_actions_adddup2(&fa, out >= 0 ? out : null_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	/*
	 * The jobs ignore SIGPIPE to see EPIPE from a child that died; the
	 * children get the default back (an ignored signal survives exec).
	 */
	posix_spawnattr_init(&attr);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, (char *const *)argv,
	                  envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(null_fd);
	free(envp);
	if (rc != 0) {
		snprintf(err, errlen, "cannot run '%s': %s", argv[0],
		         strerror(rc));
		p->pid = -1;
		proc_release(p);
		return -1;
	}
	return 0;
}

int
proc_wait(struct proc *p)
{
	int st;

	if (p->pid <= 0)
		return -1;
	while (waitpid(p->pid, &st, 0) < 0) {
		if (errno != EINTR) {
			p->pid = -1;
			return -1;
		}
	}
	p->pid = -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

void
proc_stderr(struct proc *p, char *out, size_t n)
{
	off_t size;
	size_t want, j = 0;
	ssize_t got;
	char *tmp;

	out[0] = '\0';
	if (p->err_fd < 0 || n < 2)
		return;
	size = lseek(p->err_fd, 0, SEEK_END);
	if (size <= 0)
		return;
	want = (size_t)size < n - 1 ? (size_t)size : n - 1;
	tmp = xmalloc(want + 1);
	got = pread(p->err_fd, tmp, want, size - (off_t)want);
	if (got <= 0) {
		free(tmp);
		return;
	}
	while (got > 0 && (tmp[got - 1] == '\n' || tmp[got - 1] == '\r'))
		got--;
	for (ssize_t i = 0; i < got && j + 3 < n; i++) {
		if (tmp[i] == '\n') {
			out[j++] = ';';
			out[j++] = ' ';
		} else if (tmp[i] != '\r') {
			out[j++] = tmp[i];
		}
	}
	out[j] = '\0';
	free(tmp);
}

void
proc_release(struct proc *p)
{
	if (p->err_fd >= 0)
		close(p->err_fd);
	p->err_fd = -1;
}

int
proc_run(const char *const *argv, const char *const *env, char *out, size_t n,
         char *err, size_t errlen)
{
	int fd = memfd_create("stdout", MFD_CLOEXEC), rc;
	struct proc p;
	ssize_t got;

	if (n)
		out[0] = '\0';
	if (fd < 0) {
		snprintf(err, errlen, "memfd_create failed: %s",
		         strerror(errno));
		return -1;
	}
	if (proc_start(&p, argv, env, -1, fd, -1, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	rc = proc_wait(&p);
	proc_stderr(&p, err, errlen);
	proc_release(&p);
	if (n) {
		got = pread(fd, out, n - 1, 0);
		out[got > 0 ? got : 0] = '\0';
	}
	close(fd);
	return rc;
}
