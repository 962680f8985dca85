-- Languages: each alert's own protected terms and the template it was
-- rendered from; the network's glossary of protected terms.
ALTER TABLE alerts ADD COLUMN protected_terms TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alerts ADD COLUMN template TEXT NOT NULL DEFAULT '';

CREATE TABLE glossary (
	term       TEXT PRIMARY KEY,
	created_at INTEGER NOT NULL
);
