-- Reverts 0008.
ALTER TABLE provisioning_jobs
	DROP FOREIGN KEY fk_provisioning_jobs_router,
	DROP INDEX fk_provisioning_jobs_router,
	DROP COLUMN done_at,
	DROP COLUMN max_attempts;
ALTER TABLE customers
	DROP FOREIGN KEY fk_customers_router,
	DROP INDEX fk_customers_router,
	DROP CONSTRAINT ck_customers_router_state,
	DROP COLUMN router_error,
	DROP COLUMN router_state;
DROP TABLE routers;
