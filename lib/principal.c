#include "principal.h"

#include <string.h>

static const char *const role_names[ROLE__MAX] = {
    "public", "viewer", "technician", "operator", "admin", "platform",
};

const char *
role_name(enum role role)
{
	if ((int)role < 0 || role >= ROLE__MAX)
		return "unknown";
	return role_names[role];
}

int
role_parse(const char *s)
{
	for (int i = 0; i < ROLE__MAX; i++)
		if (strcmp(s, role_names[i]) == 0)
			return i;
	return -1;
}
