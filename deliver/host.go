package deliver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tocsin/tocsin"
)

// ErrCircuitOpen is matched (errors.Is) by the errors of sends refused
// without touching the network because their host's circuit breaker is open.
// Such sends are retryable.
var ErrCircuitOpen = errors.New("circuit open")

// ErrHostBusy is matched (errors.Is) by the errors of sends that waited too
// long for one of their host's concurrency slots. They are retryable: the
// delivery is left to the retry loop instead of holding up its shard.
var ErrHostBusy = errors.New("host busy")

// CircuitOpenError is the error of a send refused by an open circuit breaker.
type CircuitOpenError struct {
	Host  string
	Until time.Time // when the breaker lets a probe through
}

// Error implements the error interface.
func (e *CircuitOpenError) Error() string {
	return fmt.Sprintf("circuit open for %s after repeated failures; next probe at %s",
		e.Host, e.Until.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrCircuitOpen) true.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// hostResult is what a send told the breaker about its host.
type hostResult int

const (
	hostNeutral hostResult = iota // cancelled by us: says nothing about the host
	hostOK                        // the host answered (any non-retryable outcome)
	hostFailed                    // a retryable failure: timeout, network, 5xx, 429…
)

// hostGuard protects each destination host and the dispatcher from each
// other: at most perHost sends in flight per host, and a circuit breaker per
// host that opens after threshold consecutive retryable failures, fails
// sends fast while open, and after openFor lets a single probe through
// (half-open) whose outcome closes or reopens it.
type hostGuard struct {
	perHost   int
	pushHost  int // perHost for push services, which serve every browser of a vendor
	threshold int
	openFor   time.Duration
	wait      time.Duration // longest wait for a slot before ErrHostBusy
	now       func() time.Time

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	slots     chan struct{}
	users     int       // goroutines holding or waiting for this state
	failures  int       // consecutive retryable failures
	openUntil time.Time // zero while closed; half-open once passed
	probing   bool      // a half-open probe is in flight
}

func newHostGuard(perHost, threshold int, openFor, wait time.Duration, now func() time.Time) *hostGuard {
	return &hostGuard{perHost: perHost, threshold: threshold, openFor: openFor, wait: wait, now: now,
		hosts: make(map[string]*hostState)}
}

// state returns host's state, counting the caller as a user. g.mu is held.
func (g *hostGuard) state(host string) *hostState {
	h := g.hosts[host]
	if h == nil {
		n := g.perHost
		if strings.HasPrefix(host, pushKeyPrefix) && g.pushHost > 0 {
			n = g.pushHost
		}
		h = &hostState{slots: make(chan struct{}, n)}
		g.hosts[host] = h
	}
	h.users++
	return h
}

// leave drops the caller as a user, forgetting a host with nothing to
// remember. g.mu is held.
func (g *hostGuard) leave(host string, h *hostState) {
	h.users--
	if h.users == 0 && h.failures == 0 && h.openUntil.IsZero() {
		delete(g.hosts, host)
	}
}

// refusal returns the error for a send refused by h's breaker at now, or nil.
// When the breaker is half-open and no probe is out, the caller becomes the
// probe if claim is set. g.mu is held.
func (g *hostGuard) refusal(host string, h *hostState, now time.Time, claim bool) (probe bool, err error) {
	switch {
	case h.openUntil.IsZero():
		return false, nil
	case now.Before(h.openUntil):
		return false, &CircuitOpenError{Host: host, Until: h.openUntil}
	case h.probing:
		return false, &CircuitOpenError{Host: host, Until: now.Add(g.openFor)}
	}
	if claim {
		h.probing = true
	}
	return claim, nil
}

// acquire waits for one of host's slots and returns the function that gives
// it back with the send's outcome. It fails at once with a
// *CircuitOpenError while the breaker is open, with ErrHostBusy after
// waiting g.wait, or with ctx's error.
func (g *hostGuard) acquire(ctx context.Context, host string) (release func(hostResult), err error) {
	g.mu.Lock()
	h := g.state(host)
	if _, err := g.refusal(host, h, g.now(), false); err != nil {
		g.leave(host, h)
		g.mu.Unlock()
		return nil, err
	}
	g.mu.Unlock()

	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = fmt.Errorf("%w: %d requests to %s in flight for over %s", ErrHostBusy, g.perHost, host, g.wait)
	}
	if err != nil {
		g.mu.Lock()
		g.leave(host, h)
		g.mu.Unlock()
		return nil, err
	}

	// The breaker may have opened while this send waited for its slot.
	g.mu.Lock()
	probe, err := g.refusal(host, h, g.now(), true)
	if err != nil {
		<-h.slots
		g.leave(host, h)
		g.mu.Unlock()
		return nil, err
	}
	g.mu.Unlock()

	var once sync.Once
	return func(r hostResult) {
		once.Do(func() { g.release(host, h, probe, r) })
	}, nil
}

func (g *hostGuard) release(host string, h *hostState, probe bool, r hostResult) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	switch {
	case probe:
		h.probing = false
		switch r {
		case hostOK:
			h.failures, h.openUntil = 0, time.Time{}
		case hostFailed:
			h.failures++
			h.openUntil = now.Add(g.openFor)
		}
	case r == hostOK:
		if h.openUntil.IsZero() {
			h.failures = 0
		}
	case r == hostFailed:
		h.failures++
		if h.openUntil.IsZero() && h.failures >= g.threshold {
			h.openUntil = now.Add(g.openFor)
		}
	}
	<-h.slots
	g.leave(host, h)
}

// hostKey names the destination a subscription's sends go to, for the
// per-host limits: the webhook URL's or push endpoint's lower-cased host
// and port (default port made explicit), or the channel type for channels
// without a URL.
func hostKey(sub *tocsin.Subscription) string {
	raw, prefix := sub.Channel.URL, ""
	if sub.Channel.Type == tocsin.ChannelWebPush {
		raw, prefix = sub.Channel.Endpoint, pushKeyPrefix
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return string(sub.Channel.Type)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return prefix + net.JoinHostPort(host, port)
}

// pushKeyPrefix marks the host keys of push services: every Chrome
// subscriber shares one FCM host, so they get their own, larger limit.
const pushKeyPrefix = "push:"
