-- Reverts 0010.
DROP TABLE IF EXISTS backups;
