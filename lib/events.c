#include "events.h"

#include <stdlib.h>

#include "store/shared.h"

int
event_emit(struct tdb *t, const char *name, const char *entity_type,
           int64_t entity_id, const cJSON *data)
{
	char *text = data ? cJSON_PrintUnformatted(data) : NULL;
	int rc;

	if (data && !text)
		return -1;
	rc = store_event_insert(t, name, entity_type, entity_id, text);
	free(text);
	return rc;
}
