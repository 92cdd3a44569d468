#include "sqlcheck.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

enum tk { TK_WORD, TK_PARAM, TK_NUM, TK_STR, TK_PUNCT, TK_MARK };

struct tok {
	enum tk k;
	const char *s;
	size_t n;
	int depth; /* parenthesis depth of the token */
	int block; /* the query block it belongs to */
};

struct block {
	int depth;         /* depth of the block's own (top-level) tokens */
	int tenant_table;  /* names a table that is not global */
	int filters;       /* counted tenant filters in its WHERE clause */
	int where_or;      /* an OR/XOR at the top level of its WHERE clause */
	int insert_ok;     /* INSERT ... VALUES led by tenant_id / :tenant */
	const char *table; /* one tenant table it names, for messages */
	size_t table_n;
};

struct check {
	struct tok *t;
	size_t n;
	struct block *b;
	size_t nb;
	const char *const *globals;
	char *err;
	size_t errlen;
};

/*
 * Records msg, followed by the first bytes of s (at most n, at most 60)
 * when n is not 0, as the reason a statement is refused.  Returns -1.
 */
static int
fail(struct check *c, const char *msg, const char *s, size_t n)
{
	if (n)
		snprintf(c->err, c->errlen, "%s: \"%.*s\"", msg,
		         (int)(n < 60 ? n : 60), s);
	else
		snprintf(c->err, c->errlen, "%s", msg);
	return -1;
}

static int
is(const struct tok *t, const char *word)
{
	return t->k == TK_WORD && strlen(word) == t->n &&
	       strncasecmp(t->s, word, t->n) == 0;
}

static int
is_punct(const struct tok *t, char ch)
{
	return t->k == TK_PUNCT && t->n == 1 && t->s[0] == ch;
}

static int
push(struct check *c, size_t *cap, enum tk k, const char *s, size_t n)
{
	if (c->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		c->t = xrealloc(c->t, *cap * sizeof(*c->t));
	}
	c->t[c->n].k = k;
	c->t[c->n].s = s;
	c->t[c->n].n = n;
	c->t[c->n].depth = 0;
	c->t[c->n].block = 0;
	c->n++;
	return 0;
}

static int
lex(struct check *c, const char *sql)
{
	size_t cap = 0;
	const char *p = sql;

	while (*p) {
		unsigned char ch = (unsigned char)*p;

		if (isspace(ch)) {
			p++;
		} else if (ch == '\'' || ch == '"') {
			const char *s = p++;

			while (*p && *p != (char)ch) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (!*p)
				return fail(c, "an unterminated string", s,
				            strlen(s));
			p++;
			push(c, &cap, TK_STR, s, (size_t)(p - s));
		} else if (ch == '`') {
			const char *s = ++p;

			while (*p && *p != '`')
				p++;
			if (!*p)
				return fail(c, "an unterminated identifier", s,
				            strlen(s));
			push(c, &cap, TK_WORD, s, (size_t)(p - s));
			p++;
		} else if ((ch == '-' && p[1] == '-') || ch == '#' ||
		           (ch == '/' && p[1] == '*')) {
			return fail(c, "a comment in the SQL", p, 8);
		} else if (ch == '?') {
			return fail(c,
			            "a '?' placeholder (parameters are :name)",
			            p, 12);
		} else if (ch == '{') {
			const char *s = p;

			while (*p && *p != '}')
				p++;
			if (!*p)
				return fail(c, "an unterminated marker", s,
				            strlen(s));
			p++;
			push(c, &cap, TK_MARK, s, (size_t)(p - s));
		} else if (ch == ':' &&
		           (islower((unsigned char)p[1]) || p[1] == '_')) {
			const char *s = ++p;

			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			push(c, &cap, TK_PARAM, s, (size_t)(p - s));
		} else if (isalpha(ch) || ch == '_') {
			const char *s = p;

			while (isalnum((unsigned char)*p) || *p == '_' ||
			       *p == '$')
				p++;
			push(c, &cap, TK_WORD, s, (size_t)(p - s));
		} else if (isdigit(ch)) {
			const char *s = p;

			while (isalnum((unsigned char)*p) || *p == '.')
				p++;
			push(c, &cap, TK_NUM, s, (size_t)(p - s));
		} else if ((ch == '|' && p[1] == '|') ||
		           (ch == '&' && p[1] == '&')) {
			return fail(c, "the operator || or &&: write OR / AND",
			            p, 2);
		} else {
			push(c, &cap, TK_PUNCT, p, 1);
			p++;
		}
	}
	return 0;
}

/* Splits the tokens into query blocks and records each token's depth. */
static int
blocks(struct check *c)
{
	int stack[64], sp = 0, depth = 0;
	size_t cap = 8;

	c->b = xcalloc(cap, sizeof(*c->b));
	c->nb = 1;
	stack[0] = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct tok *t = &c->t[i];

		if (is_punct(t, ')')) {
			if (sp > 0 && c->b[stack[sp]].depth == depth)
				sp--;
			depth--;
			if (depth < 0)
				return fail(c, "unbalanced parentheses", "", 0);
		}
		t->depth = depth;
		t->block = stack[sp];
		if (is(t, "UNION") && depth == c->b[stack[sp]].depth) {
			/* The next branch is a block of its own. */
			if (c->nb == cap) {
				cap *= 2;
				c->b = xrealloc(c->b, cap * sizeof(*c->b));
			}
			memset(&c->b[c->nb], 0, sizeof(c->b[0]));
			c->b[c->nb].depth = depth;
			stack[sp] = (int)c->nb++;
		}
		if (is_punct(t, '(')) {
			depth++;
			if (i + 1 < c->n && (is(&c->t[i + 1], "SELECT") ||
			                     is(&c->t[i + 1], "WITH"))) {
				if (sp + 1 ==
				    (int)(sizeof(stack) / sizeof(stack[0])))
					return fail(
					    c, "subqueries nested too deeply",
					    "", 0);
				if (c->nb == cap) {
					cap *= 2;
					c->b =
					    xrealloc(c->b, cap * sizeof(*c->b));
				}
				memset(&c->b[c->nb], 0, sizeof(c->b[0]));
				c->b[c->nb].depth = depth;
				stack[++sp] = (int)c->nb++;
			}
		}
	}
	if (depth != 0)
		return fail(c, "unbalanced parentheses", "", 0);
	return 0;
}

static int
is_global(const struct check *c, const struct tok *t)
{
	if (is(t, "tenants") || is(t, "dual"))
		return 1;
	for (const char *const *g = c->globals; g && *g; g++)
		if (is(t, *g))
			return 1;
	return 0;
}

/* Words that start a clause of a query block. */
static int
clause_word(const struct tok *t)
{
	static const char *const words[] = {
	    "SELECT", "FROM",   "WHERE",         "GROUP",  "HAVING",
	    "ORDER",  "LIMIT",  "SET",           "VALUES", "VALUE",
	    "ON",     "JOIN",   "STRAIGHT_JOIN", "INTO",   "UPDATE",
	    "DELETE", "INSERT", "REPLACE",       "FOR",    "LOCK",
	    "WINDOW", "USING",  "RETURNING",     "LEFT",   "RIGHT",
	    "INNER",  "CROSS",  "NATURAL",       "UNION",  NULL,
	};

	for (const char *const *w = words; *w; w++)
		if (is(t, *w))
			return 1;
	return 0;
}

/*
 * The top-level tokens of block b, in order, as indexes into c->t.
 * Caller frees.
 */
static size_t *
top_tokens(const struct check *c, int b, size_t *count)
{
	size_t *ix = xmalloc((c->n + 1) * sizeof(*ix)), k = 0;

	for (size_t i = 0; i < c->n; i++)
		if (c->t[i].block == b && c->t[i].depth == c->b[b].depth)
			ix[k++] = i;
	*count = k;
	return ix;
}

/*
 * Whether the tokens at top-level positions [p, q) of a WHERE clause are
 * "[alias .] tenant_id = :name" or "tenants . id = :name"; sets *param
 * to the parameter token.
 */
static int
filter_at(const struct check *c, const size_t *ix, size_t k, size_t p,
          size_t *len, const struct tok **param)
{
	const struct tok *t = c->t;
	size_t col = p;

	if (p + 2 < k && is_punct(&t[ix[p + 1]], '.') && t[ix[p]].k == TK_WORD)
		col = p + 2;
	if (!(is(&t[ix[col]], "tenant_id") ||
	      (col == p + 2 && is(&t[ix[p]], "tenants") &&
	       is(&t[ix[col]], "id"))))
		return 0;
	if (col + 2 >= k || !is_punct(&t[ix[col + 1]], '=') ||
	    t[ix[col + 2]].k != TK_PARAM)
		return 0;
	*param = &t[ix[col + 2]];
	*len = col + 3 - p;
	return 1;
}

static int
is_tenant_param(const struct tok *t)
{
	return t->k == TK_PARAM && t->n == 6 && memcmp(t->s, "tenant", 6) == 0;
}

/*
 * The INSERT forms: "INSERT [IGNORE] INTO t (tenant_id, ...)" followed
 * by VALUES tuples each led by :tenant, or by a SELECT whose first item
 * is :tenant or [alias.]tenant_id.  Marks the :tenant tokens it accounts
 * for in used[].
 */
static int
check_insert(struct check *c, const size_t *ix, size_t k, char *used)
{
	const struct tok *t = c->t;
	size_t i = 0, open;

	while (i < k && !is(&t[ix[i]], "INTO"))
		i++;
	if (i + 1 >= k)
		return fail(c, "an INSERT without INTO", "", 0);
	/* INTO table: the column list is the next '(' in token order. */
	open = ix[i + 1] + 1;
	if (open >= c->n || !is_punct(&t[open], '(') || open + 1 >= c->n ||
	    !is(&t[open + 1], "tenant_id"))
		return 0;
	for (i += 2; i < k; i++) {
		const struct tok *w = &t[ix[i]];

		if (is(w, "VALUES") || is(w, "VALUE")) {
			/* Every tuple: "(" :tenant ... up to ON DUPLICATE. */
			for (size_t j = ix[i] + 1; j + 1 < c->n; j++) {
				if (is(&t[j], "ON"))
					break;
				if (is_punct(&t[j], '(') &&
				    t[j].depth == c->b[0].depth) {
					if (!is_tenant_param(&t[j + 1]))
						return fail(
						    c,
						    "an INSERT whose values "
						    "do not start with :tenant",
						    "", 0);
					used[j + 1] = 1;
				}
			}
			return 1;
		}
		if (is(w, "SELECT")) {
			const struct tok *f = i + 1 < k ? &t[ix[i + 1]] : NULL;

			if (f && is_tenant_param(f)) {
				used[ix[i + 1]] = 1;
				return 1;
			}
			if (f && is(f, "tenant_id"))
				return 1;
			if (f && i + 3 < k && is_punct(&t[ix[i + 2]], '.') &&
			    is(&t[ix[i + 3]], "tenant_id"))
				return 1;
			return fail(c,
			            "an INSERT ... SELECT whose first item is "
			            "not the tenant",
			            "", 0);
		}
	}
	return 0;
}

/* Where a block's top-level token stands. */
enum clause { CL_NONE, CL_FROM, CL_WHERE, CL_DUPLICATE, CL_OTHER };

static int
check_block(struct check *c, int b, int tenant, char *used)
{
	const struct tok *t = c->t;
	struct block *bl = &c->b[b];
	size_t k, *ix = top_tokens(c, b, &k);
	enum clause clause = CL_NONE;
	size_t between_and = (size_t)-1;
	int between = 0, rc = -1;

	for (size_t i = 0; i < k; i++) {
		const struct tok *w = &t[ix[i]];
		const struct tok *prev = i ? &t[ix[i - 1]] : NULL;
		const struct tok *param;
		size_t len;

		/* The table after FROM, JOIN, UPDATE or INTO. */
		if (w->k == TK_WORD && prev && clause != CL_DUPLICATE &&
		    (is(prev, "FROM") || is(prev, "JOIN") ||
		     is(prev, "STRAIGHT_JOIN") || is(prev, "UPDATE") ||
		     is(prev, "INTO")) &&
		    !clause_word(w) && !is_global(c, w)) {
			bl->tenant_table = 1;
			bl->table = w->s;
			bl->table_n = w->n;
		}
		if (clause_word(w)) {
			between = 0;
			if (clause == CL_DUPLICATE)
				continue;
			if (is(w, "ON") && i + 1 < k &&
			    is(&t[ix[i + 1]], "DUPLICATE"))
				clause = CL_DUPLICATE;
			else if (is(w, "FROM"))
				clause = CL_FROM;
			else if (is(w, "WHERE"))
				clause = CL_WHERE;
			else
				clause = CL_OTHER;
			continue;
		}
		if (clause == CL_FROM && is_punct(w, ',')) {
			fail(c, "a comma join (write JOIN)", w->s, 20);
			goto out;
		}
		if (clause != CL_WHERE)
			continue;
		if (is(w, "OR") || is(w, "XOR"))
			bl->where_or = 1;
		if (is(w, "BETWEEN"))
			between = 1;
		if (is(w, "AND") && between) {
			/* The AND of "x BETWEEN a AND b" joins nothing. */
			between = 0;
			between_and = i;
			continue;
		}
		if (filter_at(c, ix, k, i, &len, &param)) {
			const struct tok *after =
			    i + len < k ? &t[ix[i + len]] : NULL;
			int conj_before, conj_after;

			if (!is_tenant_param(param)) {
				fail(
				    c,
				    "tenant_id compared with another parameter "
				    "than :tenant",
				    param->s, param->n);
				goto out;
			}
			/*
			 * A conjunct of the WHERE clause: after WHERE or a
			 * conjunction's AND, before AND, the next clause or
			 * the end of the block.
			 */
			conj_before = is(prev, "WHERE") ||
			              (is(prev, "AND") && between_and != i - 1);
			conj_after =
			    !after || is(after, "AND") || clause_word(after);
			if (conj_before && conj_after && tenant) {
				bl->filters++;
				used[param - t] = 1;
			}
			i += len - 1;
		}
	}
	if (bl->filters && bl->where_or) {
		fail(c, "an OR beside the tenant filter in a WHERE clause", "",
		     0);
		goto out;
	}
	rc = 0;
out:
	free(ix);
	return rc;
}

int
sqlcheck_tenant(const char *sql, int tenant, const char *const *global_tables,
                char *err, size_t errlen)
{
	struct check c = {
	    .globals = global_tables, .err = err, .errlen = errlen};
	char *used = NULL;
	int rc = -1, total = 0;

	if (lex(&c, sql) < 0 || blocks(&c) < 0)
		goto out;
	used = xcalloc(c.n + 1, 1);
	if (c.n && (is(&c.t[0], "INSERT") || is(&c.t[0], "REPLACE"))) {
		size_t k, *ix = top_tokens(&c, 0, &k);
		int ins = check_insert(&c, ix, k, used);

		free(ix);
		if (ins < 0)
			goto out;
		c.b[0].insert_ok = ins;
	}
	for (size_t b = 0; b < c.nb; b++) {
		if (check_block(&c, (int)b, tenant, used) < 0)
			goto out;
		total += c.b[b].filters + c.b[b].insert_ok;
	}
	for (size_t i = 0; i < c.n; i++) {
		if (!is_tenant_param(&c.t[i]) || used[i])
			continue;
		if (!tenant)
			fail(&c, "a global statement binds :tenant", "", 0);
		else
			fail(&c,
			     ":tenant used where it is not a tenant filter, "
			     "near",
			     i >= 3 ? c.t[i - 3].s : c.t[0].s, 30);
		goto out;
	}
	if (!tenant) {
		rc = 0;
		goto out;
	}
	for (size_t b = 0; b < c.nb; b++) {
		const struct block *bl = &c.b[b];

		if (bl->tenant_table && !bl->filters && !bl->insert_ok) {
			fail(&c,
			     "a query block over a tenant table has no "
			     "tenant filter (WHERE ... tenant_id = :tenant)",
			     bl->table, bl->table_n);
			goto out;
		}
	}
	if (total == 0) {
		fail(&c, "a tenant statement without a tenant filter", "", 0);
		goto out;
	}
	rc = 0;
out:
	free(used);
	free(c.t);
	free(c.b);
	return rc;
}
