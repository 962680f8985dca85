package tocsin

import (
	"context"
	"time"
)

// Report is one observation by one person: where, when, what.
type Report struct {
	ID         string    `json:"id"`
	IncidentID string    `json:"incident_id"`
	Lat        float64   `json:"lat"`
	Lon        float64   `json:"lon"`
	AccuracyM  *float64  `json:"accuracy_m,omitempty"`
	ObservedAt time.Time `json:"observed_at"`
	ReceivedAt time.Time `json:"received_at"`
	Category   Category  `json:"category"`
	Event      string    `json:"event,omitempty"`
	Text       string    `json:"text"`
	Language   string    `json:"language,omitempty"`
	Channel    string    `json:"channel"`
	// HasPhoto says whether the reporter attached a photo (ReportIntake).
	HasPhoto bool `json:"has_photo,omitempty"`
	// Reporter is an opaque key for counting distinct reporters: a principal
	// id or a keyed hash of the anonymous client. Never an address.
	Reporter string `json:"-"`
}

// Limits on reports.
const (
	MaxReportText  = 4000
	MaxEventLength = 120
)

// ReportService takes in reports and clusters them into incidents.
type ReportService interface {
	// CreateReport validates r, coarsens its position, stores it, files it
	// into an incident (an open one close in place and time with the same
	// category, or a new one) and returns the reporter's receipt. EINVALID for
	// bad fields.
	CreateReport(ctx context.Context, r *Report) (receipt string, err error)
	// FindReports returns reports matching filter, newest first, and the total.
	FindReports(ctx context.Context, filter ReportFilter) ([]*Report, int, error)
	// ExpireReports deletes, all at once, every report received before
	// before whose incident has left the verifiers' queue (any state but
	// unverified and corroborated), with its photo and idempotency key, and
	// returns how many it deleted. A report's age is counted from when the
	// server stored it (ReceivedAt), not from the reporter's ObservedAt,
	// which the client sets and may back-date by days. Reports of incidents
	// still waiting for a decision are kept however old, so that nothing
	// vanishes under a verifier's eyes; they expire once it is decided.
	// Incidents keep their counts, reporters, centre and first and last
	// seen, which are not personal data, and go on counting the expired
	// reports when more join. One audit event records a sweep that deleted
	// anything. Only tocsin itself may call it (a ctx from
	// NewContextWithSystem): EFORBIDDEN otherwise.
	ExpireReports(ctx context.Context, before time.Time) (n int, err error)
}

// ReportFilter selects reports; nil fields do not filter.
type ReportFilter struct {
	IncidentID *string
	Offset     int
	Limit      int
}
