/*
 * lib/template.c: rendering {{variable}} placeholders for each part of
 * a message, and validation against the variables a key documents.
 */
#include <string.h>
#include <time.h>

#include "arena.h"
#include "buf.h"
#include "json.h"
#include "template.h"
#include "tests/unit/unit.h"

static cJSON *
vars(void)
{
	cJSON *v =
	    cJSON_Parse("{\"customer_name\": \"Budi <b>&amp; 'Sari'\","
	                " \"amount\": 150000.50, \"period\": \"2026-02\","
	                " \"due_date\": null, \"flag\": true,"
	                " \"nested\": {\"x\": 1}}");

	ck_assert_ptr_nonnull(v);
	return v;
}

/* Renders text for part; returns 0/-1 and leaves the output in out. */
static int
render(const char *text, enum template_part part, const cJSON *v,
       struct buf *out, char *err)
{
	buf_reset(out);
	return template_render(text, part, v, out, err, 200);
}

START_TEST(renders_each_part_escaped_for_it)
{
	struct buf out = BUF_INIT(0);
	cJSON *v = vars();
	char err[200];

	ck_assert_int_eq(render("<p>Yth. {{customer_name}}: Rp {{ amount }}"
	                        "</p>",
	                        TEMPLATE_HTML, v, &out, err),
	                 0);
	ck_assert_str_eq(out.s, "<p>Yth. Budi &lt;b&gt;&amp;amp; &#39;Sari&#39;"
	                        ": Rp 150000.5</p>");
	ck_assert_int_eq(
	    render("Yth. {{customer_name}}", TEMPLATE_TEXT, v, &out, err), 0);
	ck_assert_str_eq(out.s, "Yth. Budi <b>&amp; 'Sari'");
	ck_assert_int_eq(render("Tagihan {{period}} {{customer_name}}",
	                        TEMPLATE_SUBJECT, v, &out, err),
	                 0);
	ck_assert_str_eq(out.s, "Tagihan 2026-02 Budi <b>&amp; 'Sari'");
	buf_release(&out);
	cJSON_Delete(v);
}
END_TEST

START_TEST(missing_null_and_containers_render_as_nothing)
{
	struct buf out = BUF_INIT(0);
	cJSON *v = vars();
	char err[200];

	ck_assert_int_eq(render("[{{due_date}}][{{nope}}][{{nested}}]"
	                        "[{{flag}}]",
	                        TEMPLATE_TEXT, v, &out, err),
	                 0);
	ck_assert_str_eq(out.s, "[][][][true]");
	ck_assert_int_eq(render("{{period}}", TEMPLATE_TEXT, NULL, &out, err),
	                 0);
	ck_assert_str_eq(out.s, "");
	/* Single braces and lone closers are text. */
	ck_assert_int_eq(render("{a} }} {", TEMPLATE_TEXT, v, &out, err), 0);
	ck_assert_str_eq(out.s, "{a} }} {");
	buf_release(&out);
	cJSON_Delete(v);
}
END_TEST

START_TEST(parsed_numbers_keep_their_literal)
{
	struct buf out = BUF_INIT(0);
	struct arena a;
	cJSON *v = NULL;
	char err[200];
	const char *text = "{\"amount\": 150000.00, \"id\": 9007199254740993}";

	arena_init(&a, 0);
	ck_assert_int_eq(json_parse(&a, text, strlen(text), &v), JSON_OK);
	ck_assert_int_eq(
	    render("{{amount}} {{id}}", TEMPLATE_TEXT, v, &out, err), 0);
	ck_assert_str_eq(out.s, "150000.00 9007199254740993");
	buf_release(&out);
	arena_release(&a);
}
END_TEST

START_TEST(subject_values_with_line_breaks_are_refused)
{
	struct buf out = BUF_INIT(0);
	cJSON *v = cJSON_CreateObject();
	char err[200];

	cJSON_AddStringToObject(v, "title", "Hi\r\nBcc: victim@example.com");
	ck_assert_int_eq(
	    render("Tiket {{title}}", TEMPLATE_SUBJECT, v, &out, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "title"));
	/* The same value is fine in the bodies. */
	ck_assert_int_eq(render("{{title}}", TEMPLATE_TEXT, v, &out, err), 0);
	ck_assert_str_eq(out.s, "Hi\r\nBcc: victim@example.com");
	cJSON_ReplaceItemInObject(v, "title", cJSON_CreateString("a\nb"));
	ck_assert_int_eq(render("{{title}}", TEMPLATE_SUBJECT, v, &out, err),
	                 -1);
	buf_release(&out);
	cJSON_Delete(v);
}
END_TEST

START_TEST(malformed_placeholders_fail_to_render)
{
	static const char *const bad[] = {
	    "{{}}", "{{ }}", "{{Name}}", "{{1a}}", "{{a-b}}",
	    "{{a}", "x {{a", "{{a b}}",  "{{ a }",
	};
	struct buf out = BUF_INIT(0);
	char err[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(render(bad[i], TEMPLATE_TEXT, NULL, &out, err) ==
		                  -1,
		              "%s rendered", bad[i]);
	buf_release(&out);
}
END_TEST

START_TEST(validation_refuses_unknown_placeholders)
{
	struct template_error e;

	ck_assert_int_eq(
	    template_validate("payment_overdue", "Tagihan {{period}}",
	                      "<p>{{customer_name}} {{amount}}</p>",
	                      "{{due_date}} {{tenant_name}}", &e),
	    1);
	ck_assert_ptr_null(e.field);
	ck_assert_int_eq(template_validate("payment_overdue", "Hi {{password}}",
	                                   "<p>x</p>", "x", &e),
	                 0);
	ck_assert_str_eq(e.field, "subject");
	ck_assert_ptr_nonnull(strstr(e.message, "{{password}}"));
	ck_assert_ptr_nonnull(strstr(e.message, "customer_name"));
	ck_assert_int_eq(template_validate("ticket_created", "T {{title}}",
	                                   "<p>{{amount}}</p>", "x", &e),
	                 0);
	ck_assert_str_eq(e.field, "body_html");
	ck_assert_int_eq(template_validate("ticket_created", "T", "<p>x</p>",
	                                   "{{ticket_number", &e),
	                 0);
	ck_assert_str_eq(e.field, "body_text");
	ck_assert_ptr_nonnull(strstr(e.message, "malformed"));
	ck_assert_int_eq(template_validate("no_such_key", "a", "b", "c", &e),
	                 -1);
	ck_assert_ptr_null(e.field);
	ck_assert_int_eq(
	    template_validate("ticket_created", NULL, "b", "c", &e), 0);
	ck_assert_str_eq(e.field, "subject");
}
END_TEST

START_TEST(validation_names_every_unknown_placeholder)
{
	struct template_error e;

	/* Each distinct unknown name once, in order, then the documented. */
	ck_assert_int_eq(
	    template_validate("ticket_created", "T {{title}}",
	                      "<p>{{amount}} {{ password }} {{amount}}</p>",
	                      NULL, &e),
	    0);
	ck_assert_str_eq(e.field, "body_html");
	ck_assert_ptr_nonnull(strstr(
	    e.message, "unknown placeholders {{amount}}, {{password}};"));
	ck_assert_ptr_null(strstr(e.message, "{{amount}}, {{password}}, "));
	ck_assert_ptr_nonnull(strstr(e.message, "ticket_created may use: "));
	ck_assert_ptr_nonnull(strstr(e.message, "ticket_number"));
	ck_assert_int_eq(
	    template_validate("ticket_created", "T {{nope}}", NULL, "x", &e),
	    0);
	ck_assert_ptr_nonnull(
	    strstr(e.message, "unknown placeholder {{nope}};"));
}
END_TEST

START_TEST(one_body_is_enough_none_is_not)
{
	struct template_error e;

	ck_assert_int_eq(template_validate("ticket_created", "T {{title}}",
	                                   NULL, "{{title}}", &e),
	                 1);
	ck_assert_int_eq(template_validate("ticket_created", "T {{title}}",
	                                   "<p>{{title}}</p>", NULL, &e),
	                 1);
	ck_assert_int_eq(
	    template_validate("ticket_created", "T {{title}}", NULL, NULL, &e),
	    0);
	ck_assert_str_eq(e.field, "body_text");
	ck_assert_ptr_nonnull(strstr(e.message, "body_html or body_text"));
	/* Given, a body may not be empty. */
	ck_assert_int_eq(template_validate("ticket_created", "T", "", "x", &e),
	                 0);
	ck_assert_str_eq(e.field, "body_html");
}
END_TEST

START_TEST(validation_limits_subjects_and_bodies)
{
	struct template_error e;
	char big[TEMPLATE_BODY_MAX + 2], subj[TEMPLATE_SUBJECT_MAX + 2];

	ck_assert_int_eq(
	    template_validate("ticket_created", "a\r\nBcc: x", "b", "c", &e),
	    0);
	ck_assert_str_eq(e.field, "subject");
	ck_assert_int_eq(template_validate("ticket_created", "", "b", "c", &e),
	                 0);
	memset(subj, 'a', sizeof(subj) - 1);
	subj[sizeof(subj) - 1] = '\0';
	ck_assert_int_eq(
	    template_validate("ticket_created", subj, "b", "c", &e), 0);
	subj[TEMPLATE_SUBJECT_MAX] = '\0';
	ck_assert_int_eq(
	    template_validate("ticket_created", subj, "b", "c", &e), 1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(template_validate("ticket_created", "s", big, "c", &e),
	                 0);
	ck_assert_str_eq(e.field, "body_html");
	ck_assert_int_eq(template_validate("ticket_created", "s", "b",
	                                   "\xff\xfe bad utf-8", &e),
	                 0);
	ck_assert_str_eq(e.field, "body_text");
	ck_assert_int_eq(template_validate("ticket_created", "s", "", "c", &e),
	                 0);
}
END_TEST

START_TEST(every_key_is_documented)
{
	static const char *const keys[] = {
	    "payment_overdue", "ticket_created", "speed_boost_approved",
	    "device_offline",  "report_ready",   "backup_failed",
	};
	size_t n = 0;

	for (const struct template_key *k = template_keys; k->key; k++)
		n++;
	ck_assert_uint_eq(n, sizeof(keys) / sizeof(keys[0]));
	for (size_t i = 0; i < n; i++) {
		const struct template_key *k = template_key_find(keys[i]);

		ck_assert_ptr_nonnull(k);
		ck_assert_ptr_nonnull(k->variables[0]);
		ck_assert_ptr_nonnull(k->trigger);
	}
	ck_assert_ptr_null(template_key_find("nope"));
	ck_assert_ptr_null(template_key_find(NULL));
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(template_key_names[i], template_keys[i].key);
	ck_assert_ptr_null(template_key_names[n]);
}
END_TEST

/*
 * The worst input under the limits costs milliseconds: a body made of
 * placeholders, each replaced by a long value, stops at the output cap.
 * (About 3 ms optimised and 11 ms under ASan here; the bound leaves room
 * for a loaded machine.)
 */
START_TEST(worst_case_is_bounded)
{
	static char text[TEMPLATE_BODY_MAX + 1], value[4001];
	struct buf out = BUF_INIT(0);
	struct template_error e;
	struct timespec t0, t1;
	cJSON *v = cJSON_CreateObject();
	char err[200];
	double ms;

	for (size_t i = 0; i + 9 <= TEMPLATE_BODY_MAX; i += 9)
		memcpy(text + i, "{{title}}", 9);
	memset(value, '<', sizeof(value) - 1);
	cJSON_AddStringToObject(v, "title", value);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	ck_assert_int_eq(
	    template_validate("ticket_created", "s", text, text, &e), 1);
	ck_assert_int_eq(render(text, TEMPLATE_HTML, v, &out, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger"));
	ck_assert_uint_le(out.len, TEMPLATE_RENDERED_MAX + 4 * sizeof(value));
	/* Many "{{" that never close cost linear time too. */
	memset(text, '{', TEMPLATE_BODY_MAX);
	ck_assert_int_eq(
	    template_validate("ticket_created", "s", text, "c", &e), 0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms < 50, "took %.1f ms", ms);
	buf_release(&out);
	cJSON_Delete(v);
}
END_TEST

UNIT_MAIN("template", renders_each_part_escaped_for_it,
          missing_null_and_containers_render_as_nothing,
          parsed_numbers_keep_their_literal,
          subject_values_with_line_breaks_are_refused,
          malformed_placeholders_fail_to_render,
          validation_refuses_unknown_placeholders,
          validation_names_every_unknown_placeholder,
          one_body_is_enough_none_is_not, validation_limits_subjects_and_bodies,
          every_key_is_documented, worst_case_is_bounded)
