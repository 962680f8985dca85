package main_test

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSubscribeWithoutScript subscribes from Chromium with
// JavaScript switched off, as a resident at risk might browse: the page
// says what works without script, a Web Push choice is refused with a
// reason and the typed point kept, and a named zone with an email address
// makes a pending email subscription whose confirmation arrives.
func TestBrowserSubscribeWithoutScript(t *testing.T) {
	mp := startMailpit(t)
	data := t.TempDir()
	srv, _ := startWebTocsin(t, data, "--smtp-url", "smtp://"+mp.SMTP)
	zone := addCapitolHill(t, srv.URL, data, "Capitol Hill")

	b := newBrowser(t)
	tb := b.tab()
	tb.script(false)
	tb.do(chromedp.Navigate(srv.URL+"/subscribe"), chromedp.WaitVisible(chromedp.CSS("#email")))
	if s := tb.domText("main"); !strings.Contains(s, "Without JavaScript you can still subscribe by email") {
		t.Fatalf("no notice for a browser without script:\n%s", s)
	}

	// Web Push (the default choice) cannot work without script: refused,
	// the typed point kept.
	tb.do(chromedp.SendKeys(chromedp.CSS("#lat"), "39.73"), chromedp.SendKeys(chromedp.CSS("#lon"), "-104.98"),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS(".notice.error")))
	if s := tb.domText(".notice.error"); !strings.Contains(s, "Browser notifications need JavaScript") {
		t.Errorf("error for Web Push without script: %q", s)
	}
	if lat := tb.value("#lat"); lat != "39.73" {
		t.Errorf("latitude after the refused post %q; want it kept", lat)
	}

	// A named zone, languages in order, email.
	tb.do(chromedp.Click(chromedp.CSS("#mode-zone")), chromedp.SetValue(chromedp.CSS("#zone"), "capitol-hill"),
		chromedp.SetValue(chromedp.CSS("#lang-1"), "es"), chromedp.SetValue(chromedp.CSS("#lang-2"), "en"),
		chromedp.Click(chromedp.CSS("#channel-email")), chromedp.SendKeys(chromedp.CSS("#email"), "nojs@example.test"),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#result .notice.ok")))
	if s := tb.domText("#result"); !strings.Contains(s, "check your inbox at nojs@example.test") {
		t.Errorf("confirmation notice %q", s)
	}
	waitFor(t, 20*time.Second, "the confirmation email", func() bool { return len(mp.to(t, "nojs@example.test")) == 1 })

	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(filepath.Join(data, "tocsin.db"))+"?_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var raw, langs, state string
	if err := db.QueryRow(`SELECT area, languages, state FROM subscriptions`).Scan(&raw, &langs, &state); err != nil {
		t.Fatalf("the one subscription: %v", err)
	}
	var area storedArea
	if err := json.Unmarshal([]byte(raw), &area); err != nil {
		t.Fatal(err)
	}
	if len(area.Polygon) != len(zone) || area.Polygon[1] != zone[1] || langs != `["es","en"]` || state != "pending" {
		t.Errorf("stored area %+v, languages %s, state %s; want the zone's polygon, [es en], pending", area, langs, state)
	}
	// The screenshot helper waits for frames from script: let DevTools
	// evaluate again (the page's own scripts stay unrun).
	tb.script(true)
	tb.screenshots("subscribe-noscript")
}
