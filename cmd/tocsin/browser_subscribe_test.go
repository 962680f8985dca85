package main_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tocsin/tocsin/deliver"
	"github.com/tocsin/tocsin/geo"
)

// publishAlert creates an alert as one publisher and, when it waits for a
// second person's approval (Severe and Extreme), approves it as another.
// It returns the alert's id once the alert is published.
func publishAlert(t *testing.T, base, author, approver string, alert map[string]any) string {
	t.Helper()
	var a struct{ ID, State string }
	mustCall(t, 201, "POST", base+"/api/v1/alerts", author, alert, &a)
	if a.State == "pending_approval" {
		mustCall(t, 200, "POST", base+"/api/v1/alerts/"+a.ID+"/approve", approver, nil, &a)
	}
	if a.State != "published" {
		t.Fatalf("alert %s is %s; want published", a.ID, a.State)
	}
	return a.ID
}

// clickMapAt clicks the tab's Leaflet map (the page's tocsin.map) with a
// real mouse event at the pixel of lat, lon.
func (tb *tab) clickMapAt(lat, lon float64) {
	tb.t.Helper()
	var pt struct{ X, Y float64 }
	tb.eval(fmt.Sprintf(`(() => {
		const m = tocsin.map.getContainer();
		m.scrollIntoView({block: 'center'});
		const r = m.getBoundingClientRect();
		const p = tocsin.map.latLngToContainerPoint([%v, %v]);
		if (p.x < 10 || p.y < 10 || p.x > r.width - 10 || p.y > r.height - 10) throw new Error('the point is off the map: ' + p);
		return {x: r.left + p.x, y: r.top + p.y};
	})()`, lat, lon), &pt)
	tb.do(chromedp.MouseClickXY(pt.X, pt.Y))
}

// addCapitolHill makes the named zone "capitol-hill" (a square near Denver)
// with englishName, as an admin, and returns its polygon.
func addCapitolHill(t *testing.T, base, data, englishName string) geo.Polygon {
	t.Helper()
	zone := geo.Polygon{{Lat: 39.72, Lon: -104.99}, {Lat: 39.74, Lon: -104.99}, {Lat: 39.74, Lon: -104.97}, {Lat: 39.72, Lon: -104.97}, {Lat: 39.72, Lon: -104.99}}
	mustCall(t, 201, "POST", base+"/api/v1/zones", newToken(t, data, "admin", "ada"), map[string]any{
		"id": "capitol-hill", "names": map[string]string{"en": englishName, "es": "Capitol Hill"}, "polygon": zone}, nil)
	return zone
}

// storedArea is a subscription's area as the database keeps it.
type storedArea struct {
	Circle  *geo.Circle `json:"circle"`
	Polygon geo.Polygon `json:"polygon"`
}

// subscriptionArea reads a subscription's stored area from the database,
// and reports whether the subscription is there at all.
func subscriptionArea(t *testing.T, data, id string) (storedArea, bool) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(data, "tocsin.db"))+"?_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var raw string
	var area storedArea
	err = db.QueryRow(`SELECT area FROM subscriptions WHERE id = ?`, id).Scan(&raw)
	if err == sql.ErrNoRows {
		return area, false
	} else if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &area); err != nil {
		t.Fatalf("stored area %s: %v", raw, err)
	}
	return area, true
}

// TestBrowserSubscribeAndLiveAlert is the resident's story: on /subscribe
// a real mouse click on the map picks the centre, the radius is typed, and
// an email subscription is made; the confirmation email arrives and its
// link confirms; the stored area is a circle at the clicked point. With /
// open in another tab, a Severe alert published there (by two publishers)
// appears in the list and on the map without a reload, and the subscriber
// gets it by email. On a later visit the page's Unsubscribe button ends the
// subscription.
func TestBrowserSubscribeAndLiveAlert(t *testing.T) {
	mp := startMailpit(t)
	data := t.TempDir()
	srv, _ := startWebTocsin(t, data, "--smtp-url", "smtp://"+mp.SMTP, "--smtp-from", "alerts@tocsin.test")
	pub1 := newToken(t, data, "publisher", "pub-1")
	pub2 := newToken(t, data, "publisher", "pub-2")
	const lat, lon = 39.7392, -104.9903
	const ana = "ana@example.test"

	b := newBrowser(t)
	sub := b.tab()
	sub.open(srv.URL + "/subscribe")
	sub.waitJS("the map", `window.tocsin && tocsin.map && document.querySelector('#map .leaflet-map-pane')`, 10*time.Second)
	sub.axe("/subscribe")
	// Look a little off the point, so the click is not simply the centre.
	sub.eval(`tocsin.map.setView([39.732, -104.998], 13, {animate: false}), true`, nil)
	sub.clickMapAt(lat, lon)
	sub.waitJS("the clicked centre in the inputs", `document.getElementById('lat').value !== '' && document.querySelector('#map path.leaflet-interactive')`, 5*time.Second)
	var typed []string
	sub.eval(`[document.getElementById('lat').value, document.getElementById('lon').value]`, &typed)
	t.Logf("the click put the centre at %v", typed)
	sub.eval(`document.getElementById('radius').value = '', true`, nil)
	sub.do(chromedp.SendKeys(chromedp.CSS("#radius"), "2.5"))
	sub.waitJS("the summary", `document.getElementById('area-summary').textContent.startsWith('2.5 km around')`, 5*time.Second)
	sub.do(chromedp.Click(chromedp.CSS("#channel-email")))
	sub.waitJS("the email field", `!document.getElementById('email-fields').hidden`, 5*time.Second)
	sub.do(chromedp.SendKeys(chromedp.CSS("#email"), ana), chromedp.Click(chromedp.CSS("#submit")))
	sub.waitJS("the check-your-inbox notice", `document.querySelector('#result .notice.ok .done-email')`, 15*time.Second)
	if msg := sub.text("#result"); !strings.Contains(msg, "check your inbox at "+ana) || !strings.Contains(msg, "Unsubscribe") {
		t.Errorf("after subscribing the page says %q; want check your inbox and how to unsubscribe", msg)
	}
	var mine []struct {
		ID, Token, Channel string
	}
	sub.eval(`JSON.parse(localStorage.getItem('tocsin.subscriptions'))`, &mine)
	if len(mine) != 1 || mine[0].Channel != "email" || !strings.HasPrefix(mine[0].Token, "subtok_") {
		t.Fatalf("this browser keeps %+v; want one email subscription with its token", mine)
	}
	id := mine[0].ID
	if n := sub.text("#mine"); !strings.Contains(n, "Email to "+ana) {
		t.Errorf("this browser's subscriptions: %q", n)
	}
	sub.noErrors()
	sub.screenshots("subscribe")

	// The confirmation email, and its link, POSTed.
	waitFor(t, 20*time.Second, "the confirmation email", func() bool { return len(mp.to(t, ana)) >= 1 })
	confirm, _, _ := mp.message(t, mp.to(t, ana)[0].ID)
	link := regexp.MustCompile(`https?://\S+/confirm\?token=\S+`).FindString(confirm.Text)
	if !strings.Contains(link, "/api/v1/subscriptions/"+id+"/confirm?token=subconf_") {
		t.Fatalf("confirmation link %q not found in:\n%s", link, confirm.Text)
	}
	var confirmed struct{ ID, State string }
	mustCall(t, 200, "POST", link, "", nil, &confirmed)
	if confirmed.State != "active" {
		t.Fatalf("confirm answered %+v", confirmed)
	}

	// The stored area is a circle at the clicked point.
	area, ok := subscriptionArea(t, data, id)
	c := area.Circle
	if !ok || c == nil {
		t.Fatalf("subscription %s has no circle in the database", id)
	}
	if d := geo.DistanceKM(geo.Point{Lat: lat, Lon: lon}, c.Center()); d > 0.1 || c.RadiusKM != 2.5 {
		t.Fatalf("stored circle %+v is %.0f m from the clicked point; want within 100 m and radius 2.5 km", *c, d*1000)
	}

	// With / open, a Severe alert there appears live, on the list and the map.
	home := b.tab()
	home.open(srv.URL + "/")
	home.waitJS("the live stream", `document.getElementById('live-state').dataset.state === 'live'`, 15*time.Second)
	home.eval(`window.__sameDocument = true`, nil)
	const headline = "Gas leak near Civic Center: stay indoors"
	alertID := publishAlert(t, srv.URL, pub1, pub2, map[string]any{
		"status": "Actual",
		"infos": []map[string]any{{"language": "en", "category": "Safety", "event": "Gas leak", "urgency": "Immediate",
			"severity": "Severe", "certainty": "Observed", "headline": headline, "instruction": "Stay indoors and close windows."}},
		"areas": []map[string]any{{"description": "Civic Center", "circle": map[string]any{"lat": lat + 0.002, "lon": lon, "radius_km": 1}}},
	})
	home.waitJS("the alert in the list", fmt.Sprintf(`(document.querySelector('#alerts li[data-id=%q] h3') || {}).innerText === %q`, alertID, headline), 15*time.Second)
	home.waitJS("the alert on the map", fmt.Sprintf(`document.querySelector('#map path[data-alert=%q]')`, alertID), 5*time.Second)
	var same bool
	home.eval(`window.__sameDocument === true`, &same)
	if !same {
		t.Fatal("the page reloaded to show the alert")
	}
	if sev := home.text(fmt.Sprintf(`#alerts li[data-id=%q] .badges`, alertID)); !strings.Contains(sev, "Severe") {
		t.Errorf("badges %q; want Severe", sev)
	}
	home.noErrors()

	// The subscriber gets it by email.
	waitFor(t, 20*time.Second, "the alert email", func() bool {
		for _, m := range mp.to(t, ana) {
			if m.Subject == headline {
				return true
			}
		}
		return false
	})

	// A later visit still knows the subscription; one click ends it.
	sub.open(srv.URL + "/subscribe")
	sub.waitJS("this browser's subscription", fmt.Sprintf(`document.querySelector('#mine li[data-id=%q] button.unsubscribe')`, id), 5*time.Second)
	sub.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#mine li[data-id=%q] button.unsubscribe`, id))))
	sub.waitJS("the unsubscribed notice", `document.querySelector('#result .notice.ok') && !document.querySelector('#mine li')`, 10*time.Second)
	if _, ok := subscriptionArea(t, data, id); ok {
		t.Fatal("the subscription is still in the database after Unsubscribe")
	}
	if code := call(t, "DELETE", srv.URL+"/api/v1/subscriptions/"+id, mine[0].Token, nil, nil); code != 404 {
		t.Errorf("DELETE after unsubscribing: %d; want 404", code)
	}
	var left string
	sub.eval(`localStorage.getItem('tocsin.subscriptions')`, &left)
	if left != "[]" {
		t.Errorf("this browser still keeps %s", left)
	}
	sub.noErrors()
}

// waitAsync waits until the JavaScript expression, which may be a promise,
// comes to true; waitJS does not await promises.
func (tb *tab) waitAsync(what, expr string, timeout time.Duration) {
	tb.t.Helper()
	waitFor(tb.t, timeout, what, func() bool {
		var ok bool
		tb.eval("Promise.resolve("+expr+").then(v => !!v)", &ok)
		return ok
	})
}

// profileTab opens a tab in the browser's default context, its profile
// on disk, rather than a private context of its own as tab does.
func (b *browser) profileTab() *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	tb := &tab{t: b.t, ctx: ctx}
	tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: errorCatcher})
		return err
	}))
	return tb
}

// setPermission sets a permission for the tab's origin in its browser
// context ("granted", "denied" or "prompt").
func (tb *tab) setPermission(origin, name string, setting cdpbrowser.PermissionSetting) {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name}, Setting: setting, Origin: origin,
			BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID,
		})
		return err
	}))
}

// TestBrowserWebPush: this machine cannot reach a browser push service, so
// choosing "this browser" ends in a clear error that offers email, and a
// blocked permission says so. The service worker itself is then driven
// through DevTools: a Spanish push message shaped like deliver's payload
// becomes a Spanish notification, and an update under the same tag replaces
// it.
func TestBrowserWebPush(t *testing.T) {
	mp := startMailpit(t)
	data := t.TempDir()
	srv, _ := startWebTocsin(t, data, "--smtp-url", "smtp://"+mp.SMTP)
	b := newBrowser(t)

	// Blocked notifications: the page says so and offers email.
	denied := b.tab()
	denied.setPermission(srv.URL, "notifications", cdpbrowser.PermissionSettingDenied)
	denied.open(srv.URL + "/subscribe")
	denied.do(chromedp.SendKeys(chromedp.CSS("#lat"), "39.74"), chromedp.SendKeys(chromedp.CSS("#lon"), "-104.99"),
		chromedp.Click(chromedp.CSS("#channel-push")), chromedp.Click(chromedp.CSS("#submit")))
	denied.waitJS("the blocked-notifications error", `document.querySelector('#result .push-error[data-kind="denied"]')`, 15*time.Second)
	if msg := denied.text("#result"); !strings.Contains(msg, "blocked") || !strings.Contains(msg, "Use email instead") {
		t.Errorf("denied: the page says %q", msg)
	}
	denied.noErrors()

	// Allowed, but no push service: a clear error; its button switches to
	// email. This tab is in the browser's own profile, where Chromium tries
	// Google's push service (unreachable here; the page gives up after 15
	// s); in the tests' private contexts Chromium refuses push at once.
	tb := b.profileTab()
	tb.setPermission(srv.URL, "notifications", cdpbrowser.PermissionSettingGranted)
	tb.open(srv.URL + "/subscribe")
	tb.do(chromedp.SendKeys(chromedp.CSS("#lat"), "39.74"), chromedp.SendKeys(chromedp.CSS("#lon"), "-104.99"))
	tb.waitJS("the typed circle drawn", `document.querySelector('#map path.leaflet-interactive')`, 5*time.Second)
	tb.do(chromedp.Click(chromedp.CSS("#channel-push")), chromedp.Click(chromedp.CSS("#submit")))
	tb.waitJS("the push error", `document.querySelector('#result .push-error')`, 40*time.Second)
	var kind string
	tb.eval(`document.querySelector('#result .push-error').dataset.kind`, &kind)
	msg := tb.text("#result")
	t.Logf("without a push service the page says: %q", msg)
	if kind != "failed" || !strings.Contains(msg, "push service could not be reached") || !strings.Contains(msg, "Use email instead") {
		t.Errorf("push error %q (%s); want the push service failure suggesting email", msg, kind)
	}
	tb.do(chromedp.Click(chromedp.CSS("#use-email")))
	tb.waitJS("email chosen and focused", `document.getElementById('channel-email').checked && document.activeElement === document.getElementById('email')`, 5*time.Second)
	tb.noErrors()

	// The service worker: the registration the page made, found through DevTools.
	var (
		mu    sync.Mutex
		regID serviceworker.RegistrationID
	)
	if err := chromedp.Listen(tb.ctx, func(ev any) {
		if e, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			for _, r := range e.Registrations {
				if strings.HasPrefix(r.ScopeURL, srv.URL) && !r.IsDeleted {
					mu.Lock()
					regID = r.RegistrationID
					mu.Unlock()
				}
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{})
		return err
	}))
	tb.waitAsync("the service worker active", `navigator.serviceWorker.ready.then(r => !!r.active)`, 10*time.Second)
	waitFor(t, 10*time.Second, "the service worker's registration id", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return regID != ""
	})

	// push delivers a payload to the worker and waits for cond. A worker
	// that DevTools caught stopping for idleness may drop the event, so it
	// is delivered once more if nothing happened after a few seconds, as a
	// push service would retry: the tag keeps a repeat from doubling a
	// notification.
	push := func(p deliver.PushPayload, what, cond string) {
		t.Helper()
		body, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		id := regID
		mu.Unlock()
		for attempt := 1; ; attempt++ {
			tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				_, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
					Origin: srv.URL, RegistrationID: id, Data: string(body)})
				return err
			}))
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				var ok bool
				tb.eval("Promise.resolve("+cond+").then(v => !!v)", &ok)
				if ok {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			if attempt == 2 {
				t.Fatalf("waiting for %s (%s): nothing after two deliveries", what, cond)
			}
			t.Logf("no %s 5 s after the push message; delivering it again", what)
		}
	}
	type note struct{ Title, Body, Lang, Tag, URL string }
	notes := func() []note {
		var out []note
		tb.eval(`navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => ({title: n.title, body: n.body, lang: n.lang, tag: n.tag, url: n.data && n.data.url})))`, &out)
		return out
	}
	tag := deliver.PushTopic("alr_webpushtest")
	expires := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	push(deliver.PushPayload{Type: "alert.published", AlertID: "alr_webpushtest", Language: "es", Status: "Actual", MsgType: "Alert",
		Event: "Inundación repentina", Severity: "Severe", Headline: "Inundación repentina en Speer Blvd",
		Instruction: "Suba a un lugar más alto.", Expires: &expires, Provenance: "human", URL: "/alerts/alr_webpushtest", Tag: tag},
		"the notification", `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.length === 1)`)
	if got := notes(); len(got) != 1 || got[0] != (note{"Inundación repentina en Speer Blvd", "Suba a un lugar más alto.", "es", tag, "/alerts/alr_webpushtest"}) {
		t.Fatalf("notifications %+v; want the Spanish alert", got)
	}
	push(deliver.PushPayload{Type: "alert.updated", AlertID: "alr_webpushupdate", Language: "es", Status: "Actual", MsgType: "Update",
		Event: "Inundación repentina", Severity: "Severe", Headline: "Actualización: el agua sube en Speer Blvd",
		Instruction: "Evacúe hacia el este.", Expires: &expires, Provenance: "human", URL: "/alerts/alr_webpushupdate", Tag: tag},
		"the updated notification", `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.some(n => n.title.startsWith('Actualización')))`)
	if got := notes(); len(got) != 1 || got[0].Body != "Evacúe hacia el este." || got[0].Tag != tag || got[0].URL != "/alerts/alr_webpushupdate" {
		t.Fatalf("after the update, notifications %+v; want one, replaced", got)
	}
	tb.noErrors()
}

// TestBrowserSubscribeAreas covers the other ways to choose an area: no
// area at all is refused next to the fields; a polygon drawn with real
// clicks on the map (one undone) is stored as drawn; a named zone chosen by
// keyboard is stored with the zone's geometry; the second language chosen
// is stored after the first.
func TestBrowserSubscribeAreas(t *testing.T) {
	mp := startMailpit(t)
	data := t.TempDir()
	srv, _ := startWebTocsin(t, data, "--smtp-url", "smtp://"+mp.SMTP)
	zone := addCapitolHill(t, srv.URL, data, "Capitol Hill <b>district</b>")

	b := newBrowser(t)
	tb := b.tab()
	tb.open(srv.URL + "/subscribe")
	tb.waitJS("the map", `window.tocsin && tocsin.map`, 10*time.Second)

	// No area: the error is under the map and the latitude has the focus.
	tb.do(chromedp.Click(chromedp.CSS("#channel-email")), chromedp.SendKeys(chromedp.CSS("#email"), "zoe@example.test"),
		chromedp.Click(chromedp.CSS("#submit")))
	tb.waitJS("the missing-area error", `!document.getElementById('area-error').hidden && document.activeElement === document.getElementById('lat')`, 5*time.Second)
	if e := tb.text("#area-error"); !strings.Contains(e, "Choose an area first") {
		t.Errorf("area error %q", e)
	}

	// A polygon: four clicks, one undone, then Finish.
	tb.do(chromedp.Click(chromedp.CSS("#mode-polygon")))
	tb.eval(`tocsin.map.setView([39.73, -104.98], 13, {animate: false}), true`, nil)
	corners := [][2]float64{{39.735, -104.99}, {39.74, -104.97}, {39.725, -104.975}}
	for _, c := range corners {
		tb.clickMapAt(c[0], c[1])
	}
	tb.clickMapAt(39.728, -104.995)
	tb.waitJS("four corners", `document.getElementById('area-summary').textContent === 'Corners so far: 4'`, 5*time.Second)
	tb.do(chromedp.Click(chromedp.CSS("#undo-point")), chromedp.Click(chromedp.CSS("#finish-polygon")))
	tb.waitJS("the finished area", `document.getElementById('area-summary').textContent === 'Area finished. Corners: 3' && document.querySelector('#map path.leaflet-interactive')`, 5*time.Second)
	tb.do(chromedp.SetValue(chromedp.CSS("#lang-2"), "es"), chromedp.Click(chromedp.CSS("#submit")))
	tb.waitJS("the polygon subscription", `document.querySelectorAll('#mine li').length === 1`, 15*time.Second)
	var mine []struct{ ID string }
	tb.eval(`JSON.parse(localStorage.getItem('tocsin.subscriptions'))`, &mine)
	area, ok := subscriptionArea(t, data, mine[0].ID)
	if !ok || len(area.Polygon) != 4 || area.Polygon[0] != area.Polygon[3] {
		t.Fatalf("stored polygon %+v; want three corners, closed", area)
	}
	for i, c := range corners {
		if d := geo.DistanceKM(geo.Point{Lat: c[0], Lon: c[1]}, area.Polygon[i]); d > 0.1 {
			t.Errorf("corner %d stored %.0f m from where it was clicked", i+1, d*1000)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(data, "tocsin.db"))+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var langs string
	if err := db.QueryRow(`SELECT languages FROM subscriptions WHERE id = ?`, mine[0].ID).Scan(&langs); err != nil || langs != `["en","es"]` {
		t.Errorf("stored languages %s (%v); want [\"en\",\"es\"]", langs, err)
	}

	// A named zone, chosen with the keyboard; its name shows as text.
	tb.do(chromedp.Click(chromedp.CSS("#mode-zone")), chromedp.Focus(chromedp.CSS("#zone")), chromedp.KeyEvent(kb.ArrowDown))
	tb.waitJS("the zone chosen", `document.getElementById('area-summary').textContent === 'Zone: Capitol Hill <b>district</b>'`, 5*time.Second)
	tb.do(chromedp.Click(chromedp.CSS("#submit")))
	tb.waitJS("the zone subscription", `document.querySelectorAll('#mine li').length === 2`, 15*time.Second)
	tb.eval(`JSON.parse(localStorage.getItem('tocsin.subscriptions'))`, &mine)
	area, ok = subscriptionArea(t, data, mine[1].ID)
	if !ok || fmt.Sprint(area.Polygon) != fmt.Sprint(zone) {
		t.Fatalf("stored zone area %+v; want the zone's polygon %v", area, zone)
	}
	if m := tb.text("#mine"); !strings.Contains(m, "Zone: Capitol Hill <b>district</b>") || !strings.Contains(m, "Corners: 3") {
		t.Errorf("this browser's subscriptions: %q", m)
	}
	tb.noErrors()
}
