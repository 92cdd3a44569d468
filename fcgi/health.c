/*
 * GET /health: asks the database and memcached for real, so that a load
 * balancer takes a host out when either is gone.
 */
#include "routes.h"

#include "cache.h"
#include "http.h"
#include "store/shared.h"

int
health_get(struct req *r)
{
	int db_ok = r->db && store_health_ping(r->db, r->a) == 0;
	int cache_ok = r->cache && cache_ping(r->cache) == 0;

	if (db_ok && cache_ok)
		return req_raw(r, 200,
		               "{\"status\":\"ok\",\"db\":\"ok\",\"cache\":"
		               "\"ok\"}");
	/*
	 * 503 names what is down.  It is not an error envelope: monitoring
	 * reads the same shape whatever the outcome.
	 */
	req_header(r, "Retry-After", "5");
	return req_raw(r, 503,
	               db_ok      ? (cache_ok ? ""
	                                      : "{\"status\":\"unavailable\","
	                                        "\"db\":\"ok\",\"cache\":"
	                                        "\"down\"}")
	               : cache_ok ? "{\"status\":\"unavailable\",\"db\":"
	                            "\"down\",\"cache\":\"ok\"}"
	                          : "{\"status\":\"unavailable\",\"db\":"
	                            "\"down\",\"cache\":\"down\"}");
}
