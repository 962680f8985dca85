package deliver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/tocsin/tocsin"
)

func TestWebhookSenderSigns(t *testing.T) {
	secret := newSecret()
	rc := newReceiver(t, nil)
	sub := &tocsin.Subscription{Secret: secret, Channel: tocsin.Channel{Type: tocsin.ChannelWebhook, URL: rc.URL + "/hook"}}
	s := &WebhookSender{Client: NewHTTPClient(true, 2*time.Second)}
	body := []byte(`{"type":"alert.published","alert":{"id":"alr_1"}}`)
	retry, err := s.Send(t.Context(), sub, &Outgoing{ID: "msg_7_3", Type: tocsin.EventAlertPublished, Body: body, Timestamp: time.Now()})
	if err != nil || retry {
		t.Fatalf("Send = %v, %v", retry, err)
	}
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("got %d requests", len(got))
	}
	r := got[0]
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.Body, r.Header); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	other, _ := standardwebhooks.NewWebhook(newSecret())
	if other.Verify(r.Body, r.Header) == nil {
		t.Error("signature verifies with another secret")
	}
	if r.ID != "msg_7_3" || r.ContentType != "application/json" || !strings.HasPrefix(r.UserAgent, "tocsin/") || string(r.Body) != string(body) {
		t.Errorf("request: id %q, content type %q, user agent %q, body %s", r.ID, r.ContentType, r.UserAgent, r.Body)
	}
}

func TestWebhookSenderBadSecret(t *testing.T) {
	rc := newReceiver(t, nil)
	sub := &tocsin.Subscription{Secret: "whsec_not base64!", Channel: tocsin.Channel{Type: tocsin.ChannelWebhook, URL: rc.URL}}
	retry, err := (&WebhookSender{Client: NewHTTPClient(true, time.Second)}).Send(t.Context(), sub, &Outgoing{ID: "msg_1_1", Timestamp: time.Now()})
	if retry || err == nil {
		t.Errorf("Send with a bad secret = %v, %v; want a failure without retry", retry, err)
	}
	if rc.count() != 0 {
		t.Error("request sent with a bad secret")
	}
}

func TestClassifyHTTP(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		hd := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			hd.Set(kv[i], kv[i+1])
		}
		return hd
	}
	for _, tt := range []struct {
		name       string
		status     int
		header     http.Header
		body       string
		err        error
		retry      bool
		ok, gone   bool
		retryAfter time.Duration // -1 for none
		msg        string        // part of the error
	}{
		{name: "200", status: 200, ok: true, retryAfter: -1},
		{name: "204", status: 204, ok: true, retryAfter: -1},
		{name: "299", status: 299, ok: true, retryAfter: -1},
		{name: "410", status: 410, body: "bye", gone: true, retryAfter: -1, msg: `410 Gone: "bye"`},
		{name: "408", status: 408, retry: true, retryAfter: -1, msg: "408 Request Timeout"},
		{name: "425", status: 425, retry: true, retryAfter: -1},
		{name: "429 no header", status: 429, retry: true, retryAfter: -1},
		{name: "429 seconds", status: 429, header: h("Retry-After", "7"), retry: true, retryAfter: 7 * time.Second},
		{name: "429 huge", status: 429, header: h("Retry-After", "999999"), retry: true, retryAfter: time.Hour},
		{name: "503 date", status: 503, header: h("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), retry: true, retryAfter: 90 * time.Second},
		{name: "503 past date", status: 503, header: h("Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), retry: true, retryAfter: 0},
		{name: "503 junk", status: 503, header: h("Retry-After", "soon"), retry: true, retryAfter: -1},
		{name: "500 ignores Retry-After", status: 500, header: h("Retry-After", "7"), body: "boom", retry: true, retryAfter: -1, msg: `500 Internal Server Error: "boom"`},
		{name: "502", status: 502, retry: true, retryAfter: -1},
		{name: "599", status: 599, retry: true, retryAfter: -1},
		{name: "400", status: 400, body: "bad\x00\nthing", retryAfter: -1, msg: `400 Bad Request: "bad  thing"`},
		{name: "401", status: 401, retryAfter: -1},
		{name: "404", status: 404, retryAfter: -1},
		{name: "413", status: 413, retryAfter: -1},
		{name: "301", status: 301, header: h("Location", "https://elsewhere.example/"), retryAfter: -1, msg: "301 redirect to https://elsewhere.example/; redirects are not followed"},
		{name: "timeout", err: context.DeadlineExceeded, retry: true, retryAfter: -1, msg: "deadline exceeded"},
		{name: "network", err: errors.New("connection refused"), retry: true, retryAfter: -1, msg: "connection refused"},
		{name: "blocked", err: &BlockedAddressError{Reason: "private"}, retryAfter: -1, msg: "a private address"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			retry, err := ClassifyHTTP(tt.status, tt.header, []byte(tt.body), tt.err, now)
			if retry != tt.retry || (err == nil) != tt.ok || errors.Is(err, ErrGone) != tt.gone {
				t.Fatalf("ClassifyHTTP = %v, %v; want retry %v, ok %v, gone %v", retry, err, tt.retry, tt.ok, tt.gone)
			}
			var ra *RetryAfterError
			switch {
			case tt.retryAfter < 0 && errors.As(err, &ra):
				t.Errorf("unexpected Retry-After %s", ra.After)
			case tt.retryAfter >= 0 && !errors.As(err, &ra):
				t.Errorf("no RetryAfterError in %v", err)
			case tt.retryAfter >= 0 && ra.After != tt.retryAfter:
				t.Errorf("Retry-After %s, want %s", ra.After, tt.retryAfter)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

// TestClassifyHidesURL checks that transport errors do not repeat the URL,
// whose path often carries a credential.
func TestClassifyHidesURL(t *testing.T) {
	c := NewHTTPClient(true, 200*time.Millisecond)
	_, err := c.Get("http://127.0.0.1:1/secret-token-in-path")
	_, err = ClassifyHTTP(0, nil, nil, err, time.Now())
	if err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("error %v shows the URL", err)
	}
}

// TestSendTrickleBounded: a receiver that answers and then trickles its
// body a byte at a time cannot hold a send past the client's timeout.
func TestSendTrickleBounded(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	for _, code := range []int{200, 503} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			rc := newReceiver(t, trickle(code, release))
			sub := &tocsin.Subscription{Secret: newSecret(), Channel: tocsin.Channel{Type: tocsin.ChannelWebhook, URL: rc.URL}}
			s := &WebhookSender{Client: NewHTTPClient(true, 500*time.Millisecond)}
			start := time.Now()
			retry, err := s.Send(t.Context(), sub, &Outgoing{ID: "msg_1_1", Body: []byte("{}"), Timestamp: time.Now()})
			took := time.Since(start)
			if took > 2*time.Second {
				t.Errorf("send took %s with a 500ms timeout", took)
			}
			if code == 200 && (err != nil || retry) {
				t.Errorf("trickled 200: %v, %v; want delivered (the status is the answer)", retry, err)
			}
			if code == 503 && (err == nil || !retry) {
				t.Errorf("trickled 503: %v, %v; want retry", retry, err)
			}
		})
	}
}

// trickle answers code and then writes its body one byte every 50ms, for up
// to 10 seconds or until release is closed.
func trickle(code int, release <-chan struct{}) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		w.WriteHeader(code)
		f := w.(http.Flusher)
		f.Flush()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range 200 {
			select {
			case <-release:
				return
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			f.Flush()
		}
	}
}
