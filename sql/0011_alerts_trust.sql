-- Alerts you can trust (issue 22).

-- A tenant's notify target is a secret (Slack and Discord hooks carry their token in the path):
-- stored encrypted, shown by its label (scheme and host). The old plain column is read until the
-- target is set again (`tenants set NAME --notify-target-file F`) or `notify` seals it.
ALTER TABLE tenants ADD COLUMN notify_target_enc TEXT;
ALTER TABLE tenants ADD COLUMN notify_target_label TEXT;
-- Each tenant's webhook is signed with its own Standard Webhooks secret (whsec_…), never the operator's.
ALTER TABLE tenants ADD COLUMN notify_secret_enc TEXT;
-- The least severe event this tenant's target gets (default: ACCTCTL_NOTIFY_MIN_SEVERITY).
ALTER TABLE tenants ADD COLUMN notify_min_severity TEXT;

-- A worker claims the oldest due delivery of one sink.
CREATE INDEX deliveries_sink_due ON deliveries (sink, status, next_attempt_at, id);
