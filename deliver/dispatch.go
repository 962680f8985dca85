package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// LiveStreams is where events go to the live SSE streams: the SSE broker.
type LiveStreams interface {
	// Publish hands event seq to every stream watching areas. frame renders
	// the SSE frame for a stream whose preferred languages are langs. It
	// returns the number of streams the frame was queued to.
	Publish(seq int64, areas []geo.Shape, frame func(langs []string) []byte) int
}

// The Dispatcher defaults.
const (
	DefaultShardSize   = 500
	DefaultWindow      = 4
	DefaultWorkers     = 128
	DefaultTimeout     = 10 * time.Second
	DefaultPerHost     = 4
	DefaultPushPerHost = 64
	DefaultHostWait    = time.Minute
	DefaultBreakAfter  = 5
	DefaultBreakFor    = 30 * time.Second
	DefaultPoll        = time.Minute
	DefaultRetryBatch  = 100
)

// Dispatcher is the fan-out pipeline. Its event loop takes each pending
// outbox event in order, hands it to the live streams, matches it against
// the subscriptions, and sends it to them in shards of ShardSize in Seq
// order, several shards at once; after a shard it checkpoints the event up to
// the shard's last subscription together with the shard's failed deliveries,
// in one Outbox call. Successful first attempts are not written anywhere.
// Its retry loop resends the failed deliveries as they fall due, until they
// are delivered or dead-lettered.
//
// Every send waits first for a slot of its destination host (PerHost, at
// most HostWait), then for one of the Workers; a host whose circuit breaker
// is open is not contacted at all. Sends refused that way count as attempts
// that failed and can be retried, scheduled no earlier than the breaker's
// next probe.
//
// Events are handed to Live and fanned out in Seq order, one at a time; a
// retried delivery can reach its receiver after a later event's first
// attempt (an alert's retry after its own Cancel), so receivers order by
// the alert, not by arrival.
//
// Set the fields, then call Start once and Close once. Zero fields take the
// defaults above.
type Dispatcher struct {
	Outbox        tocsin.Outbox
	Alerts        tocsin.AlertService        // loads each event's alert and the alerts it references
	Subscriptions tocsin.SubscriptionService // disables gone endpoints, loads subscriptions for retries
	// Matcher holds the active subscriptions; whoever creates and deletes
	// subscriptions keeps it current (Add, Remove). When nil, Start loads a
	// private one from Subscriptions, which suits tests and read-only nodes.
	Matcher *Matcher
	// Senders sends over each channel. When nil, webhooks are sent with
	// NewHTTPClient(false, Timeout) and nothing else is.
	Senders map[tocsin.ChannelType]Sender
	// Live receives every event before the webhooks do; nil for none.
	Live LiveStreams

	Now     func() time.Time // the clock; default time.Now
	Logger  *slog.Logger     // default slog.Default()
	Metrics *Metrics         // nil records nothing
	Backoff Backoff          // retry schedule

	ShardSize int           // subscriptions per checkpointed shard
	Window    int           // shards of one event in flight at once
	Workers   int           // sends in flight at once, overall
	Timeout   time.Duration // bound on each send
	PerHost   int           // sends in flight at once per destination host
	// PushPerHost is PerHost for Web Push services (FCM, Mozilla, Apple),
	// which carry every browser of their vendor; default DefaultPushPerHost.
	PushPerHost int
	// HostWait bounds how long a send waits for a slot of its host before it
	// is left to the retry loop (ErrHostBusy), so one busy host cannot hold
	// a shard's checkpoint for long.
	HostWait   time.Duration
	BreakAfter int           // consecutive failures that open a host's circuit
	BreakFor   time.Duration // how long it stays open before a probe
	// PollInterval is the longest either loop sleeps without a wake-up; it
	// covers events and due deliveries nobody announced.
	PollInterval time.Duration
	RetryBatch   int // due deliveries taken at once

	initOnce  sync.Once
	wake      chan struct{}
	tick      chan struct{}
	mu        sync.Mutex
	started   bool
	closed    bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	slots     chan struct{}
	guard     *hostGuard
	c         config // resolved at Start
	liveSeq   int64  // highest event handed to Live by this process
	closeOnce sync.Once
}

func (d *Dispatcher) init() {
	d.initOnce.Do(func() {
		d.wake = make(chan struct{}, 1)
		d.tick = make(chan struct{}, 1)
	})
}

// Start checks the configuration, loads the subscriptions when Matcher is
// nil, and starts the event loop and the retry loop. They run until Close
// is called or ctx ends. Start does not modify d's fields: the defaults are
// resolved into a private copy.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.init()
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.started:
		return errors.New("dispatcher: already started")
	case d.closed:
		return errors.New("dispatcher: closed")
	case d.Outbox == nil || d.Alerts == nil || d.Subscriptions == nil:
		return errors.New("dispatcher: Outbox, Alerts and Subscriptions are required")
	}
	d.c = d.resolve()
	if d.c.matcher == nil {
		m := NewMatcher()
		if err := m.Load(ctx, d.Subscriptions); errors.Is(err, ErrUnindexable) {
			d.c.log.Error("some subscriptions were not loaded", "err", err)
		} else if err != nil {
			return fmt.Errorf("dispatcher: %w", err)
		}
		d.c.matcher = m
	}
	d.slots = make(chan struct{}, d.c.workers)
	d.guard = newHostGuard(d.c.perHost, d.c.breakAfter, d.c.breakFor, d.c.hostWait, d.c.now)
	d.guard.pushHost = orDefault(d.PushPerHost, DefaultPushPerHost)
	ctx, d.cancel = context.WithCancel(ctx)
	d.started = true
	d.wg.Add(2)
	go d.eventLoop(ctx)
	go d.retryLoop(ctx)
	return nil
}

// config is a Dispatcher's settings with the defaults filled in, fixed at
// Start, so that the exported fields are never written while others may
// read them.
type config struct {
	now                                             func() time.Time
	log                                             *slog.Logger
	matcher                                         *Matcher
	senders                                         map[tocsin.ChannelType]Sender
	shardSize, window, workers, perHost, breakAfter int
	retryBatch                                      int
	timeout, hostWait, breakFor, poll               time.Duration
}

func (d *Dispatcher) resolve() config {
	c := config{
		now:        d.Now,
		log:        d.Logger,
		matcher:    d.Matcher,
		senders:    d.Senders,
		shardSize:  orDefault(d.ShardSize, DefaultShardSize),
		window:     orDefault(d.Window, DefaultWindow),
		workers:    orDefault(d.Workers, DefaultWorkers),
		perHost:    orDefault(d.PerHost, DefaultPerHost),
		breakAfter: orDefault(d.BreakAfter, DefaultBreakAfter),
		retryBatch: orDefault(d.RetryBatch, DefaultRetryBatch),
		timeout:    orDefault(d.Timeout, DefaultTimeout),
		hostWait:   orDefault(d.HostWait, DefaultHostWait),
		breakFor:   orDefault(d.BreakFor, DefaultBreakFor),
		poll:       orDefault(d.PollInterval, DefaultPoll),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "deliver")
	if c.senders == nil {
		c.senders = map[tocsin.ChannelType]Sender{
			tocsin.ChannelWebhook: &WebhookSender{Client: NewHTTPClient(false, c.timeout)},
		}
	}
	return c
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Notify wakes the event loop to look for pending events, and the retry
// loop to look for due deliveries. Call it after a publish commits; it
// never blocks.
func (d *Dispatcher) Notify() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	d.Tick()
}

// Tick wakes the retry loop to look for deliveries due by the injected
// clock. The loop wakes by itself when the next delivery falls due by the
// real clock; tests that move a fake clock call Tick instead of sleeping.
func (d *Dispatcher) Tick() {
	d.init()
	select {
	case d.tick <- struct{}{}:
	default:
	}
}

// Close stops both loops and waits for them. Sends in flight are cancelled;
// their shard is not checkpointed, so they are sent again after a restart
// (at least once). Close is safe to call more than once.
func (d *Dispatcher) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		cancel := d.cancel
		d.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		d.wg.Wait()
	})
	return nil
}

// sleep waits for wake, ctx's end or d, and reports whether ctx is still live.
func sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}

func (d *Dispatcher) eventLoop(ctx context.Context) {
	defer d.wg.Done()
	for {
		wait := d.c.poll
		if err := d.runEvents(ctx); err != nil && ctx.Err() == nil {
			d.c.log.Error("fan-out stopped; will resume", "err", err)
			wait = min(wait, 5*time.Second)
		}
		if !sleep(ctx, d.wake, wait) {
			return
		}
	}
}

// runEvents fans out every pending event, oldest first, stopping at the first
// error so that events stay in order.
func (d *Dispatcher) runEvents(ctx context.Context) error {
	evs, err := d.Outbox.PendingEvents(ctx)
	if err != nil {
		return fmt.Errorf("pending events: %w", err)
	}
	for _, ev := range evs {
		if err := d.runEvent(ctx, ev); err != nil {
			return fmt.Errorf("event %d: %w", ev.Seq, err)
		}
	}
	return nil
}

// runEvent fans out one event from its checkpoint on and completes it.
func (d *Dispatcher) runEvent(ctx context.Context, ev *tocsin.Event) error {
	log := d.c.log.With("event", ev.Seq, "alert", ev.AlertID)
	a, err := d.Alerts.FindAlertByID(ctx, ev.AlertID)
	if tocsin.ErrorCode(err) == tocsin.ENOTFOUND {
		// Nothing can ever be sent for it; waiting would block every later event.
		log.Error("alert of event not found; event skipped", "err", err)
		return d.complete(ctx, ev)
	} else if err != nil {
		return fmt.Errorf("load alert: %w", err)
	}
	areas, err := d.areas(ctx, a, log)
	if err != nil {
		return err
	}
	msgs, err := newMessages(ev, a)
	if err != nil {
		return err
	}

	if d.Live != nil && ev.Seq > d.liveSeq {
		n := d.Live.Publish(ev.Seq, areas, msgs.frame)
		d.liveSeq = ev.Seq
		d.Metrics.delivered(tocsin.ChannelSSE, n, d.c.now().Sub(ev.CreatedAt))
	}

	subs := d.c.matcher.Matching(areas, a)
	i := sort.Search(len(subs), func(i int) bool { return subs[i].Seq > ev.Checkpoint })
	subs = subs[i:]
	if err := d.fanOut(ctx, ev, msgs, subs); err != nil {
		return err
	}
	if len(subs) > 0 {
		log.Debug("fan-out done", "subscriptions", len(subs))
	}
	return d.complete(ctx, ev)
}

func (d *Dispatcher) complete(ctx context.Context, ev *tocsin.Event) error {
	if err := d.Outbox.CompleteEvent(ctx, ev.Seq); err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	return nil
}

// areas returns the areas an event goes to: its alert's, and for an Update
// or a Cancel also those of the alerts it references, so that everyone who
// got the original hears that it changed.
func (d *Dispatcher) areas(ctx context.Context, a *tocsin.Alert, log *slog.Logger) ([]geo.Shape, error) {
	areas := a.Shapes()
	if a.MsgType != "Update" && a.MsgType != "Cancel" {
		return areas, nil
	}
	if log == nil {
		log = slog.Default()
	}
	for _, ref := range a.References {
		id := tocsin.ReferenceID(ref)
		old, err := d.Alerts.FindAlertByID(ctx, id)
		if tocsin.ErrorCode(err) == tocsin.ENOTFOUND {
			log.Warn("referenced alert not found; its area is not included", "reference", ref)
			continue
		} else if err != nil {
			return nil, fmt.Errorf("load referenced alert %s: %w", id, err)
		}
		areas = append(areas, old.Shapes()...)
	}
	return areas, nil
}

// messages are one event's bodies and SSE frames, rendered once per info
// language rather than once per subscriber.
type messages struct {
	ev     *tocsin.Event
	alert  *tocsin.Alert
	bodies map[string][]byte // JSON of tocsin.Message, by info language
	frames map[string][]byte
	push   map[string]*PushMeta // Web Push form, by info language
}

func newMessages(ev *tocsin.Event, a *tocsin.Alert) (*messages, error) {
	m := &messages{ev: ev, alert: a, bodies: make(map[string][]byte), frames: make(map[string][]byte), push: make(map[string]*PushMeta)}
	langs := []string{""}
	if len(a.Infos) > 0 {
		langs = langs[:0]
		for _, in := range a.Infos {
			langs = append(langs, in.Language)
		}
	}
	for _, lang := range langs {
		body, err := json.Marshal(tocsin.Message{Type: ev.Type, Alert: a.Public().ForLanguage([]string{lang})})
		if err != nil {
			return nil, fmt.Errorf("render message in %q: %w", lang, err)
		}
		m.bodies[lang] = body
		m.frames[lang] = sseFrame(ev.Seq, "alert", body)
		if m.push[lang], err = newPushMeta(ev, a, lang); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// key returns the language of the info chosen for langs.
func (m *messages) key(langs []string) string {
	if in := m.alert.InfoFor(langs); in != nil {
		return in.Language
	}
	return ""
}

func (m *messages) body(langs []string) []byte { return m.bodies[m.key(langs)] }

func (m *messages) frame(langs []string) []byte { return m.frames[m.key(langs)] }

// pushFor returns the Web Push form of the message for sub, or nil when sub
// is not a Web Push subscription.
func (m *messages) pushFor(sub *tocsin.Subscription) *PushMeta {
	if sub.Channel.Type != tocsin.ChannelWebPush {
		return nil
	}
	return m.push[m.key(sub.Languages)]
}

// sseFrame encodes one Server-Sent Events frame. data must hold no newline;
// JSON from encoding/json holds none.
func sseFrame(seq int64, event string, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(event)+40)
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, "\nevent: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// shardResult is the outcome of one shard: the last subscription it covers
// and its failed deliveries.
type shardResult struct {
	upTo   int64
	failed []*tocsin.Delivery
}

// fanOut sends msgs to subs, which are in Seq order, in shards of ShardSize,
// with up to Window shards in flight. Checkpoints advance strictly in shard
// order: a shard that finishes early waits for the ones before it.
func (d *Dispatcher) fanOut(ctx context.Context, ev *tocsin.Event, msgs *messages, subs []*tocsin.Subscription) error {
	ctx, cancel := context.WithCancel(ctx)
	var inflight []chan shardResult
	defer func() {
		cancel()
		for _, ch := range inflight {
			<-ch
		}
	}()
	for len(subs) > 0 || len(inflight) > 0 {
		for len(subs) > 0 && len(inflight) < d.c.window {
			n := min(d.c.shardSize, len(subs))
			shard := subs[:n:n]
			subs = subs[n:]
			ch := make(chan shardResult, 1)
			inflight = append(inflight, ch)
			go func() { ch <- d.runShard(ctx, ev, msgs, shard) }()
		}
		r := <-inflight[0]
		inflight = inflight[1:]
		if err := ctx.Err(); err != nil {
			return err // not checkpointed: the shard is redone
		}
		if err := d.Outbox.Checkpoint(ctx, ev.Seq, r.upTo, r.failed); err != nil {
			return fmt.Errorf("checkpoint up to subscription %d: %w", r.upTo, err)
		}
		if len(r.failed) > 0 {
			d.Tick() // the retry loop may have nothing else to wake it
		}
	}
	return nil
}

// runShard sends to every subscription of shard at once, bounded by the
// host and global limits, and returns the failures in Seq order.
func (d *Dispatcher) runShard(ctx context.Context, ev *tocsin.Event, msgs *messages, shard []*tocsin.Subscription) shardResult {
	rows := make([]*tocsin.Delivery, len(shard))
	var wg sync.WaitGroup
	for i, sub := range shard {
		wg.Go(func() { rows[i] = d.firstAttempt(ctx, ev, msgs, sub) })
	}
	wg.Wait()
	r := shardResult{upTo: shard[len(shard)-1].Seq}
	for _, row := range rows {
		if row != nil {
			r.failed = append(r.failed, row)
		}
	}
	return r
}

// firstAttempt sends an event to one subscription and returns the delivery
// row to store when it failed, or nil when it was delivered or cancelled.
func (d *Dispatcher) firstAttempt(ctx context.Context, ev *tocsin.Event, msgs *messages, sub *tocsin.Subscription) *tocsin.Delivery {
	out := &Outgoing{ID: tocsin.DeliveryID(ev.Seq, sub.Seq), Type: ev.Type, Body: msgs.body(sub.Languages), Push: msgs.pushFor(sub)}
	retry, err := d.send(ctx, sub, out)
	if ctx.Err() != nil {
		return nil
	}
	now := d.c.now()
	del := &tocsin.Delivery{
		ID:             out.ID,
		EventSeq:       ev.Seq,
		SubscriptionID: sub.Seq,
		Channel:        sub.Channel.Type,
		CreatedAt:      now,
	}
	d.record(ctx, ev, sub, del, retry, err)
	if del.State == tocsin.DeliveryDelivered {
		return nil
	}
	return del
}

// send passes out to sub's sender once a slot of its host and a global
// worker slot are free, in that order, so that sends queued behind a busy
// host hold no worker.
func (d *Dispatcher) send(ctx context.Context, sub *tocsin.Subscription, out *Outgoing) (retry bool, err error) {
	sender := d.c.senders[sub.Channel.Type]
	if sender == nil {
		return false, fmt.Errorf("no sender for channel %q", sub.Channel.Type)
	}
	release, err := d.guard.acquire(ctx, hostKey(sub))
	if err != nil {
		return true, err
	}
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		release(hostNeutral)
		return true, ctx.Err()
	}
	d.Metrics.sending(1)
	out.Timestamp = d.c.now()
	sctx, cancel := context.WithTimeout(ctx, d.c.timeout)
	retry, err = sender.Send(sctx, sub, out)
	cancel()
	d.Metrics.sending(-1)
	<-d.slots
	switch {
	case ctx.Err() != nil:
		release(hostNeutral)
	case err != nil && retry:
		release(hostFailed)
	default:
		release(hostOK)
	}
	return retry, err
}

// maxLastError bounds the reason stored with a delivery.
const maxLastError = 1000

// record applies the outcome of one attempt to del: delivered, retrying at
// the next time Backoff gives, dead once the schedule ends or at once for a
// failure that retrying cannot fix, or gone, in which case the subscription
// is disabled too.
func (d *Dispatcher) record(ctx context.Context, ev *tocsin.Event, sub *tocsin.Subscription, del *tocsin.Delivery, retry bool, err error) {
	now := d.c.now()
	del.Attempts++
	del.UpdatedAt = now
	del.NextAttemptAt = time.Time{}
	ch := sub.Channel.Type
	if err == nil {
		del.State, del.LastError = tocsin.DeliveryDelivered, ""
		d.Metrics.delivered(ch, 1, now.Sub(ev.CreatedAt))
		return
	}
	del.LastError = clip(err.Error(), maxLastError)
	log := d.c.log.With("delivery", del.ID, "attempts", del.Attempts)
	switch {
	case errors.Is(err, ErrGone):
		del.State = tocsin.DeliveryGone
		d.Metrics.outcome(ch, OutcomeGone, 1)
		d.c.matcher.Remove(sub.Seq)
		if derr := d.Subscriptions.DisableSubscription(ctx, sub.ID, del.LastError); derr != nil {
			log.Error("disable gone subscription", "subscription", sub.ID, "err", derr)
		}
		log.Info("endpoint gone; subscription disabled", "subscription", sub.ID)
		return
	case retry:
		if delay, ok := d.Backoff.Next(del.Attempts, err); ok {
			// Not before the breaker lets a probe through; the jitter
			// spreads the deliveries that were waiting for it.
			var open *CircuitOpenError
			if errors.As(err, &open) && open.Until.After(now) {
				delay += open.Until.Sub(now)
			}
			del.State, del.NextAttemptAt = tocsin.DeliveryRetrying, now.Add(delay)
			d.Metrics.outcome(ch, OutcomeRetry, 1)
			log.Debug("delivery failed; will retry", "next", del.NextAttemptAt, "err", err)
			return
		}
	}
	del.State = tocsin.DeliveryDead
	d.Metrics.outcome(ch, OutcomeDead, 1)
	log.Warn("delivery dead-lettered", "err", err)
}

func (d *Dispatcher) retryLoop(ctx context.Context) {
	defer d.wg.Done()
	for {
		n, err := d.runDue(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := d.c.poll
		switch {
		case err != nil:
			d.c.log.Error("retries stopped; will resume", "err", err)
			wait = min(wait, 5*time.Second)
		case n >= d.c.retryBatch:
			continue // more are due
		default:
			next, err := d.Outbox.NextDueAt(ctx)
			if err != nil {
				d.c.log.Error("next due delivery", "err", err)
				wait = min(wait, 5*time.Second)
			} else if !next.IsZero() {
				wait = min(wait, max(next.Sub(d.c.now()), 10*time.Millisecond))
			}
		}
		if !sleep(ctx, d.tick, wait) {
			return
		}
	}
}

// runDue resends one batch of due deliveries and stores their outcomes. It
// returns how many it took.
func (d *Dispatcher) runDue(ctx context.Context) (int, error) {
	due, err := d.Outbox.DueDeliveries(ctx, d.c.now(), d.c.retryBatch)
	if err != nil {
		return 0, fmt.Errorf("due deliveries: %w", err)
	}
	events := make(map[int64]*messages)
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, del := range due {
		msgs, sub, reason, err := d.retryTarget(ctx, events, del)
		if err != nil {
			return len(due), err
		}
		if reason != "" {
			d.c.log.Warn("delivery dead-lettered", "delivery", del.ID, "reason", reason)
			del.State, del.LastError, del.UpdatedAt = tocsin.DeliveryDead, reason, d.c.now()
			del.NextAttemptAt = time.Time{}
			d.Metrics.outcome(del.Channel, OutcomeDead, 1)
			if err := d.Outbox.UpdateDelivery(ctx, del); err != nil {
				return len(due), fmt.Errorf("update delivery %s: %w", del.ID, err)
			}
			continue
		}
		wg.Go(func() {
			out := &Outgoing{ID: del.ID, Type: msgs.ev.Type, Body: msgs.body(sub.Languages), Push: msgs.pushFor(sub)}
			retry, err := d.send(ctx, sub, out)
			if ctx.Err() != nil {
				return // still retrying and due: redone on the next run
			}
			d.record(ctx, msgs.ev, sub, del, retry, err)
			if err := d.Outbox.UpdateDelivery(ctx, del); err != nil {
				d.c.log.Error("update delivery", "delivery", del.ID, "err", err)
			}
		})
	}
	return len(due), nil
}

// retryTarget loads what resending del needs: its event's messages (cached
// in events) and its subscription. A non-empty reason says why del can never
// be sent and is to be dead-lettered; an error is a failure of the store.
func (d *Dispatcher) retryTarget(ctx context.Context, events map[int64]*messages, del *tocsin.Delivery) (msgs *messages, sub *tocsin.Subscription, reason string, err error) {
	msgs, ok := events[del.EventSeq]
	if !ok {
		evs, err := d.Outbox.EventsAfter(ctx, del.EventSeq-1, 1)
		if err != nil {
			return nil, nil, "", fmt.Errorf("load event %d: %w", del.EventSeq, err)
		}
		if len(evs) == 0 || evs[0].Seq != del.EventSeq {
			events[del.EventSeq] = nil
		} else {
			a, err := d.Alerts.FindAlertByID(ctx, evs[0].AlertID)
			switch {
			case tocsin.ErrorCode(err) == tocsin.ENOTFOUND:
				events[del.EventSeq] = nil
			case err != nil:
				return nil, nil, "", fmt.Errorf("load alert %s: %w", evs[0].AlertID, err)
			default:
				if msgs, err = newMessages(evs[0], a); err != nil {
					return nil, nil, "", err
				}
				events[del.EventSeq] = msgs
			}
		}
		msgs = events[del.EventSeq]
	}
	if msgs == nil {
		return nil, nil, fmt.Sprintf("event %d or its alert no longer exists", del.EventSeq), nil
	}
	sub, err = d.Subscriptions.FindSubscriptionBySeq(ctx, del.SubscriptionID)
	switch {
	case tocsin.ErrorCode(err) == tocsin.ENOTFOUND:
		return nil, nil, "subscription no longer exists", nil
	case err != nil:
		return nil, nil, "", fmt.Errorf("load subscription %d: %w", del.SubscriptionID, err)
	case sub.State != tocsin.SubscriptionActive:
		return nil, nil, fmt.Sprintf("subscription is %s", sub.State), nil
	}
	return msgs, sub, "", nil
}
