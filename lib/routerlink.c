#include "routerlink.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alerts.h"
#include "arena.h"
#include "config.h"
#include "crypto.h"
#include "events.h"
#include "row.h"
#include "store/router.h"

#define LARGE_REPLY_BYTES (64L * 1024 * 1024)

void
routerlink_aad(char *out, size_t n, int64_t tenant_id, int64_t id)
{
	snprintf(out, n, "router:%" PRId64 ":%" PRId64 ":password", tenant_id,
	         id);
}

int
routerlink_password(const struct config *cfg, const struct router_secret *rs,
                    char *out, size_t cap)
{
	char aad[96];

	if (!rs->password_enc.p || rs->password_enc.n <= CRYPTO_OVERHEAD ||
	    rs->password_enc.n - CRYPTO_OVERHEAD + 1 > cap)
		return -1;
	routerlink_aad(aad, sizeof(aad), rs->tenant_id, rs->id);
	return crypto_open(cfg, aad, rs->password_enc.p, rs->password_enc.n,
	                   out, cap) < 0
	           ? -1
	           : 0;
}

/* Copies the first value of key of the first item of res into out. */
static void
first_value(const struct ros_result *res, const char *key, char *out, size_t n)
{
	const char *v = res->items ? ros_item_get(res->items, key) : NULL;

	snprintf(out, n, "%s", v ? v : "");
}

struct ros_conn *
routerlink_open(const struct config *cfg, const struct router_secret *rs,
                char *password, int large_replies, struct arena *a,
                struct routerlink_info *info, struct ros_error *err)
{
	struct ros_opts o;
	struct ros_conn *c;
	struct ros_cmd *cmds[2];
	struct ros_result res[2];

	memset(info, 0, sizeof(*info));
	memset(&o, 0, sizeof(o));
	o.host = rs->host;
	o.port = (int)rs->api_port;
	o.use_tls = rs->use_tls || rs->tls_anonymous;
	o.tls_anonymous = rs->tls_anonymous;
	o.tls_fingerprint = rs->tls_fingerprint;
	o.username = rs->username;
	o.password = password;
	o.connect_timeout_ms = cfg->router_connect_timeout_ms;
	o.read_timeout_ms = cfg->router_read_timeout_ms;
	o.write_timeout_ms = cfg->router_read_timeout_ms;
	if (large_replies)
		o.max_reply_bytes = LARGE_REPLY_BYTES;
	c = ros_connect(&o, err);
	if (!c)
		return NULL;
	cmds[0] = ros_cmd_new(a, "/system/identity/print");
	cmds[1] = ros_cmd_new(a, "/system/resource/print");
	ros_cmd_attr(cmds[1], ".proplist", "version");
	if (ros_pipeline(c, cmds, 2, a, res, err) < 0) {
		ros_close(c);
		return NULL;
	}
	if (res[0].status == ROS_OK)
		first_value(&res[0], "name", info->identity,
		            sizeof(info->identity));
	if (res[1].status == ROS_OK)
		first_value(&res[1], "version", info->version,
		            sizeof(info->version));
	snprintf(info->fingerprint, sizeof(info->fingerprint), "%s",
	         ros_conn_fingerprint(c));
	return c;
}

struct ros_conn *
routerlink_connect(const struct config *cfg, const struct router_secret *rs,
                   int large_replies, struct arena *a,
                   struct routerlink_info *info, struct ros_error *err)
{
	char pw[ROUTERLINK_PASSWORD_MAX * 4 + 1];
	struct ros_conn *c;

	memset(info, 0, sizeof(*info));
	if (routerlink_password(cfg, rs, pw, sizeof(pw)) < 0) {
		explicit_bzero(pw, sizeof(pw));
		memset(err, 0, sizeof(*err));
		err->code = ROS_ERR_AUTH;
		err->category = -1;
		snprintf(err->message, sizeof(err->message),
		         "the stored router password does not open; set it "
		         "again");
		return NULL;
	}
	c = routerlink_open(cfg, rs, pw, large_replies, a, info, err);
	explicit_bzero(pw, sizeof(pw));
	return c;
}

void
routerlink_error_text(const struct ros_error *err, char *out, size_t n)
{
	const char *what;

	switch (err->code) {
	case ROS_ERR_AUTH:
		what = "login refused";
		break;
	case ROS_ERR_CERT_MISMATCH:
		what = "certificate does not match tls_fingerprint";
		break;
	case ROS_ERR_UNREACHABLE:
		what = "unreachable";
		break;
	default:
		what = ros_code_name(err->code);
		break;
	}
	snprintf(out, n, "%s: %s", what, err->message);
}

/* The event and the alert of a change of status; 0 or -1. */
static int
status_changed(struct tdb *t, const struct router *rt, const char *old)
{
	char subject[24], msg[400];
	cJSON *ev = cJSON_CreateObject();
	int rc = -1;

	if (!ev)
		return -1;
	snprintf(subject, sizeof(subject), "%" PRId64, rt->id);
	cJSON_AddNumberToObject(ev, "router_id", (double)rt->id);
	cJSON_AddStringToObject(ev, "name", rt->name);
	cJSON_AddStringToObject(ev, "host", rt->host);
	cJSON_AddStringToObject(ev, "previous_status", old);
	cJSON_AddStringToObject(ev, "status", rt->status);
	if (rt->last_seen) {
		char seen[40];

		row_time_rfc3339(rt->last_seen, seen, sizeof(seen));
		cJSON_AddStringToObject(ev, "last_seen", seen);
	} else {
		cJSON_AddNullToObject(ev, "last_seen");
	}
	if (rt->last_error)
		cJSON_AddStringToObject(ev, "last_error", rt->last_error);
	else
		cJSON_AddNullToObject(ev, "last_error");
	if (event_emit(t, "router:status", "router", rt->id, ev) < 0)
		goto out;
	if (strcmp(rt->status, "offline") == 0) {
		snprintf(msg, sizeof(msg), "router \"%s\" (%s) is offline: %s",
		         rt->name, rt->host,
		         rt->last_error ? rt->last_error : "no answer");
		if (alert_raise(t, "router_offline", "router", subject, msg,
		                ev) < 0)
			goto out;
	} else if (alert_resolve(t, "router_offline", "router", subject) < 0) {
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(ev);
	return rc;
}

int
routerlink_record(struct tdb *t, int64_t id, const struct ros_error *err,
                  const struct routerlink_info *info,
                  const char *learnt_fingerprint)
{
	struct router before, after;
	struct router_seen s = {0};
	char text[400];
	int rc;

	rc = store_router_lock(t, id, &before);
	if (rc <= 0)
		return rc;
	if (err) {
		routerlink_error_text(err, text, sizeof(text));
		s.status = "offline";
		s.last_error = text;
	} else {
		s.status = "online";
		s.identity = info && info->identity[0] ? info->identity : NULL;
		s.routeros_version =
		    info && info->version[0] ? info->version : NULL;
		s.tls_fingerprint = learnt_fingerprint;
	}
	if (store_router_set_seen(t, id, &s) < 0 ||
	    store_router_get(t, id, &after) != 1)
		return -1;
	if (strcmp(before.status, after.status) != 0 &&
	    status_changed(t, &after, before.status) < 0)
		return -1;
	return 1;
}
