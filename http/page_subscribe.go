package http

import (
	"net/http"
	"sort"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// subscribePage is the data of templates/subscribe.html.
type subscribePage struct {
	// Zones are the named zones one may subscribe to, by name in the
	// reader's language.
	Zones []subscribeZone
	// Severities are the minimum severity's choices, least severe first.
	Severities []tocsin.Severity
	// Push and Email say which channels the server offers.
	Push, Email bool
}

// subscribeZone is one named zone: its id, its name in the reader's
// language, and its geometry for the map and the subscription's area.
type subscribeZone struct {
	ID      string      `json:"id"`
	Name    string      `json:"name"`
	Circle  *geo.Circle `json:"circle,omitempty"`
	Polygon geo.Polygon `json:"polygon,omitempty"`
}

// handleSubscribePage renders GET /subscribe: choose an area (a circle on
// the map, a drawn polygon or a named zone), languages in order of
// preference, a minimum severity, and Web Push in this browser or email.
// The script sends the choice to POST /api/v1/subscriptions and keeps each
// subscription's management token in the browser, for its Unsubscribe button.
func (s *Server) handleSubscribePage(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(w, r, "subscribe", "web.subscribe.title", "web.subscribe.", "severity.")
	d := &subscribePage{Severities: []tocsin.Severity{"Minor", "Moderate", "Severe", "Extreme"}, Push: s.VAPIDPublicKey != "",
		Email: s.Email != nil && s.SubscriptionTokens != nil}
	if s.Zones != nil {
		zs, err := s.Zones.FindZones(r.Context())
		if err != nil {
			s.Error(w, r, err)
			return
		}
		for _, z := range zs {
			d.Zones = append(d.Zones, subscribeZone{ID: z.ID, Name: z.Name(p.Locale.Code), Circle: z.Circle, Polygon: z.Polygon})
		}
		sort.SliceStable(d.Zones, func(i, j int) bool { return d.Zones[i].Name < d.Zones[j].Name })
	}
	p.Data = d
	zones := d.Zones
	if zones == nil {
		zones = []subscribeZone{}
	}
	p.Boot.Data = map[string]any{"zones": zones, "push": d.Push, "email": d.Email}
	s.renderPage(w, r, http.StatusOK, p)
}
