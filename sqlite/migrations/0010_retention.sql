-- Raw reports expire on a retention schedule (ReportService.ExpireReports),
-- and their incidents keep their aggregates. So that a later recount (a
-- report joins a verified incident, or an incident is merged into it) still
-- counts the reports that are gone, an incident remembers what they added:
-- how many there were, how many reporters had no report left in it, and the
-- sums of their (already coarsened) positions, for the centre. first_seen
-- and last_seen already hold their earliest and latest observations.
ALTER TABLE incidents ADD COLUMN expired_reports INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN expired_reporters INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN expired_lat_sum REAL NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN expired_lon_sum REAL NOT NULL DEFAULT 0;

-- The sweep finds reports by the time they were stored.
CREATE INDEX reports_received ON reports(received_at);
