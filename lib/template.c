#include "template.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "util.h"

/*
 * The variables of each key are what its queue rows carry today (the
 * callers of notify_queue() and notify_admins(): jobs/billing.c,
 * fcgi/tickets.c, lib/store/device.c) plus tenant_name and
 * recipient_name, which the mailer adds.  Keys whose features have not
 * landed yet (speed boosts, reports, backups) document what those
 * features are asked to put in the payload.
 */
static const char *const vars_payment_overdue[] = {
    "payment_id", "customer_id", "customer_name", "customer_code",  "amount",
    "period",     "due_date",    "tenant_name",   "recipient_name", NULL,
};
static const char *const vars_ticket_created[] = {
    "ticket_id",   "ticket_number", "title",          "priority",
    "customer_id", "tenant_name",   "recipient_name", NULL,
};
static const char *const vars_speed_boost_approved[] = {
    "boost_id",       "customer_id",
    "customer_name",  "customer_code",
    "plan_name",      "speed_download",
    "speed_upload",   "duration_hours",
    "price",          "starts_at",
    "ends_at",        "tenant_name",
    "recipient_name", NULL,
};
static const char *const vars_device_offline[] = {
    "device_id",       "name",      "ip_address",  "location",       "status",
    "previous_status", "last_seen", "tenant_name", "recipient_name", NULL,
};
static const char *const vars_report_ready[] = {
    "report_id",    "report_type", "date_from",      "date_to",
    "download_url", "tenant_name", "recipient_name", NULL,
};
/* Platform mail: no tenant, so no tenant_name. */
static const char *const vars_backup_failed[] = {
    "backup_id", "source",         "started_at", "host",
    "error",     "recipient_name", NULL,
};

/* clang-format off */
const struct template_key template_keys[] = {
	{ "payment_overdue", "a payment passed its due date (to the customer, "
	  "or the tenant's admins when the customer has no email)",
	  vars_payment_overdue },
	{ "ticket_created", "a ticket was created for or assigned to a "
	  "technician (to that technician)", vars_ticket_created },
	{ "speed_boost_approved", "a speed boost was approved (to the "
	  "customer)", vars_speed_boost_approved },
	{ "device_offline", "a device stopped answering (to the tenant's "
	  "admins)", vars_device_offline },
	{ "report_ready", "a report finished (to whoever asked for it, or "
	  "to the recipients of its schedule)", vars_report_ready },
	{ "backup_failed", "a backup failed (to the platform admins)",
	  vars_backup_failed },
	{ NULL, NULL, NULL },
};
/* clang-format on */

/* In the order of template_keys (test_template.c checks it). */
const char *const template_key_names[] = {
    "payment_overdue",
    "ticket_created",
    "speed_boost_approved",
    "device_offline",
    "report_ready",
    "backup_failed",
    NULL,
};

const struct template_key *
template_key_find(const char *key)
{
	if (!key)
		return NULL;
	for (const struct template_key *k = template_keys; k->key; k++)
		if (strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

static int
is_name_start(char c)
{
	return c >= 'a' && c <= 'z';
}

static int
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Parses the placeholder that starts at p ("{{").  On success stores the
 * name's place and returns the length of the whole placeholder; returns
 * 0 for a malformed one.  The scan is bounded by the name limit, so a
 * text of many "{{" costs linear time.
 */
static size_t
placeholder_at(const char *p, const char **name, size_t *name_len)
{
	size_t i = 2, start, n;

	while (p[i] == ' ')
		i++;
	start = i;
	if (!is_name_start(p[i]))
		return 0;
	while (is_name_char(p[i]) && i - start <= TEMPLATE_NAME_MAX)
		i++;
	n = i - start;
	if (n > TEMPLATE_NAME_MAX)
		return 0;
	while (p[i] == ' ')
		i++;
	if (p[i] != '}' || p[i + 1] != '}')
		return 0;
	*name = p + start;
	*name_len = n;
	return i + 2;
}

/*
 * The next "{{" at or after p, or NULL.  A plain loop rather than
 * strstr(): the whole scan of a text stays linear, also under
 * sanitizers whose strstr() measures the rest of the string each call.
 */
static const char *
find_open(const char *p)
{
	for (; *p; p++)
		if (p[0] == '{' && p[1] == '{')
			return p;
	return NULL;
}

static int
documented(const struct template_key *k, const char *name, size_t n)
{
	for (const char *const *v = k->variables; *v; v++)
		if (strlen(*v) == n && memcmp(*v, name, n) == 0)
			return 1;
	return 0;
}

static const char *
part_name(enum template_part part)
{
	switch (part) {
	case TEMPLATE_SUBJECT:
		return "subject";
	case TEMPLATE_HTML:
		return "body_html";
	case TEMPLATE_TEXT:
		break;
	}
	return "body_text";
}

/*
 * The distinct unknown placeholders of one text, up to UNKNOWN_MAX (what
 * one error sentence can name); the search among those noted stays
 * bounded by UNKNOWN_MAX, so a text of many placeholders still costs
 * linear time.  more says whether other unknown names were left out.
 */
#define UNKNOWN_MAX 16
struct unknown {
	const char *name[UNKNOWN_MAX];
	size_t len[UNKNOWN_MAX];
	size_t n;
	int more;
};

static void
note_unknown(struct unknown *u, const char *name, size_t n)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->len[i] == n && memcmp(u->name[i], name, n) == 0)
			return;
	if (u->n == UNKNOWN_MAX) {
		u->more = 1;
		return;
	}
	u->name[u->n] = name;
	u->len[u->n++] = n;
}

/* "unknown placeholders {{a}}, {{b}}; KEY may use: x, y". */
static void
unknown_message(const struct template_key *k, const struct unknown *u,
                char *err, size_t errlen)
{
	struct buf b = BUF_INIT(errlen);

	buf_adds(&b,
	         u->n > 1 ? "unknown placeholders " : "unknown placeholder ");
	for (size_t i = 0; i < u->n; i++)
		buf_addf(&b, "%s{{%.*s}}", i ? ", " : "", (int)u->len[i],
		         u->name[i]);
	if (u->more)
		buf_adds(&b, " and others");
	buf_addf(&b, "; %s may use: ", k->key);
	for (const char *const *v = k->variables; *v; v++)
		buf_addf(&b, "%s%s", *v, v[1] ? ", " : "");
	snprintf(err, errlen, "%s", b.s);
	buf_release(&b);
}

int
template_check(const struct template_key *k, enum template_part part,
               const char *text, char *err, size_t errlen)
{
	size_t len = strlen(text);
	struct unknown unknown;

	if (!utf8_valid(text, len)) {
		snprintf(err, errlen, "must be valid UTF-8 text");
		return -1;
	}
	if (part == TEMPLATE_SUBJECT) {
		if (len == 0 || utf8_len(text, len) > TEMPLATE_SUBJECT_MAX) {
			snprintf(err, errlen, "must be 1 to %d characters",
			         TEMPLATE_SUBJECT_MAX);
			return -1;
		}
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
				snprintf(err, errlen,
				         "must be one line without control "
				         "characters");
				return -1;
			}
	} else if (len == 0 || len > TEMPLATE_BODY_MAX) {
		snprintf(err, errlen, "must be 1 to %d bytes",
		         TEMPLATE_BODY_MAX);
		return -1;
	}
	memset(&unknown, 0, sizeof(unknown));
	for (const char *p = find_open(text); p; p = find_open(p)) {
		const char *name;
		size_t n, whole = placeholder_at(p, &name, &n);

		if (whole == 0) {
			snprintf(err, errlen,
			         "malformed placeholder at byte %zu: write "
			         "{{name}} with a lower-case name",
			         (size_t)(p - text));
			return -1;
		}
		if (!documented(k, name, n))
			note_unknown(&unknown, name, n);
		p += whole;
	}
	if (unknown.n > 0) {
		unknown_message(k, &unknown, err, errlen);
		return -1;
	}
	return 0;
}

int
template_validate(const char *key, const char *subject, const char *body_html,
                  const char *body_text, struct template_error *e)
{
	const struct template_key *k = template_key_find(key);
	const struct {
		enum template_part part;
		const char *text;
	} parts[] = {
	    {TEMPLATE_SUBJECT, subject},
	    {TEMPLATE_HTML, body_html},
	    {TEMPLATE_TEXT, body_text},
	};

	e->field = NULL;
	e->message[0] = '\0';
	if (!k) {
		snprintf(e->message, sizeof(e->message),
		         "unknown template key");
		return -1;
	}
	if (!subject) {
		e->field = "subject";
		snprintf(e->message, sizeof(e->message), "is required");
		return 0;
	}
	if (!body_html && !body_text) {
		e->field = "body_text";
		snprintf(e->message, sizeof(e->message),
		         "body_html or body_text is required (a message needs "
		         "at least one body)");
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		e->field = part_name(parts[i].part);
		if (parts[i].text &&
		    template_check(k, parts[i].part, parts[i].text, e->message,
		                   sizeof(e->message)) < 0)
			return 0;
	}
	e->field = NULL;
	return 1;
}

/*
 * The text of a value, or NULL for nothing (null, missing, containers).
 * tmp holds a number made by cJSON_CreateNumber(), which has no literal.
 */
static const char *
value_text(const cJSON *v, char *tmp, size_t tmplen)
{
	if (!v)
		return NULL;
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v)) {
		/* Parsed numbers keep their literal text (lib/json.c). */
		if (v->valuestring)
			return json_number_text(v);
		if (v->valuedouble == (double)(long long)v->valuedouble &&
		    v->valuedouble < 9007199254740992.0 &&
		    v->valuedouble > -9007199254740992.0)
			snprintf(tmp, tmplen, "%lld",
			         (long long)v->valuedouble);
		else
			snprintf(tmp, tmplen, "%.17g", v->valuedouble);
		return tmp;
	}
	if (cJSON_IsRaw(v))
		return v->valuestring;
	if (cJSON_IsTrue(v))
		return "true";
	if (cJSON_IsFalse(v))
		return "false";
	return NULL;
}

static void
add_html_escaped(struct buf *out, const char *s)
{
	while (*s && !out->over) {
		/* Runs of plain text go in one append. */
		size_t n = strcspn(s, "&<>\"'");

		buf_add(out, s, n);
		s += n;
		switch (*s) {
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		case '\'':
			buf_adds(out, "&#39;");
			break;
		default:
			return;
		}
		s++;
		if (out->len > TEMPLATE_RENDERED_MAX)
			return;
	}
}

int
template_render(const char *text, enum template_part part, const cJSON *vars,
                struct buf *out, char *err, size_t errlen)
{
	size_t start = out->len;
	const char *p = text;

	for (;;) {
		const char *open = find_open(p), *name, *val;
		char key[TEMPLATE_NAME_MAX + 1], num[32];
		size_t n, whole;

		if (!open) {
			buf_adds(out, p);
			break;
		}
		buf_add(out, p, (size_t)(open - p));
		whole = placeholder_at(open, &name, &n);
		if (whole == 0) {
			snprintf(err, errlen,
			         "malformed placeholder at byte %zu",
			         (size_t)(open - text));
			return -1;
		}
		memcpy(key, name, n);
		key[n] = '\0';
		val = cJSON_IsObject(vars)
		          ? value_text(
		                cJSON_GetObjectItemCaseSensitive(vars, key),
		                num, sizeof(num))
		          : NULL;
		if (val && part == TEMPLATE_SUBJECT) {
			for (const char *c = val; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f) {
					snprintf(
					    err, errlen,
					    "value of {{%s}} holds a line "
					    "break or control character and "
					    "cannot go into the subject",
					    key);
					return -1;
				}
		}
		if (val && part == TEMPLATE_HTML)
			add_html_escaped(out, val);
		else if (val)
			buf_adds(out, val);
		if (out->over || out->len - start > TEMPLATE_RENDERED_MAX)
			goto out_too_large;
		p = open + whole;
	}
	if (out->over || out->len - start > TEMPLATE_RENDERED_MAX)
		goto out_too_large;
	return 0;

out_too_large:
	snprintf(err, errlen, "rendered %s is larger than %d bytes",
	         part_name(part), TEMPLATE_RENDERED_MAX);
	return -1;
}
