package deliver

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
)

// BenchmarkFanoutWebhooks publishes one alert per iteration to 2,000 webhook
// subscribers that all point at one loopback receiver, and reports the
// throughput and the publish-to-receipt latency. The per-host limit is what
// bounds it; the sub-benchmarks show the default and a looser one.
func BenchmarkFanoutWebhooks(b *testing.B) {
	for _, perHost := range []int{DefaultPerHost, 32} {
		b.Run(fmt.Sprintf("perhost=%d", perHost), func(b *testing.B) { benchFanout(b, 2000, perHost) })
	}
}

func benchFanout(b *testing.B, n, perHost int) {
	var (
		mu       sync.Mutex
		received []time.Time
		cond     = sync.NewCond(&mu)
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		now := time.Now()
		mu.Lock()
		received = append(received, now)
		cond.Broadcast()
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	st := newStore(time.Now)
	d := &Dispatcher{
		Outbox: st, Alerts: st, Subscriptions: st,
		Matcher: NewMatcher(),
		Senders: map[tocsin.ChannelType]Sender{
			tocsin.ChannelWebhook: &WebhookSender{Client: NewHTTPClient(true, 10*time.Second)},
		},
		Logger:       slog.New(slog.DiscardHandler),
		PerHost:      perHost,
		PollInterval: time.Hour,
	}
	for range n {
		subscribe(b, st, d.Matcher, srv.URL+"/hook", here, "en")
	}
	if err := d.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer d.Close()

	var latencies []time.Duration
	b.ResetTimer()
	begin := time.Now()
	for range b.N {
		mu.Lock()
		received = received[:0]
		mu.Unlock()
		ev := st.publish(newAlert(here), tocsin.EventAlertPublished)
		d.Notify()
		mu.Lock()
		for len(received) < n {
			cond.Wait()
		}
		for _, at := range received {
			latencies = append(latencies, at.Sub(ev.CreatedAt))
		}
		mu.Unlock()
		// The next event waits for this one's checkpoint and completion.
		for !st.event(ev.Seq).Done {
			time.Sleep(100 * time.Microsecond)
		}
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	for _, err := range st.violations() {
		b.Error(err)
	}
	if rows := len(st.allDeliveries()); rows != 0 {
		b.Fatalf("%d failed deliveries", rows)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 { return latencies[int(p*float64(len(latencies)-1))].Seconds() * 1000 }
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
