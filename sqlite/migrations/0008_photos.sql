-- Reporters' photos and safe retries of reports.
--
-- A report taken in through the intake gets a photo token, shown once to its
-- reporter; only its SHA-256 is kept, here.
ALTER TABLE reports ADD COLUMN photo_token_hash BLOB;

-- One photo per report: a JPEG the server re-encoded, so it holds no
-- metadata. It goes with its report.
CREATE TABLE report_photos (
	report_id  TEXT PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE,
	jpeg       BLOB NOT NULL,
	width      INTEGER NOT NULL,
	height     INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);

-- Idempotency keys of reports, kept for a day so that a phone that sent a
-- report and lost the answer can send it again without filing it twice.
-- key_hash is a SHA-256 of the client's key; fingerprint one of the report as
-- it was sent; answer is the first answer (ids, receipt, photo token) sealed
-- with AES-GCM under a key derived from the client's key, which is never
-- stored, so only the reporter who holds it can open it.
CREATE TABLE report_idempotency (
	key_hash    BLOB PRIMARY KEY,
	fingerprint BLOB NOT NULL,
	report_id   TEXT NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
	answer      BLOB NOT NULL,
	created_at  INTEGER NOT NULL
);
CREATE INDEX report_idempotency_created ON report_idempotency(created_at);
