package deliver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

const wait = 10 * time.Second // deadline for conditions that should hold in milliseconds

func counter(d *Dispatcher, ch tocsin.ChannelType, outcome string) float64 {
	var m dto.Metric
	if err := d.Metrics.deliveries.WithLabelValues(string(ch), outcome).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// TestFanOutSignedAndLocalized: each subscriber gets one signed request,
// rendered in its language, with the stable delivery id.
func TestFanOutSignedAndLocalized(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, reg := newDispatcher(t, st, clk)
	rc := newReceiver(t, nil)
	subs := []*tocsin.Subscription{
		subscribe(t, st, d.Matcher, rc.URL+"/a", here, "es-MX", "en"),
		subscribe(t, st, d.Matcher, rc.URL+"/b", here, "fr"), // no French: the first info
		subscribe(t, st, d.Matcher, rc.URL+"/c", here, "de", "en"),
		subscribe(t, st, d.Matcher, rc.URL+"/d", there, "en"), // elsewhere
	}
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "event done", st.done(ev.Seq))

	got := rc.requests()
	if len(got) != 3 {
		t.Fatalf("got %d requests, want 3", len(got))
	}
	wantLang := map[string]string{
		tocsin.DeliveryID(ev.Seq, subs[0].Seq): "es",
		tocsin.DeliveryID(ev.Seq, subs[1].Seq): "en",
		tocsin.DeliveryID(ev.Seq, subs[2].Seq): "en",
	}
	secrets := map[string]string{}
	for _, s := range subs {
		secrets[tocsin.DeliveryID(ev.Seq, s.Seq)] = s.Secret
	}
	for _, r := range got {
		lang, ok := wantLang[r.ID]
		if !ok {
			t.Errorf("unexpected webhook-id %q", r.ID)
			continue
		}
		delete(wantLang, r.ID)
		wh, _ := standardwebhooks.NewWebhook(secrets[r.ID])
		if err := wh.Verify(r.Body, r.Header); err != nil {
			t.Errorf("%s: signature: %v", r.ID, err)
		}
		var m tocsin.Message
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type != tocsin.EventAlertPublished || m.Alert.Language != lang || len(m.Alert.Infos) != 1 || m.Alert.Infos[0].Language != lang {
			t.Errorf("%s: type %s, language %q with %d infos; want %s", r.ID, m.Type, m.Alert.Language, len(m.Alert.Infos), lang)
		}
	}
	if got := st.allDeliveries(); len(got) != 0 {
		t.Errorf("successful deliveries stored: %+v", got)
	}
	if calls := st.checkpointCalls(); len(calls) != 1 || calls[0].upTo != subs[2].Seq {
		t.Errorf("checkpoints %+v, want one up to %d", calls, subs[2].Seq)
	}
	if n := counter(d, tocsin.ChannelWebhook, OutcomeDelivered); n != 3 {
		t.Errorf("delivered counter = %v", n)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		seen[f.GetName()] = true
		switch f.GetName() {
		case "tocsin_publish_to_delivery_seconds":
			for _, m := range f.GetMetric() {
				if m.GetLabel()[0].GetValue() == "webhook" && m.GetHistogram().GetSampleCount() != 3 {
					t.Errorf("latency samples %d, want 3", m.GetHistogram().GetSampleCount())
				}
			}
		case "tocsin_fanout_inflight":
			if v := f.GetMetric()[0].GetGauge().GetValue(); v != 0 {
				t.Errorf("inflight %v after the fan-out", v)
			}
		}
	}
	for _, name := range []string{"tocsin_deliveries_total", "tocsin_publish_to_delivery_seconds", "tocsin_fanout_inflight"} {
		if !seen[name] {
			t.Errorf("metric %s not registered", name)
		}
	}
}

// TestRetryThenDelivered: a 500 is retried when due, with the same
// webhook-id, and then delivered.
func TestRetryThenDelivered(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	sub := subscribe(t, st, d.Matcher, rc.URL, here)
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "event done", st.done(ev.Seq))

	id := tocsin.DeliveryID(ev.Seq, sub.Seq)
	del, ok := st.delivery(id)
	if !ok || del.State != tocsin.DeliveryRetrying || del.Attempts != 1 || !strings.Contains(del.LastError, "500") {
		t.Fatalf("after the 500: %+v", del)
	}
	// Jitter is fixed at half of the first ceiling (2s).
	if want := clk.Now().Add(time.Second); !del.NextAttemptAt.Equal(want) {
		t.Errorf("NextAttemptAt = %s, want %s", del.NextAttemptAt, want)
	}
	// Not due yet: a tick sends nothing.
	d.Tick()
	clk.Advance(999 * time.Millisecond)
	d.Tick()
	clk.Advance(time.Millisecond)
	d.Tick()
	waitFor(t, wait, "delivered", func() bool {
		del, _ := st.delivery(id)
		return del.State == tocsin.DeliveryDelivered
	})
	del, _ = st.delivery(id)
	if del.Attempts != 2 || del.LastError != "" || !del.NextAttemptAt.IsZero() {
		t.Errorf("after delivery: %+v", del)
	}
	got := rc.requests()
	if len(got) != 2 || got[0].ID != id || got[1].ID != id {
		t.Fatalf("requests %d, ids %v; want 2 with id %s", len(got), []string{got[0].ID}, id)
	}
	if string(got[0].Body) != string(got[1].Body) {
		t.Error("retry body differs from the first")
	}
	wh, _ := standardwebhooks.NewWebhook(sub.Secret)
	for i, r := range got {
		if err := wh.Verify(r.Body, r.Header); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if r, dl := counter(d, tocsin.ChannelWebhook, OutcomeRetry), counter(d, tocsin.ChannelWebhook, OutcomeDelivered); r != 1 || dl != 1 {
		t.Errorf("counters retry %v delivered %v, want 1 and 1", r, dl)
	}
}

// TestGoneDisables: a 410 disables the subscription, stores the delivery as
// gone, and nothing more is sent to it.
func TestGoneDisables(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	rc := newReceiver(t, status(http.StatusGone))
	ok := newReceiver(t, nil)
	sub := subscribe(t, st, d.Matcher, rc.URL, here)
	subscribe(t, st, d.Matcher, ok.URL, here)
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "event done", st.done(ev.Seq))

	if reason, ok := st.disabledReason(sub.ID); !ok || !strings.Contains(reason, "410") {
		t.Errorf("subscription not disabled (reason %q)", reason)
	}
	del, _ := st.delivery(tocsin.DeliveryID(ev.Seq, sub.Seq))
	if del.State != tocsin.DeliveryGone || del.Attempts != 1 {
		t.Errorf("delivery %+v, want gone", del)
	}
	if d.Matcher.Len() != 1 {
		t.Errorf("Matcher still holds %d subscriptions", d.Matcher.Len())
	}
	ev2 := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "second event done", st.done(ev2.Seq))
	clk.Advance(2 * time.Hour)
	d.Tick()
	waitFor(t, wait, "healthy receiver got both", func() bool { return ok.count() == 2 })
	if n := rc.count(); n != 1 {
		t.Errorf("gone endpoint got %d requests, want 1", n)
	}
	if n := counter(d, tocsin.ChannelWebhook, OutcomeGone); n != 1 {
		t.Errorf("gone counter %v", n)
	}
}

// TestRetryAfter: a 429 with Retry-After: 7 is retried exactly 7s later.
func TestRetryAfter(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	sub := subscribe(t, st, d.Matcher, rc.URL, here)
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "event done", st.done(ev.Seq))
	id := tocsin.DeliveryID(ev.Seq, sub.Seq)
	del, _ := st.delivery(id)
	if want := clk.Now().Add(7 * time.Second); del.State != tocsin.DeliveryRetrying || !del.NextAttemptAt.Equal(want) {
		t.Fatalf("delivery %+v, want retrying at %s", del, want)
	}
	clk.Advance(7 * time.Second)
	d.Tick()
	waitFor(t, wait, "delivered", func() bool {
		del, _ := st.delivery(id)
		return del.State == tocsin.DeliveryDelivered
	})
}

// TestDeadLetter: after MaxAttempts failures the delivery is dead, with the
// last reason; a 4xx is dead at once.
func TestDeadLetter(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	d.Backoff.MaxAttempts = 3
	failing := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		http.Error(w, fmt.Sprintf("boom %d", n), http.StatusBadGateway)
	})
	rejecting := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		http.Error(w, "no such hook", http.StatusNotFound)
	})
	s1 := subscribe(t, st, d.Matcher, failing.URL, here)
	s2 := subscribe(t, st, d.Matcher, rejecting.URL, here)
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "event done", st.done(ev.Seq))

	del, _ := st.delivery(tocsin.DeliveryID(ev.Seq, s2.Seq))
	if del.State != tocsin.DeliveryDead || del.Attempts != 1 || !del.NextAttemptAt.IsZero() || !strings.Contains(del.LastError, `404 Not Found: "no such hook"`) {
		t.Errorf("404 delivery %+v, want dead at once with the reason", del)
	}
	id := tocsin.DeliveryID(ev.Seq, s1.Seq)
	for attempt := 2; attempt <= 3; attempt++ {
		clk.Advance(time.Hour)
		d.Tick()
		waitFor(t, wait, fmt.Sprintf("attempt %d", attempt), func() bool {
			del, _ := st.delivery(id)
			return del.Attempts == attempt
		})
	}
	del, _ = st.delivery(id)
	if del.State != tocsin.DeliveryDead || !strings.Contains(del.LastError, `502 Bad Gateway: "boom 3"`) {
		t.Errorf("delivery %+v, want dead with the last reason", del)
	}
	clk.Advance(24 * time.Hour)
	d.Tick()
	if due, _ := st.DueDeliveries(t.Context(), clk.Now(), 10); len(due) != 0 {
		t.Errorf("%d deliveries still due", len(due))
	}
	if n := failing.count(); n != 3 {
		t.Errorf("failing receiver got %d requests, want 3", n)
	}
	if n := counter(d, tocsin.ChannelWebhook, OutcomeDead); n != 2 {
		t.Errorf("dead counter %v, want 2", n)
	}
}

// TestSlowReceiversDoNotHoldBackOthers: one receiver never answers, one
// answers 500, one trickles its body; 200 healthy receivers all get the
// alert within a few seconds and before the silent one times out, and the
// trickler cannot stretch its send past the timeout.
func TestSlowReceiversDoNotHoldBackOthers(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	const timeout = 5 * time.Second
	d.Timeout = timeout
	d.Senders[tocsin.ChannelWebhook] = &WebhookSender{Client: NewHTTPClient(true, timeout)}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })

	var gaveUp atomic.Int64 // when the dispatcher hung up on the silent receiver
	silent := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		select {
		case <-r.Context().Done():
			gaveUp.Store(time.Now().UnixNano())
		case <-release:
		}
	})
	failing := newReceiver(t, status(http.StatusInternalServerError))
	trickler := newReceiver(t, trickle(http.StatusOK, release))
	slow := []*tocsin.Subscription{
		subscribe(t, st, d.Matcher, silent.URL, here),
		subscribe(t, st, d.Matcher, failing.URL, here),
		subscribe(t, st, d.Matcher, trickler.URL, here),
	}
	const healthy = 200
	var (
		mu       sync.Mutex
		received = make(map[string]time.Time)
	)
	for range healthy {
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			mu.Lock()
			received[r.Header.Get("webhook-id")] = time.Now()
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		})
		subscribe(t, st, d.Matcher, rc.URL, here)
	}
	start(t, d, st)

	published := time.Now()
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "event done", st.done(ev.Seq))
	took := time.Since(published)

	var lat []time.Duration
	var lastAt time.Time
	mu.Lock()
	for _, at := range received {
		lat = append(lat, at.Sub(published))
		if at.After(lastAt) {
			lastAt = at
		}
	}
	mu.Unlock()
	if len(lat) != healthy {
		t.Fatalf("%d of %d healthy receivers got the alert", len(lat), healthy)
	}
	slices.Sort(lat)
	last := lat[len(lat)-1]
	t.Logf("%d healthy receivers got the alert: first after %s, median %s, last %s; fan-out done after %s",
		healthy, lat[0], lat[len(lat)/2], last, took)
	if last > 4*time.Second {
		t.Errorf("the last healthy receiver got the alert after %s; want under 4s", last)
	}
	// The server notices the hang-up a little after the client makes it.
	waitFor(t, wait, "the silent receiver's hang-up", func() bool { return gaveUp.Load() != 0 })
	if g := gaveUp.Load(); !lastAt.Before(time.Unix(0, g)) {
		t.Errorf("healthy receivers were still being served when the silent one timed out")
	}
	if took > timeout+3*time.Second {
		t.Errorf("fan-out took %s with a %s timeout", took, timeout)
	}
	for _, s := range slow[:2] {
		del, ok := st.delivery(tocsin.DeliveryID(ev.Seq, s.Seq))
		if !ok || del.State != tocsin.DeliveryRetrying {
			t.Errorf("subscription %d: %+v, want retrying", s.Seq, del)
		}
	}
	if del, ok := st.delivery(tocsin.DeliveryID(ev.Seq, slow[2].Seq)); ok {
		t.Errorf("trickler answered 200 yet has a row: %+v", del)
	}
	if rows := len(st.allDeliveries()); rows != 2 {
		t.Errorf("%d rows, want 2", rows)
	}
}

// TestPerHostLimit: many subscribers on one host never see more than
// PerHost requests at once.
func TestPerHostLimit(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	d.PerHost = 3
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		time.Sleep(20 * time.Millisecond) // the receiver's work, so requests overlap
		w.WriteHeader(http.StatusOK)
	})
	for range 24 {
		subscribe(t, st, d.Matcher, rc.URL, here)
	}
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "event done", st.done(ev.Seq))
	if n := rc.count(); n != 24 {
		t.Errorf("got %d requests, want 24", n)
	}
	// Never above the limit; and near it, or the limit was never tested.
	if m := rc.maxSeen.Load(); m > 3 || m < 2 {
		t.Errorf("at most %d requests at once, want 3", m)
	}
}

// TestHostWaitHoldsNoWorker: sends queued behind a stuck host hold no global
// worker, so another host is served meanwhile.
func TestHostWaitHoldsNoWorker(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	d.Workers, d.PerHost = 2, 1
	stuck, release := newHeldReceiver(t, http.StatusOK)
	fast := newReceiver(t, nil)
	for i := range 10 {
		if i%2 == 0 {
			subscribe(t, st, d.Matcher, stuck.URL, here)
		} else {
			subscribe(t, st, d.Matcher, fast.URL, here)
		}
	}
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "the other host served while one is stuck", func() bool { return fast.count() == 5 && stuck.count() >= 1 })
	if n := stuck.count(); n != 1 {
		t.Errorf("stuck host got %d requests, want 1 (PerHost 1)", n)
	}
	release()
	waitFor(t, wait, "event done", st.done(ev.Seq))
	if n := stuck.count(); n != 5 {
		t.Errorf("stuck host got %d requests in the end, want 5", n)
	}
}

// TestCircuitBreakerFanOut: after five failures in a row the host's circuit
// opens and the rest fail fast without a request; after 30s one probe goes
// through, and once one succeeds everything is delivered.
func TestCircuitBreakerFanOut(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	d.PerHost = 1
	var healthy atomic.Bool
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		if healthy.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	for range 8 {
		subscribe(t, st, d.Matcher, rc.URL, here)
	}
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "event done", st.done(ev.Seq))
	if n := rc.count(); n != 5 {
		t.Fatalf("host got %d requests, want 5 before the circuit opened", n)
	}
	open := 0
	for _, del := range st.allDeliveries() {
		if del.State != tocsin.DeliveryRetrying {
			t.Errorf("%+v, want retrying", del)
		}
		if strings.Contains(del.LastError, "circuit open") {
			open++
			if del.NextAttemptAt.Before(clk.Now().Add(30 * time.Second)) {
				t.Errorf("%s retries at %s, before the circuit half-opens", del.ID, del.NextAttemptAt)
			}
		}
	}
	if open != 3 {
		t.Errorf("%d deliveries failed fast, want 3", open)
	}

	// 20s on, the circuit is still open: whatever is due fails fast.
	clk.Advance(20 * time.Second)
	d.Tick()
	waitFor(t, wait, "due deliveries retried", func() bool {
		due, _ := st.DueDeliveries(t.Context(), clk.Now(), 10)
		return len(due) == 0
	})
	if n := rc.count(); n != 5 {
		t.Fatalf("host got %d requests while the circuit was open", n)
	}
	// Half-open: one probe, which fails, so the circuit opens again.
	clk.Advance(15 * time.Second)
	d.Tick()
	waitFor(t, wait, "probe", func() bool { return rc.count() == 6 })
	waitFor(t, wait, "due deliveries retried", func() bool {
		due, _ := st.DueDeliveries(t.Context(), clk.Now(), 10)
		return len(due) == 0
	})
	if n := rc.count(); n != 6 {
		t.Fatalf("host got %d requests, want one probe", n)
	}
	// The host recovers: the next probe closes the circuit and the rest
	// follow as they fall due.
	healthy.Store(true)
	for round := 0; round < 20 && delivered(st) < 8; round++ {
		clk.Advance(time.Minute)
		d.Tick()
		waitFor(t, wait, "retries", func() bool {
			due, _ := st.DueDeliveries(t.Context(), clk.Now(), 10)
			return len(due) == 0
		})
	}
	if n := delivered(st); n != 8 {
		t.Errorf("%d of 8 delivered after recovery", n)
	}
}

func delivered(st *store) int {
	n := 0
	for _, del := range st.allDeliveries() {
		if del.State == tocsin.DeliveryDelivered {
			n++
		}
	}
	return n
}

// TestUpdateAndCancelReachOldArea: an update that moves the area, and a
// cancel without an area, reach the subscribers of the original area.
func TestUpdateAndCancelReachOldArea(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	oldRc, newRc, otherRc := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	subscribe(t, st, d.Matcher, oldRc.URL, here)
	subscribe(t, st, d.Matcher, newRc.URL, there)
	subscribe(t, st, d.Matcher, otherRc.URL, geo.Circle{Lat: -33.9, Lon: 151.2, RadiusKM: 10})
	start(t, d, st)

	orig := newAlert(here)
	e1 := st.publish(orig, tocsin.EventAlertPublished)
	upd := newAlert(there)
	upd.MsgType = "Update"
	upd.References = []string{orig.Sender + "," + orig.ID + "," + orig.Sent.Format(time.RFC3339)} // CAP's form
	e2 := st.publish(upd, tocsin.EventAlertUpdated)
	cancel := newAlert(here)
	cancel.MsgType, cancel.Areas = "Cancel", nil
	cancel.References = []string{orig.ID, "alr_unknown"}
	e3 := st.publish(cancel, tocsin.EventAlertCancelled)
	d.Notify()
	waitFor(t, wait, "events done", st.done(e3.Seq))

	types := func(rc *receiver) []tocsin.EventType {
		var out []tocsin.EventType
		for _, r := range rc.requests() {
			var m tocsin.Message
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m.Type)
		}
		slices.Sort(out)
		return out
	}
	if got, want := types(oldRc), []tocsin.EventType{"alert.cancelled", "alert.published", "alert.updated"}; !slices.Equal(got, want) {
		t.Errorf("old area got %v, want %v", got, want)
	}
	if got, want := types(newRc), []tocsin.EventType{"alert.updated"}; !slices.Equal(got, want) {
		t.Errorf("new area got %v, want %v", got, want)
	}
	if n := otherRc.count(); n != 0 {
		t.Errorf("unrelated area got %d", n)
	}
	_ = e1
	_ = e2
}

// TestCheckpointResume: an event already checkpointed up to N is resumed
// after N.
func TestCheckpointResume(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	rc := newReceiver(t, nil)
	for range 10 {
		subscribe(t, st, d.Matcher, rc.URL, here)
	}
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	if err := st.Checkpoint(t.Context(), ev.Seq, 6, nil); err != nil { // as if a crash followed
		t.Fatal(err)
	}
	start(t, d, st)
	waitFor(t, wait, "event done", st.done(ev.Seq)) // Start looks without a Notify
	var ids []string
	for _, r := range rc.requests() {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	want := []string{tocsin.DeliveryID(ev.Seq, 10), tocsin.DeliveryID(ev.Seq, 7), tocsin.DeliveryID(ev.Seq, 8), tocsin.DeliveryID(ev.Seq, 9)}
	if !slices.Equal(ids, want) {
		t.Errorf("sent %v, want %v", ids, want)
	}
}

// TestCheckpointsInOrder: with several shards in flight, a later shard that
// finishes first waits for the earlier one before its checkpoint.
func TestCheckpointsInOrder(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	d.ShardSize, d.Window = 2, 4
	d.Timeout = time.Minute // the held shard must not time out while the test looks
	d.Senders[tocsin.ChannelWebhook] = &WebhookSender{Client: NewHTTPClient(true, time.Minute)}
	slow, release := newHeldReceiver(t, http.StatusOK)
	// 404s are dead at once: rows in every later checkpoint, and, unlike
	// 5xx, no circuit breaker to stop the sends the test counts.
	fast := newReceiver(t, status(http.StatusNotFound))
	for i := range 10 {
		url := fast.URL
		if i < 2 {
			url = slow.URL // the first shard
		}
		subscribe(t, st, d.Matcher, url, here)
	}
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	// Shards 2–4 are sent while shard 1 is stuck; shard 5 waits for the window.
	waitFor(t, wait, "later shards sent", func() bool { return fast.count() == 6 })
	if calls := st.checkpointCalls(); len(calls) != 0 {
		t.Fatalf("checkpoints %+v before the first shard finished", calls)
	}
	release()
	waitFor(t, wait, "event done", st.done(ev.Seq))
	var upTo []int64
	for _, c := range st.checkpointCalls() {
		upTo = append(upTo, c.upTo)
		if want := min(2, int(c.upTo)-2); c.failed != want {
			t.Errorf("checkpoint %+v, want %d failures", c, want)
		}
	}
	if want := []int64{2, 4, 6, 8, 10}; !slices.Equal(upTo, want) {
		t.Errorf("checkpoints up to %v, want %v", upTo, want)
	}
}

// TestCloseRedoesUnfinishedShard: Close cancels sends in flight and leaves
// their shard unrecorded; a new dispatcher sends it again with the same ids.
func TestCloseRedoesUnfinishedShard(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	var stuck atomic.Bool
	stuck.Store(true)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if stuck.Load() {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	for range 3 {
		subscribe(t, st, d.Matcher, rc.URL, here)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "sends in flight", func() bool { return rc.count() == 3 })
	closed := time.Now()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(closed); took > 3*time.Second {
		t.Errorf("Close took %s", took)
	}
	if err := d.Close(); err != nil { // twice is fine
		t.Fatal(err)
	}
	if e := st.event(ev.Seq); e.Done || e.Checkpoint != 0 || len(st.allDeliveries()) != 0 {
		t.Fatalf("after Close: %+v, %d rows; want untouched", e, len(st.allDeliveries()))
	}

	stuck.Store(false)
	d2, _ := newDispatcher(t, st, clk)
	d2.Matcher = nil // loaded from the store
	start(t, d2, st)
	waitFor(t, wait, "event done", st.done(ev.Seq))
	ids := map[string]int{}
	for _, r := range rc.requests() {
		ids[r.ID]++
	}
	if len(ids) != 3 {
		t.Errorf("ids %v, want 3 ids each sent twice", ids)
	}
	for id, n := range ids {
		if n != 2 {
			t.Errorf("%s sent %d times, want 2", id, n)
		}
	}
	if err := d2.Start(t.Context()); err == nil {
		t.Error("second Start succeeded")
	}
}

// liveRecorder is a LiveStreams that records what it is handed.
type liveRecorder struct {
	mu     sync.Mutex
	seqs   []int64
	frames map[string][]byte
	before int // requests the webhook receiver had seen when Publish ran
	rc     *receiver
}

func (l *liveRecorder) Publish(seq int64, areas []geo.Shape, frame func(langs []string) []byte) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seqs = append(l.seqs, seq)
	l.before = l.rc.count()
	l.frames = map[string][]byte{"es": frame([]string{"es"}), "en-GB": frame([]string{"en-GB"}), "none": frame(nil)}
	return 42
}

// TestLiveFirst: live streams get the event before any webhook, as an SSE
// frame per language, and are counted.
func TestLiveFirst(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	rc := newReceiver(t, nil)
	subscribe(t, st, d.Matcher, rc.URL, here)
	live := &liveRecorder{rc: rc}
	d.Live = live
	start(t, d, st)
	ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
	d.Notify()
	waitFor(t, wait, "event done", st.done(ev.Seq))

	live.mu.Lock()
	defer live.mu.Unlock()
	if !slices.Equal(live.seqs, []int64{ev.Seq}) || live.before != 0 {
		t.Errorf("Live got %v with %d webhooks already sent; want [%d] first", live.seqs, live.before, ev.Seq)
	}
	for langs, want := range map[string]string{"es": "es", "en-GB": "en", "none": "en"} {
		f := string(live.frames[langs])
		prefix := fmt.Sprintf("id: %d\nevent: alert\ndata: ", ev.Seq)
		if !strings.HasPrefix(f, prefix) || !strings.HasSuffix(f, "\n\n") || strings.Count(f, "\n") != 4 {
			t.Errorf("frame for %s is not one SSE event: %q", langs, f)
			continue
		}
		var m tocsin.Message
		if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(f, prefix), "\n\n")), &m); err != nil {
			t.Fatal(err)
		}
		if m.Alert.Language != want {
			t.Errorf("frame for %s in %q, want %q", langs, m.Alert.Language, want)
		}
	}
	if n := counter(d, tocsin.ChannelSSE, OutcomeDelivered); n != 42 {
		t.Errorf("sse delivered counter %v, want 42", n)
	}
}

// TestMissingAlertSkipped: an event whose alert is gone is completed rather
// than blocking the events after it.
func TestMissingAlertSkipped(t *testing.T) {
	clk := newClock()
	st := newStore(clk.Now)
	d, _ := newDispatcher(t, st, clk)
	rc := newReceiver(t, nil)
	subscribe(t, st, d.Matcher, rc.URL, here)
	e1 := st.publish(newAlert(here), tocsin.EventAlertPublished)
	st.mu.Lock()
	delete(st.alerts, st.events[0].AlertID)
	st.mu.Unlock()
	e2 := st.publish(newAlert(here), tocsin.EventAlertPublished)
	start(t, d, st)
	waitFor(t, wait, "second event done", st.done(e2.Seq))
	if !st.event(e1.Seq).Done || rc.count() != 1 {
		t.Errorf("first event done %v, %d requests; want done and 1", st.event(e1.Seq).Done, rc.count())
	}
}
