-- Reverts 0013.
DROP PROCEDURE IF EXISTS usage_purge;
DROP PROCEDURE IF EXISTS usage_partitions;
DROP TABLE IF EXISTS usage_settings;
DROP TABLE IF EXISTS usage_routers;
DROP TABLE IF EXISTS usage_sessions;
DROP TABLE IF EXISTS usage_daily;
DROP TABLE IF EXISTS usage_hourly;
DROP TABLE IF EXISTS usage_5m;
DROP TABLE IF EXISTS usage_raw;
