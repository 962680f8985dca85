package cap

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// TestMarshalSchemaValid writes every sample alert and holds it to the CAP
// 1.2 schema with xmllint, then reads it back with Parse.
func TestMarshalSchemaValid(t *testing.T) {
	for _, c := range sampleAlerts() {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Marshal(c.a, ExportOptions{LookupReference: lookupSample, SenderName: "Denver Community Alerts & Co."})
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if ok, out := xmllintValid(t, doc); !ok {
				t.Fatalf("xmllint rejects the export:\n%s\n%s", out, doc)
			}
			got, err := Parse(doc)
			if err != nil {
				t.Fatalf("Parse of our own export: %v\n%s", err, doc)
			}
			want := *c.a
			want.References = nil
			for _, r := range c.a.References {
				if !strings.Contains(r, ",") {
					sender, sent, _ := lookupSample(r)
					r = Reference{Sender: sender, Identifier: r, Sent: sent}.String()
				}
				want.References = append(want.References, r)
			}
			sameKept(t, got, &want)
		})
	}
}

// betweenTags matches the indentation between elements.
var betweenTags = regexp.MustCompile(`>\n *<`)

// TestMarshalText checks the exact forms CAP prescribes.
func TestMarshalText(t *testing.T) {
	tests := []struct {
		name string
		edit func(a *tocsin.Alert)
		want []string // substrings of the document
		not  []string
	}{
		{"UTC is -00:00", func(a *tocsin.Alert) {},
			[]string{"<sent>2025-03-14T09:26:53-00:00</sent>", "<expires>2025-03-14T15:26:53-00:00</expires>"}, []string{"Z<", "+00:00"}},
		{"offset kept", func(a *tocsin.Alert) { a.Sent = t0.In(kolkata) },
			[]string{"<sent>2025-03-14T14:56:53+05:30</sent>"}, nil},
		{"fraction dropped", func(a *tocsin.Alert) { a.Sent = t0.Add(987654321 * time.Nanosecond).In(denver) },
			[]string{"<sent>2025-03-14T02:26:53-07:00</sent>"}, []string{".98"}},
		{"local mean time written as UTC", func(a *tocsin.Alert) {
			a.Sent = time.Date(1901, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 1172))
		}, []string{"<sent>1900-12-31T23:40:28-00:00</sent>"}, nil},
		{"references as triples", func(a *tocsin.Alert) {
			a.MsgType = "Update"
			a.References = []string{"alr_0a1b2c3d4e5f6g7h8j9k0m1n2p", "nws@weather.example,X1,2025-03-14T03:00:00-06:00"}
		}, []string{"<references>alerts@tocsin.example,alr_0a1b2c3d4e5f6g7h8j9k0m1n2p,2025-03-14T09:26:53-00:00 nws@weather.example,X1,2025-03-14T03:00:00-06:00</references>"}, nil},
		{"circle lat,lon radius", func(a *tocsin.Alert) {}, []string{"<circle>39.7392,-104.9903 5</circle>"}, nil},
		{"polygon closed lat,lon pairs", func(a *tocsin.Alert) { a.Areas[0].Circle, a.Areas[0].Polygon = nil, downtown },
			[]string{"<polygon>39.76,-105.01 39.73,-105.01 39.73,-104.97 39.76,-104.97 39.76,-105.01</polygon>"}, nil},
		{"tiny numbers in plain decimal", func(a *tocsin.Alert) { a.Areas[0].Circle = &geo.Circle{Lat: 1e-7, Lon: -2.5e-6, RadiusKM: 0.001} },
			[]string{"<circle>0.0000001,-0.0000025 0.001</circle>"}, []string{"e-"}},
		{"geocodes sorted, one per value", func(a *tocsin.Alert) {
			a.Areas[0].Geocodes = map[string]string{"UGC": "COZ039 COZ040", "SAME": "008031"}
		},
			[]string{"<valueName>SAME</valueName><value>008031</value></geocode><geocode><valueName>UGC</valueName><value>COZ039</value></geocode><geocode><valueName>UGC</valueName><value>COZ040</value>"}, nil},
		{"areas in every info", func(a *tocsin.Alert) {
			a.Infos = append(a.Infos, a.Infos[0])
			a.Infos[1].Language = "fr"
		}, []string{"<language>fr</language>"}, nil},
		{"provenance parameter", func(a *tocsin.Alert) {},
			[]string{"<parameter><valueName>tocsin:provenance</valueName><value>human</value></parameter>"}, nil},
		{"escaping", func(a *tocsin.Alert) { a.Infos[0].Headline = "A & B <c> \"d\" 'e'" },
			[]string{"<headline>A &amp; B &lt;c&gt; \"d\" 'e'</headline>"}, nil},
		{"CR LF as LF", func(a *tocsin.Alert) { a.Infos[0].Description = "a\r\nb\rc" },
			[]string{"<description>a\nb\nc</description>"}, []string{"\r", "&#xD;"}},
		{"characters XML cannot carry", func(a *tocsin.Alert) { a.Infos[0].Headline = "bell\x07 nul\x00 bad\xff" },
			[]string{"<headline>bell\uFFFD nul\uFFFD bad\uFFFD</headline>"}, nil},
		{"no empty optional elements", func(a *tocsin.Alert) {
			a.Infos[0].Description, a.Infos[0].Instruction, a.Infos[0].Expires = "", "", nil
		},
			nil, []string{"<description>", "<instruction>", "<expires>"}},
		{"empty language left to the schema default", func(a *tocsin.Alert) { a.Infos[0].Language = "" }, nil, []string{"<language>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sampleAlert()
			tt.edit(a)
			b, err := Marshal(a, ExportOptions{LookupReference: lookupSample})
			if err != nil {
				t.Fatal(err)
			}
			doc := betweenTags.ReplaceAllString(string(b), "><")
			for _, w := range tt.want {
				if !strings.Contains(doc, w) {
					t.Errorf("missing %q in\n%s", w, doc)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(doc, n) {
					t.Errorf("unexpected %q in\n%s", n, doc)
				}
			}
			if ok, out := xmllintValid(t, b); !ok {
				t.Errorf("xmllint: %s", out)
			}
		})
	}
}

// TestMarshalErrors checks that Marshal refuses what would not be valid CAP.
func TestMarshalErrors(t *testing.T) {
	lookupFails := errors.New("store is down")
	tests := []struct {
		name  string
		edit  func(a *tocsin.Alert)
		opt   ExportOptions
		field string // the EINVALID field, or "" for a wrapped error
		cause error
	}{
		{"id with space", func(a *tocsin.Alert) { a.ID = "alr 1" }, ExportOptions{}, "id", nil},
		{"id with comma", func(a *tocsin.Alert) { a.ID = "alr,1" }, ExportOptions{}, "id", nil},
		{"id with <", func(a *tocsin.Alert) { a.ID = "alr<1" }, ExportOptions{}, "id", nil},
		{"id with &", func(a *tocsin.Alert) { a.ID = "alr&1" }, ExportOptions{}, "id", nil},
		{"empty id", func(a *tocsin.Alert) { a.ID = "" }, ExportOptions{}, "id", nil},
		{"sender with space", func(a *tocsin.Alert) { a.Sender = "Denver alerts" }, ExportOptions{}, "sender", nil},
		{"sender with newline", func(a *tocsin.Alert) { a.Sender = "a\nb" }, ExportOptions{}, "sender", nil},
		{"unset sent", func(a *tocsin.Alert) { a.Sent = time.Time{} }, ExportOptions{}, "sent", nil},
		{"status", func(a *tocsin.Alert) { a.Status = "Real" }, ExportOptions{}, "status", nil},
		{"msgType", func(a *tocsin.Alert) { a.MsgType = "alert" }, ExportOptions{}, "msg_type", nil},
		{"scope", func(a *tocsin.Alert) { a.Scope = "" }, ExportOptions{}, "scope", nil},
		{"language", func(a *tocsin.Alert) { a.Infos[0].Language = "en_US" }, ExportOptions{}, "infos[0].language", nil},
		{"no category", func(a *tocsin.Alert) { a.Infos[0].Category = nil }, ExportOptions{}, "infos[0].category", nil},
		{"bad category", func(a *tocsin.Alert) { a.Infos[0].Category = tocsin.CategoryList{"Met", "Weather"} }, ExportOptions{}, "infos[0].category", nil},
		{"urgency", func(a *tocsin.Alert) { a.Infos[0].Urgency = "Now" }, ExportOptions{}, "infos[0].urgency", nil},
		{"severity", func(a *tocsin.Alert) { a.Infos[0].Severity = "" }, ExportOptions{}, "infos[0].severity", nil},
		{"certainty", func(a *tocsin.Alert) { a.Infos[0].Certainty = "Sure" }, ExportOptions{}, "infos[0].certainty", nil},
		{"unset expires", func(a *tocsin.Alert) { a.Infos[0].Expires = &time.Time{} }, ExportOptions{}, "infos[0].expires", nil},
		{"open polygon", func(a *tocsin.Alert) { a.Areas[0].Polygon = downtown[:4] }, ExportOptions{}, "areas[0].polygon", nil},
		{"short polygon", func(a *tocsin.Alert) { a.Areas[0].Polygon = poly(1, 1, 1, 2, 1, 1) }, ExportOptions{}, "areas[0].polygon", nil},
		{"polygon out of range", func(a *tocsin.Alert) {
			a.Areas[0].Polygon = poly(91, 1, 1, 2, 2, 2, 91, 1)
		}, ExportOptions{}, "areas[0].polygon", nil},
		{"zero radius", func(a *tocsin.Alert) { a.Areas[0].Circle.RadiusKM = 0 }, ExportOptions{}, "areas[0].circle", nil},
		{"NaN radius", func(a *tocsin.Alert) { a.Areas[0].Circle.RadiusKM = math.NaN() }, ExportOptions{}, "areas[0].circle", nil},
		{"infinite radius", func(a *tocsin.Alert) { a.Areas[0].Circle.RadiusKM = math.Inf(1) }, ExportOptions{}, "areas[0].circle", nil},
		{"centre out of range", func(a *tocsin.Alert) { a.Areas[0].Circle.Lon = 181 }, ExportOptions{}, "areas[0].circle", nil},
		{"bad reference triple", func(a *tocsin.Alert) { a.References = []string{"a,b"} }, ExportOptions{}, "references", nil},
		{"reference triple with bad time", func(a *tocsin.Alert) { a.References = []string{"a,b,2025-03-14T09:26:53Z"} }, ExportOptions{}, "references", nil},
		{"reference without lookup", func(a *tocsin.Alert) { a.References = []string{"alr_x"} }, ExportOptions{}, "", nil},
		{"reference lookup fails", func(a *tocsin.Alert) { a.References = []string{"alr_x"} },
			ExportOptions{LookupReference: func(string) (string, time.Time, error) { return "", time.Time{}, lookupFails }}, "", lookupFails},
		{"referenced sender with comma", func(a *tocsin.Alert) { a.References = []string{"alr_x"} },
			ExportOptions{LookupReference: func(string) (string, time.Time, error) { return "a,b", t0, nil }}, "references", nil},
		{"referenced alert never sent", func(a *tocsin.Alert) { a.References = []string{"alr_x"} },
			ExportOptions{LookupReference: func(string) (string, time.Time, error) { return "a", time.Time{}, nil }}, "references", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sampleAlert()
			tt.edit(a)
			b, err := Marshal(a, tt.opt)
			if err == nil {
				t.Fatalf("Marshal succeeded:\n%s", b)
			}
			if tt.field == "" {
				if tocsin.ErrorCode(err) != tocsin.EINTERNAL {
					t.Errorf("code %q, want a plain wrapped error: %v", tocsin.ErrorCode(err), err)
				}
				if tt.cause != nil && !errors.Is(err, tt.cause) {
					t.Errorf("%v does not wrap %v", err, tt.cause)
				}
				return
			}
			if tocsin.ErrorCode(err) != tocsin.EINVALID {
				t.Fatalf("code %q, want EINVALID: %v", tocsin.ErrorCode(err), err)
			}
			if f := tocsin.ErrorFields(err); len(f) != 1 || f[0].Field != tt.field {
				t.Errorf("fields %v, want %s", f, tt.field)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		in      time.Time
		want    string
		wantErr bool
	}{
		{t0, "2025-03-14T09:26:53-00:00", false},
		{t0.In(time.FixedZone("", 0)), "2025-03-14T09:26:53-00:00", false},
		{t0.In(denver), "2025-03-14T02:26:53-07:00", false},
		{t0.In(kolkata), "2025-03-14T14:56:53+05:30", false},
		{t0.In(time.FixedZone("", 14*3600)), "2025-03-14T23:26:53+14:00", false},
		{t0.In(time.FixedZone("", 15*3600)), "2025-03-14T09:26:53-00:00", false}, // beyond ±14:00: UTC
		{time.Date(9999, 12, 31, 23, 59, 59, 999, time.UTC), "9999-12-31T23:59:59-00:00", false},
		{time.Time{}, "", true},
		{time.Date(1899, 12, 31, 23, 59, 59, 0, time.UTC), "", true},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "", true},
	}
	for _, tt := range tests {
		got, err := formatTime(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("formatTime(%v) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			back, err := parseDateTime(got)
			if err != nil || !back.Equal(tt.in.Truncate(time.Second)) {
				t.Errorf("parseDateTime(%q) = %v, %v", got, back, err)
			}
		}
	}
}
