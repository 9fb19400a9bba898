-- check: the Instagram user id a follower/following job pages through, rate control per
-- session and endpoint kind, and a session's back-off after 429.
ALTER TABLE check_jobs ADD COLUMN target_user_id TEXT;
ALTER TABLE ig_accounts ADD COLUMN rate_limited_until {{BIGINT}};

CREATE TABLE ig_requests (
  ig_account_id {{BIGINT}} NOT NULL REFERENCES ig_accounts(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  at {{BIGINT}} NOT NULL
);
CREATE INDEX ig_requests_window ON ig_requests (ig_account_id, kind, at);
CREATE INDEX check_jobs_watch ON check_jobs (watch_id, status);
