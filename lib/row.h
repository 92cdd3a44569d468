/*
 * Typed rows: a C struct described by a table of its members, so that the
 * data layer can bind a struct's members to named SQL parameters and read
 * result columns into a struct by name, and the pipeline can write a
 * struct as JSON, all from one description.
 *
 *	struct plan {
 *		int64_t id;
 *		const char *name;
 *		const char *price;
 *	};
 *	static const struct col plan_cols[] = {
 *		COL_INT(struct plan, id, 0),
 *		COL_STR(struct plan, name, 0),
 *		COL_DEC(struct plan, price, 0),
 *		COL_END
 *	};
 *	const struct rowtype plan_row = ROWTYPE(struct plan, "plan", plan_cols);
 *
 * A column's name is its member's name (the macros stringify it), so the
 * two cannot drift apart, and each macro checks the member's C type at
 * compile time.  Strings point into the request's arena (or whatever
 * memory the reader was given); NULL is SQL NULL.
 *
 * Nullable integers: COL_F_NULL on an integer column makes 0 stand for
 * SQL NULL both ways; on a boolean, -1 does.  Use it only where 0 is never a
 *real value (ids, speeds that must be positive, ports); a nullable integer that
 *can be 0 needs a string column instead.
 *
 * Layer: base.  It knows neither the database nor HTTP.
 */
#ifndef RTRW_ROW_H
#define RTRW_ROW_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* clang-format off */
enum col_type {
	COLT_INT,   /* int64_t */
	COLT_BOOL,  /* int, 0 or 1 (TINYINT(1)) */
	COLT_STR,   /* const char *, UTF-8 text */
	COLT_DEC,   /* const char *, a decimal literal "1500.00" */
	COLT_TIME,  /* const char *, "YYYY-MM-DD HH:MM:SS[.ffffff]" UTC; RFC 3339 in JSON */
	COLT_DATE,  /* const char *, "YYYY-MM-DD" */
	COLT_JSON,  /* const char *, JSON text, embedded as JSON */
	COLT_BYTES, /* struct bytes; never written as JSON */
	COLT__MAX
};
/* clang-format on */

#define COL_F_NULL   0x1 /* integers: 0 is SQL NULL; strings may be NULL */
#define COL_F_HIDDEN 0x2 /* read and bound, never written as JSON */

/* A binary value (sealed secrets, hashes). */
struct bytes {
	const unsigned char *p;
	size_t n;
};

struct col {
	const char *name;
	enum col_type type;
	size_t off;
	unsigned flags;
};

struct rowtype {
	const char *name; /* for messages: "customer" */
	size_t size;      /* sizeof the struct */
	const struct col *cols;
};

/*
 * The column macros.  The _Generic expression inside sizeof is never
 * evaluated: it only fails to compile when the member has another type.
 */
#define COL_TYPED_(T, m, ctype, t, fl)                                         \
	{                                                                      \
#m, (t),                                                       \
		    offsetof(T, m) +                                           \
		        0 * sizeof(_Generic(((T *)0)->m, ctype : 1)),          \
		    (fl)                                                       \
	}
#define COL_INT(T, m, fl)   COL_TYPED_(T, m, int64_t, COLT_INT, fl)
#define COL_BOOL(T, m, fl)  COL_TYPED_(T, m, int, COLT_BOOL, fl)
#define COL_STR(T, m, fl)   COL_TYPED_(T, m, const char *, COLT_STR, fl)
#define COL_DEC(T, m, fl)   COL_TYPED_(T, m, const char *, COLT_DEC, fl)
#define COL_TIME(T, m, fl)  COL_TYPED_(T, m, const char *, COLT_TIME, fl)
#define COL_DATE(T, m, fl)  COL_TYPED_(T, m, const char *, COLT_DATE, fl)
#define COL_JSON(T, m, fl)  COL_TYPED_(T, m, const char *, COLT_JSON, fl)
#define COL_BYTES(T, m, fl) COL_TYPED_(T, m, struct bytes, COLT_BYTES, fl)
#define COL_END                                                                \
	{                                                                      \
		NULL, 0, 0, 0                                                  \
	}

#define ROWTYPE(T, n, c)                                                       \
	{                                                                      \
		(n), sizeof(T), (c)                                            \
	}

/* Rows of one type, in an arena: rows[i] is (char *)data + i * size. */
struct rows {
	const struct rowtype *type;
	size_t n;
	void *data;
	uint64_t affected;  /* rows matched by an UPDATE/DELETE, inserted */
	uint64_t insert_id; /* AUTO_INCREMENT id of an INSERT */
};

/* Row i of rs (no bounds check beyond an assertion in debug builds). */
static inline void *
rows_at(const struct rows *rs, size_t i)
{
	return (char *)rs->data + i * rs->type->size;
}

/* Index of the column called name in type, or -1. */
int row_col_index(const struct rowtype *type, const char *name);

/* Number of columns of type. */
size_t row_ncols(const struct rowtype *type);

/* Pointers to a member of row, by column. */
static inline void *
row_member(const void *row, const struct col *c)
{
	return (char *)row + c->off;
}

/*
 * Writes row as a JSON object onto b: integers and decimals as exact
 * numbers, booleans, times as RFC 3339 UTC, dates, JSON columns embedded,
 * NULLs as null; COL_F_HIDDEN and byte columns left out.
 */
void row_write_json(struct buf *b, const struct rowtype *type, const void *row);

/* The same as a cJSON object; NULL when out of memory.  Caller owns it. */
cJSON *row_json(const struct rowtype *type, const void *row);

/* Writes n rows of rs as a JSON array onto b. */
void rows_write_json(struct buf *b, const struct rows *rs);

/*
 * Copies row and every string and byte value it points to into one heap
 * block that outlives the arena (free() it).  Never returns NULL
 * (allocation failure aborts).
 */
void *row_dup_heap(const struct rowtype *type, const void *row);

/* Formats "2026-11-27 10:15:00[.ffffff]" as "2026-11-27T10:15:00Z". */
void row_time_rfc3339(const char *in, char *out, size_t n);

/* The JSON Schema type name of a column type ("integer", "string"...). */
const char *row_type_json_name(enum col_type t);

#endif
