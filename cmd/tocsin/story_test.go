package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStory drives the real binary through the whole path: reports cluster
// into an incident, a verifier verifies it, a Severe English/Spanish alert
// waits for a second publisher, then reaches a Spanish-speaking webhook
// subscriber and a live stream inside the area (in Spanish) and nobody
// outside it; a stream resumes with Last-Event-ID; the cancel reaches the same
// people; and the audit chain verifies.
func TestStory(t *testing.T) {
	data := t.TempDir()
	srv := startTocsin(t, data)
	base := srv.URL
	verifier := newToken(t, data, "verifier", "Vera")
	pub1 := newToken(t, data, "publisher", "Pat")
	pub2 := newToken(t, data, "publisher", "Quinn")
	rep1 := newToken(t, data, "reporter", "Ray")
	rep2 := newToken(t, data, "reporter", "Rosa")

	// A Spanish-first subscriber in the area, an English one far outside.
	inside, outside := newReceiver(t), newReceiver(t)
	inside.subscribe(t, base, "", "/ana", circle(39.7392, -104.9903, 3), "es", "en")
	outsideID, outsideToken := outside.subscribe(t, base, "", "/zoe", circle(40.0150, -105.2705, 3), "en") // Boulder
	stream := openStream(t, base, "lat=39.7392&lon=-104.9903&radius_km=2&lang=es", "")

	// Three reports of the same flooding, by three different people.
	var incidentID string
	for i, tok := range []string{rep1, rep2, ""} {
		var out struct {
			ID         string `json:"id"`
			IncidentID string `json:"incident_id"`
			Receipt    string `json:"receipt"`
		}
		mustCall(t, 201, "POST", base+"/api/v1/reports", tok, map[string]any{
			"lat": 39.7400 + float64(i)*0.001, "lon": -104.9900, "category": "Met", "event": "flooding",
			"text": "Water over the road at Speer Blvd", "language": "en",
		}, &out)
		if out.Receipt == "" || out.ID == "" {
			t.Fatalf("report %d: no id or receipt: %+v", i, out)
		}
		if i > 0 && out.IncidentID != incidentID {
			t.Fatalf("report %d went to incident %s, not %s", i, out.IncidentID, incidentID)
		}
		incidentID = out.IncidentID
	}
	// A report of something else opens its own incident.
	mustCall(t, 201, "POST", base+"/api/v1/reports", "", map[string]any{"lat": 39.7400, "lon": -104.9900, "category": "Fire", "text": "Smoke from a roof"}, nil)

	if code := call(t, "GET", base+"/api/v1/incidents", rep1, nil, nil); code != 403 {
		t.Fatalf("a reporter listing incidents got %d, want 403", code)
	}
	var incs struct {
		Incidents []struct {
			ID            string `json:"id"`
			State         string `json:"state"`
			ReportCount   int    `json:"report_count"`
			ReporterCount int    `json:"reporter_count"`
		} `json:"incidents"`
	}
	mustCall(t, 200, "GET", base+"/api/v1/incidents?state=corroborated", verifier, nil, &incs)
	if len(incs.Incidents) != 1 || incs.Incidents[0].ID != incidentID || incs.Incidents[0].ReportCount != 3 || incs.Incidents[0].ReporterCount != 3 {
		t.Fatalf("corroborated incidents: %+v, want %s with 3 reports by 3 reporters", incs.Incidents, incidentID)
	}
	var inc struct{ State string }
	mustCall(t, 200, "POST", base+"/api/v1/incidents/"+incidentID+"/verify", verifier, map[string]any{"note": "three neighbours"}, &inc)
	if inc.State != "verified" {
		t.Fatalf("incident state %q after verify", inc.State)
	}

	// A Severe alert: the author cannot approve it, a second publisher can.
	expires := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	alert := map[string]any{
		"status": "Actual", "incident_id": incidentID,
		"infos": []map[string]any{
			{"language": "en", "category": "Met", "event": "Flash flood", "urgency": "Immediate", "severity": "Severe", "certainty": "Observed",
				"headline": "Flash flooding at Speer Blvd", "instruction": "Move to higher ground.", "expires": expires},
			{"language": "es", "category": []string{"Met", "Safety"}, "event": "Inundación repentina", "urgency": "Immediate", "severity": "Severe", "certainty": "Observed",
				"headline": "Inundación repentina en Speer Blvd", "instruction": "Suba a un lugar más alto.", "expires": expires},
		},
		"areas": []map[string]any{{"description": "Speer Blvd", "circle": map[string]any{"lat": 39.7401, "lon": -104.9900, "radius_km": 1.5}}},
	}
	var created struct{ ID, State string }
	mustCall(t, 201, "POST", base+"/api/v1/alerts", pub1, alert, &created)
	if created.State != "pending_approval" {
		t.Fatalf("a Severe alert is %q, want pending_approval", created.State)
	}
	var preview struct {
		Recipients map[string]int `json:"recipients"`
		Total      int            `json:"total"`
	}
	mustCall(t, 200, "GET", base+"/api/v1/alerts/"+created.ID+"/preview", pub2, nil, &preview)
	if preview.Recipients["webhook"] != 1 || preview.Recipients["sse"] != 1 || preview.Total != 2 {
		t.Fatalf("preview %+v, want 1 webhook and 1 stream", preview)
	}
	if code := call(t, "POST", base+"/api/v1/alerts/"+created.ID+"/approve", pub1, nil, nil); code != 403 {
		t.Fatalf("the author approving got %d, want 403", code)
	}
	if n := len(inside.deliveries()); n != 0 {
		t.Fatalf("%d deliveries before approval", n)
	}
	var approved struct{ State string }
	mustCall(t, 200, "POST", base+"/api/v1/alerts/"+created.ID+"/approve", pub2, nil, &approved)
	if approved.State != "published" {
		t.Fatalf("approved alert is %q", approved.State)
	}

	// The subscriber inside and the stream get the Spanish text.
	waitFor(t, 10*time.Second, "the webhook delivery", func() bool { return len(inside.deliveries()) == 1 })
	d := inside.deliveries()[0]
	if !d.Verified || d.Type != "alert.published" || d.Alert.ID != created.ID || len(d.Alert.Infos) != 1 ||
		d.Alert.Infos[0].Language != "es" || d.Alert.Infos[0].Headline != "Inundación repentina en Speer Blvd" || !strings.HasPrefix(d.ID, "msg_") {
		t.Fatalf("webhook delivery %+v", d)
	}
	ev := stream.next(t, 10*time.Second)
	var msg struct {
		Type  string `json:"type"`
		Alert struct {
			ID    string                      `json:"id"`
			Infos []struct{ Headline string } `json:"infos"`
		} `json:"alert"`
	}
	if err := json.Unmarshal([]byte(ev.Data), &msg); err != nil {
		t.Fatal(err)
	}
	if ev.Event != "alert" || ev.ID == "" || msg.Type != "alert.published" || msg.Alert.ID != created.ID || msg.Alert.Infos[0].Headline != "Inundación repentina en Speer Blvd" {
		t.Fatalf("stream event %+v", ev)
	}
	firstID := ev.ID

	// The stream drops; the alert is cancelled meanwhile; the stream resumes.
	stream.conn.Close()
	var cancel struct {
		ID         string   `json:"id"`
		MsgType    string   `json:"msg_type"`
		References []string `json:"references"`
	}
	mustCall(t, 201, "POST", base+"/api/v1/alerts/"+created.ID+"/cancel", pub1, nil, &cancel)
	if cancel.MsgType != "Cancel" || len(cancel.References) != 1 || cancel.References[0] != created.ID {
		t.Fatalf("cancel %+v", cancel)
	}
	resumed := openStream(t, base, "lat=39.7392&lon=-104.9903&radius_km=2&lang=es", firstID)
	ev = resumed.next(t, 10*time.Second)
	if err := json.Unmarshal([]byte(ev.Data), &msg); err != nil {
		t.Fatal(err)
	}
	if ev.ID == firstID || msg.Type != "alert.cancelled" || msg.Alert.ID != cancel.ID || !strings.Contains(msg.Alert.Infos[0].Headline, "CANCELADA") {
		t.Fatalf("resumed stream got %+v, want the Spanish cancel after %s", ev, firstID)
	}

	// The cancel reaches the same webhook subscriber; after it, the fan-out of
	// both events is complete, and the subscriber outside got nothing.
	waitFor(t, 10*time.Second, "the cancel delivery", func() bool { return len(inside.deliveries()) == 2 })
	if d := inside.deliveries()[1]; d.Type != "alert.cancelled" || d.Alert.MsgType != "Cancel" || d.Alert.References[0] != created.ID || !d.Verified {
		t.Fatalf("cancel delivery %+v", d)
	}
	if got := outside.deliveries(); len(got) != 0 {
		t.Fatalf("the subscriber outside the area got %+v", got)
	}
	var active struct{ Alerts []struct{ ID string } }
	mustCall(t, 200, "GET", base+"/api/v1/alerts?lat=39.74&lon=-104.99&radius_km=5", "", nil, &active)
	if len(active.Alerts) != 0 {
		t.Fatalf("active alerts after cancel: %+v", active.Alerts)
	}

	// The subscriber outside leaves: only its own token can do that.
	if code := call(t, "DELETE", base+"/api/v1/subscriptions/"+outsideID, pub1, nil, nil); code != 401 {
		t.Fatalf("deleting a subscription with a staff token got %d, want 401", code)
	}
	mustCall(t, 204, "DELETE", base+"/api/v1/subscriptions/"+outsideID, outsideToken, nil, nil)
	if code := call(t, "DELETE", base+"/api/v1/subscriptions/"+outsideID, outsideToken, nil, nil); code != 404 {
		t.Fatalf("deleting it twice got %d, want 404", code)
	}

	// Metrics count the deliveries by channel and outcome, with latency.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`tocsin_deliveries_total{channel="webhook",outcome="delivered"} 2`, `tocsin_deliveries_total{channel="sse",outcome="delivered"}`, `tocsin_publish_to_delivery_seconds_bucket{channel="webhook"`} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// No token, secret or address appears in the server's logs (at debug level).
	logs := srv.logs.String()
	for _, secret := range []string{verifier, pub1, pub2, rep1, rep2, outsideToken, inside.secretFor("/ana"), "127.0.0.1:" + strings.Split(inside.URL, ":")[2]} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}

	out := tocsinCLI(t, "audit", "verify", "--data", data)
	if !strings.Contains(out, "audit chain intact") {
		t.Fatalf("audit verify: %s", out)
	}
}
