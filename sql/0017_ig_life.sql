-- Instagram credentials have a life (issue 26, item 7).

-- `ig disable USER --tenant T`: set while an operator took the account out of use (check and
-- refresh-session skip it; its state is kept); `ig enable` clears it.
ALTER TABLE ig_accounts ADD COLUMN disabled_at {{BIGINT}};
-- When check last sent a request with the session (`ig list`'s "last used").
ALTER TABLE ig_accounts ADD COLUMN last_used_at {{BIGINT}};
