package http_test

import (
	"net/http"
	"testing"

	"github.com/tocsin/tocsin"
)

func TestServer_MergeIncidents(t *testing.T) {
	ts := MustOpenServer(t)
	verifier := ts.Tokens["verifier"]
	// Two reports on the ridge (one anonymous, one by the reporter token:
	// two reporters), one 5 km north: two Fire incidents.
	var first, second, north, flood created
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: reportBody()}, http.StatusCreated, &first)
	near := reportBody()
	near["lat"] = 39.7400
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Token: ts.Tokens["reporter"], Body: near}, http.StatusCreated, &second)
	far := reportBody()
	far["lat"], far["text"] = 39.7842, "Flames from the north road"
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: far}, http.StatusCreated, &north)
	other := reportBody()
	other["lat"], other["category"] = 39.60, "Met"
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Body: other}, http.StatusCreated, &flood)
	if first.IncidentID != second.IncidentID || north.IncidentID == first.IncidentID {
		t.Fatalf("incidents %s %s %s; want the first two together and the north one apart", first.IncidentID, second.IncidentID, north.IncidentID)
	}
	a, b := first.IncidentID, north.IncidentID
	path := "/api/v1/incidents/" + b + "/merge"

	for _, tt := range []struct {
		name   string
		path   string
		token  string
		body   any
		status int
		field  string
	}{
		{"anonymous", path, "", map[string]string{"into": a}, http.StatusUnauthorized, ""},
		{"reporter", path, ts.Tokens["reporter"], map[string]string{"into": a}, http.StatusForbidden, ""},
		{"no body", path, verifier, "", http.StatusBadRequest, ""},
		{"no target", path, verifier, map[string]string{}, http.StatusBadRequest, "into"},
		{"into itself", path, verifier, map[string]string{"into": b}, http.StatusBadRequest, "into"},
		{"into an unknown incident", path, verifier, map[string]string{"into": "inc_missing"}, http.StatusBadRequest, "into"},
		{"an unknown incident", "/api/v1/incidents/inc_missing/merge", verifier, map[string]string{"into": a}, http.StatusNotFound, ""},
		{"across categories", path, verifier, map[string]string{"into": flood.IncidentID}, http.StatusConflict, "into"},
		{"an unknown field", path, verifier, map[string]string{"into": a, "target": a}, http.StatusBadRequest, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, ts.Do(t, Request{Method: "POST", Path: tt.path, Token: tt.token, Body: tt.body}), tt.status, tt.field)
		})
	}

	var got struct {
		Merged   *tocsin.Incident `json:"merged"`
		Incident *tocsin.Incident `json:"incident"`
	}
	ts.MustDo(t, Request{Method: "POST", Path: path, Token: verifier, Body: map[string]string{"into": a, "note": "same fire"}}, http.StatusOK, &got)
	if got.Merged == nil || got.Merged.ID != b || got.Merged.State != tocsin.IncidentMerged || got.Merged.MergedInto != a || got.Merged.Note != "same fire" {
		t.Errorf("merged = %+v; want %s merged into %s", got.Merged, b, a)
	}
	if got.Incident == nil || got.Incident.ID != a || got.Incident.ReportCount != 3 || got.Incident.ReporterCount != 2 {
		t.Errorf("incident = %+v; want %s with 3 reports by 2 reporters", got.Incident, a)
	}
	// Merging again is a conflict: the source is closed.
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: path, Token: verifier, Body: map[string]string{"into": a}}), http.StatusConflict, "")
	// Nor can anything merge into it.
	wantProblem(t, ts.Do(t, Request{Method: "POST", Path: "/api/v1/incidents/" + a + "/merge", Token: verifier, Body: map[string]string{"into": b}}), http.StatusConflict, "into")

	var detail struct {
		Incident *tocsin.Incident `json:"incident"`
		Reports  []*tocsin.Report `json:"reports"`
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/incidents/" + a, Token: verifier}, http.StatusOK, &detail)
	if len(detail.Reports) != 3 {
		t.Errorf("%s has %d reports; want 3", a, len(detail.Reports))
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/incidents/" + b, Token: verifier}, http.StatusOK, &detail)
	if detail.Incident.MergedInto != a || len(detail.Reports) != 0 {
		t.Errorf("%s: merged_into %q with %d reports; want %s and none", b, detail.Incident.MergedInto, len(detail.Reports), a)
	}

	// The queue's filters: open incidents, or a list of states.
	type list struct {
		Incidents []*tocsin.Incident `json:"incidents"`
		Total     int                `json:"total"`
	}
	ids := func(l list) map[string]bool {
		m := map[string]bool{}
		for _, i := range l.Incidents {
			m[i.ID] = true
		}
		return m
	}
	var open, some, merged list
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/incidents?state=open", Token: verifier}, http.StatusOK, &open)
	if m := ids(open); open.Total != 2 || !m[a] || !m[flood.IncidentID] || m[b] {
		t.Errorf("open incidents %v (total %d); want %s and %s", m, open.Total, a, flood.IncidentID)
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/incidents?state=corroborated,merged", Token: verifier}, http.StatusOK, &some)
	if m := ids(some); some.Total != 2 || !m[a] || !m[b] {
		t.Errorf("corroborated or merged incidents %v; want %s and %s", m, a, b)
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/incidents?state=merged", Token: verifier}, http.StatusOK, &merged)
	if m := ids(merged); merged.Total != 1 || !m[b] {
		t.Errorf("merged incidents %v; want %s", m, b)
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/incidents?state=open,closed", Token: verifier}), http.StatusBadRequest, "state")
}
