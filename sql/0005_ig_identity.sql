-- Instagram as the real site behaves (issue 9): the account's browser state (Playwright
-- storageState: cookies + localStorage, encrypted like every secret) replaces the persistent
-- Chromium profile; its stable device identity (user agent, viewport, locale, time zone; not
-- secret); and per-endpoint-kind back-offs after Instagram throttled a live session.
ALTER TABLE ig_accounts ADD COLUMN browser_state_enc TEXT;
ALTER TABLE ig_accounts ADD COLUMN device_json TEXT;

CREATE TABLE ig_backoffs (
  ig_account_id {{BIGINT}} NOT NULL REFERENCES ig_accounts(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  until_at {{BIGINT}} NOT NULL,
  strikes INTEGER NOT NULL,
  reason TEXT,
  PRIMARY KEY (ig_account_id, kind)
);

-- A session check found dead used to wait two days for its refresh: it is due now.
UPDATE ig_accounts SET next_refresh_at = updated_at WHERE state = 'expired' AND fail_count = 0;
