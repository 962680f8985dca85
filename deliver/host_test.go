package deliver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
)

// TestCircuitBreaker walks one host's breaker through closed, open,
// half-open and back, on an injected clock.
func TestCircuitBreaker(t *testing.T) {
	clk := newClock()
	g := newHostGuard(4, 5, 30*time.Second, time.Second, clk.Now)
	ctx := t.Context()
	try := func(r hostResult) error {
		t.Helper()
		release, err := g.acquire(ctx, "a:443")
		if err != nil {
			return err
		}
		release(r)
		return nil
	}
	mustPass := func(r hostResult) {
		t.Helper()
		if err := try(r); err != nil {
			t.Fatalf("acquire refused: %v", err)
		}
	}
	mustRefuse := func() {
		t.Helper()
		err := try(hostOK)
		var open *CircuitOpenError
		if !errors.Is(err, ErrCircuitOpen) || !errors.As(err, &open) {
			t.Fatalf("acquire = %v, want circuit open", err)
		}
	}

	// Four failures, a success: the count starts again.
	for range 4 {
		mustPass(hostFailed)
	}
	mustPass(hostOK)
	// Cancelled sends say nothing about the host.
	for range 4 {
		mustPass(hostFailed)
	}
	mustPass(hostNeutral)
	mustPass(hostFailed) // the fifth in a row
	mustRefuse()
	// Another host is not affected.
	if release, err := g.acquire(ctx, "b:443"); err != nil {
		t.Fatalf("other host refused: %v", err)
	} else {
		release(hostOK)
	}

	clk.Advance(29 * time.Second)
	mustRefuse()
	clk.Advance(time.Second)

	// Half-open: one probe, and nobody else while it is out.
	probe, err := g.acquire(ctx, "a:443")
	if err != nil {
		t.Fatalf("probe refused: %v", err)
	}
	mustRefuse()
	probe(hostFailed) // the probe fails: open for another 30s
	mustRefuse()
	clk.Advance(30 * time.Second)
	probe, err = g.acquire(ctx, "a:443")
	if err != nil {
		t.Fatalf("second probe refused: %v", err)
	}
	probe(hostOK) // closed again
	for range 4 {
		mustPass(hostFailed)
	}
	mustPass(hostOK) // and counting from zero
	if n := len(g.hosts); n != 0 {
		t.Errorf("%d idle hosts remembered, want 0", n)
	}
}

// TestHostSlots checks the per-host limit and the bounded wait for a slot.
func TestHostSlots(t *testing.T) {
	clk := newClock()
	g := newHostGuard(2, 5, 30*time.Second, 50*time.Millisecond, clk.Now)
	ctx := t.Context()
	r1, err := g.acquire(ctx, "a:80")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := g.acquire(ctx, "a:80")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.acquire(ctx, "a:80"); !errors.Is(err, ErrHostBusy) {
		t.Errorf("third acquire = %v, want ErrHostBusy", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.acquire(cctx, "a:80"); !errors.Is(err, context.Canceled) {
		t.Errorf("acquire on a cancelled context = %v", err)
	}
	r1(hostOK)
	r1(hostOK) // a second release is ignored
	r3, err := g.acquire(ctx, "a:80")
	if err != nil {
		t.Fatalf("acquire after a release: %v", err)
	}
	r2(hostOK)
	r3(hostOK)
}

func TestHostKey(t *testing.T) {
	for url, want := range map[string]string{
		"https://Example.COM/hook":      "example.com:443",
		"https://example.com:443/other": "example.com:443",
		"http://example.com/hook":       "example.com:80",
		"http://example.com:8080/":      "example.com:8080",
		"http://[::1]:9/":               "[::1]:9",
		"":                              "webhook",
	} {
		sub := &tocsin.Subscription{Channel: tocsin.Channel{Type: tocsin.ChannelWebhook, URL: url}}
		if got := hostKey(sub); got != want {
			t.Errorf("hostKey(%q) = %q, want %q", url, got, want)
		}
	}
}
