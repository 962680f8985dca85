package main_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCrashMidFanOut kills the real binary with SIGKILL in the middle of a
// fan-out, while reports are being acknowledged, and restarts it: every
// acknowledged report, alert and subscription is still there, and every
// subscriber receives the alert, with the same webhook-id on any repeat.
func TestCrashMidFanOut(t *testing.T) {
	const subscribers = 1200
	data := t.TempDir()
	srv := startTocsin(t, data)
	admin := newToken(t, data, "admin", "ops")
	pub := newToken(t, data, "publisher", "Pat")

	rcv := newReceiver(t)
	rcv.delay = 5 * time.Millisecond // four in flight per host: a fan-out of several seconds
	for i := 0; i < subscribers; i++ {
		rcv.subscribe(t, srv.URL, admin, fmt.Sprintf("/s%d", i), circle(39.7392, -104.9903, 5), "en")
	}

	// Reports keep arriving while the server dies; remember what was acknowledged.
	var acked sync.Map // report id → incident id
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			var out struct {
				ID         string `json:"id"`
				IncidentID string `json:"incident_id"`
			}
			code := callQuiet(srv.URL+"/api/v1/reports", admin, map[string]any{
				"lat": 39.70, "lon": -104.95, "category": "Infra", "text": fmt.Sprintf("Power line down, report %d", i)}, &out)
			if code == 201 {
				acked.Store(out.ID, out.IncidentID)
			}
		}
	}()

	var alert struct{ ID, State string }
	mustCall(t, 201, "POST", srv.URL+"/api/v1/alerts", pub, map[string]any{
		"status": "Actual",
		"infos": []map[string]any{{"language": "en", "category": "Infra", "event": "Power outage", "urgency": "Expected",
			"severity": "Moderate", "certainty": "Observed", "headline": "Power lines down on Colfax"}},
		"areas": []map[string]any{{"description": "Colfax", "circle": map[string]any{"lat": 39.7400, "lon": -104.9800, "radius_km": 2}}},
	}, &alert)
	if alert.State != "published" {
		t.Fatalf("alert state %q", alert.State)
	}
	waitFor(t, 30*time.Second, "the fan-out to be under way", func() bool { return len(rcv.deliveries()) >= 150 })
	srv.kill()
	before := len(rcv.deliveries())
	stop.Store(true)
	wg.Wait()
	if before >= subscribers {
		t.Fatalf("the fan-out finished (%d deliveries) before the kill; slow the receiver down", before)
	}
	t.Logf("killed after %d of %d deliveries", before, subscribers)

	srv = startTocsin(t, data)
	// Every subscriber gets the alert, exactly one webhook-id each.
	waitFor(t, 60*time.Second, "every subscriber to receive the alert", func() bool {
		seen := map[string]bool{}
		for _, d := range rcv.deliveries() {
			if d.Alert.ID == alert.ID {
				seen[d.Path] = true
			}
		}
		return len(seen) == subscribers
	})
	ids := map[string]string{}
	for _, d := range rcv.deliveries() {
		if !d.Verified {
			t.Fatalf("unsigned or badly signed delivery %+v", d)
		}
		if prev, ok := ids[d.Path]; ok && prev != d.ID {
			t.Fatalf("subscriber %s got webhook-id %s then %s for the same alert", d.Path, prev, d.ID)
		}
		ids[d.Path] = d.ID
	}
	t.Logf("%d deliveries in all for %d subscribers (repeats after the crash: %d)", len(rcv.deliveries()), subscribers, len(rcv.deliveries())-subscribers)

	// The alert and the subscriptions survived.
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts/"+alert.ID, "", nil, nil)
	var preview struct {
		Recipients map[string]int `json:"recipients"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts/"+alert.ID+"/preview", pub, nil, &preview)
	if preview.Recipients["webhook"] != subscribers {
		t.Fatalf("after restart the alert reaches %d webhook subscribers, want %d", preview.Recipients["webhook"], subscribers)
	}
	// Every acknowledged report survived.
	n := 0
	byIncident := map[string]map[string]bool{}
	acked.Range(func(k, v any) bool {
		inc := v.(string)
		if byIncident[inc] == nil {
			var out struct {
				Reports []struct{ ID string } `json:"reports"`
			}
			mustCall(t, 200, "GET", srv.URL+"/api/v1/incidents/"+inc, admin, nil, &out)
			byIncident[inc] = map[string]bool{}
			for _, r := range out.Reports {
				byIncident[inc][r.ID] = true
			}
		}
		if !byIncident[inc][k.(string)] {
			t.Errorf("acknowledged report %s is lost", k)
		}
		n++
		return true
	})
	if n == 0 {
		t.Fatal("no report was acknowledged before the kill")
	}
	t.Logf("%d acknowledged reports all present after the crash", n)
}

// callQuiet is call for a background goroutine: it reports failure as status 0.
func callQuiet(url, token string, body, out any) int {
	code, err := doJSON("POST", url, token, body, out)
	if err != nil {
		return 0
	}
	return code
}
