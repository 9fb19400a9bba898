-- Alerts (issue 12): what the fleet learns reaches people.

-- Follower snapshots keep what `watch followers --json` prints.
ALTER TABLE check_job_items ADD COLUMN full_name TEXT;
ALTER TABLE check_job_items ADD COLUMN is_private INTEGER;

-- `events --since D` walks this index newest first and stops at --limit.
CREATE INDEX events_at_id ON events (at, id);
DROP INDEX events_at;
CREATE INDEX events_subject ON events (subject_type, subject_id, at);

-- The outbox: one row per event and sink, claimed like a lease, delivered once.
CREATE TABLE deliveries (
  id {{ID}},
  event_id {{BIGINT}} NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  sink TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at {{BIGINT}} NOT NULL,
  lease_holder TEXT,
  lease_expires_at {{BIGINT}},
  last_error TEXT,
  created_at {{BIGINT}} NOT NULL,
  delivered_at {{BIGINT}},
  UNIQUE (event_id, sink)
);
-- Claims walk this in order and stop at the batch size.
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at, id);

-- Conditions that are alerted once while they last (key: condition and subject).
CREATE TABLE open_alerts (
  alert_key TEXT PRIMARY KEY,
  event_id {{BIGINT}},
  opened_at {{BIGINT}} NOT NULL
);

-- Per Instagram session: refreshes (proactive / reactive) and check requests, with their outcome.
CREATE TABLE ig_session_log (
  ig_account_id {{BIGINT}} NOT NULL REFERENCES ig_accounts(id) ON DELETE CASCADE,
  what TEXT NOT NULL,
  at {{BIGINT}} NOT NULL,
  ok INTEGER NOT NULL
);
CREATE INDEX ig_session_log_at ON ig_session_log (ig_account_id, what, at);
CREATE INDEX ig_session_log_prune ON ig_session_log (at);
CREATE INDEX ig_requests_at ON ig_requests (at);
CREATE INDEX check_jobs_completed ON check_jobs (status, completed_at);
