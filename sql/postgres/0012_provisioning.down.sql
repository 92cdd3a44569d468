-- Reverts 0012.
DROP INDEX ix_provisioning_jobs_tenant_router;
ALTER TABLE routers
	DROP COLUMN prov_failures,
	DROP COLUMN prov_retry_at,
	DROP COLUMN prov_lease_until,
	DROP COLUMN prov_owner;
