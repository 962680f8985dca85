package deliver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// Matcher is the in-memory index of active subscriptions: a spatial index of
// their areas keyed by Subscription.Seq, and the subscriptions themselves.
// Matching asks the index for the subscriptions whose area touches an
// alert's, then applies each subscription's filters, so its cost follows the
// number of candidates rather than the number of subscriptions. It is safe
// for concurrent use. Subscriptions handed to it must not be modified
// afterwards; replace them with Add instead.
type Matcher struct {
	index *geo.Index
	mu    sync.RWMutex
	subs  map[int64]*tocsin.Subscription
}

// NewMatcher returns an empty Matcher.
func NewMatcher() *Matcher {
	return &Matcher{index: geo.NewIndex(), subs: make(map[int64]*tocsin.Subscription)}
}

// ErrUnindexable is wrapped by the errors of Add and Load for subscriptions
// whose area the spatial index cannot hold (not exactly one circle with a
// radius or one polygon, or bounds that are not finite). Validation keeps
// such areas out of the store, so seeing one means a bug or a damaged row.
var ErrUnindexable = errors.New("area cannot be indexed")

// Load adds every active subscription in the store; call it once at start,
// before the Dispatcher starts. A subscription whose area cannot be indexed
// is skipped rather than stopping the others from being served: the error
// then wraps ErrUnindexable and names the first, while the rest are loaded.
func (m *Matcher) Load(ctx context.Context, subs tocsin.SubscriptionService) error {
	var skipped int
	var first error
	err := subs.EachSubscription(ctx, func(s *tocsin.Subscription) error {
		if err := m.Add(s); err != nil {
			skipped++
			if first == nil {
				first = err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	if first != nil {
		return fmt.Errorf("load subscriptions: %d skipped, the first: %w", skipped, first)
	}
	return nil
}

// Add indexes s, replacing any subscription with the same Seq. A subscription
// that is not active is removed instead, since nothing is sent to it. An area
// the index cannot hold is an error wrapping ErrUnindexable, and s is then
// not indexed.
func (m *Matcher) Add(s *tocsin.Subscription) error {
	if s.State != tocsin.SubscriptionActive {
		m.Remove(s.Seq)
		return nil
	}
	if !indexable(s.Area) {
		m.Remove(s.Seq)
		return fmt.Errorf("subscription %s (seq %d): %w", s.ID, s.Seq, ErrUnindexable)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs[s.Seq] = s
	m.index.Insert(s.Seq, s.Area) // replaces any shape under s.Seq
	return nil
}

// indexable mirrors the preconditions of geo.Index.Insert, which panics on a
// shape that breaks them; the full Validate is too slow to run on every
// polygon at start.
func indexable(a geo.Shape) bool {
	switch {
	case a.Circle != nil && a.Polygon == nil && a.Circle.RadiusKM > 0:
	case a.Circle == nil && len(a.Polygon) > 0:
	default:
		return false
	}
	b := a.Bounds()
	for _, v := range [...]float64{b.MinLat, b.MinLon, b.MaxLat, b.MaxLon} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Remove drops the subscription with the given Seq, if indexed.
func (m *Matcher) Remove(seq int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.subs[seq]; ok {
		delete(m.subs, seq)
		m.index.Delete(seq)
	}
}

// Len returns the number of indexed subscriptions.
func (m *Matcher) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.subs)
}

// Match calls fn, in no particular order, for each subscription whose area
// touches any of areas and whose filters want a, until fn returns false. Each
// subscription is passed once. fn may call Add and Remove.
func (m *Matcher) Match(areas []geo.Shape, a *tocsin.Alert, fn func(*tocsin.Subscription) bool) {
	for _, s := range m.candidates(areas) {
		if s.Wants(a) && !fn(s) {
			return
		}
	}
}

// candidates returns the subscriptions whose area touches any of areas. It
// collects them under the read lock and returns, so that callbacks run
// without it.
func (m *Matcher) candidates(areas []geo.Shape) []*tocsin.Subscription {
	if len(areas) == 0 {
		return nil
	}
	var out []*tocsin.Subscription
	m.mu.RLock()
	defer m.mu.RUnlock()
	m.index.SearchAll(areas, func(id int64) bool {
		if s, ok := m.subs[id]; ok {
			out = append(out, s)
		}
		return true
	})
	return out
}

// Matching returns the subscriptions Match would visit, in Seq order: the
// fan-out order, which checkpoints rely on.
func (m *Matcher) Matching(areas []geo.Shape, a *tocsin.Alert) []*tocsin.Subscription {
	var out []*tocsin.Subscription
	m.Match(areas, a, func(s *tocsin.Subscription) bool {
		out = append(out, s)
		return true
	})
	slices.SortFunc(out, func(x, y *tocsin.Subscription) int {
		switch {
		case x.Seq < y.Seq:
			return -1
		case x.Seq > y.Seq:
			return 1
		}
		return 0
	})
	return out
}

// Count returns how many subscriptions Match would visit, by channel: the
// recipient count a publisher sees before sending (SSE streams are not
// subscriptions and are not counted).
func (m *Matcher) Count(areas []geo.Shape, a *tocsin.Alert) map[tocsin.ChannelType]int {
	n := make(map[tocsin.ChannelType]int)
	m.Match(areas, a, func(s *tocsin.Subscription) bool {
		n[s.Channel.Type]++
		return true
	})
	return n
}
