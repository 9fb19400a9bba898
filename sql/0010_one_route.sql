-- One route per account for life (issue 20 §2, issue 21 item 6).

-- 1 = a tenant proxy (proxies import): accounts of its tenant without their own may be pinned to it,
-- and anonymous `proxy` checks go through it; 0 = an Instagram account's own (ig import), used by
-- that account alone.
ALTER TABLE proxies ADD COLUMN shared INTEGER NOT NULL DEFAULT 1;

-- The tenant proxy an Instagram account without its own was pinned to at first use; new proxies
-- never move it (only `ig proxy` does).
ALTER TABLE ig_accounts ADD COLUMN pinned_proxy_id {{BIGINT}} REFERENCES proxies(id) ON DELETE SET NULL;

-- 1 = a person said this Instagram account goes out directly (`ig proxy … --direct`).
ALTER TABLE ig_accounts ADD COLUMN direct INTEGER NOT NULL DEFAULT 0;

-- When the proxy an account used was removed (--force): it sends nothing until a person gives it
-- a proxy or says --direct.
ALTER TABLE ig_accounts ADD COLUMN proxy_removed_at {{BIGINT}};
ALTER TABLE telegram_accounts ADD COLUMN proxy_removed_at {{BIGINT}};
