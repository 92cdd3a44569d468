/*
 * The cells of a tabular export, shared by the CSV writer (csv.h) and the
 * XLSX writer (xlsx.h): what kinds of column there are, the checks that
 * keep a value what its column says it is, and the formula-injection
 * rule of API.md.
 *
 * Values arrive as text, the way the database hands them over
 * ("150000.00" from a DECIMAL column, "2024-05-01" from a DATE), so one
 * loop can write a result row into either format.  A value that does not
 * match its column's kind is refused rather than written as something
 * else: an export that says a column holds numbers holds only numbers.
 *
 * Base layer: depends on nothing but the C library.
 */
#ifndef RTRW_CELL_H
#define RTRW_CELL_H

#include <stddef.h>
#include <stdint.h>

/* clang-format off */
enum cell_kind {
	CELL_TEXT = 0,  /* UTF-8 text; formula prefixes neutralised */
	CELL_INT,       /* -?digits within int64 */
	CELL_DECIMAL,   /* -?digits[.digits], written exactly as given */
	CELL_MONEY,     /* a decimal shown with 2 decimals in XLSX */
	CELL_DATE,      /* YYYY-MM-DD (a time part is accepted and dropped) */
	CELL_DATETIME,  /* YYYY-MM-DD HH:MM:SS */
	CELL__MAX
};
/* clang-format on */

/* One column of an export: its header title, kind and XLSX width. */
struct cell_col {
	const char *title; /* trusted UTF-8 */
	enum cell_kind kind;
	unsigned width; /* in characters; 0 takes the kind's default */
};

/* Longest number literal accepted (digits, sign and point). */
#define CELL_NUM_MAX 40

/* A calendar date and time of day, as parsed by cell_parse_date(). */
struct cell_date {
	int year, month, day;
	int hour, min, sec;
};

/*
 * Whether a text cell needs the leading apostrophe of OWASP's CSV
 * injection rule (API.md): it starts with '=', '+', '-', '@', a tab or a
 * carriage return, which spreadsheet programs may read as a formula.
 * Numbers are not text and never get one.
 */
int cell_formula_risk(const char *s, size_t n);

/*
 * Checks that the n bytes at s are a decimal literal: an optional '-',
 * one or more digits, optionally a '.' and one or more digits, at most
 * CELL_NUM_MAX bytes in all.  No '+', exponent, spaces or bare point.
 * Returns 0 or -1.
 */
int cell_decimal_ok(const char *s, size_t n);

/*
 * Parses "YYYY-MM-DD", optionally followed by ' ' or 'T', "HH:MM:SS", a
 * fraction of a second and a 'Z' (what MariaDB and the API print).  The
 * date must exist (2023-02-29 does not); years 0001 to 9999.  The time
 * is 00:00:00 when absent; fractions are dropped.  Returns 0 or -1.
 */
int cell_parse_date(const char *s, size_t n, struct cell_date *out);

/*
 * Returns n when the n bytes at s are valid UTF-8 without NUL bytes,
 * else the length of the longest valid prefix: the writers replace what
 * follows, byte by byte, with U+FFFD so that an export is always valid
 * UTF-8 whatever a column held.
 */
size_t cell_utf8_prefix(const char *s, size_t n);

/* The kind's name, for error messages ("money"). */
const char *cell_kind_name(enum cell_kind k);

#endif
