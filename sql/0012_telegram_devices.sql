-- One device per Telegram account (issue 23, item 3): initConnection's deviceModel, systemVersion,
-- appVersion, langCode and systemLangCode, as JSON. NULL until chosen (import, or first connect).
ALTER TABLE telegram_accounts ADD COLUMN device_json TEXT;

-- What a session file's .json carried beyond the columns (twoFA, unknown keys, the user id a
-- Pyrogram file names), encrypted like every secret: the .json is kept, never left in the clear.
ALTER TABLE telegram_accounts ADD COLUMN session_meta_enc TEXT;
