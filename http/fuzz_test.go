package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/deliver"
	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sqlite"
)

// The fuzz targets feed request bodies through the same decoder the handlers
// use and then through the validation the request meets next. Nothing may
// panic, and every refusal must be an EINVALID or ETOOLARGE *tocsin.Error
// (anything else would be a 500), whose fields are named.

// fuzzNow is the fixed time the fuzz targets validate against.
var fuzzNow = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// checkRefusal fails the test unless err is nil or a client error.
func checkRefusal(t *testing.T, stage string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *tocsin.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %q (%T) is not a *tocsin.Error", stage, err, err)
	}
	if e.Code != tocsin.EINVALID && e.Code != tocsin.ETOOLARGE {
		t.Fatalf("%s: error code %q; want %q or %q (%v)", stage, e.Code, tocsin.EINVALID, tocsin.ETOOLARGE, err)
	}
	if e.Message == "" {
		t.Fatalf("%s: error without a message: %#v", stage, e)
	}
	for _, f := range e.Fields {
		// A field's name is the client's own JSON key, which may be "".
		if f.Detail == "" {
			t.Fatalf("%s: field error without a detail: %#v", stage, e)
		}
	}
}

// fuzzRing returns a closed ring of n corners around lat, lon as JSON.
func fuzzRing(n int, lat, lon, r float64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i <= n; i++ {
		a := 2 * math.Pi * float64(i%n) / float64(n)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%.6f,%.6f]", lat+r*math.Sin(a), lon+r*math.Cos(a))
	}
	b.WriteByte(']')
	return b.String()
}

// nastyBodies are seeds every decoder should refuse cleanly. Seeds are kept
// small: the fuzzer minimizes what it finds, and minimizing a 1,000-vertex
// polygon takes longer than a CI fuzzing run (the vertex limit itself is
// checked in TestServer_BadInput and TestServer_Boundaries).
var nastyBodies = []string{
	``, ` `, `null`, `{}`, `[]`, `"x"`, `1`, `true`, `{`, `}`, `{"`, `{"a"}`, `{"a":}`,
	`{}}`, `{}]`, `{} {}`, `{}x`, `{}` + "\x00", "\xff\xfe{}", "{\"text\":\"\xff\"}",
	strings.Repeat("[", 10001), strings.Repeat(`{"a":`, 2000),
	`{"lat":1e400}`, `{"lat":-0}`, `{"lat":"NaN"}`, `{"lat":null}`,
	`{"__proto__":{}}`, `{"LAT":1}`, `{"lat":1,"lat":2}`,
}

func FuzzDecodeAlertRequest(f *testing.F) {
	valid := `{"status":"Actual","infos":[` +
		`{"language":"en","category":"Fire","event":"Wildfire","urgency":"Immediate","severity":"Severe","certainty":"Observed","headline":"Wildfire near Pine Ridge","instruction":"Leave now.","expires":"2025-03-14T12:00:00Z"},` +
		`{"language":"es","category":["Fire","Safety"],"event":"Incendio","urgency":"Immediate","severity":"Severe","certainty":"Observed","headline":"Incendio cerca de Pine Ridge"}],` +
		`"areas":[{"description":"Pine Ridge","circle":{"lat":40,"lon":-105,"radius_km":5}},` +
		`{"description":"The valley","polygon":[[40,-105],[40,-104],[41,-104],[41,-105],[40,-105]]}]}`
	for _, s := range append([]string{
		valid,
		`{"status":"Actual","msg_type":"Update","references":["tocsin,alr_x,2025-03-14T09:00:00Z"],"infos":[{"language":"en","category":"Met","event":"Storm","urgency":"Expected","severity":"Minor","certainty":"Likely","headline":"Storm"}],"areas":[{"description":"x","circle":{"lat":-90,"lon":180,"radius_km":1000}}]}`,
		`{"status":"Actual","msg_type":"Cancel","references":["alr_x"],"infos":[{"language":"en","category":"Met","event":"Storm","urgency":"Past","severity":"Minor","certainty":"Likely","headline":"Over"}],"areas":[]}`,
		`{"status":"Draft","infos":[{"severity":"Bad","category":"Weather"}],"areas":[{"circle":{"lat":91,"lon":-181,"radius_km":0}}]}`,
		`{"status":"Actual","infos":[{"language":"en","category":7}],"areas":[{"polygon":[[1,2,3]]}]}`,
		`{"status":"Actual","infos":[{"language":"en","expires":"yesterday"}],"areas":[{"polygon":[[40,-105],[41,-104],[40,-104],[41,-105],[40,-105]]}]}`,
		`{"status":"Actual","infos":[],"areas":[{"description":"ring","polygon":` + fuzzRing(40, 40, -105, 0.1) + `}]}`,
		`{"status":"Actual","infos":[],"areas":[{"polygon":[[0,179],[0,-179],[1,-179],[1,179],[0,179]]}]}`,
		`{"status":"Actual","infos":[],"areas":[{"polygon":[[0,0],[0,1e-9],[1e-9,1e-9],[0,0]]}]}`,
		`{"status":"Actual","colour":"red"}`,
		`{"status":"Actual","infos":[{"colour":"red"}]}`,
		`{"status":"Actual","infos":[{"language":"en","severity":3}]}`,
		`{"status":"Actual","areas":[{"circle":{"lat":"40"}}]}`,
		`{"status":"Actual","areas":[{"circle":null,"polygon":null}]}`,
	}, nastyBodies...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req alertRequest
		err := DecodeJSON(body, &req)
		checkRefusal(t, "decode", err)
		if err != nil {
			return
		}
		// As handleCreateAlert and AlertService.CreateAlert build the alert.
		a := &tocsin.Alert{Status: req.Status, MsgType: req.MsgType, Scope: req.Scope, IncidentID: req.IncidentID, Areas: req.Areas, Sent: fuzzNow}
		for _, ref := range req.References {
			a.References = append(a.References, tocsin.ReferenceID(ref))
		}
		for _, in := range req.Infos {
			a.Infos = append(a.Infos, tocsin.Info{Language: in.Language, Category: in.Category, Event: in.Event, Urgency: in.Urgency,
				Severity: in.Severity, Certainty: in.Certainty, Headline: in.Headline, Description: in.Description,
				Instruction: in.Instruction, Expires: in.Expires, Provenance: "human"})
		}
		if a.MsgType == "" {
			a.MsgType = "Alert"
		}
		if a.Scope == "" {
			a.Scope = "Public"
		}
		err = a.Validate()
		checkRefusal(t, "validate", err)
		if err != nil {
			return
		}
		// What validates must be storable and matchable: the store writes
		// infos and areas as JSON, and the matcher intersects the areas.
		if _, err := json.Marshal(a); err != nil {
			t.Fatalf("a valid alert cannot be encoded: %v", err)
		}
		for i, s := range a.Shapes() {
			if err := s.Validate(); err != nil {
				t.Fatalf("area %d passed Validate but its shape is invalid: %v", i, err)
			}
			s.Intersects(geo.Shape{Circle: &geo.Circle{Lat: 40, Lon: -105, RadiusKM: 10}})
		}
		a.MaxSeverity()
		a.ForLanguage([]string{"es", "en"})
	})
}

func FuzzDecodeReportRequest(f *testing.F) {
	for _, s := range append([]string{
		`{"lat":39.7392,"lon":-104.9903,"category":"Fire","event":"Wildfire","text":"Smoke over the ridge","language":"en"}`,
		`{"lat":-90,"lon":180,"accuracy_m":25.5,"observed_at":"2025-03-14T08:30:00Z","category":"Met","text":"Hail"}`,
		`{"lat":0,"lon":0,"category":"Other","text":"x","observed_at":"2025-03-14T09:05:00+02:00"}`,
		`{"lat":91,"lon":-181,"category":"Weather","text":""}`,
		`{"lat":40,"lon":-105,"category":"Fire","text":"late","observed_at":"2025-03-01T00:00:00Z"}`,
		`{"lat":40,"lon":-105,"category":"Fire","text":"future","observed_at":"2999-01-01T00:00:00Z"}`,
		`{"lat":40,"lon":-105,"category":"Fire","text":"bad time","observed_at":"now"}`,
		`{"lat":40,"lon":-105,"category":"Fire","text":"x","accuracy_m":-1}`,
		`{"lat":40,"lon":-105,"category":"Fire","text":"x","language":"en, <script>"}`,
		`{"lat":40,"lon":-105,"category":"Fire","text":"x","event":"` + strings.Repeat("e", 121) + `"}`,
		`{"lat":"40","lon":-105}`,
		`{"lon":-105,"category":"Fire","text":"x"}`,
		`{"lat":40,"lon":-105,"colour":"red"}`,
	}, nastyBodies...) {
		f.Add([]byte(s))
	}
	// The report validator belongs to the store (it needs the clock and the
	// clustering rules), so reports go through a real ReportService.
	db := sqlite.NewDB(filepath.Join(f.TempDir(), "fuzz.db"))
	db.Now = func() time.Time { return fuzzNow }
	if err := db.Open(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	reports := sqlite.NewReportService(db)
	ctx := tocsin.NewContextWithClient(context.Background(), "fuzz")
	f.Fuzz(func(t *testing.T, body []byte) {
		var req reportRequest
		err := DecodeJSON(body, &req)
		checkRefusal(t, "decode", err)
		if err != nil {
			return
		}
		// As handleCreateReport checks and builds the report.
		if req.Lat == nil || req.Lon == nil {
			return
		}
		rep := &tocsin.Report{Lat: *req.Lat, Lon: *req.Lon, AccuracyM: req.AccuracyM, Category: req.Category, Event: req.Event,
			Text: req.Text, Language: req.Language, Channel: "api"}
		if req.ObservedAt != nil {
			rep.ObservedAt = *req.ObservedAt
		}
		_, err = reports.CreateReport(ctx, rep)
		checkRefusal(t, "create report", err)
		if err == nil && (rep.IncidentID == "" || geo.ValidatePoint(geo.Point{Lat: rep.Lat, Lon: rep.Lon}) != nil) {
			t.Fatalf("stored report %+v has no incident or an invalid position", rep)
		}
	})
}

func FuzzDecodeSubscriptionRequest(f *testing.F) {
	for _, s := range append([]string{
		`{"area":{"circle":{"lat":40,"lon":-105,"radius_km":3}},"languages":["es","en"],"min_severity":"Moderate","categories":["Fire","Met"],"channel":{"type":"webhook","url":"https://203.0.113.10/hooks/tocsin"}}`,
		`{"area":{"polygon":[[40,-105],[40,-104],[41,-104],[41,-105],[40,-105]]},"languages":["zh-Hant-TW"],"channel":{"type":"webhook","url":"http://example.org:8080/x?y=1#z"}}`,
		`{"area":{"polygon":` + fuzzRing(40, 40, -105, 0.1) + `},"languages":["en"],"channel":{"type":"webhook","url":"https://example.org/"}}`,
		`{"area":{"polygon":[[40,-105],[41,-104],[40,-104],[41,-105],[40,-105]]},"languages":["en"],"channel":{"type":"webhook","url":"https://example.org/"}}`,
		`{"area":{"circle":{"lat":40,"lon":-105,"radius_km":1000.01}},"languages":[],"channel":{"type":"sms"}}`,
		`{"area":{"circle":{"lat":40,"lon":-105,"radius_km":3},"polygon":[[0,0],[0,1],[1,1],[0,0]]},"languages":["en"],"channel":{"type":"webhook","url":"ftp://example.org/"}}`,
		`{"area":{},"languages":["en","e n","1"],"min_severity":"Bad","categories":["Weather"],"channel":{"type":"webhook","url":"http://[::1]/"}}`,
		`{"area":{"circle":{"lat":40,"lon":-105,"radius_km":3}},"languages":["en"],"channel":{"type":"webhook","url":"http://u:p@[fe80::1%25eth0]:99999/"}}`,
		`{"area":{"circle":{"lat":40,"lon":-105,"radius_km":3}},"languages":["en"],"channel":{"type":"webhook","url":"https:///nohost"}}`,
		`{"area":{"circle":{"lat":40,"lon":-105,"radius_km":3}},"languages":["en"],"channel":{"type":"webhook","url":"https:example.org"}}`,
		`{"area":{"square":1}}`,
		`{"email":"a@example.org"}`,
	}, nastyBodies...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req subscriptionRequest
		err := DecodeJSON(body, &req)
		checkRefusal(t, "decode", err)
		if err != nil {
			return
		}
		// As handleCreateSubscription builds and checks the subscription,
		// with private addresses allowed so that no name is looked up.
		sub := &tocsin.Subscription{Area: geo.Shape{Circle: req.Area.Circle, Polygon: req.Area.Polygon}, Languages: req.Languages,
			MinSeverity: req.MinSeverity, Categories: req.Categories, Channel: req.Channel}
		if sub.Channel.Type == tocsin.ChannelWebhook && strings.TrimSpace(sub.Channel.URL) != "" {
			checkRefusal(t, "check URL", deliver.CheckURL(context.Background(), sub.Channel.URL, true))
		}
		err = sqlite.ValidateSubscription(sub)
		checkRefusal(t, "validate", err)
		if err != nil {
			return
		}
		// What validates must be indexable: the matcher holds every active
		// subscription.
		sub.Seq, sub.State = 1, tocsin.SubscriptionActive
		if err := deliver.NewMatcher().Add(sub); err != nil {
			t.Fatalf("a valid subscription cannot be indexed: %v", err)
		}
		if err := sub.Area.Validate(); err != nil {
			t.Fatalf("a valid subscription's area is invalid: %v", err)
		}
	})
}
