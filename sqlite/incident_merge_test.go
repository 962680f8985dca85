package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

// mergeFixture is two open Fire incidents 5 km apart: a with two reports by
// two reporters, b with one report by a third, observed earlier and later
// than a's.
type mergeFixture struct {
	db        *sqlite.DB
	incidents *sqlite.IncidentService
	vctx      context.Context
	verifier  *tocsin.Principal
	a, b      string
	bReport   string
}

func newMergeFixture(t *testing.T) *mergeFixture {
	t.Helper()
	db := MustOpenDB(t)
	f := &mergeFixture{db: db, incidents: sqlite.NewIncidentService(db)}
	f.vctx, f.verifier = MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	r1, _ := MustPrincipal(t, db, "reporter 1", tocsin.RoleReporter)
	r2, _ := MustPrincipal(t, db, "reporter 2", tocsin.RoleReporter)
	r3, _ := MustPrincipal(t, db, "reporter 3", tocsin.RoleReporter)
	first := newReport(40.000, -105.000, "Fire")
	first.ObservedAt = t0.Add(-30 * time.Minute)
	f.a = MustReport(t, r1, db, first).IncidentID
	second := newReport(40.002, -105.000, "Fire")
	second.ObservedAt = t0.Add(-20 * time.Minute)
	if got := MustReport(t, r2, db, second).IncidentID; got != f.a {
		t.Fatalf("the second report opened incident %s; want it in %s", got, f.a)
	}
	far := newReport(40.045, -105.000, "Fire") // 5 km north
	far.ObservedAt = t0.Add(-5 * time.Minute)
	far.Text = "flames seen from the north road"
	rb := MustReport(t, r3, db, far)
	f.b, f.bReport = rb.IncidentID, rb.ID
	if f.b == f.a {
		t.Fatalf("the far report joined %s; want an incident of its own", f.a)
	}
	return f
}

func (f *mergeFixture) find(t *testing.T, id string) *tocsin.Incident {
	t.Helper()
	inc, err := f.incidents.FindIncidentByID(f.vctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func TestMergeIncidents(t *testing.T) {
	f := newMergeFixture(t)
	before := f.find(t, f.a)
	if before.ReportCount != 2 || before.ReporterCount != 2 || before.State != tocsin.IncidentCorroborated {
		t.Fatalf("incident a before = %+v; want 2 reports by 2 reporters, corroborated", before)
	}

	merged, target, err := f.incidents.MergeIncidents(f.vctx, f.b, f.a, "same fire, seen from the north")
	if err != nil {
		t.Fatal(err)
	}
	if merged.ID != f.b || merged.State != tocsin.IncidentMerged || merged.MergedInto != f.a ||
		merged.DecidedBy == nil || *merged.DecidedBy != f.verifier.ID || merged.DecidedAt == nil || merged.Note != "same fire, seen from the north" {
		t.Errorf("merged incident = %+v; want b merged into a by the verifier, with the note", merged)
	}
	if target.ID != f.a || target.ReportCount != 3 || target.ReporterCount != 3 || target.State != tocsin.IncidentCorroborated {
		t.Errorf("target = %+v; want a with 3 reports by 3 reporters, still corroborated", target)
	}
	if !target.FirstSeen.Equal(t0.Add(-30*time.Minute)) || !target.LastSeen.Equal(t0.Add(-5*time.Minute)) {
		t.Errorf("target seen %s – %s; want %s – %s", target.FirstSeen, target.LastSeen, t0.Add(-30*time.Minute), t0.Add(-5*time.Minute))
	}
	if want := (40.000 + 40.002 + 40.045) / 3; target.Lat < want-0.001 || target.Lat > want+0.001 || target.Lon != -105 {
		t.Errorf("target centre %v, %v; want the mean of the three reports (%v, -105)", target.Lat, target.Lon, want)
	}
	// What the service answered is what it stored.
	if stored := f.find(t, f.a); stored.ReportCount != 3 || stored.LastSeen != target.LastSeen {
		t.Errorf("stored target = %+v; want it as answered", stored)
	}
	if stored := f.find(t, f.b); stored.State != tocsin.IncidentMerged || stored.MergedInto != f.a {
		t.Errorf("stored source = %+v; want merged into %s", stored, f.a)
	}

	// Every report is now a's, the far one included; b has none.
	reports := sqlite.NewReportService(f.db)
	id := f.a
	got, total, err := reports.FindReports(f.vctx, tocsin.ReportFilter{IncidentID: &id})
	if err != nil || total != 3 || len(got) != 3 {
		t.Fatalf("reports of a: %d (%v); want 3", total, err)
	}
	id = f.b
	if _, total, _ := reports.FindReports(f.vctx, tocsin.ReportFilter{IncidentID: &id}); total != 0 {
		t.Errorf("b still has %d reports", total)
	}

	// The merged incident leaves the queue of open incidents.
	open, total, err := f.incidents.FindIncidents(f.vctx, tocsin.IncidentFilter{States: tocsin.OpenIncidentStates()})
	if err != nil || total != 1 || len(open) != 1 || open[0].ID != f.a {
		t.Errorf("open incidents %v (total %d, %v); want only a", open, total, err)
	}
	st := tocsin.IncidentMerged
	if list, _, _ := f.incidents.FindIncidents(f.vctx, tocsin.IncidentFilter{State: &st}); len(list) != 1 || list[0].ID != f.b {
		t.Errorf("merged incidents %v; want b", list)
	}

	// The decision is in the audit chain, and the chain still holds.
	audit := sqlite.NewAuditService(f.db)
	events, err := audit.FindAuditEvents(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range events {
		if e.Action != "incident.merge" {
			continue
		}
		var d struct {
			Into    string `json:"into"`
			From    string `json:"from"`
			Reports int    `json:"reports"`
		}
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatalf("audit detail %s: %v", e.Detail, err)
		}
		found = e.Subject == f.b && d.Into == f.a && d.Reports == 1 && d.From == "unverified" && e.Actor == fmt.Sprintf("principal:%d", f.verifier.ID)
		if !found {
			t.Errorf("audit event %+v (%s); want b merged into a by the verifier, 1 report moved", e, e.Detail)
		}
	}
	if !found {
		t.Error("no incident.merge event in the audit log")
	}
	if _, err := audit.VerifyAudit(context.Background()); err != nil {
		t.Errorf("audit chain: %v", err)
	}

	// A merged incident cannot be decided or merged again.
	_, err = f.incidents.DecideIncident(f.vctx, f.b, tocsin.IncidentVerified, "")
	wantCode(t, err, tocsin.ECONFLICT)
}

func TestMergeIncidents_Refused(t *testing.T) {
	f := newMergeFixture(t)
	reporter, _ := MustPrincipal(t, f.db, "reporter", tocsin.RoleReporter)
	met := MustReport(t, context.Background(), f.db, newReport(41, -105, "Met")).IncidentID
	rejected := MustReport(t, context.Background(), f.db, newReport(42, -105, "Fire")).IncidentID
	if _, err := f.incidents.DecideIncident(f.vctx, rejected, tocsin.IncidentUnverifiable, ""); err != nil {
		t.Fatal(err)
	}
	gone := MustReport(t, context.Background(), f.db, newReport(43, -105, "Fire")).IncidentID
	if _, _, err := f.incidents.MergeIncidents(f.vctx, gone, f.a, ""); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		ctx      context.Context
		id, into string
		note     string
		code     string
		field    string
	}{
		{"anonymous", context.Background(), f.b, f.a, "", tocsin.EUNAUTHORIZED, ""},
		{"reporter", reporter, f.b, f.a, "", tocsin.EFORBIDDEN, ""},
		{"into itself", f.vctx, f.b, f.b, "", tocsin.EINVALID, "into"},
		{"into nothing", f.vctx, f.b, " ", "", tocsin.EINVALID, "into"},
		{"into an unknown incident", f.vctx, f.b, "inc_missing", "", tocsin.EINVALID, "into"},
		{"an unknown incident", f.vctx, "inc_missing", f.a, "", tocsin.ENOTFOUND, ""},
		{"across categories", f.vctx, f.b, met, "", tocsin.ECONFLICT, "into"},
		{"into a rejected incident", f.vctx, f.b, rejected, "", tocsin.ECONFLICT, "into"},
		{"into a merged incident", f.vctx, f.b, gone, "", tocsin.ECONFLICT, "into"},
		{"a rejected incident", f.vctx, rejected, f.a, "", tocsin.ECONFLICT, ""},
		{"a merged incident", f.vctx, gone, f.b, "", tocsin.ECONFLICT, ""},
		{"a long note", f.vctx, f.b, f.a, strings.Repeat("n", 2001), tocsin.EINVALID, "note"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.incidents.MergeIncidents(tt.ctx, tt.id, tt.into, tt.note)
			wantCode(t, err, tt.code)
			if tt.field != "" {
				var named bool
				for _, fe := range tocsin.ErrorFields(err) {
					named = named || fe.Field == tt.field && fe.Detail != ""
				}
				if !named {
					t.Errorf("error %v does not name %q", err, tt.field)
				}
			}
		})
	}
	// Nothing moved.
	if a := f.find(t, f.a); a.ReportCount != 3 { // two of its own and gone's
		t.Errorf("a has %d reports; want 3", a.ReportCount)
	}
	if b := f.find(t, f.b); b.State != tocsin.IncidentUnverified || b.ReportCount != 1 || b.MergedInto != "" {
		t.Errorf("b = %+v; want it untouched", b)
	}
}

// TestMergeIncidents_OneTransaction makes the last step of a merge fail (a
// trigger refuses marking the source merged) and checks that the reports
// moved before it are back where they were.
func TestMergeIncidents_OneTransaction(t *testing.T) {
	f := newMergeFixture(t)
	raw := MustOpenRaw(t, f.db.Path)
	MustExec(t, raw, `CREATE TRIGGER refuse_merge BEFORE UPDATE OF state ON incidents WHEN NEW.state = 'merged'
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`)
	if _, _, err := f.incidents.MergeIncidents(f.vctx, f.b, f.a, ""); err == nil || !strings.Contains(err.Error(), "refused by the test") {
		t.Fatalf("merge with the trigger: %v; want the trigger's refusal", err)
	}
	var inB int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM reports WHERE incident_id = ?`, f.b).Scan(&inB); err != nil {
		t.Fatal(err)
	}
	if a, b := f.find(t, f.a), f.find(t, f.b); inB != 1 || a.ReportCount != 2 || b.State != tocsin.IncidentUnverified {
		t.Errorf("after a failed merge: b has %d report rows, a counts %d, b is %s; want 1, 2, unverified", inB, a.ReportCount, b.State)
	}
	MustExec(t, raw, `DROP TRIGGER refuse_merge`)
	if _, target, err := f.incidents.MergeIncidents(f.vctx, f.b, f.a, ""); err != nil || target.ReportCount != 3 {
		t.Fatalf("merge after the trigger is gone: %v, %+v", err, target)
	}
}
