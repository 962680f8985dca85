package sqlite_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

// mustSubmit files r through the intake with an idempotency key and
// attaches a photo to it, so that it has a row in every table a report has.
func mustSubmit(tb testing.TB, ctx context.Context, svc *sqlite.ReportService, r *tocsin.Report, key string) *tocsin.ReportSubmission {
	tb.Helper()
	sub, err := svc.SubmitReport(ctx, r, key)
	if err != nil {
		tb.Fatalf("submit report: %v", err)
	}
	if err := svc.AttachPhoto(ctx, sub.PhotoToken, &tocsin.Photo{ReportID: sub.ReportID, JPEG: fakeJPEG, Width: 4, Height: 3}); err != nil {
		tb.Fatalf("attach photo: %v", err)
	}
	return sub
}

// incidentsByID returns every incident, by id, as a verifier sees them.
func incidentsByID(tb testing.TB, db *sqlite.DB, vctx context.Context) map[string]tocsin.Incident {
	tb.Helper()
	incs, _, err := sqlite.NewIncidentService(db).FindIncidents(vctx, tocsin.IncidentFilter{Limit: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]tocsin.Incident{}
	for _, inc := range incs {
		out[inc.ID] = *inc
	}
	return out
}

// reportIDs returns the ids of the reports of an incident.
func reportIDs(tb testing.TB, svc *sqlite.ReportService, incidentID string) map[string]bool {
	tb.Helper()
	reports, total, err := svc.FindReports(context.Background(), tocsin.ReportFilter{IncidentID: &incidentID})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]bool{}
	for _, r := range reports {
		out[r.ID] = true
	}
	if total != len(out) {
		tb.Fatalf("incident %s: total %d, %d reports listed", incidentID, total, len(out))
	}
	return out
}

func TestExpireReports(t *testing.T) {
	db := MustOpenDB(t)
	clk := newClock(t0)
	db.Now = clk.Now
	raw := MustOpenRaw(t, db.Path)
	svc := sqlite.NewReportService(db)
	incidents := sqlite.NewIncidentService(db)
	audit := sqlite.NewAuditService(db)
	vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	sys := tocsin.NewContextWithSystem(context.Background())
	client := func(name string) context.Context { return tocsin.NewContextWithClient(context.Background(), name) }

	// Verified: two reports at t0, and (below) a third that arrives later
	// but says it was seen earlier.
	a1 := mustSubmit(t, client("a"), svc, newReport(40, -105, "Fire"), "key-a1")
	a2 := mustSubmit(t, client("b"), svc, newReport(40.001, -105, "Fire"), "key-a2")
	// Rejected: one report.
	b1 := mustSubmit(t, client("a"), svc, newReport(45, -100, "Met"), "key-b1")
	// Still in the queue: one unverified, one corroborated.
	c1 := mustSubmit(t, client("c"), svc, newReport(35, -90, "Fire"), "key-c1")
	d1 := MustReport(t, client("d"), db, newReport(30, -95, "Health"))
	d2 := MustReport(t, client("e"), db, newReport(30, -95, "Health"))
	if a1.IncidentID != a2.IncidentID || d1.IncidentID != d2.IncidentID {
		t.Fatal("the reports did not cluster as the test needs")
	}
	if _, err := incidents.DecideIncident(vctx, a1.IncidentID, tocsin.IncidentVerified, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := incidents.DecideIncident(vctx, b1.IncidentID, tocsin.IncidentUnverifiable, "no trace"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	late := newReport(40, -105, "Fire")
	late.ObservedAt = t0.Add(-time.Hour) // back-dated to before everything else
	a3 := mustSubmit(t, client("f"), svc, late, "key-a3")
	if a3.IncidentID != a1.IncidentID {
		t.Fatalf("the late report went to %s, not the verified incident %s", a3.IncidentID, a1.IncidentID)
	}

	before := incidentsByID(t, db, vctx)
	if got := before[d1.IncidentID].State; got != tocsin.IncidentCorroborated {
		t.Fatalf("incident of d1 and d2 is %s, want corroborated", got)
	}
	events, err := audit.VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	// Only tocsin itself sweeps.
	cut := t0.Add(30 * time.Minute)
	for _, ctx := range []context.Context{context.Background(), vctx} {
		_, err := svc.ExpireReports(ctx, cut)
		wantCode(t, err, tocsin.EFORBIDDEN)
	}
	if n := countRows(t, raw, "reports"); n != 7 {
		t.Fatalf("%d reports after refused sweeps; want all 7", n)
	}

	n, err := svc.ExpireReports(sys, cut)
	if err != nil {
		t.Fatal(err)
	}
	// a1, a2 (verified) and b1 (rejected) were received before the cut;
	// a3 was received after it, whatever its observed_at says; c1, d1 and
	// d2 wait for a verifier.
	if n != 3 {
		t.Errorf("ExpireReports = %d; want 3 (a1, a2, b1)", n)
	}
	for inc, want := range map[string][]string{
		a1.IncidentID: {a3.ReportID},
		b1.IncidentID: nil,
		c1.IncidentID: {c1.ReportID},
		d1.IncidentID: {d1.ID, d2.ID},
	} {
		got := reportIDs(t, svc, inc)
		if len(got) != len(want) {
			t.Errorf("incident %s has reports %v; want %v", inc, got, want)
		}
		for _, id := range want {
			if !got[id] {
				t.Errorf("incident %s lost report %s", inc, id)
			}
		}
	}
	// The photos and idempotency keys of a1, a2 and b1 went with them.
	for _, table := range []string{"report_photos", "report_idempotency"} {
		var left []string
		rows, err := raw.Query(`SELECT report_id FROM ` + table + ` ORDER BY report_id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			left = append(left, id)
		}
		rows.Close()
		if len(left) != 2 || !(left[0] == a3.ReportID && left[1] == c1.ReportID || left[0] == c1.ReportID && left[1] == a3.ReportID) {
			t.Errorf("%s holds rows of %v; want only a3's and c1's", table, left)
		}
	}
	if _, err := svc.FindPhoto(vctx, a1.ReportID); tocsin.ErrorCode(err) != tocsin.ENOTFOUND {
		t.Errorf("photo of an expired report: %v; want ENOTFOUND", err)
	}
	// The incidents are as they were: counts, centre, times and state.
	after := incidentsByID(t, db, vctx)
	for id, b := range before {
		a := after[id]
		if a.ReportCount != b.ReportCount || a.ReporterCount != b.ReporterCount || a.Lat != b.Lat || a.Lon != b.Lon ||
			!a.FirstSeen.Equal(b.FirstSeen) || !a.LastSeen.Equal(b.LastSeen) || a.State != b.State {
			t.Errorf("incident %s changed:\n before %+v\n after  %+v", id, b, a)
		}
	}
	if a := after[a1.IncidentID]; a.ReportCount != 3 || a.ReporterCount != 3 {
		t.Errorf("verified incident counts %d reports by %d reporters; want 3 by 3", a.ReportCount, a.ReporterCount)
	}

	// One event for the sweep, by the system, and the chain holds.
	got, err := audit.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("audit chain after the sweep: %v", err)
	}
	if got != events+1 {
		t.Errorf("%d audit events after the sweep; want %d", got, events+1)
	}
	evs, err := audit.FindAuditEvents(context.Background(), int64(events), 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("audit events after the sweep: %v, %v; want one", evs, err)
	}
	sweep := evs[0]
	var detail struct {
		Reports        int    `json:"reports"`
		Incidents      int    `json:"incidents"`
		ReceivedBefore string `json:"received_before"`
	}
	if err := json.Unmarshal(sweep.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if sweep.Actor != "system" || sweep.Action != "report.expire" || detail.Reports != 3 || detail.Incidents != 2 || detail.ReceivedBefore != cut.Format(time.RFC3339Nano) {
		t.Errorf("sweep event %+v (%s); want system report.expire of 3 reports in 2 incidents received before %s", sweep, sweep.Detail, cut)
	}

	// A second sweep with the same cut-off finds nothing and writes nothing.
	if n, err := svc.ExpireReports(sys, cut); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v; want 0, nil", n, err)
	}
	if again, err := audit.VerifyAudit(context.Background()); err != nil || again != got {
		t.Errorf("audit after an empty sweep: %d events, %v; want %d, nil", again, err, got)
	}

	// The idempotency key went with its report: sent again, the same
	// report is filed anew instead of answered from a record that is gone.
	if sub, err := svc.SubmitReport(client("b"), newReport(40.001, -105, "Fire"), "key-a2"); err != nil || sub.Replayed || sub.ReportID == a2.ReportID {
		t.Errorf("resubmitting an expired report's key: %+v, %v; want a new report", sub, err)
	}
}

// TestExpireReports_RecountKeepsExpired checks that a verified incident
// whose reports expired goes on counting them when a new report joins it
// and when another incident is merged into it.
func TestExpireReports_RecountKeepsExpired(t *testing.T) {
	db := MustOpenDB(t)
	clk := newClock(t0)
	db.Now = clk.Now
	svc := sqlite.NewReportService(db)
	incidents := sqlite.NewIncidentService(db)
	vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	sys := tocsin.NewContextWithSystem(context.Background())
	client := func(name string) context.Context { return tocsin.NewContextWithClient(context.Background(), name) }

	r1 := MustReport(t, client("a"), db, newReport(40, -105, "Fire"))
	MustReport(t, client("b"), db, newReport(40.001, -105, "Fire"))
	r4 := MustReport(t, client("d"), db, newReport(41, -106, "Fire"))
	for _, id := range []string{r1.IncidentID, r4.IncidentID} {
		if _, err := incidents.DecideIncident(vctx, id, tocsin.IncidentVerified, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Reporter a reports again; that report is younger than the cut-off,
	// so a is still one of the incident's own reporters after the sweep.
	clk.Advance(time.Hour)
	if r := MustReport(t, client("a"), db, newReport(40, -105, "Fire")); r.IncidentID != r1.IncidentID {
		t.Fatalf("a's second report opened %s instead of joining %s", r.IncidentID, r1.IncidentID)
	}
	if n, err := svc.ExpireReports(sys, t0.Add(30*time.Minute)); err != nil || n != 3 {
		t.Fatalf("ExpireReports = %d, %v; want 3, nil", n, err)
	}

	clk.Advance(time.Hour)
	r3 := MustReport(t, client("c"), db, newReport(40, -105, "Fire"))
	if r3.IncidentID != r1.IncidentID {
		t.Fatalf("the new report opened %s instead of joining %s", r3.IncidentID, r1.IncidentID)
	}
	inc, err := incidents.FindIncidentByID(vctx, r1.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	// 4 reports (2 expired) by a, b and c; centre the mean of 40, 40.001,
	// 40 and 40.
	if inc.ReportCount != 4 || inc.ReporterCount != 3 || !inc.FirstSeen.Equal(t0) || !inc.LastSeen.Equal(t0.Add(2*time.Hour)) ||
		math.Abs(inc.Lat-40.00025) > 0.0001 || inc.Lon != -105 {
		t.Errorf("after a report joined: %d reports by %d reporters, seen %s to %s, centre %v, %v; want 4 by 3, %s to %s, 40.0002, -105",
			inc.ReportCount, inc.ReporterCount, inc.FirstSeen, inc.LastSeen, inc.Lat, inc.Lon, t0, t0.Add(2*time.Hour))
	}

	// r4's incident has no report left; merging it hands on its counts.
	_, target, err := incidents.MergeIncidents(vctx, r4.IncidentID, r1.IncidentID, "same fire")
	if err != nil {
		t.Fatal(err)
	}
	if target.ReportCount != 5 || target.ReporterCount != 4 || !target.FirstSeen.Equal(t0) || math.Abs(target.Lat-40.2002) > 0.0001 || math.Abs(target.Lon+105.2) > 0.0001 {
		t.Errorf("after the merge: %d reports by %d reporters, first seen %s, centre %v, %v; want 5 by 4, %s, 40.2002, -105.2",
			target.ReportCount, target.ReporterCount, target.FirstSeen, target.Lat, target.Lon, t0)
	}
	if n, err := sqlite.NewAuditService(db).VerifyAudit(context.Background()); err != nil || n == 0 {
		t.Errorf("VerifyAudit = %d, %v", n, err)
	}
}
