package deliver

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// fakeSMTP is a minimal SMTP server on loopback that answers RCPT TO with
// rcptReply and keeps every message it accepts. With an empty rcptReply it
// never even greets: a server that hangs.
type fakeSMTP struct {
	ln        net.Listener
	rcptReply string
	mu        sync.Mutex
	msgs      [][]byte
}

func newFakeSMTP(t *testing.T, rcptReply string) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSMTP{ln: ln, rcptReply: rcptReply}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { f.serve(conn) })
		}
	})
	return f
}

func (f *fakeSMTP) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if f.rcptReply == "" {
		io.Copy(io.Discard, conn)
		return
	}
	tp := textproto.NewConn(conn)
	tp.PrintfLine("220 fake ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
		case "EHLO", "HELO":
			tp.PrintfLine("250-fake\r\n250 8BITMIME")
		case "MAIL":
			tp.PrintfLine("250 sender ok")
		case "RCPT":
			tp.PrintfLine("%s", f.rcptReply)
		case "DATA":
			tp.PrintfLine("354 go ahead")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.msgs = append(f.msgs, b)
			f.mu.Unlock()
			tp.PrintfLine("250 queued")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 not implemented")
		}
	}
}

func (f *fakeSMTP) messages() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.msgs...)
}

func testEmailSender(addr string) *EmailSender {
	return &EmailSender{
		Addr: addr, From: "Tocsin <alerts@tocsin.test>", PublicURL: "https://alerts.example.org/",
		Key: []byte("0123456789abcdef0123456789abcdef"),
		Now: func() time.Time { return time.Date(2026, 11, 29, 6, 28, 0, 0, time.UTC) },
	}
}

func emailSubscription() *tocsin.Subscription {
	return &tocsin.Subscription{ID: "sub_ana", Seq: 7, Languages: []string{"es", "en"}, State: tocsin.SubscriptionActive,
		Area:    geo.Shape{Circle: &geo.Circle{Lat: 39.74, Lon: -104.99, RadiusKM: 3}},
		Channel: tocsin.Channel{Type: tocsin.ChannelEmail, Address: "ana@example.org"}}
}

// hostileAlert is a bilingual Exercise whose Spanish text is machine-made
// and carries markup.
func hostileAlert() *tocsin.Alert {
	exp := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	return &tocsin.Alert{
		ID: "alr_1", Status: "Exercise", MsgType: "Alert", Scope: "Public", Sent: time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC),
		Infos: []tocsin.Info{
			{Language: "en", Event: "Flood", Severity: "Severe", Urgency: "Immediate", Certainty: "Observed", Headline: "Flood <b>now</b>", Provenance: "human"},
			{Language: "es", Event: "Inundación", Severity: "Severe", Urgency: "Immediate", Certainty: "Observed",
				Headline: `Inundación <script>alert("x")</script> ya`, Description: "El agua cubre la calle.\n<img src=x onerror=alert(1)>",
				Instruction: "Suba a un lugar alto & espere.", Expires: &exp, Provenance: "machine:apertium:en-es"},
		},
		Areas: []tocsin.Area{{Description: "Speer Blvd <i>", Circle: &geo.Circle{Lat: 39.74, Lon: -104.99, RadiusKM: 1}}},
	}
}

func mustOutgoing(t *testing.T, a *tocsin.Alert, langs []string) *Outgoing {
	t.Helper()
	body, err := json.Marshal(tocsin.Message{Type: tocsin.EventAlertPublished, Alert: a.Public().ForLanguage(langs)})
	if err != nil {
		t.Fatal(err)
	}
	return &Outgoing{ID: tocsin.DeliveryID(3, 7), Type: tocsin.EventAlertPublished, Body: body}
}

// parsedEmail is a message split into what the tests look at.
type parsedEmail struct {
	header     mail.Header
	subject    string
	text, html string
}

func parseEmail(t *testing.T, raw []byte) *parsedEmail {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, raw)
	}
	p := &parsedEmail{header: m.Header}
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, %v; want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if cte := part.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("part encoding %q; want quoted-printable", cte)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(part))
		if err != nil {
			t.Fatal(err)
		}
		switch part.Header.Get("Content-Type") {
		case "text/plain; charset=utf-8":
			p.text = string(b)
		case "text/html; charset=utf-8":
			p.html = string(b)
		default:
			t.Errorf("unexpected part %q", part.Header.Get("Content-Type"))
		}
	}
	if p.text == "" || p.html == "" {
		t.Fatalf("want a text and an HTML part:\n%s", raw)
	}
	return p
}

func TestEmailSender_SendRendersTheSubscribersLanguageEscaped(t *testing.T) {
	srv := newFakeSMTP(t, "250 ok")
	s := testEmailSender(srv.ln.Addr().String())
	sub := emailSubscription()
	out := mustOutgoing(t, hostileAlert(), sub.Languages)
	for range 2 { // a retry: the same Message-ID
		if retry, err := s.Send(context.Background(), sub, out); err != nil {
			t.Fatalf("send: retry=%v, %v", retry, err)
		}
	}
	msgs := srv.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages; want 2", len(msgs))
	}
	e := parseEmail(t, msgs[0])
	if want := `[SIMULACRO] Inundación <script>alert("x")</script> ya`; e.subject != want {
		t.Errorf("subject %q; want %q", e.subject, want)
	}
	if raw := e.header.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("raw subject %q; want RFC 2047 encoded", raw)
	}
	id := e.header.Get("Message-ID")
	if !strings.HasPrefix(id, "<msg_3_7.") || !strings.HasSuffix(id, "@tocsin.test>") || parseEmail(t, msgs[1]).header.Get("Message-ID") != id {
		t.Errorf("Message-ID %q; want one derived from the delivery id, the same on a retry", id)
	}
	token, _ := s.UnsubscribeToken(sub.ID)
	link := "https://alerts.example.org/api/v1/subscriptions/sub_ana/unsubscribe?token=" + token
	if lu := e.header.Get("List-Unsubscribe"); !strings.HasPrefix(lu, "<"+link+">,") || !strings.Contains(lu, "<mailto:alerts@tocsin.test?subject=unsubscribe%20sub_ana>") {
		t.Errorf("List-Unsubscribe %q", lu)
	}
	if lup := e.header.Get("List-Unsubscribe-Post"); lup != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", lup)
	}
	if to := e.header.Get("To"); to != "<ana@example.org>" {
		t.Errorf("To %q", to)
	}
	if cl := e.header.Get("Content-Language"); cl != "es" {
		t.Errorf("Content-Language %q", cl)
	}

	for _, bad := range []string{"<script", "<img", "<i>", "<b>"} {
		if strings.Contains(e.html, bad) {
			t.Errorf("the HTML part contains %q unescaped:\n%s", bad, e.html)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "Speer Blvd &lt;i&gt;",
		"Suba a un lugar alto &amp; espere.", "tradujo automáticamente", "Gravedad", "Grave", "Inmediata", "SIMULACRO",
		`lang="es"`, "2026-11-29 09:00 UTC", `href="` + strings.ReplaceAll(link, "&", "&amp;") + `"`,
	} {
		if !strings.Contains(e.html, want) {
			t.Errorf("the HTML part lacks %q:\n%s", want, e.html)
		}
	}
	for _, want := range []string{
		"*** SIMULACRO ***", `Inundación <script>alert("x")</script> ya`, "Gravedad: Grave", "Urgencia: Inmediata",
		"Zona: Speer Blvd <i>", "Vence: 2026-11-29 09:00 UTC", "Qué hacer:\nSuba a un lugar alto & espere.", link,
	} {
		if !strings.Contains(strings.ReplaceAll(e.text, "\r\n", "\n"), want) {
			t.Errorf("the text part lacks %q:\n%s", want, e.text)
		}
	}
	if strings.Contains(e.text, "Flood") {
		t.Errorf("the Spanish subscriber got English text:\n%s", e.text)
	}
}

func TestEmailSender_EnglishHumanTextHasNoMachineNotice(t *testing.T) {
	srv := newFakeSMTP(t, "250 ok")
	s := testEmailSender(srv.ln.Addr().String())
	sub := emailSubscription()
	sub.Languages = []string{"fr", "en"} // no French text: English
	a := hostileAlert()
	a.Status = "Actual"
	if _, err := s.Send(context.Background(), sub, mustOutgoing(t, a, sub.Languages)); err != nil {
		t.Fatal(err)
	}
	e := parseEmail(t, srv.messages()[0])
	if e.subject != "Flood <b>now</b>" || strings.Contains(e.html, "machine") || strings.Contains(e.text, "EXERCISE") ||
		!strings.Contains(e.html, "Flood &lt;b&gt;now&lt;/b&gt;") || !strings.Contains(e.text, "Severity: Severe") {
		t.Errorf("subject %q\ntext:\n%s\nhtml:\n%s", e.subject, e.text, e.html)
	}
}

func TestEmailSender_Classify(t *testing.T) {
	sub := emailSubscription()
	out := mustOutgoing(t, hostileAlert(), sub.Languages)
	for _, tc := range []struct {
		reply string
		retry bool
	}{
		{"450 mailbox busy", true},
		{"421 closing", true},
		{"550 no such user", false},
		{"553 mailbox name not allowed", false},
	} {
		srv := newFakeSMTP(t, tc.reply)
		retry, err := testEmailSender(srv.ln.Addr().String()).Send(context.Background(), sub, out)
		if err == nil || retry != tc.retry || !strings.Contains(err.Error(), tc.reply[:3]) {
			t.Errorf("RCPT answered %q: retry=%v, %v; want retry=%v and the reply in the error", tc.reply, retry, err, tc.retry)
		}
	}

	// Nobody listening: retry.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if retry, err := testEmailSender(addr).Send(context.Background(), sub, out); err == nil || !retry {
		t.Errorf("connection refused: retry=%v, %v; want a retryable error", retry, err)
	}

	// A server that never greets: the context bounds the send, and it is retried.
	srv := newFakeSMTP(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	retry, err := testEmailSender(srv.ln.Addr().String()).Send(ctx, sub, out)
	if err == nil || !retry || time.Since(start) > 5*time.Second {
		t.Errorf("silent server: retry=%v, %v after %s; want a retryable error at the deadline", retry, err, time.Since(start))
	}

	// Bodies that are not messages are not retried.
	if retry, err := testEmailSender(addr).Send(context.Background(), sub, &Outgoing{ID: "x", Body: []byte("{")}); err == nil || retry {
		t.Errorf("bad body: retry=%v, %v; want a permanent error", retry, err)
	}
}

func TestEmailSender_Confirmation(t *testing.T) {
	srv := newFakeSMTP(t, "250 ok")
	s := testEmailSender(srv.ln.Addr().String())
	link := ConfirmLink("https://alerts.example.org", "sub_ana", "subconf_abc")
	if _, err := s.SendConfirmation(context.Background(), emailSubscription(), link); err != nil {
		t.Fatal(err)
	}
	e := parseEmail(t, srv.messages()[0])
	if e.subject != "Confirme su suscripción a las alertas" || !strings.Contains(e.text, link) ||
		!strings.Contains(e.html, `href="https://alerts.example.org/api/v1/subscriptions/sub_ana/confirm?token=subconf_abc"`) {
		t.Errorf("subject %q\ntext:\n%s\nhtml:\n%s", e.subject, e.text, e.html)
	}
	if e.header.Get("List-Unsubscribe") != "" {
		t.Errorf("a confirmation carries List-Unsubscribe; nothing is subscribed yet")
	}
}

func TestEmailSender_UnsubscribeToken(t *testing.T) {
	s := testEmailSender("127.0.0.1:25")
	a, err := s.UnsubscribeToken("sub_a")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := s.UnsubscribeToken("sub_a")
	b, _ := s.UnsubscribeToken("sub_b")
	if a != a2 || a == b || !strings.HasPrefix(a, "unsub_") || len(a) < 40 {
		t.Errorf("tokens %q %q %q; want stable per subscription, distinct across them", a, a2, b)
	}
	s.Key = nil
	if _, err := s.UnsubscribeToken("sub_a"); err == nil {
		t.Error("a sender without a key made an unsubscribe token")
	}
}

func TestEncodeHeader(t *testing.T) {
	for in, want := range map[string]string{
		"Flood warning":                 "Flood warning",
		"Flood\r\nBcc: eve@example.org": "Flood Bcc: eve@example.org",
		"Inundación":                    "=?utf-8?q?Inundaci=C3=B3n?=",
	} {
		got := encodeHeader(in)
		if got != want {
			t.Errorf("encodeHeader(%q) = %q; want %q", in, got, want)
		}
	}
	long := encodeHeader(strings.Repeat("Inundación repentina ", 8))
	for _, line := range strings.Split(long, "\r\n") {
		if len(line) > 78 {
			t.Errorf("encoded line %d characters long: %q", len(line), line)
		}
	}
}

// TestAlertEmailLabelsFollowTheText: an alert sent in French has French
// labels and French confirmation wording, all from the catalog; every locale
// has every text.
func TestAlertEmailLabelsFollowTheText(t *testing.T) {
	locale, tx := alertEmailText("fr-CA")
	if locale != "fr" || tx.Severity != "Gravité" || tx.value("Severe") != "Grave" || tx.ConfirmSubject != "Confirmez votre abonnement aux alertes" {
		t.Fatalf("fr labels: %s %+v", locale, tx)
	}
	if locale, tx := alertEmailText("es-MX"); locale != "es" || tx != emailTexts()["es"] || tx.UnsubscribeButton != "Darse de baja" {
		t.Fatalf("es-MX labels: %s", locale)
	}
	for code, tx := range emailTexts() {
		v := reflect.ValueOf(*tx)
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() == reflect.String && (f.String() == "" || strings.HasPrefix(f.String(), "email.")) {
				t.Errorf("%s: %s is %q", code, v.Type().Field(i).Name, f.String())
			}
		}
	}
	if locale, _ := alertEmailText("xx"); locale != "en" {
		t.Fatalf("unknown language labels: %s", locale)
	}
}
