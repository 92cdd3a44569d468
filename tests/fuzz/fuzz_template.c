/*
 * libFuzzer driver: email templates (the tenant admin's text) through
 * validation and rendering, and the header and body encoders of
 * lib/mail.c on the same bytes.  The first byte picks the key and the
 * part; a value that holds the input too is rendered into it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mail.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum template_part parts[] = {
	    TEMPLATE_SUBJECT, TEMPLATE_TEXT, TEMPLATE_HTML};
	const struct template_key *k;
	struct buf out = BUF_INIT(4 * 1024 * 1024);
	struct template_error e;
	enum template_part part;
	size_t nkeys = 0;
	char err[256], *text;
	cJSON *vars;

	if (size < 1 || size > 256 * 1024)
		return 0;
	for (k = template_keys; k->key; k++)
		nkeys++;
	k = &template_keys[data[0] % nkeys];
	part = parts[(data[0] / nkeys) % 3];
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	(void)template_check(k, part, text, err, sizeof(err));
	(void)template_validate(k->key, text, text, text, &e);
	vars = cJSON_CreateObject();
	for (const char *const *v = k->variables; *v; v++)
		cJSON_AddStringToObject(vars, *v, text);
	(void)template_render(text, part, vars, &out, err, sizeof(err));
	buf_reset(&out);
	(void)mail_header_text(&out, 9, text);
	buf_reset(&out);
	mail_qp_encode(&out, text);
	cJSON_Delete(vars);
	buf_release(&out);
	free(text);
	return 0;
}
