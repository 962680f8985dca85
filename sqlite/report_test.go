package sqlite_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

// kmNorth is the change in latitude of a point km kilometres north, on the
// sphere geo uses (one degree is about 111.2 km).
func kmNorth(km float64) float64 { return km / 111.195 }

// kmEast is the change in longitude of a point km kilometres east at lat.
func kmEast(lat, km float64) float64 { return km / (111.195 * math.Cos(lat*math.Pi/180)) }

func TestCreateReport_Clustering(t *testing.T) {
	const lat, lon = 39.7392, -104.9903
	tests := []struct {
		name    string
		after   time.Duration // clock moves this far between the two reports
		lat     float64
		lon     float64
		cat     tocsin.Category
		joins   bool
		explain string
	}{
		{"same place", 0, lat, lon, "Fire", true, ""},
		{"500 m north, 1 h later", time.Hour, lat + kmNorth(0.5), lon, "Fire", true, ""},
		{"900 m east, 2 h 50 min later", 2*time.Hour + 50*time.Minute, lat, lon + kmEast(lat, 0.9), "Fire", true, ""},
		{"different category", 0, lat, lon, "Met", false, "a Met report must not join a Fire incident"},
		{"2 km north", 10 * time.Minute, lat + kmNorth(2), lon, "Fire", false, "2 km is beyond the 1 km cluster radius"},
		{"2 km east", 10 * time.Minute, lat, lon + kmEast(lat, 2), "Fire", false, "2 km is beyond the 1 km cluster radius"},
		{"4 h later", 4 * time.Hour, lat, lon, "Fire", false, "4 h is beyond the 3 h cluster window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpenDB(t)
			clk := newClock(t0)
			db.Now = clk.Now
			ctx := tocsin.NewContextWithClient(context.Background(), "client-a")
			first := MustReport(t, ctx, db, newReport(lat, lon, "Fire"))
			clk.Advance(tt.after)
			ctxB := tocsin.NewContextWithClient(context.Background(), "client-b")
			second := MustReport(t, ctxB, db, newReport(tt.lat, tt.lon, tt.cat))
			if joined := second.IncidentID == first.IncidentID; joined != tt.joins {
				t.Fatalf("second report joined the first's incident: %v; want %v. %s", joined, tt.joins, tt.explain)
			}
			vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
			incs, total, err := sqlite.NewIncidentService(db).FindIncidents(vctx, tocsin.IncidentFilter{})
			if err != nil {
				t.Fatal(err)
			}
			wantIncidents := 2
			if tt.joins {
				wantIncidents = 1
			}
			if total != wantIncidents || len(incs) != wantIncidents {
				t.Fatalf("%d incidents (total %d); want %d", len(incs), total, wantIncidents)
			}
			if tt.joins && incs[0].Category != "Fire" {
				t.Errorf("incident category %s; want Fire", incs[0].Category)
			}
		})
	}
}

// TestCreateReport_ClusterJoinsOnlyOpenIncidents checks that a rejected
// incident does not swallow new reports.
func TestCreateReport_ClusterJoinsOnlyOpenIncidents(t *testing.T) {
	db := MustOpenDB(t)
	vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	first := MustReport(t, context.Background(), db, newReport(40, -105, "Fire"))
	if _, err := sqlite.NewIncidentService(db).DecideIncident(vctx, first.IncidentID, tocsin.IncidentUnverifiable, "false alarm"); err != nil {
		t.Fatal(err)
	}
	second := MustReport(t, context.Background(), db, newReport(40, -105, "Fire"))
	if second.IncidentID == first.IncidentID {
		t.Fatal("a report joined a rejected incident")
	}
}

func TestCreateReport_Counts(t *testing.T) {
	db := MustOpenDB(t)
	vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	incidents := sqlite.NewIncidentService(db)
	clientA := tocsin.NewContextWithClient(context.Background(), "hash-a")
	clientB := tocsin.NewContextWithClient(context.Background(), "hash-b")
	rctx, _ := MustPrincipal(t, db, "reporter", tocsin.RoleReporter)

	steps := []struct {
		name      string
		ctx       context.Context
		lat, lon  float64
		reports   int
		reporters int
		state     tocsin.IncidentState
	}{
		{"first report from client A", clientA, 40, -105, 1, 1, tocsin.IncidentUnverified},
		{"client A again, 300 m away, counts once", clientA, 40 + kmNorth(0.3), -105, 2, 1, tocsin.IncidentUnverified},
		{"client B corroborates", clientB, 40, -105, 3, 2, tocsin.IncidentCorroborated},
		{"a principal is a third reporter", rctx, 40, -105, 4, 3, tocsin.IncidentCorroborated},
		{"the principal again counts once", rctx, 40, -105, 5, 3, tocsin.IncidentCorroborated},
	}
	var id string
	for _, st := range steps {
		r := MustReport(t, st.ctx, db, newReport(st.lat, st.lon, "Fire"))
		if id == "" {
			id = r.IncidentID
		} else if r.IncidentID != id {
			t.Fatalf("%s: report went to incident %s; want %s", st.name, r.IncidentID, id)
		}
		inc, err := incidents.FindIncidentByID(vctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if inc.ReportCount != st.reports || inc.ReporterCount != st.reporters || inc.State != st.state {
			t.Errorf("%s: report_count %d, reporter_count %d, state %s; want %d, %d, %s",
				st.name, inc.ReportCount, inc.ReporterCount, inc.State, st.reports, st.reporters, st.state)
		}
	}
}

// TestCreateReport_OneReporterNeverCorroborates checks that one client
// repeating itself does not corroborate an incident.
func TestCreateReport_OneReporterNeverCorroborates(t *testing.T) {
	db := MustOpenDB(t)
	vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	ctx := tocsin.NewContextWithClient(context.Background(), "hash-a")
	var id string
	for i := 0; i < 5; i++ {
		id = MustReport(t, ctx, db, newReport(40, -105, "Fire")).IncidentID
	}
	inc, err := sqlite.NewIncidentService(db).FindIncidentByID(vctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if inc.ReportCount != 5 || inc.ReporterCount != 1 || inc.State != tocsin.IncidentUnverified {
		t.Errorf("incident = %d reports, %d reporters, %s; want 5, 1, unverified", inc.ReportCount, inc.ReporterCount, inc.State)
	}
}

func TestCreateReport_CoarsensPosition(t *testing.T) {
	const lat, lon = 39.7392358, -104.9902518
	tests := []struct {
		decimals         int
		wantLat, wantLon float64
		precise          string // must not be stored anywhere
	}{
		{3, 39.739, -104.99, "39.7392358"},
		{2, 39.74, -104.99, "39.7392358"},
		{4, 39.7392, -104.9903, "39.7392358"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("decimals=%d", tt.decimals), func(t *testing.T) {
			db := MustOpenDB(t)
			db.LocationDecimals = tt.decimals
			r := MustReport(t, context.Background(), db, newReport(lat, lon, "Fire"))
			if r.Lat != tt.wantLat || r.Lon != tt.wantLon {
				t.Errorf("returned report at %v, %v; want %v, %v", r.Lat, r.Lon, tt.wantLat, tt.wantLon)
			}
			reports, _, err := sqlite.NewReportService(db).FindReports(context.Background(), tocsin.ReportFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if got := reports[0]; got.Lat != tt.wantLat || got.Lon != tt.wantLon {
				t.Errorf("stored report at %v, %v; want %v, %v", got.Lat, got.Lon, tt.wantLat, tt.wantLon)
			}
			vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
			inc, err := sqlite.NewIncidentService(db).FindIncidentByID(vctx, r.IncidentID)
			if err != nil {
				t.Fatal(err)
			}
			if inc.Lat != tt.wantLat || inc.Lon != tt.wantLon {
				t.Errorf("incident centre %v, %v; want %v, %v", inc.Lat, inc.Lon, tt.wantLat, tt.wantLon)
			}
			if dump := dumpText(t, MustOpenRaw(t, db.Path)); strings.Contains(dump, tt.precise) || strings.Contains(dump, "39.73923") {
				t.Errorf("the precise position is stored: %s", dump)
			}
		})
	}
}
