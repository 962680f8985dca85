package http

import (
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/lang"
)

// maxHomeAlerts bounds the alerts the home page lists; far more active
// alerts than this would be unreadable on one page anyway.
const maxHomeAlerts = 500

// homePage is the data of templates/home.html.
type homePage struct {
	// Alerts are the active public alerts at or above Severity, newest first.
	Alerts []homeAlert
	// Hidden is how many active alerts the severity filter hides.
	Hidden int
	// Severity is the filter's minimum severity; empty shows every alert.
	Severity tocsin.Severity
	// Severities are the filter's choices, least severe first.
	Severities []tocsin.Severity
}

// homeAlert is one alert of the home page's list, in the reader's language.
type homeAlert struct {
	ID          string
	Lang        string
	Dir         string
	Headline    string
	Event       string
	Severity    tocsin.Severity
	Urgency     tocsin.Urgency
	StatusLabel string
	Updated     bool
	Areas       []string
	Sent        string
	SentISO     string
	Expires     string
	ExpiresISO  string
}

// homeMapAlert is what the home page's script needs to draw an alert.
type homeMapAlert struct {
	ID       string          `json:"id"`
	Headline string          `json:"headline"`
	Severity tocsin.Severity `json:"severity"`
	Areas    []tocsin.Area   `json:"areas"`
}

// handleHome serves GET /: for browsers, the live map and list of active
// public alerts (handleIndex's plain-text overview for clients that do not
// ask for HTML, such as curl).
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	if !acceptsHTML(r) {
		w.Header().Add("Vary", "Accept")
		s.handleIndex(w, r)
		return
	}
	w = varyAccept{w}
	p := s.newPage(w, r, "home", "web.home.title", "web.home.", "severity.", "urgency.", "alert.")
	prefs := []string{p.Locale.Code}
	if q := r.URL.Query().Get("lang"); q != "" {
		prefs = append(strings.Split(q, ","), prefs...)
	}
	prefs = append(prefs, lang.AcceptLanguage(r.Header.Get("Accept-Language"))...)

	d := &homePage{Severities: []tocsin.Severity{"Minor", "Moderate", "Severe", "Extreme"}}
	if v := tocsin.Severity(r.URL.Query().Get("severity")); v.Valid() && v != "Unknown" {
		d.Severity = v
	}
	now := s.Now()
	alerts, _, err := s.Alerts.FindAlerts(r.Context(), tocsin.AlertFilter{ActiveAt: &now, Limit: maxHomeAlerts})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	mapped := []homeMapAlert{}
	for _, a := range alerts {
		if a.Scope != "Public" {
			continue // restricted and private alerts are for their audience, not the public map
		}
		a = a.Public()
		info := a.InfoFor(prefs)
		if info == nil {
			continue
		}
		if info.Severity.Rank() < d.Severity.Rank() {
			d.Hidden++
			continue
		}
		d.Alerts = append(d.Alerts, s.homeAlert(p, a, info))
		mapped = append(mapped, homeMapAlert{ID: a.ID, Headline: info.Headline, Severity: info.Severity, Areas: a.Areas})
	}
	p.Data = d
	p.Boot.Data = map[string]any{
		"alerts":   mapped,
		"langs":    dedupe(prefs),
		"severity": d.Severity,
		"zones":    s.homeZones(r),
	}
	s.renderPage(w, r, http.StatusOK, p)
}

// homeAlert renders one alert's list entry in the page's locale.
func (s *Server) homeAlert(p *webPage, a *tocsin.Alert, info *tocsin.Info) homeAlert {
	h := homeAlert{ID: a.ID, Lang: info.Language, Dir: textDir(info.Language), Headline: info.Headline, Event: info.Event,
		Severity: info.Severity, Urgency: info.Urgency, Updated: a.MsgType == "Update", StatusLabel: p.statusLabel(a.Status)}
	for _, ar := range a.Areas {
		if ar.Description != "" {
			h.Areas = append(h.Areas, ar.Description)
		}
	}
	h.Sent, h.SentISO = lang.FormatTime(a.Sent, p.Locale.Code, time.Local), a.Sent.Format(time.RFC3339)
	if exp := info.Expires; exp != nil {
		h.Expires, h.ExpiresISO = lang.FormatTime(*exp, p.Locale.Code, time.Local), exp.Format(time.RFC3339)
	}
	return h
}

// homeZones returns the named zones' areas, where the map looks when no
// alert is active; nil when there are none or they cannot be read.
func (s *Server) homeZones(r *http.Request) []tocsin.Area {
	if s.Zones == nil {
		return nil
	}
	zs, err := s.Zones.FindZones(r.Context())
	if err != nil {
		s.Logger.Warn("home page: list zones", "err", err)
		return nil
	}
	var out []tocsin.Area
	for _, z := range zs {
		out = append(out, tocsin.Area{Circle: z.Circle, Polygon: z.Polygon})
	}
	return out
}

// acceptsHTML reports whether the client asks for HTML: browsers do, curl
// and most API clients (Accept: */* or none) do not.
func acceptsHTML(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		if mt == "text/html" || mt == "application/xhtml+xml" {
			return true
		}
	}
	return false
}

// dedupe returns ss without empty strings and later repeats (case-insensitive).
func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range ss {
		k := strings.ToLower(strings.TrimSpace(v))
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

// varyAccept adds Accept to the Vary header of the answer, which
// renderPage sets afresh, since GET / answers by the Accept header.
type varyAccept struct{ http.ResponseWriter }

func (v varyAccept) WriteHeader(code int) {
	v.Header().Add("Vary", "Accept")
	v.ResponseWriter.WriteHeader(code)
}
