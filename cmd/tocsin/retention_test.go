package main_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// uploadPhoto attaches a small JPEG to a report with its photo token.
func uploadPhoto(t *testing.T, base, reportID, photoToken string) {
	t.Helper()
	var img, body bytes.Buffer
	if err := jpeg.Encode(&img, image.NewGray(image.Rect(0, 0, 16, 12)), nil); err != nil {
		t.Fatal(err)
	}
	mw := multipart.NewWriter(&body)
	mw.WriteField("photo_token", photoToken)
	fw, err := mw.CreateFormFile("photo", "photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(img.Bytes())
	mw.Close()
	resp, err := http.Post(base+"/api/v1/reports/"+reportID+"/photo", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("photo upload: status %d, want 201", resp.StatusCode)
	}
}

// photoStatus is the status of GET /api/v1/reports/{id}/photo.
func photoStatus(t *testing.T, base, token, reportID string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/reports/"+reportID+"/photo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// retainedIncident is GET /api/v1/incidents/{id} as this test reads it.
type retainedIncident struct {
	Incident struct {
		State         string    `json:"state"`
		ReportCount   int       `json:"report_count"`
		ReporterCount int       `json:"reporter_count"`
		Lat           float64   `json:"lat"`
		FirstSeen     time.Time `json:"first_seen"`
	} `json:"incident"`
	Reports []struct {
		ID string `json:"id"`
	} `json:"reports"`
}

// TestReportRetention runs the server with a one-second retention, which
// it sweeps every second: the reports of a verified and of a rejected
// incident disappear, with their photos, while the incidents stay with
// their counts; a report whose incident still waits for a verifier stays,
// photo and all; each sweep is in the audit chain, which still verifies.
func TestReportRetention(t *testing.T) {
	data := t.TempDir()
	srv := startTocsin(t, data, "--report-retention", "1s")
	base := srv.URL
	verifier := newToken(t, data, "verifier", "Vera")
	admin := newToken(t, data, "admin", "Ada")
	reporters := []string{newToken(t, data, "reporter", "Ray"), newToken(t, data, "reporter", "Rosa")}

	type filed struct{ ID, IncidentID, PhotoToken string }
	file := func(token string, lat, lon float64, category string) filed {
		t.Helper()
		var out struct {
			ID         string `json:"id"`
			IncidentID string `json:"incident_id"`
			PhotoToken string `json:"photo_token"`
		}
		mustCall(t, 201, "POST", base+"/api/v1/reports", token, map[string]any{
			"lat": lat, "lon": lon, "category": category, "text": "Water over the road", "language": "en"}, &out)
		return filed{out.ID, out.IncidentID, out.PhotoToken}
	}
	// Two people report the same flooding; one of them adds a photo.
	v1 := file(reporters[0], 39.7400, -104.9900, "Met")
	v2 := file(reporters[1], 39.7410, -104.9900, "Met")
	if v1.IncidentID != v2.IncidentID {
		t.Fatalf("the two flooding reports went to %s and %s; want one incident", v1.IncidentID, v2.IncidentID)
	}
	uploadPhoto(t, base, v1.ID, v1.PhotoToken)
	rejected := file("", 40.0150, -105.2705, "Fire")
	queued := file("", 39.5000, -104.5000, "Health")
	uploadPhoto(t, base, queued.ID, queued.PhotoToken)

	get := func(id string) retainedIncident {
		t.Helper()
		var inc retainedIncident
		// As an admin, whom the rate limits exempt, since waitFor polls.
		mustCall(t, 200, "GET", base+"/api/v1/incidents/"+id, admin, nil, &inc)
		return inc
	}
	// Read before the decision: from then on a sweep may come at any moment.
	before := get(v1.IncidentID)
	if len(before.Reports) != 2 || before.Incident.ReportCount != 2 || before.Incident.ReporterCount != 2 || before.Incident.State != "corroborated" {
		t.Fatalf("incident before the decision: %+v; want corroborated, 2 reports by 2 reporters", before)
	}
	mustCall(t, 200, "POST", base+"/api/v1/incidents/"+v1.IncidentID+"/verify", verifier, nil, nil)
	mustCall(t, 200, "POST", base+"/api/v1/incidents/"+rejected.IncidentID+"/reject", verifier, nil, nil)
	waitFor(t, 30*time.Second, "the decided incidents' reports to expire", func() bool {
		return len(get(v1.IncidentID).Reports) == 0 && len(get(rejected.IncidentID).Reports) == 0
	})

	after := get(v1.IncidentID)
	before.Incident.State = "verified"
	if after.Incident != before.Incident {
		t.Errorf("verified incident changed when its reports expired (state aside):\n before %+v\n after  %+v", before.Incident, after.Incident)
	}
	if r := get(rejected.IncidentID).Incident; r.State != "unverifiable" || r.ReportCount != 1 || r.ReporterCount != 1 {
		t.Errorf("rejected incident after the sweep: %+v; want unverifiable, 1 report by 1 reporter", r)
	}
	if code := photoStatus(t, base, verifier, v1.ID); code != 404 {
		t.Errorf("photo of an expired report: status %d, want 404", code)
	}
	// The queued report is older than the cut-off too, and stays.
	if q := get(queued.IncidentID); len(q.Reports) != 1 || q.Reports[0].ID != queued.ID || q.Incident.State != "unverified" {
		t.Errorf("queued incident after the sweep: %+v; want its one report, unverified", q)
	}
	if code := photoStatus(t, base, verifier, queued.ID); code != 200 {
		t.Errorf("photo of a queued report: status %d, want 200", code)
	}
	if !strings.Contains(srv.logs.String(), "expired reports") {
		t.Errorf("no log line about expired reports:\n%s", srv.logs)
	}

	var audit struct {
		Events []struct{ Actor, Action string } `json:"events"`
	}
	mustCall(t, 200, "GET", base+"/api/v1/audit?limit=1000", admin, nil, &audit)
	sweeps := 0
	for _, e := range audit.Events {
		if e.Action == "report.expire" {
			if e.Actor != "system" {
				t.Errorf("a sweep was recorded as by %s, not system", e.Actor)
			}
			sweeps++
		}
	}
	// The two decisions may fall in one sweep or two; empty sweeps write
	// nothing, though one ran every second.
	if sweeps < 1 || sweeps > 2 {
		t.Errorf("%d report.expire events in the audit log; want 1 or 2", sweeps)
	}
	if out := tocsinCLI(t, "audit", "verify", "--data", data); !strings.HasPrefix(out, "audit chain intact") {
		t.Errorf("audit verify: %s", out)
	}
}
