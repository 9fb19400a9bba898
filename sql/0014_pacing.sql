-- Pacing (issue 24). Each account lives somewhere: its IANA time zone (NULL: its tenant's, else
-- ACCTCTL_TIMEZONE, else UTC); a tenant's is the default of its accounts.
ALTER TABLE tenants ADD COLUMN timezone TEXT;
ALTER TABLE telegram_accounts ADD COLUMN timezone TEXT;

-- A new account's warm-up ramp counts local days from this moment (accounts_config `new: true`,
-- `accounts import --new`); NULL: not new, its daily budget is drawn from its limit.
ALTER TABLE telegram_accounts ADD COLUMN new_since {{BIGINT}};
