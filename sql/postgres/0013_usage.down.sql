-- Reverts 0013 (a partitioned table takes its partitions with it).
DROP FUNCTION usage_purge(integer);
DROP FUNCTION usage_partitions(text, timestamptz, integer, integer, integer);
DROP TABLE usage_settings;
DROP TABLE usage_routers;
DROP TABLE usage_sessions;
DROP TABLE usage_daily;
DROP TABLE usage_hourly;
DROP TABLE usage_5m;
DROP TABLE usage_raw;
