package http

import (
	"embed"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/lang"
)

//go:embed templates/*.html
var pageFS embed.FS

// pages are parsed once at start: a broken template fails the build's tests
// and the server's start, never a reader.
var pages = template.Must(template.New("").ParseFS(pageFS, "templates/*.html"))

// pageCSP allows no script at all; the one stylesheet is inline.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// alertPage is what templates/alert.html shows.
type alertPage struct {
	Locale      lang.Locale
	Alert       *tocsin.Alert
	Info        *tocsin.Info
	InfoDir     string
	Machine     bool
	Cancelled   bool
	StatusLabel string
	Sent        string
	SentISO     string
	Expires     string
	ExpiresISO  string
	Others      []lang.Locale
}

// T translates a catalog key into the page's locale.
func (p *alertPage) T(key string) string { return lang.T(p.Locale.Code, key) }

// handleAlertPage renders GET /alerts/{id}: the alert in the reader's
// language (?lang=, else Accept-Language), with its language versions.
func (s *Server) handleAlertPage(w http.ResponseWriter, r *http.Request) {
	a, err := s.Alerts.FindAlertByID(r.Context(), tocsin.ReferenceID(r.PathValue("id")))
	if err == nil && a.PublishedAt == nil {
		err = tocsin.Errorf(tocsin.ENOTFOUND, "alert not found")
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	a = a.Public()
	prefs := lang.AcceptLanguage(r.Header.Get("Accept-Language"))
	if q := r.URL.Query().Get("lang"); q != "" {
		prefs = append(strings.Split(q, ","), prefs...)
	}
	locale, _ := lang.FindLocale(lang.Match(prefs))
	info := a.InfoFor(append([]string{locale.Code}, prefs...))
	p := &alertPage{Locale: locale, Alert: a, Info: info, InfoDir: "ltr", Machine: strings.HasPrefix(info.Provenance, "machine:"),
		Cancelled: a.State == tocsin.AlertCancelled || a.MsgType == "Cancel"}
	if l, ok := lang.FindLocale(lang.Match([]string{info.Language})); ok {
		p.InfoDir = l.Dir
	}
	switch a.Status {
	case "Exercise":
		p.StatusLabel = p.T("alert.exercise")
	case "Test":
		p.StatusLabel = p.T("alert.test")
	}
	p.Sent, p.SentISO = lang.FormatTime(a.Sent, locale.Code, time.Local), a.Sent.Format(time.RFC3339)
	if exp := a.Expires(); exp != nil {
		p.Expires, p.ExpiresISO = lang.FormatTime(*exp, locale.Code, time.Local), exp.Format(time.RFC3339)
	}
	for _, in := range a.Infos {
		if l, ok := lang.FindLocale(lang.Match([]string{in.Language})); ok && l.Code != locale.Code && !strings.EqualFold(in.Language, info.Language) {
			p.Others = append(p.Others, l)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Content-Language", locale.Code)
	h.Set("Vary", "Accept-Language")
	if err := pages.ExecuteTemplate(w, "alert.html", p); err != nil {
		s.Logger.Error("render alert page", "alert", a.ID, "err", err)
	}
}
