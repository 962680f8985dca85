package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/tocsin/tocsin"
)

// expiringReports selects the reports ExpireReports deletes, given the
// cut-off: those received before it whose incident is no longer waiting
// for a verifier's decision.
//
// The age is received_at, the time of the transaction that stored the
// report, read from the server's clock. observed_at comes from the client:
// a phone that was offline back-dates it by up to seven days, and anyone
// may, so counting from it would let a reporter shorten (or, within the
// allowed clock skew, lengthen) how long their report is kept.
//
// Unverified and corroborated incidents are the verifiers' queue: their
// reports are the evidence a verifier is weighing, and must not vanish
// while the incident is on screen, however long it waits. Once decided
// (verified, unverifiable, duplicate, retracted; merged ones have handed
// their reports on), the decision and the incident's aggregates are the
// record, and the raw reports go when they are old enough.
const expiringReports = `SELECT r.id FROM reports r JOIN incidents i ON i.id = r.incident_id
	WHERE r.received_at < ? AND i.state NOT IN ('unverified', 'corroborated')`

// ExpireReports deletes the reports received before before whose incident
// has been decided, with their photos and idempotency keys, in one
// transaction, and records the sweep in the audit log when it deleted any.
//
// It does not recount the incidents: their report and reporter counts,
// centre and first and last seen stay as they were. What the deleted
// reports added is kept in the incident's expired_* columns, so that a
// later recount (a report joining a verified incident, or a merge) adds it
// back instead of forgetting it. The one inexactness is a reporter all of
// whose reports in an incident expired and who then reports there again:
// they count twice.
func (s *ReportService) ExpireReports(ctx context.Context, before time.Time) (int, error) {
	if tocsin.ActorFromContext(ctx) != "system" {
		return 0, tocsin.Errorf(tocsin.EFORBIDDEN, "only tocsin's own retention sweep expires reports")
	}
	cut := nanos(before)
	var n int
	err := s.db.update(ctx, func(tx *Tx) error {
		// First what the expiring reports add to their incidents, while
		// they are still there to be counted. A reporter is expired from
		// an incident only when none of their reports in it is left.
		res, err := tx.ExecContext(ctx, `WITH gone AS (
				SELECT r.incident_id, r.reporter, r.lat, r.lon FROM reports r WHERE r.id IN (`+expiringReports+`))
			UPDATE incidents SET
				expired_reports = expired_reports + (SELECT COUNT(*) FROM gone WHERE gone.incident_id = incidents.id),
				expired_lat_sum = expired_lat_sum + (SELECT TOTAL(lat) FROM gone WHERE gone.incident_id = incidents.id),
				expired_lon_sum = expired_lon_sum + (SELECT TOTAL(lon) FROM gone WHERE gone.incident_id = incidents.id),
				expired_reporters = expired_reporters + (SELECT COUNT(DISTINCT gone.reporter) FROM gone WHERE gone.incident_id = incidents.id
					AND NOT EXISTS (SELECT 1 FROM reports kept WHERE kept.incident_id = incidents.id AND kept.reporter = gone.reporter AND kept.received_at >= ?))
			WHERE id IN (SELECT incident_id FROM gone)`, cut, cut)
		if err != nil {
			return err
		}
		incidents, err := res.RowsAffected()
		if err != nil {
			return err
		}
		// Photos and idempotency rows would go by ON DELETE CASCADE; they
		// are deleted by name so that nothing depends on the pragma.
		for _, table := range []string{"report_photos", "report_idempotency"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE report_id IN (`+expiringReports+`)`, cut); err != nil {
				return err
			}
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM reports WHERE id IN (`+expiringReports+`)`, cut)
		if err != nil {
			return err
		}
		deleted, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n = int(deleted); n == 0 {
			return nil
		}
		return tx.audit(ctx, "report.expire", "reports", map[string]any{
			"reports": n, "incidents": incidents, "received_before": before.UTC().Format(time.RFC3339Nano)})
	})
	if err != nil {
		return 0, fmt.Errorf("expire reports: %w", err)
	}
	return n, nil
}
