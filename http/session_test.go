package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	tocsinhttp "github.com/tocsin/tocsin/http"
	"github.com/tocsin/tocsin/sqlite"
)

const sessionPassword = "correct horse battery staple"

// MustOpenSessionServer is MustOpenServer with accounts: "ana", an admin,
// and "vic", a verifier, both with sessionPassword.
func MustOpenSessionServer(tb testing.TB, configure ...func(*tocsinhttp.Server)) *TestServer {
	tb.Helper()
	users := &lateUsers{}
	ts := MustOpenServer(tb, append([]func(*tocsinhttp.Server){func(s *tocsinhttp.Server) { s.Users = users }}, configure...)...)
	svc := sqlite.NewUserService(ts.DB)
	users.svc.Store(svc)
	for _, u := range []struct {
		name string
		role tocsin.Role
	}{{"ana", tocsin.RoleAdmin}, {"vic", tocsin.RoleVerifier}} {
		if _, err := svc.CreateUser(context.Background(), u.name, u.role, sessionPassword); err != nil {
			tb.Fatal(err)
		}
	}
	return ts
}

// lateUsers is a UserService set before the server opens and filled in
// after, once MustOpenServer has made the database.
type lateUsers struct {
	svc atomic.Pointer[sqlite.UserService]
}

func (u *lateUsers) CreateUser(ctx context.Context, name string, role tocsin.Role, password string) (*tocsin.Principal, error) {
	return u.svc.Load().CreateUser(ctx, name, role, password)
}
func (u *lateUsers) Authenticate(ctx context.Context, name, password string) (*tocsin.Principal, error) {
	return u.svc.Load().Authenticate(ctx, name, password)
}
func (u *lateUsers) CreateSession(ctx context.Context, id int64) (string, *tocsin.Session, error) {
	return u.svc.Load().CreateSession(ctx, id)
}
func (u *lateUsers) FindSession(ctx context.Context, token string) (*tocsin.Session, error) {
	return u.svc.Load().FindSession(ctx, token)
}
func (u *lateUsers) DeleteSession(ctx context.Context, token string) error {
	return u.svc.Load().DeleteSession(ctx, token)
}

// sessionClient talks to the test server as one browser would, from a
// loopback address of its own (127.0.0.x), so each is its own client to the
// rate limiter. It sends cookies by hand so tests control them.
type sessionClient struct {
	ts     *TestServer
	client *http.Client
}

func newSessionClient(ts *TestServer, localIP string) *sessionClient {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	return &sessionClient{ts: ts, client: &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type sreq struct {
	method, path string
	body         string
	contentType  string
	cookie       string
	header       map[string]string
}

type sresp struct {
	status int
	header http.Header
	body   []byte
	cookie *http.Cookie // the tocsin_session cookie set, if any
}

func (c *sessionClient) do(tb testing.TB, r sreq) *sresp {
	tb.Helper()
	req, err := http.NewRequest(r.method, c.ts.URL()+r.path, strings.NewReader(r.body))
	if err != nil {
		tb.Fatal(err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.cookie != "" {
		req.AddCookie(&http.Cookie{Name: tocsinhttp.SessionCookie, Value: r.cookie})
	}
	for k, v := range r.header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := &sresp{status: resp.StatusCode, header: resp.Header, body: body}
	for _, ck := range resp.Cookies() {
		if ck.Name == tocsinhttp.SessionCookie {
			out.cookie = ck
		}
	}
	return out
}

type loginAnswer struct {
	Name      string      `json:"name"`
	Role      tocsin.Role `json:"role"`
	CSRFToken string      `json:"csrf_token"`
}

func jsonLogin(name, password string) sreq {
	b, _ := json.Marshal(map[string]string{"name": name, "password": password})
	return sreq{method: "POST", path: "/login", body: string(b), contentType: "application/json"}
}

// mustLogin signs name in with JSON and returns the session token and CSRF token.
func (c *sessionClient) mustLogin(tb testing.TB, name string) (string, string) {
	tb.Helper()
	resp := c.do(tb, jsonLogin(name, sessionPassword))
	var a loginAnswer
	if resp.status != http.StatusOK || resp.cookie == nil || json.Unmarshal(resp.body, &a) != nil || a.CSRFToken == "" {
		tb.Fatalf("login %s: %d %s", name, resp.status, resp.body)
	}
	return resp.cookie.Value, a.CSRFToken
}

func TestLogin_CookieAttributes(t *testing.T) {
	ts := MustOpenSessionServer(t)
	c := newSessionClient(ts, "127.0.0.1")

	resp := c.do(t, jsonLogin("ana", sessionPassword))
	if resp.status != http.StatusOK || resp.cookie == nil {
		t.Fatalf("login: %d %s", resp.status, resp.body)
	}
	var a loginAnswer
	if err := json.Unmarshal(resp.body, &a); err != nil || a.Name != "ana" || a.Role != tocsin.RoleAdmin || a.CSRFToken == "" {
		t.Errorf("login answer %s (%v); want name, role and csrf_token", resp.body, err)
	}
	ck := resp.cookie
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.MaxAge <= 0 {
		t.Errorf("cookie %+v; want HttpOnly, SameSite=Strict, Path=/, a Max-Age", ck)
	}
	if ck.Secure {
		t.Errorf("cookie over plain http to 127.0.0.1 is Secure; it would never come back")
	}
	if cc := resp.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q; want no-store", cc)
	}

	// Behind a proxy the Host is the public name: the cookie is Secure.
	resp = c.do(t, sreq{method: "POST", path: "/login", contentType: "application/x-www-form-urlencoded",
		body: url.Values{"name": {"vic"}, "password": {sessionPassword}}.Encode(), header: map[string]string{"Host": "alerts.example.org"}})
	if resp.status != http.StatusSeeOther || resp.header.Get("Location") != "/console" {
		t.Fatalf("form login: %d %q %s; want 303 to /console", resp.status, resp.header.Get("Location"), resp.body)
	}
	if resp.cookie == nil || !resp.cookie.Secure || !resp.cookie.HttpOnly || resp.cookie.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie for a public host %+v; want Secure, HttpOnly, SameSite=Strict", resp.cookie)
	}

	// The session tells the page scripts who is signed in.
	resp = c.do(t, sreq{method: "GET", path: "/api/v1/session", cookie: ck.Value})
	var s loginAnswer
	if resp.status != http.StatusOK || json.Unmarshal(resp.body, &s) != nil || s.Name != "ana" || s.CSRFToken != a.CSRFToken {
		t.Errorf("GET /api/v1/session: %d %s; want ana with the login's CSRF token", resp.status, resp.body)
	}
	if resp := c.do(t, sreq{method: "GET", path: "/api/v1/session"}); resp.status != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/session without a cookie: %d; want 401", resp.status)
	}
	// An unknown cookie leaves the request anonymous and is cleared.
	resp = c.do(t, sreq{method: "GET", path: "/api/v1/session", cookie: "tses_forged"})
	if resp.status != http.StatusUnauthorized || resp.cookie == nil || resp.cookie.MaxAge >= 0 {
		t.Errorf("unknown cookie: %d, cookie %+v; want 401 and the cookie cleared", resp.status, resp.cookie)
	}
}

func TestLogin_WrongPasswordAndUnknownUserAlike(t *testing.T) {
	ts := MustOpenSessionServer(t)
	var n int
	attempt := func(name string) (*sresp, time.Duration) {
		// A fresh client address each time keeps the rate limiter out of it.
		n++
		c := newSessionClient(ts, fmt.Sprintf("127.0.1.%d", n))
		start := time.Now()
		resp := c.do(t, jsonLogin(name, "not the password"))
		return resp, time.Since(start)
	}
	attempt("warm-up")
	var wrong, unknown time.Duration = 1 << 62, 1 << 62
	var bodies [2]string
	for range 2 {
		r1, d1 := attempt("ana")
		r2, d2 := attempt(fmt.Sprintf("nobody%d", n))
		if r1.status != http.StatusUnauthorized || r2.status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d, unknown user %d; want 401 for both", r1.status, r2.status)
		}
		if r1.cookie != nil || r2.cookie != nil {
			t.Errorf("a failed login set a cookie")
		}
		bodies = [2]string{string(r1.body), string(r2.body)}
		wrong, unknown = min(wrong, d1), min(unknown, d2)
	}
	if bodies[0] != bodies[1] {
		t.Errorf("answers differ:\n%s\n%s", bodies[0], bodies[1])
	}
	if unknown < wrong/3 || wrong < unknown/3 {
		t.Errorf("wrong password took %v, unknown user %v; want about the same", wrong, unknown)
	}
}

func TestLogin_RateLimited(t *testing.T) {
	ts := MustOpenSessionServer(t)

	t.Run("per client", func(t *testing.T) {
		c := newSessionClient(ts, "127.0.2.1")
		for i := range 5 {
			if resp := c.do(t, jsonLogin(fmt.Sprintf("guess%d", i), "not the password")); resp.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d; want 401", i+1, resp.status)
			}
		}
		resp := c.do(t, jsonLogin("vic", sessionPassword))
		if resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") == "" || resp.cookie != nil {
			t.Errorf("sixth attempt, right password: %d, Retry-After %q; want 429 with Retry-After and no session", resp.status, resp.header.Get("Retry-After"))
		}
		// Another client is not affected.
		newSessionClient(ts, "127.0.2.2").mustLogin(t, "vic")
	})

	t.Run("per account", func(t *testing.T) {
		for i := range 5 {
			c := newSessionClient(ts, fmt.Sprintf("127.0.3.%d", i+1))
			if resp := c.do(t, jsonLogin("ana", "not the password")); resp.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d; want 401", i+1, resp.status)
			}
		}
		resp := newSessionClient(ts, "127.0.3.99").do(t, jsonLogin("ana", sessionPassword))
		if resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") == "" {
			t.Errorf("sixth attempt on ana from a new client: %d; want 429 with Retry-After", resp.status)
		}
	})
}

func TestSession_CSRF(t *testing.T) {
	ts := MustOpenSessionServer(t)
	c := newSessionClient(ts, "127.0.0.1")
	session, csrf := c.mustLogin(t, "ana")
	zone := func(id string) string {
		return fmt.Sprintf(`{"id":%q,"names":{"en":"Pine Ridge"},"circle":{"lat":40,"lon":-105,"radius_km":3}}`, id)
	}
	post := func(id string, header map[string]string) *sresp {
		return c.do(t, sreq{method: "POST", path: "/api/v1/zones", body: zone(id), contentType: "application/json", cookie: session, header: header})
	}
	for _, h := range []map[string]string{
		nil,
		{"X-CSRF-Token": "csrf_wrong"},
		{"X-CSRF-Token": csrf + "x"},
		{"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
		{"X-CSRF-Token": csrf, "Origin": "https://evil.example"},
	} {
		if resp := post("refused", h); resp.status != http.StatusForbidden {
			t.Errorf("cookie POST with %v: %d %s; want 403", h, resp.status, resp.body)
		}
	}
	if resp := post("pine-ridge", map[string]string{"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-origin"}); resp.status != http.StatusCreated {
		t.Errorf("cookie POST with the CSRF token: %d %s; want 201", resp.status, resp.body)
	}
	if n := ts.Rows(t)["zones"]; n != 1 {
		t.Errorf("%d zones; want only the one with the right token", n)
	}
	// Another session's token does not do.
	_, otherCSRF := newSessionClient(ts, "127.0.0.2").mustLogin(t, "ana")
	if resp := post("other", map[string]string{"X-CSRF-Token": otherCSRF}); resp.status != http.StatusForbidden {
		t.Errorf("another session's CSRF token: %d; want 403", resp.status)
	}
	// Safe methods need no token.
	if resp := c.do(t, sreq{method: "GET", path: "/api/v1/audit", cookie: session}); resp.status != http.StatusOK {
		t.Errorf("cookie GET /api/v1/audit as admin: %d %s; want 200", resp.status, resp.body)
	}

	// Bearer tokens are unaffected, cookie or not.
	req := sreq{method: "POST", path: "/api/v1/zones", body: zone("bearer"), contentType: "application/json", cookie: session,
		header: map[string]string{"Authorization": "Bearer " + ts.Tokens["admin"]}}
	if resp := c.do(t, req); resp.status != http.StatusCreated {
		t.Errorf("bearer POST without a CSRF token: %d %s; want 201", resp.status, resp.body)
	}
	// A verifier's session is a verifier.
	vicSession, vicCSRF := newSessionClient(ts, "127.0.0.3").mustLogin(t, "vic")
	resp := c.do(t, sreq{method: "POST", path: "/api/v1/zones", body: zone("vic"), contentType: "application/json", cookie: vicSession,
		header: map[string]string{"X-CSRF-Token": vicCSRF}})
	if resp.status != http.StatusForbidden || !strings.Contains(string(resp.body), "admin") {
		t.Errorf("verifier session creating a zone: %d %s; want 403 for the role", resp.status, resp.body)
	}

	// A form post carries the token as csrf_token: logout without it is
	// refused, with it ends the session.
	form := func(token string) sreq {
		return sreq{method: "POST", path: "/logout", contentType: "application/x-www-form-urlencoded", cookie: session,
			body: url.Values{"csrf_token": {token}}.Encode()}
	}
	if resp := c.do(t, form("")); resp.status != http.StatusForbidden {
		t.Errorf("logout form without csrf_token: %d; want 403", resp.status)
	}
	if resp := c.do(t, form("nope")); resp.status != http.StatusForbidden {
		t.Errorf("logout form with a wrong csrf_token: %d; want 403", resp.status)
	}
	if resp := c.do(t, form(csrf)); resp.status != http.StatusSeeOther || resp.cookie == nil || resp.cookie.MaxAge >= 0 {
		t.Errorf("logout form: %d, cookie %+v; want 303 and the cookie cleared", resp.status, resp.cookie)
	}
}

func TestLogin_CrossSiteRefused(t *testing.T) {
	ts := MustOpenSessionServer(t)
	c := newSessionClient(ts, "127.0.0.1")
	for _, h := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
		req := jsonLogin("ana", sessionPassword)
		req.header = h
		if resp := c.do(t, req); resp.status != http.StatusForbidden || resp.cookie != nil {
			t.Errorf("login with %v: %d; want 403 and no cookie", h, resp.status)
		}
	}
}

func TestLogout_InvalidatesSession(t *testing.T) {
	ts := MustOpenSessionServer(t)
	c := newSessionClient(ts, "127.0.0.1")
	session, csrf := c.mustLogin(t, "vic")
	resp := c.do(t, sreq{method: "POST", path: "/logout", cookie: session, header: map[string]string{"X-CSRF-Token": csrf}})
	if resp.status != http.StatusNoContent || resp.cookie == nil || resp.cookie.MaxAge >= 0 {
		t.Fatalf("logout: %d, cookie %+v; want 204 and the cookie cleared", resp.status, resp.cookie)
	}
	// The old cookie, sent again, is nobody's.
	if resp := c.do(t, sreq{method: "GET", path: "/api/v1/session", cookie: session}); resp.status != http.StatusUnauthorized {
		t.Errorf("session after logout: %d; want 401", resp.status)
	}
	if n := ts.Rows(t)["sessions"]; n != 0 {
		t.Errorf("%d sessions stored after logout; want 0", n)
	}
	// A new login replaces an old session rather than adding to it.
	first, _ := c.mustLogin(t, "vic")
	resp = c.do(t, sreq{method: "POST", path: "/login", body: jsonLogin("vic", sessionPassword).body, contentType: "application/json", cookie: first})
	if resp.status != http.StatusOK || resp.cookie == nil || resp.cookie.Value == first {
		t.Fatalf("second login: %d; want 200 and a new token", resp.status)
	}
	if resp := c.do(t, sreq{method: "GET", path: "/api/v1/session", cookie: first}); resp.status != http.StatusUnauthorized {
		t.Errorf("the session before the second login: %d; want 401", resp.status)
	}
}

func TestLogin_PasswordNeverStoredOrLogged(t *testing.T) {
	ts := MustOpenSessionServer(t)
	c := newSessionClient(ts, "127.0.0.1")
	c.mustLogin(t, "ana")
	c.do(t, jsonLogin("ana", sessionPassword+" but wrong"))
	dump := ts.Dump(t)
	if strings.Contains(dump, sessionPassword) || strings.Contains(dump, "horse") {
		t.Errorf("the password is in the database:\n%s", dump)
	}
	if !strings.Contains(dump, "$argon2id$v=19$") {
		t.Errorf("no argon2id PHC string in the database")
	}
	if logs := ts.logs.String(); strings.Contains(logs, "horse") {
		t.Errorf("the password is in the logs:\n%s", logs)
	}
}
