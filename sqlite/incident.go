package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/tocsin/tocsin"
)

// IncidentService lets verifiers see and decide incidents.
type IncidentService struct{ db *DB }

var _ tocsin.IncidentService = (*IncidentService)(nil)

// NewIncidentService returns an IncidentService on db.
func NewIncidentService(db *DB) *IncidentService { return &IncidentService{db: db} }

const incidentColumns = `id, category, event, state, lat, lon, report_count, reporter_count, first_seen, last_seen, decided_by, decided_at, note, merged_into`

type scanner interface{ Scan(dest ...any) error }

func scanIncident(s scanner) (*tocsin.Incident, error) {
	var inc tocsin.Incident
	var cat, state string
	var first, last int64
	var by, at sql.NullInt64
	var into sql.NullString
	if err := s.Scan(&inc.ID, &cat, &inc.Event, &state, &inc.Lat, &inc.Lon, &inc.ReportCount, &inc.ReporterCount, &first, &last, &by, &at, &inc.Note, &into); err != nil {
		return nil, err
	}
	inc.MergedInto = into.String
	inc.Category, inc.State = tocsin.Category(cat), tocsin.IncidentState(state)
	inc.FirstSeen, inc.LastSeen = fromNanos(first), fromNanos(last)
	inc.DecidedBy, inc.DecidedAt = int64Ptr(by), timePtr(at)
	return &inc, nil
}

// FindIncidentByID returns one incident.
func (s *IncidentService) FindIncidentByID(ctx context.Context, id string) (*tocsin.Incident, error) {
	if _, err := tocsin.Require(ctx, tocsin.RoleVerifier); err != nil {
		return nil, err
	}
	inc, err := scanIncident(s.db.read.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("incident", id)
	} else if err != nil {
		return nil, fmt.Errorf("find incident: %w", err)
	}
	return inc, nil
}

// FindIncidents returns incidents, most recently seen first.
func (s *IncidentService) FindIncidents(ctx context.Context, f tocsin.IncidentFilter) ([]*tocsin.Incident, int, error) {
	if _, err := tocsin.Require(ctx, tocsin.RoleVerifier); err != nil {
		return nil, 0, err
	}
	where, args := []string{"1 = 1"}, []any{}
	if f.State != nil {
		if !f.State.Valid() {
			return nil, 0, &tocsin.Error{Code: tocsin.EINVALID, Message: "unknown incident state", Fields: []tocsin.FieldError{{Field: "state", Detail: "must be one of unverified, corroborated, verified, unverifiable, duplicate, retracted, merged"}}}
		}
		where, args = append(where, "state = ?"), append(args, string(*f.State))
	}
	if len(f.States) > 0 {
		marks := make([]string, len(f.States))
		for i, st := range f.States {
			if !st.Valid() {
				return nil, 0, &tocsin.Error{Code: tocsin.EINVALID, Message: "unknown incident state", Fields: []tocsin.FieldError{{Field: "state", Detail: "must be open or one or more of unverified, corroborated, verified, unverifiable, duplicate, retracted, merged"}}}
			}
			marks[i], args = "?", append(args, string(st))
		}
		where = append(where, "state IN ("+strings.Join(marks, ", ")+")")
	}
	w := strings.Join(where, " AND ")
	var total int
	if err := s.db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE `+w, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("find incidents: %w", err)
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE `+w+` ORDER BY last_seen DESC LIMIT ? OFFSET ?`, append(args, limit(f.Limit), f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("find incidents: %w", err)
	}
	defer rows.Close()
	var out []*tocsin.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("find incidents: %w", err)
		}
		out = append(out, inc)
	}
	return out, total, rows.Err()
}

// DecideIncident verifies or rejects an incident.
func (s *IncidentService) DecideIncident(ctx context.Context, id string, state tocsin.IncidentState, note string) (*tocsin.Incident, error) {
	p, err := tocsin.Require(ctx, tocsin.RoleVerifier)
	if err != nil {
		return nil, err
	}
	if state != tocsin.IncidentVerified && state != tocsin.IncidentUnverifiable && state != tocsin.IncidentDuplicate && state != tocsin.IncidentRetracted {
		return nil, tocsin.Errorf(tocsin.EINVALID, "an incident can be decided as verified, unverifiable, duplicate or retracted")
	}
	if len(note) > 2000 {
		return nil, &tocsin.Error{Code: tocsin.EINVALID, Message: "note is too long", Fields: []tocsin.FieldError{{Field: "note", Detail: "at most 2000 characters"}}}
	}
	var inc *tocsin.Incident
	err = s.db.update(ctx, func(tx *Tx) error {
		cur, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
		if err == sql.ErrNoRows {
			return notFound("incident", id)
		} else if err != nil {
			return err
		}
		// A verified incident can still turn out to be a duplicate or be
		// retracted, but not become unverifiable.
		if !cur.State.Open() || cur.State == state || (cur.State == tocsin.IncidentVerified && state == tocsin.IncidentUnverifiable) {
			return tocsin.Errorf(tocsin.ECONFLICT, "incident %s is already %s", id, cur.State)
		}
		from := cur.State
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET state = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?`,
			string(state), p.ID, nanos(tx.now), note, id); err != nil {
			return err
		}
		cur.State, cur.DecidedBy, cur.Note = state, &p.ID, note
		t := tx.now
		cur.DecidedAt = &t
		inc = cur
		return tx.audit(ctx, "incident."+string(state), id, map[string]any{"from": from, "note": note})
	})
	if err != nil {
		return nil, fmt.Errorf("decide incident: %w", err)
	}
	return inc, nil
}

// MergeIncidents moves the reports of incident id into incident into and
// marks id merged, in one transaction.
func (s *IncidentService) MergeIncidents(ctx context.Context, id, into, note string) (merged, target *tocsin.Incident, err error) {
	if _, err := tocsin.Require(ctx, tocsin.RoleVerifier); err != nil {
		return nil, nil, err
	}
	into = strings.TrimSpace(into)
	invalid := func(detail string, args ...any) error {
		msg := fmt.Sprintf(detail, args...)
		return &tocsin.Error{Code: tocsin.EINVALID, Message: "into: " + msg, Fields: []tocsin.FieldError{{Field: "into", Detail: msg}}}
	}
	switch {
	case into == "":
		return nil, nil, invalid("is required: the id of the incident to merge into")
	case into == id:
		return nil, nil, invalid("an incident cannot be merged into itself")
	}
	if len(note) > 2000 {
		return nil, nil, &tocsin.Error{Code: tocsin.EINVALID, Message: "note is too long", Fields: []tocsin.FieldError{{Field: "note", Detail: "at most 2000 characters"}}}
	}
	err = s.db.update(ctx, func(tx *Tx) error {
		src, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
		if err == sql.ErrNoRows {
			return notFound("incident", id)
		} else if err != nil {
			return err
		}
		dst, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, into))
		if err == sql.ErrNoRows {
			return invalid("incident %s does not exist", into)
		} else if err != nil {
			return err
		}
		if !src.State.Open() {
			return tocsin.Errorf(tocsin.ECONFLICT, "incident %s is %s; only an open incident can be merged", id, src.State)
		}
		if !dst.State.Open() {
			return &tocsin.Error{Code: tocsin.ECONFLICT, Message: fmt.Sprintf("incident %s is %s; merge only into an open incident", into, dst.State),
				Fields: []tocsin.FieldError{{Field: "into", Detail: fmt.Sprintf("incident %s is %s, not open", into, dst.State)}}}
		}
		if src.Category != dst.Category {
			return &tocsin.Error{Code: tocsin.ECONFLICT, Message: fmt.Sprintf("incident %s is %s and incident %s is %s; only incidents of the same category merge", id, src.Category, into, dst.Category),
				Fields: []tocsin.FieldError{{Field: "into", Detail: fmt.Sprintf("must be an incident of category %s, not %s", src.Category, dst.Category)}}}
		}
		res, err := tx.ExecContext(ctx, `UPDATE reports SET incident_id = ? WHERE incident_id = ?`, into, id)
		if err != nil {
			return err
		}
		moved, err := res.RowsAffected()
		if err != nil {
			return err
		}
		// What id's expired reports added to its counts goes with the
		// reports that are left, so the recount below still counts them.
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET
			expired_reports = incidents.expired_reports + src.expired_reports,
			expired_reporters = incidents.expired_reporters + src.expired_reporters,
			expired_lat_sum = incidents.expired_lat_sum + src.expired_lat_sum,
			expired_lon_sum = incidents.expired_lon_sum + src.expired_lon_sum,
			first_seen = MIN(incidents.first_seen, src.first_seen),
			last_seen = MAX(incidents.last_seen, src.last_seen)
			FROM (SELECT expired_reports, expired_reporters, expired_lat_sum, expired_lon_sum, first_seen, last_seen FROM incidents WHERE id = ?) AS src
			WHERE incidents.id = ? AND src.expired_reports > 0`, id, into); err != nil {
			return err
		}
		if err := updateIncidentCounts(ctx, tx, into); err != nil {
			return err
		}
		p := tocsin.PrincipalFromContext(ctx)
		if note == "" {
			note = src.Note
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET state = ?, merged_into = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?`,
			string(tocsin.IncidentMerged), into, p.ID, nanos(tx.now), note, id); err != nil {
			return err
		}
		if merged, err = scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id)); err != nil {
			return err
		}
		if target, err = scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, into)); err != nil {
			return err
		}
		return tx.audit(ctx, "incident.merge", id, map[string]any{"into": into, "from": src.State, "reports": moved, "note": note})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("merge incidents: %w", err)
	}
	return merged, target, nil
}
