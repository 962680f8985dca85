package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tocsin/tocsin"
)

// maxResponseRead is how much of a receiver's response body is read: enough
// to quote in an error, and to let a small 2xx body end so the connection
// can be reused.
const maxResponseRead = 512

// maxRetryAfter caps a receiver's Retry-After.
const maxRetryAfter = time.Hour

// WebhookSender POSTs messages to webhook subscriptions, signed as Standard
// Webhooks prescribe (webhook-id, webhook-timestamp, webhook-signature with
// the subscription's "whsec_" secret).
type WebhookSender struct {
	// Client sends the requests. Use NewHTTPClient: it refuses private
	// addresses, follows no redirects and bounds each request, body read
	// included.
	Client *http.Client
}

var _ Sender = (*WebhookSender)(nil)

// Send POSTs m.Body to sub's URL and classifies the outcome with
// ClassifyHTTP. A bad secret or URL fails without retry.
func (s *WebhookSender) Send(ctx context.Context, sub *tocsin.Subscription, m *Outgoing) (retry bool, err error) {
	if s.Client == nil {
		return false, errors.New("webhook sender has no HTTP client")
	}
	wh, err := standardwebhooks.NewWebhook(sub.Secret)
	if err != nil {
		return false, fmt.Errorf("webhook secret: %w", err)
	}
	sig, err := wh.Sign(m.ID, m.Timestamp, m.Body)
	if err != nil {
		return false, fmt.Errorf("sign webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Channel.URL, bytes.NewReader(m.Body))
	if err != nil {
		return false, fmt.Errorf("webhook request: %w", unwrapURLError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tocsin/"+tocsin.Version)
	req.Header.Set(standardwebhooks.HeaderWebhookID, m.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(m.Timestamp.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)

	resp, err := s.Client.Do(req)
	if err != nil {
		return ClassifyHTTP(0, nil, nil, err, m.Timestamp)
	}
	defer resp.Body.Close()
	// Read only a little, under the client's timeout: a receiver that
	// trickles its body cannot hold the send past it. A read error does not
	// change the answer the status line already gave.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseRead))
	return ClassifyHTTP(resp.StatusCode, resp.Header, body, nil, m.Timestamp)
}

// ClassifyHTTP is the one place that decides what an HTTP attempt's outcome
// means, for every HTTP-based channel. Given the transport error, or else
// the status, headers and the start of the body:
//
//   - 2xx: delivered (nil error).
//   - 410 Gone: an error wrapping ErrGone, no retry.
//   - 408, 425, 429, 5xx, timeouts and network errors: retry; a Retry-After
//     (seconds or HTTP-date, relative to now) on a 429 or 503 comes back as
//     a *RetryAfterError.
//   - a connection refused because the address is not public
//     (*BlockedAddressError), redirects and every other status: no retry.
func ClassifyHTTP(status int, header http.Header, body []byte, err error, now time.Time) (retry bool, _ error) {
	if err != nil {
		err = unwrapURLError(err)
		var blocked *BlockedAddressError
		if errors.As(err, &blocked) {
			return false, fmt.Errorf("webhook request: %w", err)
		}
		return true, fmt.Errorf("webhook request: %w", err)
	}
	if status >= 200 && status < 300 {
		return false, nil
	}
	cause := fmt.Errorf("webhook answered %d %s%s", status, http.StatusText(status), quote(body))
	switch {
	case status == http.StatusGone:
		return false, fmt.Errorf("webhook answered 410 Gone%s: %w", quote(body), ErrGone)
	case status >= 300 && status < 400:
		loc := ""
		if l := header.Get("Location"); l != "" {
			loc = " to " + clip(l, 200)
		}
		return false, fmt.Errorf("webhook answered %d redirect%s; redirects are not followed", status, loc)
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		if d, ok := parseRetryAfter(header.Get("Retry-After"), now); ok {
			return true, &RetryAfterError{After: d, Err: cause}
		}
		return true, cause
	case status == http.StatusRequestTimeout || status == http.StatusTooEarly || status >= 500:
		return true, cause
	}
	return false, cause
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

// unwrapURLError drops net/http's *url.Error layer, whose message repeats the
// URL: webhook URLs often carry credentials in their path, and errors end up
// in delivery rows and logs.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// quote renders the start of a response body for an error message.
func quote(body []byte) string {
	s := strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, string(body)))
	if s == "" {
		return ""
	}
	return ": " + strconv.Quote(clip(s, 200))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
