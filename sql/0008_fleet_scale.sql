-- Fleet-scale status and metrics (issue 14) and seed 003's counters (issue 11, item 7).

-- Leases handed out since the account's last daily reset: bumped by the lease's own UPDATE (no
-- extra statement, no shared hot row), zeroed by reset-limits with the error count.
ALTER TABLE telegram_accounts ADD COLUMN lease_count {{BIGINT}} NOT NULL DEFAULT 0;

-- Every error report-error applied, by kind (FLOOD_WAIT, PEER_FLOOD, …): counted per kind since
-- the last reset for acctctl_errors_total; pruned with the action log.
CREATE TABLE error_log (
  id {{ID}},
  account_id {{BIGINT}} NOT NULL REFERENCES telegram_accounts(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  at {{BIGINT}} NOT NULL
);
CREATE INDEX error_log_at ON error_log (at);

-- "When did the last reset run" without reading a row per account and day.
CREATE INDEX limit_resets_at ON limit_resets (at);

