-- Issue 11 (hardening): per-account failed-login lockout.
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN failed_since BIGINT;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
