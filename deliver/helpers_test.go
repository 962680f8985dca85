package deliver

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// clock is a clock that moves only when told. It starts at the real time,
// so that Standard Webhooks' timestamp tolerance accepts its signatures.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// waitFor waits for cond with a deadline; it polls because the conditions
// are changes made by other goroutines in a store or a receiver.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// received is one request as a receiver saw it.
type received struct {
	ID, Timestamp, Signature, ContentType, UserAgent string
	Body                                             []byte
	Header                                           http.Header
	At                                               time.Time
}

// receiver is a real HTTP server on a loopback port that records what it
// gets and answers with respond (default 204).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	reqs     []received
	respond  func(w http.ResponseWriter, r *http.Request, n int) // n counts from 1
	inflight atomic.Int64
	maxSeen  atomic.Int64
}

func newReceiver(tb testing.TB, respond func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	tb.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	tb.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	n := rc.inflight.Add(1)
	defer rc.inflight.Add(-1)
	for {
		m := rc.maxSeen.Load()
		if n <= m || rc.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{
		ID:          r.Header.Get("webhook-id"),
		Timestamp:   r.Header.Get("webhook-timestamp"),
		Signature:   r.Header.Get("webhook-signature"),
		ContentType: r.Header.Get("Content-Type"),
		UserAgent:   r.Header.Get("User-Agent"),
		Body:        body,
		Header:      r.Header.Clone(),
		At:          time.Now(),
	})
	count := len(rc.reqs)
	rc.mu.Unlock()
	if rc.respond == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rc.respond(w, r, count)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func status(code int) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(code) }
}

// Places used by the tests: a town and one far from it.
var (
	here  = geo.Circle{Lat: 52.52, Lon: 13.40, RadiusKM: 5}
	there = geo.Circle{Lat: 48.14, Lon: 11.58, RadiusKM: 5}
)

func area(c geo.Circle) geo.Shape { return geo.Shape{Circle: &c} }

// newAlert returns a published-shaped alert over c in English and Spanish.
func newAlert(c geo.Circle) *tocsin.Alert {
	return &tocsin.Alert{
		Sender: "test@tocsin", Sent: time.Now(), Status: "Actual", MsgType: "Alert", Scope: "Public",
		Infos: []tocsin.Info{
			{Language: "en", Category: tocsin.CategoryList{"Fire"}, Event: "Fire", Urgency: "Immediate",
				Severity: "Severe", Certainty: "Observed", Headline: "Wildfire near the park", Provenance: "human"},
			{Language: "es", Category: tocsin.CategoryList{"Fire"}, Event: "Incendio", Urgency: "Immediate",
				Severity: "Severe", Certainty: "Observed", Headline: "Incendio cerca del parque", Provenance: "human"},
		},
		Areas: []tocsin.Area{{Description: "Park", Circle: &c}},
	}
}

// subscribe creates a webhook subscription to url over c in the store and
// the matcher.
func subscribe(tb testing.TB, st *store, m *Matcher, url string, c geo.Circle, langs ...string) *tocsin.Subscription {
	tb.Helper()
	sub := &tocsin.Subscription{
		Area:      area(c),
		Languages: langs,
		Channel:   tocsin.Channel{Type: tocsin.ChannelWebhook, URL: url},
	}
	if _, err := st.CreateSubscription(tb.Context(), sub); err != nil {
		tb.Fatal(err)
	}
	if m != nil {
		if err := m.Add(sub); err != nil {
			tb.Fatal(err)
		}
	}
	return sub
}

// testLogger writes to the test log at debug level.
func testLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// newDispatcher returns a Dispatcher on st and clk with loopback allowed,
// jitter fixed at half the ceiling, no polling, and a 2s send timeout;
// change fields before start.
func newDispatcher(tb testing.TB, st *store, clk *clock) (*Dispatcher, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	d := &Dispatcher{
		Outbox:        st,
		Alerts:        st,
		Subscriptions: st,
		Matcher:       NewMatcher(),
		Senders: map[tocsin.ChannelType]Sender{
			tocsin.ChannelWebhook: &WebhookSender{Client: NewHTTPClient(true, 2*time.Second)},
		},
		Now:          clk.Now,
		Logger:       testLogger(tb),
		Metrics:      NewMetrics(reg),
		Backoff:      Backoff{Rand: func() float64 { return 0.5 }},
		Timeout:      2 * time.Second,
		PollInterval: time.Hour,
	}
	return d, reg
}

// start starts d and closes it at the end of the test, then checks that
// the store saw no broken contract.
func start(tb testing.TB, d *Dispatcher, st *store) {
	tb.Helper()
	if err := d.Start(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Error(err)
		}
		for _, err := range st.violations() {
			tb.Error(err)
		}
	})
}

// done reports whether event seq's fan-out is complete.
func (s *store) done(seq int64) func() bool {
	return func() bool { return s.event(seq).Done }
}

// newHeldReceiver returns a receiver that holds every request until release
// is called (then answers code) or the client hangs up. Release is also
// called at cleanup, so that a failed test cannot hang closing the server.
func newHeldReceiver(tb testing.TB, code int) (rc *receiver, release func()) {
	tb.Helper()
	ch := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	rc = newReceiver(tb, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-ch:
			w.WriteHeader(code)
		case <-r.Context().Done():
		}
	})
	tb.Cleanup(release)
	return rc, release
}
