-- Reverts 0011.
DROP TABLE IF EXISTS backups;
