-- The whole fleet probed, paced (issue 23, item 6): when each account was last probed, and when
-- `recover --probe --all` is to probe it next (its slot of the day; NULL until the first run
-- that sees it schedules it).
ALTER TABLE telegram_accounts ADD COLUMN probed_at {{BIGINT}};
ALTER TABLE telegram_accounts ADD COLUMN probe_due_at {{BIGINT}};
CREATE INDEX telegram_accounts_probe_due ON telegram_accounts (probe_due_at, id);

-- Proxies checked (issue 23, item 7): the last `proxies check` result of each proxy. check_ok 0
-- is a dead proxy: its accounts are skipped (never sent direct) until a check succeeds again.
ALTER TABLE proxies ADD COLUMN check_ok INTEGER;
ALTER TABLE proxies ADD COLUMN check_reason TEXT;
ALTER TABLE proxies ADD COLUMN check_latency_ms INTEGER;
ALTER TABLE proxies ADD COLUMN check_target TEXT;
ALTER TABLE proxies ADD COLUMN checked_at {{BIGINT}};
