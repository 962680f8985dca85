// Package sse is tocsin's live channel: it holds the open Server-Sent Events
// streams of GET /api/v1/stream and writes each published alert to every stream
// whose area it touches.
//
// It is built for many idle streams and rare, wide bursts. A stream costs no
// goroutine and no buffer while it waits: Serve writes the response head
// itself, hijacks the connection and hands the socket to the Broker, which
// keeps it in a spatial index. Publish finds the streams an alert touches,
// encodes the frame once per language list, and a few writer goroutines (one
// per processor) share out the sockets in small chunks and write the frame to
// each with one non-blocking write, so one slow reader never holds up the rest. A stream whose socket buffer is full gets a
// small queue and a goroutine that drains it while it lasts; a stream that
// falls further behind is closed, and its client resumes with Last-Event-ID.
//
// Where the connection cannot be hijacked (HTTP/2, test recorders) Serve falls
// back to an ordinary handler that holds the request and flushes each frame.
package sse

import (
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tocsin/tocsin/geo"
)

// Limits on how far a stream may fall behind before it is dropped. Frames in
// the queues are shared with every other stream, so the cost is slice headers.
const (
	// chunk is how many streams a writer takes from a publication at a time.
	chunk = 32
	// maxPending is how many frames wait for a stream whose socket is full.
	maxPending = 64
	// maxHeld is how many live frames wait while a stream's replay runs.
	maxHeld = 1024
	// writeTimeout bounds one blocking write: the response head, a replayed
	// frame, or a queued frame to a slow reader. A peer that takes longer to
	// accept a frame is dropped.
	writeTimeout = 30 * time.Second
	// defaultHeartbeat is Config.Heartbeat's default.
	defaultHeartbeat = 25 * time.Second
	// retryAfter is the Retry-After, in seconds, of a 503 at MaxStreams.
	retryAfter = "10"
)

// ping is the heartbeat frame: an SSE comment, ignored by clients.
var ping = []byte(": ping\n\n")

// Config tunes a Broker. The zero value is usable.
type Config struct {
	// Heartbeat is how often a ": ping" comment line goes to every stream
	// (default 25s). Writing it is how dead peers are found, and it keeps
	// proxies from closing idle streams.
	Heartbeat time.Duration
	// MaxStreams caps the open streams; beyond it Serve answers 503 with
	// Retry-After. Zero means no limit.
	MaxStreams int
	// Logger receives the broker's diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Stream is what one client asked to follow: the area it watches and its
// languages in order of preference.
type Stream struct {
	// Area is the watched area. It must be exactly one valid circle or
	// polygon; Serve answers 400 otherwise.
	Area geo.Shape
	// Langs are the languages asked for, most preferred first. Streams with
	// the same list share one encoded frame.
	Langs []string
	// Watcher marks a stream that follows alerts as an onlooker (a public
	// map of every alert), not as someone in the area: it gets the events
	// but Count, the publisher's recipient preview, leaves it out.
	Watcher bool
}

// Broker holds the open streams and fans published events out to them. It is
// safe for concurrent use. Create it with NewBroker and end it with Close.
type Broker struct {
	log       *slog.Logger
	heartbeat time.Duration
	max       int64

	idx    *geo.Index // stream id to area
	shards []shard    // stream id % len(shards) is the shard; one writer each
	jobs   chan *job  // publications, each handed to every writer
	nextID atomic.Int64
	n      atomic.Int64 // registered streams, reserved before registration

	mu     sync.RWMutex // guards closed against registration
	closed bool
	quit   chan struct{}
	wg     sync.WaitGroup // writers
	drains sync.WaitGroup // drain goroutines
}

// shard is a part of the streams; its writer sends them the heartbeat.
type shard struct {
	mu      sync.RWMutex
	streams map[int64]*stream
}

// job is one publication. Every writer takes chunks of its items until none
// are left, so a writer that is busy with a heartbeat or descheduled by the
// kernel holds back no more than one chunk.
type job struct {
	seq   int64
	items []item
	next  atomic.Int64 // index of the next chunk to take
	sent  atomic.Int64 // streams written or queued
	done  sync.WaitGroup
}

// item is one stream and the frame for its languages.
type item struct {
	st    *stream
	frame []byte
}

// NewBroker returns a Broker with its writer goroutines running.
func NewBroker(cfg Config) *Broker {
	b := &Broker{
		log:       cfg.Logger,
		heartbeat: cfg.Heartbeat,
		max:       int64(cfg.MaxStreams),
		idx:       geo.NewIndex(),
		jobs:      make(chan *job),
		quit:      make(chan struct{}),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.heartbeat <= 0 {
		b.heartbeat = defaultHeartbeat
	}
	b.shards = make([]shard, max(1, runtime.GOMAXPROCS(0)))
	for i := range b.shards {
		b.shards[i] = shard{streams: make(map[int64]*stream)}
	}
	b.wg.Add(len(b.shards))
	for i := range b.shards {
		go b.writer(&b.shards[i])
	}
	return b
}

func (b *Broker) shard(id int64) *shard { return &b.shards[id%int64(len(b.shards))] }

// Publish sends one event to every stream whose area intersects any of areas.
// frame(langs) returns the complete encoded SSE frame (see Frame) for the
// streams that asked for langs; Publish calls it once per distinct language
// list, never per stream, and skips the streams for which it returns an empty
// frame. Streams that have already replayed seq or a later event are skipped.
//
// Publish returns once the frame has been written to every stream's socket or
// queued behind a slow one, and reports how many streams that was. Events
// published concurrently may reach different streams in different orders;
// callers that need one order publish from one goroutine.
func (b *Broker) Publish(seq int64, areas []geo.Shape, frame func(langs []string) []byte) int {
	if b.isClosed() || len(areas) == 0 {
		return 0
	}
	ids := make([][]int64, len(b.shards))
	b.idx.SearchAll(areas, func(id int64) bool {
		s := id % int64(len(b.shards))
		ids[s] = append(ids[s], id)
		return true
	})

	// Find the streams, then encode outside any lock: frame is the caller's code.
	n := 0
	for _, x := range ids {
		n += len(x)
	}
	j := &job{seq: seq, items: make([]item, 0, n)}
	for s := range b.shards {
		if len(ids[s]) == 0 {
			continue
		}
		sh := &b.shards[s]
		sh.mu.RLock()
		for _, id := range ids[s] {
			if st := sh.streams[id]; st != nil {
				j.items = append(j.items, item{st: st})
			}
		}
		sh.mu.RUnlock()
	}
	if len(j.items) == 0 {
		return 0
	}
	frames := make(map[string][]byte)
	var lastKey string
	var last []byte
	for i := range j.items {
		st := j.items[i].st
		if st.langKey != lastKey || last == nil {
			f, ok := frames[st.langKey]
			if !ok {
				f = frame(st.langs)
				frames[st.langKey] = f
			}
			lastKey, last = st.langKey, f
		}
		j.items[i].frame = last
	}

	for range len(b.shards) {
		j.done.Add(1)
		select {
		case b.jobs <- j:
		case <-b.quit:
			j.done.Done()
		}
	}
	j.done.Wait()
	return int(j.sent.Load())
}

// Count returns how many streams Publish would reach now with areas, for the
// publisher's preview, watchers left out.
func (b *Broker) Count(areas []geo.Shape) int {
	n := 0
	b.idx.SearchAll(areas, func(id int64) bool {
		sh := b.shard(id)
		sh.mu.RLock()
		st := sh.streams[id]
		sh.mu.RUnlock()
		if st != nil && !st.watcher {
			n++
		}
		return true
	})
	return n
}

// Len returns the number of open streams.
func (b *Broker) Len() int { return int(b.n.Load()) }

// Close closes every stream and stops the heartbeat and the writers. Serve
// answers 503 from then on. It is safe to call more than once and always
// returns nil.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	close(b.quit)
	b.wg.Wait()
	for i := range b.shards {
		for _, st := range b.shards[i].snapshot(nil) {
			b.remove(st, "broker closed")
		}
	}
	// Every stream is closed, so no drain starts any more and those running
	// fail at once.
	b.drains.Wait()
	return nil
}

func (b *Broker) isClosed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.closed
}

// reserve takes one place under MaxStreams and reports whether there was one.
func (b *Broker) reserve() bool {
	if n := b.n.Add(1); b.max > 0 && n > b.max {
		b.n.Add(-1)
		return false
	}
	return true
}

// register gives st an id and makes Publish see it. It reports false, and
// releases the place reserved for st, once the Broker is closed.
func (b *Broker) register(st *stream) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		b.n.Add(-1)
		return false
	}
	st.id = b.nextID.Add(1)
	sh := b.shard(st.id)
	sh.mu.Lock()
	sh.streams[st.id] = st
	sh.mu.Unlock()
	b.idx.Insert(st.id, st.area) // after the map: a found id must resolve
	st.area = geo.Shape{}        // the index keeps its own copy
	return true
}

// remove closes st and forgets it; only the first call for a stream counts.
func (b *Broker) remove(st *stream, why string) {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	st.closeLocked()
	st.mu.Unlock()
	st.closeConn()
	b.idx.Delete(st.id)
	sh := b.shard(st.id)
	sh.mu.Lock()
	delete(sh.streams, st.id)
	sh.mu.Unlock()
	b.n.Add(-1)
	b.log.Debug("sse: stream closed", "stream", st.id, "reason", why)
}

// snapshot appends the shard's streams to buf.
func (sh *shard) snapshot(buf []*stream) []*stream {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	for _, st := range sh.streams {
		buf = append(buf, st)
	}
	return buf
}

// writer sends publications, in turn with the other writers, and the
// heartbeat to its shard's streams, until Close.
func (b *Broker) writer(sh *shard) {
	defer b.wg.Done()
	tick := time.NewTicker(b.heartbeat)
	defer tick.Stop()
	var buf []*stream
	for {
		select {
		case j := <-b.jobs:
			var n int64
			for {
				end := int(j.next.Add(chunk))
				if end-chunk >= len(j.items) {
					break
				}
				for _, it := range j.items[end-chunk : min(end, len(j.items))] {
					switch b.send(it.st, j.seq, it.frame, false) {
					case sent, queued:
						n++
					}
				}
			}
			j.sent.Add(n)
			j.done.Done()
		case <-tick.C:
			buf = sh.snapshot(buf[:0])
			for _, st := range buf {
				b.send(st, 0, ping, true)
			}
			clear(buf)
		case <-b.quit:
			return
		}
	}
}

// send writes frame to st, or queues it, and removes st when that fails.
func (b *Broker) send(st *stream, seq int64, frame []byte, heartbeat bool) result {
	st.mu.Lock()
	r := st.sendLocked(b, seq, frame, heartbeat)
	st.mu.Unlock()
	if r == dead {
		b.remove(st, "write failed or too far behind")
	}
	return r
}

// langKey is the cache key of a language list.
func langKey(langs []string) string { return strings.Join(langs, ",") }

// noSeq is a stream's replayed sequence before its replay wrote anything.
const noSeq = math.MinInt64
