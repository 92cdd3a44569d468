-- Reverts 0009.
DROP TABLE speed_boosts;
