//go:build unix

package lang

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// apyLoopback is run by apertium-apy's own Python. It makes the server bind
// 127.0.0.1 only, refuses to run if any socket ends up elsewhere, and prints
// the address it listens on.
//
//go:embed apy_loopback.py
var apyLoopback string

// APyConfig configures StartAPy.
type APyConfig struct {
	// Program is the apertium-apy program; "" looks it up in PATH. Its
	// interpreter (from its #! line) runs the server.
	Program string
	// ModesDir holds the pairs' .mode files; "" means /usr/share/apertium/modes.
	ModesDir string
	// Port to listen on at 127.0.0.1; 0 picks a free one.
	Port int
	// Log receives the server's log; nil discards it.
	Log io.Writer
	// StartTimeout bounds the wait for the server to listen; 0 means 30 s.
	StartTimeout time.Duration
}

// APyServer is a running apertium-apy listening on 127.0.0.1 only.
type APyServer struct {
	// URL is the server's base URL, for APy.URL.
	URL string

	cmd       *exec.Cmd
	done      chan struct{}
	closeOnce sync.Once
	err       error
}

// StartAPy starts apertium-apy listening only on 127.0.0.1, and returns
// once it accepts requests. apertium-apy binds every interface and has no
// option to change that; StartAPy runs it with a bootstrap that binds
// loopback instead and exits if any socket is bound elsewhere. Close stops it.
// EUNAVAILABLE when apertium-apy is not installed or does not start.
func StartAPy(ctx context.Context, cfg APyConfig) (*APyServer, error) {
	program := cfg.Program
	if program == "" {
		program = "apertium-apy"
	}
	path, err := exec.LookPath(program)
	if err != nil {
		return nil, unavailable(err, "machine translation is unavailable: apertium-apy is not installed")
	}
	python, err := interpreter(path)
	if err != nil {
		return nil, unavailable(err, "machine translation is unavailable: cannot tell how to run apertium-apy")
	}
	modes := cfg.ModesDir
	if modes == "" {
		modes = "/usr/share/apertium/modes"
	}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	cmd := exec.Command(python, "-c", apyLoopback, "-p", strconv.Itoa(cfg.Port), "-j", "1", modes)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	cmd.Dir = os.TempDir() // apertium-apy looks for langNames.db in its working directory
	cmd.Stderr = logw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, unavailable(err, "machine translation is unavailable: apertium-apy did not start")
	}
	if err := cmd.Start(); err != nil {
		return nil, unavailable(err, "machine translation is unavailable: apertium-apy did not start")
	}
	s := &APyServer{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "LISTEN "); ok {
				select {
				case addr <- a:
				default:
				}
			} else {
				fmt.Fprintln(logw, sc.Text())
			}
		}
		s.err = cmd.Wait()
		close(s.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case a := <-addr:
		s.URL = "http://" + a
	case <-s.done:
		return nil, unavailable(s.err, "machine translation is unavailable: apertium-apy exited at start")
	case <-ctx.Done():
		s.Close()
		return nil, unavailable(ctx.Err(), "machine translation is unavailable: apertium-apy did not start in time")
	}
	// The socket is bound before the server accepts; wait until it answers.
	probe := &APy{URL: s.URL, Client: &http.Client{Timeout: 2 * time.Second}}
	for {
		if _, err := probe.Pairs(ctx); err == nil {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, unavailable(s.err, "machine translation is unavailable: apertium-apy exited at start")
		case <-ctx.Done():
			s.Close()
			return nil, unavailable(ctx.Err(), "machine translation is unavailable: apertium-apy did not answer in time")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops the server and the pipelines it started, and waits for it to exit.
func (s *APyServer) Close() error {
	s.closeOnce.Do(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
		// The pipelines apertium-apy started share its process group; wait
		// until the last has gone, so a port or a CPU is never held after Close.
		for deadline := time.Now().Add(2 * time.Second); syscall.Kill(-s.cmd.Process.Pid, 0) == nil; {
			if time.Now().After(deadline) {
				_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return nil
}

// interpreter returns the program named on script's #! line.
func interpreter(script string) (string, error) {
	f, err := os.Open(script)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "#!") {
		return "", fmt.Errorf("%s has no #! line", script)
	}
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(fields) == 0 {
		return "", fmt.Errorf("%s has an empty #! line", script)
	}
	if filepath.Base(fields[0]) == "env" && len(fields) > 1 {
		return exec.LookPath(fields[1])
	}
	return fields[0], nil
}
