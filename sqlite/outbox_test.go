package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

// mustEvents publishes n Moderate alerts and returns their outbox events.
func mustEvents(tb testing.TB, db *sqlite.DB, n int) []*tocsin.Event {
	tb.Helper()
	ctx, _ := MustPrincipal(tb, db, "publisher", tocsin.RolePublisher)
	svc := sqlite.NewAlertService(db)
	for i := 0; i < n; i++ {
		MustAlert(tb, ctx, svc, newAlert("Moderate", 40, -105))
	}
	ev := allEvents(tb, db)
	if len(ev) != n {
		tb.Fatalf("%d events; want %d", len(ev), n)
	}
	return ev
}

// pendingEvent returns the pending event seq, or nil when it is done.
func pendingEvent(tb testing.TB, o *sqlite.Outbox, seq int64) *tocsin.Event {
	tb.Helper()
	ev, err := o.PendingEvents(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range ev {
		if e.Seq == seq {
			return e
		}
	}
	return nil
}

func TestOutbox_PendingAndComplete(t *testing.T) {
	db := MustOpenDB(t)
	o := sqlite.NewOutbox(db)
	ctx := context.Background()
	ev := mustEvents(t, db, 3)
	pending, err := o.PendingEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 3 || pending[0].Seq >= pending[1].Seq || pending[1].Seq >= pending[2].Seq {
		t.Fatalf("pending events = %v; want 3, oldest first", pending)
	}
	for _, e := range pending {
		if e.Done || e.Checkpoint != 0 || e.Type != tocsin.EventAlertPublished || !e.CreatedAt.Equal(t0) {
			t.Errorf("new event = %+v; want not done, checkpoint 0, alert.published at %s", e, t0)
		}
	}
	if err := o.CompleteEvent(ctx, ev[1].Seq); err != nil {
		t.Fatal(err)
	}
	pending, err = o.PendingEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].Seq != ev[0].Seq || pending[1].Seq != ev[2].Seq {
		t.Errorf("pending after completing %d = %v; want %d and %d", ev[1].Seq, pending, ev[0].Seq, ev[2].Seq)
	}
	after, err := o.EventsAfter(ctx, ev[0].Seq, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 2 || after[0].Seq != ev[1].Seq || !after[0].Done || after[1].Done {
		t.Errorf("events after %d = %+v; want %d (done) and %d", ev[0].Seq, after, ev[1].Seq, ev[2].Seq)
	}
	if last, err := o.LastEventSeq(ctx); err != nil || last != ev[2].Seq {
		t.Errorf("LastEventSeq = %d, %v; want %d", last, err, ev[2].Seq)
	}
}

func TestOutbox_CheckpointNeverMovesBackwards(t *testing.T) {
	db := MustOpenDB(t)
	o := sqlite.NewOutbox(db)
	ctx := context.Background()
	seq := mustEvents(t, db, 1)[0].Seq
	for _, step := range []struct{ upTo, want int64 }{{10, 10}, {5, 10}, {10, 10}, {0, 10}, {25, 25}, {24, 25}} {
		if err := o.Checkpoint(ctx, seq, step.upTo, nil); err != nil {
			t.Fatal(err)
		}
		e := pendingEvent(t, o, seq)
		if e == nil {
			t.Fatal("checkpointed event is no longer pending")
		}
		if e.Checkpoint != step.want {
			t.Errorf("after Checkpoint(%d) the checkpoint is %d; want %d", step.upTo, e.Checkpoint, step.want)
		}
	}
}

func TestOutbox_CheckpointStoresFailuresOnce(t *testing.T) {
	db := MustOpenDB(t)
	clk := newClock(t0)
	db.Now = clk.Now
	o := sqlite.NewOutbox(db)
	ctx := context.Background()
	seq := mustEvents(t, db, 1)[0].Seq
	failure := func(sub int64, err string) *tocsin.Delivery {
		return &tocsin.Delivery{ID: tocsin.DeliveryID(seq, sub), EventSeq: seq, SubscriptionID: sub, Channel: tocsin.ChannelWebhook,
			State: tocsin.DeliveryRetrying, Attempts: 1, NextAttemptAt: t0.Add(time.Minute), LastError: err}
	}
	if err := o.Checkpoint(ctx, seq, 10, []*tocsin.Delivery{failure(3, "HTTP 500"), failure(7, "timeout")}); err != nil {
		t.Fatal(err)
	}
	// A redone stretch after a crash meets the same failures again.
	clk.Advance(time.Second)
	if err := o.Checkpoint(ctx, seq, 10, []*tocsin.Delivery{failure(3, "HTTP 502"), failure(7, "timeout")}); err != nil {
		t.Fatal(err)
	}
	ds, total, err := o.FindDeliveries(ctx, tocsin.DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(ds) != 2 {
		t.Fatalf("%d deliveries stored (total %d); want 2, one per failed subscription", len(ds), total)
	}
	for _, d := range ds {
		if d.SubscriptionID == 3 && (d.LastError != "HTTP 500" || !d.CreatedAt.Equal(t0)) {
			t.Errorf("delivery %s = %+v; want the first failure kept (HTTP 500 at %s)", d.ID, d, t0)
		}
		if d.EventSeq != seq || d.State != tocsin.DeliveryRetrying || d.Attempts != 1 {
			t.Errorf("delivery = %+v; want event %d, retrying, 1 attempt", d, seq)
		}
	}
	raw := MustOpenRaw(t, db.Path)
	if n := countRows(t, raw, "deliveries"); n != 2 {
		t.Errorf("%d delivery rows; want 2", n)
	}
}

// TestOutbox_CheckpointIsAtomic checks that a stretch whose failures cannot
// be stored does not move the checkpoint.
func TestOutbox_CheckpointIsAtomic(t *testing.T) {
	db := MustOpenDB(t)
	o := sqlite.NewOutbox(db)
	ctx := context.Background()
	seq := mustEvents(t, db, 1)[0].Seq
	bad := &tocsin.Delivery{ID: "msg_bad", EventSeq: seq + 1000, SubscriptionID: 1, Channel: tocsin.ChannelWebhook,
		State: tocsin.DeliveryRetrying, Attempts: 1, NextAttemptAt: t0}
	if err := o.Checkpoint(ctx, seq, 10, []*tocsin.Delivery{bad}); err == nil {
		t.Fatal("Checkpoint with a delivery of an unknown event succeeded")
	}
	if e := pendingEvent(t, o, seq); e == nil || e.Checkpoint != 0 {
		t.Errorf("after a failed Checkpoint the event is %+v; want checkpoint 0", e)
	}
	if _, total, err := o.FindDeliveries(ctx, tocsin.DeliveryFilter{}); err != nil || total != 0 {
		t.Errorf("%d deliveries, %v; want none", total, err)
	}
}

func TestOutbox_Retries(t *testing.T) {
	db := MustOpenDB(t)
	clk := newClock(t0)
	db.Now = clk.Now
	o := sqlite.NewOutbox(db)
	audit := sqlite.NewAuditService(db)
	ctx := context.Background()
	seq := mustEvents(t, db, 1)[0].Seq

	if next, err := o.NextDueAt(ctx); err != nil || !next.IsZero() {
		t.Fatalf("NextDueAt with no deliveries = %v, %v; want zero", next, err)
	}
	d := func(sub int64, next time.Duration) *tocsin.Delivery {
		return &tocsin.Delivery{ID: tocsin.DeliveryID(seq, sub), EventSeq: seq, SubscriptionID: sub, Channel: tocsin.ChannelWebhook,
			State: tocsin.DeliveryRetrying, Attempts: 1, NextAttemptAt: t0.Add(next), LastError: "HTTP 503"}
	}
	d1, d2, d3 := d(1, time.Minute), d(2, 5*time.Minute), d(3, 3*time.Minute)
	if err := o.Checkpoint(ctx, seq, 3, []*tocsin.Delivery{d1, d2, d3}); err != nil {
		t.Fatal(err)
	}
	due := func(at time.Duration) []string {
		t.Helper()
		ds, err := o.DueDeliveries(ctx, t0.Add(at), 10)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	nextDue := func() time.Time {
		t.Helper()
		n, err := o.NextDueAt(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	equal := func(a, b []string) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	for _, tt := range []struct {
		at   time.Duration
		want []string
	}{
		{0, []string{}},
		{59 * time.Second, []string{}},
		{time.Minute, []string{d1.ID}},
		{10 * time.Minute, []string{d1.ID, d3.ID, d2.ID}},
	} {
		if got := due(tt.at); !equal(got, tt.want) {
			t.Errorf("due at t0+%s = %v; want %v (soonest first)", tt.at, got, tt.want)
		}
	}
	if ds, err := o.DueDeliveries(ctx, t0.Add(time.Hour), 2); err != nil || len(ds) != 2 {
		t.Errorf("DueDeliveries with limit 2 = %d, %v; want 2", len(ds), err)
	}
	if n := nextDue(); !n.Equal(t0.Add(time.Minute)) {
		t.Errorf("NextDueAt = %s; want %s", n, t0.Add(time.Minute))
	}

	// d1's retry succeeds; d3's fails again and is rescheduled.
	clk.Advance(time.Minute)
	d1.State, d1.Attempts, d1.LastError = tocsin.DeliveryDelivered, 2, ""
	if err := o.UpdateDelivery(ctx, d1); err != nil {
		t.Fatal(err)
	}
	if !d1.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("UpdatedAt = %s; want the clock's %s", d1.UpdatedAt, t0.Add(time.Minute))
	}
	d3.Attempts, d3.NextAttemptAt, d3.LastError = 2, t0.Add(20*time.Minute), "HTTP 500"
	if err := o.UpdateDelivery(ctx, d3); err != nil {
		t.Fatal(err)
	}
	if got := due(10 * time.Minute); !equal(got, []string{d2.ID}) {
		t.Errorf("due after the updates = %v; want [%s]", got, d2.ID)
	}
	if n := nextDue(); !n.Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("NextDueAt = %s; want %s", n, t0.Add(5*time.Minute))
	}

	// d2 runs out of attempts: dead-lettered, with the reason, in the audit log.
	before, err := audit.FindAuditEvents(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	d2.State, d2.Attempts, d2.LastError = tocsin.DeliveryDead, 8, "HTTP 503 eight times"
	if err := o.UpdateDelivery(ctx, d2); err != nil {
		t.Fatal(err)
	}
	after, err := audit.FindAuditEvents(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 || after[len(after)-1].Action != "delivery.dead" || after[len(after)-1].Subject != d2.ID {
		t.Errorf("audit after dead-lettering ends %+v; want delivery.dead %s", after[len(after)-1], d2.ID)
	}
	dead := tocsin.DeliveryDead
	ds, total, err := o.FindDeliveries(ctx, tocsin.DeliveryFilter{State: &dead})
	if err != nil || total != 1 || ds[0].ID != d2.ID || ds[0].LastError != "HTTP 503 eight times" || ds[0].Attempts != 8 {
		t.Errorf("dead deliveries = %+v (total %d), %v; want %s with its reason", ds, total, err, d2.ID)
	}
	if n := nextDue(); !n.Equal(t0.Add(20 * time.Minute)) {
		t.Errorf("NextDueAt = %s; want d3's %s", n, t0.Add(20*time.Minute))
	}
	d3.State = tocsin.DeliveryGone
	if err := o.UpdateDelivery(ctx, d3); err != nil {
		t.Fatal(err)
	}
	if n := nextDue(); !n.IsZero() {
		t.Errorf("NextDueAt with nothing retrying = %s; want zero", n)
	}
	err = o.UpdateDelivery(ctx, &tocsin.Delivery{ID: "msg_missing", State: tocsin.DeliveryDelivered})
	wantCode(t, err, tocsin.ENOTFOUND)
}
