-- Accounts that sign in with a password, for the console. An account is a
-- principal: its role and its id (audit, two-person rule) come from the
-- principals row, whose token_hash is a hash of a secret nobody was given.
CREATE TABLE users (
	principal_id  INTEGER PRIMARY KEY REFERENCES principals(id),
	name          TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL, -- PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$hash
	created_at    INTEGER NOT NULL
);

-- Browser sessions. id is the SHA-256 of the cookie's token; the token itself
-- is never stored. A session ends at expires_at (absolute) or when last_seen
-- is older than the idle timeout.
CREATE TABLE sessions (
	id           BLOB PRIMARY KEY,
	principal_id INTEGER NOT NULL REFERENCES users(principal_id),
	csrf_secret  TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	last_seen    INTEGER NOT NULL
);
CREATE INDEX sessions_principal ON sessions(principal_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
