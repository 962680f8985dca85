package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// binary is the tocsin executable built once for all end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tocsin-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "tocsin")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build tocsin:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running tocsin server.
type proc struct {
	cmd  *exec.Cmd
	URL  string
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startTocsin runs "tocsin serve" on a free loopback port and waits until it
// says where it listens.
func startTocsin(t *testing.T, data string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--allow-private-webhooks", "--log-level", "debug"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: &syncBuffer{}}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			if _, rest, ok := strings.Cut(line, " listening on "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case p.URL = <-urls:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("tocsin did not start; output:\n%s", p.logs)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the server with SIGTERM and waits for it.
func (p *proc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-done
		t.Errorf("tocsin did not stop within 20s of SIGTERM")
	}
}

// kill ends the server with SIGKILL, as a crash would.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// tocsinCLI runs a tocsin sub-command and returns its standard output.
func tocsinCLI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tocsin %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func newToken(t *testing.T, data, role, name string) string {
	return tocsinCLI(t, "token", "create", "--data", data, "--role", role, "--name", name)
}

// call makes a JSON request and decodes the JSON answer into out (if not nil).
func call(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	code, err := doJSON(method, url, token, body, out)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return code
}

// doJSON makes a JSON request and decodes the JSON answer into out (if not nil).
func doJSON(method, url, token string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %q: %w", b, err)
		}
	}
	return resp.StatusCode, nil
}

// mustCall is call that fails the test unless the status is want.
func mustCall(t *testing.T, want int, method, url, token string, body any, out any) {
	t.Helper()
	var raw json.RawMessage
	got := call(t, method, url, token, body, &raw)
	if got != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// delivery is one webhook request as a receiver saw it.
type delivery struct {
	Path     string
	ID       string
	Verified bool
	Type     string
	Alert    struct {
		ID         string   `json:"id"`
		MsgType    string   `json:"msg_type"`
		References []string `json:"references"`
		Language   string   `json:"language"`
		Infos      []struct {
			Language   string `json:"language"`
			Headline   string `json:"headline"`
			Provenance string `json:"provenance"`
		} `json:"infos"`
	}
}

// receiver is a real webhook endpoint on loopback that checks signatures.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	secrets map[string]string // path → signing secret
	got     []delivery
	delay   time.Duration
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{secrets: map[string]string{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if r.delay > 0 {
			time.Sleep(r.delay) // a slow receiver, to stretch the fan-out
		}
		d := delivery{Path: req.URL.Path, ID: req.Header.Get("webhook-id")}
		r.mu.Lock()
		secret := r.secrets[req.URL.Path]
		r.mu.Unlock()
		if wh, err := standardwebhooks.NewWebhook(secret); err == nil {
			d.Verified = wh.Verify(body, req.Header) == nil
		}
		var msg struct {
			Type  string          `json:"type"`
			Alert json.RawMessage `json:"alert"`
		}
		json.Unmarshal(body, &msg)
		d.Type = msg.Type
		json.Unmarshal(msg.Alert, &d.Alert)
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) secretFor(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.secrets[path]
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// subscribe registers a webhook subscription delivering to path on r and
// returns its id and management token.
func (r *receiver) subscribe(t *testing.T, base, token, path string, area map[string]any, langs ...string) (id, manage string) {
	t.Helper()
	var resp struct{ ID, Token, Secret string }
	mustCall(t, 201, "POST", base+"/api/v1/subscriptions", token, map[string]any{
		"area": area, "languages": langs, "channel": map[string]any{"type": "webhook", "url": r.URL + path},
	}, &resp)
	if !strings.HasPrefix(resp.Secret, "whsec_") || resp.Token == "" || resp.ID == "" {
		t.Fatalf("subscription answer %+v", resp)
	}
	r.mu.Lock()
	r.secrets[path] = resp.Secret
	r.mu.Unlock()
	return resp.ID, resp.Token
}

// sseEvent is one event read from a live stream.
type sseEvent struct {
	ID, Event, Data string
}

// sseClient is a live stream reader on a raw connection.
type sseClient struct {
	conn   net.Conn
	events chan sseEvent
}

func openStream(t *testing.T, base, query, lastID string) *sseClient {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	req := "GET /api/v1/stream?" + query + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/event-stream\r\n"
	if lastID != "" {
		req += "Last-Event-ID: " + lastID + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("stream answered %q, %v", status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	c := &sseClient{conn: conn, events: make(chan sseEvent, 100)}
	go func() {
		defer close(c.events)
		var ev sseEvent
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			switch {
			case line == "":
				if ev.Data != "" {
					c.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data += line[6:]
			}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

// next returns the next event or fails after timeout.
func (c *sseClient) next(t *testing.T, timeout time.Duration) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			t.Fatal("stream closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no stream event within %s", timeout)
	}
	return sseEvent{}
}

func circle(lat, lon, km float64) map[string]any {
	return map[string]any{"circle": map[string]any{"lat": lat, "lon": lon, "radius_km": km}}
}
