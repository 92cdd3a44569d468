-- Reverts 0004 operations, children before parents.
DROP TABLE IF EXISTS devices;
DROP TABLE IF EXISTS inventory_movements;
DROP TABLE IF EXISTS inventory;
