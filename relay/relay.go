// Package relay polls partners' CAP feeds (Atom or RSS index feeds that link
// to, or carry, CAP 1.2 documents) and imports the alerts in them, so that
// tocsin's subscribers get a partner network's alerts in their languages.
//
// Each feed is polled by a goroutine of its own, so one slow or dead feed
// never delays another. A poll is a conditional GET (If-None-Match,
// If-Modified-Since); each entry not seen before has its CAP document
// fetched (or read inline), parsed by cap.Parse and handed to Import, the
// same import path that partners' POST /api/v1/cap takes. Messages are
// de-duplicated by (sender, identifier, sent): in memory within a feed, and
// by the store's unique CAP identity across feeds and restarts. A failed
// poll waits exponentially longer, up to MaxBackoff, honouring Retry-After.
//
// The poller lives here, not in package cap, because cap is a pure format
// library (parse, write, sign; no network, no goroutines), and this is a
// long-lived network worker with a clock and a lifecycle.
package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/cap"
)

// Defaults of a Poller.
const (
	DefaultInterval   = time.Minute
	DefaultMaxBackoff = 30 * time.Minute
	// MaxFeedBytes is the largest feed read; aggregators keep index feeds
	// under 1 MB, so this leaves room.
	MaxFeedBytes = 8 << 20
)

// Poller polls CAP feeds and imports their alerts. Set its fields, then
// call Start; Close stops it.
type Poller struct {
	// Feeds are the URLs of the feeds to poll (http or https).
	Feeds []string
	// Import stores one message read from feed. It is
	// tocsin.CAPService.ImportRelayedAlert; its errors EINVALID, EFORBIDDEN,
	// ECONFLICT and ETOOLARGE say the message will never be taken, and it
	// is not tried again; any other error is retried at the next poll.
	Import func(ctx context.Context, a *tocsin.Alert, feed string) (*tocsin.CAPImport, error)
	// Client fetches feeds and documents. Use deliver.NewHTTPClient, so that
	// private addresses are refused unless the operator allows them.
	Client *http.Client
	// Interval is the time between polls of a feed that answers;
	// DefaultInterval when zero.
	Interval time.Duration
	// MaxBackoff caps the wait after failed polls; DefaultMaxBackoff when zero.
	MaxBackoff time.Duration
	// Now returns the current time; After returns a channel that receives
	// after d. Tests replace both, so that no test waits on real time.
	Now   func() time.Time
	After func(d time.Duration) <-chan time.Time
	// Rand returns a number in [0, 1) that spreads the wait after a failure
	// (between half and all of it); tests fix it.
	Rand   func() float64
	Logger *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// feedState is what the poller remembers of one feed.
type feedState struct {
	url      *url.URL
	raw      string
	etag     string
	modified string
	failures int
	// entries are the keys of the entries handled, as of the last body;
	// messages the "sender,identifier,sent" of the messages imported.
	entries  map[string]bool
	messages map[string]bool
}

// Start checks the feed URLs and starts polling each of them, at once and
// then every Interval, until ctx ends or Close is called.
func (p *Poller) Start(ctx context.Context) error {
	if p.Import == nil || p.Client == nil {
		return errors.New("relay: Import and Client are required")
	}
	var feeds []*feedState
	seen := map[string]bool{}
	for _, raw := range p.Feeds {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return fmt.Errorf("relay: feed %q is not an http or https URL", raw)
		}
		if seen[u.String()] {
			continue
		}
		seen[u.String()] = true
		feeds = append(feeds, &feedState{url: u, raw: u.String(), entries: map[string]bool{}, messages: map[string]bool{}})
	}
	ctx, p.cancel = context.WithCancel(ctx)
	for _, f := range feeds {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.run(ctx, f)
		}()
	}
	return nil
}

// Close stops polling and waits for the polls in flight to end.
func (p *Poller) Close() error {
	p.once.Do(func() {
		if p.cancel != nil {
			p.cancel()
		}
	})
	p.wg.Wait()
	return nil
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

func (p *Poller) after(d time.Duration) <-chan time.Time {
	if p.After != nil {
		return p.After(d)
	}
	return time.After(d)
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Poller) run(ctx context.Context, f *feedState) {
	log := p.logger().With("feed", f.raw)
	for {
		wait, err := p.poll(ctx, f)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Warn("relay: poll failed", "err", err, "failures", f.failures, "next_poll_in", wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.after(wait):
		}
	}
}

// poll polls f once and returns how long to wait before the next poll.
func (p *Poller) poll(ctx context.Context, f *feedState) (time.Duration, error) {
	interval := p.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	retryAfter, err := p.pollOnce(ctx, f)
	if err == nil {
		f.failures = 0
		return interval, nil
	}
	f.failures++
	return p.backoff(interval, f.failures, retryAfter), err
}

// backoff is the wait after n failures in a row: Interval·2ⁿ, capped at
// MaxBackoff, spread over its upper half; or the feed's Retry-After.
func (p *Poller) backoff(interval time.Duration, n int, retryAfter time.Duration) time.Duration {
	ceil := p.MaxBackoff
	if ceil <= 0 {
		ceil = DefaultMaxBackoff
	}
	if retryAfter > 0 {
		return min(retryAfter, ceil)
	}
	d := interval
	for i := 0; i < n && d < ceil; i++ {
		d *= 2
	}
	d = min(d, ceil)
	r := rand.Float64
	if p.Rand != nil {
		r = p.Rand
	}
	return d/2 + time.Duration(r()*float64(d/2))
}

// pollOnce fetches the feed and handles its new entries. It returns the
// feed's Retry-After, if it gave one, and the first error that is worth
// another try: the feed's own, or an entry's that was not handled.
func (p *Poller) pollOnce(ctx context.Context, f *feedState) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.raw, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/atom+xml, application/rss+xml;q=0.9, application/xml;q=0.8, */*;q=0.1")
	req.Header.Set("User-Agent", "tocsin/"+tocsin.Version+" (CAP relay)")
	if f.etag != "" {
		req.Header.Set("If-None-Match", f.etag)
	}
	if f.modified != "" {
		req.Header.Set("If-Modified-Since", f.modified)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("fetch feed: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return 0, nil
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		var ra time.Duration
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			ra = retryAfter(resp.Header.Get("Retry-After"), p.now())
		}
		return ra, fmt.Errorf("feed answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxFeedBytes+1))
	if err != nil {
		return 0, fmt.Errorf("read feed: %w", err)
	}
	if len(body) > MaxFeedBytes {
		return 0, fmt.Errorf("the feed is larger than %d bytes", MaxFeedBytes)
	}
	entries, err := parseFeed(body, f.url)
	if err != nil {
		return 0, err
	}
	// Feeds list the newest first; take the oldest first, so that an alert
	// comes before the Update that follows it in the same feed.
	kept := make(map[string]bool, len(entries))
	var firstErr error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if f.entries[e.Key] || kept[e.Key] {
			kept[e.Key] = true
			continue
		}
		if err := p.handle(ctx, f, e); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue // tried again at the next poll
		}
		kept[e.Key] = true
	}
	f.entries = kept
	if firstErr != nil {
		// Keep the old validators, so the next poll gets the whole feed
		// and tries the entries that failed.
		return 0, firstErr
	}
	f.etag, f.modified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	return 0, nil
}

// permanent marks an error that another try will not mend.
type permanent struct{ err error }

func (e permanent) Error() string { return e.err.Error() }
func (e permanent) Unwrap() error { return e.err }

// handle imports one entry. It returns nil when the entry is done with
// (imported, a duplicate, or refused for good), and an error when it is
// worth trying again.
func (p *Poller) handle(ctx context.Context, f *feedState, e entry) error {
	log := p.logger().With("feed", f.raw, "entry", e.Key)
	doc := e.Inline
	if doc == nil {
		if e.CAP == "" {
			log.Warn("relay: entry has no CAP document; skipped")
			return nil
		}
		var err error
		if doc, err = p.fetchCAP(ctx, e.CAP); err != nil {
			var perm permanent
			if errors.As(err, &perm) {
				log.Warn("relay: CAP document refused; skipped", "url", e.CAP, "err", err)
				return nil
			}
			return fmt.Errorf("entry %s: %w", e.Key, err)
		}
	}
	a, err := cap.Parse(doc)
	if err != nil {
		log.Warn("relay: CAP document refused; skipped", "url", e.CAP, "err", tocsin.ErrorMessage(err))
		return nil
	}
	msg := a.Sender + "," + a.ID + "," + a.Sent.Format(time.RFC3339)
	if f.messages[msg] {
		return nil // the same message under another entry
	}
	identity := []any{"sender", a.Sender, "identifier", a.ID, "msg_type", a.MsgType}
	res, err := p.Import(ctx, a, f.raw)
	switch tocsin.ErrorCode(err) {
	case "":
	case tocsin.EINVALID, tocsin.EFORBIDDEN, tocsin.ECONFLICT, tocsin.ETOOLARGE:
		f.messages[msg] = true
		log.Warn("relay: alert refused; skipped", append(identity, "err", tocsin.ErrorMessage(err))...)
		return nil
	default:
		return fmt.Errorf("import %s: %w", msg, err)
	}
	f.messages[msg] = true
	switch {
	case res.Duplicate:
		log.Debug("relay: alert already imported", append(identity, "alert", res.Alert.ID)...)
	case len(res.UnmatchedReferences) > 0:
		log.Warn("relay: alert references alerts not received yet; kept until they arrive",
			append(identity, "alert", res.Alert.ID, "state", res.Alert.State, "unmatched_references", res.UnmatchedReferences)...)
	default:
		log.Info("relay: alert imported", append(identity, "alert", res.Alert.ID, "state", res.Alert.State)...)
	}
	// Forget messages of entries that left the feed, so memory stays bounded.
	if len(f.messages) > 4*max(len(f.entries), 256) {
		f.messages = map[string]bool{msg: true}
	}
	return nil
}

// fetchCAP fetches one CAP document. A 4xx (but 408 and 429) or a redirect
// is permanent; timeouts, network errors and 5xx are worth another try.
func (p *Poller) fetchCAP(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, permanent{fmt.Errorf("CAP link %q is not an http or https URL", raw)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, permanent{err}
	}
	req.Header.Set("Accept", "application/cap+xml, application/xml;q=0.9")
	req.Header.Set("User-Agent", "tocsin/"+tocsin.Version+" (CAP relay)")
	resp, err := p.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch CAP document: %w", err)
	}
	defer resp.Body.Close()
	switch s := resp.StatusCode; {
	case s == http.StatusOK:
	case s >= 500 || s == http.StatusRequestTimeout || s == http.StatusTooManyRequests:
		return nil, fmt.Errorf("CAP document %s: %s", raw, resp.Status)
	case s >= 300 && s < 400:
		return nil, permanent{fmt.Errorf("CAP document %s: %s; redirects are not followed", raw, resp.Status)}
	default:
		return nil, permanent{fmt.Errorf("CAP document %s: %s", raw, resp.Status)}
	}
	// One byte more than the limit, so that cap.Parse refuses the document as too large.
	doc, err := io.ReadAll(io.LimitReader(resp.Body, cap.MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("read CAP document: %w", err)
	}
	return doc, nil
}

// retryAfter reads a Retry-After header (seconds or an HTTP date).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
