package deliver

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	fail := errors.New("500")
	top := func() float64 { return 0.999999 }
	half := func() float64 { return 0.5 }
	for _, tt := range []struct {
		b        Backoff
		attempts int
		err      error
		want     time.Duration // with ok
		dead     bool
	}{
		{Backoff{Rand: top}, 1, fail, 2 * time.Second, false},
		{Backoff{Rand: top}, 2, fail, 4 * time.Second, false},
		{Backoff{Rand: top}, 5, fail, 32 * time.Second, false},
		{Backoff{Rand: top}, 9, fail, 512 * time.Second, false},
		{Backoff{Rand: half}, 3, fail, 4 * time.Second, false},
		{Backoff{Rand: func() float64 { return 0 }}, 3, fail, 0, false},
		{Backoff{Rand: top, MaxAttempts: 40}, 30, fail, time.Hour, false}, // capped
		{Backoff{Rand: top}, DefaultMaxAttempts, fail, 0, true},           // default MaxAttempts
		{Backoff{Rand: top, MaxAttempts: 3}, 3, fail, 0, true},
		{Backoff{Rand: top, MaxAttempts: 1}, 1, fail, 0, true},
		{Backoff{Rand: top}, 1, &RetryAfterError{After: 7 * time.Second, Err: fail}, 7 * time.Second, false},
		{Backoff{Rand: top}, 1, fmt.Errorf("wrapped: %w", &RetryAfterError{After: 3 * time.Hour, Err: fail}), time.Hour, false},
		{Backoff{Rand: top}, DefaultMaxAttempts, &RetryAfterError{After: 7 * time.Second, Err: fail}, 0, true},
		{Backoff{Rand: top, Base: time.Second, Factor: 3, Max: time.Minute}, 3, fail, 9 * time.Second, false},
	} {
		got, ok := tt.b.Next(tt.attempts, tt.err)
		if ok == tt.dead {
			t.Errorf("Next(%d, %v) ok = %v, want %v", tt.attempts, tt.err, ok, !tt.dead)
			continue
		}
		// Compare to the second: the top of the range is just below the ceiling.
		if ok && got.Round(time.Second) != tt.want {
			t.Errorf("Next(%d, %v) = %s, want %s", tt.attempts, tt.err, got, tt.want)
		}
	}
}

// TestBackoffJitterRange checks the default random source stays in range.
func TestBackoffJitterRange(t *testing.T) {
	var b Backoff
	for attempt := 1; attempt < DefaultMaxAttempts; attempt++ {
		ceil := min(DefaultBackoffBase<<(attempt-1), DefaultBackoffMax)
		for range 100 {
			d, ok := b.Next(attempt, errors.New("x"))
			if !ok || d < 0 || d >= ceil {
				t.Fatalf("attempt %d: %s, %v; want [0, %s)", attempt, d, ok, ceil)
			}
		}
	}
}
