package http

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// clientKeys turns a client's address into an opaque key with a key that
// rotates: the address itself is never stored, and once a key is dropped,
// the hashes made with it cannot be linked to anyone again.
type clientKeys struct {
	mu      sync.Mutex
	key     []byte
	created time.Time
	every   time.Duration
	now     func() time.Time
}

func newClientKeys(every time.Duration, now func() time.Time) *clientKeys {
	return &clientKeys{every: every, now: now}
}

// Key returns the opaque key of the request's client, and whether the
// hashing key rotated since the last call.
func (c *clientKeys) Key(r *http.Request) (string, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	c.mu.Lock()
	rotated := false
	if c.key == nil || c.now().Sub(c.created) >= c.every {
		c.key = make([]byte, 32)
		rand.Read(c.key)
		c.created = c.now()
		rotated = true
	}
	m := hmac.New(sha256.New, c.key)
	c.mu.Unlock()
	m.Write([]byte(host))
	return hex.EncodeToString(m.Sum(nil)[:12]), rotated
}

// Limit is a request rate: Rate per second with bursts of Burst.
type Limit struct {
	Rate  rate.Limit
	Burst int
}

// limiter keeps one token bucket per (client key, class), in memory only.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	max     int
	now     func() time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{buckets: map[string]*rate.Limiter{}, max: 100_000, now: now}
}

// Allow reports whether the client may make one more request of class now,
// and if not, how long until it may.
func (l *limiter) Allow(client, class string, lim Limit, reset bool) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if reset || len(l.buckets) >= l.max {
		clear(l.buckets)
	}
	k := class + ":" + client
	b, ok := l.buckets[k]
	if !ok {
		b = rate.NewLimiter(lim.Rate, lim.Burst)
		l.buckets[k] = b
	}
	now := l.now()
	res := b.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}
