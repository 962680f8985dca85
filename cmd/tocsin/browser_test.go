package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's Chromium (installed by scripts/test)
// through chromedp against the real tocsin binary. Each test starts its own
// browser with a fresh profile; each tab made by browser.tab has its own
// cookie jar, so a verifier and two publishers can be signed in side by side.

// browser is one headless Chromium.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// chromiumPath finds Chromium, failing (never skipping) with how to get it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed: run scripts/install-test-deps chromium (scripts/test does)")
	return ""
}

// newBrowser starts Chromium with the flags this machine needs and a fresh
// profile; it stops when the test ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// The first run starts the browser; it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return &browser{t: t, ctx: ctx}
}

// tab is one page of a browser, in its own browser context (own cookies,
// storage and service workers).
type tab struct {
	t   *testing.T
	ctx context.Context
}

// errorCatcher records uncaught script errors, rejected promises and
// Content Security Policy violations of every document the tab loads, so
// that a test can require a page to run clean.
const errorCatcher = `(() => {
  window.__tocsinErrors = [];
  const push = (m) => window.__tocsinErrors.push(String(m));
  window.addEventListener('error', (e) => push('error: ' + (e.message || e.type) + (e.filename ? ' at ' + e.filename + ':' + e.lineno : '')));
  window.addEventListener('unhandledrejection', (e) => push('unhandled rejection: ' + (e.reason && (e.reason.stack || e.reason.message) || e.reason)));
  document.addEventListener('securitypolicyviolation', (e) => push('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' in ' + e.sourceFile + ':' + e.lineNumber));
})();`

// tab opens a new tab in a new browser context.
func (b *browser) tab() *tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	// The first run opens the tab and must have no deadline: the tab
	// lives as long as the context of that run.
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	tb := &tab{t: b.t, ctx: ctx}
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: errorCatcher})
		return err
	}))
	return tb
}

// do runs actions, failing the test on the first error; each call has 30
// seconds.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// open navigates to url and waits for the page's scripts to have run.
func (tb *tab) open(url string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
	tb.waitJS("the page to load", `document.readyState === 'complete'`, 15*time.Second)
}

// eval evaluates a JavaScript expression (awaiting a promise) and decodes
// its JSON value into out, which may be nil.
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("browser: evaluate %.80q: %v", expr, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.t.Fatalf("browser: decode result of %.80q (%s): %v", expr, raw, err)
		}
	}
}

// waitJS waits until the JavaScript expression is truthy, failing with
// what was awaited (and the page's text) after timeout.
func (tb *tab) waitJS(what, expr string, timeout time.Duration) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		var text string
		tctx, tcancel := context.WithTimeout(tb.ctx, 5*time.Second)
		text, _ = chromedp.Run(tctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
		tcancel()
		tb.t.Fatalf("waiting for %s (%s): %v\npage text:\n%s", what, expr, err, text)
	}
}

// text returns the visible text of the first element matching sel.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.eval(fmt.Sprintf(`(document.querySelector(%q) || {innerText: ''}).innerText`, sel), &s)
	return s
}

// noErrors fails the test if the current document had script errors or
// CSP violations.
func (tb *tab) noErrors() {
	tb.t.Helper()
	var errs []string
	tb.eval(`window.__tocsinErrors || []`, &errs)
	if len(errs) > 0 {
		tb.t.Fatalf("the page had errors:\n%s", strings.Join(errs, "\n"))
	}
}

// offline cuts the tab's network (true) or gives it back (false).
func (tb *tab) offline(off bool) {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		// Requests fail (the service worker's too), and navigator.onLine
		// and the online/offline events follow.
		on := true
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &on,
			MatchedNetworkConditions:    []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}},
		}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

// axeSource is axe-core, from the npm registry by scripts/build-web.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "web", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is not installed (run scripts/build-web, which scripts/test runs): %v", err)
	}
	return string(b)
}

// axe runs axe-core's WCAG checks on the current page and fails the test on
// any serious or critical violation, naming the rule and the elements.
func (tb *tab) axe(name string) {
	tb.t.Helper()
	var loaded bool
	tb.eval(`typeof window.axe === 'object'`, &loaded)
	if !loaded {
		tb.eval(axeSource(tb.t)+"\n;true", nil)
	}
	var res struct {
		Violations []struct {
			ID     string `json:"id"`
			Impact string `json:"impact"`
			Help   string `json:"help"`
			Nodes  []struct {
				Target []any  `json:"target"`
				HTML   string `json:"html"`
			} `json:"nodes"`
		} `json:"violations"`
		Passes int `json:"passes"`
	}
	tb.eval(`axe.run(document, {resultTypes: ['violations']}).then(r => ({violations: r.violations, passes: r.passes.length}))`, &res)
	var bad []string
	for _, v := range res.Violations {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		for _, n := range v.Nodes {
			bad = append(bad, fmt.Sprintf("%s (%s): %s — %v %s", v.ID, v.Impact, v.Help, n.Target, n.HTML))
		}
	}
	if len(bad) > 0 {
		tb.t.Errorf("axe on %s: %d serious or critical violations:\n%s", name, len(bad), strings.Join(bad, "\n"))
	}
}

// artifactsDir is where the browser tests keep their screenshots:
// $TOCSIN_ARTIFACTS, else test-artifacts/ at the top of the repository.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TOCSIN_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-artifacts")
	}
	dir, err := filepath.Abs(filepath.Join(dir, "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshots saves the current page at a phone's and a desktop's width,
// whole length, as <name>-phone.png and <name>-desktop.png, and restores
// the desktop viewport.
func (tb *tab) screenshots(name string) {
	tb.t.Helper()
	dir := artifactsDir(tb.t)
	for _, v := range []struct {
		suffix        string
		width, height int64
		mobile        bool
	}{{"phone", 390, 844, true}, {"desktop", 1366, 900, false}} {
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if v.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		tb.do(chromedp.EmulateViewport(v.width, v.height, opts...))
		// Let the layout (and a map's size) settle on the new width.
		tb.eval(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, nil)
		ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			tb.t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(dir, name+"-"+v.suffix+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	tb.do(chromedp.EmulateViewport(1366, 900))
	tb.t.Logf("screenshots of %s in %s", name, dir)
}

// tileServer serves one small PNG for every tile request on loopback, the
// tests' stand-in for a tile server, and counts the requests.
type tileServer struct {
	URL      string // a tile URL template for --tiles-url
	requests atomic.Int64
}

func newTileServer(t *testing.T) *tileServer {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for i := range img.Pix {
		img.Pix[i] = 0xee
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	ts := &tileServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(buf.Bytes())
	}))
	t.Cleanup(srv.Close)
	ts.URL = srv.URL + "/tiles/{z}/{x}/{y}.png"
	return ts
}

// startWebTocsin starts tocsin for the browser tests, its maps on a local
// tile server.
func startWebTocsin(t *testing.T, data string, args ...string) (*proc, *tileServer) {
	t.Helper()
	tiles := newTileServer(t)
	return startTocsin(t, data, append([]string{"--tiles-url", tiles.URL, "--tiles-attribution", "Test tiles"}, args...)...), tiles
}

// script switches the tab's script execution on or off, as a browser with
// JavaScript disabled; DevTools' own evaluation (eval, waitJS) needs it on.
func (tb *tab) script(on bool) {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
}

// domText returns the visible text of the first element matching sel
// through DevTools' DOM queries, which work with script off too.
func (tb *tab) domText(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// value returns the value of the form field matching sel, script on or off.
func (tb *tab) value(sel string) string {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

// hostileText is the user text the browser tests put everywhere a person
// can write (reports, headlines, areas): it must show as text, and neither
// of its parts may run.
const hostileText = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`

// notPwned fails the test if hostileText ran as script in the current page.
func (tb *tab) notPwned() {
	tb.t.Helper()
	var pwned any
	tb.eval(`window.__pwned === undefined ? null : window.__pwned`, &pwned)
	if pwned != nil {
		tb.t.Fatalf("user text ran as script: window.__pwned = %v", pwned)
	}
}
