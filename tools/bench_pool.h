/*
 * The pre-forking master shared by the benchmark ceiling programs
 * (bench_hello, bench_select): options, configuration, the listening
 * socket, N workers that share it, re-forking a worker that dies and
 * stopping them all on SIGTERM or SIGINT.  Each program supplies only
 * serve(), its worker's accept loop.
 *
 *   NAME --config FILE [--listen unix:/path.sock] [--workers N]
 *
 * The listener and worker count come from the same configuration file as
 * rtrw-api (keys listen and workers, RTRW_* overrides apply); the options
 * override them.  These are tools, not application code: they use libfcgi
 * (and MariaDB's client) directly.
 */
#ifndef RTRW_BENCH_POOL_H
#define RTRW_BENCH_POOL_H

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

#define BENCH_MAX_WORKERS 256

static volatile sig_atomic_t bench_stopping;
static const char *bench_name = "bench";

static void
bench_on_stop(int sig)
{
	(void)sig;
	bench_stopping = 1;
}

static pid_t
bench_spawn(int fd, int (*serve)(int fd))
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		_exit(serve(fd));
	}
	if (pid < 0)
		fprintf(stderr, "%s: fork failed: %s\n", bench_name,
		        strerror(errno));
	return pid;
}

static int
bench_open_listener(const char *listen)
{
	const char *path = listen;
	int fd;

	if (strncmp(path, "unix:", 5) == 0) {
		path += 5;
		unlink(path);
	}
	fd = FCGX_OpenSocket(path, 1024);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot listen on '%s'\n", bench_name,
		        listen);
		return -1;
	}
	if (listen != path && chmod(path, 0666) < 0) {
		fprintf(stderr, "%s: chmod '%s' failed: %s\n", bench_name, path,
		        strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The whole master: fills *cfg before the workers fork (they may read
 * it), then supervises until told to stop.  Returns the exit status.
 */
static int
bench_pool_main(int argc, char **argv, const char *name,
                struct config *cfg, int (*serve)(int fd))
{
	const char *config_path = NULL, *listen_opt = NULL, *sock;
	char err[512];
	pid_t pids[BENCH_MAX_WORKERS] = {0};
	struct sigaction sa;
	int fd, workers = 0, i;

	bench_name = name;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_opt = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
			workers = (int)strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr,
			        "usage: %s --config FILE [--listen unix:PATH] "
			        "[--workers N]\n",
			        name);
			return 2;
		}
	}
	if (config_load(cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", name, err);
		return 1;
	}
	if (workers <= 0)
		workers = cfg->workers;
	if (workers <= 0)
		workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (workers <= 0)
		workers = 1;
	if (workers > BENCH_MAX_WORKERS)
		workers = BENCH_MAX_WORKERS;

	if (FCGX_Init() != 0)
		return 1;
	sock = listen_opt ? listen_opt : cfg->listen;
	fd = bench_open_listener(sock);
	if (fd < 0)
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < workers; i++)
		pids[i] = bench_spawn(fd, serve);

	/*
	 * Supervise: a worker that dies is replaced until we are told to
	 * stop; wait() returns early with EINTR when a signal arrives.
	 */
	while (!bench_stopping) {
		pid_t dead = wait(NULL);

		if (dead < 0) {
			if (errno == EINTR)
				continue;
			sleep(1);
		}
		for (i = 0; i < workers && !bench_stopping; i++)
			if (pids[i] == dead || pids[i] <= 0)
				pids[i] = bench_spawn(fd, serve);
	}
	for (i = 0; i < workers; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	if (strncmp(sock, "unix:", 5) == 0)
		unlink(sock + 5);
	return 0;
}

#endif
