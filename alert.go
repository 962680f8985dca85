package tocsin

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin/geo"
)

// AlertState is where an alert stands in tocsin's workflow (CAP's status says
// what kind of message it is; this says whether it has gone out).
type AlertState string

// The alert states.
const (
	AlertPendingApproval AlertState = "pending_approval"
	AlertPublished       AlertState = "published"
	AlertSuperseded      AlertState = "superseded"
	AlertCancelled       AlertState = "cancelled"
	// AlertUnmatched is an imported Cancel whose alerts tocsin has not (yet)
	// received: kept, listed for admins, never sent, and applied when one
	// of those alerts arrives.
	AlertUnmatched AlertState = "unmatched"
)

// Alert is one message, shaped after CAP 1.2: one Info per language and one
// or more areas.
type Alert struct {
	ID          string      `json:"id"`
	Sender      string      `json:"sender"`
	Sent        time.Time   `json:"sent"`
	Status      Status      `json:"status"`
	MsgType     MsgType     `json:"msg_type"`
	Scope       Scope       `json:"scope"`
	References  []string    `json:"references,omitempty"`
	IncidentID  string      `json:"incident_id,omitempty"`
	Infos       []Info      `json:"infos"`
	Areas       []Area      `json:"areas"`
	State       AlertState  `json:"state"`
	AuthorID    int64       `json:"author_id,omitempty"`
	ApprovedBy  *int64      `json:"approved_by,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	PublishedAt *time.Time  `json:"published_at,omitempty"`
	CancelledAt *time.Time  `json:"cancelled_at,omitempty"`
	Language    string      `json:"language,omitempty"` // set when the alert is rendered for one language
	Extra       *AlertLinks `json:"links,omitempty"`
	// ProtectedTerms are names, agencies, acronyms and places this alert's
	// text must carry untranslated and un-recased, beside the glossary's.
	ProtectedTerms []string `json:"protected_terms,omitempty"`
	// Template is "<id>@<version>" for alerts rendered from a template.
	Template string `json:"template,omitempty"`
	// Hold keeps a new alert in pending_approval whatever its severity, so
	// its translations can be reviewed before it is sent; not stored.
	Hold bool `json:"-"`
	// Warnings tell the publisher what did not happen (a translation the
	// engine could not make); they are not stored.
	Warnings []string `json:"warnings,omitempty"`
	// Source is set on alerts imported from CAP (from a partner or a relayed
	// feed): where they came from and their CAP identity.
	Source *AlertSource `json:"source,omitempty"`
}

// AlertLinks are the URLs a client follows from an alert.
type AlertLinks struct {
	Self string `json:"self,omitempty"`
}

// Info is the text of an alert in one language.
type Info struct {
	Language    string       `json:"language"`
	Category    CategoryList `json:"category"`
	Event       string       `json:"event"`
	Urgency     Urgency      `json:"urgency"`
	Severity    Severity     `json:"severity"`
	Certainty   Certainty    `json:"certainty"`
	Headline    string       `json:"headline"`
	Description string       `json:"description,omitempty"`
	Instruction string       `json:"instruction,omitempty"`
	Expires     *time.Time   `json:"expires,omitempty"`
	// Provenance says who wrote the text: "human", "template:<id>@<version>"
	// or "machine:<engine>:<pair>".
	Provenance string `json:"provenance"`
}

// Area is one place an alert is for: a circle or a polygon, described in words.
type Area struct {
	Description string      `json:"description"`
	Circle      *geo.Circle `json:"circle,omitempty"`
	Polygon     geo.Polygon `json:"polygon,omitempty"`
	// Geocodes are the area's codes by scheme (SAME, FIPS6, UGC…), as CAP's
	// <geocode> valueName/value pairs; usually copied from a zone.
	Geocodes map[string]string `json:"geocodes,omitempty"`
}

// Shape returns the area's geometry.
func (a Area) Shape() geo.Shape { return geo.Shape{Circle: a.Circle, Polygon: a.Polygon} }

// Shapes returns the geometry of every area of a.
func (a *Alert) Shapes() []geo.Shape {
	s := make([]geo.Shape, len(a.Areas))
	for i, ar := range a.Areas {
		s[i] = ar.Shape()
	}
	return s
}

// MaxSeverity returns the highest severity among a's infos.
func (a *Alert) MaxSeverity() Severity {
	var max Severity = "Unknown"
	for _, in := range a.Infos {
		if in.Severity.Rank() > max.Rank() {
			max = in.Severity
		}
	}
	return max
}

// Expires returns the latest expiry among a's infos, or nil when any info never expires.
func (a *Alert) Expires() *time.Time {
	var last *time.Time
	for _, in := range a.Infos {
		if in.Expires == nil {
			return nil
		}
		if last == nil || in.Expires.After(*last) {
			last = in.Expires
		}
	}
	return last
}

// Active reports whether a is published and not expired at now.
func (a *Alert) Active(now time.Time) bool {
	if a.State != AlertPublished {
		return false
	}
	exp := a.Expires()
	return exp == nil || exp.After(now)
}

// InfoFor returns the info to show a person whose preferred languages are
// langs, in order: the first preferred language the alert carries (matching
// "es" to "es-MX" and back), else the alert's first info.
func (a *Alert) InfoFor(langs []string) *Info {
	if len(a.Infos) == 0 {
		return nil
	}
	for _, want := range langs {
		want = strings.ToLower(strings.TrimSpace(want))
		if want == "" {
			continue
		}
		for i := range a.Infos {
			if strings.EqualFold(a.Infos[i].Language, want) {
				return &a.Infos[i]
			}
		}
		for i := range a.Infos {
			if baseLanguage(a.Infos[i].Language) == baseLanguage(want) {
				return &a.Infos[i]
			}
		}
	}
	return &a.Infos[0]
}

func baseLanguage(tag string) string {
	tag = strings.ToLower(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		return tag[:i]
	}
	return tag
}

// ReferenceID returns the alert id in a reference: the id itself, or CAP's
// "sender,identifier,sent" form, whose identifier is the id.
func ReferenceID(ref string) string {
	if parts := strings.Split(ref, ","); len(parts) == 3 {
		return strings.TrimSpace(parts[1])
	}
	return strings.TrimSpace(ref)
}

// Touches reports whether any of a's areas intersects area.
func (a *Alert) Touches(area geo.Shape) bool { return geo.IntersectsAny(a.Shapes(), area) }

// Public returns a copy of a without the ids of the people who wrote and
// approved it: what subscribers and the public see.
func (a *Alert) Public() *Alert {
	c := *a
	c.AuthorID, c.ApprovedBy = 0, nil
	return &c
}

// ForLanguage returns a copy of a carrying only the info chosen for langs.
func (a *Alert) ForLanguage(langs []string) *Alert {
	c := *a
	if in := a.InfoFor(langs); in != nil {
		c.Infos = []Info{*in}
		c.Language = in.Language
	}
	return &c
}

// Limits on alerts.
const (
	MaxInfos       = 32
	MaxAreas       = 32
	MaxHeadline    = 160
	MaxAlertText   = 8000
	MaxReferences  = 16
	MaxDescription = 500
	MaxGeocodes    = 20
)

// ApplyDefaults fills what a publisher may leave out: msg_type Alert,
// scope Public, and "human" provenance on texts that do not say.
func (a *Alert) ApplyDefaults() {
	if a.MsgType == "" {
		a.MsgType = "Alert"
	}
	if a.Scope == "" {
		a.Scope = "Public"
	}
	for i := range a.Infos {
		if a.Infos[i].Provenance == "" {
			a.Infos[i].Provenance = "human"
		}
	}
}

// Validate checks every field of an alert submitted for publication and
// returns an EINVALID error naming each bad one.
func (a *Alert) Validate() error {
	var p Problems
	if !a.Status.Valid() {
		p.Add("status", "must be one of %s", joinEnum(Statuses))
	} else if a.Status == "System" || a.Status == "Draft" {
		p.Add("status", "%s messages are not sent to the public; use Actual, Exercise or Test", a.Status)
	}
	if !a.MsgType.Valid() {
		p.Add("msg_type", "must be one of %s", joinEnum(MsgTypes))
	} else if a.MsgType == "Ack" || a.MsgType == "Error" {
		p.Add("msg_type", "%s is not accepted here; use Alert, Update or Cancel", a.MsgType)
	}
	if !a.Scope.Valid() {
		p.Add("scope", "must be one of %s", joinEnum(Scopes))
	}
	if a.MsgType == "Update" || a.MsgType == "Cancel" {
		if len(a.References) == 0 {
			p.Add("references", "an %s must reference the alert it changes", a.MsgType)
		}
	} else if len(a.References) > 0 {
		p.Add("references", "only an Update or a Cancel references other alerts")
	}
	if len(a.References) > MaxReferences {
		p.Add("references", "at most %d", MaxReferences)
	}
	if len(a.Infos) == 0 {
		p.Add("infos", "at least one info is required")
	} else if len(a.Infos) > MaxInfos {
		p.Add("infos", "at most %d infos", MaxInfos)
	}
	seen := map[string]bool{}
	for i, in := range a.Infos {
		f := fmt.Sprintf("infos[%d].", i)
		if !ValidLanguageTag(in.Language) {
			p.Add(f+"language", "must be a language tag such as en or es-MX")
		} else if seen[strings.ToLower(in.Language)] {
			p.Add(f+"language", "%s appears twice", in.Language)
		}
		seen[strings.ToLower(in.Language)] = true
		if len(in.Category) == 0 {
			p.Add(f+"category", "at least one category is required")
		}
		for _, c := range in.Category {
			if !c.Valid() {
				p.Add(f+"category", "%q is not one of %s", c, joinEnum(Categories))
			}
		}
		checkText(&p, f+"event", in.Event, true, MaxEventLength)
		if !in.Urgency.Valid() {
			p.Add(f+"urgency", "must be one of %s", joinEnum(Urgencies))
		}
		if !in.Severity.Valid() {
			p.Add(f+"severity", "must be one of %s", joinEnum(Severities))
		}
		if !in.Certainty.Valid() {
			p.Add(f+"certainty", "must be one of %s", joinEnum(Certainties))
		}
		checkText(&p, f+"headline", in.Headline, true, MaxHeadline)
		checkText(&p, f+"description", in.Description, false, MaxAlertText)
		checkText(&p, f+"instruction", in.Instruction, false, MaxAlertText)
		if in.Expires != nil && !a.Sent.IsZero() && !in.Expires.After(a.Sent) {
			p.Add(f+"expires", "must be after the alert is sent")
		}
	}
	if len(a.Areas) == 0 && a.MsgType != "Cancel" {
		p.Add("areas", "at least one area is required")
	} else if len(a.Areas) > MaxAreas {
		p.Add("areas", "at most %d areas", MaxAreas)
	}
	for i, ar := range a.Areas {
		f := fmt.Sprintf("areas[%d].", i)
		checkText(&p, f+"description", ar.Description, true, MaxDescription)
		if len(ar.Geocodes) > MaxGeocodes {
			p.Add(f+"geocodes", "at most %d geocodes", MaxGeocodes)
		}
		for k, v := range ar.Geocodes {
			if k == "" || v == "" || len(k) > 64 || len(v) > 64 || strings.ContainsAny(k+v, "<&\"") {
				p.Add(f+"geocodes", "each geocode is a scheme and a value of 1–64 characters without <, & or quotes")
				break
			}
		}
		switch {
		case ar.Circle == nil && ar.Polygon == nil:
			p.Add(f+"circle", "an area needs a circle or a polygon")
		case ar.Circle != nil && ar.Polygon != nil:
			p.Add(f+"polygon", "an area has a circle or a polygon, not both")
		case ar.Circle != nil:
			if err := ar.Circle.Validate(); err != nil {
				p.Add(f+"circle", "%s", err)
			}
		default:
			if err := ar.Polygon.Validate(); err != nil {
				p.Add(f+"polygon", "%s", err)
			}
		}
	}
	return p.Err()
}

func checkText(p *Problems, field, s string, required bool, max int) {
	switch {
	case required && strings.TrimSpace(s) == "":
		p.Add(field, "is required")
	case !utf8.ValidString(s):
		p.Add(field, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		p.Add(field, "is longer than %d characters", max)
	}
}

// ValidLanguageTag accepts BCP 47-shaped tags: letters, digits and hyphens,
// a 2–3 letter primary subtag, at most 35 characters.
func ValidLanguageTag(s string) bool {
	if len(s) < 2 || len(s) > 35 {
		return false
	}
	for i, part := range strings.Split(s, "-") {
		if part == "" || len(part) > 8 {
			return false
		}
		if i == 0 && (len(part) < 2 || len(part) > 3) {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func joinEnum[T ~string](vals []T) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// AlertService drafts, approves, publishes and cancels alerts.
type AlertService interface {
	// CreateAlert validates and stores a new alert authored by the principal in
	// ctx. Loud alerts (Severe, Extreme) wait in pending_approval; others are
	// published at once, in the same transaction as their outbox event.
	// EINVALID, EFORBIDDEN, ENOTFOUND for a referenced alert or incident.
	CreateAlert(ctx context.Context, a *Alert) error
	// ApproveAlert publishes a pending alert. EFORBIDDEN when the approver is
	// its author, ECONFLICT when it is not pending.
	ApproveAlert(ctx context.Context, id string) (*Alert, error)
	// ReviseInfo replaces the text of a pending alert's info in one language
	// with a publisher's, which makes its provenance "human". EFORBIDDEN,
	// ENOTFOUND, ECONFLICT when the alert is no longer pending, EINVALID.
	ReviseInfo(ctx context.Context, id, language string, rev InfoRevision) (*Alert, error)
	// CancelAlert publishes a Cancel referencing the alert and marks it
	// cancelled; a pending alert is simply withdrawn. ECONFLICT when already cancelled.
	CancelAlert(ctx context.Context, id string) (*Alert, error)
	// FindAlertByID returns one alert. ENOTFOUND if absent.
	FindAlertByID(ctx context.Context, id string) (*Alert, error)
	// FindAlerts returns alerts matching filter, newest first, and the total.
	FindAlerts(ctx context.Context, filter AlertFilter) ([]*Alert, int, error)
}

// InfoRevision is a publisher's edit of one language of a pending alert;
// nil fields stay as they are.
type InfoRevision struct {
	Event       *string `json:"event"`
	Headline    *string `json:"headline"`
	Description *string `json:"description"`
	Instruction *string `json:"instruction"`
}

// AlertFilter selects alerts; nil fields do not filter.
type AlertFilter struct {
	State      *AlertState
	ActiveAt   *time.Time // published and not expired at this time
	Area       *geo.Shape // touching this area
	References *string
	Offset     int
	Limit      int
}
