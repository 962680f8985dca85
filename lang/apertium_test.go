//go:build unix

package lang

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
)

// The machine translation tests run the real Apertium from Debian's packages
// (apertium, apertium-eng-spa, apertium-fr-es, apertium-apy). They fail, not
// skip, when it is missing: CI installs it.

var (
	apyOnce   sync.Once
	apyServer *APyServer
	apyErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if apyServer != nil {
		apyServer.Close()
	}
	os.Exit(code)
}

func requireApertium(t testing.TB) *CLI {
	t.Helper()
	if _, err := exec.LookPath("apertium"); err != nil {
		t.Fatalf("apertium is not installed: install Debian's apertium apertium-eng-spa apertium-fr-es apertium-apy (scripts/install-test-deps does): %v", err)
	}
	return &CLI{}
}

// testAPy returns a client of the package's one apertium-apy, started on
// first use and listening on 127.0.0.1 only.
func testAPy(t testing.TB) *APy {
	t.Helper()
	requireApertium(t)
	apyOnce.Do(func() {
		apyServer, apyErr = StartAPy(context.Background(), APyConfig{Log: &testLog{}})
	})
	if apyErr != nil {
		t.Fatalf("start apertium-apy: %v (%s)", apyErr, tocsin.ErrorMessage(apyErr))
	}
	return &APy{URL: apyServer.URL}
}

// testLog keeps the server's log for a failure message.
type testLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func translators(t *testing.T) map[string]Translator {
	return map[string]Translator{"cli": requireApertium(t), "apy": testAPy(t)}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

const iceText = "Flooding near Cherry Creek, ICE agents on site."

// TestApertiumManglesNames shows the failure the protection exists for:
// unprotected, Apertium's en→es turns the place name into "Riachuelo de
// Cereza" and the agency into "HIELO". If Apertium ever stopped doing so,
// the protection test below would prove nothing, so this test says so.
func TestApertiumManglesNames(t *testing.T) {
	for name, tr := range translators(t) {
		out, err := tr.Translate(ctxTimeout(t, time.Minute), iceText, "en", "es")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s, unprotected: %q", name, out)
		if strings.Contains(out, "Cherry Creek") || strings.Contains(out, "ICE") {
			t.Errorf("%s: unprotected Apertium kept the names (%q); the protection test shows nothing", name, out)
		}
	}
}

var markRE = regexp.MustCompile(`(^|[^\p{L}\p{N}_])[*#@][\p{L}\p{N}]`)

func TestTranslateKeepsProtectedTerms(t *testing.T) {
	for name, tr := range translators(t) {
		t.Run(name, func(t *testing.T) {
			out, prov, err := Translate(ctxTimeout(t, time.Minute), tr, iceText, "en", "es", []string{"Cherry Creek", "ICE"})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("protected: %q", out)
			for _, term := range []string{"Cherry Creek", "ICE"} {
				if !strings.Contains(out, term) {
					t.Errorf("%q lost %q", out, term)
				}
			}
			for _, bad := range []string{"Riachuelo", "Cereza", "HIELO", "hielo"} {
				if strings.Contains(out, bad) {
					t.Errorf("%q still has %q", out, bad)
				}
			}
			if !strings.Contains(out, "agentes") {
				t.Errorf("%q is not Spanish", out)
			}
			if prov != "machine:apertium:eng-spa" {
				t.Errorf("provenance %q", prov)
			}
			if markRE.MatchString(out) || strings.Contains(out, "<x") {
				t.Errorf("marks or placeholders reach the reader: %q", out)
			}
		})
	}
}

// TestNoUnknownWordMarks: Apertium marks words it does not know; none of
// those marks reaches a reader, while the source's own @handles, #tags and
// addresses come through as written.
func TestNoUnknownWordMarks(t *testing.T) {
	requireApertium(t)
	// Without -u, Apertium marks the unknown word: the stripping below matters.
	cmd := exec.Command("apertium", "-f", "html", "eng-spa")
	cmd.Env = append(os.Environ(), "APERTIUM_TRANSFUSE=no")
	cmd.Stdin = strings.NewReader("The zorblax flumphed the quarry.")
	marked, err := cmd.Output()
	if err != nil || !strings.Contains(string(marked), "*") {
		t.Fatalf("apertium without -u gave %q, %v; expected unknown-word marks", marked, err)
	}
	text := "The zorblax flumphed the quarry near Xqwerty Lane. Write to help@city.gov, follow @DenverOEM and #COwx, call +1 303-555-0100."
	for name, tr := range translators(t) {
		out, prov, err := Translate(ctxTimeout(t, time.Minute), tr, text, "en", "es", nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %q", name, out)
		for _, keep := range []string{"help@city.gov", "@DenverOEM", "#COwx", "+1 303-555-0100"} {
			if !strings.Contains(out, keep) {
				t.Errorf("%s: %q lost %q", name, out, keep)
			}
			out = strings.ReplaceAll(out, keep, "")
		}
		if markRE.MatchString(out) {
			t.Errorf("%s: an unknown-word mark reaches the reader: %q", name, out)
		}
		if prov != "machine:apertium:eng-spa" {
			t.Errorf("%s: provenance %q", name, prov)
		}
	}
}

func TestTranslateFrenchToSpanish(t *testing.T) {
	for name, tr := range translators(t) {
		out, prov, err := Translate(ctxTimeout(t, time.Minute), tr,
			"Les pompiers ferment la rue Sainte-Catherine à cause d'une fuite de gaz.", "fr", "es", []string{"Sainte-Catherine"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %q", name, out)
		if !strings.Contains(out, "Sainte-Catherine") || !strings.Contains(out, "bomberos") {
			t.Errorf("%s: %q", name, out)
		}
		if prov != "machine:apertium:fra-spa" {
			t.Errorf("%s: provenance %q", name, prov)
		}
	}
}

func TestTranslateKeepsLinesAndMarkup(t *testing.T) {
	text := "Evacuate now.\n\nThe water is rising near ICE & the <school>.\n"
	for name, tr := range translators(t) {
		out, _, err := Translate(ctxTimeout(t, time.Minute), tr, text, "en", "es", []string{"ICE"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %q", name, out)
		if !strings.HasSuffix(out, ".\n") || strings.Count(out, "\n") != 3 || !strings.HasPrefix(out, "Evacua") || !strings.Contains(out, "ICE &") || !strings.Contains(out, "<") {
			t.Errorf("%s: %q", name, out)
		}
	}
}

func TestPairs(t *testing.T) {
	for name, tr := range translators(t) {
		pairs, err := tr.Pairs(ctxTimeout(t, time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %+v", name, pairs)
		for _, want := range [][3]string{{"en", "es", "eng-spa"}, {"es", "en", "spa-eng"}, {"fr", "es", "fra-spa"}, {"es", "fr", "spa-fra"}} {
			if !slices.ContainsFunc(pairs, func(p Pair) bool { return p.From == want[0] && p.To == want[1] && p.Name == want[2] }) {
				t.Errorf("%s: no pair %v in %+v", name, want, pairs)
			}
		}
		for _, p := range pairs {
			if _, ok := FindLocale(p.From); !ok {
				t.Errorf("%s: pair from unsupported %q", name, p.From)
			}
		}
	}
}

func TestProvenanceNames(t *testing.T) {
	for _, tc := range [][3]string{{"en", "es", "machine:apertium:eng-spa"}, {"fr", "es", "machine:apertium:fra-spa"}, {"es", "en", "machine:apertium:spa-eng"}} {
		if got := MachineProvenance(tc[0], tc[1]); got != tc[2] {
			t.Errorf("MachineProvenance(%s, %s) = %q", tc[0], tc[1], got)
		}
	}
	if got := Provenance("flash_flood", 3); got != "template:flash_flood@3" {
		t.Errorf("Provenance = %q", got)
	}
}

func TestAPyConcurrent(t *testing.T) {
	apy := testAPy(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			term := fmt.Sprintf("Unit %d", i)
			out, _, err := Translate(context.Background(), apy, "Send "+term+" to the fire near Cherry Creek.", "en", "es", []string{term, "Cherry Creek"})
			if err == nil && (!strings.Contains(out, term) || !strings.Contains(out, "Cherry Creek")) {
				err = fmt.Errorf("%q lost a term", out)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestAPyListensOnLoopbackOnly proves that the apertium-apy StartAPy runs
// accepts connections on 127.0.0.1 and nowhere else: every listening socket
// on its port is bound to 127.0.0.1, and the machine's other addresses refuse.
func TestAPyListensOnLoopbackOnly(t *testing.T) {
	apy := testAPy(t)
	_, portStr, err := net.SplitHostPort(strings.TrimPrefix(apy.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portStr)
	var listening []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" { // 0A is LISTEN
				continue
			}
			addr, p, _ := strings.Cut(f[1], ":")
			if n, _ := strconv.ParseUint(p, 16, 16); int(n) == port {
				listening = append(listening, file+" "+addr)
			}
		}
	}
	if len(listening) == 0 {
		t.Fatalf("nothing listens on port %d", port)
	}
	for _, l := range listening {
		if l != "/proc/net/tcp 0100007F" {
			t.Errorf("apertium-apy listens on %s (hex address), not only 127.0.0.1", l)
		}
	}
	addrs, _ := net.InterfaceAddrs()
	tried := 0
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		tried++
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ipn.IP.String(), portStr), 2*time.Second)
		if err == nil {
			c.Close()
			t.Errorf("apertium-apy accepts connections on %s", ipn.IP)
		}
	}
	t.Logf("listening sockets on port %d: %v; refused on %d other addresses", port, listening, tried)
}

func TestMTUnavailable(t *testing.T) {
	requireApertium(t)
	isUnavailable := func(t *testing.T, what string, err error) {
		t.Helper()
		if tocsin.ErrorCode(err) != tocsin.EUNAVAILABLE {
			t.Errorf("%s: %v, want EUNAVAILABLE", what, err)
		}
	}
	ctx := ctxTimeout(t, time.Minute)

	_, _, err := Translate(ctx, &CLI{Path: "/nonexistent/apertium"}, iceText, "en", "es", nil)
	isUnavailable(t, "missing program", err)
	if !strings.Contains(tocsin.ErrorMessage(err), "not installed") {
		t.Errorf("message %q", tocsin.ErrorMessage(err))
	}
	_, _, err = Translate(ctx, nil, iceText, "en", "es", nil)
	isUnavailable(t, "no translator", err)
	_, _, err = Translate(ctx, requireApertium(t), iceText, "en", "de", nil)
	isUnavailable(t, "CLI without the pair", err)
	_, _, err = Translate(ctx, testAPy(t), iceText, "en", "de", nil)
	isUnavailable(t, "APy without the pair", err)
	_, err = StartAPy(ctx, APyConfig{Program: "/nonexistent/apertium-apy"})
	isUnavailable(t, "StartAPy without apertium-apy", err)

	// Nothing listens: refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	_, _, err = Translate(ctx, &APy{URL: closed}, iceText, "en", "es", nil)
	isUnavailable(t, "APy not running", err)

	// A server that never answers: the deadline ends the wait.
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leaving
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = Translate(short, &APy{URL: hang.URL}, iceText, "en", "es", nil)
	isUnavailable(t, "APy hangs", err)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a hanging server held Translate for %v", d)
	}

	// The real apertium, given no time: it is killed, not waited for.
	start = time.Now()
	tiny, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	cli := requireApertium(t)
	if _, err := cli.Pairs(ctx); err != nil { // list pairs first, so the timeout hits the translation
		t.Fatal(err)
	}
	_, _, err = Translate(tiny, cli, strings.Repeat(iceText+" ", 150), "en", "es", nil)
	isUnavailable(t, "CLI timeout", err)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a timed-out apertium held Translate for %v", d)
	}
}

func TestTranslateRejects(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ text, from, to, field string }{
		{iceText, "nl", "es", "language"},
		{iceText, "en", "xx", "translate_to"},
		{iceText, "es", "es", "translate_to"},
		{strings.Repeat("a", tocsin.MaxAlertText+1), "en", "es", "text"},
		{"\xff", "en", "es", "text"},
	} {
		_, _, err := Translate(ctx, nil, tc.text, tc.from, tc.to, nil)
		if f := tocsin.ErrorFields(err); tocsin.ErrorCode(err) != tocsin.EINVALID || len(f) != 1 || f[0].Field != tc.field {
			t.Errorf("Translate(%.20q, %s, %s): %v", tc.text, tc.from, tc.to, err)
		}
	}
	out, prov, err := Translate(ctx, nil, "  ", "en", "es", nil)
	if err != nil || out != "  " || prov != "machine:apertium:eng-spa" {
		t.Errorf("blank text: %q %q %v", out, prov, err)
	}
}

// errTranslator is a Translator that loses placeholders, as a broken engine
// could; Translate must refuse its output rather than publish a text
// without the protected term.
type lossyTranslator struct{ Translator }

func (l lossyTranslator) Translate(ctx context.Context, text, from, to string) (string, error) {
	out, err := l.Translator.Translate(ctx, text, from, to)
	return placeholderTagRE.ReplaceAllString(out, ""), err
}

func TestTranslateRefusesLostTerms(t *testing.T) {
	_, _, err := Translate(ctxTimeout(t, time.Minute), lossyTranslator{testAPy(t)}, iceText, "en", "es", []string{"ICE"})
	if tocsin.ErrorCode(err) != tocsin.EUNAVAILABLE || !strings.Contains(tocsin.ErrorMessage(err), "protected term") {
		t.Fatalf("got %v", err)
	}
	var e *tocsin.Error
	if !errors.As(err, &e) {
		t.Fatal("not a *tocsin.Error")
	}
}

func TestTranslateInfo(t *testing.T) {
	r, err := Render("evacuation_order", map[string]string{"area": "Cherry Creek", "contact": "+1 303-555-0100"}, RenderOptions{Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	src := r.Info()
	src.Provenance = "human"
	for name, tr := range translators(t) {
		got, err := TranslateInfo(ctxTimeout(t, time.Minute), tr, src, "es", []string{"Cherry Creek"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %q | %q | %q | %q", name, got.Event, got.Headline, got.Description, got.Instruction)
		if got.Language != "es" || got.Provenance != "machine:apertium:eng-spa" || got.Severity != src.Severity || got.Urgency != src.Urgency {
			t.Errorf("%s: %+v", name, got)
		}
		for field, s := range map[string]string{"event": got.Event, "headline": got.Headline, "description": got.Description, "instruction": got.Instruction} {
			if strings.TrimSpace(s) == "" || strings.Contains(s, "tocsin-field") || strings.Contains(s, "<x") {
				t.Errorf("%s: %s = %q", name, field, s)
			}
		}
		if !strings.Contains(got.Headline, "Cherry Creek") || !strings.Contains(got.Instruction, "+1 303-555-0100") {
			t.Errorf("%s: a protected value was lost: %+v", name, got)
		}
		if got.Headline == src.Headline {
			t.Errorf("%s: the headline was not translated", name)
		}
	}
	// A broken engine that drops the boundaries between fields is refused.
	_, err = TranslateInfo(ctxTimeout(t, time.Minute), sepEater{testAPy(t)}, src, "es", nil)
	if tocsin.ErrorCode(err) != tocsin.EUNAVAILABLE {
		t.Errorf("lost field boundaries: %v", err)
	}
	_, err = TranslateInfo(context.Background(), nil, tocsin.Info{Language: "en", Headline: strings.Repeat("x", tocsin.MaxAlertText+1)}, "es", nil)
	if f := tocsin.ErrorFields(err); len(f) != 1 || f[0].Field != "infos.headline" {
		t.Errorf("too long: %v", err)
	}
}

type sepEater struct{ Translator }

func (s sepEater) Translate(ctx context.Context, text, from, to string) (string, error) {
	out, err := s.Translator.Translate(ctx, text, from, to)
	return fieldSepRE.ReplaceAllString(out, " "), err
}
