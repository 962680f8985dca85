package http

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tocsin/tocsin"
)

// page reads offset and limit from the query.
func page(r *http.Request) (offset, limit int, err error) {
	var p tocsin.Problems
	if v := r.URL.Query().Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			p.Add("offset", "must be a whole number ≥ 0")
		}
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			p.Add("limit", "must be a whole number from 1 to 1000")
		}
	}
	return offset, limit, p.Err()
}

func (s *Server) handleListIncidents(w http.ResponseWriter, r *http.Request) {
	var f tocsin.IncidentFilter
	var err error
	if f.Offset, f.Limit, err = page(r); err != nil {
		s.Error(w, r, err)
		return
	}
	if v := r.URL.Query().Get("state"); v == "open" {
		f.States = tocsin.OpenIncidentStates()
	} else if strings.Contains(v, ",") {
		for _, st := range strings.Split(v, ",") {
			f.States = append(f.States, tocsin.IncidentState(strings.TrimSpace(st)))
		}
	} else if v != "" {
		st := tocsin.IncidentState(v)
		f.State = &st
	}
	incs, total, err := s.Incidents.FindIncidents(r.Context(), f)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if incs == nil {
		incs = []*tocsin.Incident{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": incs, "total": total})
}

func (s *Server) handleGetIncident(w http.ResponseWriter, r *http.Request) {
	inc, err := s.Incidents.FindIncidentByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	id := inc.ID
	reports, _, err := s.Reports.FindReports(r.Context(), tocsin.ReportFilter{IncidentID: &id, Limit: 1000})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if reports == nil {
		reports = []*tocsin.Report{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incident": inc, "reports": reports})
}

// decisionRequest is the optional body of verify and reject.
type decisionRequest struct {
	Note string `json:"note"`
}

func (s *Server) handleDecideIncident(state tocsin.IncidentState) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req decisionRequest
		if err := decodeOptionalJSON(r, &req); err != nil {
			s.Error(w, r, err)
			return
		}
		inc, err := s.Incidents.DecideIncident(r.Context(), r.PathValue("id"), state, req.Note)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, inc)
	}
}

// mergeRequest is the body of POST /api/v1/incidents/{id}/merge.
type mergeRequest struct {
	Into string `json:"into"`
	Note string `json:"note"`
}

// handleMergeIncident moves an incident's reports into another incident
// and answers both as they are after.
func (s *Server) handleMergeIncident(w http.ResponseWriter, r *http.Request) {
	if _, err := tocsin.Require(r.Context(), tocsin.RoleVerifier); err != nil {
		s.Error(w, r, err)
		return
	}
	var req mergeRequest
	if err := decodeJSON(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	merged, target, err := s.Incidents.MergeIncidents(r.Context(), r.PathValue("id"), req.Into, req.Note)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"merged": merged, "incident": target})
}
