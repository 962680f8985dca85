package deliver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/tocsin/tocsin"
)

// EmailSender sends alerts by email through one SMTP server (a relay or the
// provider's submission port). Each message is multipart/alternative, plain
// text and HTML, in the subscriber's language; its Message-ID is derived from
// the delivery id, so a retried delivery carries the same one; and it carries
// List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) for one-click
// unsubscribe. It also sends the confirmation email of double opt-in.
//
// Outcomes: an SMTP 4xx reply and connection failures are retried, a 5xx
// reply is not.
type EmailSender struct {
	// Addr is the SMTP server's host:port.
	Addr string
	// ImplicitTLS connects with TLS from the start (smtps, usually port
	// 465). Otherwise STARTTLS is used whenever the server offers it.
	ImplicitTLS bool
	// TLSConfig configures TLS; nil verifies the server's certificate for
	// the host of Addr.
	TLSConfig *tls.Config
	// Username and Password, when Username is set, authenticate with AUTH
	// PLAIN, which net/smtp sends only over TLS or to a loopback server.
	Username, Password string
	// From is the sender address, optionally with a display name.
	From string
	// LocalName is the name given in EHLO; default "localhost".
	LocalName string
	// PublicURL is the base of the unsubscribe links in alert messages,
	// such as "https://alerts.example.org".
	PublicURL string
	// Key derives each subscription's unsubscribe token; keep it secret and
	// stable, or earlier unsubscribe links stop working. At least 16 bytes.
	Key []byte
	// Now is the clock for the Date header; default time.Now.
	Now func() time.Time
}

var _ Sender = (*EmailSender)(nil)

// String describes the sender without its password.
func (s *EmailSender) String() string {
	return fmt.Sprintf("smtp server %s as %s", s.Addr, s.From)
}

// Send renders m for sub and sends it. A message that cannot be decoded or
// rendered fails without retry.
func (s *EmailSender) Send(ctx context.Context, sub *tocsin.Subscription, m *Outgoing) (retry bool, err error) {
	var msg tocsin.Message
	if err := json.Unmarshal(m.Body, &msg); err != nil {
		return false, fmt.Errorf("email: decode message: %w", err)
	}
	if msg.Alert == nil {
		return false, errors.New("email: the message has no alert")
	}
	if msg.Type == "" {
		msg.Type = m.Type
	}
	raw, err := s.alertEmail(sub, m.ID, &msg)
	if err != nil {
		return false, fmt.Errorf("email: %w", err)
	}
	return s.deliver(ctx, sub.Channel.Address, raw)
}

// SendConfirmation sends sub's owner the double opt-in email carrying link,
// the ConfirmLink that confirms the subscription. retry says whether trying
// again later may succeed.
func (s *EmailSender) SendConfirmation(ctx context.Context, sub *tocsin.Subscription, link string) (retry bool, err error) {
	raw, err := s.confirmEmail(sub, link)
	if err != nil {
		return false, fmt.Errorf("email: %w", err)
	}
	return s.deliver(ctx, sub.Channel.Address, raw)
}

// UnsubscribeToken returns subscription id's unsubscribe token: an HMAC of
// the id under Key, so that every alert email can carry it while the store
// keeps only its hash.
func (s *EmailSender) UnsubscribeToken(id string) (string, error) {
	if len(s.Key) < 16 {
		return "", errors.New("email sender key is missing or shorter than 16 bytes")
	}
	mac := hmac.New(sha256.New, s.Key)
	mac.Write([]byte("tocsin email unsubscribe\x00" + id))
	return "unsub_" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// ConfirmLink is the link in a confirmation email, under base, the server's
// public URL. A GET shows a page whose button POSTs to the same URL, which
// confirms.
func ConfirmLink(base, id, token string) string { return subscriptionLink(base, id, "confirm", token) }

// UnsubscribeLink is the one-click unsubscribe link of subscription id under
// base. A POST unsubscribes (RFC 8058); a GET shows a page with a button
// that does.
func UnsubscribeLink(base, id, token string) string {
	return subscriptionLink(base, id, "unsubscribe", token)
}

func subscriptionLink(base, id, action, token string) string {
	return strings.TrimRight(base, "/") + "/api/v1/subscriptions/" + url.PathEscape(id) + "/" + action + "?token=" + url.QueryEscape(token)
}

func (s *EmailSender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *EmailSender) from() (*mail.Address, error) {
	a, err := mail.ParseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("sender address %q: %w", s.From, err)
	}
	return a, nil
}

// email is one message before it is encoded.
type email struct {
	to, subject, lang string
	messageID         string
	extra             [][2]string // further headers, in order
	text, html        string
}

// alertEmail renders one alert message for sub as a complete RFC 5322 message.
func (s *EmailSender) alertEmail(sub *tocsin.Subscription, deliveryID string, msg *tocsin.Message) ([]byte, error) {
	from, err := s.from()
	if err != nil {
		return nil, err
	}
	token, err := s.UnsubscribeToken(sub.ID)
	if err != nil {
		return nil, err
	}
	unsub := UnsubscribeLink(s.PublicURL, sub.ID, token)
	v := newAlertView(msg, unsub)
	var html bytes.Buffer
	if err := alertHTML.Execute(&html, v); err != nil {
		return nil, fmt.Errorf("render HTML: %w", err)
	}
	mailto := "mailto:" + from.Address + "?subject=" + url.PathEscape("unsubscribe "+sub.ID)
	return s.encode(from, &email{
		to: sub.Channel.Address, subject: v.Subject, lang: v.Lang,
		messageID: "<" + deliveryID + "." + sub.ID + "@" + domainOf(from.Address) + ">",
		extra: [][2]string{
			{"List-Unsubscribe", "<" + unsub + ">,\r\n <" + mailto + ">"},
			{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
			{"X-Tocsin-Delivery-Id", deliveryID},
		},
		text: v.text(), html: html.String(),
	})
}

// confirmEmail renders the double opt-in message for sub.
func (s *EmailSender) confirmEmail(sub *tocsin.Subscription, link string) ([]byte, error) {
	from, err := s.from()
	if err != nil {
		return nil, err
	}
	lang, t := EmailTextFor(sub.Languages)
	var nonce [8]byte
	rand.Read(nonce[:])
	var html bytes.Buffer
	if err := confirmHTML.Execute(&html, map[string]any{"Lang": lang, "T": t, "Link": link}); err != nil {
		return nil, fmt.Errorf("render HTML: %w", err)
	}
	return s.encode(from, &email{
		to: sub.Channel.Address, subject: t.ConfirmSubject, lang: lang,
		messageID: "<confirm." + sub.ID + "." + hex.EncodeToString(nonce[:]) + "@" + domainOf(from.Address) + ">",
		text:      t.ConfirmIntro + "\n\n" + t.ConfirmAction + "\n" + link + "\n\n" + t.ConfirmIgnore + "\n",
		html:      html.String(),
	})
}

// encode writes e as a multipart/alternative message, both parts UTF-8 and
// quoted-printable, headers ending in CRLF.
func (s *EmailSender) encode(from *mail.Address, e *email) ([]byte, error) {
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", from.String())
	header("To", (&mail.Address{Address: e.to}).String())
	header("Subject", encodeHeader(e.subject))
	header("Date", s.now().Format(time.RFC1123Z))
	header("Message-ID", e.messageID)
	header("MIME-Version", "1.0")
	header("Content-Language", e.lang)
	header("Auto-Submitted", "auto-generated")
	for _, h := range e.extra {
		header(h[0], h[1])
	}
	mw := multipart.NewWriter(&b)
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", e.text}, {"text/html", e.html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeHeader makes s safe for an unstructured header: control characters
// become spaces, non-ASCII text becomes RFC 2047 encoded-words, folded
// between words.
func encodeHeader(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)), " ")
	return strings.ReplaceAll(mime.QEncoding.Encode("utf-8", s), "?= =?", "?=\r\n =?")
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "tocsin.invalid"
}

// deliver sends one message to one recipient over a fresh SMTP connection,
// bounded by ctx, and classifies the outcome.
func (s *EmailSender) deliver(ctx context.Context, to string, msg []byte) (retry bool, err error) {
	from, err := s.from()
	if err != nil {
		return false, fmt.Errorf("email: %w", err)
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return false, fmt.Errorf("email: SMTP server address: %w", err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return true, fmt.Errorf("smtp connect: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Unblock any read or write when ctx ends.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	tlsConfig := s.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if s.ImplicitTLS {
		conn = tls.Client(conn, tlsConfig)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return classifySMTP("greeting", err)
	}
	defer c.Close()
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	if err := c.Hello(local); err != nil {
		return classifySMTP("EHLO", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !s.ImplicitTLS {
		if err := c.StartTLS(tlsConfig); err != nil {
			return classifySMTP("STARTTLS", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return classifySMTP("AUTH", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return classifySMTP("MAIL FROM", err)
	}
	if err := c.Rcpt(to); err != nil {
		return classifySMTP("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classifySMTP("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return classifySMTP("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classifySMTP("end of DATA", err)
	}
	c.Quit() // the message is accepted; a failing QUIT changes nothing
	return false, nil
}

// classifySMTP is the one place that decides what a failed SMTP exchange
// means: a 4xx reply is temporary (retry), a 5xx reply permanent (no retry),
// and anything else, such as a dropped connection or a timeout, is retried.
func classifySMTP(stage string, err error) (retry bool, _ error) {
	var reply *textproto.Error
	if errors.As(err, &reply) {
		return reply.Code < 500 || reply.Code >= 600, fmt.Errorf("smtp %s: %d %s", stage, reply.Code, clip(reply.Msg, 300))
	}
	return true, fmt.Errorf("smtp %s: %w", stage, err)
}

// alertView is what the alert templates show, already in the reader's
// language; html/template escapes every field.
type alertView struct {
	Lang, Dir       string
	T               *EmailText
	Subject         string
	Mark, Notice    string // EXERCISE or TEST; Update or Cancelled
	Headline        string
	Machine         bool
	Fields          [][2]string // label, value
	Description     string
	Instruction     string
	UnsubscribeLink string
}

func newAlertView(msg *tocsin.Message, unsub string) *alertView {
	a := msg.Alert
	shown := a.Language
	if shown == "" && len(a.Infos) > 0 {
		shown = a.Infos[0].Language
	}
	lang, t := alertEmailText(shown) // labels in the language of the text sent
	v := &alertView{Lang: lang, Dir: "ltr", T: t, UnsubscribeLink: unsub}
	switch a.Status {
	case "Exercise":
		v.Mark = t.Exercise
	case "Test":
		v.Mark = t.Test
	}
	switch {
	case msg.Type == tocsin.EventAlertCancelled || a.MsgType == "Cancel":
		v.Notice = t.Cancelled
	case msg.Type == tocsin.EventAlertUpdated || a.MsgType == "Update":
		v.Notice = t.Updated
	}
	var in tocsin.Info
	if len(a.Infos) > 0 {
		in = a.Infos[0] // the dispatcher sends only the info chosen for the subscriber
		if in.Language != "" {
			v.Lang = in.Language
		}
	}
	if isRTL(v.Lang) {
		v.Dir = "rtl"
	}
	v.Headline = in.Headline
	if v.Headline == "" {
		v.Headline = in.Event
	}
	if v.Headline == "" {
		v.Headline = a.ID
	}
	v.Machine = strings.HasPrefix(in.Provenance, "machine:")
	field := func(label, value string) {
		if value != "" {
			v.Fields = append(v.Fields, [2]string{label, value})
		}
	}
	field(t.Event, in.Event)
	field(t.Severity, t.value(string(in.Severity)))
	field(t.Urgency, t.value(string(in.Urgency)))
	field(t.Certainty, t.value(string(in.Certainty)))
	var areas []string
	for _, ar := range a.Areas {
		if d := strings.TrimSpace(ar.Description); d != "" {
			areas = append(areas, d)
		}
	}
	field(t.Areas, strings.Join(areas, "; "))
	if !a.Sent.IsZero() {
		field(t.Sent, formatTime(a.Sent))
	}
	if in.Expires != nil {
		field(t.Expires, formatTime(*in.Expires))
	}
	v.Description, v.Instruction = in.Description, in.Instruction
	var subject []string
	if v.Mark != "" {
		subject = append(subject, "["+v.Mark+"]")
	}
	if v.Notice != "" {
		subject = append(subject, v.Notice+":")
	}
	v.Subject = strings.Join(append(subject, v.Headline), " ")
	return v
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func isRTL(lang string) bool {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	switch base {
	case "ar", "fa", "he", "ur", "ps", "yi":
		return true
	}
	return false
}

// text renders the plain-text part.
func (v *alertView) text() string {
	var b strings.Builder
	if v.Mark != "" {
		b.WriteString("*** " + v.Mark + " ***\n\n")
	}
	if v.Notice != "" {
		b.WriteString(v.Notice + ": ")
	}
	b.WriteString(v.Headline + "\n")
	if v.Machine {
		b.WriteString("(" + v.T.MachineTranslated + ")\n")
	}
	b.WriteString("\n")
	for _, f := range v.Fields {
		b.WriteString(f[0] + ": " + f[1] + "\n")
	}
	if v.Description != "" {
		b.WriteString("\n" + v.T.Description + ":\n" + v.Description + "\n")
	}
	if v.Instruction != "" {
		b.WriteString("\n" + v.T.Instruction + ":\n" + v.Instruction + "\n")
	}
	b.WriteString("\n-- \n" + v.T.UnsubscribeLine + ": " + v.UnsubscribeLink + "\n")
	return b.String()
}

// The HTML parts, parsed at start so that a broken template fails at once.
var (
	alertHTML = template.Must(template.New("alert").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}" dir="{{.Dir}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4; max-width: 40em">
{{if .Mark}}<p style="font-weight: bold; border: 2px solid #000; padding: .3em">{{.Mark}}</p>
{{end}}<h1 style="font-size: 1.3em">{{if .Notice}}{{.Notice}}: {{end}}{{.Headline}}</h1>
{{if .Machine}}<p><em>{{.T.MachineTranslated}}</em></p>
{{end}}<table>
{{range .Fields}}<tr><th scope="row" style="text-align: start; padding-inline-end: 1em">{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>
{{with .Description}}<h2 style="font-size: 1.1em">{{$.T.Description}}</h2>
<p style="white-space: pre-wrap">{{.}}</p>
{{end}}{{with .Instruction}}<h2 style="font-size: 1.1em">{{$.T.Instruction}}</h2>
<p style="white-space: pre-wrap">{{.}}</p>
{{end}}<hr>
<p style="font-size: .9em">{{.T.UnsubscribeLine}}: <a href="{{.UnsubscribeLink}}">{{.UnsubscribeLink}}</a></p>
</body>
</html>
`))
	confirmHTML = template.Must(template.New("confirm").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><title>{{.T.ConfirmSubject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4; max-width: 40em">
<p>{{.T.ConfirmIntro}}</p>
<p>{{.T.ConfirmAction}}<br><a href="{{.Link}}">{{.Link}}</a></p>
<p>{{.T.ConfirmIgnore}}</p>
</body>
</html>
`))
)
