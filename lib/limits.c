#include "limits.h"

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

void
limits_hit(struct cache *c, const char *subject, int64_t limit, int window_s,
           time_t now, struct limit_result *out)
{
	int64_t window = (int64_t)now / window_s;
	uint64_t count = 0;
	char key[200];

	memset(out, 0, sizeof(*out));
	out->limit = limit;
	out->remaining = limit;
	out->reset = (window + 1) * window_s;
	snprintf(key, sizeof(key), "rl:%s:%" PRId64, subject, window);
	if (!c || cache_incr(c, key, 1, window_s + 5, &count) < 0) {
		out->degraded = 1;
		degraded();
		return;
	}
	out->remaining = (int64_t)count >= limit ? 0 : limit - (int64_t)count;
	if ((int64_t)count > limit) {
		out->limited = 1;
		out->retry_after = out->reset - (int64_t)now;
		if (out->retry_after < 1)
			out->retry_after = 1;
	}
}

int
limits_blocked(struct cache *c, const char *subject)
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
limits_fail(struct cache *c, const char *subject, int64_t limit, int window_s,
            int block_s)
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
limits_forget(struct cache *c, const char *subject)
{
	char key[200];

	if (!c)
		return;
	snprintf(key, sizeof(key), "fail:%s", subject);
	cache_delete(c, key);
}

void
limits_subject(const char *prefix, const char *text, char *out, size_t n)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	char hex[2 * 16 + 1];

	SHA256((const unsigned char *)text, strlen(text), d);
	/* 128 bits of the digest is plenty to tell subjects apart. */
	hex_encode(d, 16, hex);
	snprintf(out, n, "%s:%s", prefix, hex);
}
