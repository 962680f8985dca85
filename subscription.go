package tocsin

import (
	"context"
	"time"

	"github.com/tocsin/tocsin/geo"
)

// ChannelType names a delivery channel.
type ChannelType string

// The channel types. Live streams (SSE) carry no subscription row.
const (
	ChannelWebhook ChannelType = "webhook"
	ChannelWebPush ChannelType = "webpush"
	ChannelEmail   ChannelType = "email"
	ChannelSSE     ChannelType = "sse"
)

// Channel is where a subscription's alerts go: a webhook URL, a Web Push
// endpoint with the browser's keys, or an email address.
type Channel struct {
	Type     ChannelType `json:"type"`
	URL      string      `json:"url,omitempty"`      // webhook
	Endpoint string      `json:"endpoint,omitempty"` // webpush: the push service URL
	Keys     *PushKeys   `json:"keys,omitempty"`     // webpush: the browser's keys
	Address  string      `json:"address,omitempty"`  // email
}

// PushKeys are a browser's Web Push subscription keys (RFC 8291), base64url.
type PushKeys struct {
	P256dh string `json:"p256dh"`
	Auth   string `json:"auth"`
}

// SubscriptionState says whether alerts still go out to a subscription.
type SubscriptionState string

// The subscription states.
const (
	SubscriptionActive   SubscriptionState = "active"
	SubscriptionPending  SubscriptionState = "pending"  // waiting for the owner to confirm (email double opt-in)
	SubscriptionDisabled SubscriptionState = "disabled" // the endpoint said 410 Gone
)

// Subscription is an area, ordered languages, filters and one channel. It
// needs no account: a token returned once manages it.
type Subscription struct {
	ID          string            `json:"id"`
	Seq         int64             `json:"-"` // dense internal key, the fan-out order
	Area        geo.Shape         `json:"-"`
	Languages   []string          `json:"languages"`
	MinSeverity Severity          `json:"min_severity,omitempty"`
	Categories  []Category        `json:"categories,omitempty"`
	Channel     Channel           `json:"channel"`
	State       SubscriptionState `json:"state"`
	CreatedAt   time.Time         `json:"created_at"`
	// Secret is the Standard Webhooks signing secret ("whsec_…"); shown once.
	Secret string `json:"-"`
}

// Wants reports whether the subscription's filters accept an alert (its
// area is matched separately, by the spatial index).
func (s *Subscription) Wants(a *Alert) bool {
	if s.State != SubscriptionActive {
		return false
	}
	if a.MsgType == "Alert" && s.MinSeverity != "" && a.MaxSeverity().Rank() < s.MinSeverity.Rank() {
		return false
	}
	if len(s.Categories) == 0 {
		return true
	}
	for _, in := range a.Infos {
		for _, c := range in.Category {
			for _, want := range s.Categories {
				if c == want {
					return true
				}
			}
		}
	}
	return false
}

// Limits on subscriptions.
const MaxLanguages = 8

// SubscriptionService stores subscriptions.
type SubscriptionService interface {
	// CreateSubscription validates and stores s, filling its ID, Seq, Secret
	// and state, and returns the management token, shown once. EINVALID.
	CreateSubscription(ctx context.Context, s *Subscription) (token string, err error)
	// DeleteSubscription removes a subscription if token manages it.
	// ENOTFOUND if absent, EUNAUTHORIZED if the token does not match.
	DeleteSubscription(ctx context.Context, id, token string) error
	// DisableSubscription stops delivery to a subscription whose endpoint is gone.
	DisableSubscription(ctx context.Context, id string, reason string) error
	// FindSubscriptionByID returns one subscription by its public id. ENOTFOUND.
	FindSubscriptionByID(ctx context.Context, id string) (*Subscription, error)
	// FindSubscriptionBySeq returns one subscription by its internal key. ENOTFOUND.
	FindSubscriptionBySeq(ctx context.Context, seq int64) (*Subscription, error)
	// EachSubscription calls fn for every active subscription in Seq order,
	// stopping at the first error.
	EachSubscription(ctx context.Context, fn func(*Subscription) error) error
}
