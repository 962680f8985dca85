package http

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/cap"
)

// The public feeds, for aggregators and maps:
//
//	GET /feeds/alerts.atom?lang=      Atom index of CAP documents: alerts of status
//	                                  Actual and scope Public, active or ended less than
//	                                  tocsin.FeedRetention ago (expired, cancelled, or a Cancel)
//	GET /feeds/alerts.geojson?lang=   the active ones among them as a GeoJSON FeatureCollection
//
// Both carry ETag and Last-Modified and answer 304 to a conditional GET that
// matches (If-None-Match first, as RFC 9110 says, else If-Modified-Since).

// feedLanguages reads ?lang=es,en: the languages, most preferred first, in
// which entry titles and feature properties are given.
func feedLanguages(r *http.Request) ([]string, error) {
	q := r.URL.Query().Get("lang")
	if q == "" {
		return nil, nil
	}
	var langs []string
	for _, l := range strings.Split(q, ",") {
		l = strings.TrimSpace(l)
		if !tocsin.ValidLanguageTag(l) {
			return nil, &tocsin.Error{Code: tocsin.EINVALID, Message: fmt.Sprintf("lang: %q is not a language tag", l),
				Fields: []tocsin.FieldError{{Field: "lang", Detail: "must be language tags such as es or en-US, separated by commas"}}}
		}
		langs = append(langs, l)
	}
	return langs, nil
}

// baseURL is the public address feeds link to: PublicURL, else the address
// the server listens on. It is never taken from the request's Host header,
// so that a cached feed cannot be made to link elsewhere.
func (s *Server) baseURL() string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	return s.URL()
}

func (s *Server) handleAtomFeed(w http.ResponseWriter, r *http.Request) {
	langs, err := feedLanguages(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	alerts, changed, err := s.CAP.FindFeedAlerts(r.Context(), s.Now())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	for i, a := range alerts {
		alerts[i] = a.Public()
	}
	doc, err := cap.AtomFeed(alerts, cap.FeedOptions{BaseURL: s.baseURL(), Title: s.feedTitle(), Languages: langs, Updated: changed})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	serveFeed(w, r, "application/atom+xml; charset=utf-8", doc, changed)
}

func (s *Server) handleGeoJSONFeed(w http.ResponseWriter, r *http.Request) {
	langs, err := feedLanguages(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	now := s.Now()
	alerts, changed, err := s.CAP.FindFeedAlerts(r.Context(), now)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	active := make([]*tocsin.Alert, 0, len(alerts))
	for _, a := range alerts {
		if a.Active(now) && a.MsgType != "Cancel" {
			active = append(active, a.Public())
		}
	}
	doc, err := cap.GeoJSON(active, langs)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*") // maps in browsers read it
	serveFeed(w, r, "application/geo+json", doc, changed)
}

func (s *Server) feedTitle() string {
	if s.SenderName != "" {
		return s.SenderName + " alerts"
	}
	return ""
}

// serveFeed writes a feed with its validators, or 304 when the client's
// copy is current.
func serveFeed(w http.ResponseWriter, r *http.Request, contentType string, body []byte, modified time.Time) {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=60")
	if !modified.IsZero() {
		h.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if etagMatches(inm, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	} else if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !modified.IsZero() && !modified.Truncate(time.Second).After(ims) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	w.Write(body)
}
