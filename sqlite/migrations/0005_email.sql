-- Email double opt-in and one-click unsubscribe: the tokens of a
-- subscription, one per purpose ('confirm', single-use and expiring;
-- 'unsubscribe', lasting as long as the subscription), stored only as
-- SHA-256 hashes. Deleting the subscription deletes its tokens.
CREATE TABLE subscription_tokens (
	subscription_seq INTEGER NOT NULL REFERENCES subscriptions(seq) ON DELETE CASCADE,
	purpose          TEXT NOT NULL,
	token_hash       BLOB NOT NULL,
	expires_at       INTEGER,
	PRIMARY KEY (subscription_seq, purpose)
);
