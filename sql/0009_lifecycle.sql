-- Lifecycle (issue 21): ids are never reused, removal keeps history under the removed name,
-- join targets belong to a tenant.
--
-- SQLite's INTEGER PRIMARY KEY hands out max(id) + 1, so deleting the newest row gives its id to
-- the next insert: a removed account's lease token then named the next account (with its fence
-- restarted), a removed tenant's events and outbox rows were the next tenant's. AUTOINCREMENT
-- never hands out an id twice (sqlite_sequence keeps the high-water mark). SQLite cannot alter a
-- primary key, so each table whose id leaves the process is rebuilt (SQLite's documented
-- procedure: the runner turns foreign keys off around the migration and checks them before the
-- commit). Postgres identities never reuse a value: the {{SQLITE_ONLY}} lines are comments there.
-- Column lists are the tables' as of 0008; later migrations add their columns after this one.

-- tenants
{{SQLITE_ONLY}}CREATE TABLE tenants_0009 (
{{SQLITE_ONLY}}  id INTEGER PRIMARY KEY AUTOINCREMENT,
{{SQLITE_ONLY}}  name TEXT NOT NULL UNIQUE,
{{SQLITE_ONLY}}  verify_mode TEXT NOT NULL DEFAULT 'api',
{{SQLITE_ONLY}}  notify_target TEXT,
{{SQLITE_ONLY}}  limits_json TEXT,
{{SQLITE_ONLY}}  created_at INTEGER NOT NULL
{{SQLITE_ONLY}});
{{SQLITE_ONLY}}INSERT INTO tenants_0009 (id, name, verify_mode, notify_target, limits_json, created_at)
{{SQLITE_ONLY}}  SELECT id, name, verify_mode, notify_target, limits_json, created_at FROM tenants;
{{SQLITE_ONLY}}DROP TABLE tenants;
{{SQLITE_ONLY}}ALTER TABLE tenants_0009 RENAME TO tenants;

-- proxies
{{SQLITE_ONLY}}CREATE TABLE proxies_0009 (
{{SQLITE_ONLY}}  id INTEGER PRIMARY KEY AUTOINCREMENT,
{{SQLITE_ONLY}}  tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE,
{{SQLITE_ONLY}}  url_key TEXT NOT NULL UNIQUE,
{{SQLITE_ONLY}}  scheme TEXT NOT NULL,
{{SQLITE_ONLY}}  host TEXT NOT NULL,
{{SQLITE_ONLY}}  port INTEGER NOT NULL,
{{SQLITE_ONLY}}  username TEXT,
{{SQLITE_ONLY}}  password_enc TEXT,
{{SQLITE_ONLY}}  secret_enc TEXT,
{{SQLITE_ONLY}}  healthy INTEGER NOT NULL DEFAULT 1,
{{SQLITE_ONLY}}  fail_count INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  last_checked_at INTEGER,
{{SQLITE_ONLY}}  last_error TEXT,
{{SQLITE_ONLY}}  created_at INTEGER NOT NULL
{{SQLITE_ONLY}});
{{SQLITE_ONLY}}INSERT INTO proxies_0009 (id, tenant_id, url_key, scheme, host, port, username, password_enc, secret_enc, healthy, fail_count, last_checked_at, last_error, created_at)
{{SQLITE_ONLY}}  SELECT id, tenant_id, url_key, scheme, host, port, username, password_enc, secret_enc, healthy, fail_count, last_checked_at, last_error, created_at FROM proxies;
{{SQLITE_ONLY}}DROP TABLE proxies;
{{SQLITE_ONLY}}ALTER TABLE proxies_0009 RENAME TO proxies;

-- telegram_accounts
{{SQLITE_ONLY}}CREATE TABLE telegram_accounts_0009 (
{{SQLITE_ONLY}}  id INTEGER PRIMARY KEY AUTOINCREMENT,
{{SQLITE_ONLY}}  session_name TEXT NOT NULL UNIQUE,
{{SQLITE_ONLY}}  tenant_id INTEGER REFERENCES tenants(id) ON DELETE SET NULL,
{{SQLITE_ONLY}}  phone TEXT,
{{SQLITE_ONLY}}  api_id INTEGER NOT NULL,
{{SQLITE_ONLY}}  api_hash_enc TEXT NOT NULL,
{{SQLITE_ONLY}}  string_session_enc TEXT NOT NULL,
{{SQLITE_ONLY}}  dc_id INTEGER,
{{SQLITE_ONLY}}  proxy_id INTEGER REFERENCES proxies(id) ON DELETE SET NULL,
{{SQLITE_ONLY}}  enabled INTEGER NOT NULL DEFAULT 1,
{{SQLITE_ONLY}}  state TEXT NOT NULL DEFAULT 'active',
{{SQLITE_ONLY}}  state_until INTEGER,
{{SQLITE_ONLY}}  state_reason TEXT,
{{SQLITE_ONLY}}  lease_holder TEXT,
{{SQLITE_ONLY}}  lease_token INTEGER,
{{SQLITE_ONLY}}  lease_action TEXT,
{{SQLITE_ONLY}}  lease_expires_at INTEGER,
{{SQLITE_ONLY}}  fence INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  last_used_at INTEGER,
{{SQLITE_ONLY}}  next_action_at INTEGER,
{{SQLITE_ONLY}}  error_count INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  last_error TEXT,
{{SQLITE_ONLY}}  last_error_at INTEGER,
{{SQLITE_ONLY}}  limits_json TEXT,
{{SQLITE_ONLY}}  created_at INTEGER NOT NULL,
{{SQLITE_ONLY}}  updated_at INTEGER NOT NULL,
{{SQLITE_ONLY}}  channels_full INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  lease_channel TEXT,
{{SQLITE_ONLY}}  lru_at INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  lease_count INTEGER NOT NULL DEFAULT 0
{{SQLITE_ONLY}});
{{SQLITE_ONLY}}INSERT INTO telegram_accounts_0009 (id, session_name, tenant_id, phone, api_id, api_hash_enc, string_session_enc, dc_id, proxy_id, enabled, state, state_until, state_reason, lease_holder, lease_token, lease_action, lease_expires_at, fence, last_used_at, next_action_at, error_count, last_error, last_error_at, limits_json, created_at, updated_at, channels_full, lease_channel, lru_at, lease_count)
{{SQLITE_ONLY}}  SELECT id, session_name, tenant_id, phone, api_id, api_hash_enc, string_session_enc, dc_id, proxy_id, enabled, state, state_until, state_reason, lease_holder, lease_token, lease_action, lease_expires_at, fence, last_used_at, next_action_at, error_count, last_error, last_error_at, limits_json, created_at, updated_at, channels_full, lease_channel, lru_at, lease_count FROM telegram_accounts;
{{SQLITE_ONLY}}DROP TABLE telegram_accounts;
{{SQLITE_ONLY}}ALTER TABLE telegram_accounts_0009 RENAME TO telegram_accounts;
{{SQLITE_ONLY}}CREATE INDEX telegram_accounts_lru ON telegram_accounts (lru_at, id);
{{SQLITE_ONLY}}CREATE INDEX telegram_accounts_lease ON telegram_accounts (lease_expires_at);

-- api_keys
{{SQLITE_ONLY}}CREATE TABLE api_keys_0009 (
{{SQLITE_ONLY}}  id INTEGER PRIMARY KEY AUTOINCREMENT,
{{SQLITE_ONLY}}  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
{{SQLITE_ONLY}}  provider TEXT NOT NULL,
{{SQLITE_ONLY}}  key_enc TEXT NOT NULL,
{{SQLITE_ONLY}}  healthy INTEGER NOT NULL DEFAULT 1,
{{SQLITE_ONLY}}  quota_used INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  quota_reset_at INTEGER,
{{SQLITE_ONLY}}  last_error TEXT,
{{SQLITE_ONLY}}  created_at INTEGER NOT NULL
{{SQLITE_ONLY}});
{{SQLITE_ONLY}}INSERT INTO api_keys_0009 (id, tenant_id, provider, key_enc, healthy, quota_used, quota_reset_at, last_error, created_at)
{{SQLITE_ONLY}}  SELECT id, tenant_id, provider, key_enc, healthy, quota_used, quota_reset_at, last_error, created_at FROM api_keys;
{{SQLITE_ONLY}}DROP TABLE api_keys;
{{SQLITE_ONLY}}ALTER TABLE api_keys_0009 RENAME TO api_keys;

-- ig_accounts
{{SQLITE_ONLY}}CREATE TABLE ig_accounts_0009 (
{{SQLITE_ONLY}}  id INTEGER PRIMARY KEY AUTOINCREMENT,
{{SQLITE_ONLY}}  tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
{{SQLITE_ONLY}}  username TEXT NOT NULL,
{{SQLITE_ONLY}}  password_enc TEXT,
{{SQLITE_ONLY}}  totp_secret_enc TEXT,
{{SQLITE_ONLY}}  sessionid_enc TEXT,
{{SQLITE_ONLY}}  cookies_enc TEXT,
{{SQLITE_ONLY}}  proxy_id INTEGER REFERENCES proxies(id) ON DELETE SET NULL,
{{SQLITE_ONLY}}  state TEXT NOT NULL DEFAULT 'expired',
{{SQLITE_ONLY}}  priority INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  session_created_at INTEGER,
{{SQLITE_ONLY}}  last_verified_at INTEGER,
{{SQLITE_ONLY}}  next_refresh_at INTEGER,
{{SQLITE_ONLY}}  fail_count INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  last_error TEXT,
{{SQLITE_ONLY}}  created_at INTEGER NOT NULL,
{{SQLITE_ONLY}}  updated_at INTEGER NOT NULL,
{{SQLITE_ONLY}}  rate_limited_until INTEGER,
{{SQLITE_ONLY}}  browser_state_enc TEXT,
{{SQLITE_ONLY}}  device_json TEXT,
{{SQLITE_ONLY}}  UNIQUE (tenant_id, username)
{{SQLITE_ONLY}});
{{SQLITE_ONLY}}INSERT INTO ig_accounts_0009 (id, tenant_id, username, password_enc, totp_secret_enc, sessionid_enc, cookies_enc, proxy_id, state, priority, session_created_at, last_verified_at, next_refresh_at, fail_count, last_error, created_at, updated_at, rate_limited_until, browser_state_enc, device_json)
{{SQLITE_ONLY}}  SELECT id, tenant_id, username, password_enc, totp_secret_enc, sessionid_enc, cookies_enc, proxy_id, state, priority, session_created_at, last_verified_at, next_refresh_at, fail_count, last_error, created_at, updated_at, rate_limited_until, browser_state_enc, device_json FROM ig_accounts;
{{SQLITE_ONLY}}DROP TABLE ig_accounts;
{{SQLITE_ONLY}}ALTER TABLE ig_accounts_0009 RENAME TO ig_accounts;

-- targets
{{SQLITE_ONLY}}CREATE TABLE targets_0009 (
{{SQLITE_ONLY}}  id INTEGER PRIMARY KEY AUTOINCREMENT,
{{SQLITE_ONLY}}  ref TEXT NOT NULL UNIQUE,
{{SQLITE_ONLY}}  kind TEXT NOT NULL,
{{SQLITE_ONLY}}  value TEXT NOT NULL,
{{SQLITE_ONLY}}  niche TEXT NOT NULL DEFAULT 'default',
{{SQLITE_ONLY}}  status TEXT NOT NULL DEFAULT 'new',
{{SQLITE_ONLY}}  account_id INTEGER REFERENCES telegram_accounts(id) ON DELETE SET NULL,
{{SQLITE_ONLY}}  joined_at INTEGER,
{{SQLITE_ONLY}}  warmup_ends_at INTEGER,
{{SQLITE_ONLY}}  attempts INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  next_attempt_at INTEGER,
{{SQLITE_ONLY}}  error_message TEXT,
{{SQLITE_ONLY}}  lease_holder TEXT,
{{SQLITE_ONLY}}  lease_token INTEGER,
{{SQLITE_ONLY}}  lease_expires_at INTEGER,
{{SQLITE_ONLY}}  created_at INTEGER NOT NULL,
{{SQLITE_ONLY}}  updated_at INTEGER NOT NULL,
{{SQLITE_ONLY}}  requested_at INTEGER
{{SQLITE_ONLY}});
{{SQLITE_ONLY}}INSERT INTO targets_0009 (id, ref, kind, value, niche, status, account_id, joined_at, warmup_ends_at, attempts, next_attempt_at, error_message, lease_holder, lease_token, lease_expires_at, created_at, updated_at, requested_at)
{{SQLITE_ONLY}}  SELECT id, ref, kind, value, niche, status, account_id, joined_at, warmup_ends_at, attempts, next_attempt_at, error_message, lease_holder, lease_token, lease_expires_at, created_at, updated_at, requested_at FROM targets;
{{SQLITE_ONLY}}DROP TABLE targets;
{{SQLITE_ONLY}}ALTER TABLE targets_0009 RENAME TO targets;
{{SQLITE_ONLY}}CREATE INDEX targets_queue ON targets (niche, status, next_attempt_at);

-- events
{{SQLITE_ONLY}}CREATE TABLE events_0009 (
{{SQLITE_ONLY}}  id INTEGER PRIMARY KEY AUTOINCREMENT,
{{SQLITE_ONLY}}  at INTEGER NOT NULL,
{{SQLITE_ONLY}}  kind TEXT NOT NULL,
{{SQLITE_ONLY}}  subject_type TEXT NOT NULL,
{{SQLITE_ONLY}}  subject_id INTEGER,
{{SQLITE_ONLY}}  tenant_id INTEGER,
{{SQLITE_ONLY}}  message TEXT NOT NULL,
{{SQLITE_ONLY}}  data_json TEXT
{{SQLITE_ONLY}});
{{SQLITE_ONLY}}INSERT INTO events_0009 (id, at, kind, subject_type, subject_id, tenant_id, message, data_json)
{{SQLITE_ONLY}}  SELECT id, at, kind, subject_type, subject_id, tenant_id, message, data_json FROM events;
{{SQLITE_ONLY}}DROP TABLE events;
{{SQLITE_ONLY}}ALTER TABLE events_0009 RENAME TO events;
{{SQLITE_ONLY}}CREATE INDEX events_at_id ON events (at, id);
{{SQLITE_ONLY}}CREATE INDEX events_subject ON events (subject_type, subject_id, at);

-- deliveries
{{SQLITE_ONLY}}CREATE TABLE deliveries_0009 (
{{SQLITE_ONLY}}  id INTEGER PRIMARY KEY AUTOINCREMENT,
{{SQLITE_ONLY}}  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
{{SQLITE_ONLY}}  sink TEXT NOT NULL,
{{SQLITE_ONLY}}  status TEXT NOT NULL DEFAULT 'pending',
{{SQLITE_ONLY}}  attempts INTEGER NOT NULL DEFAULT 0,
{{SQLITE_ONLY}}  next_attempt_at INTEGER NOT NULL,
{{SQLITE_ONLY}}  lease_holder TEXT,
{{SQLITE_ONLY}}  lease_expires_at INTEGER,
{{SQLITE_ONLY}}  last_error TEXT,
{{SQLITE_ONLY}}  created_at INTEGER NOT NULL,
{{SQLITE_ONLY}}  delivered_at INTEGER,
{{SQLITE_ONLY}}  UNIQUE (event_id, sink)
{{SQLITE_ONLY}});
{{SQLITE_ONLY}}INSERT INTO deliveries_0009 (id, event_id, sink, status, attempts, next_attempt_at, lease_holder, lease_expires_at, last_error, created_at, delivered_at)
{{SQLITE_ONLY}}  SELECT id, event_id, sink, status, attempts, next_attempt_at, lease_holder, lease_expires_at, last_error, created_at, delivered_at FROM deliveries;
{{SQLITE_ONLY}}DROP TABLE deliveries;
{{SQLITE_ONLY}}ALTER TABLE deliveries_0009 RENAME TO deliveries;
{{SQLITE_ONLY}}CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at, id);

-- What a removed account, Instagram account, tenant, API key or target was called (and whose it
-- was), so its events stay readable under that name; ids are never reused, so (type, id) is its.
CREATE TABLE removed_subjects (
  subject_type TEXT NOT NULL,
  subject_id {{BIGINT}} NOT NULL,
  name TEXT NOT NULL,
  tenant_id {{BIGINT}},
  tenant_name TEXT,
  removed_at {{BIGINT}} NOT NULL,
  PRIMARY KEY (subject_type, subject_id)
);
CREATE INDEX removed_subjects_name ON removed_subjects (name);

-- A join target belongs to a tenant (null: imported before tenants owned targets; only a fleet
-- with at most one tenant uses those). `join --tenant T` joins T's targets with T's accounts.
ALTER TABLE targets ADD COLUMN tenant_id {{BIGINT}} REFERENCES tenants(id) ON DELETE CASCADE;
CREATE INDEX targets_tenant ON targets (tenant_id, niche, status);
