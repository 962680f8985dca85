package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mailpit is a real SMTP server (Mailpit) on loopback whose HTTP API the
// tests read the messages back from.
type mailpit struct {
	SMTP string // host:port
	API  string // http://host:port
}

// mailpitBinary finds mailpit on PATH or in $(go env GOPATH)/bin. The
// email tests fail, not skip, without it.
func mailpitBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			if p := filepath.Join(dir, "bin", "mailpit"); fileExists(p) {
				return p
			}
		}
	}
	t.Fatal("mailpit is not installed: run scripts/install-test-deps (go install github.com/axllent/mailpit@v1.33.1)")
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).AddrPort().String()
}

func startMailpit(t *testing.T) *mailpit {
	t.Helper()
	bin := mailpitBinary(t)
	m := &mailpit{SMTP: freePort(t)}
	httpAddr := freePort(t)
	m.API = "http://" + httpAddr
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "--smtp", m.SMTP, "--listen", httpAddr, "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--disable-version-check", "--smtp-disable-rdns", "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("mailpit exited:\n%s", logs)
		default:
		}
		if resp, err := http.Get(m.API + "/api/v1/messages"); err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", m.SMTP); err == nil && resp.StatusCode == 200 {
				c.Close()
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not answer within 30s:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mail is one message as Mailpit's API shows it.
type mail struct {
	ID        string
	MessageID string
	Subject   string
	To        []struct{ Address string }
	Text      string
	HTML      string
}

func (m *mailpit) get(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(m.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("mailpit GET %s: %d %s", path, resp.StatusCode, b)
	}
	if s, ok := out.(*string); ok {
		*s = string(b)
		return
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
}

// to returns the messages sent to addr, oldest first.
func (m *mailpit) to(t *testing.T, addr string) []mail {
	t.Helper()
	var list struct{ Messages []mail }
	m.get(t, "/api/v1/messages?limit=500", &list)
	var out []mail
	for i := len(list.Messages) - 1; i >= 0; i-- { // the API lists newest first
		for _, to := range list.Messages[i].To {
			if strings.EqualFold(to.Address, addr) {
				out = append(out, list.Messages[i])
			}
		}
	}
	return out
}

// message returns one message in full, with its headers and raw source.
func (m *mailpit) message(t *testing.T, id string) (mail, map[string][]string, string) {
	t.Helper()
	var msg mail
	m.get(t, "/api/v1/message/"+id, &msg)
	var headers map[string][]string
	m.get(t, "/api/v1/message/"+id+"/headers", &headers)
	var raw string
	m.get(t, "/api/v1/message/"+id+"/raw", &raw)
	return msg, headers, raw
}

// TestEmail drives the email channel through the real binary and a real
// SMTP server: double opt-in in the subscriber's language, nothing before
// the POST that confirms, a Spanish alert with text and HTML parts and
// one-click unsubscribe headers, and one POST that unsubscribes.
func TestEmail(t *testing.T) {
	mp := startMailpit(t)
	data := t.TempDir()
	const password = "s3cret-smtp-pass"
	srv := startTocsin(t, data, "--smtp-url", "smtp://tocsin:"+password+"@"+mp.SMTP, "--smtp-from", "alerts@tocsin.test")
	base := srv.URL
	pub := newToken(t, data, "publisher", "Pat")
	admin := newToken(t, data, "admin", "Ada")

	// A webhook far away: when it has an alert, every earlier alert's fan-out
	// is finished (events fan out one at a time, in order).
	far := newReceiver(t)
	far.subscribe(t, base, "", "/far", circle(10, 10, 5), "en")
	barriers := 0
	barrier := func() {
		t.Helper()
		barriers++
		var a struct{ ID string }
		mustCall(t, 201, "POST", base+"/api/v1/alerts", pub, map[string]any{
			"status": "Test",
			"infos": []map[string]any{{"language": "en", "category": "Other", "event": "Barrier", "urgency": "Future",
				"severity": "Minor", "certainty": "Possible", "headline": fmt.Sprintf("Barrier %d", barriers)}},
			"areas": []map[string]any{{"description": "Far away", "circle": map[string]any{"lat": 10, "lon": 10, "radius_km": 1}}},
		}, &a)
		waitFor(t, 20*time.Second, "the barrier alert", func() bool {
			for _, d := range far.deliveries() {
				if d.Alert.ID == a.ID {
					return true
				}
			}
			return false
		})
	}
	publish := func(headlineEN, headlineES string) string {
		t.Helper()
		var a struct{ ID, State string }
		mustCall(t, 201, "POST", base+"/api/v1/alerts", pub, map[string]any{
			"status": "Actual",
			"infos": []map[string]any{
				{"language": "en", "category": "Met", "event": "Flood", "urgency": "Expected", "severity": "Moderate", "certainty": "Observed",
					"headline": headlineEN, "description": "Water over the road.", "instruction": "Avoid the underpass."},
				{"language": "es", "category": "Met", "event": "Inundación", "urgency": "Expected", "severity": "Moderate", "certainty": "Observed",
					"headline": headlineES, "description": "Agua sobre la calzada.", "instruction": "Evite el paso inferior."},
			},
			"areas": []map[string]any{{"description": "Speer Blvd", "circle": map[string]any{"lat": 39.7401, "lon": -104.99, "radius_km": 1}}},
		}, &a)
		if a.State != "published" {
			t.Fatalf("alert %q is %s, want published", headlineEN, a.State)
		}
		return a.ID
	}

	// Subscribe a Spanish-first address: pending, and one confirmation email.
	const ana = "ana@example.test"
	var sub struct{ ID, Token, State string }
	mustCall(t, 201, "POST", base+"/api/v1/subscriptions", "", map[string]any{
		"area": circle(39.7392, -104.9903, 3), "languages": []string{"es", "en"}, "channel": map[string]any{"type": "email", "address": ana},
	}, &sub)
	if sub.State != "pending" || sub.ID == "" || sub.Token == "" {
		t.Fatalf("email subscription answer %+v; want pending with id and token", sub)
	}
	waitFor(t, 20*time.Second, "the confirmation email", func() bool { return len(mp.to(t, ana)) >= 1 })
	confirmMail, _, _ := mp.message(t, mp.to(t, ana)[0].ID)
	if confirmMail.Subject != "Confirme su suscripción a las alertas" {
		t.Errorf("confirmation subject %q; want the Spanish one", confirmMail.Subject)
	}
	link := regexp.MustCompile(`https?://\S+/confirm\?token=\S+`).FindString(confirmMail.Text)
	if !strings.HasPrefix(link, base+"/api/v1/subscriptions/"+sub.ID+"/confirm?token=subconf_") {
		t.Fatalf("confirmation link %q not found in:\n%s", link, confirmMail.Text)
	}
	if !strings.Contains(confirmMail.HTML, link) {
		t.Errorf("the HTML part lacks the link:\n%s", confirmMail.HTML)
	}

	// Opening the link shows a page with a button that POSTs; it does not confirm.
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(page), `method="post"`) || !strings.Contains(string(page), `lang="es"`) {
		t.Fatalf("GET confirm link: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	first := publish("Flooding before confirming", "Inundación antes de confirmar")
	barrier()
	if n := len(mp.to(t, ana)); n != 1 {
		t.Fatalf("%d emails to the pending subscriber; want only the confirmation", n)
	}

	// POST confirms, once.
	var confirmed struct{ ID, State string }
	mustCall(t, 200, "POST", link, "", nil, &confirmed)
	if confirmed.State != "active" || confirmed.ID != sub.ID {
		t.Fatalf("confirm answered %+v", confirmed)
	}
	mustCall(t, 401, "POST", link, "", nil, nil)

	// The next alert arrives in Spanish, as text and HTML, with one-click unsubscribe.
	publish("Flooding after confirming", "Inundación después de confirmar")
	waitFor(t, 20*time.Second, "the alert email", func() bool { return len(mp.to(t, ana)) >= 2 })
	barrier()
	mails := mp.to(t, ana)
	if len(mails) != 2 {
		t.Fatalf("%d emails; want the confirmation and one alert", len(mails))
	}
	alertMail, headers, raw := mp.message(t, mails[1].ID)
	if alertMail.Subject != "Inundación después de confirmar" {
		t.Errorf("alert subject %q; want the Spanish headline (the alert published before confirming must never arrive)", alertMail.Subject)
	}
	for _, want := range []string{"Agua sobre la calzada.", "Evite el paso inferior.", "Gravedad: Moderada", "Speer Blvd"} {
		if !strings.Contains(alertMail.Text, want) {
			t.Errorf("the text part lacks %q:\n%s", want, alertMail.Text)
		}
	}
	if !strings.Contains(alertMail.HTML, "Evite el paso inferior.") || !strings.Contains(alertMail.HTML, `lang="es"`) {
		t.Errorf("the HTML part:\n%s", alertMail.HTML)
	}
	if strings.Contains(alertMail.Text, "Avoid the underpass") || strings.Contains(raw, first) {
		t.Errorf("English text or the earlier alert in the email:\n%s", raw)
	}
	if !strings.Contains(raw, "multipart/alternative") {
		t.Errorf("not multipart/alternative:\n%s", raw)
	}
	if !strings.Contains(alertMail.MessageID, "msg_") {
		t.Errorf("Message-ID %q; want one derived from the delivery id", alertMail.MessageID)
	}
	lu := strings.Join(headers["List-Unsubscribe"], ",")
	unsub := regexp.MustCompile(`<(https?://[^>]+/unsubscribe\?token=[^>]+)>`).FindStringSubmatch(lu)
	if unsub == nil || !strings.HasPrefix(unsub[1], base+"/api/v1/subscriptions/"+sub.ID+"/unsubscribe?token=unsub_") || !strings.Contains(lu, "<mailto:") {
		t.Fatalf("List-Unsubscribe %q; want the one-click URL and a mailto", lu)
	}
	if lup := strings.Join(headers["List-Unsubscribe-Post"], ","); lup != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", lup)
	}

	// A wrong token does nothing; one POST as RFC 8058 sends it unsubscribes.
	oneClick := func(u string) int {
		t.Helper()
		resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := oneClick(base + "/api/v1/subscriptions/" + sub.ID + "/unsubscribe?token=unsub_wrong"); code != 401 {
		t.Fatalf("unsubscribe with a wrong token: %d; want 401", code)
	}
	if code := oneClick(unsub[1]); code != 200 {
		t.Fatalf("one-click unsubscribe: %d; want 200", code)
	}
	publish("Flooding after unsubscribing", "Inundación después de darse de baja")
	barrier()
	if n := len(mp.to(t, ana)); n != 2 {
		t.Fatalf("%d emails after unsubscribing; want still 2", n)
	}

	// Both decisions are audited.
	var audit struct {
		Events []struct{ Action, Subject string } `json:"events"`
	}
	mustCall(t, 200, "GET", base+"/api/v1/audit?limit=1000", admin, nil, &audit)
	var actions []string
	for _, e := range audit.Events {
		if e.Subject == sub.ID {
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, ",") != "subscription.create,subscription.confirm,subscription.unsubscribe" {
		t.Errorf("audit of the subscription: %v", actions)
	}

	// Bad addresses are refused, naming the field, and nothing is mailed.
	for _, addr := range []string{
		"", "not-an-address", "Ana <ana2@example.test>", "ana2@example.test, eve@example.test", `"ana maria"@example.test`,
		"ana2@example.test\r\nBcc: eve@example.test", strings.Repeat("a", 250) + "@x.io",
	} {
		var p struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		code := call(t, "POST", base+"/api/v1/subscriptions", "", map[string]any{
			"area": circle(39.7392, -104.9903, 3), "languages": []string{"en"}, "channel": map[string]any{"type": "email", "address": addr},
		}, &p)
		if code != 400 || len(p.Errors) == 0 || p.Errors[0].Field != "channel.address" {
			t.Errorf("address %q: %d %+v; want 400 naming channel.address", addr, code, p)
		}
	}
	if n := len(mp.to(t, "eve@example.test")); n != 0 {
		t.Errorf("%d emails to eve", n)
	}

	// Neither the SMTP password nor any token reaches the logs.
	srv.stop(t)
	logs := srv.logs.String()
	for _, secret := range []string{password, "subconf_", "unsub_", url.QueryEscape(password)} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}

// TestEmailNotConfigured: without --smtp-url, email subscriptions are refused.
func TestEmailNotConfigured(t *testing.T) {
	srv := startTocsin(t, t.TempDir())
	var p struct {
		Detail string `json:"detail"`
	}
	code := call(t, "POST", srv.URL+"/api/v1/subscriptions", "", map[string]any{
		"area": circle(39.7392, -104.9903, 3), "languages": []string{"en"}, "channel": map[string]any{"type": "email", "address": "ana@example.test"},
	}, &p)
	if code != 503 || p.Detail != "email is not configured on this server" {
		t.Fatalf("email subscription without SMTP: %d %q; want 503 and a clear message", code, p.Detail)
	}
}
