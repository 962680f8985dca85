package main_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// consolePassword is the password of the console test's accounts.
const consolePassword = "a long and secret passphrase"

// login signs name in through the /login form, as a person would, and
// waits for the console to have loaded its queue.
func (tb *tab) login(base, name, password string) {
	tb.t.Helper()
	tb.open(base + "/login")
	tb.eval(`document.querySelector('#login-name').value = ''`, nil)
	tb.do(
		chromedp.SendKeys(chromedp.CSS("#login-name"), name),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
	)
	tb.clickAndLoad(`form.login button[type="submit"]`)
}

// clickAndLoad clicks sel, which navigates, and waits until the next
// document has loaded.
func (tb *tab) clickAndLoad(sel string) {
	tb.t.Helper()
	tb.eval(`window.__leaving = true`, nil)
	tb.click(sel)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Evaluating while the page navigates fails; that is a reason to
		// ask again, not an error.
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__leaving && document.readyState === 'complete'`))
		cancel()
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("clicking %s did not load a new page within 20s (last error: %v)", sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitConsole waits for the console page and its first refresh.
func (tb *tab) waitConsole() {
	tb.t.Helper()
	tb.waitJS("the console with its incident queue", `location.pathname === '/console' && document.readyState === 'complete' &&
		document.querySelector('#queue-updated') && /\d/.test(document.querySelector('#queue-updated').textContent)`, 20*time.Second)
}

// click clicks the first element matching sel.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(sel)))
}

// TestBrowserConsole takes an incident to a published Severe alert in the
// console, with three people in three browser tabs: a verifier sees the
// incident and its corroboration, reads a report whose text is markup as
// text, merges a second incident into it and verifies it; a publisher
// composes a Severe alert from it in English and Spanish side by side, sees
// the area and the recipient count, and cannot approve it herself; a second
// publisher approves it (the webhook subscriber gets it in Spanish) and
// then cancels it with one action. A wrong password shows the sign-in
// error. Every page runs without script errors or CSP violations and
// passes axe.
func TestBrowserConsole(t *testing.T) {
	data := t.TempDir()
	for _, u := range []struct{ name, role string }{{"vera", "verifier"}, {"pia", "publisher"}, {"pete", "publisher"}} {
		if _, errs, code := runUserAdd(t, consolePassword+"\n", "--data", data, "--name", u.name, "--role", u.role); code != 0 {
			t.Fatalf("user add %s: exit %d: %s", u.name, code, errs)
		}
	}
	srv, _ := startWebTocsin(t, data)
	apiVerifier := newToken(t, data, "verifier", "api check")
	apiPublisher := newToken(t, data, "publisher", "api check")

	// Three neighbours report a fire on Colfax (one writes markup); a
	// fourth, 2.8 km north, reports what turns out to be the same fire.
	xss := hostileText
	var a, a2, a3, b struct {
		ID         string `json:"id"`
		IncidentID string `json:"incident_id"`
	}
	report := func(token string, lat, lon float64, text string, out any) {
		t.Helper()
		mustCall(t, 201, "POST", srv.URL+"/api/v1/reports", token, map[string]any{
			"lat": lat, "lon": lon, "category": "Fire", "event": "Structure fire", "text": text, "language": "en",
		}, out)
	}
	report(newToken(t, data, "reporter", "neighbour 1"), 39.7400, -104.9900, "Smoke pouring from a roof on Colfax near Pearl", &a)
	report(newToken(t, data, "reporter", "neighbour 2"), 39.7405, -104.9895, xss, &a2)
	report("", 39.7398, -104.9905, "Flames visible from the street", &a3)
	report(newToken(t, data, "reporter", "neighbour 4"), 39.7650, -104.9900, "Big fire, seen from the north side", &b)
	if a2.IncidentID != a.IncidentID || a3.IncidentID != a.IncidentID || b.IncidentID == a.IncidentID {
		t.Fatalf("incidents %s %s %s %s; want the first three together and the fourth apart", a.IncidentID, a2.IncidentID, a3.IncidentID, b.IncidentID)
	}
	incA, incB := a.IncidentID, b.IncidentID

	// A resident subscribed to the area by webhook, in Spanish.
	hooks := newReceiver(t)
	hooks.subscribe(t, srv.URL, "", "/colfax", circle(39.745, -104.99, 5), "es")

	b0 := newBrowser(t)

	// ---- the verifier ----
	tv := b0.tab()
	tv.open(srv.URL + "/login")
	tv.noErrors()
	tv.axe("/login")
	tv.screenshots("login")
	tv.login(srv.URL, "vera", "not the password")
	tv.waitJS("the sign-in error", `document.querySelector('#login-error')`, 10*time.Second)
	if msg := tv.text("#login-error"); !strings.Contains(msg, "password is wrong") {
		t.Errorf("sign-in error %q; want it to say the password is wrong", msg)
	}
	var kept string
	tv.eval(`document.querySelector('#login-name').value`, &kept)
	if kept != "vera" {
		t.Errorf("after a failed sign-in the name field holds %q; want vera kept", kept)
	}
	tv.noErrors()
	tv.login(srv.URL, "vera", consolePassword)
	tv.waitConsole()

	item := func(id string) string { return fmt.Sprintf(`#incident-list li[data-key=%q]`, id) }
	tv.waitJS("both incidents in the queue", `document.querySelector('`+item(incA)+`') && document.querySelector('`+item(incB)+`')`, 15*time.Second)
	if txt := tv.text(item(incA)); !strings.Contains(txt, "Reports: 3") || !strings.Contains(txt, "Distinct reporters: 3") || !strings.Contains(txt, "Structure fire") {
		t.Errorf("queue item %q; want the event and its corroboration (3 reports, 3 reporters)", txt)
	}
	if tv.text("#tab-compose") != "" {
		t.Error("a verifier sees the compose tab")
	}

	// Its reports, as text, on the map.
	tv.click(item(incA) + " button")
	tv.waitJS("the incident's three reports", `document.querySelectorAll('#report-list .report').length === 3`, 10*time.Second)
	var shown bool
	tv.eval(fmt.Sprintf(`[...document.querySelectorAll('#report-list .report-text')].some(p => p.textContent === %q)`, xss), &shown)
	if !shown {
		t.Errorf("the report with markup does not show as text; reports: %q", tv.text("#report-list"))
	}
	var injected int
	tv.eval(`document.querySelectorAll('#report-list script, #report-list img, .leaflet-tooltip img').length`, &injected)
	var pwned any
	tv.eval(`window.__pwned === undefined ? null : window.__pwned`, &pwned)
	if injected != 0 || pwned != nil {
		t.Fatalf("report text became markup: %d elements, __pwned = %v", injected, pwned)
	}
	tv.waitJS("the reports on the map", `document.querySelectorAll('#incident-map path.report-marker').length === 3`, 10*time.Second)

	// Merge the north incident into it.
	tv.click(item(incB) + " button")
	tv.waitJS("the north incident selected, with the merge target", fmt.Sprintf(
		`document.querySelectorAll('#report-list .report').length === 1 && document.querySelector('#merge-into option[value=%q]')`, incA), 10*time.Second)
	tv.do(chromedp.SetValue(chromedp.CSS("#merge-into"), incA))
	tv.click("#merge-btn")
	tv.waitJS("the merge result", `/Merged/.test(document.querySelector('#console-result').textContent)`, 10*time.Second)
	tv.waitJS("the merged counts in the queue", `(document.querySelector('`+item(incA)+`') || {textContent: ''}).textContent.includes('Reports: 4') && !document.querySelector('`+item(incB)+`')`, 15*time.Second)
	tv.waitJS("the target incident shown with four reports", `document.querySelectorAll('#report-list .report').length === 4`, 10*time.Second)
	var inc struct {
		Incident struct {
			State         string `json:"state"`
			MergedInto    string `json:"merged_into"`
			ReportCount   int    `json:"report_count"`
			ReporterCount int    `json:"reporter_count"`
		} `json:"incident"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/incidents/"+incB, apiVerifier, nil, &inc)
	if inc.Incident.State != "merged" || inc.Incident.MergedInto != incA {
		t.Errorf("north incident after the merge: %+v; want merged into %s", inc.Incident, incA)
	}

	// Verify it.
	tv.click("#verify-btn")
	tv.waitJS("the verified state", `document.querySelector('`+item(incA)+` .state-verified')`, 15*time.Second)
	mustCall(t, 200, "GET", srv.URL+"/api/v1/incidents/"+incA, apiVerifier, nil, &inc)
	if inc.Incident.State != "verified" || inc.Incident.ReportCount != 4 || inc.Incident.ReporterCount != 4 {
		t.Errorf("incident after merge and verify: %+v; want verified with 4 reports by 4 reporters", inc.Incident)
	}
	tv.noErrors()
	tv.axe("/console (verifier, incident selected)")
	tv.eval(`window.scrollTo(0, 0)`, nil)
	tv.screenshots("console")

	// ---- the first publisher composes ----
	tp1 := b0.tab()
	tp1.login(srv.URL, "pia", consolePassword)
	tp1.waitConsole()
	tp1.waitJS("the verified incident", `document.querySelector('`+item(incA)+` .state-verified')`, 15*time.Second)
	// The sections are tabs: the arrow keys move between them.
	tp1.eval(`document.querySelector('#tab-incidents').focus()`, nil)
	tp1.do(chromedp.KeyEvent(kb.ArrowRight))
	tp1.waitJS("the arrow key selecting the compose tab", `document.activeElement.id === 'tab-compose' &&
		document.querySelector('#tab-compose').getAttribute('aria-selected') === 'true' && !document.querySelector('#panel-compose').hidden &&
		document.querySelector('#panel-incidents').hidden`, 5*time.Second)
	tp1.do(chromedp.KeyEvent(kb.ArrowLeft))
	tp1.waitJS("the arrow key going back to the incidents", `document.activeElement.id === 'tab-incidents' && !document.querySelector('#panel-incidents').hidden`, 5*time.Second)
	tp1.click(item(incA) + " button")
	tp1.waitJS("the incident's reports", `document.querySelectorAll('#report-list .report').length === 4`, 10*time.Second)
	tp1.click("#compose-from-incident")
	tp1.waitJS("the compose form, prefilled", `!document.querySelector('#panel-compose').hidden && document.querySelector('#c-event').value === 'Structure fire' &&
		document.querySelector('#c-category').value === 'Fire' && document.querySelector('#c-lat').value !== ''`, 10*time.Second)
	tp1.waitJS("the area on the compose map", `document.querySelector('#compose-map path.leaflet-interactive')`, 10*time.Second)

	// Move the centre a little with a real click on the map.
	var before, after []string
	tp1.eval(`[document.querySelector('#c-lat').value, document.querySelector('#c-lon').value]`, &before)
	var pt struct{ X, Y float64 }
	tp1.eval(`(() => { const m = document.querySelector('#compose-map'); m.scrollIntoView({block: 'center'});
		const r = m.getBoundingClientRect(); return {x: r.left + r.width / 2 - 25, y: r.top + r.height / 2 + 15}; })()`, &pt)
	tp1.do(chromedp.MouseClickXY(pt.X, pt.Y))
	tp1.waitJS("the centre moved by the click", fmt.Sprintf(`document.querySelector('#c-lat').value !== %q || document.querySelector('#c-lon').value !== %q`, before[0], before[1]), 5*time.Second)
	tp1.eval(`[document.querySelector('#c-lat').value, document.querySelector('#c-lon').value]`, &after)
	for i := range 2 {
		x, _ := strconv.ParseFloat(before[i], 64)
		y, err := strconv.ParseFloat(after[i], 64)
		if err != nil || math.Abs(x-y) > 0.02 {
			t.Errorf("centre %v after a click near the middle of the map; was %v", after, before)
		}
	}

	tp1.do(chromedp.SetValue(chromedp.CSS("#c-severity"), "Severe"))
	tp1.do(
		chromedp.SendKeys(chromedp.CSS("#c-en-headline"), "Building fire on East Colfax: stay away"),
		chromedp.SendKeys(chromedp.CSS("#c-en-instruction"), "Avoid the area. Keep windows closed."),
		chromedp.SetValue(chromedp.CSS("#c-add-lang"), "es"),
		chromedp.Click(chromedp.CSS("#c-add-lang-btn")),
	)
	tp1.waitJS("the Spanish column beside the English one", `document.querySelectorAll('#c-columns .language-column').length === 2 && document.activeElement.id === 'c-es-headline'`, 5*time.Second)
	tp1.do(
		chromedp.SendKeys(chromedp.CSS("#c-es-headline"), "Incendio en East Colfax: aléjese"),
		chromedp.SendKeys(chromedp.CSS("#c-es-instruction"), "Evite la zona. Mantenga las ventanas cerradas."),
	)
	var counter string
	tp1.eval(`document.querySelector('#c-es-count').textContent`, &counter)
	if !strings.Contains(counter, "32 of 90") {
		t.Errorf("Spanish headline counter %q; want 32 of 90 characters", counter)
	}
	tp1.noErrors()
	tp1.axe("/console (compose)")
	tp1.eval(`window.scrollTo(0, 0)`, nil)
	tp1.screenshots("console-compose")

	tp1.click("#c-save")
	tp1.waitJS("the preview with its map and recipients", `!document.querySelector('#compose-preview').hidden &&
		document.querySelector('#compose-preview .preview-map path.leaflet-interactive') && document.querySelector('#compose-preview td.total')`, 15*time.Second)
	var webhooks, total string
	tp1.eval(`(document.querySelector('#compose-preview td[data-channel="webhook"]') || {textContent: ''}).textContent`, &webhooks)
	tp1.eval(`document.querySelector('#compose-preview td.total').textContent`, &total)
	if webhooks != "1" || total == "0" {
		t.Errorf("preview recipients: webhook %q, total %q; want the one webhook subscriber", webhooks, total)
	}
	if !strings.Contains(tp1.text("#preview-waiting"), "another publisher") {
		t.Errorf("preview notice %q; want it to say another publisher must approve", tp1.text("#preview-waiting"))
	}
	var pending struct {
		Alerts []struct {
			ID         string `json:"id"`
			State      string `json:"state"`
			IncidentID string `json:"incident_id"`
			Infos      []struct {
				Language string `json:"language"`
				Headline string `json:"headline"`
				Severity string `json:"severity"`
			} `json:"infos"`
		} `json:"alerts"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts?state=pending_approval", apiPublisher, nil, &pending)
	if len(pending.Alerts) != 1 || len(pending.Alerts[0].Infos) != 2 || pending.Alerts[0].IncidentID != incA ||
		pending.Alerts[0].Infos[0].Language != "en" || pending.Alerts[0].Infos[1].Headline != "Incendio en East Colfax: aléjese" || pending.Alerts[0].Infos[0].Severity != "Severe" {
		t.Fatalf("pending alerts %+v; want one Severe alert about %s in English and Spanish", pending.Alerts, incA)
	}
	alertID := pending.Alerts[0].ID
	card := fmt.Sprintf(`li[data-key=%q]`, alertID)

	// She cannot approve her own Severe alert.
	tp1.click("#tab-approval")
	tp1.waitJS("her alert in the approval queue", `document.querySelector('#approval-list `+card+` .needs-other')`, 15*time.Second)
	var disabled bool
	tp1.eval(`document.querySelector('#approval-list `+card+` button.approve').disabled`, &disabled)
	if !disabled {
		t.Error("the author's approve button is enabled")
	}
	tp1.noErrors()

	// ---- the second publisher approves ----
	tp2 := b0.tab()
	tp2.login(srv.URL, "pete", consolePassword)
	tp2.waitConsole()
	tp2.click("#tab-approval")
	tp2.waitJS("the alert to approve, with both languages and its recipients", `document.querySelector('#approval-list `+card+` button.approve:not([disabled])') &&
		document.querySelectorAll('#approval-list `+card+` .versions .version').length === 2 && document.querySelector('#approval-list `+card+` td.total')`, 15*time.Second)
	if v := tp2.text("#approval-list " + card + " .versions"); !strings.Contains(v, "Building fire on East Colfax") || !strings.Contains(v, "Incendio en East Colfax") {
		t.Errorf("approval card versions %q; want the English and the Spanish headline", v)
	}
	tp2.noErrors()
	tp2.axe("/console (approval queue)")
	tp2.eval(`window.scrollTo(0, 0)`, nil)
	tp2.screenshots("console-approval")
	tp2.click("#approval-list " + card + " button.approve")
	tp2.waitJS("the published result", `/Published/.test(document.querySelector('#console-result').textContent)`, 10*time.Second)
	var got struct {
		State      string `json:"state"`
		AuthorID   int64  `json:"author_id"`
		ApprovedBy *int64 `json:"approved_by"`
		Infos      []struct {
			Language string `json:"language"`
		} `json:"infos"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts/"+alertID, apiPublisher, nil, &got)
	if got.State != "published" || len(got.Infos) != 2 || got.Infos[0].Language != "en" || got.Infos[1].Language != "es" || got.ApprovedBy == nil || *got.ApprovedBy == got.AuthorID {
		t.Fatalf("alert after approval: %+v; want published with en and es, approved by someone else", got)
	}
	waitFor(t, 20*time.Second, "the webhook delivery", func() bool {
		for _, d := range hooks.deliveries() {
			if d.Alert.ID == alertID && d.Verified {
				return true
			}
		}
		return false
	})
	for _, d := range hooks.deliveries() {
		if d.Alert.ID == alertID && (d.Alert.Language != "es" || len(d.Alert.Infos) != 1 || d.Alert.Infos[0].Headline != "Incendio en East Colfax: aléjese") {
			t.Errorf("webhook got %+v; want the Spanish text", d.Alert)
		}
	}
	// The author's queue empties by itself.
	tp1.waitJS("the approved alert leaving the author's queue", `!document.querySelector('#approval-list `+card+`')`, 15*time.Second)
	tp1.waitJS("the author's preview saying it was published", `/Published/.test((document.querySelector('#preview-body .notice.ok') || {textContent: ''}).textContent)`, 15*time.Second)

	// Update opens the compose form prefilled from the alert.
	tp2.click("#tab-published")
	tp2.waitJS("the published alert", `document.querySelector('#published-list `+card+` button.cancel')`, 15*time.Second)
	tp2.click("#published-list " + card + " button.update")
	tp2.waitJS("the update form", `!document.querySelector('#panel-compose').hidden && document.querySelector('#c-msgtype').value === 'Update' &&
		document.querySelector('#c-es-headline') && document.querySelector('#c-es-headline').value === 'Incendio en East Colfax: aléjese' &&
		document.querySelector('#c-severity').value === 'Severe'`, 10*time.Second)

	// Cancel, with one confirmation.
	tp2.click("#tab-published")
	tp2.click("#published-list " + card + " button.cancel")
	tp2.waitJS("the confirmation", `document.activeElement && document.activeElement.matches('#published-list `+card+` .confirm button.danger')`, 5*time.Second)
	tp2.click("#published-list " + card + " .confirm button.danger")
	tp2.waitJS("the cancelled result", `/Cancelled/.test(document.querySelector('#console-result').textContent)`, 10*time.Second)
	tp2.waitJS("the alert leaving the published list", `!document.querySelector('#published-list `+card+`')`, 15*time.Second)
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts/"+alertID, apiPublisher, nil, &got)
	if got.State != "cancelled" {
		t.Errorf("alert after cancel is %s; want cancelled", got.State)
	}
	var published struct {
		Alerts []struct {
			MsgType    string   `json:"msg_type"`
			References []string `json:"references"`
		} `json:"alerts"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts?state=published", apiPublisher, nil, &published)
	var cancels int
	for _, al := range published.Alerts {
		if al.MsgType == "Cancel" && len(al.References) == 1 && al.References[0] == alertID {
			cancels++
		}
	}
	if cancels != 1 {
		t.Errorf("%d Cancel messages reference %s; want 1 (published: %+v)", cancels, alertID, published.Alerts)
	}
	tp2.noErrors()
	tp1.noErrors()
	tv.noErrors()

	// In Arabic the console is right to left and just as clean.
	tv.open(srv.URL + "/console?lang=ar")
	tv.waitConsole()
	var attrs []string
	tv.eval(`[document.documentElement.lang, document.documentElement.dir, document.querySelector('#tab-incidents').textContent]`, &attrs)
	if attrs[0] != "ar" || attrs[1] != "rtl" || !strings.Contains(attrs[2], "الحوادث") {
		t.Errorf("Arabic console: lang, dir, tab %q; want ar, rtl and the Arabic tab name", attrs)
	}
	tv.click(item(incA) + " button")
	tv.waitJS("the incident's reports", `document.querySelectorAll('#report-list .report').length === 4`, 10*time.Second)
	tv.noErrors()
	tv.axe("/console?lang=ar")
	tv.eval(`window.scrollTo(0, 0)`, nil)
	tv.screenshots("console-ar")
}
