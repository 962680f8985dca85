package cap

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// The tests check this package against tools we did not write: xmllint
// (Debian libxml2-utils) for the CAP schema, and xmlsec1 (Debian xmlsec1)
// for XML Signatures. A missing tool or schema fails the tests; CI installs
// them with scripts/install-test-deps libxml2-utils xmlsec1.

// xsdPath returns the CAP 1.2 schema, ../shared/standards/cap-1.2.xsd from
// the module root, or $TOCSIN_CAP_XSD.
func xsdPath(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv("TOCSIN_CAP_XSD")
	if p == "" {
		p = filepath.Join("..", "..", "shared", "standards", "cap-1.2.xsd")
	}
	abs, err := filepath.Abs(p)
	if err == nil {
		_, err = os.Stat(abs)
	}
	if err != nil {
		tb.Fatalf("CAP 1.2 schema not found (%v): it belongs at ../shared/standards/cap-1.2.xsd beside the module, or set TOCSIN_CAP_XSD", err)
	}
	return abs
}

// mustTool returns the path of a command the tests need.
func mustTool(tb testing.TB, name, debianPackage string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s is not installed; run scripts/install-test-deps %s", name, debianPackage)
	}
	return p
}

// writeTemp writes data to a new file in a test folder and returns its path.
func writeTemp(tb testing.TB, name string, data []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// xmllintValid reports whether xmllint finds doc valid against the CAP 1.2
// schema, with what it said.
func xmllintValid(tb testing.TB, doc []byte) (bool, string) {
	tb.Helper()
	xmllint := mustTool(tb, "xmllint", "libxml2-utils")
	xsd := xsdPath(tb)
	out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, writeTemp(tb, "doc.xml", doc)).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, string(out)
	case errors.As(err, &ee) && (ee.ExitCode() == 1 || ee.ExitCode() == 3 || ee.ExitCode() == 4):
		// 1: not well-formed, 3 and 4: not valid.
		return false, string(out)
	}
	tb.Fatalf("xmllint: %v\n%s", err, out)
	return false, ""
}

// xmlsec1Verify reports whether xmlsec1 verifies the enveloped signature of
// doc with certPEM as the one trusted certificate, with what it said.
func xmlsec1Verify(tb testing.TB, doc, certPEM []byte) (bool, string) {
	tb.Helper()
	xmlsec1 := mustTool(tb, "xmlsec1", "xmlsec1")
	dir := tb.TempDir()
	docPath, certPath := filepath.Join(dir, "signed.xml"), filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(docPath, doc, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		tb.Fatal(err)
	}
	// --trusted-pem: the certificate in KeyInfo must be this one;
	// --enabled-reference-uris empty: the signature must cover the whole
	// document (URI=""), nothing fetched or looked up by ID.
	out, err := exec.Command(xmlsec1, "--verify", "--trusted-pem", certPath,
		"--enabled-reference-uris", "empty", docPath).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, string(out)
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false, string(out)
	}
	tb.Fatalf("xmlsec1: %v\n%s", err, out)
	return false, ""
}

// poly returns the polygon of the given latitude, longitude pairs.
func poly(latlon ...float64) geo.Polygon {
	p := make(geo.Polygon, len(latlon)/2)
	for i := range p {
		p[i] = geo.Point{Lat: latlon[2*i], Lon: latlon[2*i+1]}
	}
	return p
}

func ptime(t time.Time) *time.Time { return &t }

var (
	t0       = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	denver   = time.FixedZone("MST", -7*3600)
	kolkata  = time.FixedZone("IST", 5*3600+30*60)
	downtown = poly(39.76, -105.01, 39.73, -105.01, 39.73, -104.97, 39.76, -104.97, 39.76, -105.01)
)

// sampleAlert is a published English flood alert with a circle.
func sampleAlert() *tocsin.Alert {
	return &tocsin.Alert{
		ID: "alr_0a1b2c3d4e5f6g7h8j9k0m1n2p", Sender: "alerts@tocsin.example",
		Sent: t0, Status: "Actual", MsgType: "Alert", Scope: "Public",
		State: tocsin.AlertPublished,
		Infos: []tocsin.Info{{
			Language: "en", Category: tocsin.CategoryList{"Met"}, Event: "Flash flood",
			Urgency: "Immediate", Severity: "Severe", Certainty: "Observed",
			Headline:    "Flash flooding downtown",
			Description: "Water is over the road on Colfax Avenue.",
			Instruction: "Move to higher ground. Do not drive through water.",
			Expires:     ptime(t0.Add(6 * time.Hour)), Provenance: "human",
		}},
		Areas: []tocsin.Area{{Description: "Downtown Denver", Circle: &geo.Circle{Lat: 39.7392, Lon: -104.9903, RadiusKM: 5}}},
	}
}

// alertCase is a named alert for table tests.
type alertCase struct {
	name string
	a    *tocsin.Alert
}

// sampleAlerts are the varied alerts every export test writes: updates and
// cancels with references, exercises and tests, several languages and
// scripts, every kind of area, no expiry, several categories, and text
// that XML must escape.
func sampleAlerts() []alertCase {
	var cases []alertCase
	add := func(name string, edit func(a *tocsin.Alert)) {
		a := sampleAlert()
		edit(a)
		cases = append(cases, alertCase{name, a})
	}
	add("plain", func(a *tocsin.Alert) {})
	add("update", func(a *tocsin.Alert) {
		a.ID, a.MsgType, a.References = "alr_update1", "Update", []string{"alr_0a1b2c3d4e5f6g7h8j9k0m1n2p"}
		a.Sent = t0.Add(time.Hour).In(denver)
	})
	add("cancel with two references", func(a *tocsin.Alert) {
		a.ID, a.MsgType = "alr_cancel1", "Cancel"
		a.References = []string{"alr_0a1b2c3d4e5f6g7h8j9k0m1n2p", "nws@weather.example,urn:oid:2.49.0.1.840.0.abc,2025-03-14T03:00:00-06:00"}
		a.Infos[0].Headline, a.Infos[0].Urgency, a.Infos[0].Certainty = "All clear: flooding has ended", "Past", "Observed"
		a.Areas = nil
	})
	add("cancel without info", func(a *tocsin.Alert) {
		a.ID, a.MsgType, a.References, a.Infos, a.Areas = "alr_cancel2", "Cancel", []string{"alr_0a1b2c3d4e5f6g7h8j9k0m1n2p"}, nil, nil
	})
	add("exercise", func(a *tocsin.Alert) { a.Status = "Exercise"; a.Infos[0].Headline = "EXERCISE EXERCISE EXERCISE" })
	add("test restricted", func(a *tocsin.Alert) { a.Status, a.Scope = "Test", "Restricted" })
	add("no expiry, several categories", func(a *tocsin.Alert) {
		a.Infos[0].Expires = nil
		a.Infos[0].Category = tocsin.CategoryList{"Met", "Safety", "Transport", "Infra"}
	})
	add("circle polygon and geocodes", func(a *tocsin.Alert) {
		a.Areas = []tocsin.Area{
			{Description: "Downtown", Polygon: downtown, Geocodes: map[string]string{"UGC": "COZ039 COZ040", "SAME": "008031"}},
			{Description: "Cherry Creek", Circle: &geo.Circle{Lat: 39.7169, Lon: -104.9536, RadiusKM: 1.5}},
			{Description: "Denver County", Geocodes: map[string]string{"FIPS6": "008031"}},
		}
	})
	add("offsets", func(a *tocsin.Alert) {
		a.Sent = t0.In(kolkata)
		a.Infos[0].Expires = ptime(t0.Add(2 * time.Hour).In(denver))
	})
	add("escaping and scripts", func(a *tocsin.Alert) {
		a.Infos[0].Headline = `Flood & "mud" <slide> at O'Brien's ]]> yard`
		a.Infos[0].Description = "Line one\r\nLine two\rLine three\n\ttabbed & <b>not bold</b>"
		a.Infos = append(a.Infos,
			tocsin.Info{Language: "ar", Category: tocsin.CategoryList{"Met"}, Event: "فيضان مفاجئ", Urgency: "Immediate", Severity: "Severe", Certainty: "Observed",
				Headline: "فيضانات مفاجئة في وسط المدينة", Description: "المياه فوق الطريق", Provenance: "machine:mt:en-ar"},
			tocsin.Info{Language: "zh-Hans", Category: tocsin.CategoryList{"Met"}, Event: "山洪", Urgency: "Immediate", Severity: "Severe", Certainty: "Observed",
				Headline: "市中心突发洪水 🌊", Provenance: "template:flood@3"},
			tocsin.Info{Language: "ru", Category: tocsin.CategoryList{"Met"}, Event: "Внезапное наводнение", Urgency: "Immediate", Severity: "Severe", Certainty: "Observed",
				Headline: "Наводнение в центре", Instruction: "Поднимитесь выше.", Provenance: "human"},
			tocsin.Info{Language: "hi", Category: tocsin.CategoryList{"Met"}, Event: "अचानक बाढ़", Urgency: "Immediate", Severity: "Severe", Certainty: "Observed",
				Headline: "शहर में अचानक बाढ़"},
		)
	})
	add("bilingual missing person", func(a *tocsin.Alert) {
		a.Infos = []tocsin.Info{
			{Language: "en-US", Category: tocsin.CategoryList{"Rescue", "Safety"}, Event: "Missing person", Urgency: "Immediate", Severity: "Moderate", Certainty: "Likely",
				Headline: "Missing: Ana Ruiz, 9", Instruction: "If you see her call 555-0100. Do not approach.", Provenance: "human"},
			{Language: "es-US", Category: tocsin.CategoryList{"Rescue", "Safety"}, Event: "Persona desaparecida", Urgency: "Immediate", Severity: "Moderate", Certainty: "Likely",
				Headline: "Desaparecida: Ana Ruiz, 9", Instruction: "Si la ve, llame al 555-0100. No se acerque.", Provenance: "human"},
		}
	})
	return cases
}

// lookupSample resolves the references of the sample alerts.
func lookupSample(id string) (string, time.Time, error) {
	if id == "alr_0a1b2c3d4e5f6g7h8j9k0m1n2p" {
		return "alerts@tocsin.example", t0, nil
	}
	return "", time.Time{}, tocsin.Errorf(tocsin.ENOTFOUND, "alert %s not found", id)
}

// keptFields returns the parts of a that survive Marshal then Parse, in a
// form reflect.DeepEqual can compare: times as their CAP text, empty lists
// as nil.
func keptFields(tb testing.TB, a *tocsin.Alert) map[string]any {
	tb.Helper()
	ft := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		s, err := formatTime(*t)
		if err != nil {
			return "bad time " + err.Error()
		}
		return s
	}
	m := map[string]any{
		"id": a.ID, "sender": a.Sender, "sent": ft(&a.Sent),
		"status": a.Status, "msgType": a.MsgType, "scope": a.Scope,
		"references": strings.Join(a.References, " "),
	}
	var infos []map[string]any
	for _, in := range a.Infos {
		infos = append(infos, map[string]any{
			"language": in.Language, "category": []tocsin.Category(in.Category), "event": normText(in.Event),
			"urgency": in.Urgency, "severity": in.Severity, "certainty": in.Certainty,
			"headline": normText(in.Headline), "description": normText(in.Description), "instruction": normText(in.Instruction),
			"expires": ft(in.Expires), "provenance": normText(in.Provenance),
		})
	}
	m["infos"] = infos
	var areas []map[string]any
	if len(a.Infos) > 0 {
		for _, ar := range a.Areas {
			g := ar.Geocodes
			if len(g) == 0 {
				g = nil
			}
			var poly geo.Polygon
			if len(ar.Polygon) > 0 {
				poly = ar.Polygon
			}
			areas = append(areas, map[string]any{"description": normText(ar.Description), "circle": ar.Circle, "polygon": poly, "geocodes": g})
		}
	}
	m["areas"] = areas
	return m
}

// sameKept fails tb unless got and want agree on every field CAP carries.
func sameKept(tb testing.TB, got, want *tocsin.Alert) {
	tb.Helper()
	g, w := keptFields(tb, got), keptFields(tb, want)
	if !reflect.DeepEqual(g, w) {
		for k := range w {
			if !reflect.DeepEqual(g[k], w[k]) {
				tb.Errorf("%s:\n got %#v\nwant %#v", k, g[k], w[k])
			}
		}
	}
}
