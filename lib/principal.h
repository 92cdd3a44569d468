/*
 * Who is calling: the roles of a tenant, and the principal that a
 * verified access token names.  Layer: base (plain types), so that the
 * services (auth, identity) need neither the HTTP request nor the router.
 */
#ifndef RTRW_PRINCIPAL_H
#define RTRW_PRINCIPAL_H

#include <stdint.h>

/* Roles in rising order of power; a route names the least it needs. */
/* clang-format off */
enum role {
	ROLE_PUBLIC = 0,   /* no token */
	ROLE_VIEWER,
	ROLE_TECHNICIAN,
	ROLE_OPERATOR,
	ROLE_ADMIN,
	ROLE_PLATFORM,     /* platform administrators, not a tenant role */
	ROLE__MAX
};
/* clang-format on */

struct principal {
	int64_t user_id;
	int64_t tenant_id;
	int role; /* enum role */
	int platform;
};

/* Name of a role ("viewer"...) and back; -1 when unknown. */
const char *role_name(enum role role);
int role_parse(const char *s);

#endif
