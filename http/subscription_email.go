package http

import (
	"context"
	"html/template"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/deliver"
	tlang "github.com/tocsin/tocsin/lang"
)

// emailSendTimeout bounds the sending of a confirmation email inside the
// request that creates the subscription.
const emailSendTimeout = 20 * time.Second

// emailUnavailable is the answer to an email subscription on a server
// without SMTP.
func emailUnavailable() error {
	return tocsin.Errorf(tocsin.EUNAVAILABLE, "email is not configured on this server")
}

// startEmailOptIn issues the tokens of a new, pending email subscription and
// sends its confirmation email. When that fails, the subscription is
// removed again (manage is its management token), so that the client can
// simply try again.
func (s *Server) startEmailOptIn(ctx context.Context, sub *tocsin.Subscription, manage string) error {
	err := s.sendEmailConfirmation(ctx, sub)
	if err == nil {
		return nil
	}
	if derr := s.Subscriptions.DeleteSubscription(context.WithoutCancel(ctx), sub.ID, manage); derr != nil {
		s.Logger.Error("remove unconfirmable email subscription", "subscription", sub.ID, "err", derr)
	}
	return err
}

func (s *Server) sendEmailConfirmation(ctx context.Context, sub *tocsin.Subscription) error {
	unsub, err := s.Email.UnsubscribeToken(sub.ID)
	if err != nil {
		return err
	}
	confirm, err := s.SubscriptionTokens.IssueSubscriptionTokens(ctx, sub.ID, unsub, s.Now().Add(tocsin.EmailConfirmTTL))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, emailSendTimeout)
	defer cancel()
	retry, err := s.Email.SendConfirmation(ctx, sub, deliver.ConfirmLink(s.baseURL(), sub.ID, confirm))
	if err == nil {
		return nil
	}
	// The SMTP error names no secret: tokens are only in the message body.
	s.Logger.Warn("confirmation email not sent", "subscription", sub.ID, "retry", retry, "err", err)
	if !retry {
		msg := "the mail server refused this address"
		return &tocsin.Error{Code: tocsin.EINVALID, Message: "channel.address: " + msg,
			Fields: []tocsin.FieldError{{Field: "channel.address", Detail: msg}}}
	}
	return tocsin.Errorf(tocsin.EUNAVAILABLE, "the confirmation email could not be sent; try again later")
}

// linkToken returns the token of a confirm or unsubscribe link: from the
// query string, where the emailed link carries it, or from the form.
func linkToken(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	return r.PostFormValue("token")
}

// readLinkForm reads the small form that a confirm or unsubscribe link's
// page posts (URL-encoded or multipart), answering the request itself and
// reporting false when email is off or the form is unreadable.
func (s *Server) readLinkForm(w http.ResponseWriter, r *http.Request) bool {
	if s.SubscriptionTokens == nil {
		s.Error(w, r, emailUnavailable())
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err = r.ParseMultipartForm(8 << 10)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		s.Error(w, r, tocsin.Errorf(tocsin.EINVALID, "could not read the form: %v", err))
		return false
	}
	return true
}

// wantsHTML reports whether the client is a browser that should get a page
// rather than JSON.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// handleConfirmPage shows the page behind a confirmation link. It does not
// confirm: link scanners and prefetchers GET links too. Its button POSTs.
func (s *Server) handleConfirmPage(w http.ResponseWriter, r *http.Request) {
	sub, err := s.Subscriptions.FindSubscriptionByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.linkPage(w, r, nil, err, "", "")
		return
	}
	if sub.State == tocsin.SubscriptionActive {
		_, t := deliver.EmailTextFor(sub.Languages)
		s.linkPage(w, r, sub, nil, t.AlreadyConfirmed, "")
		return
	}
	s.linkPage(w, r, sub, nil, "", "confirm")
}

// handleConfirmSubscription confirms an email subscription: it becomes
// active and starts receiving alerts.
func (s *Server) handleConfirmSubscription(w http.ResponseWriter, r *http.Request) {
	if !s.readLinkForm(w, r) {
		return
	}
	sub, err := s.SubscriptionTokens.ConfirmSubscription(r.Context(), r.PathValue("id"), linkToken(r))
	if err != nil {
		s.linkPage(w, r, nil, err, "", "")
		return
	}
	if err := s.Matcher.Add(sub); err != nil {
		s.Logger.Error("index subscription", "subscription", sub.ID, "err", err)
	}
	if wantsHTML(r) {
		_, t := deliver.EmailTextFor(sub.Languages)
		s.linkPage(w, r, sub, nil, t.Confirmed, "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": sub.ID, "state": string(sub.State)})
}

// handleUnsubscribePage shows the page behind an unsubscribe link in an
// email's body; its button POSTs.
func (s *Server) handleUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	sub, err := s.Subscriptions.FindSubscriptionByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.linkPage(w, r, nil, err, "", "")
		return
	}
	s.linkPage(w, r, sub, nil, "", "unsubscribe")
}

// handleUnsubscribe deletes a subscription at once: the one-click
// unsubscribe of RFC 8058, whose POST carries List-Unsubscribe=One-Click.
func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	if !s.readLinkForm(w, r) {
		return
	}
	if v, ok := r.PostForm["List-Unsubscribe"]; ok && (len(v) != 1 || v[0] != "One-Click") {
		s.Error(w, r, &tocsin.Error{Code: tocsin.EINVALID, Message: "List-Unsubscribe: must be One-Click",
			Fields: []tocsin.FieldError{{Field: "List-Unsubscribe", Detail: "must be One-Click"}}})
		return
	}
	sub, err := s.SubscriptionTokens.UnsubscribeSubscription(r.Context(), r.PathValue("id"), linkToken(r))
	if err != nil {
		s.linkPage(w, r, nil, err, "", "")
		return
	}
	s.Matcher.Remove(sub.Seq)
	if wantsHTML(r) {
		_, t := deliver.EmailTextFor(sub.Languages)
		s.linkPage(w, r, sub, nil, t.Unsubscribed, "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": sub.ID, "state": "deleted"})
}

// linkPage answers a confirm or unsubscribe link: with a page for browsers
// (and for every GET), else as JSON. An error shows as the "link not valid"
// page with its status; message is a result to show; action, "confirm" or
// "unsubscribe", asks for the button that POSTs it.
func (s *Server) linkPage(w http.ResponseWriter, r *http.Request, sub *tocsin.Subscription, err error, message, action string) {
	if err != nil && r.Method != http.MethodGet && !wantsHTML(r) {
		s.Error(w, r, err)
		return
	}
	var langs []string
	if sub != nil {
		langs = sub.Languages
	}
	lang, t := deliver.EmailTextFor(langs)
	status := http.StatusOK
	title := t.ConfirmTitle
	if action == "unsubscribe" || strings.HasSuffix(r.URL.Path, "/unsubscribe") {
		title = t.UnsubscribeTitle
	}
	dir := "ltr"
	if l, ok := tlang.FindLocale(lang); ok {
		dir = l.Dir
	}
	v := map[string]any{"Lang": lang, "Dir": dir, "CSS": assetURL("app.css"), "Title": title, "Message": message, "T": t, "Action": action, "Token": r.URL.Query().Get("token")}
	if err != nil {
		code := tocsin.ErrorCode(err)
		if code == tocsin.EINTERNAL {
			s.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		if status = codes[code]; status == 0 {
			status = http.StatusInternalServerError
		}
		v["Message"] = t.InvalidLink
		if code == tocsin.EINTERNAL || code == tocsin.EUNAVAILABLE {
			v["Message"] = tocsin.ErrorMessage(err)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	linkPageHTML.Execute(w, v)
}

// linkPageHTML is the one small page behind confirm and unsubscribe links.
// The form posts to the page's own URL, token included.
var linkPageHTML = template.Must(template.New("link").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}" dir="{{.Dir}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>{{.Title}}</title>
<link rel="stylesheet" href="{{.CSS}}"></head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Message}}<p role="status">{{.Message}}</p>
{{else if eq .Action "confirm"}}<form method="post" action="confirm?token={{.Token}}">
<button type="submit">{{.T.ConfirmButton}}</button>
</form>
{{else if eq .Action "unsubscribe"}}<p>{{.T.UnsubscribeAsk}}</p>
<form method="post" action="unsubscribe?token={{.Token}}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">{{.T.UnsubscribeButton}}</button>
</form>
{{end}}</main>
</body>
</html>
`))
