-- Reverts 0003 business, children before parents.
DROP TABLE IF EXISTS events;
DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS ticket_comments;
DROP TABLE IF EXISTS tickets;
DROP TABLE IF EXISTS provisioning_jobs;
DROP TABLE IF EXISTS payments;
DROP TABLE IF EXISTS customers;
DROP TABLE IF EXISTS tenant_counters;
DROP TABLE IF EXISTS plan_price_history;
DROP TABLE IF EXISTS service_plans;
