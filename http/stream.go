package http

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tocsin/tocsin"
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

func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	area, err := queryArea(r, true, 10)
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
	s.Broker.Serve(w, r, sse.Stream{Area: *area, Langs: langs}, func(write func(seq int64, frame []byte) error) error {
		if last < 0 || s.Replay == nil {
			return nil
		}
		return s.Replay(ctx, last, *area, langs, write)
	})
}
