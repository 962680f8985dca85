package http_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/deliver"
	tocsinhttp "github.com/tocsin/tocsin/http"
	"github.com/tocsin/tocsin/sqlite"
	"github.com/tocsin/tocsin/sse"
)

// TestServer is a real tocsin HTTP server on a random loopback port, backed by
// a real SQLite database in a temporary directory, with one bearer token per
// role.
type TestServer struct {
	*tocsinhttp.Server
	DB  *sqlite.DB
	Raw *sql.DB // a second connection to the database file, for counting rows

	// Tokens by name: reporter, verifier, publisher, publisher2, admin.
	Tokens map[string]string
	// Principals by the same names.
	Principals map[string]*tocsin.Principal

	client *http.Client
	logs   *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
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

// MustOpenServer starts a server with no rate limits (tests from one address
// would otherwise share one client's budget); configure may change any field
// before Open. The server, broker and database close when the test ends, and
// the test fails if the server logged an error (an internal error is a 500).
func MustOpenServer(tb testing.TB, configure ...func(*tocsinhttp.Server)) *TestServer {
	tb.Helper()
	db := sqlite.NewDB(filepath.Join(tb.TempDir(), "tocsin.db"))
	if err := db.Open(); err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close database: %v", err)
		}
	})
	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(db.Path)+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })

	ts := &TestServer{DB: db, Raw: raw, Tokens: map[string]string{}, Principals: map[string]*tocsin.Principal{},
		client: &http.Client{Timeout: 20 * time.Second}, logs: &syncBuffer{}}
	tokens := sqlite.NewTokenService(db)
	for _, p := range []struct {
		name string
		role tocsin.Role
	}{
		{"reporter", tocsin.RoleReporter}, {"verifier", tocsin.RoleVerifier}, {"publisher", tocsin.RolePublisher},
		{"publisher2", tocsin.RolePublisher}, {"admin", tocsin.RoleAdmin},
	} {
		token, pr, err := tokens.CreateToken(context.Background(), p.name, p.role)
		if err != nil {
			tb.Fatal(err)
		}
		ts.Tokens[p.name], ts.Principals[p.name] = token, pr
	}

	broker := sse.NewBroker(sse.Config{})
	srv := tocsinhttp.NewServer()
	srv.Addr = "127.0.0.1:0"
	srv.Logger = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv.Limits = map[string]tocsinhttp.Limit{}
	srv.Reports, srv.Incidents, srv.Alerts = sqlite.NewReportService(db), sqlite.NewIncidentService(db), sqlite.NewAlertService(db)
	srv.Subscriptions, srv.Tokens, srv.Audit = sqlite.NewSubscriptionService(db), tokens, sqlite.NewAuditService(db)
	srv.Zones, srv.Outbox = sqlite.NewZoneService(db), sqlite.NewOutbox(db)
	srv.CAP, srv.Partners = sqlite.NewCAPService(db), sqlite.NewPartnerService(db)
	srv.Matcher = deliver.NewMatcher()
	srv.Broker = broker
	for _, fn := range configure {
		fn(srv)
	}
	if err := srv.Open(); err != nil {
		tb.Fatalf("open server: %v", err)
	}
	ts.Server = srv
	tb.Cleanup(func() {
		if err := srv.Close(); err != nil {
			tb.Errorf("close server: %v", err)
		}
		if err := broker.Close(); err != nil {
			tb.Errorf("close broker: %v", err)
		}
		if logs := ts.logs.String(); strings.Contains(logs, "level=ERROR") {
			tb.Errorf("the server logged errors:\n%s", logs)
		}
	})
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") || strings.HasSuffix(srv.URL(), ":0") {
		tb.Fatalf("server URL %q; want a random loopback port", srv.URL())
	}
	return ts
}

// Request is one request to the test server.
type Request struct {
	Method string
	Path   string
	// Token is sent as "Authorization: Bearer <Token>"; Auth, when set, is
	// sent as the whole Authorization header instead.
	Token, Auth string
	// Body is sent as is when it is a string or []byte, else as JSON.
	Body        any
	ContentType string
	Header      map[string]string
}

// Response is what the server answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends req and reads the whole answer.
func (ts *TestServer) Do(tb testing.TB, req Request) *Response {
	tb.Helper()
	var body io.Reader
	switch b := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		body = bytes.NewReader(buf)
	}
	r, err := http.NewRequest(req.Method, ts.URL()+req.Path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		r.Header.Set("Content-Type", ct)
	}
	if req.Auth != "" {
		r.Header.Set("Authorization", req.Auth)
	} else if req.Token != "" {
		r.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	resp, err := ts.client.Do(r)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", req.Method, req.Path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// MustDo sends req and fails the test unless the status is want; it decodes
// the JSON answer into v when v is not nil.
func (ts *TestServer) MustDo(tb testing.TB, req Request, want int, v any) *Response {
	tb.Helper()
	resp := ts.Do(tb, req)
	if resp.Status != want {
		tb.Fatalf("%s %s: status %d; want %d. Body: %s", req.Method, req.Path, resp.Status, want, resp.Body)
	}
	if v != nil {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			tb.Fatalf("%s %s: Content-Type %q; want application/json", req.Method, req.Path, ct)
		}
		if err := json.Unmarshal(resp.Body, v); err != nil {
			tb.Fatalf("%s %s: decode %s: %v", req.Method, req.Path, resp.Body, err)
		}
	}
	return resp
}

// problem is the RFC 9457 document the server answers errors with.
type problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Code   string              `json:"code"`
	Errors []tocsin.FieldError `json:"errors"`
}

// wantProblem fails the test unless resp is an application/problem+json
// answer with status, and, when field is not empty, an errors entry naming
// field.
func wantProblem(tb testing.TB, resp *Response, status int, field string) problem {
	tb.Helper()
	var p problem
	if resp.Status != status {
		tb.Errorf("status %d; want %d. Body: %s", resp.Status, status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Errorf("Content-Type %q; want application/problem+json", ct)
	}
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		tb.Fatalf("problem body %q: %v", resp.Body, err)
	}
	if p.Status != status || p.Code == "" || p.Title == "" || p.Detail == "" || p.Errors == nil || !strings.HasPrefix(p.Type, "urn:tocsin:problem:") {
		tb.Errorf("problem = %+v; want status %d, a code, a title, a detail, a type and an errors list", p, status)
	}
	if p.Code == tocsin.EINTERNAL {
		tb.Errorf("problem code %s: %s", p.Code, p.Detail)
	}
	if field != "" {
		found := false
		for _, f := range p.Errors {
			if f.Field == field {
				found = f.Detail != ""
			}
		}
		if !found {
			tb.Errorf("errors %+v do not name %q (detail: %s)", p.Errors, field, p.Detail)
		}
	}
	return p
}

// Rows counts the rows of every table in the database.
func (ts *TestServer) Rows(tb testing.TB) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, table := range ts.tables(tb) {
		var n int
		if err := ts.Raw.QueryRow(`SELECT COUNT(*) FROM "` + table + `"`).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func (ts *TestServer) tables(tb testing.TB) []string {
	tb.Helper()
	rows, err := ts.Raw.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			tb.Fatal(err)
		}
		out = append(out, name)
	}
	if len(out) < 5 {
		tb.Fatalf("tables %v; want the whole schema", out)
	}
	return out
}

// Dump returns the text of every column of every row of every table.
func (ts *TestServer) Dump(tb testing.TB) string {
	tb.Helper()
	var b strings.Builder
	for _, table := range ts.tables(tb) {
		rows, err := ts.Raw.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			b.WriteString(table)
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "\t%v", v)
			}
			b.WriteByte('\n')
		}
		rows.Close()
	}
	return b.String()
}

// reportBody returns a valid report body.
func reportBody() map[string]any {
	return map[string]any{"lat": 39.7392, "lon": -104.9903, "category": "Fire", "event": "Wildfire", "text": "Smoke over the ridge", "language": "en"}
}

// alertBody returns a valid alert body of severity sev for a 5 km circle
// around lat, lon, with English and Spanish infos.
func alertBody(sev string, lat, lon float64) map[string]any {
	info := func(lang, headline string) map[string]any {
		return map[string]any{"language": lang, "category": "Fire", "event": "Wildfire", "urgency": "Immediate",
			"severity": sev, "certainty": "Observed", "headline": headline}
	}
	return map[string]any{
		"status": "Actual",
		"infos":  []any{info("en", "Wildfire near Pine Ridge"), info("es", "Incendio cerca de Pine Ridge")},
		"areas":  []any{map[string]any{"description": "Pine Ridge", "circle": map[string]any{"lat": lat, "lon": lon, "radius_km": 5}}},
	}
}

// subscriptionBody returns a valid webhook subscription body for a circle.
// The URL's host is a public address literal, so no DNS is needed.
func subscriptionBody(lat, lon, radius float64) map[string]any {
	return map[string]any{
		"area":      map[string]any{"circle": map[string]any{"lat": lat, "lon": lon, "radius_km": radius}},
		"languages": []string{"es", "en"},
		"channel":   map[string]any{"type": "webhook", "url": "https://203.0.113.10/hooks/tocsin"},
	}
}

// created is the answer to POST /reports and POST /subscriptions.
type created struct {
	ID         string `json:"id"`
	IncidentID string `json:"incident_id"`
	Receipt    string `json:"receipt"`
	Token      string `json:"token"`
	Secret     string `json:"secret"`
}

// MustCreateAlert posts an alert as the publisher and returns it.
func (ts *TestServer) MustCreateAlert(tb testing.TB, token string, body map[string]any) *tocsin.Alert {
	tb.Helper()
	var a tocsin.Alert
	resp := ts.MustDo(tb, Request{Method: "POST", Path: "/api/v1/alerts", Token: token, Body: body}, http.StatusCreated, &a)
	if a.ID == "" || resp.Header.Get("Location") != "/api/v1/alerts/"+a.ID {
		tb.Fatalf("created alert %q at Location %q", a.ID, resp.Header.Get("Location"))
	}
	return &a
}

// alertList is the answer to GET /alerts.
type alertList struct {
	Alerts []*tocsin.Alert `json:"alerts"`
	Total  int             `json:"total"`
}

func alertIDs(l alertList) []string {
	out := []string{}
	for _, a := range l.Alerts {
		out = append(out, a.ID)
	}
	return out
}

func TestServer_Healthz(t *testing.T) {
	ts := MustOpenServer(t)
	var got map[string]string
	ts.MustDo(t, Request{Method: "GET", Path: "/healthz"}, http.StatusOK, &got)
	if got["status"] != "ok" || got["version"] == "" {
		t.Errorf("healthz = %v; want status ok and a version", got)
	}
}

func TestServer_OpenAPI(t *testing.T) {
	ts := MustOpenServer(t)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Info    map[string]any `json:"info"`
		Paths   map[string]any `json:"paths"`
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/openapi.json"}, http.StatusOK, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || doc.Info["title"] == nil || doc.Paths == nil {
		t.Errorf("openapi.json = openapi %q, info %v, paths %d; want an OpenAPI 3.1 document", doc.OpenAPI, doc.Info, len(doc.Paths))
	}
}

func TestServer_UnknownAPIPath(t *testing.T) {
	ts := MustOpenServer(t)
	for _, path := range []string{"/api/v1/nope", "/api/v2/alerts", "/api/v1/alerts/x/y/z"} {
		t.Run(path, func(t *testing.T) {
			p := wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path}), http.StatusNotFound, "")
			if p.Code != tocsin.ENOTFOUND {
				t.Errorf("code %s; want %s", p.Code, tocsin.ENOTFOUND)
			}
		})
	}
}

func TestServer_ReportsClusterIntoIncident(t *testing.T) {
	ts := MustOpenServer(t)
	var first, second, elsewhere created
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: reportBody()}, http.StatusCreated, &first)
	near := reportBody()
	near["lat"], near["observed_at"] = 39.7400, time.Now().Add(-10*time.Minute).UTC().Format(time.RFC3339)
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: near}, http.StatusCreated, &second)
	far := reportBody()
	far["lat"] = 39.80
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: far}, http.StatusCreated, &elsewhere)
	if first.ID == "" || first.Receipt == "" || first.IncidentID == "" || second.ID == first.ID {
		t.Fatalf("report answers %+v, %+v; want ids, receipts and incidents", first, second)
	}
	if second.IncidentID != first.IncidentID || elsewhere.IncidentID == first.IncidentID {
		t.Fatalf("incidents %s, %s, %s; want the first two together and the third (7 km away) apart", first.IncidentID, second.IncidentID, elsewhere.IncidentID)
	}

	for _, tt := range []struct {
		token  string
		status int
	}{{"", http.StatusUnauthorized}, {ts.Tokens["reporter"], http.StatusForbidden}} {
		wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/incidents", Token: tt.token}), tt.status, "")
	}
	var list struct {
		Incidents []*tocsin.Incident `json:"incidents"`
		Total     int                `json:"total"`
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/incidents?state=unverified", Token: ts.Tokens["verifier"]}, http.StatusOK, &list)
	if list.Total != 2 {
		t.Fatalf("%d unverified incidents; want 2", list.Total)
	}
	var inc *tocsin.Incident
	for _, i := range list.Incidents {
		if i.ID == first.IncidentID {
			inc = i
		}
	}
	// Both reports came from one address: one client, one reporter.
	if inc == nil || inc.ReportCount != 2 || inc.ReporterCount != 1 || inc.State != tocsin.IncidentUnverified {
		t.Fatalf("incident = %+v; want 2 reports by 1 reporter, unverified", inc)
	}
	var detail struct {
		Incident *tocsin.Incident `json:"incident"`
		Reports  []*tocsin.Report `json:"reports"`
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/incidents/" + inc.ID, Token: ts.Tokens["verifier"]}, http.StatusOK, &detail)
	if detail.Incident.ID != inc.ID || len(detail.Reports) != 2 {
		t.Errorf("incident detail = %+v with %d reports; want 2", detail.Incident, len(detail.Reports))
	}

	var decided tocsin.Incident
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/incidents/" + inc.ID + "/verify", Token: ts.Tokens["verifier"], Body: `{"note":"seen from the lookout"}`}, http.StatusOK, &decided)
	if decided.State != tocsin.IncidentVerified || decided.Note != "seen from the lookout" || decided.DecidedBy == nil || *decided.DecidedBy != ts.Principals["verifier"].ID {
		t.Errorf("verified incident = %+v", decided)
	}
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/incidents/" + inc.ID + "/verify", Token: ts.Tokens["verifier"]}), http.StatusConflict, "")
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/incidents/" + elsewhere.IncidentID + "/reject", Token: ts.Tokens["reporter"]}), http.StatusForbidden, "")
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/incidents/" + elsewhere.IncidentID + "/reject", Token: ts.Tokens["verifier"]}, http.StatusOK, &decided)
	if decided.State != tocsin.IncidentUnverifiable {
		t.Errorf("rejected incident is %s; want unverifiable", decided.State)
	}
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/incidents/inc_missing/verify", Token: ts.Tokens["verifier"]}), http.StatusNotFound, "")
}

func TestServer_AlertTwoPersonRule(t *testing.T) {
	ts := MustOpenServer(t)
	a := ts.MustCreateAlert(t, ts.Tokens["publisher"], alertBody("Severe", 40, -105))
	if a.State != tocsin.AlertPendingApproval || a.AuthorID != ts.Principals["publisher"].ID {
		t.Fatalf("created Severe alert = %s by %d; want pending_approval by %d", a.State, a.AuthorID, ts.Principals["publisher"].ID)
	}
	path := "/api/v1/alerts/" + a.ID

	// A pending alert is not public.
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path}), http.StatusNotFound, "")
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path, Token: ts.Tokens["verifier"]}), http.StatusNotFound, "")
	var got tocsin.Alert
	ts.MustDo(t, Request{Method: "GET", Path: path, Token: ts.Tokens["publisher2"]}, http.StatusOK, &got)
	if got.ID != a.ID || got.State != tocsin.AlertPendingApproval {
		t.Errorf("publisher sees %s %s; want the pending alert", got.ID, got.State)
	}
	var list alertList
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts"}, http.StatusOK, &list)
	if list.Total != 0 || len(list.Alerts) != 0 {
		t.Errorf("public alerts while pending = %v; want none", alertIDs(list))
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/alerts?state=pending_approval"}), http.StatusUnauthorized, "")
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts?state=pending_approval", Token: ts.Tokens["publisher"]}, http.StatusOK, &list)
	if list.Total != 1 || list.Alerts[0].ID != a.ID {
		t.Errorf("pending alerts for a publisher = %v; want [%s]", alertIDs(list), a.ID)
	}

	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: path + "/approve"}), http.StatusUnauthorized, "")
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: path + "/approve", Token: ts.Tokens["verifier"]}), http.StatusForbidden, "")
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: path + "/approve", Token: ts.Tokens["publisher"]}), http.StatusForbidden, "")
	ts.MustDo(t, Request{Method: "POST", Path: path + "/approve", Token: ts.Tokens["publisher2"]}, http.StatusOK, &got)
	if got.State != tocsin.AlertPublished || got.ApprovedBy == nil || *got.ApprovedBy != ts.Principals["publisher2"].ID {
		t.Errorf("approved alert = %s approved by %v; want published by %d", got.State, got.ApprovedBy, ts.Principals["publisher2"].ID)
	}
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: path + "/approve", Token: ts.Tokens["admin"]}), http.StatusConflict, "")

	ts.MustDo(t, Request{Method: "GET", Path: path + "?lang=es"}, http.StatusOK, &got)
	if len(got.Infos) != 1 || got.Infos[0].Language != "es" || got.Language != "es" {
		t.Errorf("alert in Spanish = %+v; want only the es info", got.Infos)
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts"}, http.StatusOK, &list)
	if list.Total != 1 || list.Alerts[0].ID != a.ID {
		t.Errorf("public alerts = %v; want [%s]", alertIDs(list), a.ID)
	}

	var cancel tocsin.Alert
	ts.MustDo(t, Request{Method: "POST", Path: path + "/cancel", Token: ts.Tokens["publisher"]}, http.StatusCreated, &cancel)
	if cancel.MsgType != "Cancel" || len(cancel.References) != 1 || cancel.References[0] != a.ID {
		t.Errorf("cancel = %+v; want a Cancel referencing %s", cancel, a.ID)
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts"}, http.StatusOK, &list)
	if list.Total != 0 {
		t.Errorf("public alerts after cancel = %v; want none", alertIDs(list))
	}
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: path + "/cancel", Token: ts.Tokens["publisher"]}), http.StatusConflict, "")

	// Withdrawing a pending alert is 200 and sends nothing.
	w := ts.MustCreateAlert(t, ts.Tokens["publisher"], alertBody("Extreme", 40, -105))
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/alerts/" + w.ID + "/cancel", Token: ts.Tokens["publisher"]}, http.StatusOK, &got)
	if got.ID != w.ID || got.State != tocsin.AlertCancelled {
		t.Errorf("withdrawn = %s %s; want %s cancelled", got.ID, got.State, w.ID)
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/alerts/" + w.ID}), http.StatusNotFound, "")
}

func TestServer_AlertUpdateByReference(t *testing.T) {
	ts := MustOpenServer(t)
	old := ts.MustCreateAlert(t, ts.Tokens["publisher"], alertBody("Moderate", 40, -105))
	if old.State != tocsin.AlertPublished {
		t.Fatalf("Moderate alert is %s; want published", old.State)
	}
	upd := alertBody("Moderate", 40, -105)
	// A CAP reference is "sender,identifier,sent".
	upd["msg_type"], upd["references"] = "Update", []string{old.Sender + "," + old.ID + "," + old.Sent.Format(time.RFC3339)}
	a := ts.MustCreateAlert(t, ts.Tokens["publisher"], upd)
	if a.State != tocsin.AlertPublished || len(a.References) != 1 || a.References[0] != old.ID {
		t.Fatalf("update = %s referencing %v; want published referencing %s", a.State, a.References, old.ID)
	}
	var got tocsin.Alert
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts/" + old.ID}, http.StatusOK, &got)
	if got.State != tocsin.AlertSuperseded {
		t.Errorf("old alert is %s; want superseded", got.State)
	}
}

func TestServer_ListAlertsByPlace(t *testing.T) {
	ts := MustOpenServer(t)
	denver := ts.MustCreateAlert(t, ts.Tokens["publisher"], alertBody("Moderate", 39.74, -104.99))
	boulder := ts.MustCreateAlert(t, ts.Tokens["publisher"], alertBody("Minor", 40.015, -105.27))
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{boulder.ID, denver.ID}},
		{"?lat=39.74&lon=-104.99", []string{denver.ID}},
		{"?lat=39.74&lon=-104.99&radius_km=1", []string{denver.ID}},
		{"?lat=40.015&lon=-105.27&radius_km=2", []string{boulder.ID}},
		{"?lat=39.9&lon=-105.1&radius_km=50", []string{boulder.ID, denver.ID}},
		{"?lat=39.88&lon=-105.13&radius_km=2", []string{}},
		{"?lat=-33.9&lon=18.4", []string{}},
		{"?limit=1", []string{boulder.ID}},
		{"?offset=1", []string{denver.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var list alertList
			ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts" + tt.query}, http.StatusOK, &list)
			if got := alertIDs(list); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("alerts = %v; want %v (newest first)", got, tt.want)
			}
		})
	}
}

func TestServer_Preview(t *testing.T) {
	ts := MustOpenServer(t)
	// Two webhook subscribers inside the alert's 5 km circle, one whose
	// filter refuses Severe alerts, and two outside.
	for _, body := range []map[string]any{
		subscriptionBody(40, -105, 1),
		subscriptionBody(40+0.05, -105, 2), // 5.6 km north, its circle reaches in
		subscriptionBody(40, -105.5, 3),    // 43 km west
		subscriptionBody(-33.9, 18.4, 50),  // another continent
	} {
		ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/subscriptions", Body: body}, http.StatusCreated, nil)
	}
	picky := subscriptionBody(40, -105, 1)
	picky["min_severity"] = "Extreme"
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/subscriptions", Body: picky}, http.StatusCreated, nil)
	english := subscriptionBody(40, -105, 1)
	english["languages"] = []string{"en"}
	var en created
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/subscriptions", Body: english}, http.StatusCreated, &en)

	a := ts.MustCreateAlert(t, ts.Tokens["publisher"], alertBody("Severe", 40, -105))
	path := "/api/v1/alerts/" + a.ID + "/preview"
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path}), http.StatusUnauthorized, "")
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path, Token: ts.Tokens["verifier"]}), http.StatusForbidden, "")
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/alerts/alr_missing/preview", Token: ts.Tokens["publisher"]}), http.StatusNotFound, "")

	var preview struct {
		AlertID    string         `json:"alert_id"`
		State      string         `json:"state"`
		Recipients map[string]int `json:"recipients"`
		Total      int            `json:"total"`
		Languages  map[string]int `json:"languages"`
	}
	ts.MustDo(t, Request{Method: "GET", Path: path, Token: ts.Tokens["publisher2"]}, http.StatusOK, &preview)
	if preview.AlertID != a.ID || preview.State != "pending_approval" || preview.Recipients["webhook"] != 3 || preview.Total != 3 ||
		preview.Languages["es"] != 2 || preview.Languages["en"] != 1 {
		t.Errorf("preview = %+v; want 3 webhook recipients (2 in Spanish, 1 in English)", preview)
	}

	// Deleting a subscriber takes it out of the count.
	ts.MustDo(t, Request{Method: "DELETE", Path: "/api/v1/subscriptions/" + en.ID, Token: en.Token}, http.StatusNoContent, nil)
	ts.MustDo(t, Request{Method: "GET", Path: path, Token: ts.Tokens["publisher2"]}, http.StatusOK, &preview)
	if preview.Recipients["webhook"] != 2 || preview.Total != 2 {
		t.Errorf("preview after a deletion = %+v; want 2 webhook recipients", preview)
	}
}

func TestServer_Subscriptions(t *testing.T) {
	ts := MustOpenServer(t)
	var sub, other created
	resp := ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/subscriptions", Body: subscriptionBody(40, -105, 3)}, http.StatusCreated, &sub)
	if !strings.HasPrefix(sub.ID, "sub_") || sub.Token == "" || !strings.HasPrefix(sub.Secret, "whsec_") {
		t.Fatalf("subscription answer = %+v; want id, token and whsec_ secret", sub)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/v1/subscriptions/"+sub.ID {
		t.Errorf("Location %q", loc)
	}
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/subscriptions", Body: subscriptionBody(40, -105, 3)}, http.StatusCreated, &other)
	if ts.Matcher.Len() != 2 {
		t.Errorf("matcher holds %d subscriptions; want 2", ts.Matcher.Len())
	}
	path := "/api/v1/subscriptions/" + sub.ID
	for _, tt := range []struct {
		name   string
		req    Request
		status int
	}{
		{"no token", Request{Method: "DELETE", Path: path}, http.StatusUnauthorized},
		{"malformed header", Request{Method: "DELETE", Path: path, Auth: "Token " + sub.Token}, http.StatusUnauthorized},
		{"another subscription's token", Request{Method: "DELETE", Path: path, Token: other.Token}, http.StatusUnauthorized},
		{"an admin token", Request{Method: "DELETE", Path: path, Token: ts.Tokens["admin"]}, http.StatusUnauthorized},
		{"unknown subscription", Request{Method: "DELETE", Path: "/api/v1/subscriptions/sub_missing", Token: sub.Token}, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.Rows(t)
			wantProblem(t, ts.Do(t, tt.req), tt.status, "")
			if after := ts.Rows(t); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("rows went from %v to %v", before, after)
			}
		})
	}
	ts.MustDo(t, Request{Method: "DELETE", Path: path, Token: sub.Token}, http.StatusNoContent, nil)
	if ts.Matcher.Len() != 1 {
		t.Errorf("matcher holds %d subscriptions after the deletion; want 1", ts.Matcher.Len())
	}
	if _, err := ts.Subscriptions.FindSubscriptionByID(context.Background(), sub.ID); tocsin.ErrorCode(err) != tocsin.ENOTFOUND {
		t.Errorf("deleted subscription: %v; want not found", err)
	}
	wantProblem(t, ts.Do(t, Request{Method: "DELETE", Path: path, Token: sub.Token}), http.StatusNotFound, "")
}

func TestServer_Zones(t *testing.T) {
	ts := MustOpenServer(t)
	zone := map[string]any{"id": "pine-ridge", "names": map[string]string{"en": "Pine Ridge", "es": "Cresta de Pinos"},
		"circle": map[string]any{"lat": 40, "lon": -105, "radius_km": 3}}
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/zones", Token: ts.Tokens["publisher"], Body: zone}), http.StatusForbidden, "")
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/zones", Token: ts.Tokens["admin"], Body: zone}, http.StatusCreated, nil)
	var z tocsin.Zone
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/zones/pine-ridge"}, http.StatusOK, &z)
	if z.Name("es") != "Cresta de Pinos" || z.Circle == nil {
		t.Errorf("zone = %+v", z)
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/zones/nowhere"}), http.StatusNotFound, "")
	zone["id"] = "Bad Id"
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/zones", Token: ts.Tokens["admin"], Body: zone}), http.StatusBadRequest, "id")
}

func TestServer_AdminLists(t *testing.T) {
	ts := MustOpenServer(t)
	for _, path := range []string{"/api/v1/audit", "/api/v1/deliveries"} {
		wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path}), http.StatusUnauthorized, "")
		wantProblem(t, ts.Do(t, Request{Method: "GET", Path: path, Token: ts.Tokens["publisher"]}), http.StatusForbidden, "")
	}
	var audit struct {
		Events []*tocsin.AuditEvent `json:"events"`
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/audit?after=2", Token: ts.Tokens["admin"]}, http.StatusOK, &audit)
	// Five tokens were created: events 3, 4 and 5 follow event 2.
	if len(audit.Events) != 3 || audit.Events[0].Seq != 3 || audit.Events[0].Action != "token.create" {
		t.Errorf("audit after 2 = %+v; want events 3 to 5", audit.Events)
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/audit?after=x", Token: ts.Tokens["admin"]}), http.StatusBadRequest, "after")
	var deliveries struct {
		Deliveries []*tocsin.Delivery `json:"deliveries"`
		Total      int                `json:"total"`
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/deliveries", Token: ts.Tokens["admin"]}, http.StatusOK, &deliveries)
	if deliveries.Total != 0 || deliveries.Deliveries == nil {
		t.Errorf("deliveries = %+v; want an empty list", deliveries)
	}
}
