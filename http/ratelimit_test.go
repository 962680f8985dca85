package http_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/tocsin/tocsin"
	tocsinhttp "github.com/tocsin/tocsin/http"
)

func TestServer_RateLimit(t *testing.T) {
	ts := MustOpenServer(t, func(s *tocsinhttp.Server) {
		s.Limits = map[string]tocsinhttp.Limit{"report": {Rate: 0.001, Burst: 2}}
	})
	report := func(token string) Request {
		return Request{Method: "POST", Path: "/api/v1/reports", Token: token, Body: reportBody()}
	}
	limited := func(t *testing.T, req Request) {
		t.Helper()
		before := ts.Rows(t)
		resp := ts.Do(t, req)
		p := wantProblem(t, resp, http.StatusTooManyRequests, "")
		if p.Code != tocsin.ERATELIMITED {
			t.Errorf("code %s; want %s", p.Code, tocsin.ERATELIMITED)
		}
		// One request per 1,000 s: the next is about 1,000 s away.
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 900 || secs > 1001 {
			t.Errorf("Retry-After %q; want the seconds until the next request is allowed (about 1000)", resp.Header.Get("Retry-After"))
		}
		if after := ts.Rows(t); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("a limited request wrote rows: %v to %v", before, after)
		}
	}

	t.Run("anonymous", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			ts.MustDo(t, report(""), http.StatusCreated, nil)
		}
		limited(t, report(""))
		limited(t, report(""))
		// Other classes of request have their own budgets (here, none).
		ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts"}, http.StatusOK, nil)
		for i := 0; i < 3; i++ {
			ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/subscriptions", Body: subscriptionBody(40, -105, 2)}, http.StatusCreated, nil)
		}
	})
	t.Run("admin is never limited", func(t *testing.T) {
		for i := 0; i < 10; i++ {
			ts.MustDo(t, report(ts.Tokens["admin"]), http.StatusCreated, nil)
		}
	})
	t.Run("each token has its own budget", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			ts.MustDo(t, report(ts.Tokens["reporter"]), http.StatusCreated, nil)
		}
		limited(t, report(ts.Tokens["reporter"]))
		for i := 0; i < 2; i++ {
			ts.MustDo(t, report(ts.Tokens["verifier"]), http.StatusCreated, nil)
		}
		limited(t, report(ts.Tokens["verifier"]))
		limited(t, report(""))
	})

	// No IP address is stored, in any table or anywhere in the files.
	if dump := ts.Dump(t); strings.Contains(dump, "127.0.0.1") {
		t.Errorf("the database stores the client's address:\n%s", dump)
	} else if !strings.Contains(dump, "client:") {
		t.Errorf("anonymous reports carry no client key; the dump is:\n%s", dump)
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(ts.DB.Path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("127.0.0.1")) {
			t.Errorf("%s contains 127.0.0.1", ts.DB.Path+suffix)
		}
	}
}
