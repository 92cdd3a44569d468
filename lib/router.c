#include "router.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

/*
 * Matches one pattern against path segment by segment.  Returns 1 and
 * fills the captures, or 0.
 */
static int
pattern_match(const char *pat, const char *path, int64_t *ids, size_t *nids)
{
	size_t n = 0;

	for (;;) {
		const char *pe, *se;
		size_t plen, slen;

		if (*pat != '/' || *path != '/')
			return 0;
		pat++;
		path++;
		pe = strchr(pat, '/');
		se = strchr(path, '/');
		plen = pe ? (size_t)(pe - pat) : strlen(pat);
		slen = se ? (size_t)(se - path) : strlen(path);
		if (plen > 0 && pat[0] == ':') {
			int64_t v;

			/* Ids are positive and written without sign or zeros.
			 */
			if (slen == 0 || path[0] == '0' ||
			    parse_int64_n(path, slen, 1, INT64_MAX, &v) < 0 ||
			    n >= REQ_MAX_IDS)
				return 0;
			ids[n++] = v;
		} else if (plen > 0 && pat[0] == '{') {
			/* A word: lower-case letters, digits, '_' and '-'. */
			if (slen == 0 || slen > ROUTER_WORD_MAX ||
			    strspn(path, "abcdefghijklmnopqrstuvwxyz"
			                 "0123456789_-") < slen)
				return 0;
		} else if (plen != slen || memcmp(pat, path, plen) != 0) {
			return 0;
		}
		pat += plen;
		path += slen;
		if (*pat == '\0' && *path == '\0')
			break;
	}
	*nids = n;
	return 1;
}

const struct route *
router_match(const struct route *table, enum http_method method,
             const char *path, int64_t *ids, size_t *nids, unsigned *allowed)
{
	const struct route *found = NULL;
	int64_t tmp[REQ_MAX_IDS];
	size_t ntmp;

	*allowed = 0;
	for (const struct route *rt = table; rt->pattern; rt++) {
		if (!pattern_match(rt->pattern, path, tmp, &ntmp))
			continue;
		*allowed |= 1u << rt->method;
		/* HEAD is served by the GET handler without the body. */
		if (rt->method == method ||
		    (method == HTTP_HEAD && rt->method == HTTP_GET)) {
			if (!found) {
				found = rt;
				memcpy(ids, tmp, sizeof(tmp));
				*nids = ntmp;
			}
		}
	}
	if (*allowed & (1u << HTTP_GET))
		*allowed |= 1u << HTTP_HEAD;
	return found;
}

void
router_allow_header(unsigned allowed, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (int m = 1; m < HTTP__MAX; m++) {
		if (!(allowed & (1u << m)))
			continue;
		len += (size_t)snprintf(out + len, len < n ? n - len : 0,
		                        "%s%s", len ? ", " : "",
		                        http_method_name((enum http_method)m));
		if (len >= n)
			break;
	}
}

void
router_openapi_path(const char *prefix, const char *pattern, char *out,
                    size_t n)
{
	struct buf b = BUF_INIT(n);

	buf_adds(&b, prefix);
	for (const char *p = pattern; *p; p++) {
		if (*p == ':' && p > pattern && p[-1] == '/') {
			size_t len = strcspn(p + 1, "/");
			buf_addch(&b, '{');
			buf_add(&b, p + 1, len);
			buf_addch(&b, '}');
			p += len;
		} else {
			buf_addch(&b, *p);
		}
	}
	snprintf(out, n, "%s", b.s);
	buf_release(&b);
}
