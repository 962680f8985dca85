package main_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin/deliver/pushtest"
)

// pushPayload is the JSON a Web Push message carries (deliver.PushPayload).
type pushPayload struct {
	Type        string `json:"type"`
	AlertID     string `json:"alert_id"`
	Language    string `json:"language"`
	Headline    string `json:"headline"`
	Event       string `json:"event"`
	Severity    string `json:"severity"`
	Instruction string `json:"instruction"`
	URL         string `json:"url"`
	Tag         string `json:"tag"`
}

// subscribePush registers a Web Push subscription at path on ps.
func subscribePush(t *testing.T, base string, ps *pushtest.Server, path string, area map[string]any, langs ...string) string {
	t.Helper()
	endpoint, keys := ps.Subscribe(t, path)
	var resp struct{ ID string }
	mustCall(t, 201, "POST", base+"/api/v1/subscriptions", "", map[string]any{"area": area, "languages": langs,
		"channel": map[string]any{"type": "webpush", "endpoint": endpoint, "keys": map[string]string{"p256dh": keys.P256dh(), "auth": keys.AuthSecret()}}}, &resp)
	return resp.ID
}

// messagesAt returns what the push service received at path.
func messagesAt(ps *pushtest.Server, path string) []pushtest.Message {
	var out []pushtest.Message
	for _, m := range ps.Messages() {
		if m.Path == path {
			out = append(out, m)
		}
	}
	return out
}

// TestWebPush drives the real binary to a push service on loopback that
// decrypts each message with keys it made itself: a Severe English/Spanish
// alert reaches a Spanish-first browser in Spanish with Urgency high, a
// Topic, a TTL within the alert's life and a VAPID signature by the key the
// API hands out; its Update carries the same Topic; a push service's 410
// disables a subscription for good.
func TestWebPush(t *testing.T) {
	data := t.TempDir()
	srv := startTocsin(t, data, "--vapid-subject", "mailto:ops@example.org")
	base := srv.URL
	pub1 := newToken(t, data, "publisher", "Pat")
	pub2 := newToken(t, data, "publisher", "Quinn")
	admin := newToken(t, data, "admin", "Ada")

	var key struct{ Key string }
	mustCall(t, 200, "GET", base+"/api/v1/webpush/vapid-public-key", "", nil, &key)
	if raw, err := base64.RawURLEncoding.DecodeString(key.Key); err != nil || len(raw) != 65 || raw[0] != 4 {
		t.Fatalf("VAPID public key %q is not an uncompressed P-256 point in base64url", key.Key)
	}
	if fi, err := os.Stat(filepath.Join(data, "vapid.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("VAPID key file: %v, %v", fi, err)
	}

	ps := pushtest.NewServer(t)
	here := circle(39.7392, -104.9903, 3)
	subscribePush(t, base, ps, "/ana", here, "es", "en")
	subscribePush(t, base, ps, "/gone", here, "en")
	ps.SetStatus("/gone", http.StatusGone)

	expires := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	info := func(lang, event, severity, headline, instruction string) map[string]any {
		return map[string]any{"language": lang, "category": "Met", "event": event, "urgency": "Immediate", "severity": severity,
			"certainty": "Observed", "headline": headline, "instruction": instruction, "expires": expires.Format(time.RFC3339)}
	}
	areas := []map[string]any{{"description": "Speer Blvd", "circle": map[string]any{"lat": 39.7401, "lon": -104.9900, "radius_km": 1.5}}}
	var created struct{ ID string }
	mustCall(t, 201, "POST", base+"/api/v1/alerts", pub1, map[string]any{"status": "Actual", "areas": areas, "infos": []map[string]any{
		info("en", "Flash flood", "Severe", "Flash flooding at Speer Blvd", "Move to higher ground."),
		info("es", "Inundación repentina", "Severe", "Inundación repentina en Speer Blvd", "Suba a un lugar más alto."),
	}}, &created)
	mustCall(t, 200, "POST", base+"/api/v1/alerts/"+created.ID+"/approve", pub2, nil, nil)
	published := time.Now()

	waitFor(t, 10*time.Second, "the push message", func() bool { return len(messagesAt(ps, "/ana")) == 1 })
	m := messagesAt(ps, "/ana")[0]
	if m.DecryptErr != nil {
		t.Fatalf("decrypt: %v", m.DecryptErr)
	}
	var p pushPayload
	if err := json.Unmarshal(m.Plaintext, &p); err != nil {
		t.Fatalf("payload %s: %v", m.Plaintext, err)
	}
	if p.Type != "alert.published" || p.AlertID != created.ID || p.Language != "es" || p.Headline != "Inundación repentina en Speer Blvd" ||
		p.Event != "Inundación repentina" || p.Severity != "Severe" || p.Instruction != "Suba a un lugar más alto." || p.URL != "/alerts/"+created.ID {
		t.Fatalf("payload %+v", p)
	}
	if m.VAPIDErr != nil || m.VAPIDKey != key.Key || m.Claims.Aud != ps.URL || m.Claims.Sub != "mailto:ops@example.org" {
		t.Fatalf("VAPID: %v; k %s (API says %s); claims %+v", m.VAPIDErr, m.VAPIDKey, key.Key, m.Claims)
	}
	topic := m.Header.Get("Topic")
	ttl, err := strconv.Atoi(m.Header.Get("TTL"))
	if remaining := int(expires.Sub(published) / time.Second); err != nil || ttl > remaining || ttl < remaining-60 {
		t.Errorf("TTL %q, want at most the %ds the alert has left", m.Header.Get("TTL"), remaining)
	}
	if m.Header.Get("Urgency") != "high" || topic == "" || len(topic) > 32 || p.Tag != topic {
		t.Errorf("Urgency %q, Topic %q, tag %q", m.Header.Get("Urgency"), topic, p.Tag)
	}

	// The 410 disabled that subscription: its delivery is "gone".
	waitFor(t, 10*time.Second, "the gone delivery", func() bool {
		var out struct {
			Deliveries []struct{ Channel, State string }
		}
		call(t, "GET", base+"/api/v1/deliveries?state=gone", admin, nil, &out)
		return len(out.Deliveries) == 1 && out.Deliveries[0].Channel == "webpush"
	})

	// An Update replaces the notification: same Topic, normal urgency now.
	var upd struct{ ID string }
	mustCall(t, 201, "POST", base+"/api/v1/alerts", pub1, map[string]any{"status": "Actual", "msg_type": "Update", "references": []string{created.ID},
		"areas": areas, "infos": []map[string]any{
			info("en", "Flash flood", "Moderate", "Water receding at Speer Blvd", "Stay away from the creek."),
			info("es", "Inundación repentina", "Moderate", "El agua baja en Speer Blvd", "Manténgase lejos del arroyo."),
		}}, &upd)
	waitFor(t, 10*time.Second, "the update's push message", func() bool { return len(messagesAt(ps, "/ana")) == 2 })
	m = messagesAt(ps, "/ana")[1]
	if err := json.Unmarshal(m.Plaintext, &p); err != nil || p.Type != "alert.updated" || p.AlertID != upd.ID || p.Language != "es" || p.Headline != "El agua baja en Speer Blvd" {
		t.Fatalf("update payload %s (%v)", m.Plaintext, err)
	}
	if m.Header.Get("Topic") != topic || m.Header.Get("Urgency") != "normal" {
		t.Errorf("update Topic %q (original %q), Urgency %q", m.Header.Get("Topic"), topic, m.Header.Get("Urgency"))
	}
	if n := len(messagesAt(ps, "/gone")); n != 1 {
		t.Errorf("the gone endpoint got %d requests, want 1: nothing after its 410", n)
	}
	for _, secret := range []string{strings.TrimPrefix(ps.URL, "http://")} {
		if strings.Contains(srv.logs.String(), secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}

// TestWebPushSubscriptionInputs checks that bad Web Push subscriptions are
// refused naming the field, that push endpoints get the webhooks' network
// protection unless the operator allows private addresses, and that the
// VAPID key survives a restart.
func TestWebPushSubscriptionInputs(t *testing.T) {
	data := t.TempDir()
	srv := startTocsin(t, data, "--allow-private-webhooks=false")
	base := srv.URL
	admin := newToken(t, data, "admin", "Ada") // not rate-limited
	keys, err := pushtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	offCurve := base64.RawURLEncoding.EncodeToString(append([]byte{4}, []byte(strings.Repeat("\xff", 64))...))
	compressed := base64.RawURLEncoding.EncodeToString(append([]byte{2}, make([]byte, 32)...))
	good := map[string]any{"endpoint": "https://93.184.215.14/push/abc", "p256dh": keys.P256dh(), "auth": keys.AuthSecret()}
	for _, tt := range []struct {
		name  string
		set   map[string]any
		field string
	}{
		{"no endpoint", map[string]any{"endpoint": ""}, "channel.endpoint"},
		{"http endpoint", map[string]any{"endpoint": "http://93.184.215.14/push/abc"}, "channel.endpoint"},
		{"loopback endpoint", map[string]any{"endpoint": "https://127.0.0.1:9/push"}, "channel.endpoint"},
		{"private endpoint", map[string]any{"endpoint": "https://192.168.1.20/push"}, "channel.endpoint"},
		{"link-local endpoint", map[string]any{"endpoint": "https://169.254.169.254/latest"}, "channel.endpoint"},
		{"no keys", map[string]any{"p256dh": nil}, "channel.keys"},
		{"p256dh not base64url", map[string]any{"p256dh": "not base64!"}, "channel.keys.p256dh"},
		{"p256dh compressed", map[string]any{"p256dh": compressed}, "channel.keys.p256dh"},
		{"p256dh off the curve", map[string]any{"p256dh": offCurve}, "channel.keys.p256dh"},
		{"auth too short", map[string]any{"auth": base64.RawURLEncoding.EncodeToString(make([]byte, 15))}, "channel.keys.auth"},
		{"auth missing", map[string]any{"auth": ""}, "channel.keys.auth"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ch := map[string]any{"type": "webpush"}
			v := map[string]any{}
			for k, x := range good {
				v[k] = x
			}
			for k, x := range tt.set {
				v[k] = x
			}
			ch["endpoint"] = v["endpoint"]
			if v["p256dh"] != nil {
				ch["keys"] = map[string]any{"p256dh": v["p256dh"], "auth": v["auth"]}
			}
			var problem struct {
				Errors []struct{ Field, Detail string } `json:"errors"`
			}
			code := call(t, "POST", base+"/api/v1/subscriptions", admin, map[string]any{"area": circle(39.74, -104.99, 2), "languages": []string{"en"}, "channel": ch}, &problem)
			found := false
			for _, e := range problem.Errors {
				found = found || e.Field == tt.field
			}
			if code != 400 || !found {
				t.Errorf("status %d, errors %+v; want 400 naming %s", code, problem.Errors, tt.field)
			}
		})
	}
	// A public https endpoint with good keys is accepted (no DNS needed).
	mustCall(t, 201, "POST", base+"/api/v1/subscriptions", admin, map[string]any{"area": circle(39.74, -104.99, 2), "languages": []string{"en"},
		"channel": map[string]any{"type": "webpush", "endpoint": good["endpoint"], "keys": map[string]any{"p256dh": good["p256dh"], "auth": good["auth"]}}}, nil)

	var before, after struct{ Key string }
	mustCall(t, 200, "GET", base+"/api/v1/webpush/vapid-public-key", "", nil, &before)
	srv.stop(t)
	srv = startTocsin(t, data, "--allow-private-webhooks=false")
	mustCall(t, 200, "GET", srv.URL+"/api/v1/webpush/vapid-public-key", "", nil, &after)
	if before.Key == "" || before.Key != after.Key {
		t.Errorf("VAPID key %q before the restart, %q after", before.Key, after.Key)
	}
}
