-- 0012 provisioning: what rtrw-provision needs to apply jobs router by
-- router (lib/provision.c).
--
-- A pass over one router is leased: prov_owner ("host:pid") holds the
-- router until prov_lease_until, so that of several daemons on several
-- hosts exactly one talks to a router at a time, and the jobs of a router
-- are applied in id order.  A lease that expired (its daemon died) may be
-- taken by any other daemon; the jobs that daemon left running are taken
-- again (application is idempotent).  A router that could not be reached
-- is paused as a whole: prov_failures counts the failed passes in a row
-- and prov_retry_at says when the next one may start; its jobs wait with
-- their attempts untouched.
ALTER TABLE routers
	ADD COLUMN prov_owner VARCHAR(100) NULL,
	ADD COLUMN prov_lease_until DATETIME NULL,
	ADD COLUMN prov_retry_at DATETIME NULL,
	ADD COLUMN prov_failures INT UNSIGNED NOT NULL DEFAULT 0;

-- The jobs of one router in order (the daemon's claim), and those of one
-- customer on it (the order check).
ALTER TABLE provisioning_jobs
	ADD KEY ix_provisioning_jobs_tenant_router
		(tenant_id, router_id, status, id);
