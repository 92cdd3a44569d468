#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "principal.h"
#include "tests/unit/unit.h"
#include "wsd.h"

/* Every event of lib/events.h has a line in the daemon's role table. */
START_TEST(role_table)
{
	static const char *const everyone[] = {
	    "customer:created",
	    "customer:updated",
	    "customer:deleted",
	    "payment:created",
	    "payment:updated",
	    "ticket:created",
	    "ticket:updated",
	    "device:status",
	    "router:status",
	    "monitoring:update",
	    "alert:created",
	    "speed_boost:updated",
	    NULL,
	};

	for (const char *const *n = everyone; *n; n++)
		ck_assert_int_eq(wsd_event_min_role(*n), ROLE_VIEWER);
	ck_assert_int_eq(wsd_event_min_role("report:completed"), ROLE_OPERATOR);
	/* Unknown names reach nobody; so do near misses and NULL. */
	ck_assert_int_eq(wsd_event_min_role("secret:thing"), -1);
	ck_assert_int_eq(wsd_event_min_role("customer:created "), -1);
	ck_assert_int_eq(wsd_event_min_role("Customer:created"), -1);
	ck_assert_int_eq(wsd_event_min_role(""), -1);
	ck_assert_int_eq(wsd_event_min_role(NULL), -1);
}
END_TEST

START_TEST(config_keys)
{
	struct config c;
	char err[256];

	config_defaults(&c);
	ck_assert_str_eq(c.events_listen, "127.0.0.1:8091");
	ck_assert_str_eq(c.events_socket, "/run/rtrw-events/nudge.sock");
	ck_assert_int_eq(c.events_poll_ms, 500);
	ck_assert_int_eq(c.events_ping_seconds, 30);
	ck_assert_int_eq(c.events_retention_days, 7);
	ck_assert_int_eq(config_parse(&c,
	                              "events_poll_ms = 50\n"
	                              "events_retention_days = 30\n"
	                              "events_listen = 127.0.0.1:9000\n",
	                              "t", err, sizeof(err)),
	                 0);
	ck_assert_int_eq(c.events_poll_ms, 50);
	ck_assert_int_eq(c.events_retention_days, 30);
	ck_assert_int_eq(
	    config_parse(&c, "events_poll_ms = 10\n", "t", err, sizeof(err)),
	    -1);
	ck_assert_int_eq(config_parse(&c, "events_retention_days = 0\n", "t",
	                              err, sizeof(err)),
	                 -1);
}
END_TEST

UNIT_MAIN("wsd", role_table, config_keys)
