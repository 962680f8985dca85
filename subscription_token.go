package tocsin

import (
	"context"
	"time"
)

// SubscriptionTokenService keeps the single-purpose tokens of subscriptions
// whose owner must prove they hold the endpoint, such as an email address:
// a single-use confirmation token for double opt-in, and an unsubscribe token
// for one-click unsubscribe (RFC 8058). Only the tokens' hashes are stored.
type SubscriptionTokenService interface {
	// IssueSubscriptionTokens stores a new confirmation token for pending
	// subscription id, valid until expires, replacing any earlier one, and
	// the unsubscribe token unsubscribe (when not empty). It returns the
	// confirmation token, shown only in the message sent to the endpoint.
	// ENOTFOUND, ECONFLICT if the subscription is not pending.
	IssueSubscriptionTokens(ctx context.Context, id, unsubscribe string, expires time.Time) (confirm string, err error)
	// ConfirmSubscription makes pending subscription id active if token is
	// its confirmation token and has not expired, uses the token up, and
	// returns the subscription. ENOTFOUND, EUNAUTHORIZED for a wrong, used
	// or expired token.
	ConfirmSubscription(ctx context.Context, id, token string) (*Subscription, error)
	// UnsubscribeSubscription deletes subscription id if token is its
	// unsubscribe token, and returns what it was. ENOTFOUND, EUNAUTHORIZED.
	UnsubscribeSubscription(ctx context.Context, id, token string) (*Subscription, error)
}

// EmailConfirmTTL is how long an email subscription's confirmation link works.
const EmailConfirmTTL = 48 * time.Hour
