package http

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sse"
)

// streamLanguages reads the stream's languages from lang (a comma-separated
// list in order of preference), else from Accept-Language, else English.
func streamLanguages(r *http.Request) ([]string, error) {
	raw := r.URL.Query().Get("lang")
	if raw == "" {
		for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
			tag := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
			if tocsin.ValidLanguageTag(tag) {
				raw += tag + ","
			}
		}
	}
	var langs []string
	for _, l := range strings.Split(raw, ",") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		if !tocsin.ValidLanguageTag(l) {
			return nil, &tocsin.Error{Code: tocsin.EINVALID, Message: "lang: " + l + " is not a language tag",
				Fields: []tocsin.FieldError{{Field: "lang", Detail: l + " is not a language tag such as en or es-MX"}}}
		}
		langs = append(langs, l)
		if len(langs) == tocsin.MaxLanguages {
			break
		}
	}
	if len(langs) == 0 {
		langs = []string{"en"}
	}
	return langs, nil
}

// worldArea is the whole globe: the area of a stream opened with ?all=true,
// such as the home page's map of every alert.
var worldArea = geo.Shape{Polygon: geo.Polygon{{Lat: -90, Lon: -180}, {Lat: -90, Lon: 180}, {Lat: 90, Lon: 180}, {Lat: 90, Lon: -180}, {Lat: -90, Lon: -180}}}

// streamArea reads the stream's area: the whole world with all=true (and
// all reports true), else the circle of lat, lon and radius_km.
func streamArea(r *http.Request) (area *geo.Shape, all bool, err error) {
	q := r.URL.Query()
	if v := q.Get("all"); v != "" {
		all, err := strconv.ParseBool(v)
		if err != nil {
			return nil, false, &tocsin.Error{Code: tocsin.EINVALID, Message: "all must be true or false",
				Fields: []tocsin.FieldError{{Field: "all", Detail: "must be true or false"}}}
		}
		if all {
			if q.Has("lat") || q.Has("lon") || q.Has("radius_km") {
				return nil, false, &tocsin.Error{Code: tocsin.EINVALID, Message: "all=true takes no lat, lon or radius_km",
					Fields: []tocsin.FieldError{{Field: "all", Detail: "the whole world is followed; leave out lat, lon and radius_km"}}}
			}
			a := worldArea
			return &a, true, nil
		}
	}
	area, err = queryArea(r, true, 10)
	return area, false, err
}

func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	area, all, err := streamArea(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	langs, err := streamLanguages(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	var last int64 = -1
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if last, err = strconv.ParseInt(v, 10, 64); err != nil || last < 0 {
			s.Error(w, r, &tocsin.Error{Code: tocsin.EINVALID, Message: "Last-Event-ID must be an event id from this stream",
				Fields: []tocsin.FieldError{{Field: "Last-Event-ID", Detail: "must be a whole number"}}})
			return
		}
	}
	ctx := r.Context()
	// A stream of every alert (?all=true) is an onlooker such as the home
	// page's map: the publisher's preview does not count it as a recipient.
	s.Broker.Serve(w, r, sse.Stream{Area: *area, Langs: langs, Watcher: all}, func(write func(seq int64, frame []byte) error) error {
		if last < 0 || s.Replay == nil {
			return nil
		}
		return s.Replay(ctx, last, *area, langs, write)
	})
}
