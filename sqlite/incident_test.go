package sqlite_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

func TestDecideIncident_NeedsVerifier(t *testing.T) {
	db := MustOpenDB(t)
	incidents := sqlite.NewIncidentService(db)
	inc := MustReport(t, context.Background(), db, newReport(40, -105, "Fire")).IncidentID
	reporter, _ := MustPrincipal(t, db, "reporter", tocsin.RoleReporter)
	tests := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"anonymous", context.Background(), tocsin.EUNAUTHORIZED},
		{"reporter", reporter, tocsin.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, state := range []tocsin.IncidentState{tocsin.IncidentVerified, tocsin.IncidentUnverifiable} {
				_, err := incidents.DecideIncident(tt.ctx, inc, state, "")
				wantCode(t, err, tt.want)
			}
			if _, err := incidents.FindIncidentByID(tt.ctx, inc); tocsin.ErrorCode(err) != tt.want {
				t.Errorf("FindIncidentByID: %v; want %s", err, tt.want)
			}
			if _, _, err := incidents.FindIncidents(tt.ctx, tocsin.IncidentFilter{}); tocsin.ErrorCode(err) != tt.want {
				t.Errorf("FindIncidents: %v; want %s", err, tt.want)
			}
		})
	}
	vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	got, err := incidents.FindIncidentByID(vctx, inc)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != tocsin.IncidentUnverified || got.DecidedBy != nil {
		t.Errorf("after refused decisions the incident is %s, decided by %v; want unverified, undecided", got.State, got.DecidedBy)
	}
}

func TestDecideIncident(t *testing.T) {
	tests := []struct {
		name   string
		first  tocsin.IncidentState
		second tocsin.IncidentState
	}{
		{"verify twice", tocsin.IncidentVerified, tocsin.IncidentVerified},
		{"reject twice", tocsin.IncidentUnverifiable, tocsin.IncidentUnverifiable},
		{"verify after reject", tocsin.IncidentUnverifiable, tocsin.IncidentVerified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := MustOpenDB(t)
			incidents := sqlite.NewIncidentService(db)
			id := MustReport(t, context.Background(), db, newReport(40, -105, "Fire")).IncidentID
			vctx, verifier := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
			other, _ := MustPrincipal(t, db, "other verifier", tocsin.RoleVerifier)
			inc, err := incidents.DecideIncident(vctx, id, tt.first, "seen from the fire lookout")
			if err != nil {
				t.Fatal(err)
			}
			if inc.State != tt.first || inc.DecidedBy == nil || *inc.DecidedBy != verifier.ID || inc.DecidedAt == nil || !inc.DecidedAt.Equal(t0) || inc.Note != "seen from the fire lookout" {
				t.Errorf("decided incident = %+v; want %s by %d at %s with the note", inc, tt.first, verifier.ID, t0)
			}
			stored, err := incidents.FindIncidentByID(vctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if stored.State != tt.first || stored.DecidedBy == nil || *stored.DecidedBy != verifier.ID {
				t.Errorf("stored incident = %+v; want %s by %d", stored, tt.first, verifier.ID)
			}
			_, err = incidents.DecideIncident(other, id, tt.second, "")
			wantCode(t, err, tocsin.ECONFLICT)
			stored, err = incidents.FindIncidentByID(vctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if stored.State != tt.first || *stored.DecidedBy != verifier.ID {
				t.Errorf("after the refused second decision the incident is %s by %d; want %s by %d", stored.State, *stored.DecidedBy, tt.first, verifier.ID)
			}
		})
	}
}

func TestDecideIncident_BadInput(t *testing.T) {
	db := MustOpenDB(t)
	incidents := sqlite.NewIncidentService(db)
	id := MustReport(t, context.Background(), db, newReport(40, -105, "Fire")).IncidentID
	vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)

	_, err := incidents.DecideIncident(vctx, "inc_missing", tocsin.IncidentVerified, "")
	wantCode(t, err, tocsin.ENOTFOUND)
	_, err = incidents.DecideIncident(vctx, id, tocsin.IncidentCorroborated, "")
	wantCode(t, err, tocsin.EINVALID)
	_, err = incidents.DecideIncident(vctx, id, tocsin.IncidentVerified, strings.Repeat("n", 2001))
	wantField(t, err, "note")
	_, err = incidents.FindIncidentByID(vctx, "inc_missing")
	wantCode(t, err, tocsin.ENOTFOUND)
	bad := tocsin.IncidentState("open")
	_, _, err = incidents.FindIncidents(vctx, tocsin.IncidentFilter{State: &bad})
	wantField(t, err, "state")

	inc, err := incidents.FindIncidentByID(vctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if inc.State != tocsin.IncidentUnverified {
		t.Errorf("after bad decisions the incident is %s; want unverified", inc.State)
	}
}

func TestFindIncidents_FiltersByState(t *testing.T) {
	db := MustOpenDB(t)
	incidents := sqlite.NewIncidentService(db)
	vctx, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	a := MustReport(t, context.Background(), db, newReport(40, -105, "Fire")).IncidentID
	b := MustReport(t, context.Background(), db, newReport(41, -105, "Fire")).IncidentID
	if _, err := incidents.DecideIncident(vctx, a, tocsin.IncidentVerified, ""); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		state tocsin.IncidentState
		want  string
	}{{tocsin.IncidentVerified, a}, {tocsin.IncidentUnverified, b}} {
		st := tt.state
		got, total, err := incidents.FindIncidents(vctx, tocsin.IncidentFilter{State: &st})
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 || len(got) != 1 || got[0].ID != tt.want {
			t.Errorf("state %s: %d incidents (total %d); want only %s", st, len(got), total, tt.want)
		}
	}
}
