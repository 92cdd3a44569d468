/*
 * bench_hello: the ceiling of a FastCGI worker that does no work.  It
 * answers every request with a small JSON body, so that the benchmark can
 * show how much of a real endpoint's time goes to nginx and the FastCGI
 * round trip rather than to the application.
 *
 *   bench_hello --config FILE [--listen unix:/path.sock] [--workers N]
 *
 * The listener and worker count come from the same configuration file as
 * rtrw-api (keys listen and workers, RTRW_* overrides apply); the options
 * override them.  The master pre-forks N workers that share the listening
 * socket, re-forks a worker that dies and on SIGTERM or SIGINT stops them
 * all.  This is a tool, not application code: it uses libfcgi directly.
 */
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

#define MAX_WORKERS 256

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int
serve(int fd)
{
	FCGX_Request req;
	static const char body[] = "{\"status\":\"ok\",\"hello\":\"world\"}\n";

	if (FCGX_InitRequest(&req, fd, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_FPrintF(req.out,
		             "Status: 200 OK\r\n"
		             "Content-Type: application/json; charset=utf-8\r\n"
		             "Cache-Control: no-store\r\n"
		             "Content-Length: %u\r\n\r\n",
		             (unsigned)(sizeof(body) - 1));
		FCGX_PutStr(body, (int)(sizeof(body) - 1), req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}

static pid_t
spawn(int fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		_exit(serve(fd));
	}
	if (pid < 0)
		fprintf(stderr, "bench_hello: fork failed: %s\n",
		        strerror(errno));
	return pid;
}

static int
open_listener(const char *listen)
{
	const char *path = listen;
	int fd;

	if (strncmp(path, "unix:", 5) == 0) {
		path += 5;
		unlink(path);
	}
	fd = FCGX_OpenSocket(path, 1024);
	if (fd < 0) {
		fprintf(stderr, "bench_hello: cannot listen on '%s'\n", listen);
		return -1;
	}
	if (listen != path && chmod(path, 0666) < 0) {
		fprintf(stderr, "bench_hello: chmod '%s' failed: %s\n", path,
		        strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	const char *config_path = NULL, *listen_opt = NULL, *sock;
	char err[512];
	pid_t pids[MAX_WORKERS] = {0};
	struct sigaction sa;
	int fd, workers = 0, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
			listen_opt = argv[++i];
		else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
			workers = (int)strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench_hello --config FILE "
			                "[--listen unix:PATH] [--workers N]\n");
			return 2;
		}
	}
	if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_hello: %s\n", err);
		return 1;
	}
	if (workers <= 0)
		workers = cfg.workers;
	if (workers <= 0)
		workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (workers <= 0)
		workers = 1;
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;

	if (FCGX_Init() != 0)
		return 1;
	sock = listen_opt ? listen_opt : cfg.listen;
	fd = open_listener(sock);
	if (fd < 0)
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < workers; i++)
		pids[i] = spawn(fd);

	/* Supervise: a worker that dies is replaced until we are told to
	 * stop; wait() returns early with EINTR when a signal arrives. */
	while (!stopping) {
		pid_t dead = wait(NULL);

		if (dead < 0) {
			if (errno == EINTR)
				continue;
			sleep(1);
		}
		for (i = 0; i < workers && !stopping; i++)
			if (pids[i] == dead || pids[i] <= 0)
				pids[i] = spawn(fd);
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
