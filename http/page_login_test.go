package http_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

func formLogin(name, password, lang string) sreq {
	path := "/login"
	if lang != "" {
		path += "?lang=" + lang
	}
	return sreq{method: "POST", path: path, contentType: "application/x-www-form-urlencoded",
		body: url.Values{"name": {name}, "password": {password}}.Encode()}
}

// TestLoginPage checks the sign-in page and what a failed form sign-in
// answers: the page again, with the error in the reader's language and the
// name kept, never a JSON problem; JSON sign-ins still get problems.
func TestLoginPage(t *testing.T) {
	ts := MustOpenSessionServer(t)
	c := newSessionClient(ts, "127.0.4.1")

	resp := c.do(t, sreq{method: "GET", path: "/login"})
	body := string(resp.body)
	if resp.status != http.StatusOK || !strings.Contains(body, `<form class="login" method="post" action="/login">`) ||
		!strings.Contains(body, `autocomplete="current-password"`) {
		t.Fatalf("GET /login: %d:\n%s", resp.status, body)
	}
	if csp := resp.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}

	// A wrong password: the page again, 401, in Spanish, the name kept
	// (escaped), no session.
	resp = c.do(t, formLogin(`vic"><b>x`, "not the password", "es"))
	body = string(resp.body)
	if resp.status != http.StatusUnauthorized || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/html") || resp.cookie != nil {
		t.Fatalf("wrong password by form: %d %q, cookie %v", resp.status, resp.header.Get("Content-Type"), resp.cookie)
	}
	if !strings.Contains(body, `role="alert"`) || !strings.Contains(body, "El nombre de la cuenta o la contraseña no son correctos.") {
		t.Errorf("wrong password page does not say so in Spanish:\n%s", body)
	}
	if !strings.Contains(body, `value="vic&#34;&gt;&lt;b&gt;x"`) || strings.Contains(body, "<b>x") {
		t.Errorf("the typed name is not kept escaped:\n%s", body)
	}

	// Too many attempts: 429 with Retry-After and how long to wait.
	for i := range 4 {
		c.do(t, formLogin(fmt.Sprintf("guess%d", i), "not the password", ""))
	}
	resp = c.do(t, formLogin("vic", sessionPassword, ""))
	body = string(resp.body)
	if resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") == "" || resp.cookie != nil ||
		!strings.Contains(body, "Too many sign-in attempts. Try again in "+resp.header.Get("Retry-After")+" seconds.") {
		t.Errorf("rate-limited form sign-in: %d, Retry-After %q:\n%s", resp.status, resp.header.Get("Retry-After"), body)
	}

	// JSON sign-ins are answered as before.
	resp = newSessionClient(ts, "127.0.4.2").do(t, jsonLogin("vic", "not the password"))
	if resp.status != http.StatusUnauthorized || resp.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("JSON wrong password: %d %q", resp.status, resp.header.Get("Content-Type"))
	}

	// The right password by form: 303 to the console, which then renders.
	c2 := newSessionClient(ts, "127.0.4.3")
	resp = c2.do(t, formLogin("vic", sessionPassword, ""))
	if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/console" || resp.cookie == nil {
		t.Fatalf("form sign-in: %d %q", resp.status, resp.header.Get("Location"))
	}
}

// TestConsolePage checks who gets the console: without a session, the
// sign-in page; a reporter's account, a refusal; a verifier, the incident
// queue only; a publisher, the compose, approval and published sections.
func TestConsolePage(t *testing.T) {
	ts := MustOpenSessionServer(t)
	svc := sqlite.NewUserService(ts.DB)
	for _, u := range []struct {
		name string
		role tocsin.Role
	}{{"rey", tocsin.RoleReporter}, {"pat", tocsin.RolePublisher}} {
		if _, err := svc.CreateUser(context.Background(), u.name, u.role, sessionPassword); err != nil {
			t.Fatal(err)
		}
	}
	c := newSessionClient(ts, "127.0.5.1")
	resp := c.do(t, sreq{method: "GET", path: "/console"})
	if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/login" {
		t.Errorf("console without a session: %d %q; want 303 to /login", resp.status, resp.header.Get("Location"))
	}
	page := func(name string) (int, string) {
		session, _ := newSessionClient(ts, "127.0.5.2").mustLogin(t, name)
		resp := c.do(t, sreq{method: "GET", path: "/console", cookie: session})
		if cc := resp.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("console for %s: Cache-Control %q; want no-store", name, cc)
		}
		return resp.status, string(resp.body)
	}
	if status, body := page("rey"); status != http.StatusForbidden || strings.Contains(body, "incident-list") || strings.Contains(body, "js/console.js") {
		t.Errorf("console for a reporter: %d; want 403 without the console:\n%s", status, body)
	}
	status, body := page("vic")
	if status != http.StatusOK || !strings.Contains(body, `id="incident-list"`) || strings.Contains(body, `id="panel-compose"`) || !strings.Contains(body, "js/console.js") {
		t.Errorf("console for a verifier: %d; want the queue without compose:\n%s", status, body)
	}
	status, body = page("pat")
	for _, want := range []string{`id="panel-compose"`, `id="panel-approval"`, `id="panel-published"`, `<option value="Severe">Severe</option>`, `"publisher":true`} {
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("console for a publisher: %d; want %s", status, want)
		}
	}
}
