-- The core schema: principals, reports and incidents, alerts and their outbox,
-- subscriptions, failed deliveries, and the audit chain. Times are Unix
-- nanoseconds (UTC).

CREATE TABLE principals (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	token_hash BLOB NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);

CREATE TABLE incidents (
	id             TEXT PRIMARY KEY,
	category       TEXT NOT NULL,
	event          TEXT NOT NULL DEFAULT '',
	state          TEXT NOT NULL,
	lat            REAL NOT NULL,
	lon            REAL NOT NULL,
	report_count   INTEGER NOT NULL,
	reporter_count INTEGER NOT NULL,
	first_seen     INTEGER NOT NULL,
	last_seen      INTEGER NOT NULL,
	decided_by     INTEGER REFERENCES principals(id),
	decided_at     INTEGER,
	note           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incidents_open ON incidents(category, last_seen);
CREATE INDEX incidents_recent ON incidents(last_seen);

CREATE TABLE reports (
	id           TEXT PRIMARY KEY,
	incident_id  TEXT NOT NULL REFERENCES incidents(id),
	lat          REAL NOT NULL,
	lon          REAL NOT NULL,
	accuracy_m   REAL,
	observed_at  INTEGER NOT NULL,
	received_at  INTEGER NOT NULL,
	category     TEXT NOT NULL,
	event        TEXT NOT NULL DEFAULT '',
	text         TEXT NOT NULL,
	language     TEXT NOT NULL DEFAULT '',
	channel      TEXT NOT NULL,
	reporter     TEXT NOT NULL,
	receipt_hash BLOB NOT NULL UNIQUE
);
CREATE INDEX reports_incident ON reports(incident_id, received_at);

CREATE TABLE alerts (
	id           TEXT PRIMARY KEY,
	sender       TEXT NOT NULL,
	sent         INTEGER NOT NULL,
	status       TEXT NOT NULL,
	msg_type     TEXT NOT NULL,
	scope        TEXT NOT NULL,
	refs         TEXT NOT NULL DEFAULT '[]',
	incident_id  TEXT REFERENCES incidents(id),
	infos        TEXT NOT NULL,
	areas        TEXT NOT NULL,
	state        TEXT NOT NULL,
	author_id    INTEGER NOT NULL REFERENCES principals(id),
	approved_by  INTEGER REFERENCES principals(id),
	created_at   INTEGER NOT NULL,
	published_at INTEGER,
	cancelled_at INTEGER,
	expires_at   INTEGER
);
CREATE INDEX alerts_state ON alerts(state, created_at);

-- The outbox: one row per alert change to announce, written in the same
-- transaction as the change. checkpoint is the highest subscription seq whose
-- fan-out is finished.
CREATE TABLE events (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	type       TEXT NOT NULL,
	alert_id   TEXT NOT NULL REFERENCES alerts(id),
	created_at INTEGER NOT NULL,
	checkpoint INTEGER NOT NULL DEFAULT 0,
	done       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_pending ON events(done, seq);

CREATE TABLE subscriptions (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	id              TEXT NOT NULL UNIQUE,
	area            TEXT NOT NULL,
	languages       TEXT NOT NULL,
	min_severity    TEXT NOT NULL DEFAULT '',
	categories      TEXT NOT NULL DEFAULT '[]',
	channel_type    TEXT NOT NULL,
	channel_url     TEXT NOT NULL DEFAULT '',
	secret          TEXT NOT NULL,
	token_hash      BLOB NOT NULL,
	state           TEXT NOT NULL,
	disabled_reason TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL
);

-- Only deliveries whose first attempt failed get a row.
CREATE TABLE deliveries (
	id               TEXT PRIMARY KEY,
	event_seq        INTEGER NOT NULL REFERENCES events(seq),
	subscription_seq INTEGER NOT NULL,
	channel          TEXT NOT NULL,
	state            TEXT NOT NULL,
	attempts         INTEGER NOT NULL,
	next_attempt_at  INTEGER NOT NULL,
	last_error       TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);

CREATE TABLE audit (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	subject   TEXT NOT NULL,
	detail    TEXT NOT NULL DEFAULT '',
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
