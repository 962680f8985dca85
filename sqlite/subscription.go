package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// SubscriptionService stores subscriptions.
type SubscriptionService struct{ db *DB }

var _ tocsin.SubscriptionService = (*SubscriptionService)(nil)

// NewSubscriptionService returns a SubscriptionService on db.
func NewSubscriptionService(db *DB) *SubscriptionService { return &SubscriptionService{db: db} }

// storedArea is the JSON form of a subscription's area in the database.
type storedArea struct {
	Circle  *geo.Circle `json:"circle,omitempty"`
	Polygon geo.Polygon `json:"polygon,omitempty"`
}

// ValidateSubscription checks a subscription's fields (not its endpoint's
// reachability, which the caller checks against its network policy).
func ValidateSubscription(s *tocsin.Subscription) error {
	var p tocsin.Problems
	switch {
	case s.Area.Circle == nil && s.Area.Polygon == nil:
		p.Add("area", "needs a circle or a polygon")
	case s.Area.Circle != nil && s.Area.Polygon != nil:
		p.Add("area", "has a circle or a polygon, not both")
	case s.Area.Circle != nil:
		if err := s.Area.Circle.Validate(); err != nil {
			p.Add("area.circle", "%s", err)
		}
	default:
		if err := s.Area.Polygon.Validate(); err != nil {
			p.Add("area.polygon", "%s", err)
		}
	}
	if len(s.Languages) == 0 {
		p.Add("languages", "list at least one language, in order of preference")
	} else if len(s.Languages) > tocsin.MaxLanguages {
		p.Add("languages", "at most %d languages", tocsin.MaxLanguages)
	}
	for i, l := range s.Languages {
		if !tocsin.ValidLanguageTag(l) {
			p.Add(fmt.Sprintf("languages[%d]", i), "%q is not a language tag such as en or es-MX", l)
		}
	}
	if s.MinSeverity != "" && !s.MinSeverity.Valid() {
		p.Add("min_severity", "must be one of Extreme, Severe, Moderate, Minor, Unknown")
	}
	for i, c := range s.Categories {
		if !c.Valid() {
			p.Add(fmt.Sprintf("categories[%d]", i), "%q is not a CAP category", c)
		}
	}
	switch s.Channel.Type {
	case tocsin.ChannelWebhook:
		if strings.TrimSpace(s.Channel.URL) == "" {
			p.Add("channel.url", "is required for a webhook")
		} else if len(s.Channel.URL) > 2000 {
			p.Add("channel.url", "is longer than 2000 characters")
		}
	case tocsin.ChannelWebPush:
		validatePushChannel(&p, &s.Channel)
	case tocsin.ChannelEmail:
		if msg := validateEmailAddress(s.Channel.Address); msg != "" {
			p.Add("channel.address", "%s", msg)
		}
	default:
		p.Add("channel.type", "must be webhook, webpush or email")
	}
	return p.Err()
}

// CreateSubscription validates and stores s and returns its management token.
func (s *SubscriptionService) CreateSubscription(ctx context.Context, sub *tocsin.Subscription) (string, error) {
	if err := ValidateSubscription(sub); err != nil {
		return "", err
	}
	var key [24]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", fmt.Errorf("create subscription: %w", err)
	}
	sub.ID, sub.State = tocsin.NewID("sub"), tocsin.SubscriptionActive
	if sub.Channel.Type == tocsin.ChannelEmail {
		sub.State = tocsin.SubscriptionPending // double opt-in: nothing is sent until confirmed
	}
	sub.Secret = "whsec_" + base64.StdEncoding.EncodeToString(key[:])
	token := tocsin.NewSecret("subtok")
	area, _ := json.Marshal(storedArea{Circle: sub.Area.Circle, Polygon: sub.Area.Polygon})
	langs, _ := json.Marshal(sub.Languages)
	cats, _ := json.Marshal(sub.Categories)
	channel, _ := json.Marshal(sub.Channel)
	err := s.db.update(ctx, func(tx *Tx) error {
		sub.CreatedAt = tx.now
		res, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (id, area, languages, min_severity, categories, channel_type, channel_url, channel, secret, token_hash, state, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sub.ID, string(area), string(langs), string(sub.MinSeverity), string(cats), string(sub.Channel.Type), sub.Channel.URL, string(channel), sub.Secret, hashSecret(token), string(sub.State), nanos(tx.now))
		if err != nil {
			return err
		}
		if sub.Seq, err = res.LastInsertId(); err != nil {
			return err
		}
		return tx.audit(ctx, "subscription.create", sub.ID, map[string]any{"channel": sub.Channel.Type, "languages": sub.Languages})
	})
	if err != nil {
		return "", fmt.Errorf("create subscription: %w", err)
	}
	return token, nil
}

// DeleteSubscription removes a subscription if token manages it.
func (s *SubscriptionService) DeleteSubscription(ctx context.Context, id, token string) error {
	err := s.db.update(ctx, func(tx *Tx) error {
		var hash []byte
		err := tx.QueryRowContext(ctx, `SELECT token_hash FROM subscriptions WHERE id = ?`, id).Scan(&hash)
		if err == sql.ErrNoRows {
			return notFound("subscription", id)
		} else if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(hash, hashSecret(token)) != 1 {
			return tocsin.Errorf(tocsin.EUNAUTHORIZED, "that token does not manage subscription %s", id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = ?`, id); err != nil {
			return err
		}
		return tx.audit(ctx, "subscription.delete", id, nil)
	})
	if err != nil {
		return fmt.Errorf("delete subscription: %w", err)
	}
	return nil
}

// DisableSubscription stops delivery to a subscription whose endpoint is gone.
func (s *SubscriptionService) DisableSubscription(ctx context.Context, id, reason string) error {
	err := s.db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET state = 'disabled', disabled_reason = ? WHERE id = ? AND state = 'active'`, reason, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return tx.audit(ctx, "subscription.disable", id, map[string]any{"reason": reason})
	})
	if err != nil {
		return fmt.Errorf("disable subscription: %w", err)
	}
	return nil
}

const subscriptionColumns = `seq, id, area, languages, min_severity, categories, channel_type, channel_url, channel, secret, state, created_at`

func scanSubscription(s scanner) (*tocsin.Subscription, error) {
	var sub tocsin.Subscription
	var area, langs, minSev, cats, chType, channel, state string
	var created int64
	if err := s.Scan(&sub.Seq, &sub.ID, &area, &langs, &minSev, &cats, &chType, &sub.Channel.URL, &channel, &sub.Secret, &state, &created); err != nil {
		return nil, err
	}
	if channel != "" {
		if err := json.Unmarshal([]byte(channel), &sub.Channel); err != nil {
			return nil, fmt.Errorf("subscription %s channel: %w", sub.ID, err)
		}
	}
	var a storedArea
	if err := json.Unmarshal([]byte(area), &a); err != nil {
		return nil, fmt.Errorf("subscription %s area: %w", sub.ID, err)
	}
	sub.Area = geo.Shape{Circle: a.Circle, Polygon: a.Polygon}
	if err := json.Unmarshal([]byte(langs), &sub.Languages); err != nil {
		return nil, fmt.Errorf("subscription %s languages: %w", sub.ID, err)
	}
	if err := json.Unmarshal([]byte(cats), &sub.Categories); err != nil {
		return nil, fmt.Errorf("subscription %s categories: %w", sub.ID, err)
	}
	sub.MinSeverity, sub.State = tocsin.Severity(minSev), tocsin.SubscriptionState(state)
	if sub.Channel.Type == "" {
		sub.Channel.Type = tocsin.ChannelType(chType)
	}
	sub.CreatedAt = fromNanos(created)
	return &sub, nil
}

// FindSubscriptionByID returns one subscription by its public id.
func (s *SubscriptionService) FindSubscriptionByID(ctx context.Context, id string) (*tocsin.Subscription, error) {
	sub, err := scanSubscription(s.db.read.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("subscription", id)
	} else if err != nil {
		return nil, fmt.Errorf("find subscription: %w", err)
	}
	return sub, nil
}

// FindSubscriptionBySeq returns one subscription by its internal key.
func (s *SubscriptionService) FindSubscriptionBySeq(ctx context.Context, seq int64) (*tocsin.Subscription, error) {
	sub, err := scanSubscription(s.db.read.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE seq = ?`, seq))
	if err == sql.ErrNoRows {
		return nil, notFound("subscription", fmt.Sprint(seq))
	} else if err != nil {
		return nil, fmt.Errorf("find subscription: %w", err)
	}
	return sub, nil
}

// EachSubscription calls fn for every active subscription in Seq order.
func (s *SubscriptionService) EachSubscription(ctx context.Context, fn func(*tocsin.Subscription) error) error {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE state = 'active' ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("each subscription: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return fmt.Errorf("each subscription: %w", err)
		}
		if err := fn(sub); err != nil {
			return err
		}
	}
	return rows.Err()
}
