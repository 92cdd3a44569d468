/*
 * Rate limits and abuse blocks, counted in memcached.
 *
 * Fixed windows: the counter of a subject lives under a key naming the
 * window ("rl:u:42:29384810" for user 42 in minute 29384810) and expires
 * with it, so there is nothing to clean up.  Increments are atomic on
 * the server, so every worker on every host shares one count.
 *
 * If memcached is down, limits are not enforced (nginx's coarse per-IP
 * limit still is) and the degradation is logged at most once a minute.
 */
#ifndef RTRW_RATELIMIT_H
#define RTRW_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cache;

struct ratelimit_result {
	int limited;  /* over the limit: answer 429 */
	int degraded; /* the cache did not answer: not enforced */
	int64_t limit;
	int64_t remaining;
	int64_t reset;       /* Unix time the window ends */
	int64_t retry_after; /* seconds, when limited */
};

/*
 * Tells the limiter how many workers of this host count in parallel
 * (see ratelimit_hit); call once per worker process.
 */
void ratelimit_setup(int workers);

/*
 * Counts one hit of subject (e.g. "u:42", "ip:10.0.0.1", "reg:10.0.0.1")
 * in the current window of window_s seconds.
 */
void ratelimit_hit(struct cache *c, const char *subject, int64_t limit,
                   int window_s, time_t now, struct ratelimit_result *out);

/*
 * Whether subject ("ip:...", "acct:...") is blocked now.  1 yes, 0 no
 * (also when the cache is down).
 */
int ratelimit_blocked(struct cache *c, const char *subject);

/*
 * Counts a failure of subject within window_s; when the count reaches
 * limit, blocks subject for block_s.  Returns 1 when this failure made a
 * new block (so the caller records it once), else 0.
 */
int ratelimit_fail(struct cache *c, const char *subject, int64_t limit,
                   int window_s, int block_s);

/* Forgets subject's failures (after a successful login). */
void ratelimit_forget(struct cache *c, const char *subject);

/*
 * Makes a cache-safe subject "prefix:<hex of sha256(text)>" from
 * untrusted text such as an email address.
 */
void ratelimit_subject(const char *prefix, const char *text, char *out,
                       size_t n);

#endif
