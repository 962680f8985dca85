package http

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tocsin/tocsin"
)

// DemoInbox is the demo region's own webhook receiver: it checks each
// delivery's Standard Webhooks signature and keeps the last few, so that a
// newcomer can watch alerts arrive at GET /demo/inbox.
type DemoInbox struct {
	mu       sync.Mutex
	secrets  map[string]string // inbox name → signing secret
	received []demoDelivery
}

type demoDelivery struct {
	Inbox      string           `json:"inbox"`
	WebhookID  string           `json:"webhook_id"`
	Verified   bool             `json:"signature_verified"`
	ReceivedAt time.Time        `json:"received_at"`
	Type       tocsin.EventType `json:"type"`
	Language   string           `json:"language"`
	Headline   string           `json:"headline"`
}

// NewDemoInbox returns an empty inbox.
func NewDemoInbox() *DemoInbox { return &DemoInbox{secrets: map[string]string{}} }

// AddSecret registers the signing secret of the subscription delivering to inbox name.
func (d *DemoInbox) AddSecret(name, secret string) {
	d.mu.Lock()
	d.secrets[name] = secret
	d.mu.Unlock()
}

// ServeHTTP receives (POST) or lists (GET) deliveries.
func (d *DemoInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		d.mu.Lock()
		out := append([]demoDelivery{}, d.received...)
		d.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
		return
	}
	name := r.PathValue("name")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	secret, ok := d.secrets[name]
	d.mu.Unlock()
	if !ok {
		http.Error(w, "no such inbox", http.StatusGone)
		return
	}
	got := demoDelivery{Inbox: name, WebhookID: r.Header.Get("webhook-id"), ReceivedAt: time.Now().UTC()}
	if wh, err := standardwebhooks.NewWebhook(secret); err == nil {
		got.Verified = wh.Verify(body, r.Header) == nil
	}
	var m tocsin.Message
	if json.Unmarshal(body, &m) == nil && m.Alert != nil && len(m.Alert.Infos) > 0 {
		got.Type, got.Language, got.Headline = m.Type, m.Alert.Infos[0].Language, m.Alert.Infos[0].Headline
	}
	d.mu.Lock()
	d.received = append(d.received, got)
	if len(d.received) > 50 {
		d.received = d.received[len(d.received)-50:]
	}
	d.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
