package http

import (
	"net/http"
	"strconv"

	"github.com/tocsin/tocsin"
)

func (s *Server) handleListDeliveries(w http.ResponseWriter, r *http.Request) {
	if _, err := tocsin.Require(r.Context(), tocsin.RoleAdmin); err != nil {
		s.Error(w, r, err)
		return
	}
	f := tocsin.DeliveryFilter{}
	var err error
	if f.Offset, f.Limit, err = page(r); err != nil {
		s.Error(w, r, err)
		return
	}
	if v := r.URL.Query().Get("state"); v != "" {
		st := tocsin.DeliveryState(v)
		switch st {
		case tocsin.DeliveryRetrying, tocsin.DeliveryDelivered, tocsin.DeliveryDead, tocsin.DeliveryGone:
		default:
			s.Error(w, r, &tocsin.Error{Code: tocsin.EINVALID, Message: "unknown delivery state " + v,
				Fields: []tocsin.FieldError{{Field: "state", Detail: "must be retrying, delivered, dead or gone"}}})
			return
		}
		f.State = &st
	}
	ds, total, err := s.Outbox.FindDeliveries(r.Context(), f)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if ds == nil {
		ds = []*tocsin.Delivery{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds, "total": total})
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) {
	if _, err := tocsin.Require(r.Context(), tocsin.RoleAdmin); err != nil {
		s.Error(w, r, err)
		return
	}
	var after int64
	if v := r.URL.Query().Get("after"); v != "" {
		var err error
		if after, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.Error(w, r, &tocsin.Error{Code: tocsin.EINVALID, Message: "after must be a whole number", Fields: []tocsin.FieldError{{Field: "after", Detail: "must be a whole number"}}})
			return
		}
	}
	_, limit, err := page(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	evs, err := s.Audit.FindAuditEvents(r.Context(), after, limit)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if evs == nil {
		evs = []*tocsin.AuditEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs})
}
