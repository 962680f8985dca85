package deliver

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff decides when a failed delivery is tried again: exponential with
// full jitter (a uniformly random delay below Base·Factor^(attempt-1),
// capped at Max), or the receiver's Retry-After when it gave one (capped at
// Max too), until MaxAttempts attempts have failed. The zero value uses the
// defaults.
type Backoff struct {
	Base        time.Duration // first ceiling; default 2s
	Factor      float64       // growth per attempt; default 2
	Max         time.Duration // cap on any delay; default 1h
	MaxAttempts int           // attempts before dead-lettering; default 30
	// Rand returns a number in [0, 1); default math/rand/v2's Float64.
	// Tests inject a fixed one.
	Rand func() float64
}

// The backoff defaults.
const (
	DefaultBackoffBase  = 2 * time.Second
	DefaultBackoffMax   = time.Hour
	DefaultMaxAttempts  = 30 // with the 1h cap: the last retry about 10h (at most 20h) after the first failure
	defaultBackoffScale = 2.0
)

// Next returns the delay before the next attempt, after attempts attempts
// (1 or more) have failed with err, and false when the schedule has ended
// and the delivery is to be dead-lettered.
func (b *Backoff) Next(attempts int, err error) (time.Duration, bool) {
	maxAttempts := b.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	if attempts >= maxAttempts {
		return 0, false
	}
	base, factor, ceil := b.Base, b.Factor, b.Max
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if factor < 1 {
		factor = defaultBackoffScale
	}
	if ceil <= 0 {
		ceil = DefaultBackoffMax
	}
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return min(max(ra.After, 0), ceil), true
	}
	limit := float64(base)
	for i := 1; i < attempts && limit < float64(ceil); i++ {
		limit *= factor
	}
	limit = min(limit, float64(ceil))
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return time.Duration(r() * limit), true
}
