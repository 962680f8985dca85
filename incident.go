package tocsin

import (
	"context"
	"time"
)

// IncidentState is where an incident stands in verification.
type IncidentState string

// The incident states.
const (
	IncidentUnverified   IncidentState = "unverified"
	IncidentCorroborated IncidentState = "corroborated"
	IncidentVerified     IncidentState = "verified"
	IncidentUnverifiable IncidentState = "unverifiable"
	IncidentDuplicate    IncidentState = "duplicate"
	IncidentRetracted    IncidentState = "retracted"
)

// Valid reports whether s is a defined state.
func (s IncidentState) Valid() bool {
	switch s {
	case IncidentUnverified, IncidentCorroborated, IncidentVerified, IncidentUnverifiable, IncidentDuplicate, IncidentRetracted:
		return true
	}
	return false
}

// Open reports whether new reports may still join an incident in state s.
func (s IncidentState) Open() bool {
	return s == IncidentUnverified || s == IncidentCorroborated || s == IncidentVerified
}

// Incident is a cluster of reports about the same thing, with corroboration
// kept as data.
type Incident struct {
	ID            string        `json:"id"`
	Category      Category      `json:"category"`
	Event         string        `json:"event,omitempty"`
	State         IncidentState `json:"state"`
	Lat           float64       `json:"lat"`
	Lon           float64       `json:"lon"`
	ReportCount   int           `json:"report_count"`
	ReporterCount int           `json:"reporter_count"`
	FirstSeen     time.Time     `json:"first_seen"`
	LastSeen      time.Time     `json:"last_seen"`
	DecidedBy     *int64        `json:"decided_by,omitempty"`
	DecidedAt     *time.Time    `json:"decided_at,omitempty"`
	Note          string        `json:"note,omitempty"`
}

// Clustering rules: a report joins an open incident of the same category whose
// centre is within ClusterRadiusKM and whose last report is within
// ClusterWindow of the new report's observation time.
const (
	ClusterRadiusKM = 1.0
	ClusterWindow   = 3 * time.Hour
)

// IncidentService lets verifiers see and decide incidents.
type IncidentService interface {
	// FindIncidentByID returns one incident. ENOTFOUND if absent.
	FindIncidentByID(ctx context.Context, id string) (*Incident, error)
	// FindIncidents returns incidents matching filter, most recent first, and the total.
	FindIncidents(ctx context.Context, filter IncidentFilter) ([]*Incident, int, error)
	// DecideIncident moves an incident to verified or unverifiable (reject),
	// recording who decided and why. EFORBIDDEN below verifier, ENOTFOUND,
	// ECONFLICT when the incident is already closed.
	DecideIncident(ctx context.Context, id string, state IncidentState, note string) (*Incident, error)
}

// IncidentFilter selects incidents; nil fields do not filter.
type IncidentFilter struct {
	State  *IncidentState
	Offset int
	Limit  int
}
