package http_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	tocsinhttp "github.com/tocsin/tocsin/http"
	"github.com/tocsin/tocsin/lang"
	"github.com/tocsin/tocsin/web"
)

// catalogKeyRE matches a catalog key shown as such: a text missing from
// the catalog (lang.T falls back to the key).
var catalogKeyRE = regexp.MustCompile(`>\s*(web|alert|severity|urgency|certainty|email)\.[a-z_.]+\s*<`)

// TestPages_AlertPageInEveryLocale renders an alert's page in each of the
// 15 locales: lang and dir on <html>, the strict CSP, no catalog key shown
// raw, and the locale remembered when chosen with ?lang=.
func TestPages_AlertPageInEveryLocale(t *testing.T) {
	ts := MustOpenServer(t)
	a := ts.MustCreateAlert(t, ts.Tokens["publisher"], alertBody("Moderate", 39.74, -104.99))
	for _, l := range lang.Locales() {
		resp := ts.Do(t, Request{Method: "GET", Path: "/alerts/" + a.ID + "?lang=" + l.Code})
		if resp.Status != http.StatusOK {
			t.Fatalf("%s: status %d", l.Code, resp.Status)
		}
		body := string(resp.Body)
		if want := `<html lang="` + l.Code + `" dir="` + l.Dir + `">`; !strings.Contains(body, want) {
			t.Errorf("%s: no %s", l.Code, want)
		}
		if m := catalogKeyRE.FindString(body); m != "" {
			t.Errorf("%s: a catalog key shows raw: %s", l.Code, m)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q; want scripts from this site only", l.Code, csp)
		}
		if resp.Header.Get("Content-Language") != l.Code {
			t.Errorf("%s: Content-Language %q", l.Code, resp.Header.Get("Content-Language"))
		}
		if c := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(c, tocsinhttp.LangCookie+"="+l.Code+";") || !strings.Contains(c, "HttpOnly") {
			t.Errorf("%s: Set-Cookie %q; want the choice remembered", l.Code, c)
		}
	}
	// The remembered choice wins over Accept-Language.
	resp := ts.Do(t, Request{Method: "GET", Path: "/alerts/" + a.ID,
		Header: map[string]string{"Cookie": tocsinhttp.LangCookie + "=ar", "Accept-Language": "es"}})
	if !strings.Contains(string(resp.Body), `<html lang="ar" dir="rtl">`) {
		t.Errorf("with the cookie ar and Accept-Language es: not the Arabic page")
	}
	resp = ts.Do(t, Request{Method: "GET", Path: "/alerts/" + a.ID, Header: map[string]string{"Accept-Language": "es-MX,es;q=0.9"}})
	if !strings.Contains(string(resp.Body), `<html lang="es" dir="ltr">`) {
		t.Errorf("Accept-Language es-MX: not the Spanish page")
	}
}

// TestPages_Static serves the embedded front end: versioned URLs are cached
// for good, others revalidated, the service worker from the root, nothing
// outside static/.
func TestPages_Static(t *testing.T) {
	ts := MustOpenServer(t)
	for _, c := range []struct {
		path, status, cache, ctype string
	}{
		{"/static/app.css?v=" + web.Version(), "200", "public, max-age=31536000, immutable", "text/css"},
		{"/static/app.css", "200", "no-cache", "text/css"},
		{"/static/js/common.js?v=old", "200", "no-cache", "text/javascript"},
		{"/sw.js", "200", "no-cache", "text/javascript"},
		{"/static/js/", "404", "", ""},
		{"/static/nothing.js", "404", "", ""},
		{"/static/../go.mod", "404", "", ""},
		{"/static/%2e%2e/web.go", "404", "", ""},
	} {
		resp := ts.Do(t, Request{Method: "GET", Path: c.path})
		if strconv.Itoa(resp.Status) != c.status {
			t.Errorf("%s: status %d; want %s", c.path, resp.Status, c.status)
			continue
		}
		if c.cache != "" && resp.Header.Get("Cache-Control") != c.cache {
			t.Errorf("%s: Cache-Control %q; want %q", c.path, resp.Header.Get("Cache-Control"), c.cache)
		}
		if c.ctype != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) {
			t.Errorf("%s: Content-Type %q; want %s", c.path, resp.Header.Get("Content-Type"), c.ctype)
		}
	}
}

// TestPages_TilesInCSP: the configured tile server, and only it, may serve
// the maps' images.
func TestPages_TilesInCSP(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"https://tile.openstreetmap.org/{z}/{x}/{y}.png", "img-src 'self' data: blob: https://tile.openstreetmap.org;"},
		{"https://{s}.tile.example.org/{z}/{x}/{y}.png", "img-src 'self' data: blob: https://*.tile.example.org;"},
		{"http://127.0.0.1:9/t/{z}/{x}/{y}.png", "img-src 'self' data: blob: http://127.0.0.1:9;"},
		{"", "img-src 'self' data: blob:;"},
		{"javascript:alert(1)", "img-src 'self' data: blob:;"},
	} {
		ts := MustOpenServer(t, func(s *tocsinhttp.Server) { s.Tiles = &tocsinhttp.Tiles{URL: c.url} })
		a := ts.MustCreateAlert(t, ts.Tokens["publisher"], alertBody("Minor", 39.74, -104.99))
		csp := ts.Do(t, Request{Method: "GET", Path: "/alerts/" + a.ID}).Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, c.want) {
			t.Errorf("tiles %q: CSP %q; want %q", c.url, csp, c.want)
		}
	}
}

// TestPages_AlertNotFound: a browser following a dead link gets a page in
// its language; an API client still gets a problem.
func TestPages_AlertNotFound(t *testing.T) {
	ts := MustOpenServer(t)
	resp := ts.Do(t, Request{Method: "GET", Path: "/alerts/alr_nothing", Header: map[string]string{"Accept": "text/html", "Accept-Language": "fr"}})
	if resp.Status != http.StatusNotFound || !strings.Contains(string(resp.Body), "Alerte introuvable") || !strings.Contains(string(resp.Body), `<html lang="fr" dir="ltr">`) {
		t.Errorf("browser: status %d\n%s", resp.Status, resp.Body)
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/alerts/alr_nothing"}), http.StatusNotFound, "")
}
