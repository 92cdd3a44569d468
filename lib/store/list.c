#include "store/list.h"

#include <string.h>

#include "db.h"

int
store_list_fetch(struct tdb *t, const struct store_list *l, const void *filter,
                 size_t sort, int64_t limit, int64_t offset, struct rows *out,
                 int64_t *total)
{
	struct db_count n;

	if (l->fetch)
		return l->fetch(t, l, filter, sort, limit, offset, out, total);
	if (tdb_list(t, l->page, sort, limit, offset, filter, out) < 0)
		return -1;
	/*
	 * A page that is not full, and not empty (or the first), ends the
	 * list: the total follows without counting.
	 */
	if ((int64_t)out->n < limit && (out->n > 0 || offset == 0)) {
		*total = offset + (int64_t)out->n;
		return 0;
	}
	if (tdb_one(t, l->count, filter, &n) < 0)
		return -1;
	*total = n.n;
	return 0;
}

int
store_list_fetch_global(struct db *db, struct arena *a,
                        const struct store_list *l, const void *filter,
                        size_t sort, int64_t limit, int64_t offset,
                        struct rows *out, int64_t *total)
{
	struct db_count n;

	if (l->fetch)
		return -1;
	if (db_list(db, a, l->page, sort, limit, offset, filter, out) < 0)
		return -1;
	/* As above: a short page ends the list. */
	if ((int64_t)out->n < limit && (out->n > 0 || offset == 0)) {
		*total = offset + (int64_t)out->n;
		return 0;
	}
	if (db_one(db, a, l->count, filter, &n) < 0)
		return -1;
	*total = n.n;
	return 0;
}

int
store_list_sort(const struct store_list *l, const char *key)
{
	for (size_t i = 0; l->sorts && l->sorts[i].key; i++)
		if (strcmp(l->sorts[i].key, key) == 0)
			return (int)i;
	return -1;
}

const char *
store_list_sort_key(const struct store_list *l, size_t i)
{
	for (size_t k = 0; l->sorts && l->sorts[k].key; k++)
		if (k == i)
			return l->sorts[k].key;
	return NULL;
}
