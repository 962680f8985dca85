package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/lang"
)

// alertPage is the data of templates/alert.html.
type alertPage struct {
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

// handleAlertPage renders GET /alerts/{id}: the alert in the reader's
// language (?lang=, else the chooser's choice, else Accept-Language), with
// its area on a map and its language versions.
func (s *Server) handleAlertPage(w http.ResponseWriter, r *http.Request) {
	a, err := s.Alerts.FindAlertByID(r.Context(), tocsin.ReferenceID(r.PathValue("id")))
	if err == nil && a.PublishedAt == nil {
		err = tocsin.Errorf(tocsin.ENOTFOUND, "alert not found")
	}
	if tocsin.ErrorCode(err) == tocsin.ENOTFOUND && wantsHTML(r) {
		// A reader following a stale or mistyped link gets a page, in
		// their language, that leads to the active alerts.
		p := s.newPage(w, r, "notfound", "web.alert.not_found")
		p.Script = false
		s.renderPage(w, r, http.StatusNotFound, p)
		return
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	a = a.Public()
	p := s.newPage(w, r, "alert", "web.alert.title")
	prefs := []string{p.Locale.Code}
	if q := r.URL.Query().Get("lang"); q != "" {
		prefs = append(strings.Split(q, ","), prefs...)
	}
	info := a.InfoFor(append(prefs, lang.AcceptLanguage(r.Header.Get("Accept-Language"))...))
	d := &alertPage{Alert: a, Info: info, InfoDir: textDir(info.Language), Machine: strings.HasPrefix(info.Provenance, "machine:"),
		Cancelled: a.State == tocsin.AlertCancelled || a.MsgType == "Cancel", StatusLabel: p.statusLabel(a.Status)}
	d.Sent, d.SentISO = lang.FormatTime(a.Sent, p.Locale.Code, time.Local), a.Sent.Format(time.RFC3339)
	if exp := a.Expires(); exp != nil {
		d.Expires, d.ExpiresISO = lang.FormatTime(*exp, p.Locale.Code, time.Local), exp.Format(time.RFC3339)
	}
	for _, in := range a.Infos {
		if l, ok := lang.FindLocale(lang.Match([]string{in.Language})); ok && l.Code != p.Locale.Code && !strings.EqualFold(in.Language, info.Language) {
			d.Others = append(d.Others, l)
		}
	}
	p.Title, p.Data = info.Headline, d
	p.Boot.Data = map[string]any{"areas": a.Areas, "severity": info.Severity}
	s.renderPage(w, r, http.StatusOK, p)
}
