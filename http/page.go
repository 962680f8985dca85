package http

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/lang"
	"github.com/tocsin/tocsin/web"
)

// The web pages are server-rendered templates (templates/*.html) that share
// templates/layout.html: the page's lang and dir, a skip link, the navigation,
// the language chooser and the boot data its script reads. Every text comes
// from the message catalog; a page's script gets the catalog texts it needs
// in the boot data rather than writing any of its own.

//go:embed templates/*.html
var pageFS embed.FS

// pages are parsed once at start: a broken template fails the build's tests
// and the server's start, never a reader.
var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"asset": assetURL,
}).ParseFS(pageFS, "templates/*.html"))

// Tiles says where the maps' tiles come from. With no tiles reachable every
// page still works: the map is drawn on a blank background.
type Tiles struct {
	// URL is a Leaflet tile URL template, such as
	// https://tile.openstreetmap.org/{z}/{x}/{y}.png; empty means no tiles.
	URL string `json:"url"`
	// Attribution is the tiles' required credit, as HTML (it may hold links).
	Attribution string `json:"attribution"`
}

// DefaultTiles are OpenStreetMap's, with the credit its tile policy asks for.
var DefaultTiles = Tiles{
	URL:         "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
	Attribution: `&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors`,
}

// webPage is what every template receives: the page's own data in Data, and
// what the layout needs.
type webPage struct {
	Locale  lang.Locale
	Locales []lang.Locale
	// Name is the page's name: the body's data-page and, when Script is
	// set, its script static/js/<Name>.js.
	Name   string
	Title  string
	Script bool
	// Map asks for Leaflet on the page (when built in).
	Map bool
	// Principal is the signed-in account, or nil; CSRF is its session's
	// token, for forms and scripts.
	Principal *tocsin.Principal
	CSRF      string
	// Path is the page's path and query without lang, for the language chooser.
	Path string
	// Data is the page's own data for its template.
	Data any
	// Boot is handed to the page's script as JSON.
	Boot boot
}

// boot is the JSON a page's script reads from #tocsin-boot.
type boot struct {
	Locale   string            `json:"locale"`
	Dir      string            `json:"dir"`
	CSRF     string            `json:"csrf,omitempty"`
	Map      bool              `json:"map"`
	Tiles    Tiles             `json:"tiles"`
	Messages map[string]string `json:"messages"`
	Data     any               `json:"data,omitempty"`
}

// T translates a catalog key into the page's locale.
func (p *webPage) T(key string) string { return lang.T(p.Locale.Code, key) }

// Tf translates key with its {name} placeholders filled from pairs of
// name and value.
func (p *webPage) Tf(key string, pairs ...string) string {
	args := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		args[pairs[i]] = pairs[i+1]
	}
	return lang.Tf(p.Locale.Code, key, args)
}

// statusLabel is the visible mark of an Exercise or Test alert in the
// page's locale; "" for an Actual one.
func (p *webPage) statusLabel(s tocsin.Status) string {
	switch s {
	case "Exercise":
		return p.T("alert.exercise")
	case "Test":
		return p.T("alert.test")
	}
	return ""
}

// textDir is the writing direction of text in language: its locale's, or
// "ltr" for a language tocsin has no locale for.
func textDir(language string) string {
	if l, ok := lang.FindLocale(lang.Match([]string{language})); ok {
		return l.Dir
	}
	return "ltr"
}

// LangCookie remembers the language a reader chose with the chooser.
const LangCookie = "tocsin_lang"

// pageLocale picks a page's locale: ?lang=, else the chooser's cookie, else
// Accept-Language. A ?lang= that names a supported locale is remembered.
func (s *Server) pageLocale(w http.ResponseWriter, r *http.Request) lang.Locale {
	var prefs []string
	if q := r.URL.Query().Get("lang"); q != "" {
		prefs = strings.Split(q, ",")
		if l, ok := lang.FindLocale(prefs[0]); ok {
			http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l.Code, Path: "/", MaxAge: 365 * 24 * 3600,
				Secure: s.secureCookie(r), SameSite: http.SameSiteLaxMode, HttpOnly: true})
		}
	}
	if c, err := r.Cookie(LangCookie); err == nil {
		prefs = append(prefs, c.Value)
	}
	prefs = append(prefs, lang.AcceptLanguage(r.Header.Get("Accept-Language"))...)
	l, _ := lang.FindLocale(lang.Match(prefs))
	return l
}

// newPage starts a page named name for r: its locale, the signed-in
// account, and the catalog texts under the given key prefixes for its script
// (those of web.common. are always included).
func (s *Server) newPage(w http.ResponseWriter, r *http.Request, name, titleKey string, prefixes ...string) *webPage {
	l := s.pageLocale(w, r)
	p := &webPage{Locale: l, Locales: lang.Locales(), Name: name, Script: true, Map: web.HasMap()}
	p.Title = p.T(titleKey)
	if sess := sessionFromContext(r.Context()); sess != nil {
		p.Principal, p.CSRF = sess.Principal, sess.CSRFToken
	}
	q := r.URL.Query()
	q.Del("lang")
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	p.Path = u.String()
	p.Boot = boot{Locale: l.Code, Dir: l.Dir, CSRF: p.CSRF, Map: p.Map, Tiles: s.tiles(),
		Messages: lang.Messages(l.Code, append(prefixes, "web.common.")...)}
	return p
}

func (s *Server) tiles() Tiles {
	if s.Tiles == nil {
		return DefaultTiles
	}
	return *s.Tiles
}

// renderPage writes p with the template p.Name+".html". It renders into a
// buffer first, so a failing template answers a clean 500, never half a page.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, p *webPage) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, p.Name+".html", p); err != nil {
		s.Error(w, r, tocsin.Errorf(tocsin.EINTERNAL, "render %s page: %v", p.Name, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.pageCSP())
	h.Set("Content-Language", p.Locale.Code)
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	if p.Principal != nil {
		h.Set("Cache-Control", "no-store")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// pageCSP allows scripts, styles, fetches and workers from this site only,
// and images from this site and the tile server. No inline script or style
// attribute is allowed.
func (s *Server) pageCSP() string {
	img := "'self' data: blob:"
	if o := tileOrigin(s.tiles().URL); o != "" {
		img += " " + o
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img +
		"; connect-src 'self'; worker-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}

// tileOrigin is the CSP source of a tile URL template: its scheme and host,
// with Leaflet's {s} subdomain placeholder as a wildcard.
func tileOrigin(tileURL string) string {
	if tileURL == "" {
		return ""
	}
	u, err := url.Parse(strings.ReplaceAll(tileURL, "{s}", "s-sub"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	host := u.Host
	if strings.HasPrefix(host, "s-sub.") {
		host = "*." + strings.TrimPrefix(host, "s-sub.")
	}
	return u.Scheme + "://" + host
}

// assetURL is the address of a static file, versioned so that browsers
// may keep it for good.
func assetURL(name string) string {
	return "/static/" + name + "?v=" + web.Version()
}

// handleStatic serves the embedded front end. Versioned URLs (as
// assetURL writes them) are cached for good; others are revalidated.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
	if r.URL.Path == "/sw.js" {
		// The service worker is fetched by its plain name so that its
		// scope is the whole site, and must never be stale.
		name = "sw.js"
		w.Header().Set("Cache-Control", "no-cache")
	} else if r.URL.Query().Get("v") == web.Version() {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if fi, err := fs.Stat(web.Static, name); err != nil || fi.IsDir() {
		s.Error(w, r, tocsin.Errorf(tocsin.ENOTFOUND, "no such file: %s", r.URL.Path))
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFileFS(w, r, web.Static, name)
}
