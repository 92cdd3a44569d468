/*
 * libFuzzer driver: what a router's replies feed into the usage
 * arithmetic.  The input is split at its first NUL: the text before it
 * goes to the duration and counter parsers (RouterOS uptimes and byte
 * counters, router-controlled strings), the bytes after it, 8 at a time,
 * become counters, uptimes and the router's elapsed time of two readings
 * for usage_delta().  Whatever the bytes, nothing may crash or read out
 * of bounds, and a delta may never exceed the plausibility cap over its
 * interval nor count bytes without one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
take(const uint8_t **p, size_t *n)
{
	uint64_t v = 0;

	for (int i = 0; i < 8 && *n; i++, (*p)++, (*n)--)
		v = v << 8 | **p;
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	char *text = malloc(tlen + 1);
	const uint8_t *p;
	size_t n;
	int64_t secs;
	uint64_t u, cap;

	memcpy(text, data, tlen);
	text[tlen] = '\0';
	if (usage_parse_duration(text, &secs) == 0 &&
	    (secs < 0 || secs > INT64_C(100) * 366 * 86400))
		abort();
	(void)usage_parse_u64(text, &u);
	free(text);
	if (!nul)
		return 0;

	p = nul + 1;
	n = size - tlen - 1;
	{
		struct usage_last last = {1, "*1", 0, 0, 0};
		struct usage_reading now = {"*1", 0, 0, 0};
		struct usage_delta d;
		uint64_t flags = take(&p, &n);
		int64_t elapsed;

		last.uptime = (int64_t)(take(&p, &n) % 200000);
		last.rx = take(&p, &n);
		last.tx = take(&p, &n);
		now.uptime = (int64_t)(take(&p, &n) % 200000);
		now.rx = take(&p, &n);
		now.tx = take(&p, &n);
		elapsed = (int64_t)(take(&p, &n) % 200000) - 1;
		cap = take(&p, &n) % UINT64_C(1000000000000) + 1000000;
		if (flags & 1)
			now.session_id = "*2";
		if (flags & 2)
			last.known = 0;
		usage_delta(&last, &now, elapsed, (int)(flags >> 2 & 1), cap,
		            &d);
		if (d.secs < 0 || d.secs > USAGE_MAX_GAP)
			abort();
		if (d.secs == 0 && (d.rx_bytes || d.tx_bytes))
			abort();
		if (d.rx_bytes / (cap / 8 + 1) > (uint64_t)d.secs ||
		    d.tx_bytes / (cap / 8 + 1) > (uint64_t)d.secs)
			abort();
	}
	return 0;
}
