-- Account manager (leases, limits, recover). Usage is never stored as counters: limits are
-- computed from action_log, so they are right whether reset-limits ran, ran twice, or never.

-- The account reached Telegram's channel capacity (CHANNELS_TOO_MUCH): no more join leases.
ALTER TABLE telegram_accounts ADD COLUMN channels_full INTEGER NOT NULL DEFAULT 0;

-- What the current lease was taken for, so release/report-error log the right action and channel.
ALTER TABLE telegram_accounts ADD COLUMN lease_channel TEXT;

-- One row per account per local calendar day on which reset-limits ran: exactly one reset.
CREATE TABLE limit_resets (
  account_id {{BIGINT}} NOT NULL REFERENCES telegram_accounts(id) ON DELETE CASCADE,
  day TEXT NOT NULL,
  at {{BIGINT}} NOT NULL,
  PRIMARY KEY (account_id, day)
);

-- Least recently leased first: set at every lease, never null, so one index serves the order.
ALTER TABLE telegram_accounts ADD COLUMN lru_at {{BIGINT}} NOT NULL DEFAULT 0;
CREATE INDEX telegram_accounts_lru ON telegram_accounts (lru_at, id);
-- The state index made planners sort every eligible account for each lease; walking the LRU
-- index in order and stopping at the first page is what a lease needs.
DROP INDEX telegram_accounts_state;

CREATE INDEX action_log_at ON action_log (at);
CREATE INDEX telegram_accounts_lease ON telegram_accounts (lease_expires_at);
