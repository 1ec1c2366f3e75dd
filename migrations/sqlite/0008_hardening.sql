-- Issue 11 (hardening): per-account failed-login lockout.
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_since BIGINT;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
-- Idempotency-Key: an in-progress mark holds a lease; one that outlives its request expires.
ALTER TABLE idempotency_keys ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
