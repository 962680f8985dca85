package main_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo walks the newcomer's path: "serve --demo" loads the demo region
// once, its published alert reaches the demo subscribers' inbox, its tokens
// and console accounts work, and a second start does not load it again.
func TestDemo(t *testing.T) {
	data := t.TempDir()
	srv := startTocsin(t, data, "--demo")
	if !strings.Contains(srv.logs.String(), "demo region loaded") {
		t.Fatalf("no demo banner in the output:\n%s", srv.logs)
	}
	tokens, accounts := readDemoFile(t, filepath.Join(data, "demo-tokens.txt"))
	if len(tokens) != 4 || len(accounts) != 3 {
		t.Fatalf("demo file: %d tokens, %d accounts; want 4 and 3", len(tokens), len(accounts))
	}

	var alerts struct {
		Alerts []struct {
			ID string `json:"id"`
		} `json:"alerts"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/alerts", "", nil, &alerts)
	if len(alerts.Alerts) != 1 {
		t.Fatalf("%d active alerts; want the demo's one", len(alerts.Alerts))
	}
	var incidents struct {
		Incidents []struct {
			State       string `json:"state"`
			ReportCount int    `json:"report_count"`
		} `json:"incidents"`
	}
	mustCall(t, 200, "GET", srv.URL+"/api/v1/incidents", tokens["demo-verifier"], nil, &incidents)
	states := map[string]int{}
	for _, in := range incidents.Incidents {
		states[in.State] += in.ReportCount
	}
	if states["verified"] != 3 || states["corroborated"] != 2 {
		t.Errorf("incidents by state and reports: %v; want 3 reports verified and 2 corroborated (two reporters)", states)
	}
	// ana and ben are in the alert's area; chen is not.
	waitFor(t, 30*time.Second, "the demo alert in the inbox of ana and ben", func() bool {
		var inbox struct {
			Deliveries []struct {
				Inbox    string `json:"inbox"`
				Verified bool   `json:"signature_verified"`
			} `json:"deliveries"`
		}
		call(t, "GET", srv.URL+"/demo/inbox", "", nil, &inbox)
		got := map[string]bool{}
		for _, d := range inbox.Deliveries {
			got[d.Inbox] = d.Verified
		}
		return got["ana"] && got["ben"] && !got["chen"]
	})
	for name, password := range accounts {
		var who struct {
			Name string `json:"name"`
		}
		mustCall(t, 200, "POST", srv.URL+"/login", "", map[string]string{"name": name, "password": password}, &who)
		if who.Name != name {
			t.Errorf("signed in as %q; want %q", who.Name, name)
		}
	}
	srv.stop(t)

	again := startTocsin(t, data, "--demo")
	if !strings.Contains(again.logs.String(), "demo region already loaded") {
		t.Errorf("second start with --demo:\n%s", again.logs)
	}
	mustCall(t, 200, "GET", again.URL+"/api/v1/alerts", "", nil, &alerts)
	if len(alerts.Alerts) != 1 {
		t.Errorf("%d active alerts after a restart; want 1", len(alerts.Alerts))
	}
}

// readDemoFile reads demo-tokens.txt: token lines, then account lines
// after the "# console accounts" comment.
func readDemoFile(t *testing.T, name string) (tokens, accounts map[string]string) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tokens, accounts = map[string]string{}, map[string]string{}
	into := tokens
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# console accounts") {
			into = accounts
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		if f := strings.Fields(line); len(f) == 3 {
			into[f[0]] = f[2]
		}
	}
	return tokens, accounts
}
