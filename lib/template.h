/*
 * Email templates: {{variable}} placeholders, the template keys and the
 * variables each key documents.
 *
 * A placeholder is "{{", optional spaces, a name ([a-z][a-z0-9_]*, at
 * most 64 bytes), optional spaces, "}}".  Any other "{{" is a malformed
 * placeholder.  Values come from a JSON object (the notification's
 * payload plus what the mailer adds: tenant_name, recipient_name):
 * strings as they are, numbers as their literal text, true/false, and
 * null, a missing member, an object or an array as nothing.
 *
 * Rendering escapes values for the part they land in: HTML-escaped in
 * the HTML part, raw in the text part and in the subject, where a value
 * holding CR or LF (or another control character) is refused rather than
 * let it start a new header.  The template text itself is the tenant
 * admin's own and is not escaped.
 *
 * Validation (PUT /email-templates/{key}: 422 with the error) refuses
 * placeholders the key does not document, malformed ones, invalid UTF-8,
 * CR/LF in the subject and texts over the size limits below.
 */
#ifndef RTRW_TEMPLATE_H
#define RTRW_TEMPLATE_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct buf;

#define TEMPLATE_SUBJECT_MAX  255   /* characters (the column) */
#define TEMPLATE_BODY_MAX     65535 /* bytes of each body (TEXT) */
#define TEMPLATE_NAME_MAX     64
#define TEMPLATE_RENDERED_MAX (512 * 1024) /* bytes of one rendered part */
#define TEMPLATE_ERROR_MAX    512          /* bytes of an error sentence */

/* Where a rendered text goes: it decides how values are escaped. */
enum template_part { TEMPLATE_SUBJECT, TEMPLATE_TEXT, TEMPLATE_HTML };

/* One template key: its name, what triggers it and its variables. */
struct template_key {
	const char *key;
	const char *trigger;          /* a sentence, for the docs */
	const char *const *variables; /* NULL-terminated */
};

/* Every key, closed by an entry whose key is NULL. */
extern const struct template_key template_keys[];

/* The same keys' names, NULL-terminated (query filters, field enums). */
extern const char *const template_key_names[];

/* The key named key, or NULL when there is none. */
const struct template_key *template_key_find(const char *key);

/* A validation failure: the field at fault and a sentence. */
struct template_error {
	const char *field; /* "subject", "body_html" or "body_text" */
	char message[TEMPLATE_ERROR_MAX];
};

/*
 * Checks one text of a template of key k for the given part.  Returns 0,
 * or -1 with a sentence in err: a malformed placeholder, bad UTF-8, too
 * long, CR/LF in a subject, or unknown placeholders, which the sentence
 * names, every distinct one up to the size of err, followed by the
 * variables the key documents.
 */
int template_check(const struct template_key *k, enum template_part part,
                   const char *text, char *err, size_t errlen);

/*
 * Checks a whole template of key: the subject (required) and the HTML
 * and text bodies, of which at least one must be given (a NULL body is a
 * message without that part).  Returns 1 when it is valid, 0 when it is
 * not (e says which field and why), -1 when key is not a template key
 * (e->field is NULL).
 */
int template_validate(const char *key, const char *subject,
                      const char *body_html, const char *body_text,
                      struct template_error *e);

/*
 * Appends text with its placeholders replaced by the members of vars (a
 * JSON object, may be NULL) to out, escaped for part.  Returns 0, or -1
 * with a sentence in err: a malformed placeholder, a subject value with
 * CR/LF, or output over TEMPLATE_RENDERED_MAX.  out keeps what was
 * appended before the failure; callers discard it.
 */
int template_render(const char *text, enum template_part part,
                    const cJSON *vars, struct buf *out, char *err,
                    size_t errlen);

#endif
