package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tocsin/tocsin"
)

// Outbox is the durable queue between publishing and fan-out.
type Outbox struct{ db *DB }

var _ tocsin.Outbox = (*Outbox)(nil)

// NewOutbox returns an Outbox on db.
func NewOutbox(db *DB) *Outbox { return &Outbox{db: db} }

func (o *Outbox) events(ctx context.Context, query string, args ...any) ([]*tocsin.Event, error) {
	rows, err := o.db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*tocsin.Event
	for rows.Next() {
		var e tocsin.Event
		var typ string
		var created int64
		if err := rows.Scan(&e.Seq, &typ, &e.AlertID, &created, &e.Checkpoint, &e.Done); err != nil {
			return nil, err
		}
		e.Type, e.CreatedAt = tocsin.EventType(typ), fromNanos(created)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// PendingEvents returns events whose fan-out is not done, oldest first.
func (o *Outbox) PendingEvents(ctx context.Context) ([]*tocsin.Event, error) {
	ev, err := o.events(ctx, `SELECT seq, type, alert_id, created_at, checkpoint, done FROM events WHERE done = 0 ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("pending events: %w", err)
	}
	return ev, nil
}

// EventsAfter returns up to n events with seq > after, oldest first.
func (o *Outbox) EventsAfter(ctx context.Context, after int64, n int) ([]*tocsin.Event, error) {
	ev, err := o.events(ctx, `SELECT seq, type, alert_id, created_at, checkpoint, done FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit(n))
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", after, err)
	}
	return ev, nil
}

// LastEventSeq returns the highest event seq, or 0.
func (o *Outbox) LastEventSeq(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	if err := o.db.read.QueryRowContext(ctx, `SELECT MAX(seq) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("last event: %w", err)
	}
	return n.Int64, nil
}

// Checkpoint records fan-out progress and that stretch's failed deliveries in
// one transaction. The checkpoint never moves backwards.
func (o *Outbox) Checkpoint(ctx context.Context, seq, upTo int64, failed []*tocsin.Delivery) error {
	err := o.db.update(ctx, func(tx *Tx) error {
		for _, d := range failed {
			if d.CreatedAt.IsZero() {
				d.CreatedAt = tx.now
			}
			d.UpdatedAt = tx.now
			// A redone stretch (after a crash) may meet its own rows again: keep the first.
			if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, event_seq, subscription_seq, channel, state, attempts, next_attempt_at, last_error, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
				d.ID, d.EventSeq, d.SubscriptionID, string(d.Channel), string(d.State), d.Attempts, nanos(d.NextAttemptAt), d.LastError, nanos(d.CreatedAt), nanos(d.UpdatedAt)); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE events SET checkpoint = MAX(checkpoint, ?) WHERE seq = ?`, upTo, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("checkpoint event %d: %w", seq, err)
	}
	return nil
}

// CompleteEvent marks the fan-out of event seq done.
func (o *Outbox) CompleteEvent(ctx context.Context, seq int64) error {
	err := o.db.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE events SET done = 1 WHERE seq = ?`, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("complete event %d: %w", seq, err)
	}
	return nil
}

const deliveryColumns = `id, event_seq, subscription_seq, channel, state, attempts, next_attempt_at, last_error, created_at, updated_at`

func (o *Outbox) deliveries(ctx context.Context, query string, args ...any) ([]*tocsin.Delivery, error) {
	rows, err := o.db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*tocsin.Delivery
	for rows.Next() {
		var d tocsin.Delivery
		var ch, state string
		var next, created, updated int64
		if err := rows.Scan(&d.ID, &d.EventSeq, &d.SubscriptionID, &ch, &state, &d.Attempts, &next, &d.LastError, &created, &updated); err != nil {
			return nil, err
		}
		d.Channel, d.State = tocsin.ChannelType(ch), tocsin.DeliveryState(state)
		d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = fromNanos(next), fromNanos(created), fromNanos(updated)
		out = append(out, &d)
	}
	return out, rows.Err()
}

// DueDeliveries returns retrying deliveries due at or before now.
func (o *Outbox) DueDeliveries(ctx context.Context, now time.Time, n int) ([]*tocsin.Delivery, error) {
	d, err := o.deliveries(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE state = 'retrying' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`, nanos(now), limit(n))
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	return d, nil
}

// NextDueAt returns when the next retrying delivery falls due, or zero.
func (o *Outbox) NextDueAt(ctx context.Context) (time.Time, error) {
	var n sql.NullInt64
	if err := o.db.read.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'retrying'`).Scan(&n); err != nil {
		return time.Time{}, fmt.Errorf("next due delivery: %w", err)
	}
	if !n.Valid {
		return time.Time{}, nil
	}
	return fromNanos(n.Int64), nil
}

// UpdateDelivery stores the outcome of a retry.
func (o *Outbox) UpdateDelivery(ctx context.Context, d *tocsin.Delivery) error {
	err := o.db.update(ctx, func(tx *Tx) error {
		d.UpdatedAt = tx.now
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?`,
			string(d.State), d.Attempts, nanos(d.NextAttemptAt), d.LastError, nanos(d.UpdatedAt), d.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("delivery", d.ID)
		}
		if d.State == tocsin.DeliveryDead {
			return tx.audit(ctx, "delivery.dead", d.ID, map[string]any{"attempts": d.Attempts, "reason": d.LastError})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update delivery: %w", err)
	}
	return nil
}

// FindDeliveries lists stored deliveries, newest first.
func (o *Outbox) FindDeliveries(ctx context.Context, f tocsin.DeliveryFilter) ([]*tocsin.Delivery, int, error) {
	where, args := "1 = 1", []any{}
	if f.State != nil {
		where, args = "state = ?", append(args, string(*f.State))
	}
	var total int
	if err := o.db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("find deliveries: %w", err)
	}
	d, err := o.deliveries(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE `+where+` ORDER BY updated_at DESC LIMIT ? OFFSET ?`, append(args, limit(f.Limit), f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("find deliveries: %w", err)
	}
	return d, total, nil
}
