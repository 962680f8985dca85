package tocsin

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Category is a CAP 1.2 info category.
type Category string

// Status is a CAP 1.2 alert status.
type Status string

// MsgType is a CAP 1.2 message type.
type MsgType string

// Scope is a CAP 1.2 scope.
type Scope string

// Urgency is a CAP 1.2 urgency.
type Urgency string

// Severity is a CAP 1.2 severity.
type Severity string

// Certainty is a CAP 1.2 certainty.
type Certainty string

// The CAP 1.2 enumerations, in the schema's order (standards/cap-1.2.xsd).
var (
	Categories  = []Category{"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"}
	Statuses    = []Status{"Actual", "Exercise", "System", "Test", "Draft"}
	MsgTypes    = []MsgType{"Alert", "Update", "Cancel", "Ack", "Error"}
	Scopes      = []Scope{"Public", "Restricted", "Private"}
	Urgencies   = []Urgency{"Immediate", "Expected", "Future", "Past", "Unknown"}
	Severities  = []Severity{"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
	Certainties = []Certainty{"Observed", "Likely", "Possible", "Unlikely", "Unknown"}
)

// Valid reports whether c is a CAP 1.2 category.
func (c Category) Valid() bool { return slices.Contains(Categories, c) }

// Valid reports whether s is a CAP 1.2 status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Valid reports whether m is a CAP 1.2 message type.
func (m MsgType) Valid() bool { return slices.Contains(MsgTypes, m) }

// Valid reports whether s is a CAP 1.2 scope.
func (s Scope) Valid() bool { return slices.Contains(Scopes, s) }

// Valid reports whether u is a CAP 1.2 urgency.
func (u Urgency) Valid() bool { return slices.Contains(Urgencies, u) }

// Valid reports whether s is a CAP 1.2 severity.
func (s Severity) Valid() bool { return slices.Contains(Severities, s) }

// Valid reports whether c is a CAP 1.2 certainty.
func (c Certainty) Valid() bool { return slices.Contains(Certainties, c) }

// Rank orders severities for filters: Extreme 4, Severe 3, Moderate 2, Minor 1, Unknown 0.
func (s Severity) Rank() int {
	switch s {
	case "Extreme":
		return 4
	case "Severe":
		return 3
	case "Moderate":
		return 2
	case "Minor":
		return 1
	}
	return 0
}

// Loud reports whether alerts of this severity need a second person's approval.
func (s Severity) Loud() bool { return s.Rank() >= 3 }

// CategoryList is one or more categories. CAP allows several per info, so its
// JSON form accepts a single string or a list, and is always written as a list.
type CategoryList []Category

// UnmarshalJSON accepts "Met" or ["Met", "Safety"].
func (l *CategoryList) UnmarshalJSON(b []byte) error {
	var one Category
	if err := json.Unmarshal(b, &one); err == nil {
		*l = CategoryList{one}
		return nil
	}
	var many []Category
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("category is a string or a list of strings")
	}
	*l = many
	return nil
}
