package http_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
)

// badInput is one request that must be refused with status, naming field
// (when not empty), and write nothing.
type badInput struct {
	name   string
	method string
	path   string
	role   string // whose token to send: reporter, publisher, …; "" for none
	auth   string // a raw Authorization header instead
	body   any
	ctype  string
	header map[string]string
	status int
	field  string
}

// with returns a copy of body changed by edit. Bodies are JSON-shaped maps,
// so a JSON round trip copies them deeply.
func with(body map[string]any, edit func(m map[string]any)) map[string]any {
	b, _ := json.Marshal(body)
	var m map[string]any
	json.Unmarshal(b, &m)
	edit(m)
	return m
}

// jsonText marshals v, for bodies that are then spoiled as text.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ring returns a closed ring of n corners around lat, lon.
func ring(n int, lat, lon, r float64) [][2]float64 {
	out := make([][2]float64, 0, n+1)
	for i := 0; i < n; i++ {
		a := 2 * math.Pi * float64(i) / float64(n)
		out = append(out, [2]float64{math.Round((lat+r*math.Sin(a))*1e6) / 1e6, math.Round((lon+r*math.Cos(a))*1e6) / 1e6})
	}
	return append(out, out[0])
}

var (
	openPolygon = [][2]float64{{40, -105}, {40, -104}, {41, -104}, {41, -105}}
	bowTie      = [][2]float64{{40, -105}, {41, -104}, {40, -104}, {41, -105}, {40, -105}}
)

// oversized pads a valid body with a long string field to more than 64 KiB.
func oversized(body map[string]any) string {
	s := jsonText(body)
	return s[:len(s)-1] + `,"text":"` + strings.Repeat("a", 65<<10) + `"}`
}

func areaCircle(lat, lon, r float64) func(m map[string]any) {
	return func(m map[string]any) {
		m["areas"].([]any)[0].(map[string]any)["circle"] = map[string]any{"lat": lat, "lon": lon, "radius_km": r}
	}
}

func areaPolygon(p [][2]float64) func(m map[string]any) {
	return func(m map[string]any) {
		area := m["areas"].([]any)[0].(map[string]any)
		delete(area, "circle")
		area["polygon"] = p
	}
}

func info0(key string, v any) func(m map[string]any) {
	return func(m map[string]any) { m["infos"].([]any)[0].(map[string]any)[key] = v }
}

func subCircle(lat, lon, r float64) func(m map[string]any) {
	return func(m map[string]any) {
		m["area"] = map[string]any{"circle": map[string]any{"lat": lat, "lon": lon, "radius_km": r}}
	}
}

func subPolygon(p [][2]float64) func(m map[string]any) {
	return func(m map[string]any) { m["area"] = map[string]any{"polygon": p} }
}

func webhook(url string) func(m map[string]any) {
	return func(m map[string]any) { m["channel"] = map[string]any{"type": "webhook", "url": url} }
}

func set(key string, v any) func(m map[string]any) {
	return func(m map[string]any) { m[key] = v }
}

func TestServer_BadInput(t *testing.T) {
	ts := MustOpenServer(t)
	// Something to reference, verify and list, so that refusals are checked
	// against a database that is not empty.
	ts.MustCreateAlert(t, ts.Tokens["publisher"], alertBody("Moderate", 40, -105))
	var rep created
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: reportBody()}, http.StatusCreated, &rep)

	report, alert, sub := reportBody(), alertBody("Moderate", 40, -105), subscriptionBody(40, -105, 3)
	const (
		reports = "/api/v1/reports"
		alerts  = "/api/v1/alerts"
		subs    = "/api/v1/subscriptions"
		stream  = "/api/v1/stream"
	)
	tests := []badInput{
		// Reports.
		{name: "report lat 91", method: "POST", path: reports, body: with(report, set("lat", 91)), status: 400, field: "lat"},
		{name: "report lat -90.5", method: "POST", path: reports, body: with(report, set("lat", -90.5)), status: 400, field: "lat"},
		{name: "report lon -181", method: "POST", path: reports, body: with(report, set("lon", -181)), status: 400, field: "lon"},
		{name: "report lon 180.01", method: "POST", path: reports, body: with(report, set("lon", 180.01)), status: 400, field: "lon"},
		{name: "report lat missing", method: "POST", path: reports, body: with(report, func(m map[string]any) { delete(m, "lat") }), status: 400, field: "lat"},
		{name: "report lat not a number", method: "POST", path: reports, body: with(report, set("lat", "north")), status: 400, field: "lat"},
		{name: "report lat huge", method: "POST", path: reports, body: strings.Replace(jsonText(report), `"lat":39.7392`, `"lat":1e400`, 1), status: 400, field: "lat"},
		{name: "report category Weather", method: "POST", path: reports, body: with(report, set("category", "Weather")), status: 400, field: "category"},
		{name: "report category lower case", method: "POST", path: reports, body: with(report, set("category", "fire")), status: 400, field: "category"},
		{name: "report without text", method: "POST", path: reports, body: with(report, set("text", "  ")), status: 400, field: "text"},
		{name: "report text too long", method: "POST", path: reports, body: with(report, set("text", strings.Repeat("x", 4001))), status: 400, field: "text"},
		{name: "report accuracy negative", method: "POST", path: reports, body: with(report, set("accuracy_m", -1)), status: 400, field: "accuracy_m"},
		{name: "report observed in the future", method: "POST", path: reports, body: with(report, set("observed_at", "2999-01-01T00:00:00Z")), status: 400, field: "observed_at"},
		{name: "report unknown field", method: "POST", path: reports, body: with(report, set("colour", "red")), status: 400, field: "colour"},
		{name: "report malformed JSON", method: "POST", path: reports, body: `{"lat": 40, "lon": -105,`, status: 400},
		{name: "report not an object", method: "POST", path: reports, body: `[1, 2]`, status: 400},
		{name: "report empty body", method: "POST", path: reports, body: ``, ctype: "application/json", status: 400},
		{name: "report trailing garbage", method: "POST", path: reports, body: jsonText(report) + ` xyz`, status: 400},
		{name: "report second object", method: "POST", path: reports, body: jsonText(report) + jsonText(report), status: 400},
		{name: "report trailing brace", method: "POST", path: reports, body: jsonText(report) + `}`, status: 400},
		{name: "report trailing bracket", method: "POST", path: reports, body: jsonText(report) + `]`, status: 400},
		{name: "report as a form", method: "POST", path: reports, body: "lat=40&lon=-105", ctype: "application/x-www-form-urlencoded", status: 400},
		{name: "report over 64 KiB", method: "POST", path: reports, body: oversized(with(report, func(m map[string]any) { delete(m, "text") })), status: 413},
		{name: "report unknown token", method: "POST", path: reports, auth: "Bearer tcs_unknown", body: report, status: 401},

		// Stream (refused before the stream starts).
		{name: "stream lat 91", method: "GET", path: stream + "?lat=91&lon=0", status: 400, field: "lat"},
		{name: "stream lon -181", method: "GET", path: stream + "?lat=0&lon=-181", status: 400, field: "lon"},
		{name: "stream lat not a number", method: "GET", path: stream + "?lat=north&lon=0", status: 400, field: "lat"},
		{name: "stream lat NaN", method: "GET", path: stream + "?lat=NaN&lon=0", status: 400, field: "lat"},
		{name: "stream lon Inf", method: "GET", path: stream + "?lat=0&lon=Inf", status: 400, field: "lon"},
		{name: "stream without lon", method: "GET", path: stream + "?lat=40", status: 400, field: "lon"},
		{name: "stream without a place", method: "GET", path: stream, status: 400, field: "lat"},
		{name: "stream radius 0", method: "GET", path: stream + "?lat=40&lon=-105&radius_km=0", status: 400, field: "radius_km"},
		{name: "stream radius -1", method: "GET", path: stream + "?lat=40&lon=-105&radius_km=-1", status: 400, field: "radius_km"},
		{name: "stream radius 1000.01", method: "GET", path: stream + "?lat=40&lon=-105&radius_km=1000.01", status: 400, field: "radius_km"},
		{name: "stream bad language", method: "GET", path: stream + "?lat=40&lon=-105&lang=en,<script>", status: 400, field: "lang"},
		{name: "stream bad Last-Event-ID", method: "GET", path: stream + "?lat=40&lon=-105", header: map[string]string{"Last-Event-ID": "yesterday"}, status: 400, field: "Last-Event-ID"},

		// Listing alerts.
		{name: "list lat 91", method: "GET", path: alerts + "?lat=91&lon=0", status: 400, field: "lat"},
		{name: "list lon -181", method: "GET", path: alerts + "?lat=0&lon=-181", status: 400, field: "lon"},
		{name: "list radius 0", method: "GET", path: alerts + "?lat=40&lon=-105&radius_km=0", status: 400, field: "radius_km"},
		{name: "list radius -1", method: "GET", path: alerts + "?lat=40&lon=-105&radius_km=-1", status: 400, field: "radius_km"},
		{name: "list radius 1000.01", method: "GET", path: alerts + "?lat=40&lon=-105&radius_km=1000.01", status: 400, field: "radius_km"},
		{name: "list radius without a place", method: "GET", path: alerts + "?radius_km=5", status: 400, field: "radius_km"},
		{name: "list lat without lon", method: "GET", path: alerts + "?lat=40", status: 400, field: "lon"},
		{name: "list bad limit", method: "GET", path: alerts + "?limit=0", status: 400, field: "limit"},
		{name: "list bad offset", method: "GET", path: alerts + "?offset=-1", status: 400, field: "offset"},

		// Alerts.
		{name: "alert circle lat 91", method: "POST", path: alerts, role: "publisher", body: with(alert, areaCircle(91, 0, 5)), status: 400, field: "areas[0].circle"},
		{name: "alert circle lon -181", method: "POST", path: alerts, role: "publisher", body: with(alert, areaCircle(0, -181, 5)), status: 400, field: "areas[0].circle"},
		{name: "alert radius 0", method: "POST", path: alerts, role: "publisher", body: with(alert, areaCircle(40, -105, 0)), status: 400, field: "areas[0].circle"},
		{name: "alert radius -1", method: "POST", path: alerts, role: "publisher", body: with(alert, areaCircle(40, -105, -1)), status: 400, field: "areas[0].circle"},
		{name: "alert radius 1000.01", method: "POST", path: alerts, role: "publisher", body: with(alert, areaCircle(40, -105, 1000.01)), status: 400, field: "areas[0].circle"},
		{name: "alert polygon not closed", method: "POST", path: alerts, role: "publisher", body: with(alert, areaPolygon(openPolygon)), status: 400, field: "areas[0].polygon"},
		{name: "alert polygon bow-tie", method: "POST", path: alerts, role: "publisher", body: with(alert, areaPolygon(bowTie)), status: 400, field: "areas[0].polygon"},
		{name: "alert polygon 1001 vertices", method: "POST", path: alerts, role: "publisher", body: with(alert, areaPolygon(ring(1001, 40, -105, 0.1))), status: 400, field: "areas[0].polygon"},
		{name: "alert polygon point lat 91", method: "POST", path: alerts, role: "publisher", body: with(alert, areaPolygon([][2]float64{{40, -105}, {91, -104}, {41, -104}, {40, -105}})), status: 400, field: "areas[0].polygon"},
		{name: "alert polygon point of three numbers", method: "POST", path: alerts, role: "publisher", body: strings.Replace(jsonText(with(alert, areaPolygon(ring(4, 40, -105, 0.1)))), "[40.1,-105]", "[40.1,-105,7]", 2), status: 400},
		{name: "alert circle and polygon", method: "POST", path: alerts, role: "publisher", body: with(alert, func(m map[string]any) {
			m["areas"].([]any)[0].(map[string]any)["polygon"] = ring(4, 40, -105, 0.1)
		}), status: 400, field: "areas[0].polygon"},
		{name: "alert area without shape", method: "POST", path: alerts, role: "publisher", body: with(alert, func(m map[string]any) {
			delete(m["areas"].([]any)[0].(map[string]any), "circle")
		}), status: 400, field: "areas[0].circle"},
		{name: "alert without areas", method: "POST", path: alerts, role: "publisher", body: with(alert, set("areas", []any{})), status: 400, field: "areas"},
		{name: "alert severity Bad", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("severity", "Bad")), status: 400, field: "infos[0].severity"},
		{name: "alert category Weather", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("category", "Weather")), status: 400, field: "infos[0].category"},
		{name: "alert category list with Weather", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("category", []string{"Fire", "Weather"})), status: 400, field: "infos[0].category"},
		{name: "alert category a number", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("category", 7)), status: 400},
		{name: "alert urgency Soon", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("urgency", "Soon")), status: 400, field: "infos[0].urgency"},
		{name: "alert certainty Sure", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("certainty", "Sure")), status: 400, field: "infos[0].certainty"},
		{name: "alert language bad", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("language", "english!")), status: 400, field: "infos[0].language"},
		{name: "alert without headline", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("headline", "")), status: 400, field: "infos[0].headline"},
		{name: "alert expires in the past", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("expires", "2001-01-01T00:00:00Z")), status: 400, field: "infos[0].expires"},
		{name: "alert status Draft", method: "POST", path: alerts, role: "publisher", body: with(alert, set("status", "Draft")), status: 400, field: "status"},
		{name: "alert status Bogus", method: "POST", path: alerts, role: "publisher", body: with(alert, set("status", "Bogus")), status: 400, field: "status"},
		{name: "alert msg_type Ack", method: "POST", path: alerts, role: "publisher", body: with(alert, set("msg_type", "Ack")), status: 400, field: "msg_type"},
		{name: "alert scope Everyone", method: "POST", path: alerts, role: "publisher", body: with(alert, set("scope", "Everyone")), status: 400, field: "scope"},
		{name: "alert without infos", method: "POST", path: alerts, role: "publisher", body: with(alert, set("infos", []any{})), status: 400, field: "infos"},
		{name: "alert update of an unknown alert", method: "POST", path: alerts, role: "publisher", body: with(alert, func(m map[string]any) {
			m["msg_type"], m["references"] = "Update", []string{"alr_missing"}
		}), status: 400, field: "references[0]"},
		{name: "alert unknown incident", method: "POST", path: alerts, role: "publisher", body: with(alert, set("incident_id", "inc_missing")), status: 400, field: "incident_id"},
		{name: "alert unknown field", method: "POST", path: alerts, role: "publisher", body: with(alert, set("colour", "red")), status: 400, field: "colour"},
		{name: "alert unknown info field", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("colour", "red")), status: 400, field: "colour"},
		{name: "alert severity a number", method: "POST", path: alerts, role: "publisher", body: with(alert, info0("severity", 3)), status: 400, field: "infos.severity"},
		{name: "alert malformed JSON", method: "POST", path: alerts, role: "publisher", body: `{"status": "Actual", "infos": [`, status: 400},
		{name: "alert trailing garbage", method: "POST", path: alerts, role: "publisher", body: jsonText(alert) + `,`, status: 400},
		{name: "alert trailing brace", method: "POST", path: alerts, role: "publisher", body: jsonText(alert) + `}`, status: 400},
		{name: "alert over 64 KiB", method: "POST", path: alerts, role: "publisher", body: oversized(alert), status: 413},
		{name: "alert without token", method: "POST", path: alerts, body: alert, status: 401},
		{name: "alert Basic auth", method: "POST", path: alerts, auth: "Basic dXNlcjpwYXNz", body: alert, status: 401},
		{name: "alert Bearer without token", method: "POST", path: alerts, auth: "Bearer ", body: alert, status: 401},
		{name: "alert lower-case bearer", method: "POST", path: alerts, auth: "bearer x", body: alert, status: 401},
		{name: "alert unknown token", method: "POST", path: alerts, auth: "Bearer tcs_000000000000", body: alert, status: 401},
		{name: "alert reporter token", method: "POST", path: alerts, role: "reporter", body: alert, status: 403},
		{name: "alert verifier token", method: "POST", path: alerts, role: "verifier", body: alert, status: 403},
		{name: "approve unknown alert", method: "POST", path: alerts + "/alr_missing/approve", role: "publisher2", status: 404},
		{name: "cancel unknown alert", method: "POST", path: alerts + "/alr_missing/cancel", role: "publisher", status: 404},
		{name: "cancel by a reporter", method: "POST", path: alerts + "/alr_missing/cancel", role: "reporter", status: 403},

		// Subscriptions.
		{name: "webhook ftp", method: "POST", path: subs, body: with(sub, webhook("ftp://example.org/hook")), status: 400, field: "channel.url"},
		{name: "webhook loopback", method: "POST", path: subs, body: with(sub, webhook("http://127.0.0.1/hook")), status: 400, field: "channel.url"},
		{name: "webhook loopback with port", method: "POST", path: subs, body: with(sub, webhook("http://127.0.0.1:8080/hook")), status: 400, field: "channel.url"},
		{name: "webhook private", method: "POST", path: subs, body: with(sub, webhook("http://10.0.0.1/hook")), status: 400, field: "channel.url"},
		{name: "webhook private 192.168", method: "POST", path: subs, body: with(sub, webhook("https://192.168.1.1/hook")), status: 400, field: "channel.url"},
		{name: "webhook link-local metadata", method: "POST", path: subs, body: with(sub, webhook("http://169.254.169.254/latest/meta-data")), status: 400, field: "channel.url"},
		{name: "webhook IPv6 loopback", method: "POST", path: subs, body: with(sub, webhook("http://[::1]/")), status: 400, field: "channel.url"},
		{name: "webhook IPv4-mapped loopback", method: "POST", path: subs, body: with(sub, webhook("http://[::ffff:127.0.0.1]/")), status: 400, field: "channel.url"},
		{name: "webhook localhost", method: "POST", path: subs, body: with(sub, webhook("http://localhost/")), status: 400, field: "channel.url"},
		{name: "webhook without scheme", method: "POST", path: subs, body: with(sub, webhook("example.org/hook")), status: 400, field: "channel.url"},
		{name: "webhook with password", method: "POST", path: subs, body: with(sub, webhook("https://u:p@203.0.113.10/")), status: 400, field: "channel.url"},
		{name: "webhook without URL", method: "POST", path: subs, body: with(sub, webhook("")), status: 400, field: "channel.url"},
		{name: "channel sms", method: "POST", path: subs, body: with(sub, set("channel", map[string]any{"type": "sms", "url": "https://203.0.113.10/"})), status: 400, field: "channel.type"},
		{name: "subscription lat 91", method: "POST", path: subs, body: with(sub, subCircle(91, 0, 3)), status: 400, field: "area.circle"},
		{name: "subscription lon -181", method: "POST", path: subs, body: with(sub, subCircle(0, -181, 3)), status: 400, field: "area.circle"},
		{name: "subscription radius 0", method: "POST", path: subs, body: with(sub, subCircle(40, -105, 0)), status: 400, field: "area.circle"},
		{name: "subscription radius -1", method: "POST", path: subs, body: with(sub, subCircle(40, -105, -1)), status: 400, field: "area.circle"},
		{name: "subscription radius 1000.01", method: "POST", path: subs, body: with(sub, subCircle(40, -105, 1000.01)), status: 400, field: "area.circle"},
		{name: "subscription polygon not closed", method: "POST", path: subs, body: with(sub, subPolygon(openPolygon)), status: 400, field: "area.polygon"},
		{name: "subscription polygon bow-tie", method: "POST", path: subs, body: with(sub, subPolygon(bowTie)), status: 400, field: "area.polygon"},
		{name: "subscription polygon 1001 vertices", method: "POST", path: subs, body: with(sub, subPolygon(ring(1001, 40, -105, 0.1))), status: 400, field: "area.polygon"},
		{name: "subscription without area", method: "POST", path: subs, body: with(sub, set("area", map[string]any{})), status: 400, field: "area"},
		{name: "subscription without languages", method: "POST", path: subs, body: with(sub, set("languages", []string{})), status: 400, field: "languages"},
		{name: "subscription bad language", method: "POST", path: subs, body: with(sub, set("languages", []string{"en", "1"})), status: 400, field: "languages[1]"},
		{name: "subscription min_severity Bad", method: "POST", path: subs, body: with(sub, set("min_severity", "Bad")), status: 400, field: "min_severity"},
		{name: "subscription category Weather", method: "POST", path: subs, body: with(sub, set("categories", []string{"Weather"})), status: 400, field: "categories[0]"},
		{name: "subscription unknown field", method: "POST", path: subs, body: with(sub, set("email", "a@example.org")), status: 400, field: "email"},
		{name: "subscription unknown area field", method: "POST", path: subs, body: with(sub, set("area", map[string]any{"square": 1})), status: 400, field: "square"},
		{name: "subscription malformed JSON", method: "POST", path: subs, body: `{"area": {"circle": {"lat": 40,}}}`, status: 400},
		{name: "subscription trailing garbage", method: "POST", path: subs, body: jsonText(sub) + `null`, status: 400},
		{name: "subscription over 64 KiB", method: "POST", path: subs, body: oversized(sub), status: 413},

		// Incident decisions.
		{name: "verify unknown field", method: "POST", path: "/api/v1/incidents/" + rep.IncidentID + "/verify", role: "verifier", body: `{"reason":"x"}`, status: 400, field: "reason"},
		{name: "verify malformed", method: "POST", path: "/api/v1/incidents/" + rep.IncidentID + "/verify", role: "verifier", body: `{"note":`, status: 400},
		{name: "verify note too long", method: "POST", path: "/api/v1/incidents/" + rep.IncidentID + "/verify", role: "verifier", body: with(map[string]any{}, set("note", strings.Repeat("n", 2001))), status: 400, field: "note"},
		{name: "verify as reporter", method: "POST", path: "/api/v1/incidents/" + rep.IncidentID + "/verify", role: "reporter", status: 403},
		{name: "verify anonymously", method: "POST", path: "/api/v1/incidents/" + rep.IncidentID + "/verify", status: 401},
		{name: "incidents unknown state", method: "GET", path: "/api/v1/incidents?state=closed", role: "verifier", status: 400, field: "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.Rows(t)
			var list alertList
			ts.MustDo(t, Request{Method: "GET", Path: alerts + "?state=published", Token: ts.Tokens["admin"]}, http.StatusOK, &list)
			req := Request{Method: tt.method, Path: tt.path, Body: tt.body, ContentType: tt.ctype, Auth: tt.auth, Header: tt.header}
			if tt.role != "" {
				req.Token = ts.Tokens[tt.role]
			}
			resp := ts.Do(t, req)
			wantProblem(t, resp, tt.status, tt.field)
			if tt.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if after := ts.Rows(t); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("rows went from %v to %v; want nothing written", before, after)
			}
			var again alertList
			ts.MustDo(t, Request{Method: "GET", Path: alerts + "?state=published", Token: ts.Tokens["admin"]}, http.StatusOK, &again)
			if again.Total != list.Total {
				t.Errorf("published alerts went from %d to %d; want no change", list.Total, again.Total)
			}
		})
	}
}

// TestServer_Boundaries checks that the limits themselves are accepted: a
// body of exactly 64 KiB, a radius of 1,000 km, a polygon of 1,000 vertices,
// coordinates at ±90 and ±180.
func TestServer_Boundaries(t *testing.T) {
	ts := MustOpenServer(t)
	body := jsonText(reportBody())
	padded := body + strings.Repeat(" ", 64<<10-len(body))
	if len(padded) != 64<<10 {
		t.Fatalf("padded body is %d bytes", len(padded))
	}
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: padded}, http.StatusCreated, nil)
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/reports", Body: padded + " "}), http.StatusRequestEntityTooLarge, "")

	for _, p := range [][2]float64{{90, 180}, {-90, -180}} {
		ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: with(reportBody(), func(m map[string]any) { m["lat"], m["lon"] = p[0], p[1] })}, http.StatusCreated, nil)
	}
	alert := alertBody("Moderate", 40, -105)
	ts.MustCreateAlert(t, ts.Tokens["publisher"], with(alert, areaCircle(40, -105, 1000)))
	ts.MustCreateAlert(t, ts.Tokens["publisher"], with(alert, areaPolygon(ring(1000, 40, -105, 0.1))))
	ts.MustCreateAlert(t, ts.Tokens["publisher"], with(alert, info0("category", []string{"Fire", "Met"})))
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/subscriptions", Body: with(subscriptionBody(40, -105, 1), subPolygon(ring(1000, 40, -105, 0.1)))}, http.StatusCreated, nil)
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/subscriptions", Body: subscriptionBody(40, -105, 1000)}, http.StatusCreated, nil)
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts?lat=90&lon=180&radius_km=1000"}, http.StatusOK, nil)
}
