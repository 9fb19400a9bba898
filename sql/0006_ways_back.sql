-- Ways back for targets: when a join request was sent (pending_approval), so join can re-check it
-- on a schedule (next_attempt_at) and expire it after N days with a reason.
ALTER TABLE targets ADD COLUMN requested_at {{BIGINT}};
