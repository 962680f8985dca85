package sse_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sse"
)

// wait is how long a test waits for something that should happen at once.
const wait = 10 * time.Second

// Positions used by the tests: two near each other in Denver, one in London.
var (
	denver  = geo.Circle{Lat: 39.7392, Lon: -104.9903, RadiusKM: 2}
	denver2 = geo.Circle{Lat: 39.7500, Lon: -104.9900, RadiusKM: 1}
	london  = geo.Circle{Lat: 51.5072, Lon: -0.1276, RadiusKM: 5}
)

func area(c geo.Circle) []geo.Shape { return []geo.Shape{{Circle: &c}} }

// replayFunc makes the replay for one request; nil means none.
type replayFunc func(r *http.Request) func(write func(int64, []byte) error) error

// streamHandler serves b the way tocsin's HTTP layer does: the area and the
// languages come from the query.
func streamHandler(b *sse.Broker, replay replayFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		lat, _ := strconv.ParseFloat(q.Get("lat"), 64)
		lon, _ := strconv.ParseFloat(q.Get("lon"), 64)
		rad, _ := strconv.ParseFloat(q.Get("radius_km"), 64)
		var langs []string
		if l := q.Get("lang"); l != "" {
			langs = strings.Split(l, ",")
		}
		var rp func(write func(int64, []byte) error) error
		if replay != nil {
			rp = replay(r)
		}
		st := sse.Stream{Area: geo.Shape{Circle: &geo.Circle{Lat: lat, Lon: lon, RadiusKM: rad}}, Langs: langs, Watcher: q.Has("watcher")}
		b.Serve(w, r, st, rp)
	})
}

func query(c geo.Circle, lang string) string {
	return fmt.Sprintf("/api/v1/stream?lat=%g&lon=%g&radius_km=%g&lang=%s", c.Lat, c.Lon, c.RadiusKM, lang)
}

// MustServer starts a loopback server for b and closes both at the end of the test.
func MustServer(tb testing.TB, b *sse.Broker, replay replayFunc) *httptest.Server {
	tb.Helper()
	ts := httptest.NewServer(streamHandler(b, replay))
	tb.Cleanup(func() {
		_ = b.Close()
		ts.Close()
	})
	return ts
}

// client is a stream read straight from its socket.
type client struct {
	tb     testing.TB
	conn   net.Conn
	r      *bufio.Reader
	status int
	header http.Header
}

type event struct {
	id, event, data string
}

// MustDial opens a stream at path and reads its head and, on 200, its preamble.
func MustDial(tb testing.TB, addr, path string) *client {
	tb.Helper()
	return mustDial(tb, &net.Dialer{}, addr, path)
}

func mustDial(tb testing.TB, d *net.Dialer, addr, path string) *client {
	tb.Helper()
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	c := &client{tb: tb, conn: conn, r: bufio.NewReader(conn)}
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		tb.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		tb.Fatalf("read response head: %v", err)
	}
	c.status, c.header = resp.StatusCode, resp.Header
	if resp.StatusCode != http.StatusOK {
		return c
	}
	if resp.ContentLength != -1 || len(resp.TransferEncoding) != 0 {
		tb.Fatalf("stream has Content-Length %d, Transfer-Encoding %v; want neither", resp.ContentLength, resp.TransferEncoding)
	}
	for _, want := range []string{"retry: 5000", ": connected", ""} {
		if line := c.line(); line != want {
			tb.Fatalf("preamble line %q, want %q", line, want)
		}
	}
	return c
}

func (c *client) line() string {
	c.tb.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.tb.Fatalf("read stream: %v", err)
	}
	return strings.TrimSuffix(s, "\n")
}

// next returns the next event, skipping comments such as heartbeats.
func (c *client) next() event {
	c.tb.Helper()
	ev, err := readEvent(c.r, func() { _ = c.conn.SetReadDeadline(time.Now().Add(wait)) })
	if err != nil {
		c.tb.Fatalf("read event: %v", err)
	}
	return ev
}

// readEvent parses the next event from r, before each line calling arm if set.
func readEvent(r *bufio.Reader, arm func()) (event, error) {
	var ev event
	var data []string
	seen := false
	for {
		if arm != nil {
			arm()
		}
		s, err := r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		s = strings.TrimSuffix(s, "\n")
		switch {
		case s == "":
			if seen {
				ev.data = strings.Join(data, "\n")
				return ev, nil
			}
		case strings.HasPrefix(s, ":"), strings.HasPrefix(s, "retry: "):
		case strings.HasPrefix(s, "id: "):
			ev.id, seen = s[4:], true
		case strings.HasPrefix(s, "event: "):
			ev.event, seen = s[7:], true
		case strings.HasPrefix(s, "data: "):
			data, seen = append(data, s[6:]), true
		default:
			return ev, fmt.Errorf("unexpected line %q", s)
		}
	}
}

// expectClosed reads until the server closes the stream.
func (c *client) expectClosed() {
	c.tb.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	_, err := io.Copy(io.Discard, c.r)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		c.tb.Fatalf("stream not closed by the server: %v", err)
	}
}

// waitFor fails the test unless cond becomes true within the wait.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, not settling
	}
}

func staticFrame(seq int64, data string) func([]string) []byte {
	return func([]string) []byte { return sse.Frame(seq, "alert", []byte(data)) }
}

func TestPublishReachesOnlyStreamsInTheArea(t *testing.T) {
	b := sse.NewBroker(sse.Config{})
	ts := MustServer(t, b, nil)
	addr := ts.Listener.Addr().String()
	a := MustDial(t, addr, query(denver, "en"))
	a2 := MustDial(t, addr, query(denver2, "en"))
	l := MustDial(t, addr, query(london, "en"))
	// An onlooker (a public map) in the area: it gets the event, but the
	// publisher's preview does not count it as a recipient.
	w := MustDial(t, addr, query(denver, "en")+"&watcher")
	if b.Len() != 4 {
		t.Fatalf("Len = %d, want 4", b.Len())
	}

	city := geo.Circle{Lat: 39.74, Lon: -104.99, RadiusKM: 5}
	if n := b.Count(area(city)); n != 2 {
		t.Fatalf("Count = %d, want 2 (the watcher left out)", n)
	}
	if n := b.Publish(1, area(city), staticFrame(1, `{"headline":"flood"}`)); n != 3 {
		t.Fatalf("Publish reached %d streams, want 3", n)
	}
	for _, c := range []*client{a, a2, w} {
		if ev := c.next(); ev != (event{"1", "alert", `{"headline":"flood"}`}) {
			t.Fatalf("got %+v", ev)
		}
	}
	// London's first event must be the second one: the first never came.
	if n := b.Publish(2, area(geo.Circle{Lat: 51.5, Lon: -0.1, RadiusKM: 10}), staticFrame(2, `{"headline":"fog"}`)); n != 1 {
		t.Fatalf("Publish reached %d streams, want 1", n)
	}
	if ev := l.next(); ev.id != "2" {
		t.Fatalf("London got event %q first, want 2", ev.id)
	}
	// Several areas: each stream once.
	both := append(area(city), area(london)...)
	both = append(both, area(denver)...)
	if n := b.Publish(3, both, staticFrame(3, "{}")); n != 4 {
		t.Fatalf("Publish to overlapping areas reached %d streams, want 4", n)
	}
	for _, c := range []*client{a, a2, l, w} {
		if ev := c.next(); ev.id != "3" {
			t.Fatalf("got event %q, want 3", ev.id)
		}
	}
	if n := b.Publish(4, area(geo.Circle{Lat: -33.9, Lon: 18.4, RadiusKM: 50}), staticFrame(4, "{}")); n != 0 {
		t.Fatalf("Publish far away reached %d streams", n)
	}
}

func TestPublishEncodesOncePerLanguageList(t *testing.T) {
	b := sse.NewBroker(sse.Config{})
	ts := MustServer(t, b, nil)
	addr := ts.Listener.Addr().String()
	langs := []string{"en", "en", "es,en", "fr", "es,en", ""}
	clients := make([]*client, len(langs))
	for i, l := range langs {
		clients[i] = MustDial(t, addr, query(denver, l))
	}

	var mu sync.Mutex
	calls := map[string]int{}
	frame := func(langs []string) []byte {
		key := strings.Join(langs, ",")
		mu.Lock()
		calls[key]++
		mu.Unlock()
		return sse.Frame(7, "alert", []byte(`{"lang":"`+key+`"}`))
	}
	if n := b.Publish(7, area(denver), frame); n != len(langs) {
		t.Fatalf("Publish reached %d streams, want %d", n, len(langs))
	}
	want := map[string]int{"en": 1, "es,en": 1, "fr": 1, "": 1}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("frame calls %v, want %v", calls, want)
	}
	for i, c := range clients {
		if ev := c.next(); ev.data != `{"lang":"`+langs[i]+`"}` {
			t.Fatalf("stream %d (%q) got %s", i, langs[i], ev.data)
		}
	}
}

func TestPublishSkipsEmptyFrames(t *testing.T) {
	b := sse.NewBroker(sse.Config{})
	ts := MustServer(t, b, nil)
	addr := ts.Listener.Addr().String()
	en := MustDial(t, addr, query(denver, "en"))
	MustDial(t, addr, query(denver, "xx"))
	frame := func(langs []string) []byte {
		if langs[0] == "xx" {
			return nil
		}
		return sse.Frame(1, "alert", []byte("{}"))
	}
	if n := b.Publish(1, area(denver), frame); n != 1 {
		t.Fatalf("Publish reached %d streams, want 1", n)
	}
	if ev := en.next(); ev.id != "1" {
		t.Fatalf("got %+v", ev)
	}
}

// eventLog is a store of published events for the replay test.
type eventLog struct {
	mu     sync.Mutex
	frames [][]byte // seq i+1 at i
}

func (l *eventLog) add(seq int64) []byte {
	f := sse.Frame(seq, "alert", []byte(`{"seq":`+strconv.FormatInt(seq, 10)+`}`))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.frames = append(l.frames, f)
	return f
}

func (l *eventLog) snapshot() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]byte(nil), l.frames...)
}

// TestReplayAndLiveNeitherLoseNorDouble publishes while a stream replays. The
// publisher stores each event before publishing it, as tocsin does, so the
// event it stored last before the replay read the store arrives both ways.
func TestReplayAndLiveNeitherLoseNorDouble(t *testing.T) {
	const total, snapAt, liveDuringReplay = 300, 150, 250
	var log eventLog
	var published atomic.Int64
	snapReady := make(chan struct{})  // the store holds 1..snapAt
	snapTaken := make(chan struct{})  // the replay has read it
	manyLive := make(chan struct{})   // liveDuringReplay events are published
	replayDone := make(chan struct{}) // the replay returned
	b := sse.NewBroker(sse.Config{})
	replay := func(*http.Request) func(write func(int64, []byte) error) error {
		return func(write func(int64, []byte) error) error {
			defer close(replayDone)
			<-snapReady
			frames := log.snapshot()
			close(snapTaken)
			for i, f := range frames {
				if err := write(int64(i+1), f); err != nil {
					return err
				}
			}
			<-manyLive // hold the replay open while live events arrive
			return nil
		}
	}
	ts := MustServer(t, b, replay)
	addr := ts.Listener.Addr().String()

	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for seq := int64(1); seq <= total; seq++ {
			f := log.add(seq)
			if seq == snapAt {
				close(snapReady)
				<-snapTaken
			}
			b.Publish(seq, area(denver), func([]string) []byte { return f })
			if published.Add(1) == liveDuringReplay {
				close(manyLive)
			}
		}
	}()
	c := MustDial(t, addr, query(denver, "en"))
	for want := int64(1); want <= total; want++ {
		ev := c.next()
		if ev.id != strconv.FormatInt(want, 10) || ev.data != `{"seq":`+ev.id+`}` {
			t.Fatalf("got event %q (%s), want %d", ev.id, ev.data, want)
		}
	}
	<-pubDone
	<-replayDone
	// Nothing more may follow: a sentinel published now must come next.
	b.Publish(total+1, area(denver), staticFrame(total+1, "{}"))
	if ev := c.next(); ev.id != strconv.Itoa(total+1) {
		t.Fatalf("got event %q after the last, want %d", ev.id, total+1)
	}
}

func TestReplayFailureClosesStream(t *testing.T) {
	b := sse.NewBroker(sse.Config{})
	ts := MustServer(t, b, func(*http.Request) func(write func(int64, []byte) error) error {
		return func(write func(int64, []byte) error) error {
			if err := write(1, sse.Frame(1, "alert", []byte("{}"))); err != nil {
				return err
			}
			return errors.New("store unavailable")
		}
	})
	c := MustDial(t, ts.Listener.Addr().String(), query(denver, "en"))
	if ev := c.next(); ev.id != "1" {
		t.Fatalf("got %+v", ev)
	}
	c.expectClosed()
	waitFor(t, "the stream to be forgotten", func() bool { return b.Len() == 0 })
}

// TestSlowClientIsDroppedWithoutDelayingOthers publishes to one client that
// never reads until the broker gives up on it, and checks that the others got
// every frame meanwhile.
func TestSlowClientIsDroppedWithoutDelayingOthers(t *testing.T) {
	b := sse.NewBroker(sse.Config{Heartbeat: time.Hour})
	ts := MustServer(t, b, nil)
	addr := ts.Listener.Addr().String()

	// A small receive window fills the server's socket sooner.
	small := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	slow := mustDial(t, small, addr, query(denver, "en"))

	const fast = 3
	var got [fast]atomic.Int64
	var wg sync.WaitGroup
	for i := range fast {
		c := MustDial(t, addr, query(denver, "en"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ev, err := readEvent(c.r, nil)
				if err != nil {
					return
				}
				n, _ := strconv.ParseInt(ev.id, 10, 64)
				got[i].Store(n)
			}
		}()
	}

	data := bytes.Repeat([]byte("x"), 16<<10)
	var seq int64
	var slowest time.Duration
	deadline := time.Now().Add(3 * wait)
	for b.Len() > fast {
		if time.Now().After(deadline) {
			t.Fatalf("slow client not dropped after %d frames", seq)
		}
		seq++
		f := sse.Frame(seq, "alert", data)
		start := time.Now()
		b.Publish(seq, area(denver), func([]string) []byte { return f })
		slowest = max(slowest, time.Since(start))
	}
	t.Logf("slow client dropped after %d frames of %d KiB; slowest Publish %v", seq, len(data)>>10, slowest)
	if slowest > 2*time.Second {
		t.Errorf("a Publish took %v: the slow client held the others up", slowest)
	}
	for i := range fast {
		waitFor(t, fmt.Sprintf("fast client %d to get frame %d", i, seq), func() bool { return got[i].Load() == seq })
	}
	slow.expectClosed()
	if n := b.Count(area(denver)); n != fast {
		t.Fatalf("Count = %d after the drop, want %d", n, fast)
	}
	_ = b.Close() // the fast readers end with their streams
	wg.Wait()
}

func TestHeartbeatFindsClosedClients(t *testing.T) {
	b := sse.NewBroker(sse.Config{Heartbeat: 10 * time.Millisecond})
	ts := MustServer(t, b, nil)
	addr := ts.Listener.Addr().String()
	stay := MustDial(t, addr, query(denver, "en"))
	gone := MustDial(t, addr, query(denver, "en"))
	if line := stay.line(); line != ": ping" {
		t.Fatalf("got %q, want a heartbeat", line)
	}
	_ = gone.conn.Close()
	waitFor(t, "the closed stream to be removed", func() bool { return b.Len() == 1 })
	if n := b.Count(area(denver)); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
	if n := b.Publish(1, area(denver), staticFrame(1, "{}")); n != 1 {
		t.Fatalf("Publish reached %d, want 1", n)
	}
	if ev := stay.next(); ev.id != "1" {
		t.Fatalf("got %+v", ev)
	}
}

func TestCloseClosesEveryStream(t *testing.T) {
	b := sse.NewBroker(sse.Config{})
	ts := MustServer(t, b, nil)
	addr := ts.Listener.Addr().String()
	var cs []*client
	for range 3 {
		cs = append(cs, MustDial(t, addr, query(denver, "en")))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		c.expectClosed()
	}
	if b.Len() != 0 || b.Count(area(denver)) != 0 {
		t.Fatalf("after Close: Len %d, Count %d", b.Len(), b.Count(area(denver)))
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := b.Publish(1, area(denver), staticFrame(1, "{}")); n != 0 {
		t.Fatalf("Publish after Close reached %d", n)
	}
	if c := MustDial(t, addr, query(denver, "en")); c.status != http.StatusServiceUnavailable {
		t.Fatalf("Serve after Close answered %d, want 503", c.status)
	}
}

func TestCloseWhilePublishing(t *testing.T) {
	b := sse.NewBroker(sse.Config{Heartbeat: time.Millisecond})
	ts := MustServer(t, b, nil)
	addr := ts.Listener.Addr().String()
	for range 20 {
		MustDial(t, addr, query(denver, "en"))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := int64(1); b.Publish(seq, area(denver), staticFrame(seq, "{}")) > 0; seq++ {
			}
		}()
	}
	_ = b.Close()
	wg.Wait()
	if b.Len() != 0 {
		t.Fatalf("Len = %d after Close", b.Len())
	}
}

func TestMaxStreams(t *testing.T) {
	b := sse.NewBroker(sse.Config{MaxStreams: 2, Heartbeat: 10 * time.Millisecond})
	ts := MustServer(t, b, nil)
	addr := ts.Listener.Addr().String()
	first := MustDial(t, addr, query(denver, "en"))
	MustDial(t, addr, query(denver, "en"))
	over := MustDial(t, addr, query(denver, "en"))
	if over.status != http.StatusServiceUnavailable || over.header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %d, Retry-After %q; want 503 with Retry-After", over.status, over.header.Get("Retry-After"))
	}
	_ = first.conn.Close()
	waitFor(t, "a place to free up", func() bool { return b.Len() == 1 })
	if c := MustDial(t, addr, query(denver, "en")); c.status != http.StatusOK {
		t.Fatalf("stream after a place freed up: %d", c.status)
	}
}

func TestInvalidAreaIsRejected(t *testing.T) {
	b := sse.NewBroker(sse.Config{})
	ts := MustServer(t, b, nil)
	c := MustDial(t, ts.Listener.Addr().String(), "/api/v1/stream?lat=91&lon=0&radius_km=1")
	if c.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", c.status)
	}
	if b.Len() != 0 {
		t.Fatalf("Len = %d", b.Len())
	}
}

func TestResponseHeadKeepsMiddlewareHeaders(t *testing.T) {
	b := sse.NewBroker(sse.Config{})
	h := streamHandler(b, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-1")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "12")
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { _ = b.Close(); ts.Close() })
	c := MustDial(t, ts.Listener.Addr().String(), query(denver, "en"))
	want := map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-store",
		"X-Accel-Buffering": "no",
		"X-Request-Id":      "req-1",
		"Content-Length":    "",
	}
	for k, v := range want {
		if got := c.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if got := c.header.Values("Content-Type"); len(got) != 1 {
		t.Errorf("Content-Type sent %d times", len(got))
	}
}

// TestHTTP2FallsBackToTheResponseWriter runs a stream over HTTP/2, where the
// connection cannot be hijacked.
func TestHTTP2FallsBackToTheResponseWriter(t *testing.T) {
	b := sse.NewBroker(sse.Config{Heartbeat: 10 * time.Millisecond})
	ts := httptest.NewUnstartedServer(streamHandler(b, func(*http.Request) func(write func(int64, []byte) error) error {
		return func(write func(int64, []byte) error) error {
			return write(1, sse.Frame(1, "alert", []byte(`{"replayed":true}`)))
		}
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(func() { _ = b.Close(); ts.Close() })

	resp, err := ts.Client().Get(ts.URL + query(denver, "en"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
		t.Fatalf("got %s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	timer := time.AfterFunc(wait, func() { resp.Body.Close() }) // a read deadline for the body
	defer timer.Stop()
	if ev, err := readEvent(r, nil); err != nil || ev.id != "1" {
		t.Fatalf("replayed event: %+v, %v", ev, err)
	}
	b.Publish(1, area(denver), staticFrame(1, "{}")) // replayed already: skipped
	if n := b.Publish(2, area(denver), staticFrame(2, "{}")); n != 1 {
		t.Fatalf("Publish reached %d, want 1", n)
	}
	if ev, err := readEvent(r, nil); err != nil || ev.id != "2" {
		t.Fatalf("live event: %+v, %v", ev, err)
	}
	_ = b.Close()
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("stream did not end cleanly after Close: %v", err)
	}
}

// TestHijackedConnWithoutDescriptor serves HTTP/1.1 over TLS: the hijacked
// connection has no socket to write to directly, so every frame goes through
// the queue.
func TestHijackedConnWithoutDescriptor(t *testing.T) {
	b := sse.NewBroker(sse.Config{Heartbeat: 10 * time.Millisecond})
	ts := httptest.NewTLSServer(streamHandler(b, nil))
	t.Cleanup(func() { _ = b.Close(); ts.Close() })
	resp, err := ts.Client().Get(ts.URL + query(denver, "en"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 1 || resp.StatusCode != http.StatusOK {
		t.Fatalf("got %s %d, want HTTP/1.1 200", resp.Proto, resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	timer := time.AfterFunc(wait, func() { resp.Body.Close() })
	defer timer.Stop()
	for seq := int64(1); seq <= 20; seq++ {
		if n := b.Publish(seq, area(denver), staticFrame(seq, "{}")); n != 1 {
			t.Fatalf("Publish reached %d, want 1", n)
		}
	}
	for seq := 1; seq <= 20; seq++ {
		if ev, err := readEvent(r, nil); err != nil || ev.id != strconv.Itoa(seq) {
			t.Fatalf("got %+v, %v; want %d", ev, err, seq)
		}
	}
}

// recorder is a ResponseWriter that cannot be hijacked, like
// httptest.ResponseRecorder, but safe to read while Serve writes.
type recorder struct {
	mu     sync.Mutex
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  chan struct{}
}

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.code = code
}
func (w *recorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.body.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}
func (w *recorder) Flush() {}
func (w *recorder) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.String()
}

func TestRecorderFallsBackToTheResponseWriter(t *testing.T) {
	b := sse.NewBroker(sse.Config{})
	t.Cleanup(func() { _ = b.Close() })
	w := &recorder{header: http.Header{}, wrote: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequestWithContext(ctx, "GET", query(denver, "en"), nil)
	served := make(chan struct{})
	go func() {
		defer close(served)
		b.Serve(w, r, sse.Stream{Area: geo.Shape{Circle: &denver}, Langs: []string{"en"}}, nil)
	}()
	waitFor(t, "the preamble", func() bool { return strings.HasSuffix(w.String(), ": connected\n\n") })
	if n := b.Publish(5, area(denver), staticFrame(5, `{"a":1}`)); n != 1 {
		t.Fatalf("Publish reached %d, want 1", n)
	}
	want := "retry: 5000\n: connected\n\nid: 5\nevent: alert\ndata: {\"a\":1}\n\n"
	waitFor(t, "the frame", func() bool { return w.String() == want })
	if ct := w.Header().Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	cancel()
	select {
	case <-served:
	case <-time.After(wait):
		t.Fatal("Serve did not return when the client went away")
	}
	if b.Len() != 0 {
		t.Fatalf("Len = %d after the client went away", b.Len())
	}
}

func TestFrame(t *testing.T) {
	tests := []struct {
		name  string
		seq   int64
		event string
		data  string
		want  string
	}{
		{"one line", 42, "alert", `{"a":1}`, "id: 42\nevent: alert\ndata: {\"a\":1}\n\n"},
		{"lines", 1, "alert", "a\nb\nc", "id: 1\nevent: alert\ndata: a\ndata: b\ndata: c\n\n"},
		{"crlf and cr", 2, "alert", "a\r\nb\rc", "id: 2\nevent: alert\ndata: a\ndata: b\ndata: c\n\n"},
		{"trailing newline", 3, "alert", "a\n", "id: 3\nevent: alert\ndata: a\ndata: \n\n"},
		{"empty data", 4, "alert", "", "id: 4\nevent: alert\ndata: \n\n"},
		{"no event", 5, "", "x", "id: 5\ndata: x\n\n"},
		{"newline in event", 6, "al\nert", "x", "id: 6\nevent: alert\ndata: x\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(sse.Frame(tt.seq, tt.event, []byte(tt.data)))
			if got != tt.want {
				t.Fatalf("Frame = %q, want %q", got, tt.want)
			}
			// A client reads back the data it was given, line breaks as LF.
			ev, err := readEvent(bufio.NewReader(strings.NewReader(got)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if norm := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(tt.data); ev.data != norm {
				t.Fatalf("client reads data %q, want %q", ev.data, norm)
			}
		})
	}
}
