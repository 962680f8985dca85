package http

import (
	"net/http"
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
	receipt, err := s.Reports.CreateReport(r.Context(), rep)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": rep.ID, "incident_id": rep.IncidentID, "receipt": receipt})
}
