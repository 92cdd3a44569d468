/*
 * Recording a device's reachability check, shared by POST
 * /devices/{id}/check and rtrw-monitor devices.  Layer: services.
 */
#ifndef RTRW_DEVCHECK_H
#define RTRW_DEVCHECK_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct tdb;
struct device;

/* What a device check found (lib/probe.h decides). */
enum device_state { DEVICE_UNKNOWN, DEVICE_ONLINE, DEVICE_OFFLINE };

/* "online", "offline", "unknown". */
const char *devcheck_state_name(enum device_state st);

/*
 * Records the result of a check of device id in its own transaction:
 * sets status and last_checked_at, and last_seen when it answered.  A
 * change of status also writes a device:status event; going offline
 * raises the device_offline alert and queues the device_offline
 * notification to the tenant's admins, coming back online resolves that
 * alert.  user_id is the caller (0 for the monitor job); the check is
 * audited as "check" when user_id is set, and a job's check only when
 * the status changed.  Stores the row after the change in *after (may
 * be NULL).  Returns 1 done, 0 when the device does not exist (or was
 * deleted meanwhile), -1 on error (rolled back).
 */
int devcheck_record(struct tdb *t, int64_t id, enum device_state st,
                    int64_t user_id, const char *ip, const char *user_agent,
                    const cJSON *probe, struct device *after);

#endif
