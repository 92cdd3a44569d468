/*
 * bench_cache: the round trip of one memcached get through lib/cache, the
 * path an authenticated request takes for its rate-limit counter and the
 * dashboard for its cached body, so that memcached over TCP and over a
 * Unix socket can be compared with the client settings the API uses.
 *
 *   bench_cache [--config FILE] [--servers SPEC] [--count N]
 *
 * SPEC is "host:port" or "/path/to/socket" (default: the memcached key of
 * the configuration).  It stores one small key, reads it N times (default
 * 20000) one after the other and prints the mean, p50 and p99 of a round
 * trip in microseconds:
 *
 *   memcached /x/run/memcached.sock: 20000 gets, mean 30.1 us, p50 28 us,
 *   p99 55 us
 *
 * Exits 1 when the server does not answer.  A tool, not application code.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "cache.h"
#include "config.h"
#include "util.h"

#define MAX_COUNT 1000000

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_cache [--config FILE] [--servers SPEC] "
	                "[--count N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *config_path = getenv("RTRW_CONFIG");
	const char *servers = NULL;
	int64_t count = 20000, total = 0, *lat;
	static struct config cfg;
	struct arena a;
	struct cache *c;
	char err[512];
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_path = argv[++i];
		else if (strcmp(argv[i], "--servers") == 0 && i + 1 < argc)
			servers = argv[++i];
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			if (parse_int64(argv[++i], 1, MAX_COUNT, &count))
				usage();
		} else
			usage();
	}
	if (!servers) {
		if (config_load(&cfg, config_path, err, sizeof(err)) < 0) {
			fprintf(stderr, "bench_cache: %s\n", err);
			return 1;
		}
		servers = cfg.memcached;
	}
	c = cache_open(servers);
	if (!c) {
		fprintf(stderr, "bench_cache: bad memcached spec '%s'\n",
		        servers);
		return 1;
	}
	if (cache_set(c, "rtrw:bench", "1", 1, 60) < 0) {
		fprintf(stderr, "bench_cache: memcached '%s' does not answer\n",
		        servers);
		goto out_close;
	}
	lat = xcalloc((size_t)count, sizeof(*lat));
	arena_init(&a, 1 << 20);
	for (int64_t i = 0; i < count; i++) {
		int64_t t0 = now_usec();
		char *v;
		size_t n;

		if (cache_get(c, &a, "rtrw:bench", &v, &n) != 1) {
			fprintf(stderr, "bench_cache: get %lld failed\n",
			        (long long)i);
			goto out_free;
		}
		lat[i] = now_usec() - t0;
		total += lat[i];
		arena_reset(&a);
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp_i64);
	printf("memcached %s: %lld gets, mean %.1f us, p50 %lld us, "
	       "p99 %lld us\n",
	       servers, (long long)count, (double)total / (double)count,
	       (long long)lat[count / 2], (long long)lat[count * 99 / 100]);
	rc = 0;
out_free:
	arena_release(&a);
	free(lat);
out_close:
	cache_close(c);
	return rc;
}
