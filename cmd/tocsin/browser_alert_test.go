package main_test

import (
	"strings"
	"testing"
	"time"
)

// TestBrowserAlertPage opens a published alert's page in Chromium: a
// headline and instruction carrying markup show as text, the Spanish
// version is one link away and right-to-left Arabic chrome renders, the
// page passes axe, and its scripts run without a CSP violation.
func TestBrowserAlertPage(t *testing.T) {
	data := t.TempDir()
	srv, tiles := startWebTocsin(t, data)
	pub1 := newToken(t, data, "publisher", "pub-1")
	xss := hostileText
	var created struct {
		ID string `json:"id"`
	}
	mustCall(t, 201, "POST", srv.URL+"/api/v1/alerts", pub1, map[string]any{
		"status": "Actual",
		"infos": []map[string]any{
			{"language": "en", "category": "Met", "event": "Flash flood", "urgency": "Immediate", "severity": "Moderate", "certainty": "Likely",
				"headline": "Flash flood on Cherry Creek " + xss, "instruction": "Move to higher ground. " + xss},
			{"language": "es", "category": "Met", "event": "Inundación", "urgency": "Immediate", "severity": "Moderate", "certainty": "Likely",
				"headline": "Inundación repentina en Cherry Creek", "instruction": "Suba a un lugar alto."},
		},
		"areas": []map[string]any{{"description": "Cherry Creek <b>trail</b>", "circle": map[string]any{"lat": 39.74, "lon": -104.99, "radius_km": 3}}},
	}, &created)

	b := newBrowser(t)
	tb := b.tab()
	tb.open(srv.URL + "/alerts/" + created.ID)
	if h := tb.text("h1"); !strings.Contains(h, "<script>window.__pwned=1</script>") {
		t.Errorf("headline %q: the markup should show as text", h)
	}
	tb.notPwned()
	tb.waitJS("the area drawn on the map", `document.querySelector('#map path.leaflet-interactive')`, 10*time.Second)
	if tiles.requests.Load() == 0 {
		t.Error("the map asked the configured tile server for no tiles")
	}
	if a := tb.text(".leaflet-control-attribution"); !strings.Contains(a, "Test tiles") {
		t.Errorf("map attribution %q; want the configured credit", a)
	}
	tb.noErrors()
	tb.axe("/alerts/{id}")
	tb.screenshots("alert")

	tb.open(srv.URL + "/alerts/" + created.ID + "?lang=es")
	if h := tb.text("h1"); h != "Inundación repentina en Cherry Creek" {
		t.Errorf("Spanish headline %q", h)
	}
	var attrs []string
	tb.eval(`[document.documentElement.lang, document.documentElement.dir]`, &attrs)
	if attrs[0] != "es" || attrs[1] != "ltr" {
		t.Errorf("html lang/dir %v; want es ltr", attrs)
	}
	tb.open(srv.URL + "/alerts/" + created.ID + "?lang=ar")
	tb.eval(`[document.documentElement.lang, document.documentElement.dir]`, &attrs)
	if attrs[0] != "ar" || attrs[1] != "rtl" {
		t.Errorf("html lang/dir %v; want ar rtl", attrs)
	}
	tb.noErrors()
	tb.axe("/alerts/{id}?lang=ar")
	tb.screenshots("alert-ar")
}
