// Package deliver fans published alerts out to their subscribers: it matches
// each outbox event against an in-memory spatial index of subscriptions,
// hands the event to live SSE streams, and sends it to webhooks in
// checkpointed shards, keeping a durable row only for the deliveries that
// failed, which a retry loop then works through with backoff until they are
// delivered or dead-lettered.
//
// The pipeline is a chain of small stages, each a type with one job:
// Matcher (match), Dispatcher (shard, checkpoint and record), Sender (send),
// Backoff (when to retry) and a per-host guard (concurrency limit and circuit
// breaker) in front of every send. Delivery is at least once: a shard whose
// checkpoint was not written is sent again after a restart, and receivers
// de-duplicate on the stable webhook-id.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin/tocsin"
)

// Outgoing is one message ready to send to one subscriber.
type Outgoing struct {
	// ID is the delivery id (tocsin.DeliveryID): the same on every attempt,
	// so receivers can de-duplicate on it.
	ID string
	// Type says what happened to the alert.
	Type tocsin.EventType
	// Body is the JSON of a tocsin.Message in the subscriber's language.
	Body []byte
	// Timestamp is when this attempt is made; webhook signatures cover it,
	// so it is fresh on every attempt.
	Timestamp time.Time
	// Push is the Web Push form of the message, set for Web Push
	// subscriptions only: Body is too big for a push service.
	Push *PushMeta
}

// Sender sends one message to one subscription over one channel. It is the
// seam between the pipeline and the channels (webhook today; Web Push, email
// and MQTT later).
type Sender interface {
	// Send delivers m to sub. A nil error means delivered. Otherwise retry
	// says whether trying again later may succeed; an error wrapping ErrGone
	// means the endpoint is gone for good and the subscription should be
	// disabled, and a *RetryAfterError carries the receiver's requested delay.
	Send(ctx context.Context, sub *tocsin.Subscription, m *Outgoing) (retry bool, err error)
}

// ErrGone is wrapped by the errors of sends whose endpoint answered 410 Gone:
// the subscription is to be disabled, and nothing is retried.
var ErrGone = errors.New("endpoint is gone")

// RetryAfterError is a retryable failure whose receiver asked to be left alone
// for a while (Retry-After on a 429 or 503). Backoff honours After.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

// Error implements the error interface.
func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

// Unwrap returns the cause.
func (e *RetryAfterError) Unwrap() error { return e.Err }
