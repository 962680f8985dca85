package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// ReportService stores reports and clusters them into incidents.
type ReportService struct{ db *DB }

var _ tocsin.ReportService = (*ReportService)(nil)

// NewReportService returns a ReportService on db.
func NewReportService(db *DB) *ReportService { return &ReportService{db: db} }

// How far from now a report's observation time may be.
const (
	maxReportAge  = 7 * 24 * time.Hour // offline phones send late
	maxClockSkew  = 10 * time.Minute
	maxAccuracyKM = 100
)

func (s *ReportService) validate(r *tocsin.Report, now time.Time) error {
	var p tocsin.Problems
	// Latitude and longitude are checked apart so that each error names its field.
	if err := geo.ValidatePoint(geo.Point{Lat: r.Lat}); err != nil {
		p.Add("lat", "%s", err)
	}
	if err := geo.ValidatePoint(geo.Point{Lon: r.Lon}); err != nil {
		p.Add("lon", "%s", err)
	}
	if r.AccuracyM != nil && (math.IsNaN(*r.AccuracyM) || *r.AccuracyM < 0 || *r.AccuracyM > maxAccuracyKM*1000) {
		p.Add("accuracy_m", "must be between 0 and %d", maxAccuracyKM*1000)
	}
	if !r.Category.Valid() {
		p.Add("category", "must be one of Geo, Met, Safety, Security, Rescue, Fire, Health, Env, Transport, Infra, CBRNE, Other")
	}
	if utf8.RuneCountInString(r.Event) > tocsin.MaxEventLength || !utf8.ValidString(r.Event) {
		p.Add("event", "must be valid text of at most %d characters", tocsin.MaxEventLength)
	}
	switch {
	case strings.TrimSpace(r.Text) == "":
		p.Add("text", "is required: say what you see")
	case !utf8.ValidString(r.Text):
		p.Add("text", "is not valid UTF-8")
	case utf8.RuneCountInString(r.Text) > tocsin.MaxReportText:
		p.Add("text", "is longer than %d characters", tocsin.MaxReportText)
	}
	if r.Language != "" && (len(r.Language) > 35 || strings.ContainsAny(r.Language, " ,<&\"'")) {
		p.Add("language", "must be a language tag such as en or es")
	}
	if r.ObservedAt.After(now.Add(maxClockSkew)) {
		p.Add("observed_at", "is in the future")
	} else if !r.ObservedAt.IsZero() && r.ObservedAt.Before(now.Add(-maxReportAge)) {
		p.Add("observed_at", "is more than 7 days ago")
	}
	return p.Err()
}

func round(v float64, decimals int) float64 {
	m := math.Pow(10, float64(decimals))
	return math.Round(v*m) / m
}

// CreateReport validates, coarsens, stores and clusters a report.
func (s *ReportService) CreateReport(ctx context.Context, r *tocsin.Report) (string, error) {
	return s.createReport(ctx, r, nil)
}

// createReport is CreateReport that also runs also, when not nil, in the
// report's transaction, with the receipt (SubmitReport's photo token and
// idempotency key).
func (s *ReportService) createReport(ctx context.Context, r *tocsin.Report, also func(tx *Tx, receipt string) error) (string, error) {
	now := s.db.Now().UTC()
	if err := s.validate(r, now); err != nil {
		return "", err
	}
	if r.ObservedAt.IsZero() {
		r.ObservedAt = now
	}
	r.ObservedAt = r.ObservedAt.UTC()
	r.Lat, r.Lon = round(r.Lat, s.db.LocationDecimals), round(r.Lon, s.db.LocationDecimals)
	if r.Channel == "" {
		r.Channel = "api"
	}
	if r.Reporter == "" {
		r.Reporter = tocsin.ActorFromContext(ctx)
		if c := tocsin.ClientFromContext(ctx); r.Reporter == "anonymous" && c != "" {
			r.Reporter = "client:" + c
		}
	}
	r.ID = tocsin.NewID("rep")
	receipt := tocsin.NewSecret("rcpt")
	err := s.db.update(ctx, func(tx *Tx) error {
		r.ReceivedAt = tx.now
		inc, err := findCluster(ctx, tx, r)
		if err != nil {
			return err
		}
		if inc == nil {
			inc = &tocsin.Incident{ID: tocsin.NewID("inc"), Category: r.Category, Event: r.Event, State: tocsin.IncidentUnverified,
				Lat: r.Lat, Lon: r.Lon, FirstSeen: r.ObservedAt, LastSeen: r.ObservedAt}
			if _, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, category, event, state, lat, lon, report_count, reporter_count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?)`,
				inc.ID, string(inc.Category), inc.Event, string(inc.State), inc.Lat, inc.Lon, nanos(inc.FirstSeen), nanos(inc.LastSeen)); err != nil {
				return err
			}
			if err := tx.audit(ctx, "incident.open", inc.ID, map[string]any{"category": inc.Category}); err != nil {
				return err
			}
		}
		r.IncidentID = inc.ID
		if _, err := tx.ExecContext(ctx, `INSERT INTO reports (id, incident_id, lat, lon, accuracy_m, observed_at, received_at, category, event, text, language, channel, reporter, receipt_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.IncidentID, r.Lat, r.Lon, r.AccuracyM, nanos(r.ObservedAt), nanos(r.ReceivedAt), string(r.Category), r.Event, r.Text, r.Language, r.Channel, r.Reporter, hashSecret(receipt)); err != nil {
			return err
		}
		if err := updateIncidentCounts(ctx, tx, inc.ID); err != nil {
			return err
		}
		if err := tx.audit(ctx, "report.create", r.ID, map[string]any{"incident_id": r.IncidentID, "category": r.Category, "channel": r.Channel}); err != nil {
			return err
		}
		if also != nil {
			return also(tx, receipt)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("create report: %w", err)
	}
	return receipt, nil
}

// findCluster returns the nearest open incident of the report's category
// within the cluster radius and time window, or nil.
func findCluster(ctx context.Context, tx *Tx, r *tocsin.Report) (*tocsin.Incident, error) {
	dLat := tocsin.ClusterRadiusKM / 111.0
	dLon := dLat / math.Max(0.01, math.Cos(r.Lat*math.Pi/180))
	rows, err := tx.QueryContext(ctx, `SELECT id, lat, lon FROM incidents
		WHERE category = ? AND state IN ('unverified', 'corroborated', 'verified')
		AND last_seen >= ? AND first_seen <= ?
		AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?`,
		string(r.Category), nanos(r.ObservedAt.Add(-tocsin.ClusterWindow)), nanos(r.ObservedAt.Add(tocsin.ClusterWindow)),
		r.Lat-dLat, r.Lat+dLat, r.Lon-dLon, r.Lon+dLon)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var best *tocsin.Incident
	bestD := math.Inf(1)
	for rows.Next() {
		var inc tocsin.Incident
		if err := rows.Scan(&inc.ID, &inc.Lat, &inc.Lon); err != nil {
			return nil, err
		}
		d := geo.DistanceKM(geo.Point{Lat: r.Lat, Lon: r.Lon}, geo.Point{Lat: inc.Lat, Lon: inc.Lon})
		if d <= tocsin.ClusterRadiusKM && d < bestD {
			best, bestD = &inc, d
		}
	}
	return best, rows.Err()
}

// updateIncidentCounts recomputes an incident's counts, centre and times from
// its reports, and marks it corroborated once two distinct reporters agree.
// Reports that have expired (ExpireReports) still count, through what the
// incident remembers of them: its expired_* columns, and first_seen and
// last_seen, which already span them.
func updateIncidentCounts(ctx context.Context, tx *Tx, id string) error {
	_, err := tx.ExecContext(ctx, `UPDATE incidents SET
		report_count = expired_reports + (SELECT COUNT(*) FROM reports WHERE incident_id = incidents.id),
		reporter_count = expired_reporters + (SELECT COUNT(DISTINCT reporter) FROM reports WHERE incident_id = incidents.id),
		lat = CASE WHEN expired_reports = 0 THEN (SELECT ROUND(AVG(lat), ?1) FROM reports WHERE incident_id = incidents.id)
			ELSE (SELECT ROUND((incidents.expired_lat_sum + TOTAL(lat)) / (incidents.expired_reports + COUNT(*)), ?1) FROM reports WHERE incident_id = incidents.id) END,
		lon = CASE WHEN expired_reports = 0 THEN (SELECT ROUND(AVG(lon), ?1) FROM reports WHERE incident_id = incidents.id)
			ELSE (SELECT ROUND((incidents.expired_lon_sum + TOTAL(lon)) / (incidents.expired_reports + COUNT(*)), ?1) FROM reports WHERE incident_id = incidents.id) END,
		first_seen = CASE WHEN expired_reports = 0 THEN (SELECT MIN(observed_at) FROM reports WHERE incident_id = incidents.id)
			ELSE MIN(first_seen, COALESCE((SELECT MIN(observed_at) FROM reports WHERE incident_id = incidents.id), first_seen)) END,
		last_seen = CASE WHEN expired_reports = 0 THEN (SELECT MAX(observed_at) FROM reports WHERE incident_id = incidents.id)
			ELSE MAX(last_seen, COALESCE((SELECT MAX(observed_at) FROM reports WHERE incident_id = incidents.id), last_seen)) END
		WHERE id = ?2`, tx.db.LocationDecimals+1, id)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE incidents SET state = 'corroborated' WHERE id = ? AND state = 'unverified' AND reporter_count >= 2`, id)
	return err
}

// FindReports returns reports, newest first.
func (s *ReportService) FindReports(ctx context.Context, f tocsin.ReportFilter) ([]*tocsin.Report, int, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.IncidentID != nil {
		where, args = append(where, "incident_id = ?"), append(args, *f.IncidentID)
	}
	w := strings.Join(where, " AND ")
	var total int
	if err := s.db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM reports WHERE `+w, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("find reports: %w", err)
	}
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, incident_id, lat, lon, accuracy_m, observed_at, received_at, category, event, text, language, channel,
		EXISTS (SELECT 1 FROM report_photos WHERE report_id = reports.id)
		FROM reports WHERE `+w+` ORDER BY received_at DESC LIMIT ? OFFSET ?`, append(args, limit(f.Limit), f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("find reports: %w", err)
	}
	defer rows.Close()
	var out []*tocsin.Report
	for rows.Next() {
		var r tocsin.Report
		var acc sql.NullFloat64
		var obs, rec int64
		var cat string
		if err := rows.Scan(&r.ID, &r.IncidentID, &r.Lat, &r.Lon, &acc, &obs, &rec, &cat, &r.Event, &r.Text, &r.Language, &r.Channel, &r.HasPhoto); err != nil {
			return nil, 0, fmt.Errorf("find reports: %w", err)
		}
		if acc.Valid {
			r.AccuracyM = &acc.Float64
		}
		r.ObservedAt, r.ReceivedAt, r.Category = fromNanos(obs), fromNanos(rec), tocsin.Category(cat)
		out = append(out, &r)
	}
	return out, total, rows.Err()
}
