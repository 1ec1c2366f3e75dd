-- Issue 11 (hardening): per-account failed-login lockout.
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_since BIGINT;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
-- Idempotency-Key: an in-progress mark holds a lease; one that outlives its request expires.
ALTER TABLE idempotency_keys ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
-- Result consent: whether a completed tracker battle counts in each player's record.
ALTER TABLE tracker_battles ADD COLUMN p1_counts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tracker_battles ADD COLUMN p2_counts BIGINT NOT NULL DEFAULT 0;
-- Results entered before consent existed keep counting.
UPDATE tracker_battles SET p1_counts = 1, p2_counts = 1 WHERE status = 'completed';
