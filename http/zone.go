package http

import (
	"net/http"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// zoneRequest is the body of POST /api/v1/zones.
type zoneRequest struct {
	ID       string            `json:"id"`
	Names    map[string]string `json:"names"`
	Circle   *geo.Circle       `json:"circle"`
	Polygon  geo.Polygon       `json:"polygon"`
	Geocodes map[string]string `json:"geocodes"`
}

func (s *Server) handleCreateZone(w http.ResponseWriter, r *http.Request) {
	if _, err := tocsin.Require(r.Context(), tocsin.RoleAdmin); err != nil {
		s.Error(w, r, err)
		return
	}
	var req zoneRequest
	if err := decodeJSON(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	z := &tocsin.Zone{ID: req.ID, Names: req.Names, Circle: req.Circle, Polygon: req.Polygon, Geocodes: req.Geocodes}
	if err := s.Zones.CreateZone(r.Context(), z); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, z)
}

func (s *Server) handleListZones(w http.ResponseWriter, r *http.Request) {
	zs, err := s.Zones.FindZones(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"zones": zs})
}

func (s *Server) handleGetZone(w http.ResponseWriter, r *http.Request) {
	z, err := s.Zones.FindZoneByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, z)
}
