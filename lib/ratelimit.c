#include "ratelimit.h"

#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "log.h"
#include "util.h"

static void
degraded(void)
{
	static time_t last;
	time_t now = time(NULL);

	if (now - last >= 60) {
		last = now;
		log_warn("memcached unreachable: rate limits and login blocks "
		         "are not enforced (nginx limits still apply)");
	}
}

/*
 * What this worker knows of a counter: the count memcached last
 * reported and the increments it sent since without waiting for an
 * answer.  Far from the limit a request only sends its increment (no
 * round trip); close to it, every request asks memcached for the exact
 * count.  "Close" starts at limit / (2 x workers): even if every worker
 * of the host admits that many blind, together they stay under the
 * limit, and from there on each decision is exact.
 */
struct estimate {
	uint64_t hash;
	int64_t window;
	int64_t known;
	int64_t pending;
};

#define ESTIMATES 256

static struct estimate estimates[ESTIMATES];
static int limit_workers = 1;

void
ratelimit_setup(int workers)
{
	limit_workers = workers > 0 ? workers : 1;
	memset(estimates, 0, sizeof(estimates));
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ? h : 1;
}

void
ratelimit_hit(struct cache *c, const char *subject, int64_t limit, int window_s,
              time_t now, struct ratelimit_result *out)
{
	int64_t window = (int64_t)now / window_s, count;
	uint64_t h = fnv1a(subject), exact = 0;
	struct estimate *e = &estimates[h % ESTIMATES];
	char key[200];

	memset(out, 0, sizeof(*out));
	out->limit = limit;
	out->remaining = limit;
	out->reset = (window + 1) * window_s;
	snprintf(key, sizeof(key), "rl:%s:%" PRId64, subject, window);
	if (e->hash != h || e->window != window) {
		e->hash = h;
		e->window = window;
		e->known = 0;
		e->pending = 0;
	}
	if (c && (e->known + e->pending + 1) * 2 * limit_workers < limit) {
		if (cache_incr_async(c, key, 1, window_s + 5) == 0) {
			e->pending++;
			count = e->known + e->pending;
			out->remaining = limit - count;
			return;
		}
	}
	if (!c || cache_incr(c, key, 1, window_s + 5, &exact) < 0) {
		out->degraded = 1;
		degraded();
		return;
	}
	count = (int64_t)exact;
	e->known = count;
	e->pending = 0;
	out->remaining = count >= limit ? 0 : limit - count;
	if (count > limit) {
		out->limited = 1;
		out->retry_after = out->reset - (int64_t)now;
		if (out->retry_after < 1)
			out->retry_after = 1;
	}
}

int
ratelimit_blocked(struct cache *c, const char *subject)
{
	char key[200];
	int rc;

	if (!c)
		return 0;
	snprintf(key, sizeof(key), "blk:%s", subject);
	rc = cache_exists(c, key);
	if (rc < 0) {
		degraded();
		return 0;
	}
	return rc;
}

int
ratelimit_fail(struct cache *c, const char *subject, int64_t limit,
               int window_s, int block_s)
{
	char key[200];
	uint64_t count = 0;

	if (!c)
		return 0;
	snprintf(key, sizeof(key), "fail:%s", subject);
	if (cache_incr(c, key, 1, window_s, &count) < 0) {
		degraded();
		return 0;
	}
	if ((int64_t)count < limit)
		return 0;
	snprintf(key, sizeof(key), "blk:%s", subject);
	/* add, not set: only the failure that made the block reports it. */
	return cache_add(c, key, "1", 1, block_s) == 1;
}

void
ratelimit_forget(struct cache *c, const char *subject)
{
	char key[200];

	if (!c)
		return;
	snprintf(key, sizeof(key), "fail:%s", subject);
	cache_delete(c, key);
}

void
ratelimit_subject(const char *prefix, const char *text, char *out, size_t n)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	char hex[2 * 16 + 1];

	SHA256((const unsigned char *)text, strlen(text), d);
	/* 128 bits of the digest is plenty to tell subjects apart. */
	hex_encode(d, 16, hex);
	snprintf(out, n, "%s:%s", prefix, hex);
}
