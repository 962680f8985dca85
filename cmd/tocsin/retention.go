package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tocsin/tocsin"
)

// DefaultReportRetention is how long raw reports are kept (from when they
// were stored) once their incident has been decided.
const DefaultReportRetention = 30 * 24 * time.Hour

// sweepInterval is how often expired reports are looked for: a 24th of the
// retention, so that a report outlives it by at most about 4%, and from a
// minute to an hour. A retention shorter than a minute (tests,
// demonstrations) is swept as often as it is long, so that it still means
// roughly what it says.
func sweepInterval(retention time.Duration) time.Duration {
	return min(time.Hour, max(retention/24, min(time.Minute, retention)))
}

// reportSweeper expires raw reports in the background: once at Start, then
// every Interval, until Close.
type reportSweeper struct {
	Reports   tocsin.ReportService
	Retention time.Duration
	Interval  time.Duration
	Now       func() time.Time
	Logger    *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Start begins sweeping. Its ctx must be a system one
// (tocsin.NewContextWithSystem): the sweeps are tocsin's own decisions.
func (s *reportSweeper) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		tick := time.NewTicker(s.Interval)
		defer tick.Stop()
		for {
			s.sweep(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func (s *reportSweeper) sweep(ctx context.Context) {
	n, err := s.Reports.ExpireReports(ctx, s.Now().Add(-s.Retention))
	switch {
	case err != nil && ctx.Err() == nil:
		// The next sweep tries again; nothing is lost by waiting.
		s.Logger.Error("expire reports", "err", err)
	case n > 0:
		s.Logger.Info("expired reports", "reports", n, "retention", s.Retention)
	}
}

// Close stops sweeping and waits for a sweep in progress to end.
func (s *reportSweeper) Close() error {
	s.once.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
	})
	if s.done != nil {
		<-s.done
	}
	return nil
}
