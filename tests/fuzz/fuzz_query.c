/* libFuzzer driver: URL paths and query strings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "http.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
h(struct req *r)
{
	(void)r;
	return 0;
}

/* clang-format off */
static const struct route table[] = {
	{ HTTP_GET, "/customers/:id/comments/:id", ROLE_VIEWER, h, NULL, 0, NULL },
	{ HTTP_GET, "/customers", ROLE_VIEWER, h, NULL, 0, NULL },
	{ 0, NULL, 0, NULL, NULL, 0, NULL }
};
/* clang-format on */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct buf hdrs = BUF_INIT(0), body = BUF_INIT(0);
	struct req r;
	char *s = malloc(size + 1);
	int64_t ids[REQ_MAX_IDS];
	size_t nids;
	unsigned allowed;
	int bad;
	char *path;

	memcpy(s, data, size);
	s[size] = '\0';
	arena_init(&a, 1024 * 1024);
	memset(&r, 0, sizeof(r));
	r.a = &a;
	r.headers = &hdrs;
	r.body_out = &body;
	req_parse_query(&r, s);
	path = http_decode(&a, s, strlen(s), 0, &bad);
	if (path)
		router_match(table, HTTP_GET, path, ids, &nids, &allowed);
	http_error(&r);
	arena_release(&a);
	buf_release(&hdrs);
	buf_release(&body);
	free(s);
	return 0;
}
