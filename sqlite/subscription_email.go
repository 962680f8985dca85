package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
)

var _ tocsin.SubscriptionTokenService = (*SubscriptionService)(nil)

// The purposes of subscription tokens.
const (
	tokenConfirm     = "confirm"
	tokenUnsubscribe = "unsubscribe"
)

// MaxEmailAddress is the longest email address accepted (RFC 5321's path
// limit less the angle brackets).
const MaxEmailAddress = 254

// validateEmailAddress checks that s is one bare address (local@domain): no
// display name, comment, group, quoted local part, domain literal or
// surrounding space, so that what is stored is exactly what is mailed.
func validateEmailAddress(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "is required for email"
	case len(s) > MaxEmailAddress:
		return fmt.Sprintf("is longer than %d characters", MaxEmailAddress)
	case strings.ContainsAny(s, " \t\r\n<>()[]\",;:\\"):
		return "must be one plain address such as name@example.org, without a display name"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "must be one plain address such as name@example.org, without a display name"
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "must be one plain address such as name@example.org"
	}
	return ""
}

// IssueSubscriptionTokens stores a new confirmation token for a pending
// subscription, and its unsubscribe token, and returns the confirmation token.
func (s *SubscriptionService) IssueSubscriptionTokens(ctx context.Context, id, unsubscribe string, expires time.Time) (string, error) {
	confirm := tocsin.NewSecret("subconf")
	err := s.db.update(ctx, func(tx *Tx) error {
		var seq int64
		var state string
		err := tx.QueryRowContext(ctx, `SELECT seq, state FROM subscriptions WHERE id = ?`, id).Scan(&seq, &state)
		if err == sql.ErrNoRows {
			return notFound("subscription", id)
		} else if err != nil {
			return err
		}
		if state != string(tocsin.SubscriptionPending) {
			return tocsin.Errorf(tocsin.ECONFLICT, "subscription %s is %s, not pending", id, state)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO subscription_tokens (subscription_seq, purpose, token_hash, expires_at) VALUES (?, ?, ?, ?)`,
			seq, tokenConfirm, hashSecret(confirm), nanos(expires)); err != nil {
			return err
		}
		if unsubscribe != "" {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO subscription_tokens (subscription_seq, purpose, token_hash, expires_at) VALUES (?, ?, ?, NULL)`,
				seq, tokenUnsubscribe, hashSecret(unsubscribe)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("issue subscription tokens: %w", err)
	}
	return confirm, nil
}

// checkToken reports whether token is the unexpired token of purpose of
// subscription seq.
func (tx *Tx) checkToken(ctx context.Context, seq int64, purpose, token string) (bool, error) {
	var hash []byte
	var expires sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT token_hash, expires_at FROM subscription_tokens WHERE subscription_seq = ? AND purpose = ?`, seq, purpose).Scan(&hash, &expires)
	if err == sql.ErrNoRows {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if subtle.ConstantTimeCompare(hash, hashSecret(token)) != 1 {
		return false, nil
	}
	return !expires.Valid || fromNanos(expires.Int64).After(tx.now), nil
}

// ConfirmSubscription activates a pending subscription whose confirmation
// token is token, and uses the token up.
func (s *SubscriptionService) ConfirmSubscription(ctx context.Context, id, token string) (*tocsin.Subscription, error) {
	var sub *tocsin.Subscription
	err := s.db.update(ctx, func(tx *Tx) error {
		var err error
		if sub, err = findSubscriptionTx(ctx, tx, id); err != nil {
			return err
		}
		ok, err := tx.checkToken(ctx, sub.Seq, tokenConfirm, token)
		if err != nil {
			return err
		}
		if !ok || sub.State != tocsin.SubscriptionPending {
			return tocsin.Errorf(tocsin.EUNAUTHORIZED, "this confirmation link is not valid: it is wrong, was already used, or has expired")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE subscriptions SET state = 'active' WHERE seq = ?`, sub.Seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscription_tokens WHERE subscription_seq = ? AND purpose = ?`, sub.Seq, tokenConfirm); err != nil {
			return err
		}
		sub.State = tocsin.SubscriptionActive
		return tx.audit(ctx, "subscription.confirm", sub.ID, map[string]any{"channel": sub.Channel.Type})
	})
	if err != nil {
		return nil, fmt.Errorf("confirm subscription: %w", err)
	}
	return sub, nil
}

// UnsubscribeSubscription deletes a subscription whose unsubscribe token is token.
func (s *SubscriptionService) UnsubscribeSubscription(ctx context.Context, id, token string) (*tocsin.Subscription, error) {
	var sub *tocsin.Subscription
	err := s.db.update(ctx, func(tx *Tx) error {
		var err error
		if sub, err = findSubscriptionTx(ctx, tx, id); err != nil {
			return err
		}
		ok, err := tx.checkToken(ctx, sub.Seq, tokenUnsubscribe, token)
		if err != nil {
			return err
		}
		if !ok {
			return tocsin.Errorf(tocsin.EUNAUTHORIZED, "this unsubscribe link is not valid for subscription %s", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE seq = ?`, sub.Seq); err != nil {
			return err
		}
		return tx.audit(ctx, "subscription.unsubscribe", sub.ID, map[string]any{"channel": sub.Channel.Type})
	})
	if err != nil {
		return nil, fmt.Errorf("unsubscribe: %w", err)
	}
	return sub, nil
}

// findSubscriptionTx loads a subscription by its public id inside tx.
func findSubscriptionTx(ctx context.Context, tx *Tx, id string) (*tocsin.Subscription, error) {
	sub, err := scanSubscription(tx.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("subscription", id)
	}
	return sub, err
}
