package http

import (
	"net/http"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/lang"
)

// consolePage is the data of templates/console.html.
type consolePage struct {
	// Allowed is false for an account below verifier: the page says so
	// and shows nothing else.
	Allowed bool
	// Publisher shows the sections that compose, approve, update and
	// cancel alerts.
	Publisher bool
	RoleLabel string
	// The CAP enumerations offered in the compose form, labelled in the
	// page's language.
	Statuses, Categories, Urgencies, Severities, Certainties []consoleOption
	// LanguageCount is how many languages a template writes: every
	// supported one.
	LanguageCount int
}

// consoleOption is one choice of a select.
type consoleOption struct {
	Value, Label string
}

// consoleBoot is the console script's boot data.
type consoleBoot struct {
	Principal *tocsin.Principal `json:"principal"`
	Publisher bool              `json:"publisher"`
	Locales   []lang.Locale     `json:"locales"`
	// PollMS is how often the queues are refreshed, in milliseconds.
	PollMS int `json:"poll_ms"`
	// Templates are the vetted alert types the compose form offers, with
	// their event names in the page's language.
	Templates []consoleTemplate `json:"templates,omitempty"`
}

// consoleTemplate is a template as GET /api/v1/templates lists it, with its
// event name in the page's language only.
type consoleTemplate struct {
	ID             string              `json:"id"`
	Version        int                 `json:"version"`
	Event          string              `json:"event"`
	Category       tocsin.CategoryList `json:"category"`
	Urgency        tocsin.Urgency      `json:"urgency"`
	Severity       tocsin.Severity     `json:"severity"`
	Certainty      tocsin.Certainty    `json:"certainty"`
	PublisherOnly  bool                `json:"publisher_only,omitempty"`
	RequiresExpiry bool                `json:"requires_expiry,omitempty"`
	Params         []lang.Param        `json:"params"`
}

// consoleTemplates returns every template with its event name in locale,
// else in English, else its id.
func consoleTemplates(locale string) []consoleTemplate {
	var out []consoleTemplate
	for _, t := range lang.Templates() {
		event := t.Event[locale]
		if event == "" {
			event = t.Event["en"]
		}
		if event == "" {
			event = t.ID
		}
		out = append(out, consoleTemplate{ID: t.ID, Version: t.Version, Event: event, Category: t.Category,
			Urgency: t.Urgency, Severity: t.Severity, Certainty: t.Certainty,
			PublisherOnly: t.PublisherOnly, RequiresExpiry: t.RequiresExpiry, Params: t.Params})
	}
	return out
}

// consolePoll is how often the console refreshes its queues. Incidents have
// no live stream of their own, so the page polls; five seconds keeps a
// responder's view current at a few small requests a minute.
const consolePoll = 5000

// handleConsolePage renders GET /console for a signed-in verifier or
// publisher; without a session it redirects to the sign-in page.
func (s *Server) handleConsolePage(w http.ResponseWriter, r *http.Request) {
	sess := sessionFromContext(r.Context())
	if sess == nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	p := s.newPage(w, r, "console", "web.console.title", "web.console.", "alert.", "category.", "severity.", "urgency.", "certainty.")
	role := sess.Principal.Role
	d := &consolePage{Allowed: role.Includes(tocsin.RoleVerifier), Publisher: role.Includes(tocsin.RolePublisher),
		RoleLabel: p.T("web.console.role_" + string(role)), LanguageCount: len(lang.Locales())}
	if !d.Allowed {
		p.Script, p.Map, p.Data = false, false, d
		s.renderPage(w, r, http.StatusForbidden, p)
		return
	}
	for _, v := range []tocsin.Status{"Actual", "Exercise", "Test"} {
		d.Statuses = append(d.Statuses, consoleOption{string(v), p.T("web.console.status_" + string(v))})
	}
	for _, v := range tocsin.Categories {
		d.Categories = append(d.Categories, consoleOption{string(v), p.T("category." + string(v))})
	}
	for _, v := range tocsin.Urgencies {
		d.Urgencies = append(d.Urgencies, consoleOption{string(v), p.T("urgency." + string(v))})
	}
	for _, v := range tocsin.Severities {
		d.Severities = append(d.Severities, consoleOption{string(v), p.T("severity." + string(v))})
	}
	for _, v := range tocsin.Certainties {
		d.Certainties = append(d.Certainties, consoleOption{string(v), p.T("certainty." + string(v))})
	}
	p.Data = d
	b := consoleBoot{Principal: sess.Principal, Publisher: d.Publisher, Locales: lang.Locales(), PollMS: consolePoll}
	if d.Publisher {
		b.Templates = consoleTemplates(p.Locale.Code)
	}
	p.Boot.Data = b
	s.renderPage(w, r, http.StatusOK, p)
}
