package relay_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/relay"
)

// wait is one call of Poller.After: the poller finished a poll and waits d.
type wait struct {
	d    time.Duration
	fire chan time.Time
}

// fakeClock hands each wait of the poller to the test, which decides when
// it ends: no test waits on real time for the next poll.
type fakeClock struct{ waits chan wait }

func newFakeClock() *fakeClock { return &fakeClock{waits: make(chan wait, 16)} }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- wait{d, ch}
	return ch
}

// next returns the poller's next wait, failing after a deadline.
func (c *fakeClock) next(tb testing.TB) wait {
	tb.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(20 * time.Second):
		tb.Fatal("the poller did not finish a poll within 20s")
	}
	return wait{}
}

// importer records the messages the poller imports.
type importer struct {
	mu    sync.Mutex
	got   []string // "sender identifier feed"
	fail  map[string]error
	calls map[string]int
}

func newImporter() *importer { return &importer{fail: map[string]error{}, calls: map[string]int{}} }

func (im *importer) Import(ctx context.Context, a *tocsin.Alert, feed string) (*tocsin.CAPImport, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.calls[a.ID]++
	if err, ok := im.fail[a.ID]; ok {
		delete(im.fail, a.ID) // fails once
		return nil, err
	}
	im.got = append(im.got, a.Sender+" "+a.ID+" "+feed)
	return &tocsin.CAPImport{Alert: &tocsin.Alert{ID: "alr_" + a.ID, State: tocsin.AlertPublished}, UnmatchedReferences: []string{}}, nil
}

func (im *importer) imported() []string {
	im.mu.Lock()
	defer im.mu.Unlock()
	return append([]string(nil), im.got...)
}

// capDoc reads a CAP document from the cap package's test data.
func capDoc(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "cap", "testdata", "valid", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// feedServer serves feeds and CAP documents from a table the test may
// change, with ETags, and counts what it is asked.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string]string // path → body
	types    map[string]string
	status   map[string][]int // path → statuses to answer first, one per request
	header   map[string]http.Header
	requests map[string]int
	notMod   int
	inm      []string
}

func newFeedServer(t *testing.T) *feedServer {
	s := &feedServer{files: map[string]string{}, types: map[string]string{}, status: map[string][]int{}, header: map[string]http.Header{}, requests: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		if st := s.status[r.URL.Path]; len(st) > 0 {
			s.status[r.URL.Path] = st[1:]
			for k, v := range s.header[r.URL.Path] {
				w.Header()[k] = v
			}
			s.mu.Unlock()
			w.WriteHeader(st[0])
			return
		}
		body, ok := s.files[r.URL.Path]
		ct := s.types[r.URL.Path]
		etag := fmt.Sprintf(`"%x"`, len(body)*31+strings.Count(body, "<entry")+strings.Count(body, "<item"))
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			s.inm = append(s.inm, inm)
			if inm == etag {
				s.notMod++
				s.mu.Unlock()
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", ct)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *feedServer) set(path, contentType, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path], s.types[path] = body, contentType
}

func (s *feedServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// atom returns an Atom feed of entries, newest first.
func atom(entries ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:test:feed</id><title>Partner alerts</title><updated>2025-01-20T11:15:00Z</updated>
` + strings.Join(entries, "\n") + `
</feed>`
}

// linked is an Atom entry linking to a CAP document.
func linked(id, updated, href string) string {
	return fmt.Sprintf(`  <entry><id>%s</id><title>alert</title><updated>%s</updated>
    <link rel="alternate" type="text/html" href="/page/%s"/>
    <link rel="related" type="application/cap+xml" href="%s"/>
  </entry>`, id, updated, id, href)
}

// inline is an Atom entry carrying its CAP document.
func inline(id, updated, doc string) string {
	doc = strings.TrimPrefix(doc, `<?xml version="1.0" encoding="UTF-8"?>`)
	return fmt.Sprintf(`  <entry><id>%s</id><title>alert</title><updated>%s</updated>
    <content type="application/cap+xml">%s</content>
  </entry>`, id, updated, doc)
}

// startPoller starts a poller on feeds with a fake clock.
func startPoller(t *testing.T, im *importer, client *http.Client, feeds ...string) (*relay.Poller, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	p := &relay.Poller{Feeds: feeds, Import: im.Import, Client: client, Interval: time.Minute, MaxBackoff: 10 * time.Minute,
		After: clk.After, Rand: func() float64 { return 0.5 }, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, clk
}

func TestPoller_ConditionalGETAndDeduplication(t *testing.T) {
	fs := newFeedServer(t)
	fs.set("/cap/update.xml", "application/cap+xml", capDoc(t, "bilingual-update.xml"))
	fs.set("/cap/person.xml", "application/cap+xml", capDoc(t, "missing-person.xml"))
	fs.set("/feed.atom", "application/atom+xml", atom(
		linked("urn:e:2", "2025-01-20T11:15:00Z", fs.URL+"/cap/update.xml"),
		linked("urn:e:2", "2025-01-20T11:15:00Z", fs.URL+"/cap/update.xml"), // the same entry twice
		linked("urn:e:3", "2025-01-20T11:16:00Z", "/cap/update.xml"),        // the same message under another entry
		inline("urn:e:1", "2025-01-20T10:00:00Z", capDoc(t, "ipaws-thunderstorm.xml")),
	))
	im := newImporter()
	_, clk := startPoller(t, im, nil, fs.URL+"/feed.atom")

	w := clk.next(t)
	if w.d != time.Minute {
		t.Errorf("wait after a good poll = %s; want the interval, 1m", w.d)
	}
	got := im.imported()
	want := []string{
		"w-nws.webmaster@noaa.gov urn:oid:2.49.0.1.840.0.4f0c6e2fa1b8c8d1a4d5e3e6c8f3b2a1d0e9f8a7.001.1 " + fs.URL + "/feed.atom", // oldest first
		"cap-pac@canada.ca 2.49.0.1.124.a1b2c3d4.2025 " + fs.URL + "/feed.atom",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("imported:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Unchanged: a 304, and no document fetched again.
	docs := fs.count("/cap/update.xml")
	w.fire <- time.Now()
	clk.next(t)
	fs.mu.Lock()
	notMod, inm := fs.notMod, fs.inm
	fs.mu.Unlock()
	if notMod != 1 || len(inm) != 1 {
		t.Errorf("second poll: %d not-modified answers, If-None-Match %v; want a conditional GET answered 304", notMod, inm)
	}
	if fs.count("/cap/update.xml") != docs || len(im.imported()) != 2 {
		t.Error("an unchanged feed's documents were fetched or imported again")
	}
}

func TestPoller_NewEntryOnly(t *testing.T) {
	fs := newFeedServer(t)
	fs.set("/cap/update.xml", "application/cap+xml", capDoc(t, "bilingual-update.xml"))
	fs.set("/cap/person.xml", "application/cap+xml", capDoc(t, "missing-person.xml"))
	fs.set("/feed.atom", "application/atom+xml", atom(linked("urn:e:2", "2025-01-20T11:15:00Z", fs.URL+"/cap/update.xml")))
	im := newImporter()
	_, clk := startPoller(t, im, nil, fs.URL+"/feed.atom")
	w := clk.next(t)
	fs.set("/feed.atom", "application/atom+xml", atom(
		linked("urn:e:4", "2025-01-20T12:00:00Z", fs.URL+"/cap/person.xml"),
		linked("urn:e:2", "2025-01-20T11:15:00Z", fs.URL+"/cap/update.xml"),
	))
	w.fire <- time.Now()
	clk.next(t)
	if fs.count("/cap/update.xml") != 1 || fs.count("/cap/person.xml") != 1 {
		t.Errorf("documents fetched: update %d, person %d; want each once", fs.count("/cap/update.xml"), fs.count("/cap/person.xml"))
	}
	if got := im.imported(); len(got) != 2 || !strings.Contains(got[0], "cap-pac@canada.ca") || strings.Contains(got[1], "cap-pac@canada.ca") {
		t.Errorf("imported %v; want the update, then the new missing-person alert", got)
	}
}

func TestPoller_RSS(t *testing.T) {
	fs := newFeedServer(t)
	fs.set("/docs/person.xml", "application/cap+xml", capDoc(t, "missing-person.xml"))
	fs.set("/docs/min.xml", "application/xml", capDoc(t, "minimal-end-of-day.xml"))
	fs.set("/rss.xml", "application/rss+xml", `<?xml version="1.0"?>
<rss version="2.0"><channel><title>Partner</title><link>https://example.org/</link><description>alerts</description>
  <item><title>Missing person</title><guid>p-1</guid><pubDate>Mon, 20 Jan 2025 11:00:00 GMT</pubDate>
    <link>https://example.org/page/p-1</link><enclosure url="docs/person.xml" type="application/cap+xml" length="1000"/></item>
  <item><title>End of day</title><link>docs/min.xml</link></item>
</channel></rss>`)
	im := newImporter()
	_, clk := startPoller(t, im, nil, fs.URL+"/rss.xml")
	clk.next(t)
	if got := im.imported(); len(got) != 2 {
		t.Fatalf("imported %v; want both items (an enclosure, and a link resolved against the feed)", got)
	}
}

func TestPoller_BackoffAndRetryAfter(t *testing.T) {
	fs := newFeedServer(t)
	fs.set("/feed.atom", "application/atom+xml", atom())
	fs.status["/feed.atom"] = []int{500, 502, 500, 500, 500, 503}
	fs.header["/feed.atom"] = http.Header{"Retry-After": {"120"}}
	im := newImporter()
	_, clk := startPoller(t, im, nil, fs.URL+"/feed.atom")
	// Interval·2ⁿ capped at MaxBackoff (10m), spread over its upper half
	// (Rand 0.5 takes three quarters); a 503's Retry-After wins.
	for i, want := range []time.Duration{90 * time.Second, 3 * time.Minute, 6 * time.Minute, 7*time.Minute + 30*time.Second, 7*time.Minute + 30*time.Second, 2 * time.Minute, time.Minute} {
		w := clk.next(t)
		if w.d != want {
			t.Errorf("wait %d = %s; want %s", i+1, w.d, want)
		}
		w.fire <- time.Now()
	}
}

func TestPoller_TimeoutDoesNotHoldOtherFeeds(t *testing.T) {
	fs := newFeedServer(t)
	fs.set("/cap/person.xml", "application/cap+xml", capDoc(t, "missing-person.xml"))
	fs.set("/good.atom", "application/atom+xml", atom(linked("urn:p", "2025-01-20T11:00:00Z", fs.URL+"/cap/person.xml")))
	stuck := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stuck:
		}
	}))
	defer slow.Close()
	defer close(stuck)
	im := newImporter()
	_, clk := startPoller(t, im, &http.Client{Timeout: 300 * time.Millisecond}, slow.URL+"/slow.atom", fs.URL+"/good.atom")
	// Both polls end: the good one at once, the slow one at its timeout,
	// which backs off.
	first, second := clk.next(t).d, clk.next(t).d
	if first != time.Minute || second <= time.Minute {
		t.Errorf("waits %s then %s; want the good feed's 1m first, then the timed-out feed backing off beyond it", first, second)
	}
	if got := im.imported(); len(got) != 1 {
		t.Errorf("imported %v; want the good feed's alert", got)
	}
}

func TestPoller_ErrorsPermanentAndTransient(t *testing.T) {
	fs := newFeedServer(t)
	fs.set("/cap/update.xml", "application/cap+xml", capDoc(t, "bilingual-update.xml"))
	fs.set("/cap/person.xml", "application/cap+xml", capDoc(t, "missing-person.xml"))
	fs.set("/cap/broken.xml", "application/cap+xml", "<alert>not CAP</alert>")
	fs.set("/feed.atom", "application/atom+xml", atom(
		linked("urn:gone", "2025-01-20T11:00:00Z", fs.URL+"/cap/missing.xml"), // 404: never tried again
		linked("urn:broken", "2025-01-20T11:00:00Z", fs.URL+"/cap/broken.xml"),
		linked("urn:person", "2025-01-20T11:00:00Z", fs.URL+"/cap/person.xml"),
		linked("urn:update", "2025-01-20T11:00:00Z", fs.URL+"/cap/update.xml"),
	))
	im := newImporter()
	person := "" // the identifier in missing-person.xml
	for _, l := range strings.Split(capDoc(t, "missing-person.xml"), "\n") {
		if strings.Contains(l, "<identifier>") {
			person = strings.TrimSpace(strings.NewReplacer("<identifier>", "", "</identifier>", "").Replace(l))
		}
	}
	im.fail["2.49.0.1.124.a1b2c3d4.2025"] = tocsin.Errorf(tocsin.EINVALID, "refused for good")
	im.fail[person] = fmt.Errorf("database is locked") // worth another try
	_, clk := startPoller(t, im, nil, fs.URL+"/feed.atom")
	w := clk.next(t)
	if w.d == time.Minute {
		t.Error("a poll with an entry to retry did not back off")
	}
	w.fire <- time.Now()
	clk.next(t)
	im.mu.Lock()
	calls := map[string]int{"update": im.calls["2.49.0.1.124.a1b2c3d4.2025"], "person": im.calls[person]}
	im.mu.Unlock()
	if calls["update"] != 1 || calls["person"] != 2 {
		t.Errorf("import calls %v; want the refused update once and the failed person twice", calls)
	}
	if fs.count("/cap/missing.xml") != 1 || fs.count("/cap/broken.xml") != 1 {
		t.Errorf("refused documents fetched %d and %d times; want once each", fs.count("/cap/missing.xml"), fs.count("/cap/broken.xml"))
	}
	fs.mu.Lock()
	inm := len(fs.inm)
	fs.mu.Unlock()
	if inm != 0 {
		t.Error("the poll after a failed entry was conditional; the entry would never be retried")
	}
}

func TestPoller_HostileFeed(t *testing.T) {
	fs := newFeedServer(t)
	fs.set("/secret", "text/plain", "secret")
	fs.set("/feed.atom", "application/atom+xml", `<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "`+fs.URL+`/secret"><!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><entry><id>&xxe;&b;</id><link type="application/cap+xml" href="/cap/&b;"/></entry></feed>`)
	im := newImporter()
	_, clk := startPoller(t, im, nil, fs.URL+"/feed.atom")
	if w := clk.next(t); w.d == time.Minute {
		t.Error("a feed with entities was taken")
	}
	if fs.count("/secret") != 0 || len(im.imported()) != 0 {
		t.Error("an external entity was fetched or an alert imported")
	}
}

func TestPoller_StartChecksFeeds(t *testing.T) {
	for _, bad := range []string{"ftp://example.org/feed", "not a url", "https://user:pw@example.org/feed", "/relative"} {
		p := &relay.Poller{Feeds: []string{bad}, Import: newImporter().Import, Client: http.DefaultClient}
		if err := p.Start(context.Background()); err == nil {
			p.Close()
			t.Errorf("Start with feed %q succeeded", bad)
		}
	}
}
