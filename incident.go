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
	// IncidentMerged is an incident whose reports a verifier moved into
	// another incident (its MergedInto); it leaves the queue.
	IncidentMerged IncidentState = "merged"
)

// Valid reports whether s is a defined state.
func (s IncidentState) Valid() bool {
	switch s {
	case IncidentUnverified, IncidentCorroborated, IncidentVerified, IncidentUnverifiable, IncidentDuplicate, IncidentRetracted, IncidentMerged:
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
	// MergedInto is the incident that took this one's reports, when its
	// state is merged.
	MergedInto string `json:"merged_into,omitempty"`
}

// OpenIncidentStates returns the states of incidents still in the queue:
// those new reports may join.
func OpenIncidentStates() []IncidentState {
	return []IncidentState{IncidentUnverified, IncidentCorroborated, IncidentVerified}
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
	// MergeIncidents moves every report of incident id into incident into,
	// recomputes into's counts, centre and times, and marks id merged
	// (MergedInto set), all at once; it returns both incidents as they are
	// after. Only open incidents of the same category merge. EFORBIDDEN
	// below verifier; ENOTFOUND when id is absent; EINVALID (field "into")
	// when into is empty, id itself or absent; ECONFLICT when either
	// incident is closed, or (field "into") their categories differ.
	MergeIncidents(ctx context.Context, id, into, note string) (merged, target *Incident, err error)
}

// IncidentFilter selects incidents; nil fields do not filter.
type IncidentFilter struct {
	State *IncidentState
	// States, when not empty, keeps incidents in any of these states.
	States []IncidentState
	Offset int
	Limit  int
}
