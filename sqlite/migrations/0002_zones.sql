-- Named zones (neighbourhoods, counties) with names in several languages.
CREATE TABLE zones (
	id         TEXT PRIMARY KEY,
	names      TEXT NOT NULL,
	area       TEXT NOT NULL,
	geocodes   TEXT NOT NULL DEFAULT '{}',
	created_at INTEGER NOT NULL
);
