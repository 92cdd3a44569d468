/*
 * The route table: the only place URL paths appear.  Patterns under
 * routes_api are relative to /api/v1.  Every route here must be in
 * docs/openapi.yaml and the other way round (tests/e2e/test_openapi.py).
 */
#include "routes.h"

#include <stddef.h>

/* clang-format off */
const struct route routes_api[] = {
	{ 0, NULL, 0, NULL, NULL, 0, NULL }
};

const struct route routes_root[] = {
	{ HTTP_GET, "/health", ROLE_PUBLIC, health_get, NULL, R_NO_RATELIMIT,
	  "Liveness and dependency check" },
	{ 0, NULL, 0, NULL, NULL, 0, NULL }
};
/* clang-format on */
