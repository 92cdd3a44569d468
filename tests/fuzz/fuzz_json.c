/* libFuzzer driver: request bodies through json_parse() and validation. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "fields.h"
#include "http.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[] = {"a", "b", NULL};

/* clang-format off */
static const struct field fields[] = {
	{ "name",  FT_STRING, 1, 50, F_REQUIRED | F_TEXT, NULL },
	{ "price", FT_MONEY,  0, 0,  0, NULL },
	{ "n",     FT_INT,    0, 9,  F_NULLABLE, NULL },
	{ "ok",    FT_BOOL,   0, 0,  0, NULL },
	{ "kind",  FT_ENUM,   0, 0,  0, kinds },
	{ "day",   FT_DATE,   0, 0,  0, NULL },
	{ "ip",    FT_IP,     0, 0,  0, NULL },
	{ "mail",  FT_EMAIL,  0, 0,  0, NULL },
	{ "tel",   FT_PHONE,  0, 0,  0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
/* clang-format on */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct buf hdrs = BUF_INIT(0), body = BUF_INIT(0);
	struct req r;
	cJSON *root;

	/* The production per-request cap (arena_cap_bytes). */
	arena_init(&a, 16 * 1024 * 1024);
	memset(&r, 0, sizeof(r));
	r.a = &a;
	r.headers = &hdrs;
	r.body_out = &body;
	if (json_parse(&a, (const char *)data, size, &root) == JSON_OK &&
	    cJSON_IsObject(root))
		fields_validate(&r, fields, root, size % 2);
	http_error(&r);
	arena_release(&a);
	buf_release(&hdrs);
	buf_release(&body);
	return 0;
}
