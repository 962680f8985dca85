package deliver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tocsin/tocsin"
)

// store is an in-memory tocsin.Outbox, AlertService and SubscriptionService
// for tests. It keeps the contract the SQLite store keeps: checkpoints only
// move forward and only over subscriptions not yet covered, each failed
// delivery gets exactly one row (its id is a primary key), rows are stored
// with the checkpoint as one unit, and callers get copies, never the
// store's own values.
type store struct {
	mu          sync.Mutex
	now         func() time.Time
	alerts      map[string]*tocsin.Alert
	subs        map[int64]*tocsin.Subscription
	nextSub     int64
	events      []*tocsin.Event
	deliveries  map[string]*tocsin.Delivery
	checkpoints []checkpointCall
	disabled    map[string]string // subscription id → reason
	errs        []error           // contract violations seen
}

type checkpointCall struct {
	seq, upTo int64
	failed    int
}

var (
	_ tocsin.Outbox              = (*store)(nil)
	_ tocsin.AlertService        = (*store)(nil)
	_ tocsin.SubscriptionService = (*store)(nil)
)

func newStore(now func() time.Time) *store {
	return &store{
		now:        now,
		alerts:     make(map[string]*tocsin.Alert),
		subs:       make(map[int64]*tocsin.Subscription),
		deliveries: make(map[string]*tocsin.Delivery),
		disabled:   make(map[string]string),
	}
}

// violation records and returns a broken contract, so tests can fail on it
// even when the dispatcher only logs the error.
func (s *store) violation(format string, args ...any) error {
	err := fmt.Errorf("store contract: "+format, args...)
	s.errs = append(s.errs, err)
	return err
}

func (s *store) violations() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.errs)
}

// publish stores a as published and appends its outbox event, as the real
// store does in one transaction.
func (s *store) publish(a *tocsin.Alert, typ tocsin.EventType) *tocsin.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.ID == "" {
		a.ID = tocsin.NewID("alr")
	}
	a.State = tocsin.AlertPublished
	s.alerts[a.ID] = a
	ev := &tocsin.Event{Seq: int64(len(s.events) + 1), Type: typ, AlertID: a.ID, CreatedAt: s.now()}
	s.events = append(s.events, ev)
	c := *ev
	return &c
}

func (s *store) event(seq int64) tocsin.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.events[seq-1]
}

func (s *store) checkpointCalls() []checkpointCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.checkpoints)
}

func (s *store) delivery(id string) (tocsin.Delivery, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.deliveries[id]
	if !ok {
		return tocsin.Delivery{}, false
	}
	return *d, true
}

func (s *store) allDeliveries() []tocsin.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []tocsin.Delivery
	for _, d := range s.deliveries {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b tocsin.Delivery) int { return int(a.SubscriptionID - b.SubscriptionID) })
	return out
}

// Outbox.

func (s *store) PendingEvents(ctx context.Context) ([]*tocsin.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*tocsin.Event
	for _, ev := range s.events {
		if !ev.Done {
			c := *ev
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *store) EventsAfter(ctx context.Context, after int64, limit int) ([]*tocsin.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*tocsin.Event
	for _, ev := range s.events {
		if ev.Seq > after && len(out) < limit {
			c := *ev
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *store) Checkpoint(ctx context.Context, seq, upTo int64, failed []*tocsin.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < 1 || seq > int64(len(s.events)) {
		return s.violation("checkpoint of unknown event %d", seq)
	}
	ev := s.events[seq-1]
	if ev.Done {
		return s.violation("checkpoint of completed event %d", seq)
	}
	if upTo <= ev.Checkpoint {
		return s.violation("event %d: checkpoint %d does not advance past %d", seq, upTo, ev.Checkpoint)
	}
	seen := make(map[string]bool)
	for _, d := range failed {
		switch {
		case d.EventSeq != seq:
			return s.violation("delivery %s belongs to event %d, checkpointed with %d", d.ID, d.EventSeq, seq)
		case d.SubscriptionID <= ev.Checkpoint || d.SubscriptionID > upTo:
			return s.violation("delivery %s: subscription %d outside (%d, %d]", d.ID, d.SubscriptionID, ev.Checkpoint, upTo)
		case d.ID != tocsin.DeliveryID(seq, d.SubscriptionID):
			return s.violation("delivery id %s is not DeliveryID(%d, %d)", d.ID, seq, d.SubscriptionID)
		case s.deliveries[d.ID] != nil || seen[d.ID]:
			return s.violation("delivery %s stored twice", d.ID)
		case d.Attempts < 1:
			return s.violation("delivery %s has %d attempts", d.ID, d.Attempts)
		case d.State == tocsin.DeliveryRetrying && d.NextAttemptAt.IsZero():
			return s.violation("retrying delivery %s has no next attempt", d.ID)
		case d.State != tocsin.DeliveryRetrying && d.State != tocsin.DeliveryDead && d.State != tocsin.DeliveryGone:
			return s.violation("delivery %s stored in state %q", d.ID, d.State)
		case d.LastError == "":
			return s.violation("failed delivery %s has no reason", d.ID)
		}
		seen[d.ID] = true
	}
	for _, d := range failed {
		c := *d
		s.deliveries[d.ID] = &c
	}
	ev.Checkpoint = upTo
	s.checkpoints = append(s.checkpoints, checkpointCall{seq: seq, upTo: upTo, failed: len(failed)})
	return nil
}

func (s *store) CompleteEvent(ctx context.Context, seq int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq < 1 || seq > int64(len(s.events)) {
		return s.violation("complete unknown event %d", seq)
	}
	s.events[seq-1].Done = true
	return nil
}

func (s *store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*tocsin.Delivery, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*tocsin.Delivery
	for _, d := range s.deliveries {
		if d.State == tocsin.DeliveryRetrying && !d.NextAttemptAt.After(now) {
			c := *d
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *tocsin.Delivery) int { return a.NextAttemptAt.Compare(b.NextAttemptAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *store) NextDueAt(ctx context.Context) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for _, d := range s.deliveries {
		if d.State == tocsin.DeliveryRetrying && (next.IsZero() || d.NextAttemptAt.Before(next)) {
			next = d.NextAttemptAt
		}
	}
	return next, nil
}

func (s *store) UpdateDelivery(ctx context.Context, d *tocsin.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.deliveries[d.ID]
	switch {
	case old == nil:
		return s.violation("update of unknown delivery %s", d.ID)
	case old.State != tocsin.DeliveryRetrying:
		return s.violation("update of delivery %s in final state %s", d.ID, old.State)
	case d.Attempts < old.Attempts:
		return s.violation("delivery %s: attempts went back from %d to %d", d.ID, old.Attempts, d.Attempts)
	case d.State == tocsin.DeliveryRetrying && d.NextAttemptAt.IsZero():
		return s.violation("retrying delivery %s has no next attempt", d.ID)
	}
	c := *d
	s.deliveries[d.ID] = &c
	return nil
}

func (s *store) FindDeliveries(ctx context.Context, f tocsin.DeliveryFilter) ([]*tocsin.Delivery, int, error) {
	var out []*tocsin.Delivery
	for _, d := range s.allDeliveries() {
		if f.State == nil || d.State == *f.State {
			out = append(out, &d)
		}
	}
	return out, len(out), nil
}

// AlertService.

func (s *store) FindAlertByID(ctx context.Context, id string) (*tocsin.Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.alerts[id]
	if !ok {
		return nil, tocsin.Errorf(tocsin.ENOTFOUND, "alert %s not found", id)
	}
	c := *a
	return &c, nil
}

func (s *store) CreateAlert(ctx context.Context, a *tocsin.Alert) error {
	return tocsin.Errorf(tocsin.EINTERNAL, "not in the fake")
}

func (s *store) ApproveAlert(ctx context.Context, id string) (*tocsin.Alert, error) {
	return nil, tocsin.Errorf(tocsin.EINTERNAL, "not in the fake")
}

func (s *store) CancelAlert(ctx context.Context, id string) (*tocsin.Alert, error) {
	return nil, tocsin.Errorf(tocsin.EINTERNAL, "not in the fake")
}

func (s *store) ReviseInfo(ctx context.Context, id, language string, rev tocsin.InfoRevision) (*tocsin.Alert, error) {
	return nil, tocsin.Errorf(tocsin.EINTERNAL, "not in the fake")
}

func (s *store) FindAlerts(ctx context.Context, f tocsin.AlertFilter) ([]*tocsin.Alert, int, error) {
	return nil, 0, tocsin.Errorf(tocsin.EINTERNAL, "not in the fake")
}

// SubscriptionService.

func (s *store) CreateSubscription(ctx context.Context, sub *tocsin.Subscription) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextSub++
	sub.Seq = s.nextSub
	sub.ID = tocsin.NewID("sub")
	if sub.Secret == "" {
		sub.Secret = newSecret()
	}
	sub.State = tocsin.SubscriptionActive
	sub.CreatedAt = s.now()
	c := *sub
	s.subs[sub.Seq] = &c
	return tocsin.NewSecret("tok"), nil
}

func newSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

func (s *store) DeleteSubscription(ctx context.Context, id, token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq, sub := range s.subs {
		if sub.ID == id {
			delete(s.subs, seq)
			return nil
		}
	}
	return tocsin.Errorf(tocsin.ENOTFOUND, "subscription %s not found", id)
}

func (s *store) DisableSubscription(ctx context.Context, id, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if sub.ID == id {
			sub.State = tocsin.SubscriptionDisabled
			s.disabled[id] = reason
			return nil
		}
	}
	return tocsin.Errorf(tocsin.ENOTFOUND, "subscription %s not found", id)
}

func (s *store) disabledReason(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.disabled[id]
	return r, ok
}

func (s *store) FindSubscriptionByID(ctx context.Context, id string) (*tocsin.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if sub.ID == id {
			c := *sub
			return &c, nil
		}
	}
	return nil, tocsin.Errorf(tocsin.ENOTFOUND, "subscription %s not found", id)
}

func (s *store) FindSubscriptionBySeq(ctx context.Context, seq int64) (*tocsin.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[seq]
	if !ok {
		return nil, tocsin.Errorf(tocsin.ENOTFOUND, "subscription %d not found", seq)
	}
	c := *sub
	return &c, nil
}

func (s *store) EachSubscription(ctx context.Context, fn func(*tocsin.Subscription) error) error {
	s.mu.Lock()
	var subs []*tocsin.Subscription
	for _, sub := range s.subs {
		if sub.State == tocsin.SubscriptionActive {
			c := *sub
			subs = append(subs, &c)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(subs, func(a, b *tocsin.Subscription) int { return int(a.Seq - b.Seq) })
	for _, sub := range subs {
		if err := fn(sub); err != nil {
			return err
		}
	}
	return nil
}
