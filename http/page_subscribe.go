package http

import (
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

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
	// Form is what a form post without script sent; Errors what was wrong
	// with it; Done the confirmation to show once it was taken.
	Form   subscribeForm
	Errors []string
	Done   string
}

// subscribeForm is the subscribe form as posted by a browser without
// script: a point and radius or a named zone, and email.
type subscribeForm struct {
	Mode, Lat, Lon, Radius, Zone, Email string
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
	p, _, err := s.subscribePage(w, r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.renderPage(w, r, http.StatusOK, p)
}

// subscribePage starts the subscribe page and its data.
func (s *Server) subscribePage(w http.ResponseWriter, r *http.Request) (*webPage, *subscribePage, error) {
	p := s.newPage(w, r, "subscribe", "web.subscribe.title", "web.subscribe.", "severity.")
	d := &subscribePage{Severities: []tocsin.Severity{"Minor", "Moderate", "Severe", "Extreme"}, Push: s.VAPIDPublicKey != "",
		Email: s.Email != nil && s.SubscriptionTokens != nil}
	if s.Zones != nil {
		zs, err := s.Zones.FindZones(r.Context())
		if err != nil {
			return nil, nil, err
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
	return p, d, nil
}

// handleSubscribeForm takes POST /subscribe from a browser without script
// (people at risk may browse with script off): a point and radius or a named
// zone, languages, minimum severity and an email address. It answers the
// page again, with what was wrong next to the form or the request to
// confirm by email. With script, the page posts to the API instead.
func (s *Server) handleSubscribeForm(w http.ResponseWriter, r *http.Request) {
	// A subscription posted from another site would still need its
	// confirmation, but need not cost anyone an email.
	if err := crossOrigin.Check(r); err != nil {
		s.Error(w, r, tocsin.Errorf(tocsin.EFORBIDDEN, "cross-origin requests are refused"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		s.Error(w, r, tocsin.Errorf(tocsin.EINVALID, "the form could not be read"))
		return
	}
	p, d, err := s.subscribePage(w, r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	f := r.PostForm
	d.Form = subscribeForm{Mode: f.Get("mode"), Lat: f.Get("lat"), Lon: f.Get("lon"), Radius: f.Get("radius_km"),
		Zone: f.Get("zone"), Email: strings.TrimSpace(f.Get("email"))}
	sub, problems := s.subscriptionFromForm(r, p, d.Form)
	if len(problems) == 0 {
		if _, err := s.createSubscription(r.Context(), sub); err != nil {
			if tocsin.ErrorCode(err) == tocsin.EINTERNAL {
				s.Error(w, r, err)
				return
			}
			problems = append(problems, labelledProblems(p, err, map[string]string{
				"area.circle.lat": "web.subscribe.lat", "area.circle.lon": "web.subscribe.lon",
				"area.circle.radius_km": "web.subscribe.radius", "channel.address": "web.subscribe.email",
				"languages": "web.subscribe.language_1", "min_severity": "web.subscribe.severity_label"})...)
		}
	}
	status := http.StatusOK
	if len(problems) > 0 {
		d.Errors, status = problems, http.StatusUnprocessableEntity
	} else {
		d.Done = p.Tf("web.subscribe.done_email", "address", d.Form.Email)
		d.Form = subscribeForm{}
	}
	s.renderPage(w, r, status, p)
}

// subscriptionFromForm reads the form into an email subscription, or says
// in the page's language what is missing.
func (s *Server) subscriptionFromForm(r *http.Request, p *webPage, f subscribeForm) (*tocsin.Subscription, []string) {
	var problems []string
	sub := &tocsin.Subscription{Channel: tocsin.Channel{Type: tocsin.ChannelEmail, Address: f.Email},
		MinSeverity: tocsin.Severity(r.PostForm.Get("min_severity"))}
	for _, l := range r.PostForm["lang"] {
		if l != "" && !slices.Contains(sub.Languages, l) {
			sub.Languages = append(sub.Languages, l)
		}
	}
	switch f.Mode {
	case "zone":
		if s.Zones == nil {
			problems = append(problems, p.T("web.subscribe.nojs_zone"))
			break
		}
		z, err := s.Zones.FindZoneByID(r.Context(), f.Zone)
		if err != nil {
			problems = append(problems, p.T("web.subscribe.nojs_zone"))
			break
		}
		sub.Area = geo.Shape{Circle: z.Circle, Polygon: z.Polygon}
	case "polygon":
		problems = append(problems, p.T("web.subscribe.nojs_polygon"))
	default:
		lat, err1 := strconv.ParseFloat(f.Lat, 64)
		lon, err2 := strconv.ParseFloat(f.Lon, 64)
		radius, err3 := strconv.ParseFloat(f.Radius, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			problems = append(problems, p.T("web.subscribe.nojs_point"))
			break
		}
		sub.Area = geo.Shape{Circle: &geo.Circle{Lat: lat, Lon: lon, RadiusKM: radius}}
	}
	if r.PostForm.Get("channel") == string(tocsin.ChannelWebPush) {
		problems = append(problems, p.T("web.subscribe.nojs_push"))
	}
	return sub, problems
}

// labelledProblems turns an error's field errors into lines for a form
// posted without script, each led by the label (a catalog key in labels) of
// the field it is about.
func labelledProblems(p *webPage, err error, labels map[string]string) []string {
	var e *tocsin.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return []string{tocsin.ErrorMessage(err)}
	}
	var out []string
	for _, fe := range e.Fields {
		label := fe.Field
		if key, ok := labels[fe.Field]; ok {
			label = p.T(key)
		}
		out = append(out, label+": "+fe.Detail)
	}
	return out
}
