#include "cache.h"

#include <libmemcached/memcached.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "log.h"
#include "util.h"

struct cache {
	memcached_st *mc;
	memcached_st *async; /* NOREPLY handle: increments nobody waits for */
	char *servers;
	time_t failed_at; /* when an operation last failed; 0 if healthy */
};

/*
 * Makes a fresh handle.  libmemcached keeps a server it saw fail marked
 * dead for a while; a new handle after a failure (at most once a second)
 * brings the cache back as soon as the server is.
 */
static int
cache_connect(struct cache *c)
{
	memcached_server_st *list;
	memcached_return_t rc;

	list = memcached_servers_parse(c->servers);
	if (!list)
		return -1;
	c->mc = memcached_create(NULL);
	if (!c->mc)
		abort();
	rc = memcached_server_push(c->mc, list);
	memcached_server_list_free(list);
	if (rc != MEMCACHED_SUCCESS) {
		memcached_free(c->mc);
		c->mc = NULL;
		return -1;
	}
	/* Milliseconds: the cache is an optimisation, never worth a wait. */
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 200);
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 200);
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, 200000);
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT, 200000);
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, 1);
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT,
	                       1);
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
	/* Its own connection, so quiet commands never mix with replies. */
	c->async = memcached_clone(NULL, c->mc);
	if (!c->async)
		abort();
	memcached_behavior_set(c->async, MEMCACHED_BEHAVIOR_NOREPLY, 1);
	return 0;
}

struct cache *
cache_open(const char *servers)
{
	struct cache *c = xcalloc(1, sizeof(*c));

	c->servers = xstrdup(servers);
	if (cache_connect(c) < 0) {
		free(c->servers);
		free(c);
		return NULL;
	}
	return c;
}

/* Before an operation: renew the handle a second after a failure. */
static memcached_st *
mc(struct cache *c)
{
	if (c->failed_at && time(NULL) - c->failed_at >= 1) {
		memcached_free(c->mc);
		memcached_free(c->async);
		c->mc = NULL;
		c->async = NULL;
		c->failed_at = 0;
		if (cache_connect(c) < 0)
			c->failed_at = time(NULL);
	}
	return c->mc;
}

/* After an operation: remember a failure (not a plain miss). */
static memcached_return_t
note(struct cache *c, memcached_return_t rc)
{
	if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_NOTFOUND &&
	    rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_DATA_EXISTS &&
	    !c->failed_at)
		c->failed_at = time(NULL);
	return rc;
}

void
cache_close(struct cache *c)
{
	if (!c)
		return;
	memcached_free(c->mc);
	memcached_free(c->async);
	free(c->servers);
	free(c);
}

int
cache_ping(struct cache *c)
{
	static const char key[] = "rtrw:ping";
	memcached_return_t rc;

	/*
	 * A round trip for real: memcached_version() reports success for
	 * a server it has already marked dead.
	 */
	if (!mc(c))
		return -1;
	rc = note(c, memcached_set(c->mc, key, sizeof(key) - 1, "1", 1, 60, 0));
	return rc == MEMCACHED_SUCCESS ? 0 : -1;
}

int
cache_get(struct cache *c, struct arena *a, const char *key, char **val,
          size_t *len)
{
	memcached_return_t rc;
	uint32_t flags = 0;
	size_t n = 0;
	char *v;

	if (!mc(c))
		return -1;
	v = memcached_get(c->mc, key, strlen(key), &n, &flags, &rc);
	note(c, rc);
	if (rc == MEMCACHED_NOTFOUND)
		return 0;
	if (rc != MEMCACHED_SUCCESS || !v) {
		free(v);
		return -1;
	}
	*val = arena_strndup(a, v, n);
	*len = n;
	free(v);
	return *val ? 1 : -1;
}

int
cache_set(struct cache *c, const char *key, const char *val, size_t len,
          time_t ttl)
{
	if (!mc(c))
		return -1;
	return note(c, memcached_set(c->mc, key, strlen(key), val, len, ttl,
	                             0)) == MEMCACHED_SUCCESS
	           ? 0
	           : -1;
}

int
cache_add(struct cache *c, const char *key, const char *val, size_t len,
          time_t ttl)
{
	memcached_return_t rc;

	if (!mc(c))
		return -1;
	rc = note(c, memcached_add(c->mc, key, strlen(key), val, len, ttl, 0));
	if (rc == MEMCACHED_SUCCESS)
		return 1;
	if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS)
		return 0;
	return -1;
}

int
cache_exists(struct cache *c, const char *key)
{
	memcached_return_t rc;

	if (!mc(c))
		return -1;
	rc = note(c, memcached_exist(c->mc, key, strlen(key)));

	if (rc == MEMCACHED_SUCCESS)
		return 1;
	if (rc == MEMCACHED_NOTFOUND)
		return 0;
	return -1;
}

int
cache_delete(struct cache *c, const char *key)
{
	memcached_return_t rc;

	if (!mc(c))
		return -1;
	rc = note(c, memcached_delete(c->mc, key, strlen(key), 0));

	return rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND ? 0 : -1;
}

int
cache_incr(struct cache *c, const char *key, uint64_t delta, time_t ttl,
           uint64_t *out)
{
	memcached_return_t rc;

	/* The binary protocol creates the counter atomically when absent. */
	if (!mc(c))
		return -1;
	rc = note(c, memcached_increment_with_initial(c->mc, key, strlen(key),
	                                              delta, delta, ttl, out));
	return rc == MEMCACHED_SUCCESS ? 0 : -1;
}

int
cache_incr_async(struct cache *c, const char *key, uint64_t delta, time_t ttl)
{
	uint64_t ignored;

	if (!mc(c))
		return -1;
	return note(c, memcached_increment_with_initial(
	                   c->async, key, strlen(key), delta, delta, ttl,
	                   &ignored)) == MEMCACHED_SUCCESS
	           ? 0
	           : -1;
}
