package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/sqlite"
)

// runBench runs "tocsin bench fanout": it starts this binary's server as a
// child process on a fresh data folder, subscribes N webhooks on a loopback
// receiver and opens M live streams, publishes one alert, and reports
// deliveries per second, publish-to-receipt latency and the server's
// resident memory per open stream.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "fanout" {
		fmt.Fprint(stderr, "Usage: tocsin bench fanout [--webhooks N] [--streams N] [--runs N]\n")
		if len(args) > 0 && isHelp(args[0]) {
			return nil
		}
		return fmt.Errorf("%w: bench needs the sub-command fanout", errUsage)
	}
	fs := newFlagSet("bench fanout", "tocsin bench fanout [--webhooks 2000] [--streams 2000] [--runs 1]", stderr)
	webhooks := fs.Int("webhooks", 2000, "webhook subscribers, all on one loopback receiver")
	streams := fs.Int("streams", 2000, "live SSE streams")
	runs := fs.Int("runs", 1, "repetitions, each on a fresh server")
	perHost := fs.Int("webhook-per-host", 4, "the server's --webhook-per-host (all webhooks here share one host)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	var rl syscall.Rlimit
	rl.Cur, rl.Max = 1<<20, 1<<20
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	for i := 0; i < *runs; i++ {
		res, err := benchOnce(ctx, *webhooks, *streams, *perHost, stderr)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

// arrivals records when each recipient got the marked message.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
}

func (a *arrivals) add(t time.Time) {
	a.mu.Lock()
	a.times = append(a.times, t)
	a.mu.Unlock()
}

func (a *arrivals) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.times)
}

// summary is deliveries/s and latency percentiles from t0.
func (a *arrivals) summary(t0 time.Time) map[string]float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.times) == 0 {
		return map[string]float64{"received": 0}
	}
	ms := make([]float64, len(a.times))
	for i, t := range a.times {
		ms[i] = float64(t.Sub(t0).Microseconds()) / 1000
	}
	sort.Float64s(ms)
	last := ms[len(ms)-1]
	return map[string]float64{"received": float64(len(ms)), "p50_ms": ms[len(ms)/2], "p99_ms": ms[len(ms)*99/100], "last_ms": last,
		"deliveries_per_s": float64(len(ms)) / (last / 1000)}
}

func benchOnce(ctx context.Context, nHooks, nStreams, perHost int, stderr io.Writer) (map[string]any, error) {
	const marker = "BENCHMARK-MARKER"
	data, err := os.MkdirTemp("", "tocsin-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(data)
	db, err := openDB(data)
	if err != nil {
		return nil, err
	}
	tokens := sqlite.NewTokenService(db)
	admin, _, err := tokens.CreateToken(ctx, "bench-admin", tocsin.RoleAdmin)
	if err != nil {
		return nil, err
	}
	pub, _, err := tokens.CreateToken(ctx, "bench-publisher", tocsin.RolePublisher)
	db.Close()
	if err != nil {
		return nil, err
	}

	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	child := exec.CommandContext(ctx, self, "serve", "--addr", "127.0.0.1:0", "--data", data, "--allow-private-webhooks", "--log-level", "error", "--webhook-per-host", strconv.Itoa(perHost))
	out, err := child.StdoutPipe()
	if err != nil {
		return nil, err
	}
	child.Stderr = stderr
	if err := child.Start(); err != nil {
		return nil, err
	}
	defer func() { child.Process.Signal(syscall.SIGTERM); child.Wait() }()
	base, err := readURL(out)
	if err != nil {
		return nil, err
	}
	host := strings.TrimPrefix(base, "http://")

	var hooks arrivals
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if bytes.Contains(b, []byte(marker)) {
			hooks.add(time.Now())
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go rcv.Serve(ln)
	defer rcv.Close()
	for i := 0; i < nHooks; i++ {
		body := fmt.Sprintf(`{"area":{"circle":{"lat":39.7392,"lon":-104.9903,"radius_km":5}},"languages":["en"],"channel":{"type":"webhook","url":"http://%s/hook/%d"}}`, ln.Addr(), i)
		if err := benchPost(base+"/api/v1/subscriptions", admin, body, 201); err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
	}

	rssBefore := benchRSS(child.Process.Pid)
	var live arrivals
	var connected atomic.Int64
	var conns []net.Conn
	for i := 0; i < nStreams; i++ {
		c, err := net.Dial("tcp", host)
		if err != nil {
			return nil, fmt.Errorf("open stream %d: %w", i, err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /api/v1/stream?lat=39.7392&lon=-104.9903&radius_km=2&lang=en HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", host, admin)
		go func(c net.Conn) {
			br := bufio.NewReaderSize(c, 4096)
			if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, " 200 ") {
				return
			}
			connected.Add(1)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if strings.Contains(line, marker) {
					live.add(time.Now())
					return
				}
			}
		}(c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for connected.Load() < int64(nStreams) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // as ssefan does: let the handlers' garbage go before reading RSS
	rssStreams := benchRSS(child.Process.Pid)

	alert := `{"status":"Actual","infos":[{"language":"en","category":"Met","event":"Flash flood","urgency":"Immediate","severity":"Moderate","certainty":"Observed","headline":"` + marker + ` flash flooding"}],"areas":[{"description":"Downtown","circle":{"lat":39.7392,"lon":-104.9903,"radius_km":5}}]}`
	t0 := time.Now()
	if err := benchPost(base+"/api/v1/alerts", pub, alert, 201); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	publishMS := float64(time.Since(t0).Microseconds()) / 1000
	deadline = time.Now().Add(120 * time.Second)
	for (hooks.len() < nHooks || live.len() < int(connected.Load())) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	res := map[string]any{"webhooks": nHooks, "webhook_per_host": perHost, "streams_connected": connected.Load(), "publish_ms": publishMS,
		"webhook": hooks.summary(t0), "sse": live.summary(t0)}
	if n := connected.Load(); n > 0 && rssBefore > 0 {
		res["server_rss_kb_per_stream"] = float64(rssStreams-rssBefore) / float64(n)
	}
	return res, nil
}

// benchRSS returns a process's resident memory in KiB, or 0.
func benchRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

func readURL(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), " listening on "); ok {
			go io.Copy(io.Discard, r)
			return strings.Fields(rest)[0], nil
		}
	}
	return "", fmt.Errorf("the server stopped before it listened")
}

func benchPost(url, token, body string, want int) error {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return nil
}
