package deliver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/tocsin/tocsin"
)

// The outcomes counted by tocsin_deliveries_total.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeDead      = "dead"
	OutcomeGone      = "gone"
)

// Metrics are the fan-out's Prometheus metrics. A nil *Metrics records
// nothing.
type Metrics struct {
	deliveries *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	inflight   prometheus.Gauge
}

// NewMetrics creates the fan-out metrics and registers them with reg (none
// when reg is nil). It panics if they are already registered there.
//
//   - tocsin_deliveries_total{channel,outcome}: attempts by outcome
//     (delivered, retry, dead, gone); SSE counts the streams an event was
//     handed to.
//   - tocsin_publish_to_delivery_seconds{channel}: from the event's creation
//     (the publish commit) to a successful delivery, retries included.
//   - tocsin_fanout_inflight: sends in progress.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		deliveries: f.NewCounterVec(prometheus.CounterOpts{
			Name: "tocsin_deliveries_total",
			Help: "Delivery attempts by channel and outcome (delivered, retry, dead, gone).",
		}, []string{"channel", "outcome"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tocsin_publish_to_delivery_seconds",
			Help:    "Time from an alert's publication to its successful delivery, retries included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400},
		}, []string{"channel"}),
		inflight: f.NewGauge(prometheus.GaugeOpts{
			Name: "tocsin_fanout_inflight",
			Help: "Sends in progress.",
		}),
	}
	for _, ch := range []tocsin.ChannelType{tocsin.ChannelWebhook, tocsin.ChannelSSE} {
		for _, o := range []string{OutcomeDelivered, OutcomeRetry, OutcomeDead, OutcomeGone} {
			m.deliveries.WithLabelValues(string(ch), o)
		}
		m.latency.WithLabelValues(string(ch))
	}
	return m
}

func (m *Metrics) outcome(ch tocsin.ChannelType, outcome string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.deliveries.WithLabelValues(string(ch), outcome).Add(float64(n))
}

func (m *Metrics) delivered(ch tocsin.ChannelType, n int, latency time.Duration) {
	if m == nil || n <= 0 {
		return
	}
	m.outcome(ch, OutcomeDelivered, n)
	h := m.latency.WithLabelValues(string(ch))
	for range n {
		h.Observe(latency.Seconds())
	}
}

func (m *Metrics) sending(delta int) {
	if m != nil {
		m.inflight.Add(float64(delta))
	}
}
