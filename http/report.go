package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
)

// reportRequest is the body of POST /api/v1/reports.
type reportRequest struct {
	Lat        *float64        `json:"lat"`
	Lon        *float64        `json:"lon"`
	AccuracyM  *float64        `json:"accuracy_m"`
	ObservedAt *time.Time      `json:"observed_at"`
	Category   tocsin.Category `json:"category"`
	Event      string          `json:"event"`
	Text       string          `json:"text"`
	Language   string          `json:"language"`
}

func (s *Server) handleCreateReport(w http.ResponseWriter, r *http.Request) {
	var req reportRequest
	if err := decodeJSON(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	var p tocsin.Problems
	if req.Lat == nil {
		p.Add("lat", "is required")
	}
	if req.Lon == nil {
		p.Add("lon", "is required")
	}
	if err := p.Err(); err != nil {
		s.Error(w, r, err)
		return
	}
	rep := &tocsin.Report{Lat: *req.Lat, Lon: *req.Lon, AccuracyM: req.AccuracyM, Category: req.Category, Event: req.Event,
		Text: req.Text, Language: req.Language, Channel: "api"}
	if req.ObservedAt != nil {
		rep.ObservedAt = *req.ObservedAt
	}
	key := idempotencyKey(r)
	if s.Intake != nil {
		// The answer gains the photo token, and a repeat with the same
		// Idempotency-Key gets the first answer again.
		sub, err := s.Intake.SubmitReport(r.Context(), rep, key)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		if sub.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeJSON(w, http.StatusCreated, sub)
		return
	}
	if key != "" {
		s.Error(w, r, &tocsin.Error{Code: tocsin.EINVALID, Message: "this server does not take an Idempotency-Key",
			Fields: []tocsin.FieldError{{Field: "Idempotency-Key", Detail: "is not supported here"}}})
		return
	}
	receipt, err := s.Reports.CreateReport(r.Context(), rep)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": rep.ID, "incident_id": rep.IncidentID, "receipt": receipt})
}

// idempotencyKey is the request's Idempotency-Key header, which may be a
// plain token or, as the IETF draft writes it, a quoted string.
func idempotencyKey(r *http.Request) string {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	return k
}
