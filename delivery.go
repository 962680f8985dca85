package tocsin

import (
	"context"
	"time"
)

// EventType is what happened to an alert, as subscribers see it.
type EventType string

// The event types.
const (
	EventAlertPublished EventType = "alert.published"
	EventAlertUpdated   EventType = "alert.updated"
	EventAlertCancelled EventType = "alert.cancelled"
)

// Event is one outbox record: written in the same transaction as the alert
// change it announces; its Seq orders events and is the SSE event id.
type Event struct {
	Seq       int64     `json:"seq"`
	Type      EventType `json:"type"`
	AlertID   string    `json:"alert_id"`
	CreatedAt time.Time `json:"created_at"`
	// Checkpoint is the highest subscription Seq whose fan-out is finished
	// (sent, or recorded as a failed delivery for retry).
	Checkpoint int64 `json:"-"`
	// Done is set when the event's fan-out finished.
	Done bool `json:"-"`
}

// DeliveryState is where a failed delivery stands.
type DeliveryState string

// The delivery states. Successful first attempts are not stored at all.
const (
	DeliveryRetrying  DeliveryState = "retrying"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryDead      DeliveryState = "dead" // dead-lettered: the schedule ended
	DeliveryGone      DeliveryState = "gone" // the endpoint answered 410
)

// Delivery is one (event, subscription, channel) whose first attempt failed.
// Its ID is derived from the event and subscription, so it is the same on
// every attempt and across restarts.
type Delivery struct {
	ID             string        `json:"id"`
	EventSeq       int64         `json:"event_seq"`
	SubscriptionID int64         `json:"subscription_seq"`
	Channel        ChannelType   `json:"channel"`
	State          DeliveryState `json:"state"`
	Attempts       int           `json:"attempts"`
	NextAttemptAt  time.Time     `json:"next_attempt_at"`
	LastError      string        `json:"last_error,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// Outbox is the durable queue between publishing and fan-out.
type Outbox interface {
	// PendingEvents returns events whose fan-out is not done, oldest first.
	PendingEvents(ctx context.Context) ([]*Event, error)
	// EventsAfter returns up to limit events with Seq > after, oldest first.
	EventsAfter(ctx context.Context, after int64, limit int) ([]*Event, error)
	// Checkpoint records that fan-out of event seq is finished up to
	// subscription Seq upTo, together with the failed deliveries of that
	// stretch, in one transaction.
	Checkpoint(ctx context.Context, seq, upTo int64, failed []*Delivery) error
	// CompleteEvent marks the fan-out of event seq done.
	CompleteEvent(ctx context.Context, seq int64) error
	// DueDeliveries returns up to limit deliveries in state retrying due at or before now.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*Delivery, error)
	// NextDueAt returns when the next retrying delivery falls due, or zero.
	NextDueAt(ctx context.Context) (time.Time, error)
	// UpdateDelivery stores the outcome of a retry.
	UpdateDelivery(ctx context.Context, d *Delivery) error
	// FindDeliveries lists stored deliveries, newest first, and the total.
	FindDeliveries(ctx context.Context, filter DeliveryFilter) ([]*Delivery, int, error)
}

// DeliveryFilter selects deliveries; nil fields do not filter.
type DeliveryFilter struct {
	State  *DeliveryState
	Offset int
	Limit  int
}

// Message is what a subscriber receives, over every channel: what happened
// and the alert, rendered in the subscriber's language.
type Message struct {
	Type  EventType `json:"type"`
	Alert *Alert    `json:"alert"`
}

// DeliveryID returns the stable id of the delivery of event seq to
// subscription subSeq: the same on every attempt and across restarts, so
// receivers can de-duplicate on it (webhook-id).
func DeliveryID(seq, subSeq int64) string {
	return "msg_" + itoa(seq) + "_" + itoa(subSeq)
}
