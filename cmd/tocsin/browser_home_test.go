package main_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// getAccept fetches url with an Accept header and returns the status, the
// Content-Type and the body.
func getAccept(t *testing.T, url, accept string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestBrowserHome opens the home page: the server-rendered list (markup in
// a headline and an area shows as text; Exercise marked; a Restricted alert
// left out) and the areas on the map; the severity filter by keyboard, and
// without a script as ?severity=; a live alert whose headline is markup
// arrives as text; a cancel marks its alert cancelled and takes it off the
// map; a stream cut off by a server restart resumes and shows what was
// published meanwhile.
// curl still gets the plain-text overview.
func TestBrowserHome(t *testing.T) {
	data := t.TempDir()
	srv, _ := startWebTocsin(t, data)
	pub1 := newToken(t, data, "publisher", "pub-1")
	pub2 := newToken(t, data, "publisher", "pub-2")
	xss := hostileText
	expires := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	info := func(sev, headline string) map[string]any {
		return map[string]any{"language": "en", "category": "Met", "event": "Flood", "urgency": "Expected", "severity": sev,
			"certainty": "Likely", "headline": headline, "instruction": "Avoid the area.", "expires": expires}
	}

	flood := publishAlert(t, srv.URL, pub1, pub2, map[string]any{
		"status": "Actual",
		"infos": []map[string]any{info("Moderate", "Flooding on Cherry Creek "+xss),
			{"language": "es", "category": "Met", "event": "Inundación", "urgency": "Expected", "severity": "Moderate", "certainty": "Likely",
				"headline": "Inundación en Cherry Creek", "expires": expires}},
		"areas": []map[string]any{{"description": "Cherry Creek " + xss,
			"polygon": [][]float64{{39.72, -104.98}, {39.73, -104.95}, {39.71, -104.94}, {39.72, -104.98}}}},
	})
	drill := publishAlert(t, srv.URL, pub1, pub2, map[string]any{
		"status": "Exercise",
		"infos":  []map[string]any{info("Minor", "Evacuation drill at the Capitol")},
		"areas":  []map[string]any{{"description": "State Capitol", "circle": map[string]any{"lat": 39.7393, "lon": -104.9848, "radius_km": 0.5}}},
	})
	fire := publishAlert(t, srv.URL, pub1, pub2, map[string]any{
		"status": "Actual",
		"infos":  []map[string]any{info("Severe", "Grass fire west of Sloan's Lake")},
		"areas":  []map[string]any{{"description": "Sloan's Lake", "circle": map[string]any{"lat": 39.75, "lon": -105.05, "radius_km": 2}}},
	})
	restricted := publishAlert(t, srv.URL, pub1, pub2, map[string]any{
		"status": "Actual", "scope": "Restricted",
		"infos": []map[string]any{info("Minor", "Responders only: staging at the stadium")},
		"areas": []map[string]any{{"description": "Stadium", "circle": map[string]any{"lat": 39.744, "lon": -105.02, "radius_km": 1}}},
	})

	// curl and API clients still get the plain-text overview.
	if code, ct, body := getAccept(t, srv.URL+"/", ""); code != 200 || !strings.HasPrefix(ct, "text/plain") || !strings.Contains(body, "/api/v1/stream") {
		t.Errorf("GET / without Accept: %d %s\n%s", code, ct, body)
	}
	// The stream of every alert takes no circle beside it.
	for _, q := range []string{"all=true&lat=39.7&lon=-104.9", "all=maybe"} {
		var p struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		if code := call(t, "GET", srv.URL+"/api/v1/stream?"+q, "", nil, &p); code != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "all" {
			t.Errorf("GET /api/v1/stream?%s: %d %+v; want 400 naming all", q, code, p)
		}
	}
	// Without a script, the filter is a GET form.
	code, ct, body := getAccept(t, srv.URL+"/?severity=Severe", "text/html")
	if code != 200 || !strings.HasPrefix(ct, "text/html") || !strings.Contains(body, fire) || strings.Contains(body, `data-id="`+drill+`"`) ||
		!strings.Contains(body, `<option value="Severe" selected>`) || !strings.Contains(body, "Hidden by the filter: 2") {
		t.Errorf("GET /?severity=Severe: %d %s; want only the Severe alert, the filter kept and the hidden count", code, ct)
	}

	b := newBrowser(t)
	tb := b.tab()
	tb.open(srv.URL + "/")
	if h := tb.text(fmt.Sprintf(`#alerts li[data-id=%q] h3`, flood)); h != "Flooding on Cherry Creek "+xss {
		t.Errorf("headline %q: the markup should show as text", h)
	}
	if a := tb.text(fmt.Sprintf(`#alerts li[data-id=%q] .area`, flood)); !strings.Contains(a, "Cherry Creek "+xss) {
		t.Errorf("area %q: the markup should show as text", a)
	}
	if s := tb.text(fmt.Sprintf(`#alerts li[data-id=%q] .badges`, drill)); !strings.Contains(s, "Exercise") || !strings.Contains(s, "Minor") {
		t.Errorf("the drill's badges %q; want Exercise and Minor", s)
	}
	var n int
	tb.eval(fmt.Sprintf(`document.querySelectorAll('#alerts li[data-id=%q]').length`, restricted), &n)
	if n != 0 {
		t.Error("a Restricted alert is on the public page")
	}
	tb.waitJS("three alerts drawn", `new Set([...document.querySelectorAll('#map path[data-alert]')].map(p => p.dataset.alert)).size === 3`, 10*time.Second)
	tb.waitJS("the live stream", `document.getElementById('live-state').dataset.state === 'live'`, 15*time.Second)
	tb.noErrors()
	tb.axe("/")
	tb.screenshots("home")

	// The filter from the keyboard: each step down the list raises the
	// minimum, and map and list follow at once.
	tb.do(chromedp.Focus(chromedp.CSS("#severity")), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	tb.waitJS("the filter at Moderate", `document.getElementById('severity').value === 'Moderate'`, 5*time.Second)
	tb.waitJS("the Minor drill hidden", fmt.Sprintf(`document.querySelector('#alerts li[data-id=%q]').hidden && !document.querySelector('#map path[data-alert=%q]')`, drill, drill), 5*time.Second)
	if c := tb.text("#alert-count"); c != "2" {
		t.Errorf("count %q at Moderate and above; want 2", c)
	}
	if !strings.Contains(tb.text("#hidden-count"), "1") {
		t.Errorf("hidden count %q", tb.text("#hidden-count"))
	}
	var loc string
	tb.eval(`location.search`, &loc)
	if loc != "?severity=Moderate" {
		t.Errorf("the address %q does not keep the filter", loc)
	}
	tb.do(chromedp.KeyEvent(kb.Home))
	tb.waitJS("every alert shown again", fmt.Sprintf(`document.getElementById('severity').value === '' && !document.querySelector('#alerts li[data-id=%q]').hidden`, drill), 5*time.Second)

	// A live alert whose headline and area are markup shows them as text.
	tb.eval(`window.__sameDocument = true`, nil)
	live := publishAlert(t, srv.URL, pub1, pub2, map[string]any{
		"status": "Test",
		"infos":  []map[string]any{info("Moderate", "Live "+xss)},
		"areas":  []map[string]any{{"description": "Live area " + xss, "circle": map[string]any{"lat": 39.7, "lon": -104.9, "radius_km": 1}}},
	})
	tb.waitJS("the live alert", fmt.Sprintf(`document.querySelector('#alerts li[data-id=%q]')`, live), 15*time.Second)
	if h := tb.text(fmt.Sprintf(`#alerts li[data-id=%q] h3`, live)); h != "Live "+xss {
		t.Errorf("live headline %q: the markup should show as text", h)
	}
	if a := tb.text(fmt.Sprintf(`#alerts li[data-id=%q] .area`, live)); !strings.Contains(a, "Live area "+xss) {
		t.Errorf("live area %q: the markup should show as text", a)
	}
	if s := tb.text(fmt.Sprintf(`#alerts li[data-id=%q] .badges`, live)); !strings.Contains(s, "Test") {
		t.Errorf("the live test alert's badges %q; want Test", s)
	}
	// Hovering its area shows the headline as text too.
	tb.eval(fmt.Sprintf(`(() => { const p = document.querySelector('#map path[data-alert=%q]'); p.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); return true; })()`, live), nil)
	tb.waitJS("the tooltip", `document.querySelector('.leaflet-tooltip')`, 5*time.Second)
	if tip := tb.text(".leaflet-tooltip"); tip != "Live "+xss {
		t.Errorf("tooltip %q; want the headline as text", tip)
	}
	tb.notPwned()

	// A cancel marks the alert cancelled and takes it off the map.
	mustCall(t, 201, "POST", srv.URL+"/api/v1/alerts/"+fire+"/cancel", pub1, nil, nil)
	tb.waitJS("the fire marked cancelled", fmt.Sprintf(`document.querySelector('#alerts li[data-id=%q][data-cancelled]') && !document.querySelector('#map path[data-alert=%q]')`, fire, fire), 15*time.Second)
	if s := tb.text(fmt.Sprintf(`#alerts li[data-id=%q] .badges`, fire)); !strings.Contains(s, "Cancelled") {
		t.Errorf("the cancelled alert's badges %q", s)
	}

	// The server goes away: the page says it is reconnecting. Back on the
	// same address, the stream resumes from its Last-Event-ID and the page
	// shows what was published meanwhile, without a reload.
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.stop(t)
	tb.waitJS("the reconnecting state", `document.getElementById('live-state').dataset.state === 'reconnecting'`, 15*time.Second)
	srv, _ = startWebTocsin(t, data, "--addr", addr)
	missed := publishAlert(t, srv.URL, pub1, pub2, map[string]any{
		"status": "Actual",
		"infos":  []map[string]any{info("Moderate", "Published while the page was away")},
		"areas":  []map[string]any{{"description": "Downtown", "circle": map[string]any{"lat": 39.745, "lon": -104.99, "radius_km": 1}}},
	})
	tb.waitJS("the alert published meanwhile", fmt.Sprintf(`document.querySelector('#alerts li[data-id=%q]')`, missed), 30*time.Second)
	tb.waitJS("live again", `document.getElementById('live-state').dataset.state === 'live'`, 15*time.Second)
	var same bool
	tb.eval(`window.__sameDocument === true`, &same)
	if !same {
		t.Error("the page reloaded")
	}
	tb.noErrors()

	// In Spanish the page and the alert with a Spanish text are Spanish; in
	// Arabic the page reads right to left.
	tb.open(srv.URL + "/?lang=es")
	if h := tb.text(fmt.Sprintf(`#alerts li[data-id=%q] h3`, flood)); h != "Inundación en Cherry Creek" {
		t.Errorf("Spanish headline %q", h)
	}
	tb.waitJS("the Spanish live state", `document.getElementById('live-state').textContent === 'En vivo'`, 15*time.Second)
	tb.open(srv.URL + "/?lang=ar")
	var attrs []string
	tb.eval(`[document.documentElement.lang, document.documentElement.dir]`, &attrs)
	if attrs[0] != "ar" || attrs[1] != "rtl" {
		t.Errorf("html lang/dir %v; want ar rtl", attrs)
	}
	tb.waitJS("the Arabic live state", `document.getElementById('live-state').dataset.state === 'live'`, 15*time.Second)
	tb.noErrors()
	tb.axe("/?lang=ar")
}
