#include "seed.h"

#include <stddef.h>

#include "store/mail.h"
#include "store/plan.h"

typedef int (*seed_fn)(struct tdb *t);

/* Each feature's default data for a new tenant, in order. */
static const seed_fn seeds[] = {
    store_plan_seed, /* the default service plans */
    store_mail_seed, /* the default email templates */
    NULL,
};

int
seed_tenant(struct tdb *t)
{
	for (size_t i = 0; seeds[i]; i++)
		if (seeds[i](t) < 0)
			return -1;
	return 0;
}
