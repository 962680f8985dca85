-- The whole channel (webhook URL, Web Push endpoint and keys, email
-- address) as JSON; channel_type and channel_url stay for webhooks.
ALTER TABLE subscriptions ADD COLUMN channel TEXT NOT NULL DEFAULT '';
