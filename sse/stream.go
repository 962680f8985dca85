package sse

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/tocsin/tocsin/geo"
)

// stream is one open client. Its fields after mu are guarded by mu.
//
// A hijacked stream (conn set) is written by whoever delivers a frame, with
// one non-blocking write; a fallback stream (fb set) hands frames to the
// Serve goroutine that holds its request.
type stream struct {
	id      int64 // set once by register
	area    geo.Shape
	langs   []string
	langKey string
	watcher bool            // an onlooker, left out of Count
	conn    net.Conn        // hijacked connection, or nil
	rc      syscall.RawConn // conn's descriptor, or nil when it has none
	fb      chan []byte     // fallback: frames for the Serve goroutine
	done    chan struct{}   // fallback: closed when the stream is closed

	mu        sync.Mutex
	closed    bool
	replaying bool     // Serve is still replaying: live frames wait in held
	held      []held   // live frames published during the replay
	minSeq    int64    // the last replayed seq; later live frames at or below it are skipped
	draining  bool     // a goroutine is writing pending; nothing else writes
	pending   [][]byte // frames, or a frame's unwritten tail, for a full socket
}

// held is a live frame kept back during a replay.
type held struct {
	seq   int64
	frame []byte
}

// result is what became of one frame for one stream.
type result uint8

const (
	skipped result = iota // not for this stream: closed, replayed already, or a spare heartbeat
	sent                  // written to the socket in full
	queued                // waiting: behind a replay, a full socket, or in the fallback channel
	dead                  // the stream failed or fell too far behind, and must be removed
)

// sendLocked delivers frame to st. Heartbeats go only where nothing else is
// waiting, and never push a stream over its limits.
func (st *stream) sendLocked(b *Broker, seq int64, frame []byte, heartbeat bool) result {
	if st.closed || len(frame) == 0 || (!heartbeat && seq <= st.minSeq) {
		return skipped
	}
	switch {
	case st.replaying:
		if heartbeat {
			return skipped
		}
		if len(st.held) >= maxHeld {
			return dead
		}
		st.held = append(st.held, held{seq, frame})
		return queued
	case st.fb != nil:
		select {
		case st.fb <- frame:
			return queued
		default:
			if heartbeat {
				return skipped
			}
			return dead
		}
	case st.draining:
		if heartbeat {
			return skipped
		}
		if len(st.pending) >= maxPending {
			return dead
		}
		st.pending = append(st.pending, frame)
		return queued
	}
	n, err := st.tryWrite(frame)
	if err != nil {
		return dead
	}
	if n == len(frame) {
		return sent
	}
	// The socket is full. Queue the rest, which must go out next even if it is
	// only the tail of a frame.
	st.pending = append(st.pending, frame[n:])
	st.draining = true
	b.drains.Add(1)
	go b.drain(st)
	return queued
}

// tryWrite writes as much of p as the socket takes now, without waiting.
func (st *stream) tryWrite(p []byte) (int, error) {
	if st.rc == nil {
		return 0, nil // no descriptor: every frame goes through drain
	}
	var n int
	var werr error
	err := st.rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			k, err := syscall.Write(int(fd), p[n:])
			if k > 0 {
				n += k
			}
			if err == syscall.EINTR {
				continue
			}
			if err != nil || k <= 0 {
				if err != syscall.EAGAIN {
					werr = err
				}
				break
			}
		}
		return true // never wait: a full socket is the drain goroutine's job
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

// drain writes st's pending frames with blocking writes, then returns the
// stream to direct writes. It runs only while st's socket is behind.
func (b *Broker) drain(st *stream) {
	defer b.drains.Done()
	for {
		st.mu.Lock()
		if st.closed {
			st.mu.Unlock()
			return
		}
		if len(st.pending) == 0 {
			// Direct writes check the deadline too, so clear it first.
			err := st.conn.SetWriteDeadline(time.Time{})
			st.pending = nil
			st.draining = false
			st.mu.Unlock()
			if err != nil {
				b.remove(st, "clear deadline: "+err.Error())
			}
			return
		}
		f := st.pending[0]
		st.mu.Unlock()

		err := st.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err == nil {
			_, err = st.conn.Write(f)
		}
		if err != nil {
			reason := "slow reader: " + err.Error()
			if errors.Is(err, net.ErrClosed) {
				reason = "closed"
			}
			b.remove(st, reason)
			return
		}
		st.mu.Lock()
		if !st.closed { // closeLocked empties the queue
			st.pending[0] = nil
			st.pending = st.pending[1:]
		}
		st.mu.Unlock()
	}
}

// closeLocked marks st closed, so that nothing writes to it any more, and
// ends its fallback handler. The caller closes the connection.
func (st *stream) closeLocked() {
	st.closed = true
	st.held, st.pending = nil, nil
	if st.done != nil {
		close(st.done)
	}
}

// closeConn closes st's hijacked connection, if it has one. A connection
// without a descriptor (TLS) may block in Close to say goodbye, so it closes
// on its own goroutine rather than the caller's, which may be a writer.
func (st *stream) closeConn() {
	switch {
	case st.conn == nil:
	case st.rc != nil:
		_ = st.conn.Close()
	default:
		go st.conn.Close()
	}
}
