package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserReportWithoutScript files a report from Chromium with
// JavaScript switched off: the page says what works without script, a
// report without coordinates is refused with the typed text kept, and a
// full one (with a photo carrying EXIF GPS) is taken: the receipt shows,
// one report arrives with its text, and its photo has lost its metadata.
func TestBrowserReportWithoutScript(t *testing.T) {
	data := t.TempDir()
	srv, _ := startWebTocsin(t, data)
	verifier := newToken(t, data, "verifier", "vera")
	photoPath := filepath.Join(t.TempDir(), "street.jpg")
	if err := os.WriteFile(photoPath, reportTestJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	const xss = hostileText

	b := newBrowser(t)
	tb := b.tab()
	tb.script(false)
	tb.do(chromedp.Navigate(srv.URL+"/report"), chromedp.WaitVisible(chromedp.CSS("#text")))
	if s := tb.domText("main"); !strings.Contains(s, "Without JavaScript the form still sends your report") {
		t.Fatalf("no notice for a browser without script:\n%s", s)
	}

	// No coordinates: refused, the text kept, nothing filed.
	tb.do(chromedp.SetValue(chromedp.CSS("#category"), "Met"), chromedp.SendKeys(chromedp.CSS("#text"), xss),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS(".notice.error")))
	if s := tb.domText(".notice.error"); !strings.Contains(s, "Type the latitude and longitude") {
		t.Errorf("error without coordinates: %q", s)
	}
	if kept := tb.value("#text"); kept != xss {
		t.Errorf("text after the refused post %q; want it kept", kept)
	}
	if n := reportIncidentCount(t, srv.URL, verifier); n != 0 {
		t.Fatalf("%d incidents after a refused post", n)
	}

	tb.do(chromedp.SendKeys(chromedp.CSS("#lat"), "39.7392"), chromedp.SendKeys(chromedp.CSS("#lon"), "-104.9903"),
		chromedp.SetUploadFiles(chromedp.CSS("#photo"), []string{photoPath}),
		chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#report-result .notice.ok")))
	if s := tb.domText("#report-result"); !strings.Contains(s, "Report sent") || !strings.Contains(s, "Receipt") {
		t.Errorf("result %q; want the receipt", s)
	}
	rep := reportOnlyOne(t, srv.URL, verifier)
	if rep.Text != xss || rep.Category != "Met" || !rep.HasPhoto {
		t.Errorf("stored report %+v; want the text, Met, a photo", rep)
	}
	reportCheckPhoto(t, srv.URL, verifier, rep.ID)
	tb.script(true)
	tb.notPwned()
	tb.screenshots("report-noscript")
}
