package http

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// alertRequest is the body of POST /api/v1/alerts.
type alertRequest struct {
	Status     tocsin.Status  `json:"status"`
	MsgType    tocsin.MsgType `json:"msg_type"`
	Scope      tocsin.Scope   `json:"scope"`
	References []string       `json:"references"`
	IncidentID string         `json:"incident_id"`
	Infos      []infoRequest  `json:"infos"`
	Areas      []tocsin.Area  `json:"areas"`

	// Template renders every locale's info from a vetted template with
	// Params; Urgency, Severity and Certainty override its defaults, and
	// Expires and TimeZone apply to every info.
	Template  string            `json:"template"`
	Params    map[string]string `json:"params"`
	TimeZone  string            `json:"time_zone"`
	Urgency   tocsin.Urgency    `json:"urgency"`
	Severity  tocsin.Severity   `json:"severity"`
	Certainty tocsin.Certainty  `json:"certainty"`
	Expires   *time.Time        `json:"expires"`
	// ProtectedTerms are kept verbatim in templates and machine translation,
	// with the glossary's.
	ProtectedTerms []string `json:"protected_terms"`
	// TranslateTo asks for machine translations into these languages, for
	// those the alert does not already carry.
	TranslateTo []string `json:"translate_to"`
	// Hold keeps the alert pending whatever its severity, so a publisher can
	// review its translations (PUT /alerts/{id}/infos/{language}) first.
	Hold bool `json:"hold"`
}

// infoRequest is one language of an alert as a publisher writes it; its
// provenance is "human".
type infoRequest struct {
	Language    string              `json:"language"`
	Category    tocsin.CategoryList `json:"category"`
	Event       string              `json:"event"`
	Urgency     tocsin.Urgency      `json:"urgency"`
	Severity    tocsin.Severity     `json:"severity"`
	Certainty   tocsin.Certainty    `json:"certainty"`
	Headline    string              `json:"headline"`
	Description string              `json:"description"`
	Instruction string              `json:"instruction"`
	Expires     *time.Time          `json:"expires"`
}

func (s *Server) handleCreateAlert(w http.ResponseWriter, r *http.Request) {
	if _, err := tocsin.Require(r.Context(), tocsin.RolePublisher); err != nil {
		s.Error(w, r, err)
		return
	}
	var req alertRequest
	if err := decodeJSON(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	a := &tocsin.Alert{Status: req.Status, MsgType: req.MsgType, Scope: req.Scope, IncidentID: req.IncidentID, Areas: req.Areas, Hold: req.Hold}
	for _, ref := range req.References {
		a.References = append(a.References, tocsin.ReferenceID(ref))
	}
	protected, err := s.protectedTerms(r.Context(), req.ProtectedTerms)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	for _, t := range req.ProtectedTerms {
		if t = strings.TrimSpace(t); t != "" {
			a.ProtectedTerms = append(a.ProtectedTerms, t)
		}
	}
	if req.Template != "" {
		if err := s.renderTemplate(r.Context(), a, &req, protected); err != nil {
			s.Error(w, r, err)
			return
		}
	}
	for _, in := range req.Infos {
		if in.Expires == nil {
			in.Expires = req.Expires
		}
		a.Infos = append(a.Infos, tocsin.Info{Language: in.Language, Category: in.Category, Event: in.Event, Urgency: in.Urgency,
			Severity: in.Severity, Certainty: in.Certainty, Headline: in.Headline, Description: in.Description,
			Instruction: in.Instruction, Expires: in.Expires, Provenance: "human"})
	}
	if len(req.TranslateTo) > tocsin.MaxInfos {
		s.Error(w, r, &tocsin.Error{Code: tocsin.EINVALID, Message: "translate_to: too many languages", Fields: []tocsin.FieldError{{Field: "translate_to", Detail: "at most 32 languages"}}})
		return
	}
	for i, l := range req.TranslateTo {
		if !tocsin.ValidLanguageTag(l) {
			s.Error(w, r, &tocsin.Error{Code: tocsin.EINVALID, Message: "translate_to: " + l + " is not a language tag",
				Fields: []tocsin.FieldError{{Field: fmt.Sprintf("translate_to[%d]", i), Detail: "must be a language tag such as es"}}})
			return
		}
	}
	if len(req.TranslateTo) > 0 && len(a.Infos) > 0 {
		// Validate before spending engine time on an alert that will be refused.
		a.ApplyDefaults()
		if err := a.Validate(); err != nil {
			s.Error(w, r, err)
			return
		}
		s.translate(r.Context(), a, req.TranslateTo, protected)
	}
	if err := s.Alerts.CreateAlert(r.Context(), a); err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/alerts/"+a.ID)
	writeJSON(w, http.StatusCreated, a)
}

// queryArea reads lat, lon and radius_km from the query as a circle. It
// returns nil when lat and lon are both absent and required is false.
func queryArea(r *http.Request, required bool, defaultRadius float64) (*geo.Shape, error) {
	q := r.URL.Query()
	var p tocsin.Problems
	num := func(name string) (float64, bool) {
		v := q.Get(name)
		if v == "" {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			p.Add(name, "must be a number")
			return 0, false
		}
		return f, true
	}
	lat, hasLat := num("lat")
	lon, hasLon := num("lon")
	radius, hasRadius := num("radius_km")
	if !hasRadius {
		radius = defaultRadius
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	if !hasLat && !hasLon && !required {
		if hasRadius {
			p.Add("radius_km", "needs lat and lon")
			return nil, p.Err()
		}
		return nil, nil
	}
	if !hasLat {
		p.Add("lat", "is required")
	}
	if !hasLon {
		p.Add("lon", "is required")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	c := &geo.Circle{Lat: lat, Lon: lon, RadiusKM: radius}
	if err := c.Validate(); err != nil {
		field := "radius_km"
		if geo.ValidatePoint(geo.Point{Lat: lat}) != nil {
			field = "lat"
		} else if geo.ValidatePoint(geo.Point{Lon: lon}) != nil {
			field = "lon"
		}
		p.Add(field, "%s", err)
		return nil, p.Err()
	}
	return &geo.Shape{Circle: c}, nil
}

func (s *Server) handleListAlerts(w http.ResponseWriter, r *http.Request) {
	f := tocsin.AlertFilter{}
	var err error
	if f.Offset, f.Limit, err = page(r); err != nil {
		s.Error(w, r, err)
		return
	}
	if f.Area, err = queryArea(r, false, 10); err != nil {
		s.Error(w, r, err)
		return
	}
	now := s.Now()
	if st := r.URL.Query().Get("state"); st != "" && st != "active" {
		// Other states are for publishers: pending approval is not public.
		if _, err := tocsin.Require(r.Context(), tocsin.RolePublisher); err != nil {
			s.Error(w, r, err)
			return
		}
		state := tocsin.AlertState(st)
		switch state {
		case tocsin.AlertPendingApproval, tocsin.AlertPublished, tocsin.AlertSuperseded, tocsin.AlertCancelled:
		default:
			s.Error(w, r, &tocsin.Error{Code: tocsin.EINVALID, Message: "unknown alert state " + st,
				Fields: []tocsin.FieldError{{Field: "state", Detail: "must be active, pending_approval, published, superseded or cancelled"}}})
			return
		}
		f.State = &state
	} else {
		f.ActiveAt = &now
	}
	alerts, total, err := s.Alerts.FindAlerts(r.Context(), f)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if !isPublisher(r) {
		for i, a := range alerts {
			alerts[i] = a.Public()
		}
	}
	if alerts == nil {
		alerts = []*tocsin.Alert{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": alerts, "total": total})
}

// isPublisher reports whether the caller may see who wrote and approved alerts.
func isPublisher(r *http.Request) bool {
	_, err := tocsin.Require(r.Context(), tocsin.RolePublisher)
	return err == nil
}

// visible reports whether the caller may see a: published alerts are public;
// pending and withdrawn ones only to publishers.
func visible(r *http.Request, a *tocsin.Alert) bool {
	if a.PublishedAt != nil {
		return true
	}
	_, err := tocsin.Require(r.Context(), tocsin.RolePublisher)
	return err == nil
}

func (s *Server) findVisibleAlert(w http.ResponseWriter, r *http.Request) *tocsin.Alert {
	a, err := s.Alerts.FindAlertByID(r.Context(), tocsin.ReferenceID(r.PathValue("id")))
	if err == nil && !visible(r, a) {
		err = tocsin.Errorf(tocsin.ENOTFOUND, "alert %s not found", r.PathValue("id"))
	}
	if err != nil {
		s.Error(w, r, err)
		return nil
	}
	return a
}

func (s *Server) handleGetAlert(w http.ResponseWriter, r *http.Request) {
	a := s.findVisibleAlert(w, r)
	if a == nil {
		return
	}
	if !isPublisher(r) {
		a = a.Public()
	}
	if lang := r.URL.Query().Get("lang"); lang != "" {
		a = a.ForLanguage(strings.Split(lang, ","))
	}
	writeJSON(w, http.StatusOK, a)
}

// previewResponse tells a publisher whom an alert will reach.
type previewResponse struct {
	AlertID    string                     `json:"alert_id"`
	State      tocsin.AlertState          `json:"state"`
	Recipients map[tocsin.ChannelType]int `json:"recipients"`
	Total      int                        `json:"total"`
	Areas      []tocsin.Area              `json:"areas"`
	Languages  map[string]int             `json:"languages"`
}

func (s *Server) handlePreviewAlert(w http.ResponseWriter, r *http.Request) {
	if _, err := tocsin.Require(r.Context(), tocsin.RolePublisher); err != nil {
		s.Error(w, r, err)
		return
	}
	a := s.findVisibleAlert(w, r)
	if a == nil {
		return
	}
	areas := a.Shapes()
	for _, ref := range a.References {
		if old, err := s.Alerts.FindAlertByID(r.Context(), ref); err == nil {
			areas = append(areas, old.Shapes()...)
		}
	}
	resp := previewResponse{AlertID: a.ID, State: a.State, Recipients: map[tocsin.ChannelType]int{}, Areas: a.Areas, Languages: map[string]int{}}
	s.Matcher.Match(areas, a, func(sub *tocsin.Subscription) bool {
		resp.Recipients[sub.Channel.Type]++
		resp.Languages[a.InfoFor(sub.Languages).Language]++
		return true
	})
	if s.Broker != nil {
		if n := s.Broker.Count(areas); n > 0 {
			resp.Recipients[tocsin.ChannelSSE] = n
		}
	}
	for _, n := range resp.Recipients {
		resp.Total += n
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleApproveAlert(w http.ResponseWriter, r *http.Request) {
	a, err := s.Alerts.ApproveAlert(r.Context(), tocsin.ReferenceID(r.PathValue("id")))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) handleCancelAlert(w http.ResponseWriter, r *http.Request) {
	a, err := s.Alerts.CancelAlert(r.Context(), tocsin.ReferenceID(r.PathValue("id")))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	status := http.StatusCreated // a Cancel message was published
	if a.MsgType != "Cancel" {
		status = http.StatusOK // a pending alert was withdrawn
	}
	writeJSON(w, status, a)
}

func (s *Server) handleReviseInfo(w http.ResponseWriter, r *http.Request) {
	var rev tocsin.InfoRevision
	if err := decodeJSON(r, &rev); err != nil {
		s.Error(w, r, err)
		return
	}
	a, err := s.Alerts.ReviseInfo(r.Context(), tocsin.ReferenceID(r.PathValue("id")), r.PathValue("language"), rev)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
