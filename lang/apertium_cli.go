package lang

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMTTimeout bounds one machine translation when the caller's context
// has no deadline of its own.
const DefaultMTTimeout = 30 * time.Second

// CLI translates by running Apertium's apertium program once per text, as
// "apertium -u -f html <mode>". It needs no server; each call pays for
// loading the pair (about half a second), so APy is the faster choice under load.
// Use it as a pointer; it is safe for concurrent use.
type CLI struct {
	// Path is the apertium program; "" looks up "apertium" in PATH.
	Path string
	// Dir is Apertium's data directory (-d); "" uses the installed pairs.
	Dir string
	// Timeout bounds one run when the context has no deadline; 0 means DefaultMTTimeout.
	Timeout time.Duration

	mu    sync.Mutex
	pairs []Pair // cached after the first successful listing
}

var _ Translator = (*CLI)(nil)

func (c *CLI) program() string {
	if c.Path == "" {
		return "apertium"
	}
	return c.Path
}

// run runs apertium with args and stdin, within the context's deadline or
// c's timeout, killing the whole pipeline it starts when time is up.
func (c *CLI) run(ctx context.Context, stdin string, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = DefaultMTTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if c.Dir != "" {
		args = append([]string{"-d", c.Dir}, args...)
	}
	cmd := exec.CommandContext(ctx, c.program(), args...)
	// Transfuse, when installed, re-segments html and capitalises words after
	// placeholders; APy does not use it either, so both give the same output.
	cmd.Env = append(os.Environ(), "APERTIUM_TRANSFUSE=no", "LC_ALL=C.UTF-8")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 2 * time.Second
	killGroup(cmd)
	err := cmd.Run()
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return "", unavailable(err, "machine translation is unavailable: Apertium is not installed")
	case ctx.Err() != nil:
		return "", unavailable(ctx.Err(), "machine translation did not finish in time")
	case err != nil:
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[:500]
		}
		return "", unavailable(errors.New(err.Error()+": "+msg), "machine translation failed")
	}
	return stdout.String(), nil
}

// Pairs lists the installed pairs between supported locales ("apertium -l").
func (c *CLI) Pairs(ctx context.Context) ([]Pair, error) {
	c.mu.Lock()
	cached := c.pairs
	c.mu.Unlock()
	if cached != nil {
		return slices.Clone(cached), nil
	}
	out, err := c.run(ctx, "", "-l")
	if err != nil {
		return nil, err
	}
	pairs := []Pair{}
	for _, mode := range strings.Fields(out) {
		a, b, ok := strings.Cut(mode, "-")
		if !ok || strings.Contains(b, "-") {
			continue // a debug or chained mode such as eco-es-fr
		}
		from, to := localeOfApertium(a), localeOfApertium(b)
		if from == "" || to == "" || slices.ContainsFunc(pairs, func(p Pair) bool { return p.From == from && p.To == to }) {
			continue
		}
		pairs = append(pairs, Pair{From: from, To: to, Name: pairName(from, to), mode: mode})
	}
	c.mu.Lock()
	c.pairs = pairs
	c.mu.Unlock()
	return slices.Clone(pairs), nil
}

// Translate runs "apertium -u -f html <mode>" on text. -u suppresses the
// marks on unknown words.
func (c *CLI) Translate(ctx context.Context, text, from, to string) (string, error) {
	pairs, err := c.Pairs(ctx)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(pairs, func(p Pair) bool { return p.From == from && p.To == to })
	if i < 0 {
		return "", errNoPair(from, to, nil)
	}
	return c.run(ctx, text, "-u", "-f", "html", pairs[i].mode)
}
