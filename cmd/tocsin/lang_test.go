package main_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// langInfo is an info as the API returns it.
type langInfo struct {
	Language    string `json:"language"`
	Headline    string `json:"headline"`
	Instruction string `json:"instruction"`
	Provenance  string `json:"provenance"`
}

// TestLanguages drives the real binary with the real Apertium: a template
// alert renders all 15 locales natively and a Spanish subscriber gets the
// template's Spanish even when machine translation was asked for; a
// publisher's English text is machine-translated into Spanish with the
// glossary's and the alert's protected terms intact and labelled as such;
// a language without a pair becomes a warning, not a failure.
func TestLanguages(t *testing.T) {
	data := t.TempDir()
	srv := startTocsin(t, data)
	base := srv.URL
	admin := newToken(t, data, "admin", "ops")
	pub1 := newToken(t, data, "publisher", "Pat")
	pub2 := newToken(t, data, "publisher", "Quinn")

	var langs struct {
		Languages []struct{ Code, Dir string } `json:"languages"`
	}
	mustCall(t, 200, "GET", base+"/api/v1/languages", "", nil, &langs)
	dirs := map[string]string{}
	for _, l := range langs.Languages {
		dirs[l.Code] = l.Dir
	}
	if len(dirs) != 15 || dirs["ar"] != "rtl" || dirs["es"] != "ltr" || dirs["zh-Hant"] != "ltr" {
		t.Fatalf("languages %v", dirs)
	}
	var tpls struct {
		Templates []struct {
			ID     string `json:"id"`
			Params []struct {
				Name     string `json:"name"`
				Required bool   `json:"required"`
				Example  string `json:"example"`
			} `json:"params"`
		} `json:"templates"`
	}
	mustCall(t, 200, "GET", base+"/api/v1/templates", "", nil, &tpls)
	if len(tpls.Templates) < 20 {
		t.Fatalf("%d templates, want at least 20", len(tpls.Templates))
	}

	mustCall(t, 201, "POST", base+"/api/v1/glossary", admin, map[string]string{"term": "Cherry Creek"}, nil)
	if code := call(t, "POST", base+"/api/v1/glossary", pub1, map[string]string{"term": "Speer"}, nil); code != 403 {
		t.Fatalf("a publisher adding a glossary term got %d, want 403", code)
	}
	rcv := newReceiver(t)
	rcv.subscribe(t, base, "", "/lucia", circle(39.7170, -104.9530, 3), "es", "en")
	area := []map[string]any{{"description": "Cherry Creek", "circle": map[string]any{"lat": 39.7170, "lon": -104.9530, "radius_km": 2}}}

	// A template alert: 15 native infos; translate_to es adds nothing.
	until := time.Now().Add(4 * time.Hour).UTC().Truncate(time.Second)
	var tpl struct {
		ID       string     `json:"id"`
		State    string     `json:"state"`
		Template string     `json:"template"`
		Infos    []langInfo `json:"infos"`
	}
	mustCall(t, 201, "POST", base+"/api/v1/alerts", pub1, map[string]any{
		"status": "Actual", "template": "flash_flood", "time_zone": "America/Denver",
		"params":  map[string]string{"area": "Cherry Creek", "until": until.Format(time.RFC3339)},
		"expires": until.Format(time.RFC3339), "areas": area, "translate_to": []string{"es"},
	}, &tpl)
	if len(tpl.Infos) != 15 || tpl.Template != "flash_flood@1" || tpl.State != "pending_approval" {
		t.Fatalf("template alert: %d infos, template %q, state %s", len(tpl.Infos), tpl.Template, tpl.State)
	}
	for _, in := range tpl.Infos {
		if in.Provenance != "template:flash_flood@1" || !strings.Contains(in.Headline, "Cherry Creek") || len([]rune(in.Headline)) > 90 {
			t.Errorf("%s info: provenance %q, headline %q", in.Language, in.Provenance, in.Headline)
		}
	}
	mustCall(t, 200, "POST", base+"/api/v1/alerts/"+tpl.ID+"/approve", pub2, nil, nil)
	waitFor(t, 10*time.Second, "the template alert", func() bool { return len(rcv.deliveries()) == 1 })
	if d := rcv.deliveries()[0]; d.Alert.Language != "es" || d.Alert.Infos[0].Provenance != "template:flash_flood@1" || !strings.Contains(d.Alert.Infos[0].Headline, "Cherry Creek") {
		t.Fatalf("the Spanish subscriber got %+v", d.Alert)
	}

	// A publisher's own English text, machine-translated into Spanish.
	var human struct {
		ID       string     `json:"id"`
		Infos    []langInfo `json:"infos"`
		Warnings []string   `json:"warnings"`
	}
	mustCall(t, 201, "POST", base+"/api/v1/alerts", pub1, map[string]any{
		"status": "Actual", "protected_terms": []string{"ICE"}, "translate_to": []string{"es", "ko"},
		"infos": []map[string]any{{"language": "en", "category": "Safety", "event": "Road closure", "urgency": "Expected",
			"severity": "Moderate", "certainty": "Observed", "headline": "Flooding near Cherry Creek, ICE agents on site",
			"instruction": "Avoid the area near Cherry Creek."}},
		"areas": area,
	}, &human)
	if len(human.Infos) != 2 {
		t.Fatalf("machine translation: infos %+v, warnings %v", human.Infos, human.Warnings)
	}
	es := human.Infos[1]
	if es.Language != "es" || es.Provenance != "machine:apertium:eng-spa" || !strings.Contains(es.Headline, "Cherry Creek") ||
		!strings.Contains(es.Headline, "ICE") || strings.Contains(es.Headline, "Cereza") || strings.Contains(es.Headline, "HIELO") ||
		strings.ContainsAny(es.Headline+es.Instruction, "*#@") {
		t.Fatalf("Spanish machine translation %+v", es)
	}
	if len(human.Warnings) != 1 || !strings.Contains(human.Warnings[0], "ko") {
		t.Fatalf("warnings %v, want one about ko", human.Warnings)
	}
	waitFor(t, 10*time.Second, "the translated alert", func() bool { return len(rcv.deliveries()) == 2 })
	if d := rcv.deliveries()[1]; d.Alert.ID != human.ID || d.Alert.Language != "es" || d.Alert.Infos[0].Provenance != "machine:apertium:eng-spa" {
		t.Fatalf("second delivery %+v", d.Alert)
	}
	var full struct {
		Infos []langInfo `json:"infos"`
	}
	mustCall(t, 200, "GET", base+"/api/v1/alerts/"+human.ID+"?lang=es", "", nil, &full)
	if len(full.Infos) != 1 || full.Infos[0].Provenance != "machine:apertium:eng-spa" {
		t.Fatalf("the published Spanish info does not say it is machine text: %+v", full.Infos)
	}

	// The alert's page: Arabic is right-to-left, Accept-Language picks
	// Spanish, machine text is labelled, only the site's own scripts may run.
	page := getPage(t, base+"/alerts/"+tpl.ID+"?lang=ar", "")
	if !strings.Contains(page.body, `<html lang="ar" dir="rtl">`) || !strings.Contains(page.body, `<article class="alert" lang="ar" dir="rtl">`) ||
		!strings.Contains(page.csp, "default-src 'none'") || !strings.Contains(page.csp, "script-src 'self';") || strings.Contains(page.csp, "unsafe-") {
		t.Fatalf("Arabic page: CSP %q\n%s", page.csp, page.body)
	}
	if page := getPage(t, base+"/alerts/"+human.ID, "es-MX,es;q=0.9"); !strings.Contains(page.body, `<html lang="es" dir="ltr">`) ||
		!strings.Contains(page.body, "Traducción automática") || !strings.Contains(page.body, "Cherry Creek") {
		t.Fatalf("Spanish page of the machine-translated alert:\n%s", page.body)
	}
	var xss struct{ ID string }
	mustCall(t, 201, "POST", base+"/api/v1/alerts", pub1, map[string]any{
		"status": "Test", "infos": []map[string]any{{"language": "en", "category": "Other", "event": "<img src=x onerror=alert(1)>", "urgency": "Unknown",
			"severity": "Minor", "certainty": "Unknown", "headline": "<script>alert(1)</script>", "instruction": "<img src=x onerror=alert(1)>"}},
		"areas": []map[string]any{{"description": "<b>x</b>", "circle": map[string]any{"lat": 10, "lon": 10, "radius_km": 1}}},
	}, &xss)
	if page := getPage(t, base+"/alerts/"+xss.ID, ""); strings.Contains(page.body, "<script>") || strings.Contains(page.body, "<img") ||
		strings.Contains(page.body, "<b>x") || !strings.Contains(page.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("user text is not escaped:\n%s", page.body)
	}

	// Bad template requests name the field.
	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"status": "Actual", "template": "volcano", "areas": area}, "template"},
		{map[string]any{"status": "Actual", "template": "flash_flood", "params": map[string]string{}, "areas": area}, "params.area"},
		{map[string]any{"status": "Actual", "template": "public_safety_appeal", "params": map[string]string{"area": "Denver", "person": "tall man, red jacket", "contact": "911"}, "areas": area}, "expires"},
		{map[string]any{"status": "Actual", "template": "flood", "time_zone": "Mars/Olympus", "params": map[string]string{"area": "Denver"}, "areas": area}, "time_zone"},
	} {
		var prob struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		if code := call(t, "POST", base+"/api/v1/alerts", pub1, tt.body, &prob); code != 400 || len(prob.Errors) == 0 || prob.Errors[0].Field != tt.field {
			t.Errorf("%v: status %d, errors %+v, want 400 naming %s", tt.body["template"], code, prob.Errors, tt.field)
		}
	}
}

// TestReviewTranslation: a publisher holds a quiet alert to review its
// machine Spanish, corrects it (now "human"), and sends it; the Spanish
// subscriber gets the corrected text.
func TestReviewTranslation(t *testing.T) {
	data := t.TempDir()
	srv := startTocsin(t, data)
	base := srv.URL
	pub := newToken(t, data, "publisher", "Pat")
	rcv := newReceiver(t)
	rcv.subscribe(t, base, "", "/lucia", circle(39.7170, -104.9530, 3), "es")
	var a struct {
		ID    string     `json:"id"`
		State string     `json:"state"`
		Infos []langInfo `json:"infos"`
	}
	mustCall(t, 201, "POST", base+"/api/v1/alerts", pub, map[string]any{
		"status": "Actual", "hold": true, "translate_to": []string{"es"},
		"infos": []map[string]any{{"language": "en", "category": "Infra", "event": "Power outage", "urgency": "Expected",
			"severity": "Minor", "certainty": "Observed", "headline": "Power outage on Colfax Avenue"}},
		"areas": []map[string]any{{"description": "Colfax", "circle": map[string]any{"lat": 39.7170, "lon": -104.9530, "radius_km": 2}}},
	}, &a)
	if a.State != "pending_approval" || len(a.Infos) != 2 || a.Infos[1].Provenance != "machine:apertium:eng-spa" {
		t.Fatalf("held alert %+v", a)
	}
	mustCall(t, 200, "PUT", base+"/api/v1/alerts/"+a.ID+"/infos/es", pub, map[string]string{"headline": "Apagón en Colfax Avenue"}, &a)
	if a.Infos[1].Provenance != "human" || a.Infos[1].Headline != "Apagón en Colfax Avenue" {
		t.Fatalf("revised info %+v", a.Infos[1])
	}
	if n := len(rcv.deliveries()); n != 0 {
		t.Fatalf("%d deliveries before the held alert was sent", n)
	}
	mustCall(t, 200, "POST", base+"/api/v1/alerts/"+a.ID+"/approve", pub, nil, nil) // quiet: its author may send it
	waitFor(t, 10*time.Second, "the reviewed alert", func() bool { return len(rcv.deliveries()) == 1 })
	if d := rcv.deliveries()[0]; d.Alert.Infos[0].Headline != "Apagón en Colfax Avenue" || d.Alert.Infos[0].Provenance != "human" {
		t.Fatalf("delivered %+v", d.Alert.Infos)
	}
	if code := call(t, "PUT", base+"/api/v1/alerts/"+a.ID+"/infos/es", pub, map[string]string{"headline": "x"}, nil); code != 409 {
		t.Fatalf("revising a sent alert got %d, want 409", code)
	}
}

// page is an HTML page and its Content-Security-Policy.
type page struct{ body, csp string }

func getPage(t *testing.T, url, acceptLanguage string) page {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return page{body: string(b), csp: resp.Header.Get("Content-Security-Policy")}
}
