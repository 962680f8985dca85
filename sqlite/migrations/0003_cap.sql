-- CAP import: partners, relayed feeds, the CAP identity of imported alerts,
-- and the references of imported Updates and Cancels that wait for their
-- alerts. Times are Unix nanoseconds (UTC).

-- A partner posts CAP alerts under one sender with its own token.
CREATE TABLE partners (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	name         TEXT NOT NULL UNIQUE,
	sender       TEXT NOT NULL UNIQUE,
	certificate  TEXT NOT NULL DEFAULT '', -- PEM; empty when the partner does not sign
	publish      TEXT NOT NULL CHECK (publish IN ('direct', 'review')),
	principal_id INTEGER NOT NULL UNIQUE REFERENCES principals(id),
	created_at   INTEGER NOT NULL
);

-- Each relayed feed is the author of the alerts read from it.
CREATE TABLE relays (
	url          TEXT PRIMARY KEY,
	principal_id INTEGER NOT NULL UNIQUE REFERENCES principals(id),
	created_at   INTEGER NOT NULL
);

-- The CAP identity of an imported alert, as its source gave it.
CREATE TABLE cap_alerts (
	alert_id    TEXT PRIMARY KEY REFERENCES alerts(id),
	sender      TEXT NOT NULL,
	identifier  TEXT NOT NULL,
	sent        TEXT NOT NULL,              -- CAP dateTime as written, offset kept
	source_kind TEXT NOT NULL,              -- partner or relay
	source      TEXT NOT NULL,              -- partner name or feed URL
	refs        TEXT NOT NULL DEFAULT '[]', -- references as written: "sender,identifier,sent"
	created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX cap_alerts_identity ON cap_alerts(sender, identifier);

-- References of imported Updates and Cancels to alerts not received yet.
-- A row goes when its alert arrives and the reference is applied.
CREATE TABLE cap_pending_refs (
	alert_id   TEXT NOT NULL REFERENCES alerts(id),
	sender     TEXT NOT NULL,
	identifier TEXT NOT NULL,
	sent       TEXT NOT NULL,
	PRIMARY KEY (alert_id, sender, identifier)
);
CREATE INDEX cap_pending_refs_target ON cap_pending_refs(sender, identifier);
