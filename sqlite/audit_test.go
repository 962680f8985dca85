package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sqlite"
)

// auditEntry is what one audit event should say.
type auditEntry struct{ actor, action, subject string }

// MustAuditTrail opens a database and makes every kind of decision in it,
// returning the audit entries each should have left, in order.
func MustAuditTrail(tb testing.TB) (*sqlite.DB, []auditEntry) {
	tb.Helper()
	db := MustOpenDB(tb)
	var want []auditEntry
	add := func(actor, action, subject string) { want = append(want, auditEntry{actor, action, subject}) }
	actor := func(p *tocsin.Principal) string { return fmt.Sprintf("principal:%d", p.ID) }

	vctx, verifier := MustPrincipal(tb, db, "verifier", tocsin.RoleVerifier)
	add("anonymous", "token.create", actor(verifier))
	pctx1, pub1 := MustPrincipal(tb, db, "publisher one", tocsin.RolePublisher)
	add("anonymous", "token.create", actor(pub1))
	pctx2, pub2 := MustPrincipal(tb, db, "publisher two", tocsin.RolePublisher)
	add("anonymous", "token.create", actor(pub2))
	actx, admin := MustPrincipal(tb, db, "admin", tocsin.RoleAdmin)
	add("anonymous", "token.create", actor(admin))

	r1 := MustReport(tb, tocsin.NewContextWithClient(context.Background(), "hash-a"), db, newReport(40, -105, "Fire"))
	add("anonymous", "incident.open", r1.IncidentID)
	add("anonymous", "report.create", r1.ID)
	r2 := MustReport(tb, vctx, db, newReport(40, -105, "Fire"))
	add(actor(verifier), "report.create", r2.ID)
	r3 := MustReport(tb, context.Background(), db, newReport(45, -100, "Met"))
	add("anonymous", "incident.open", r3.IncidentID)
	add("anonymous", "report.create", r3.ID)

	incidents := sqlite.NewIncidentService(db)
	if _, err := incidents.DecideIncident(vctx, r1.IncidentID, tocsin.IncidentVerified, "confirmed"); err != nil {
		tb.Fatal(err)
	}
	add(actor(verifier), "incident.verified", r1.IncidentID)
	if _, err := incidents.DecideIncident(vctx, r3.IncidentID, tocsin.IncidentUnverifiable, "no trace"); err != nil {
		tb.Fatal(err)
	}
	add(actor(verifier), "incident.unverifiable", r3.IncidentID)

	alerts := sqlite.NewAlertService(db)
	moderate := newAlert("Moderate", 40, -105)
	moderate.IncidentID = r1.IncidentID
	MustAlert(tb, pctx1, alerts, moderate)
	add(actor(pub1), "alert.create", moderate.ID)
	add(actor(pub1), "alert.publish", moderate.ID)

	severe := MustAlert(tb, pctx1, alerts, newAlert("Severe", 40, -105))
	add(actor(pub1), "alert.create", severe.ID)
	if _, err := alerts.ApproveAlert(pctx2, severe.ID); err != nil {
		tb.Fatal(err)
	}
	add(actor(pub2), "alert.approve", severe.ID)
	add(actor(pub2), "alert.publish", severe.ID)

	update := newAlert("Moderate", 40, -105)
	update.MsgType, update.References = "Update", []string{moderate.ID}
	MustAlert(tb, pctx2, alerts, update)
	add(actor(pub2), "alert.create", update.ID)
	add(actor(pub2), "alert.publish", update.ID)

	cancel, err := alerts.CancelAlert(pctx2, severe.ID)
	if err != nil {
		tb.Fatal(err)
	}
	add(actor(pub2), "alert.cancel", severe.ID)
	add(actor(pub2), "alert.publish", cancel.ID)

	withdrawn := MustAlert(tb, pctx1, alerts, newAlert("Extreme", 40, -105))
	add(actor(pub1), "alert.create", withdrawn.ID)
	if _, err := alerts.CancelAlert(pctx1, withdrawn.ID); err != nil {
		tb.Fatal(err)
	}
	add(actor(pub1), "alert.withdraw", withdrawn.ID)

	subs := sqlite.NewSubscriptionService(db)
	s1, s2 := newSubscription(40, -105), newSubscription(40, -105)
	token := MustSubscription(tb, subs, s1)
	add("anonymous", "subscription.create", s1.ID)
	MustSubscription(tb, subs, s2)
	add("anonymous", "subscription.create", s2.ID)
	if err := subs.DisableSubscription(context.Background(), s2.ID, "HTTP 410"); err != nil {
		tb.Fatal(err)
	}
	add("anonymous", "subscription.disable", s2.ID)
	if err := subs.DeleteSubscription(context.Background(), s1.ID, token); err != nil {
		tb.Fatal(err)
	}
	add("anonymous", "subscription.delete", s1.ID)

	outbox := sqlite.NewOutbox(db)
	seq := allEvents(tb, db)[0].Seq
	d := &tocsin.Delivery{ID: tocsin.DeliveryID(seq, s2.Seq), EventSeq: seq, SubscriptionID: s2.Seq, Channel: tocsin.ChannelWebhook,
		State: tocsin.DeliveryRetrying, Attempts: 1, NextAttemptAt: t0}
	if err := outbox.Checkpoint(context.Background(), seq, s2.Seq, []*tocsin.Delivery{d}); err != nil {
		tb.Fatal(err)
	}
	d.State, d.Attempts, d.LastError = tocsin.DeliveryDead, 9, "schedule ended"
	if err := outbox.UpdateDelivery(context.Background(), d); err != nil {
		tb.Fatal(err)
	}
	add("anonymous", "delivery.dead", d.ID)

	zone := &tocsin.Zone{ID: "pine-ridge", Names: map[string]string{"en": "Pine Ridge"}, Circle: &geo.Circle{Lat: 40, Lon: -105, RadiusKM: 3}}
	if err := sqlite.NewZoneService(db).CreateZone(actx, zone); err != nil {
		tb.Fatal(err)
	}
	add(actor(admin), "zone.save", "pine-ridge")
	return db, want
}

func TestAudit_EveryDecisionIsRecorded(t *testing.T) {
	db, want := MustAuditTrail(t)
	audit := sqlite.NewAuditService(db)
	events, err := audit.FindAuditEvents(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < max(len(events), len(want)); i++ {
		var got, w auditEntry
		if i < len(events) {
			got = auditEntry{events[i].Actor, events[i].Action, events[i].Subject}
		}
		if i < len(want) {
			w = want[i]
		}
		if got != w {
			t.Errorf("audit event %d = %+v; want %+v", i+1, got, w)
		}
	}
	prev := ""
	for i, e := range events {
		if e.Seq != int64(i+1) || e.PrevHash != prev || len(e.Hash) != 64 || !e.At.Equal(t0) {
			t.Errorf("event %d: seq %d, prev %q, hash %q, at %s; want seq %d chained to %q at %s", i+1, e.Seq, e.PrevHash, e.Hash, e.At, i+1, prev, t0)
		}
		prev = e.Hash
	}
	if n, err := audit.VerifyAudit(context.Background()); err != nil || n != len(want) {
		t.Errorf("VerifyAudit = %d, %v; want %d, nil", n, err, len(want))
	}
	page, err := audit.FindAuditEvents(context.Background(), 5, 3)
	if err != nil || len(page) != 3 || page[0].Seq != 6 {
		t.Errorf("FindAuditEvents(after 5, limit 3) = %d events from %v, %v; want 3 from 6", len(page), page, err)
	}
}

func TestVerifyAudit_Empty(t *testing.T) {
	db := MustOpenDB(t)
	if n, err := sqlite.NewAuditService(db).VerifyAudit(context.Background()); err != nil || n != 0 {
		t.Errorf("VerifyAudit on an empty log = %d, %v; want 0, nil", n, err)
	}
}

// mustTamperableTrail returns the audit service of a database with a
// verified audit chain, a second connection to its file for tampering, and
// the number of events.
func mustTamperableTrail(tb testing.TB) (*sqlite.AuditService, *sql.DB, int) {
	tb.Helper()
	db, want := MustAuditTrail(tb)
	audit := sqlite.NewAuditService(db)
	n, err := audit.VerifyAudit(context.Background())
	if err != nil || n != len(want) || n < 10 {
		tb.Fatalf("untampered chain: VerifyAudit = %d, %v; want %d (at least 10), nil", n, err, len(want))
	}
	return audit, MustOpenRaw(tb, db.Path), n
}

// wantBroken fails the test unless VerifyAudit reports a broken chain whose
// message contains every one of names.
func wantBroken(tb testing.TB, audit *sqlite.AuditService, names ...string) {
	tb.Helper()
	_, err := audit.VerifyAudit(context.Background())
	if err == nil {
		tb.Fatal("VerifyAudit passed a tampered chain")
	}
	if tocsin.ErrorCode(err) != tocsin.ECONFLICT {
		tb.Errorf("VerifyAudit error code %s; want %s (%v)", tocsin.ErrorCode(err), tocsin.ECONFLICT, err)
	}
	for _, name := range names {
		if !strings.Contains(err.Error(), name) {
			tb.Errorf("VerifyAudit error %q does not say %q", err, name)
		}
	}
}

func TestVerifyAudit_DetectsEditedRow(t *testing.T) {
	tests := []struct {
		name, column string
		value        any
	}{
		{"detail", "detail", `{"note":"nothing to see"}`},
		{"actor", "actor", "principal:99"},
		{"action", "action", "incident.unverifiable"},
		{"subject", "subject", "inc_other"},
		{"time", "at", t0.UnixNano() + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			audit, raw, _ := mustTamperableTrail(t)
			MustExec(t, raw, `UPDATE audit SET `+tt.column+` = ? WHERE seq = 7`, tt.value)
			wantBroken(t, audit, "event 7")
		})
	}
}

// TestVerifyAudit_DetectsRehashedRow edits a row and recomputes nothing but
// its own hash, as a forger without the chain's later rows would: the next
// row no longer follows it.
func TestVerifyAudit_DetectsRehashedRow(t *testing.T) {
	audit, raw, _ := mustTamperableTrail(t)
	MustExec(t, raw, `UPDATE audit SET hash = ? WHERE seq = 7`, strings.Repeat("0", 64))
	wantBroken(t, audit, "event 7")
	MustExec(t, raw, `UPDATE audit SET prev_hash = ? WHERE seq = 8`, strings.Repeat("0", 64))
	wantBroken(t, audit, "event 7")
}

func TestVerifyAudit_DetectsDeletedMiddleRow(t *testing.T) {
	audit, raw, _ := mustTamperableTrail(t)
	MustExec(t, raw, `DELETE FROM audit WHERE seq = 5`)
	wantBroken(t, audit, "event 6", "5")
}

func TestVerifyAudit_DetectsDeletedLastRow(t *testing.T) {
	audit, raw, n := mustTamperableTrail(t)
	MustExec(t, raw, `DELETE FROM audit WHERE seq = ?`, n)
	wantBroken(t, audit, fmt.Sprintf("event %d", n-1), fmt.Sprint(n))
}

func TestVerifyAudit_DetectsDeletedFirstRow(t *testing.T) {
	audit, raw, _ := mustTamperableTrail(t)
	MustExec(t, raw, `DELETE FROM audit WHERE seq = 1`)
	wantBroken(t, audit, "event 2", "1")
}
