/*
 * Real-time events.  A change writes an event row in its own transaction
 * (so an event exists exactly when the change committed); the WebSocket
 * daemon delivers rows in id order to the tenant's clients, who may
 * resume from the last id they saw.
 *
 * Names: customer:created|updated|deleted, payment:created|updated,
 * ticket:created|updated, device:status, router:status,
 * monitoring:update, alert:created, speed_boost:updated,
 * report:completed.
 */
#ifndef RTRW_EVENTS_H
#define RTRW_EVENTS_H

#include <cjson/cJSON.h>
#include <stdint.h>

struct tdb;

/* Records event name about (entity_type, entity_id) with data; 0 or -1. */
int event_emit(struct tdb *t, const char *name, const char *entity_type,
               int64_t entity_id, const cJSON *data);

#endif
