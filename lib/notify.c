#include "notify.h"

#include <stdlib.h>

#include "store/mail.h"
#include "store/shared.h"

int
notify_queue(struct tdb *t, const char *template_key, int64_t user_id,
             const char *email, const cJSON *payload, const char *dedupe_key)
{
	char *text = payload ? cJSON_PrintUnformatted(payload) : NULL;
	int rc;

	if (payload && !text)
		return -1;
	rc = store_notify_queue(t, template_key, user_id, email, text,
	                        dedupe_key);
	free(text);
	return rc;
}

int
notify_admins(struct tdb *t, const char *template_key, const cJSON *payload,
              const char *dedupe_key)
{
	char *text = payload ? cJSON_PrintUnformatted(payload) : NULL;
	int rc;

	if (payload && !text)
		return -1;
	rc = store_notify_admins(t, template_key, text, dedupe_key);
	free(text);
	return rc;
}

int
notify_platform_admins(struct db *db, struct arena *a, const char *template_key,
                       const cJSON *payload, const char *dedupe_key)
{
	char *text = payload ? cJSON_PrintUnformatted(payload) : NULL;
	int64_t queued = 0;
	int rc;

	if (payload && !text)
		return -1;
	rc = store_mail_queue_platform_admins(db, a, template_key, text,
	                                      dedupe_key, &queued);
	free(text);
	return rc < 0 ? -1 : (int)queued;
}
