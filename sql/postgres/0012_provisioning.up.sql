-- 0012 provisioning: see sql/mysql/0012_provisioning.up.sql.
ALTER TABLE routers
	ADD COLUMN prov_owner varchar(100) NULL,
	ADD COLUMN prov_lease_until timestamptz NULL,
	ADD COLUMN prov_retry_at timestamptz NULL,
	ADD COLUMN prov_failures integer NOT NULL DEFAULT 0;

CREATE INDEX ix_provisioning_jobs_tenant_router
	ON provisioning_jobs (tenant_id, router_id, status, id);
