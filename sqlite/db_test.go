package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sqlite"
)

// t0 is the time every test database starts at.
var t0 = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// clock is a clock that moves only when told, for DB.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// MustOpenDB opens a new database file in a temporary directory, closed when
// the test ends. Its clock stands still at t0; tests that need time to pass
// replace db.Now with a clock of their own.
func MustOpenDB(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db := sqlite.NewDB(filepath.Join(tb.TempDir(), "tocsin.db"))
	db.Now = func() time.Time { return t0 }
	if err := db.Open(); err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close database: %v", err)
		}
	})
	return db
}

// MustOpenRaw opens the database file at path through database/sql directly,
// bypassing tocsin, as someone tampering with the file would.
func MustOpenRaw(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatalf("open raw database: %v", err)
	}
	raw.SetMaxOpenConns(1)
	tb.Cleanup(func() { raw.Close() })
	if err := raw.Ping(); err != nil {
		tb.Fatalf("ping raw database: %v", err)
	}
	return raw
}

// MustExec runs a statement on the raw database.
func MustExec(tb testing.TB, raw *sql.DB, query string, args ...any) {
	tb.Helper()
	if _, err := raw.Exec(query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

// countRows returns the number of rows in table.
func countRows(tb testing.TB, raw *sql.DB, table string) int {
	tb.Helper()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		tb.Fatalf("count %s: %v", table, err)
	}
	return n
}

// MustPrincipal creates a principal with role and returns a context acting
// as it.
func MustPrincipal(tb testing.TB, db *sqlite.DB, name string, role tocsin.Role) (context.Context, *tocsin.Principal) {
	tb.Helper()
	_, p, err := sqlite.NewTokenService(db).CreateToken(context.Background(), name, role)
	if err != nil {
		tb.Fatalf("create %s token: %v", role, err)
	}
	return tocsin.NewContextWithPrincipal(context.Background(), p), p
}

// wantCode fails the test unless err carries the application error code want.
func wantCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := tocsin.ErrorCode(err); got != want {
		tb.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
	var e *tocsin.Error
	if want != "" && !errors.As(err, &e) {
		tb.Fatalf("error %v is not a *tocsin.Error", err)
	}
}

// wantField fails the test unless err is EINVALID and names field.
func wantField(tb testing.TB, err error, field string) {
	tb.Helper()
	wantCode(tb, err, tocsin.EINVALID)
	for _, f := range tocsin.ErrorFields(err) {
		if f.Field == field {
			return
		}
	}
	tb.Fatalf("error %v does not name field %q", err, field)
}

// newReport returns a valid report of category cat at lat, lon.
func newReport(lat, lon float64, cat tocsin.Category) *tocsin.Report {
	return &tocsin.Report{Lat: lat, Lon: lon, Category: cat, Text: "smoke over the ridge", Language: "en"}
}

// MustReport stores a report and returns it, with its incident filled in.
func MustReport(tb testing.TB, ctx context.Context, db *sqlite.DB, r *tocsin.Report) *tocsin.Report {
	tb.Helper()
	receipt, err := sqlite.NewReportService(db).CreateReport(ctx, r)
	if err != nil {
		tb.Fatalf("create report: %v", err)
	}
	if receipt == "" || r.ID == "" || r.IncidentID == "" {
		tb.Fatalf("create report: receipt %q, id %q, incident %q; want all set", receipt, r.ID, r.IncidentID)
	}
	return r
}

// newAlert returns a valid Actual alert with English and Spanish infos of
// severity sev, for a 5 km circle around lat, lon.
func newAlert(sev tocsin.Severity, lat, lon float64) *tocsin.Alert {
	info := func(lang, headline string) tocsin.Info {
		return tocsin.Info{Language: lang, Category: tocsin.CategoryList{"Fire"}, Event: "Wildfire", Urgency: "Immediate",
			Severity: sev, Certainty: "Observed", Headline: headline}
	}
	return &tocsin.Alert{
		Status: "Actual",
		Infos:  []tocsin.Info{info("en", "Wildfire near Pine Ridge"), info("es", "Incendio cerca de Pine Ridge")},
		Areas:  []tocsin.Area{{Description: "Pine Ridge", Circle: &geo.Circle{Lat: lat, Lon: lon, RadiusKM: 5}}},
	}
}

// MustAlert creates an alert as the principal in ctx.
func MustAlert(tb testing.TB, ctx context.Context, svc *sqlite.AlertService, a *tocsin.Alert) *tocsin.Alert {
	tb.Helper()
	if err := svc.CreateAlert(ctx, a); err != nil {
		tb.Fatalf("create alert: %v", err)
	}
	return a
}

func TestDB_OpenNeedsPath(t *testing.T) {
	db := sqlite.NewDB("")
	if err := db.Open(); err == nil {
		db.Close()
		t.Fatal("Open with no path succeeded")
	}
}

// TestDB_SurvivesReopen checks that what was committed before Close is
// there, unchanged, after the file is opened again.
func TestDB_SurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tocsin.db")
	db := sqlite.NewDB(path)
	db.Now = func() time.Time { return t0 }
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	token, pub, err := sqlite.NewTokenService(db).CreateToken(context.Background(), "pub", tocsin.RolePublisher)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tocsin.NewContextWithPrincipal(context.Background(), pub)
	rep := MustReport(t, tocsin.NewContextWithClient(context.Background(), "c1"), db, newReport(40, -105, "Fire"))
	alert := MustAlert(t, ctx, sqlite.NewAlertService(db), newAlert("Moderate", 40, -105))
	sub := &tocsin.Subscription{Area: geo.Shape{Circle: &geo.Circle{Lat: 40, Lon: -105, RadiusKM: 3}}, Languages: []string{"es", "en"},
		Channel: tocsin.Channel{Type: tocsin.ChannelWebhook, URL: "https://example.org/hook"}}
	subToken, err := sqlite.NewSubscriptionService(db).CreateSubscription(context.Background(), sub)
	if err != nil {
		t.Fatal(err)
	}
	events, err := sqlite.NewAuditService(db).VerifyAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = sqlite.NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bg := context.Background()
	if p, err := sqlite.NewTokenService(db).FindPrincipalByToken(bg, token); err != nil || p.ID != pub.ID || p.Role != tocsin.RolePublisher {
		t.Errorf("token after reopen: %+v, %v; want principal %d", p, err, pub.ID)
	}
	reports, n, err := sqlite.NewReportService(db).FindReports(bg, tocsin.ReportFilter{})
	if err != nil || n != 1 || reports[0].ID != rep.ID || reports[0].IncidentID != rep.IncidentID || reports[0].Text != rep.Text {
		t.Errorf("reports after reopen: %v %d %v; want %s", reports, n, err, rep.ID)
	}
	got, err := sqlite.NewAlertService(db).FindAlertByID(bg, alert.ID)
	if err != nil {
		t.Fatalf("alert after reopen: %v", err)
	}
	if got.State != tocsin.AlertPublished || len(got.Infos) != 2 || got.Infos[1].Headline != alert.Infos[1].Headline || got.Areas[0].Circle.RadiusKM != 5 {
		t.Errorf("alert after reopen = %+v; want the published alert as written", got)
	}
	pending, err := sqlite.NewOutbox(db).PendingEvents(bg)
	if err != nil || len(pending) != 1 || pending[0].AlertID != alert.ID {
		t.Errorf("pending events after reopen: %v, %v; want the alert's event", pending, err)
	}
	gotSub, err := sqlite.NewSubscriptionService(db).FindSubscriptionByID(bg, sub.ID)
	if err != nil || gotSub.Secret != sub.Secret || gotSub.Seq != sub.Seq || gotSub.Area.Circle == nil || gotSub.Area.Circle.RadiusKM != 3 {
		t.Errorf("subscription after reopen: %+v, %v", gotSub, err)
	}
	if err := sqlite.NewSubscriptionService(db).DeleteSubscription(bg, sub.ID, subToken); err != nil {
		t.Errorf("subscription token after reopen: %v", err)
	}
	if n, err := sqlite.NewAuditService(db).VerifyAudit(bg); err != nil || n != events+1 {
		t.Errorf("audit after reopen: %d events, %v; want %d and nil", n, err, events+1)
	}
}

// TestDB_MigrationsAreIdempotent opens the same file several times: each
// migration is recorded once and nothing is lost or duplicated.
func TestDB_MigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tocsin.db")
	var first int
	for i := 0; i < 3; i++ {
		db := sqlite.NewDB(path)
		if err := db.Open(); err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if _, _, err := sqlite.NewTokenService(db).CreateToken(context.Background(), "admin", tocsin.RoleAdmin); err != nil {
			t.Fatalf("open #%d: create token: %v", i+1, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw := MustOpenRaw(t, path)
		n := countRows(t, raw, "schema_migrations")
		if i == 0 {
			first = n
			if n < 2 {
				t.Fatalf("schema_migrations has %d rows after the first open; want one per migration file (at least 2)", n)
			}
		} else if n != first {
			t.Errorf("open #%d: schema_migrations has %d rows; want %d", i+1, n, first)
		}
		if got := countRows(t, raw, "principals"); got != i+1 {
			t.Errorf("open #%d: %d principals; want %d", i+1, got, i+1)
		}
		raw.Close()
	}
}

// dumpText returns the text of every column of every row of every table,
// one row per line, for checking that something is stored nowhere.
func dumpText(tb testing.TB, raw *sql.DB) string {
	tb.Helper()
	rows, err := raw.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		tb.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			tb.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		rows, err := raw.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
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
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		rows.Close()
	}
	return b.String()
}

// poly builds a polygon from latitude, longitude pairs.
func poly(latlon ...float64) geo.Polygon {
	p := make(geo.Polygon, len(latlon)/2)
	for i := range p {
		p[i] = geo.Point{Lat: latlon[2*i], Lon: latlon[2*i+1]}
	}
	return p
}
