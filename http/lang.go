package http

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/lang"
)

func (s *Server) handleListLanguages(w http.ResponseWriter, r *http.Request) {
	type locale struct {
		lang.Locale
		Reviewed bool `json:"reviewed"`
	}
	var out []locale
	for _, l := range lang.Locales() {
		catalog, templates := lang.ReviewStatus(l.Code)
		out = append(out, locale{Locale: l, Reviewed: catalog.Status == "reviewed" && templates.Status == "reviewed"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"languages": out})
}

func (s *Server) handleListTemplates(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"templates": lang.Templates()})
}

// termRequest is the body of POST /api/v1/glossary.
type termRequest struct {
	Term string `json:"term"`
}

func (s *Server) handleListGlossary(w http.ResponseWriter, r *http.Request) {
	if _, err := tocsin.Require(r.Context(), tocsin.RolePublisher); err != nil {
		s.Error(w, r, err)
		return
	}
	terms, err := s.Glossary.Terms(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"terms": terms})
}

func (s *Server) handleAddGlossary(w http.ResponseWriter, r *http.Request) {
	var req termRequest
	if err := decodeJSON(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.Glossary.AddTerm(r.Context(), req.Term); err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"term": strings.TrimSpace(req.Term)})
}

func (s *Server) handleRemoveGlossary(w http.ResponseWriter, r *http.Request) {
	var req termRequest
	if err := decodeJSON(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	if err := s.Glossary.RemoveTerm(r.Context(), req.Term); err != nil {
		s.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// protectedTerms is the glossary plus an alert's own terms.
func (s *Server) protectedTerms(ctx context.Context, own []string) ([]string, error) {
	var terms []string
	if s.Glossary != nil {
		var err error
		if terms, err = s.Glossary.Terms(ctx); err != nil {
			return nil, err
		}
	}
	for _, t := range own {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(terms, t) {
			terms = append(terms, t)
		}
	}
	return terms, nil
}

// renderTemplate fills a's infos from template id in every locale.
func (s *Server) renderTemplate(ctx context.Context, a *tocsin.Alert, req *alertRequest, protected []string) error {
	t, ok := lang.FindTemplate(req.Template)
	if !ok {
		return &tocsin.Error{Code: tocsin.EINVALID, Message: "unknown template " + req.Template,
			Fields: []tocsin.FieldError{{Field: "template", Detail: "see GET /api/v1/templates for the template ids"}}}
	}
	var p tocsin.Problems
	if len(req.Infos) > 0 {
		p.Add("infos", "an alert from a template has no infos of its own: the template writes them")
	}
	if t.RequiresExpiry && req.Expires == nil {
		p.Add("expires", "a %s alert must say when it expires", t.ID)
	}
	tz := time.UTC
	if req.TimeZone != "" {
		loc, err := time.LoadLocation(req.TimeZone)
		if err != nil {
			p.Add("time_zone", "%q is not an IANA time zone such as America/Denver", req.TimeZone)
		} else {
			tz = loc
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	zoneNames := func(zoneID, locale string) string {
		if s.Zones == nil {
			return ""
		}
		z, err := s.Zones.FindZoneByID(ctx, zoneID)
		if err != nil {
			return ""
		}
		return z.Names[locale]
	}
	rendered, err := lang.RenderAll(t.ID, req.Params, lang.RenderOptions{TimeZone: tz, ZoneNames: zoneNames, Protected: protected})
	if err != nil {
		return err
	}
	for _, r := range rendered {
		in := r.Info()
		if req.Urgency != "" {
			in.Urgency = req.Urgency
		}
		if req.Severity != "" {
			in.Severity = req.Severity
		}
		if req.Certainty != "" {
			in.Certainty = req.Certainty
		}
		in.Expires = req.Expires
		a.Infos = append(a.Infos, in)
	}
	a.Template = fmt.Sprintf("%s@%d", t.ID, t.Version)
	return nil
}

// translate adds a machine-translated info for each language in to that the
// alert does not already carry: a template or a person's version always wins
// over the machine's, so an Extreme alert never goes out with machine text
// where a vetted one exists. What cannot be translated becomes a warning;
// the alert itself never fails for it.
func (s *Server) translate(ctx context.Context, a *tocsin.Alert, to []string, protected []string) {
	for _, target := range to {
		target = strings.TrimSpace(target)
		if target == "" || hasLanguage(a, target) {
			continue
		}
		if s.Translator == nil {
			a.Warnings = append(a.Warnings, fmt.Sprintf("no %s version: machine translation is not available on this server", target))
			continue
		}
		var lastErr error
		done := false
		for _, in := range a.Infos {
			if strings.HasPrefix(in.Provenance, "machine:") {
				continue // never translate a translation
			}
			// The engine speaks our locale codes: en-US is translated as en.
			if m := lang.Match([]string{in.Language}); sameLanguage(m, in.Language) {
				in.Language = m
			}
			out, err := lang.TranslateInfo(ctx, s.Translator, in, target, protected)
			if err != nil {
				lastErr = err
				continue
			}
			a.Infos = append(a.Infos, out)
			done = true
			break
		}
		if !done {
			msg := "no language pair"
			if lastErr != nil {
				msg = tocsin.ErrorMessage(lastErr)
			}
			a.Warnings = append(a.Warnings, fmt.Sprintf("no %s version: %s", target, msg))
		}
	}
}

func hasLanguage(a *tocsin.Alert, tag string) bool {
	for _, in := range a.Infos {
		if sameLanguage(in.Language, tag) {
			return true
		}
	}
	return false
}

// sameLanguage reports whether two tags name the same language for a reader:
// es and es-MX do, zh-TW and zh-CN (two scripts) do not.
func sameLanguage(a, b string) bool {
	base := func(t string) string { return strings.ToLower(strings.SplitN(t, "-", 2)[0]) }
	return strings.EqualFold(a, b) || base(a) == base(b) && lang.Match([]string{a}) == lang.Match([]string{b})
}

// LocalizeImported adds machine translations to an alert a partner or a
// relayed feed sent, for every language the engine can reach from one the
// alert carries, so subscribers get it in their language where a pair
// exists. The agency's own texts stay first and untouched; what cannot be
// translated is logged, never a refused import.
func (s *Server) LocalizeImported(ctx context.Context, a *tocsin.Alert) error {
	if s.Translator == nil || len(a.Infos) == 0 {
		return nil
	}
	pairs, err := s.Translator.Pairs(ctx)
	if err != nil {
		s.Logger.Warn("machine translation unavailable for an imported alert", "alert", a.ID, "err", tocsin.ErrorMessage(err))
		return nil
	}
	var targets []string
	for _, p := range pairs {
		if !hasLanguage(a, p.To) && !slices.Contains(targets, p.To) && slices.ContainsFunc(a.Infos, func(in tocsin.Info) bool {
			return lang.Match([]string{in.Language}) == p.From
		}) {
			targets = append(targets, p.To)
		}
	}
	protected, err := s.protectedTerms(ctx, nil)
	if err != nil {
		return err
	}
	s.translate(ctx, a, targets, protected)
	for _, w := range a.Warnings {
		s.Logger.Warn("imported alert", "alert", a.ID, "warning", w)
	}
	a.Warnings = nil
	return nil
}
