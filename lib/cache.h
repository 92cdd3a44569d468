/*
 * memcached, through libmemcached: dashboard caches, rate-limit counters.
 *
 * Every call has short timeouts and failure is never fatal: a caller that
 * gets -1 goes on without the cache.  A server that failed is retried
 * after a second, so the cache comes back on its own.
 */
#ifndef RTRW_CACHE_H
#define RTRW_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct arena;
struct cache;

/* servers: "host:port" or "/path/to/socket", comma-separated.  NULL on a bad
 * spec. */
struct cache *cache_open(const char *servers);
void cache_close(struct cache *c);

/* Stores a small key for real: 0 when the server answers, -1 otherwise. */
int cache_ping(struct cache *c);

/*
 * Looks up key.  Returns 1 and stores an arena copy (NUL-terminated) in
 * *val and its length in *len, 0 when absent, -1 on error.
 */
int cache_get(struct cache *c, struct arena *a, const char *key, char **val,
              size_t *len);

/* Stores key for ttl seconds; 0 or -1. */
int cache_set(struct cache *c, const char *key, const char *val, size_t len,
              time_t ttl);

/* Stores key only if absent: 1 stored, 0 already there, -1 error. */
int cache_add(struct cache *c, const char *key, const char *val, size_t len,
              time_t ttl);

/* Whether key exists: 1, 0, or -1 on error. */
int cache_exists(struct cache *c, const char *key);

/* Deletes key; 0 (also when absent) or -1. */
int cache_delete(struct cache *c, const char *key);

/*
 * Adds delta to the counter at key, creating it at delta with ttl when
 * absent (atomically on the server).  Stores the new value; 0 or -1.
 */
int cache_incr(struct cache *c, const char *key, uint64_t delta, time_t ttl,
               uint64_t *out);

/*
 * Same increment without waiting for the answer (a quiet binary command
 * on a second connection): the count still goes up on the server, the
 * caller just does not learn it.  0, or -1 when it could not be sent.
 */
int cache_incr_async(struct cache *c, const char *key, uint64_t delta,
                     time_t ttl);

#endif
