package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sqlite"
)

// allEvents returns every outbox event, oldest first.
func allEvents(tb testing.TB, db *sqlite.DB) []*tocsin.Event {
	tb.Helper()
	ev, err := sqlite.NewOutbox(db).EventsAfter(context.Background(), 0, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

// eventsFor returns the outbox events announcing alert id.
func eventsFor(tb testing.TB, db *sqlite.DB, id string) []*tocsin.Event {
	tb.Helper()
	var out []*tocsin.Event
	for _, e := range allEvents(tb, db) {
		if e.AlertID == id {
			out = append(out, e)
		}
	}
	return out
}

// mustState fails the test unless alert id is in state want.
func mustState(tb testing.TB, svc *sqlite.AlertService, id string, want tocsin.AlertState) *tocsin.Alert {
	tb.Helper()
	a, err := svc.FindAlertByID(context.Background(), id)
	if err != nil {
		tb.Fatalf("find alert %s: %v", id, err)
	}
	if a.State != want {
		tb.Fatalf("alert %s is %s; want %s", id, a.State, want)
	}
	return a
}

// alertServices opens a database with two publishers.
func alertServices(tb testing.TB) (db *sqlite.DB, svc *sqlite.AlertService, pub1, pub2 context.Context, p1, p2 *tocsin.Principal) {
	tb.Helper()
	db = MustOpenDB(tb)
	svc = sqlite.NewAlertService(db)
	pub1, p1 = MustPrincipal(tb, db, "publisher one", tocsin.RolePublisher)
	pub2, p2 = MustPrincipal(tb, db, "publisher two", tocsin.RolePublisher)
	return db, svc, pub1, pub2, p1, p2
}

func TestCreateAlert_NeedsPublisher(t *testing.T) {
	db := MustOpenDB(t)
	svc := sqlite.NewAlertService(db)
	reporter, _ := MustPrincipal(t, db, "reporter", tocsin.RoleReporter)
	verifier, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"anonymous", context.Background(), tocsin.EUNAUTHORIZED},
		{"reporter", reporter, tocsin.EFORBIDDEN},
		{"verifier", verifier, tocsin.EFORBIDDEN},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, svc.CreateAlert(tt.ctx, newAlert("Moderate", 40, -105)), tt.want)
		})
	}
	raw := MustOpenRaw(t, db.Path)
	if n := countRows(t, raw, "alerts"); n != 0 {
		t.Errorf("%d alerts stored; want 0", n)
	}
}

func TestCreateAlert_ModeratePublishesAtOnce(t *testing.T) {
	db, svc, pub1, _, p1, _ := alertServices(t)
	notified := 0
	svc.Notify = func() { notified++ }
	a := MustAlert(t, pub1, svc, newAlert("Moderate", 40, -105))
	if a.State != tocsin.AlertPublished || a.PublishedAt == nil || a.AuthorID != p1.ID || a.MsgType != "Alert" || a.Scope != "Public" {
		t.Errorf("created alert = %+v; want published Alert, Public, by %d", a, p1.ID)
	}
	if a.Infos[0].Provenance != "human" {
		t.Errorf("provenance %q; want human", a.Infos[0].Provenance)
	}
	stored := mustState(t, svc, a.ID, tocsin.AlertPublished)
	if len(stored.Infos) != 2 || stored.Infos[1].Language != "es" || stored.Areas[0].Circle == nil {
		t.Errorf("stored alert = %+v; want both infos and the circle", stored)
	}
	ev := eventsFor(t, db, a.ID)
	if len(ev) != 1 || ev[0].Type != tocsin.EventAlertPublished {
		t.Fatalf("events for the alert = %v; want one alert.published", ev)
	}
	if notified != 1 {
		t.Errorf("Notify called %d times; want 1", notified)
	}
}

func TestCreateAlert_TwoPersonRule(t *testing.T) {
	for _, sev := range []tocsin.Severity{"Severe", "Extreme"} {
		t.Run(string(sev), func(t *testing.T) {
			db, svc, pub1, pub2, _, p2 := alertServices(t)
			notified := 0
			svc.Notify = func() { notified++ }
			a := MustAlert(t, pub1, svc, newAlert(sev, 40, -105))
			if a.State != tocsin.AlertPendingApproval || a.PublishedAt != nil {
				t.Fatalf("created %s alert is %s; want pending_approval", sev, a.State)
			}
			if ev := allEvents(t, db); len(ev) != 0 || notified != 0 {
				t.Fatalf("pending alert wrote events %v and notified %d times; want none", ev, notified)
			}

			_, err := svc.ApproveAlert(pub1, a.ID)
			wantCode(t, err, tocsin.EFORBIDDEN)
			mustState(t, svc, a.ID, tocsin.AlertPendingApproval)
			if ev := allEvents(t, db); len(ev) != 0 {
				t.Fatalf("refused approval wrote events %v", ev)
			}

			verifier, _ := MustPrincipal(t, db, "verifier", tocsin.RoleVerifier)
			_, err = svc.ApproveAlert(verifier, a.ID)
			wantCode(t, err, tocsin.EFORBIDDEN)

			got, err := svc.ApproveAlert(pub2, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tocsin.AlertPublished || got.ApprovedBy == nil || *got.ApprovedBy != p2.ID {
				t.Errorf("approved alert = %s approved by %v; want published by %d", got.State, got.ApprovedBy, p2.ID)
			}
			stored := mustState(t, svc, a.ID, tocsin.AlertPublished)
			if stored.ApprovedBy == nil || *stored.ApprovedBy != p2.ID || stored.PublishedAt == nil {
				t.Errorf("stored alert approved by %v at %v; want %d", stored.ApprovedBy, stored.PublishedAt, p2.ID)
			}
			if ev := eventsFor(t, db, a.ID); len(ev) != 1 || ev[0].Type != tocsin.EventAlertPublished {
				t.Fatalf("events after approval = %v; want one alert.published", ev)
			}

			_, err = svc.ApproveAlert(pub2, a.ID)
			wantCode(t, err, tocsin.ECONFLICT)
			if ev := allEvents(t, db); len(ev) != 1 {
				t.Errorf("second approval left %d events; want 1", len(ev))
			}
			if notified != 1 {
				t.Errorf("Notify called %d times; want 1", notified)
			}
			_, err = svc.ApproveAlert(pub2, "alr_missing")
			wantCode(t, err, tocsin.ENOTFOUND)
		})
	}
}

func TestCreateAlert_UpdateSupersedes(t *testing.T) {
	db, svc, pub1, _, _, _ := alertServices(t)
	old := MustAlert(t, pub1, svc, newAlert("Moderate", 40, -105))
	upd := newAlert("Moderate", 40, -105)
	upd.MsgType, upd.References = "Update", []string{old.ID}
	upd.Infos[0].Headline = "Wildfire spreading east"
	MustAlert(t, pub1, svc, upd)

	if upd.State != tocsin.AlertPublished {
		t.Errorf("update is %s; want published", upd.State)
	}
	mustState(t, svc, old.ID, tocsin.AlertSuperseded)
	if ev := eventsFor(t, db, upd.ID); len(ev) != 1 || ev[0].Type != tocsin.EventAlertUpdated {
		t.Errorf("events for the update = %v; want one alert.updated", ev)
	}
	if ev := eventsFor(t, db, old.ID); len(ev) != 1 || ev[0].Type != tocsin.EventAlertPublished {
		t.Errorf("events for the old alert = %v; want only its alert.published", ev)
	}
	ref := old.ID
	got, total, err := svc.FindAlerts(context.Background(), tocsin.AlertFilter{References: &ref})
	if err != nil || total != 1 || got[0].ID != upd.ID {
		t.Errorf("FindAlerts(References: old) = %v, %d, %v; want the update", got, total, err)
	}

	// The superseded alert can no longer be updated.
	again := newAlert("Moderate", 40, -105)
	again.MsgType, again.References = "Update", []string{old.ID}
	wantField(t, svc.CreateAlert(pub1, again), "references[0]")
}

// TestCreateAlert_LoudUpdateWaits checks that a Severe update waits for
// approval and leaves the alert it updates published until then.
func TestCreateAlert_LoudUpdateWaits(t *testing.T) {
	db, svc, pub1, pub2, _, _ := alertServices(t)
	old := MustAlert(t, pub1, svc, newAlert("Moderate", 40, -105))
	upd := newAlert("Severe", 40, -105)
	upd.MsgType, upd.References = "Update", []string{old.ID}
	MustAlert(t, pub1, svc, upd)
	mustState(t, svc, upd.ID, tocsin.AlertPendingApproval)
	mustState(t, svc, old.ID, tocsin.AlertPublished)
	if ev := eventsFor(t, db, upd.ID); len(ev) != 0 {
		t.Fatalf("pending update has events %v", ev)
	}
	if _, err := svc.ApproveAlert(pub2, upd.ID); err != nil {
		t.Fatal(err)
	}
	mustState(t, svc, old.ID, tocsin.AlertSuperseded)
	if ev := eventsFor(t, db, upd.ID); len(ev) != 1 || ev[0].Type != tocsin.EventAlertUpdated {
		t.Errorf("events for the approved update = %v; want one alert.updated", ev)
	}
}

func TestCancelAlert_Published(t *testing.T) {
	db, svc, pub1, pub2, _, p2 := alertServices(t)
	db.CancelledLabel = func(language string) string { return map[string]string{"es": "Cancelada"}[language] } // else English
	old := MustAlert(t, pub1, svc, newAlert("Moderate", 40, -105))
	c, err := svc.CancelAlert(pub2, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == old.ID || c.MsgType != "Cancel" || c.State != tocsin.AlertPublished || len(c.References) != 1 || c.References[0] != old.ID || c.AuthorID != p2.ID {
		t.Errorf("cancel = %+v; want a published Cancel referencing %s by %d", c, old.ID, p2.ID)
	}
	if len(c.Infos) != 2 || c.Infos[0].Headline != "CANCELLED: Wildfire near Pine Ridge" || c.Infos[1].Headline != "CANCELADA: Incendio cerca de Pine Ridge" {
		t.Errorf("cancel infos = %+v; want both languages marked cancelled", c.Infos)
	}
	mustState(t, svc, c.ID, tocsin.AlertPublished)
	gotOld := mustState(t, svc, old.ID, tocsin.AlertCancelled)
	if gotOld.CancelledAt == nil || !gotOld.CancelledAt.Equal(t0) {
		t.Errorf("old alert cancelled at %v; want %s", gotOld.CancelledAt, t0)
	}
	if ev := eventsFor(t, db, c.ID); len(ev) != 1 || ev[0].Type != tocsin.EventAlertCancelled {
		t.Errorf("events for the cancel = %v; want one alert.cancelled", ev)
	}
	if n := len(allEvents(t, db)); n != 2 {
		t.Errorf("%d events; want 2 (publish and cancel)", n)
	}

	_, err = svc.CancelAlert(pub2, old.ID)
	wantCode(t, err, tocsin.ECONFLICT)
	if n := len(allEvents(t, db)); n != 2 {
		t.Errorf("cancelling twice left %d events; want 2", n)
	}
	_, err = svc.CancelAlert(pub2, "alr_missing")
	wantCode(t, err, tocsin.ENOTFOUND)
	reporter, _ := MustPrincipal(t, db, "reporter", tocsin.RoleReporter)
	_, err = svc.CancelAlert(reporter, c.ID)
	wantCode(t, err, tocsin.EFORBIDDEN)
}

// TestCancelAlert_Loud checks that cancelling a Severe alert is not held
// back for approval.
func TestCancelAlert_Loud(t *testing.T) {
	db, svc, pub1, pub2, _, _ := alertServices(t)
	old := MustAlert(t, pub1, svc, newAlert("Extreme", 40, -105))
	if _, err := svc.ApproveAlert(pub2, old.ID); err != nil {
		t.Fatal(err)
	}
	c, err := svc.CancelAlert(pub1, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	mustState(t, svc, c.ID, tocsin.AlertPublished)
	mustState(t, svc, old.ID, tocsin.AlertCancelled)
	if ev := eventsFor(t, db, c.ID); len(ev) != 1 || ev[0].Type != tocsin.EventAlertCancelled {
		t.Errorf("events for the cancel = %v; want one alert.cancelled", ev)
	}
}

func TestCancelAlert_PendingIsWithdrawn(t *testing.T) {
	db, svc, pub1, pub2, _, _ := alertServices(t)
	notified := 0
	svc.Notify = func() { notified++ }
	a := MustAlert(t, pub1, svc, newAlert("Severe", 40, -105))
	got, err := svc.CancelAlert(pub1, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID || got.MsgType != "Alert" || got.State != tocsin.AlertCancelled {
		t.Errorf("withdrawn = %s %s %s; want %s Alert cancelled", got.ID, got.MsgType, got.State, a.ID)
	}
	stored := mustState(t, svc, a.ID, tocsin.AlertCancelled)
	if stored.PublishedAt != nil || stored.CancelledAt == nil {
		t.Errorf("withdrawn alert published at %v, cancelled at %v; want never published, cancelled", stored.PublishedAt, stored.CancelledAt)
	}
	if ev := allEvents(t, db); len(ev) != 0 || notified != 0 {
		t.Errorf("withdrawal wrote events %v and notified %d times; want none", ev, notified)
	}
	raw := MustOpenRaw(t, db.Path)
	if n := countRows(t, raw, "alerts"); n != 1 {
		t.Errorf("%d alerts stored; want 1 (no Cancel message for a withdrawal)", n)
	}
	_, err = svc.ApproveAlert(pub2, a.ID)
	wantCode(t, err, tocsin.ECONFLICT)
}

func TestCreateAlert_BadLinks(t *testing.T) {
	db, svc, pub1, _, _, _ := alertServices(t)
	pending := MustAlert(t, pub1, svc, newAlert("Severe", 40, -105))
	published := MustAlert(t, pub1, svc, newAlert("Moderate", 40, -105))
	tests := []struct {
		name  string
		edit  func(a *tocsin.Alert)
		field string
	}{
		{"update of an unknown alert", func(a *tocsin.Alert) { a.MsgType, a.References = "Update", []string{"alr_missing"} }, "references[0]"},
		{"cancel of an unknown alert", func(a *tocsin.Alert) { a.MsgType, a.References = "Cancel", []string{"alr_missing"} }, "references[0]"},
		{"second reference unknown", func(a *tocsin.Alert) { a.MsgType, a.References = "Update", []string{published.ID, "alr_missing"} }, "references[1]"},
		{"update of a pending alert", func(a *tocsin.Alert) { a.MsgType, a.References = "Update", []string{pending.ID} }, "references[0]"},
		{"update without references", func(a *tocsin.Alert) { a.MsgType = "Update" }, "references"},
		{"references on an Alert", func(a *tocsin.Alert) { a.References = []string{published.ID} }, "references"},
		{"unknown incident", func(a *tocsin.Alert) { a.IncidentID = "inc_missing" }, "incident_id"},
	}
	raw := MustOpenRaw(t, db.Path)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := countRows(t, raw, "alerts") + countRows(t, raw, "events") + countRows(t, raw, "audit")
			a := newAlert("Moderate", 40, -105)
			tt.edit(a)
			wantField(t, svc.CreateAlert(pub1, a), tt.field)
			if after := countRows(t, raw, "alerts") + countRows(t, raw, "events") + countRows(t, raw, "audit"); after != before {
				t.Errorf("rows in alerts, events and audit went from %d to %d; want nothing written", before, after)
			}
		})
	}
	mustState(t, svc, published.ID, tocsin.AlertPublished)
	mustState(t, svc, pending.ID, tocsin.AlertPendingApproval)
}

func TestCreateAlert_Invalid(t *testing.T) {
	db, svc, pub1, _, _, _ := alertServices(t)
	square := poly(40, -105, 40, -104, 41, -104, 41, -105, 40, -105)
	tests := []struct {
		name  string
		edit  func(a *tocsin.Alert)
		field string
	}{
		{"status Draft", func(a *tocsin.Alert) { a.Status = "Draft" }, "status"},
		{"status unknown", func(a *tocsin.Alert) { a.Status = "Real" }, "status"},
		{"msg_type Ack", func(a *tocsin.Alert) { a.MsgType = "Ack" }, "msg_type"},
		{"severity unknown", func(a *tocsin.Alert) { a.Infos[0].Severity = "Bad" }, "infos[0].severity"},
		{"category unknown", func(a *tocsin.Alert) { a.Infos[1].Category = tocsin.CategoryList{"Weather"} }, "infos[1].category"},
		{"no infos", func(a *tocsin.Alert) { a.Infos = nil }, "infos"},
		{"no areas", func(a *tocsin.Alert) { a.Areas = nil }, "areas"},
		{"language twice", func(a *tocsin.Alert) { a.Infos[1].Language = "EN" }, "infos[1].language"},
		{"expires before sent", func(a *tocsin.Alert) { e := t0.Add(-time.Hour); a.Infos[0].Expires = &e }, "infos[0].expires"},
		{"radius 0", func(a *tocsin.Alert) { a.Areas[0].Circle.RadiusKM = 0 }, "areas[0].circle"},
		{"latitude 91", func(a *tocsin.Alert) { a.Areas[0].Circle.Lat = 91 }, "areas[0].circle"},
		{"circle and polygon", func(a *tocsin.Alert) { a.Areas[0].Polygon = square }, "areas[0].polygon"},
		{"open polygon", func(a *tocsin.Alert) { a.Areas[0].Circle, a.Areas[0].Polygon = nil, square[:4] }, "areas[0].polygon"},
	}
	raw := MustOpenRaw(t, db.Path)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAlert("Moderate", 40, -105)
			tt.edit(a)
			wantField(t, svc.CreateAlert(pub1, a), tt.field)
		})
	}
	if n := countRows(t, raw, "alerts") + countRows(t, raw, "events"); n != 0 {
		t.Errorf("%d alert and event rows; want none", n)
	}
}

func TestFindAlerts_ActiveAt(t *testing.T) {
	_, svc, pub1, _, _, _ := alertServices(t)
	active := MustAlert(t, pub1, svc, newAlert("Moderate", 40, -105))

	expiring := newAlert("Moderate", 40, -105)
	exp := t0.Add(time.Hour)
	for i := range expiring.Infos {
		expiring.Infos[i].Expires = &exp
	}
	MustAlert(t, pub1, svc, expiring)

	// Expires() is the latest expiry, and nil when any info never expires.
	mixed := newAlert("Minor", 40, -105)
	mixed.Infos[0].Expires = &exp
	MustAlert(t, pub1, svc, mixed)

	pending := MustAlert(t, pub1, svc, newAlert("Severe", 40, -105))
	cancelled := MustAlert(t, pub1, svc, newAlert("Moderate", 40, -105))
	cancel, err := svc.CancelAlert(pub1, cancelled.ID)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		at   time.Time
		want []string
	}{
		{"before expiry", t0.Add(30 * time.Minute), []string{active.ID, expiring.ID, mixed.ID}},
		{"after expiry", t0.Add(2 * time.Hour), []string{active.ID, mixed.ID}},
		{"at expiry", exp, []string{active.ID, mixed.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			got, total, err := svc.FindAlerts(context.Background(), tocsin.AlertFilter{ActiveAt: &at})
			if err != nil {
				t.Fatal(err)
			}
			if total != len(tt.want) || !sameIDs(got, tt.want) {
				t.Errorf("active alerts = %v (total %d); want %v (not the pending %s, the cancelled %s or the Cancel %s)",
					ids(got), total, tt.want, pending.ID, cancelled.ID, cancel.ID)
			}
		})
	}

	st := tocsin.AlertPendingApproval
	got, _, err := svc.FindAlerts(context.Background(), tocsin.AlertFilter{State: &st})
	if err != nil || !sameIDs(got, []string{pending.ID}) {
		t.Errorf("FindAlerts(State: pending) = %v, %v; want [%s]", ids(got), err, pending.ID)
	}
}

func TestFindAlerts_Area(t *testing.T) {
	_, svc, pub1, _, _, _ := alertServices(t)
	denver := MustAlert(t, pub1, svc, newAlert("Moderate", 39.74, -104.99))
	boulder := MustAlert(t, pub1, svc, newAlert("Moderate", 40.015, -105.27))
	square := newAlert("Moderate", 0, 0)
	square.Areas[0].Circle = nil
	square.Areas[0].Polygon = poly(10, 10, 10, 11, 11, 11, 11, 10, 10, 10)
	MustAlert(t, pub1, svc, square)

	tests := []struct {
		name string
		area geo.Shape
		want []string
	}{
		{"around Denver", geo.Shape{Circle: &geo.Circle{Lat: 39.74, Lon: -104.99, RadiusKM: 2}}, []string{denver.ID}},
		{"near Boulder, outside its circle", geo.Shape{Circle: &geo.Circle{Lat: 40.015 + kmNorth(7), Lon: -105.27, RadiusKM: 1}}, nil},
		{"touching Boulder's circle", geo.Shape{Circle: &geo.Circle{Lat: 40.015 + kmNorth(7), Lon: -105.27, RadiusKM: 3}}, []string{boulder.ID}},
		{"both", geo.Shape{Circle: &geo.Circle{Lat: 39.9, Lon: -105.1, RadiusKM: 50}}, []string{denver.ID, boulder.ID}},
		{"inside the square", geo.Shape{Circle: &geo.Circle{Lat: 10.5, Lon: 10.5, RadiusKM: 1}}, []string{square.ID}},
		{"far away", geo.Shape{Circle: &geo.Circle{Lat: -33.9, Lon: 18.4, RadiusKM: 100}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			area := tt.area
			now := t0
			got, total, err := svc.FindAlerts(context.Background(), tocsin.AlertFilter{ActiveAt: &now, Area: &area})
			if err != nil {
				t.Fatal(err)
			}
			if total != len(tt.want) || !sameIDs(got, tt.want) {
				t.Errorf("alerts = %v (total %d); want %v", ids(got), total, tt.want)
			}
		})
	}
}

func TestFindAlerts_Paging(t *testing.T) {
	db, svc, pub1, _, _, _ := alertServices(t)
	clk := newClock(t0)
	db.Now = clk.Now
	var made []string
	for i := 0; i < 5; i++ {
		made = append(made, MustAlert(t, pub1, svc, newAlert("Minor", 40, -105)).ID)
		clk.Advance(time.Minute)
	}
	got, total, err := svc.FindAlerts(context.Background(), tocsin.AlertFilter{Offset: 1, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: made[4], made[3], …
	if total != 5 || !sameIDs(got, []string{made[3], made[2]}) || got[0].ID != made[3] {
		t.Errorf("page = %v (total %d); want [%s %s] of 5", ids(got), total, made[3], made[2])
	}
	got, total, err = svc.FindAlerts(context.Background(), tocsin.AlertFilter{Offset: 10})
	if err != nil || total != 5 || len(got) != 0 {
		t.Errorf("page past the end = %v (total %d), %v; want none of 5", ids(got), total, err)
	}
	_, err = svc.FindAlertByID(context.Background(), "alr_missing")
	wantCode(t, err, tocsin.ENOTFOUND)
}

func ids(alerts []*tocsin.Alert) []string {
	out := []string{}
	for _, a := range alerts {
		out = append(out, a.ID)
	}
	return out
}

func sameIDs(alerts []*tocsin.Alert, want []string) bool {
	if len(alerts) != len(want) {
		return false
	}
	set := map[string]bool{}
	for _, id := range want {
		set[id] = true
	}
	for _, a := range alerts {
		if !set[a.ID] {
			return false
		}
		delete(set, a.ID)
	}
	return true
}
