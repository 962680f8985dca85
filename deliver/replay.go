package deliver

import (
	"context"
	"fmt"

	"github.com/tocsin/tocsin"

	"github.com/tocsin/tocsin/geo"
)

// MaxReplay is the most events one reconnecting stream is replayed.
const MaxReplay = 1000

// Replay writes, in seq order, the SSE frames of the events after seq that
// touch area, rendered for langs: what a stream that reconnects with
// Last-Event-ID missed. It reads the outbox, so it replays what happened
// while this process was down too.
func (d *Dispatcher) Replay(ctx context.Context, after int64, area geo.Shape, langs []string, write func(seq int64, frame []byte) error) error {
	log := d.Logger
	sent := 0
	for sent < MaxReplay {
		evs, err := d.Outbox.EventsAfter(ctx, after, 200)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		for _, ev := range evs {
			after = ev.Seq
			a, err := d.Alerts.FindAlertByID(ctx, ev.AlertID)
			if tocsin.ErrorCode(err) == tocsin.ENOTFOUND {
				continue // as the fan-out does: a missing alert is skipped, not fatal
			} else if err != nil {
				return fmt.Errorf("replay event %d: %w", ev.Seq, err)
			}
			areas, err := d.areas(ctx, a, log)
			if err != nil {
				return fmt.Errorf("replay event %d: %w", ev.Seq, err)
			}
			if !geo.IntersectsAny(areas, area) {
				continue
			}
			msgs, err := newMessages(ev, a)
			if err != nil {
				return fmt.Errorf("replay event %d: %w", ev.Seq, err)
			}
			if err := write(ev.Seq, msgs.frame(langs)); err != nil {
				return err
			}
			if sent++; sent >= MaxReplay {
				return nil
			}
		}
	}
	return nil
}
