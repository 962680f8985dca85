package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tocsin/tocsin/lang"
)

// TestBrowserConsoleTemplate composes an alert from a template in the
// console: a publisher opens compose from a weather incident, switches to
// "Use a template" (the weather templates are offered first), tries a
// public-safety appeal (its missing expiry is caught in the page, its bad
// telephone number by the API, each shown next to its field), then picks
// flash_flood, saves it with the required place left empty (the error shows
// next to that input), fills it with markup that must stay text, sets a
// time in America/Denver and lowers the severity to Moderate, saves, sees
// the preview list all 15 languages, and sends it herself. Through the API
// the alert is published with 15 infos from the template, its time shown
// in Denver's zone.
func TestBrowserConsoleTemplate(t *testing.T) {
	data := t.TempDir()
	if _, errs, code := runUserAdd(t, consolePassword+"\n", "--data", data, "--name", "pia", "--role", "publisher"); code != 0 {
		t.Fatalf("user add pia: exit %d: %s", code, errs)
	}
	srv, _ := startWebTocsin(t, data)
	apiPublisher := newToken(t, data, "publisher", "api check")
	mustCall(t, 201, "POST", srv.URL+"/api/v1/zones", newToken(t, data, "admin", "zones"), map[string]any{
		"id": "cherry-creek", "names": map[string]string{"en": "Cherry Creek", "es": "Cherry Creek"},
		"circle": map[string]any{"lat": 39.717, "lon": -104.95, "radius_km": 2},
	}, nil)

	var rep struct {
		IncidentID string `json:"incident_id"`
	}
	mustCall(t, 201, "POST", srv.URL+"/api/v1/reports", newToken(t, data, "reporter", "neighbour"), map[string]any{
		"lat": 39.7170, "lon": -104.9500, "category": "Met", "event": "Flooding", "text": "Water over the path along Cherry Creek", "language": "en",
	}, &rep)
	inc := rep.IncidentID

	b := newBrowser(t)
	tb := b.tab()
	tb.login(srv.URL, "pia", consolePassword)
	tb.waitConsole()
	item := fmt.Sprintf(`#incident-list li[data-key=%q]`, inc)
	tb.waitJS("the incident in the queue", `document.querySelector('`+item+`')`, 15*time.Second)
	tb.click(item + " button")
	tb.waitJS("the incident's report", `document.querySelectorAll('#report-list .report').length === 1`, 10*time.Second)
	tb.click("#compose-from-incident")
	tb.waitJS("the compose form, prefilled from the incident", `!document.querySelector('#panel-compose').hidden &&
		document.querySelector('#c-lat').value !== '' && document.activeElement.id === 'c-mode-write'`, 10*time.Second)

	// Written text is the default; the template path is one choice away.
	var state struct {
		Write, TemplateHidden, LanguagesShown bool
	}
	tb.eval(`({write: document.querySelector('#c-mode-write').checked, templateHidden: document.querySelector('#c-template-fields').hidden,
		languagesShown: !document.querySelector('#c-languages-fields').hidden})`, &state)
	if !state.Write || !state.TemplateHidden || !state.LanguagesShown {
		t.Errorf("compose opened with %+v; want written text by default, the template fields hidden", state)
	}
	tb.click("#c-mode-template")
	tb.waitJS("the template fields instead of the language columns", `!document.querySelector('#c-template-fields').hidden &&
		document.querySelector('#c-languages-fields').hidden && !document.querySelector('#c-template-languages').hidden &&
		document.querySelector('#c-event-field').hidden`, 5*time.Second)
	var firstGroup []string
	tb.eval(`[...document.querySelectorAll('#c-template optgroup:first-of-type option')].map(o => o.value)`, &firstGroup)
	if !slices.Contains(firstGroup, "flash_flood") || slices.Contains(firstGroup, "wildfire") {
		t.Errorf("templates offered first for a Met incident: %v; want the weather ones (flash_flood), not wildfire", firstGroup)
	}
	tb.waitJS("the zones offered for place names", `document.querySelector('#c-zones option[value="cherry-creek"][label="Cherry Creek"]')`, 10*time.Second)

	// A public-safety appeal must say when it expires: the page says so
	// next to Expires before anything is sent.
	tb.do(chromedp.SetValue(chromedp.CSS("#c-template"), "public_safety_appeal"))
	tb.waitJS("the appeal's parameters", `document.querySelector('#c-param-contact') && document.querySelector('#c-param-person') &&
		!document.querySelector('#c-expires-required').hidden && !document.querySelector('#c-template-rules').hidden`, 5*time.Second)
	var contact struct {
		Type, Required, Hint string
	}
	tb.eval(`(() => { const i = document.querySelector('#c-param-contact');
		return {type: i.type, required: i.getAttribute('aria-required') || '', hint: document.getElementById(i.getAttribute('aria-describedby')).textContent}; })()`, &contact)
	if contact.Type != "tel" || contact.Required != "true" || !strings.Contains(contact.Hint, "+1 303-555-0100") {
		t.Errorf("the appeal's contact input: %+v; want type tel, aria-required and its example in the hint", contact)
	}
	tb.do(
		chromedp.SetValue(chromedp.CSS("#c-expires"), ""),
		chromedp.SendKeys(chromedp.CSS("#c-param-area"), "Five Points"),
		chromedp.SendKeys(chromedp.CSS("#c-param-person"), "Tall man in a red jacket"),
		chromedp.SendKeys(chromedp.CSS("#c-param-contact"), "call the police"),
	)
	tb.click("#c-save")
	tb.waitJS("the expiry error next to Expires", `document.querySelector('#c-expires[aria-invalid="true"] + .field-error')`, 5*time.Second)
	if msg := tb.text("#c-expires + .field-error"); !strings.Contains(msg, "must say when it expires") {
		t.Errorf("expiry error %q; want it to say the appeal must say when it expires", msg)
	}
	// With an expiry, the API refuses the telephone number, and its field
	// error lands next to that input.
	tb.do(chromedp.SetValue(chromedp.CSS("#c-expires"), time.Now().Add(48*time.Hour).Format("2006-01-02T15:04")))
	tb.click("#c-save")
	tb.waitJS("the API's error next to the telephone number", `document.querySelector('#c-param-contact[aria-invalid="true"] + .field-error')`, 10*time.Second)
	if msg := tb.text("#c-param-contact + .field-error"); !strings.Contains(msg, "telephone number") {
		t.Errorf("contact error %q; want the API's telephone number detail", msg)
	}
	if tb.text("#c-expires + .field-error") != "" {
		t.Error("the expiry error stayed after an expiry was given")
	}

	// Flash flood: the place typed for the appeal carries over; emptied,
	// it is the missing required parameter.
	tb.do(chromedp.SetValue(chromedp.CSS("#c-template"), "flash_flood"))
	tb.waitJS("the flash flood parameters", `document.querySelector('#c-param-until') && !document.querySelector('#c-param-contact') &&
		document.querySelector('#c-expires-required').hidden`, 5*time.Second)
	var ff struct {
		Area, UntilType, Severity, AreaLabel, AreaHint string
		Actions                                        []string
	}
	tb.eval(`(() => { const q = (s) => document.querySelector(s);
		return {area: q('#c-param-area').value, untilType: q('#c-param-until').type, severity: q('#c-severity').value,
			areaLabel: q('label[for="c-param-area"]').textContent, areaHint: q('#c-param-area-hint').textContent,
			actions: [...q('#c-param-action').options].map(o => o.textContent)}; })()`, &ff)
	if ff.Area != "Five Points" || ff.UntilType != "datetime-local" || ff.Severity != "Severe" ||
		!strings.Contains(ff.AreaLabel, "(required)") || !strings.Contains(ff.AreaHint, "Cherry Creek") ||
		!slices.Equal(ff.Actions, []string{"Move to higher ground", "Avoid the area"}) {
		t.Errorf("flash flood form: %+v; want the place kept, a datetime-local until, Severe by default, the place marked required with its example, the actions worded", ff)
	}
	var areaRequired string
	tb.eval(`document.querySelector('#c-param-area').getAttribute('aria-required')`, &areaRequired)
	if areaRequired != "true" {
		t.Errorf("the required place has aria-required=%q", areaRequired)
	}
	var keys bool
	tb.eval(`document.querySelector('#panel-compose').innerText.includes('web.console.')`, &keys)
	if keys {
		t.Errorf("the compose form shows catalog keys: %s", tb.text("#panel-compose"))
	}
	// Emptied the way a person does: select the text, then Backspace.
	tb.eval(`document.querySelector('#c-param-area').select()`, nil)
	tb.do(chromedp.KeyEvent(kb.Backspace))
	tb.waitJS("the place emptied", `document.querySelector('#c-param-area').value === ''`, 5*time.Second)
	tb.click("#c-save")
	tb.waitJS("the required error next to the place", `document.querySelector('#c-param-area[aria-invalid="true"] + .field-error') &&
		document.activeElement.id === 'c-param-area'`, 5*time.Second)
	if msg := tb.text("#c-param-area + .field-error"); !strings.Contains(msg, "required") {
		t.Errorf("place error %q; want it to say the field is required", msg)
	}

	// Filled in, with markup in the place name, a time in Denver and a
	// Moderate severity, so that one publisher can send it.
	place := `Elm St <script>window.__pwned=1</script>`
	tb.do(
		chromedp.SendKeys(chromedp.CSS("#c-param-area"), place),
		chromedp.SetValue(chromedp.CSS("#c-param-until"), "2030-03-04T18:00"),
		chromedp.SetValue(chromedp.CSS("#c-param-action"), "avoid_area"),
		chromedp.SetValue(chromedp.CSS("#c-timezone"), "America/Denver"),
		chromedp.SetValue(chromedp.CSS("#c-severity"), "Moderate"),
	)
	tb.waitJS("the place's error gone once it is filled in, its hint back", `!document.querySelector('#c-param-area + .field-error') &&
		!document.querySelector('#c-param-area').hasAttribute('aria-invalid') &&
		document.querySelector('#c-param-area').getAttribute('aria-describedby') === 'c-param-area-hint'`, 5*time.Second)
	tb.noErrors()
	tb.axe("/console (template)")
	tb.eval(`window.scrollTo(0, 0)`, nil)
	tb.screenshots("console-template")

	tb.click("#c-save")
	tb.waitJS("the preview with all 15 languages", `!document.querySelector('#compose-preview').hidden &&
		document.querySelectorAll('#compose-preview .version').length === 15 && document.querySelector('#preview-send')`, 15*time.Second)
	var langs []string
	tb.eval(`[...document.querySelectorAll('#compose-preview .version')].map(v => v.dataset.lang)`, &langs)
	if want := lang.LocaleCodes(); !slices.Equal(sorted(langs), sorted(want)) {
		t.Errorf("preview languages %v; want %v", langs, want)
	}
	var enHeadline string
	tb.eval(`document.querySelector('#compose-preview .version[data-lang="en"] .headline').textContent`, &enHeadline)
	if enHeadline != "Flash flood warning: "+place {
		t.Errorf("English headline in the preview %q; want the place as text", enHeadline)
	}
	var injected int
	tb.eval(`document.querySelectorAll('#compose-preview script, #approval-list script').length`, &injected)
	var pwned any
	tb.eval(`window.__pwned === undefined ? null : window.__pwned`, &pwned)
	if injected != 0 || pwned != nil {
		t.Fatalf("the place name became markup: %d script elements, __pwned = %v", injected, pwned)
	}
	if from := tb.text("#compose-preview .from-template"); !strings.Contains(from, "Flash flood") || !strings.Contains(from, "15 languages") {
		t.Errorf("preview says %q; want the template's name and 15 languages", from)
	}
	if tb.text("#compose-preview .machine-badge") != "" {
		t.Error("template text is labelled as machine translation in the preview")
	}
	var pending struct {
		Alerts []struct {
			ID string `json:"id"`
		} `json:"alerts"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts?state=pending_approval", apiPublisher, nil, &pending)
	if len(pending.Alerts) != 1 {
		t.Fatalf("%d alerts wait for approval; want the one draft", len(pending.Alerts))
	}
	id := pending.Alerts[0].ID
	tb.eval(`window.scrollTo(0, 0)`, nil)
	tb.screenshots("console-template-preview")

	tb.click("#preview-send")
	tb.waitJS("the published result", `/Published/.test(document.querySelector('#console-result').textContent)`, 10*time.Second)
	var got struct {
		State      string `json:"state"`
		IncidentID string `json:"incident_id"`
		Template   string `json:"template"`
		Infos      []struct {
			Language    string `json:"language"`
			Severity    string `json:"severity"`
			Headline    string `json:"headline"`
			Description string `json:"description"`
			Instruction string `json:"instruction"`
			Expires     string `json:"expires"`
			Provenance  string `json:"provenance"`
		} `json:"infos"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts/"+id, apiPublisher, nil, &got)
	if got.State != "published" || got.IncidentID != inc || !strings.HasPrefix(got.Template, "flash_flood@") || len(got.Infos) != 15 {
		t.Fatalf("alert %s: state %s, incident %s, template %q, %d infos; want published from flash_flood about %s with 15 infos",
			id, got.State, got.IncidentID, got.Template, len(got.Infos), inc)
	}
	for _, in := range got.Infos {
		if !strings.HasPrefix(in.Provenance, "template:flash_flood@") || in.Severity != "Moderate" || in.Expires == "" {
			t.Errorf("%s info: provenance %q, severity %s, expires %q; want template:flash_flood@…, Moderate, an expiry", in.Language, in.Provenance, in.Severity, in.Expires)
		}
		if in.Language == "en" {
			if in.Headline != "Flash flood warning: "+place {
				t.Errorf("English headline %q; want the place verbatim", in.Headline)
			}
			// 18:00 on 4 March 2030 in Denver is before daylight saving time.
			if !strings.Contains(in.Description, "6:00 PM MST") || !strings.Contains(in.Instruction, "Avoid the area") {
				t.Errorf("English text %q / %q; want the time in Denver's zone and the chosen action", in.Description, in.Instruction)
			}
		}
	}
	tb.noErrors()

	// In Spanish, a blank alert: the alert types, the parameters and their
	// choices are all worded in Spanish.
	tb.open(srv.URL + "/console?lang=es")
	tb.waitConsole()
	tb.click("#tab-compose")
	tb.click("#c-mode-template")
	tb.do(chromedp.SetValue(chromedp.CSS("#c-template"), "flash_flood"))
	tb.waitJS("the Spanish flash flood form", `document.querySelector('#c-param-action')`, 5*time.Second)
	var offered int
	tb.eval(`document.querySelectorAll('#c-template option[value]:not([value=""])').length`, &offered)
	if want := len(lang.Templates()); offered != want {
		t.Errorf("a blank alert offers %d templates; want all %d", offered, want)
	}
	var es []string
	tb.eval(`[document.querySelector('#c-template').selectedOptions[0].textContent, document.querySelector('label[for="c-param-area"]').textContent,
		document.querySelector('#c-param-action').selectedOptions[0].textContent, document.querySelector('#c-mode').textContent]`, &es)
	if len(es) != 4 || es[0] != "Inundación repentina (Grave)" || !strings.Contains(es[1], "Lugar nombrado en el texto") ||
		es[2] != "Subir a un terreno más alto" || !strings.Contains(es[3], "Usar una plantilla") {
		t.Errorf("Spanish template form: %q; want the event, the parameter and the choice worded in Spanish", es)
	}
	tb.noErrors()
	tb.axe("/console?lang=es (template)")
}

// sorted returns a sorted copy of s.
func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// TestConsoleTemplateLabels checks that the console can label every
// template parameter and choice in every language, and that every catalog
// key console.js names exists: a template added without its labels, or a
// key misspelt, fails here instead of showing a raw name to a publisher.
func TestConsoleTemplateLabels(t *testing.T) {
	keys := lang.Keys()
	has := func(k string) bool { _, ok := slices.BinarySearch(keys, k); return ok }
	for _, tp := range lang.Templates() {
		for _, p := range tp.Params {
			if !has("web.console.param_"+tp.ID+"_"+p.Name) && !has("web.console.param_"+p.Name) {
				t.Errorf("template %s: no label web.console.param_%s for its parameter", tp.ID, p.Name)
			}
			if p.Type != lang.ParamChoice {
				continue
			}
			for _, c := range p.Choices {
				if !has("web.console.choice_" + c) {
					t.Errorf("template %s: no label web.console.choice_%s for a choice of %s", tp.ID, c, p.Name)
				}
			}
		}
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "web", "static", "js", "console.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`'((?:web\.console|web\.common|alert)\.[A-Za-z0-9_.]+)'`).FindAllStringSubmatch(string(src), -1) {
		if k := m[1]; !strings.HasSuffix(k, "_") && !strings.HasSuffix(k, ".") && !has(k) {
			t.Errorf("console.js names %s, which no catalog has", k)
		}
	}
}
