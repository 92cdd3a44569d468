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
#include "tools/bench_pool.h"

static struct config cfg;

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

int
main(int argc, char **argv)
{
	return bench_pool_main(argc, argv, "bench_hello", &cfg, serve);
}
