package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/tocsin/tocsin/geo"
)

// preamble follows the response head at once, so that EventSource clients
// and proxies see bytes and the reconnection delay is set before any event.
const preamble = "retry: 5000\n: connected\n\n"

// ownHeaders are the head fields Serve sets itself; the same fields in
// w.Header() are left out. Content-Length and Transfer-Encoding would
// contradict a body that ends when the connection closes.
var ownHeaders = map[string]bool{
	"Content-Type":      true,
	"Cache-Control":     true,
	"X-Accel-Buffering": true,
	"Content-Length":    true,
	"Transfer-Encoding": true,
}

// Serve takes over the request as an SSE stream of the events whose areas
// intersect st.Area. Headers already set on w.Header() (by middleware, say)
// are sent in the response head, after Serve's own Content-Type,
// Cache-Control and X-Accel-Buffering.
//
// Serve registers the stream first, then writes the response head and calls
// replay, which writes the events the client missed (those after its
// Last-Event-ID) through write, in seq order; replay may be nil. Live frames published meanwhile are held and
// sent after the replay, skipping any seq at or below the last replayed seq,
// so nothing is lost or doubled. If replay or write fails the stream is
// closed, and the client reconnects and tries again.
//
// On an HTTP/1.x connection Serve hijacks the connection, writes the
// response head itself and returns once the stream is handed to the Broker;
// the stream then costs no goroutine. Where the connection cannot be hijacked
// (HTTP/2, a recorder in tests) Serve writes frames through w and returns when
// the client goes away or the stream is closed.
//
// Serve answers 400 if st.Area is not one valid circle or polygon, and 503
// with Retry-After beyond Config.MaxStreams or after Close.
func (b *Broker) Serve(w http.ResponseWriter, r *http.Request, st Stream, replay func(write func(seq int64, frame []byte) error) error) {
	if err := validateArea(st.Area); err != nil {
		http.Error(w, "sse: area: "+err.Error(), http.StatusBadRequest)
		return
	}
	if b.isClosed() || !b.reserve() {
		w.Header().Set("Retry-After", retryAfter)
		http.Error(w, "sse: too many open streams", http.StatusServiceUnavailable)
		return
	}
	s := &stream{
		area:      st.Area,
		langs:     slices.Clone(st.Langs),
		langKey:   langKey(st.Langs),
		watcher:   st.Watcher,
		replaying: true,
		minSeq:    noSeq,
	}
	if r.ProtoMajor == 1 {
		// The head is built before hijacking: w.Header() is not to be touched after.
		head := responseHead(w.Header())
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			b.serveConn(conn, head, s, replay)
			return
		}
		if !errors.Is(err, http.ErrNotSupported) {
			b.log.Debug("sse: hijack failed, serving through the ResponseWriter", "err", err)
		}
	}
	b.serveWriter(w, r, s, replay)
}

// serveConn runs a hijacked stream until it is live, then leaves it to the
// Broker.
func (b *Broker) serveConn(conn net.Conn, head []byte, s *stream, replay func(write func(int64, []byte) error) error) {
	s.conn = conn
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			s.rc = rc
		}
	}
	if !b.register(s) {
		// Closed since Serve looked: too late for http.Error.
		_, _ = io.WriteString(conn, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: "+retryAfter+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		_ = conn.Close()
		return
	}
	write := func(p []byte) error {
		if err := conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			return err
		}
		_, err := conn.Write(p)
		return err
	}
	if err := write(head); err != nil {
		b.remove(s, "write head: "+err.Error())
		return
	}
	// Direct writes fail once a deadline has passed, so clear it before them.
	b.goLive(s, replay, write, func() error { return conn.SetWriteDeadline(time.Time{}) })
}

// serveWriter runs a stream through w: the fallback when the connection
// cannot be hijacked. It returns when the client goes away or the stream is
// closed.
func (b *Broker) serveWriter(w http.ResponseWriter, r *http.Request, s *stream, replay func(write func(int64, []byte) error) error) {
	rc := http.NewResponseController(w)
	// The deadline is cleared after each write: an HTTP/2 stream is reset
	// when its deadline passes, even while nothing is being written.
	deadline := func(t time.Time) error {
		if err := rc.SetWriteDeadline(t); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}
	write := func(p []byte) error {
		if err := deadline(time.Now().Add(writeTimeout)); err != nil {
			return err
		}
		if _, err := w.Write(p); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return deadline(time.Time{})
	}
	s.fb = make(chan []byte, maxPending)
	s.done = make(chan struct{})
	if !b.register(s) {
		w.Header().Set("Retry-After", retryAfter)
		http.Error(w, "sse: shutting down", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	for k := range ownHeaders {
		h.Del(k)
	}
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := write([]byte(preamble)); err != nil {
		b.remove(s, "write preamble: "+err.Error())
		return
	}
	if !b.goLive(s, replay, write, nil) {
		return
	}
	for {
		select {
		case f := <-s.fb:
			if err := write(f); err != nil {
				b.remove(s, "write: "+err.Error())
				return
			}
		case <-s.done:
			return
		case <-r.Context().Done():
			b.remove(s, "client gone")
			return
		}
	}
}

// goLive runs the replay of a registered stream, sends the live frames held
// meanwhile, and switches the stream to live delivery. beforeLive, if set,
// runs just before the switch. goLive reports false, having removed the
// stream, if any of that failed.
func (b *Broker) goLive(s *stream, replay func(write func(int64, []byte) error) error, write func([]byte) error, beforeLive func() error) bool {
	last := int64(noSeq)
	if replay != nil {
		err := replay(func(seq int64, frame []byte) error {
			if err := write(frame); err != nil {
				return fmt.Errorf("sse: write replayed event %d: %w", seq, err)
			}
			last = max(last, seq)
			return nil
		})
		if err != nil {
			b.remove(s, "replay: "+err.Error())
			return false
		}
	}
	s.mu.Lock()
	s.minSeq = last
	s.mu.Unlock()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return false
		}
		if len(s.held) == 0 {
			var err error
			if beforeLive != nil {
				err = beforeLive()
			}
			s.replaying = false
			s.held = nil
			s.mu.Unlock()
			if err != nil {
				b.remove(s, "go live: "+err.Error())
				return false
			}
			return true
		}
		hs := s.held
		s.held = nil
		s.mu.Unlock()
		for _, h := range hs {
			if h.seq <= last {
				continue // the replay had it
			}
			if err := write(h.frame); err != nil {
				b.remove(s, "write held event: "+err.Error())
				return false
			}
		}
	}
}

// responseHead returns the status line and header fields of a stream's
// response, with extra's fields after Serve's own, and the preamble.
func responseHead(extra http.Header) []byte {
	var buf bytes.Buffer
	buf.WriteString("HTTP/1.1 200 OK\r\n" +
		"Content-Type: text/event-stream; charset=utf-8\r\n" +
		"Cache-Control: no-store\r\n" +
		"X-Accel-Buffering: no\r\n")
	_ = extra.WriteSubset(&buf, ownHeaders) // a bytes.Buffer does not fail
	buf.WriteString("\r\n" + preamble)
	return buf.Bytes()
}

// validateArea reports whether a is one valid circle or one valid polygon,
// which the index requires.
func validateArea(a geo.Shape) error {
	switch {
	case a.Circle != nil && a.Polygon == nil:
		return a.Circle.Validate()
	case a.Circle == nil && len(a.Polygon) > 0:
		return a.Polygon.Validate()
	}
	return errors.New("must be one circle or one polygon")
}
