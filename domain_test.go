package tocsin_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

func validAlert() *tocsin.Alert {
	exp := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	return &tocsin.Alert{
		Status: "Actual", MsgType: "Alert", Scope: "Public", Sent: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC),
		Infos: []tocsin.Info{
			{Language: "en", Category: tocsin.CategoryList{"Met"}, Event: "Flood", Urgency: "Immediate", Severity: "Severe", Certainty: "Observed", Headline: "Flood", Expires: &exp},
			{Language: "es-MX", Category: tocsin.CategoryList{"Met"}, Event: "Inundación", Urgency: "Immediate", Severity: "Severe", Certainty: "Observed", Headline: "Inundación"},
		},
		Areas: []tocsin.Area{{Description: "Downtown", Circle: &geo.Circle{Lat: 39.74, Lon: -104.99, RadiusKM: 2}}},
	}
}

func TestAlertValidate(t *testing.T) {
	if err := validAlert().Validate(); err != nil {
		t.Fatalf("valid alert: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(a *tocsin.Alert)
		field string
	}{
		{"unknown status", func(a *tocsin.Alert) { a.Status = "Real" }, "status"},
		{"draft status", func(a *tocsin.Alert) { a.Status = "Draft" }, "status"},
		{"unknown msg type", func(a *tocsin.Alert) { a.MsgType = "Ping" }, "msg_type"},
		{"update without references", func(a *tocsin.Alert) { a.MsgType = "Update" }, "references"},
		{"alert with references", func(a *tocsin.Alert) { a.References = []string{"alr_x"} }, "references"},
		{"no infos", func(a *tocsin.Alert) { a.Infos = nil }, "infos"},
		{"bad language", func(a *tocsin.Alert) { a.Infos[0].Language = "english!" }, "infos[0].language"},
		{"duplicate language", func(a *tocsin.Alert) { a.Infos[1].Language = "EN" }, "infos[1].language"},
		{"unknown category", func(a *tocsin.Alert) { a.Infos[0].Category = tocsin.CategoryList{"Weather"} }, "infos[0].category"},
		{"unknown severity", func(a *tocsin.Alert) { a.Infos[1].Severity = "Bad" }, "infos[1].severity"},
		{"unknown urgency", func(a *tocsin.Alert) { a.Infos[0].Urgency = "Now" }, "infos[0].urgency"},
		{"unknown certainty", func(a *tocsin.Alert) { a.Infos[0].Certainty = "Sure" }, "infos[0].certainty"},
		{"empty headline", func(a *tocsin.Alert) { a.Infos[0].Headline = "  " }, "infos[0].headline"},
		{"long headline", func(a *tocsin.Alert) { a.Infos[0].Headline = strings.Repeat("x", 161) }, "infos[0].headline"},
		{"expires before sent", func(a *tocsin.Alert) { e := a.Sent.Add(-time.Hour); a.Infos[0].Expires = &e }, "infos[0].expires"},
		{"no areas", func(a *tocsin.Alert) { a.Areas = nil }, "areas"},
		{"area without shape", func(a *tocsin.Alert) { a.Areas[0].Circle = nil }, "areas[0].circle"},
		{"radius zero", func(a *tocsin.Alert) { a.Areas[0].Circle.RadiusKM = 0 }, "areas[0].circle"},
		{"radius too big", func(a *tocsin.Alert) { a.Areas[0].Circle.RadiusKM = 1000.01 }, "areas[0].circle"},
		{"latitude out of range", func(a *tocsin.Alert) { a.Areas[0].Circle.Lat = 91 }, "areas[0].circle"},
		{"polygon not closed", func(a *tocsin.Alert) {
			a.Areas[0].Circle = nil
			a.Areas[0].Polygon = geo.Polygon{{Lat: 1, Lon: 1}, {Lat: 1, Lon: 2}, {Lat: 2, Lon: 2}, {Lat: 2, Lon: 1}}
		}, "areas[0].polygon"},
		{"bad geocode", func(a *tocsin.Alert) { a.Areas[0].Geocodes = map[string]string{"SAME": "<x>"} }, "areas[0].geocodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAlert()
			tt.edit(a)
			err := a.Validate()
			if tocsin.ErrorCode(err) != tocsin.EINVALID {
				t.Fatalf("error %v, want invalid", err)
			}
			for _, f := range tocsin.ErrorFields(err) {
				if f.Field == tt.field {
					return
				}
			}
			t.Fatalf("fields %v do not name %s", tocsin.ErrorFields(err), tt.field)
		})
	}
}

func TestInfoFor(t *testing.T) {
	a := validAlert()
	tests := []struct {
		langs []string
		want  string
	}{
		{[]string{"es", "en"}, "es-MX"}, // base language matches a regional info
		{[]string{"en-GB"}, "en"},
		{[]string{"fr", "es-MX"}, "es-MX"},
		{[]string{"fr"}, "en"}, // none carried: the alert's first language
		{nil, "en"},
	}
	for _, tt := range tests {
		if got := a.InfoFor(tt.langs).Language; got != tt.want {
			t.Errorf("InfoFor(%v) = %s, want %s", tt.langs, got, tt.want)
		}
	}
	one := a.ForLanguage([]string{"es"})
	if len(one.Infos) != 1 || one.Language != "es-MX" || len(a.Infos) != 2 {
		t.Fatalf("ForLanguage: %+v (original now has %d infos)", one, len(a.Infos))
	}
}

func TestCategoryListJSON(t *testing.T) {
	var in struct{ C tocsin.CategoryList }
	for body, want := range map[string]int{`{"C":"Met"}`: 1, `{"C":["Met","Fire"]}`: 2} {
		if err := json.Unmarshal([]byte(body), &in); err != nil || len(in.C) != want {
			t.Fatalf("%s: %v %v", body, in.C, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"C":3}`), &in); err == nil {
		t.Fatal("a number is not a category")
	}
}

func TestRolesAndSeverity(t *testing.T) {
	if !tocsin.RoleAdmin.Includes(tocsin.RolePublisher) || tocsin.RoleVerifier.Includes(tocsin.RolePublisher) || tocsin.Role("x").Includes(tocsin.RoleReporter) {
		t.Fatal("role order is wrong")
	}
	if !tocsin.Severity("Extreme").Loud() || !tocsin.Severity("Severe").Loud() || tocsin.Severity("Moderate").Loud() {
		t.Fatal("only Severe and Extreme are loud")
	}
	sub := &tocsin.Subscription{State: tocsin.SubscriptionActive, MinSeverity: "Severe"}
	a := validAlert()
	if !sub.Wants(a) {
		t.Fatal("a Severe alert meets min_severity Severe")
	}
	a.Infos[0].Severity, a.Infos[1].Severity = "Moderate", "Minor"
	if sub.Wants(a) {
		t.Fatal("a Moderate alert is below min_severity Severe")
	}
	a.MsgType = "Cancel"
	if !sub.Wants(a) {
		t.Fatal("a Cancel reaches everyone whatever its severity")
	}
}
