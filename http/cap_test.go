package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/cap"
	tocsinhttp "github.com/tocsin/tocsin/http"
	"github.com/tocsin/tocsin/sqlite"
)

// The CAP tests hold tocsin to tools it did not write: xmllint (Debian
// libxml2-utils) validates against ../shared/standards/cap-1.2.xsd and
// xmlsec1 verifies signatures with the certificate the server publishes.

// testSigners are made once per test binary: RSA key generation is slow on
// a busy machine. a is the network's, b a partner's, c a stranger's.
var testSigners struct {
	sync.Once
	a, b, c *cap.Signer
	err     error
}

func signers(tb testing.TB) (network, partner, stranger *cap.Signer) {
	tb.Helper()
	testSigners.Do(func() {
		dir, err := os.MkdirTemp("", "tocsin-http-signers-")
		if err != nil {
			testSigners.err = err
			return
		}
		defer os.RemoveAll(dir) // the signers are in memory once loaded
		for i, s := range []**cap.Signer{&testSigners.a, &testSigners.b, &testSigners.c} {
			if *s, err = cap.LoadOrCreateSigner(filepath.Join(dir, fmt.Sprint(i))); err != nil {
				testSigners.err = err
				return
			}
		}
	})
	if testSigners.err != nil {
		tb.Fatal(testSigners.err)
	}
	return testSigners.a, testSigners.b, testSigners.c
}

// MustOpenCAPServer is MustOpenServer with the network's signer.
func MustOpenCAPServer(tb testing.TB) *TestServer {
	tb.Helper()
	network, _, _ := signers(tb)
	return MustOpenServer(tb, func(s *tocsinhttp.Server) { s.Signer = network })
}

func mustTool(tb testing.TB, name, debianPackage string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s is not installed; run scripts/install-test-deps %s", name, debianPackage)
	}
	return p
}

func capXSD(tb testing.TB) string {
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

// wantSchemaValid fails the test unless xmllint finds doc valid CAP 1.2.
func wantSchemaValid(tb testing.TB, doc []byte) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "alert.xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(mustTool(tb, "xmllint", "libxml2-utils"), "--noout", "--nonet", "--schema", capXSD(tb), path).CombinedOutput()
	if err != nil {
		tb.Errorf("xmllint: %v\n%s\ndocument:\n%s", err, out, doc)
	}
}

// wantSignatureValid fails the test unless xmlsec1 verifies doc's
// signature with certPEM as the one trusted certificate, over the whole
// document.
func wantSignatureValid(tb testing.TB, doc, certPEM []byte) {
	tb.Helper()
	dir := tb.TempDir()
	docPath, certPath := filepath.Join(dir, "signed.xml"), filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(docPath, doc, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(mustTool(tb, "xmlsec1", "xmlsec1"), "--verify", "--trusted-pem", certPath, "--enabled-reference-uris", "empty", docPath).CombinedOutput()
	if err != nil {
		tb.Errorf("xmlsec1 does not verify the signature: %v\n%s", err, out)
	}
}

// capFields reads the top-level fields of a CAP document.
type capFields struct {
	Identifier string   `xml:"identifier"`
	Sender     string   `xml:"sender"`
	Sent       string   `xml:"sent"`
	Status     string   `xml:"status"`
	MsgType    string   `xml:"msgType"`
	References string   `xml:"references"`
	Languages  []string `xml:"info>language"`
	Headlines  []string `xml:"info>headline"`
	Areas      []struct {
		Desc     string   `xml:"areaDesc"`
		Polygon  []string `xml:"polygon"`
		Circle   []string `xml:"circle"`
		Geocodes []struct {
			Name  string `xml:"valueName"`
			Value string `xml:"value"`
		} `xml:"geocode"`
	} `xml:"info>area"`
}

// mustGetCAP fetches a CAP document, checks its media type, schema and
// signature, and returns it with its fields.
func (ts *TestServer) mustGetCAP(tb testing.TB, path, token string) ([]byte, capFields) {
	tb.Helper()
	resp := ts.MustDo(tb, Request{Method: "GET", Path: path, Token: token}, http.StatusOK, nil)
	if ct := resp.Header.Get("Content-Type"); ct != "application/cap+xml" {
		tb.Errorf("GET %s: Content-Type %q; want application/cap+xml", path, ct)
	}
	wantSchemaValid(tb, resp.Body)
	cert := ts.MustDo(tb, Request{Method: "GET", Path: "/api/v1/cap/certificate.pem"}, http.StatusOK, nil).Body
	wantSignatureValid(tb, resp.Body, cert)
	var f capFields
	if err := xml.Unmarshal(resp.Body, &f); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	return resp.Body, f
}

// mustPartner registers a partner directly in the store and returns its token.
func (ts *TestServer) mustPartner(tb testing.TB, name, sender string, policy tocsin.PublishPolicy, cert *cap.Signer) string {
	tb.Helper()
	p := &tocsin.Partner{Name: name, Sender: sender, Publish: policy}
	if cert != nil {
		p.CertificatePEM = string(cert.CertificatePEM())
	}
	token, err := sqlite.NewPartnerService(ts.DB).CreatePartner(context.Background(), p)
	if err != nil {
		tb.Fatal(err)
	}
	return token
}

const envCanada = "cap-pac@canada.ca"

// capDoc returns an English and French CAP message from sender, sent an
// hour ago in Ottawa's offset and expiring in six hours, for a polygon and
// a circle around Denver (where the tests' subscriptions are).
func capDoc(sender, identifier, msgType string, refs ...string) string {
	sent := time.Now().Add(-time.Hour).In(time.FixedZone("EST", -5*3600)).Truncate(time.Second)
	return capDocAt(sender, identifier, msgType, sent, refs...)
}

func capDocAt(sender, identifier, msgType string, sent time.Time, refs ...string) string {
	ts := func(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") }
	var r string
	if len(refs) > 0 {
		r = "\n  <references>" + strings.Join(refs, " ") + "</references>"
	}
	info := func(lang, event, headline string) string {
		return `
  <info>
    <language>` + lang + `</language>
    <category>Met</category>
    <event>` + event + `</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <expires>` + ts(sent.Add(7*time.Hour)) + `</expires>
    <headline>` + headline + `</headline>
    <area>
      <areaDesc>Downtown Denver</areaDesc>
      <polygon>39.76,-105.01 39.73,-105.01 39.73,-104.97 39.76,-104.97 39.76,-105.01</polygon>
      <circle>39.7392,-104.9903 5</circle>
      <geocode><valueName>SAME</valueName><value>008031</value></geocode>
    </area>
  </info>`
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>` + identifier + `</identifier>
  <sender>` + sender + `</sender>
  <sent>` + ts(sent) + `</sent>
  <status>Actual</status>
  <msgType>` + msgType + `</msgType>
  <scope>Public</scope>` + r +
		info("en-CA", "snowfall", "Snowfall warning "+identifier) +
		info("fr-CA", "neige", "Avertissement de neige "+identifier) + `
</alert>
`
}

// capRef is the CAP reference to a message made by capDoc at sent.
func capRef(sender, identifier string, sent time.Time) string {
	return sender + "," + identifier + "," + sent.Format("2006-01-02T15:04:05-07:00")
}

// postCAP posts a CAP document as token.
func (ts *TestServer) postCAP(tb testing.TB, token string, doc string) *Response {
	tb.Helper()
	return ts.Do(tb, Request{Method: "POST", Path: "/api/v1/cap", Token: token, Body: doc, ContentType: "application/cap+xml"})
}

// importAnswer is the answer to POST /api/v1/cap.
type importAnswer struct {
	Alert               tocsin.Alert `json:"alert"`
	Duplicate           bool         `json:"duplicate"`
	UnmatchedReferences []string     `json:"unmatched_references"`
}

func decodeImport(tb testing.TB, resp *Response, want int) importAnswer {
	tb.Helper()
	if resp.Status != want {
		tb.Fatalf("POST /api/v1/cap: status %d; want %d. Body: %s", resp.Status, want, resp.Body)
	}
	var a importAnswer
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestServer_CAPExport(t *testing.T) {
	ts := MustOpenCAPServer(t)
	pub := ts.Tokens["publisher"]
	body := alertBody("Moderate", 39.7392, -104.9903)
	body["areas"] = []any{
		map[string]any{"description": "Downtown", "polygon": [][2]float64{{39.76, -105.01}, {39.73, -105.01}, {39.73, -104.97}, {39.76, -104.97}, {39.76, -105.01}},
			"geocodes": map[string]string{"SAME": "008031", "UGC": "COZ039 COZ040"}},
		map[string]any{"description": "Cherry Creek", "circle": map[string]any{"lat": 39.7169, "lon": -104.9536, "radius_km": 1.5}},
	}
	first := ts.MustCreateAlert(t, pub, body)
	update := with(alertBody("Moderate", 39.7392, -104.9903), func(m map[string]any) {
		m["msg_type"], m["references"] = "Update", []string{first.ID}
	})
	upd := ts.MustCreateAlert(t, pub, update)
	var cancel tocsin.Alert
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/alerts/" + upd.ID + "/cancel", Token: pub}, http.StatusCreated, &cancel)
	exercise := ts.MustCreateAlert(t, pub, with(alertBody("Minor", 39.7, -105), func(m map[string]any) { m["status"] = "Exercise" }))

	_, f := ts.mustGetCAP(t, "/api/v1/alerts/"+first.ID+"/cap.xml", "")
	if f.Identifier != first.ID || f.Sender != "tocsin" || !strings.HasSuffix(f.Sent, "-00:00") || len(f.Languages) != 2 {
		t.Errorf("alert = %+v; want its ID, sender tocsin, sent in -00:00, two infos", f)
	}
	if len(f.Areas) != 4 || len(f.Areas[0].Polygon) != 1 || len(f.Areas[1].Circle) != 1 || len(f.Areas[0].Geocodes) != 3 {
		t.Errorf("areas = %+v; want a polygon with three geocodes (SAME, and UGC's two values) and a circle, in each info", f.Areas)
	}
	if f.Areas[1].Circle[0] != "39.7169,-104.9536 1.5" {
		t.Errorf("circle %q; want lat,lon radius_km", f.Areas[1].Circle[0])
	}
	_, f = ts.mustGetCAP(t, "/api/v1/alerts/"+upd.ID+"/cap.xml", "")
	if want := "tocsin," + first.ID + "," + first.Sent.UTC().Format("2006-01-02T15:04:05") + "-00:00"; f.MsgType != "Update" || f.References != want {
		t.Errorf("update references %q; want %q", f.References, want)
	}
	doc, f := ts.mustGetCAP(t, "/api/v1/alerts/"+cancel.ID+"/cap.xml", "")
	if f.MsgType != "Cancel" || !strings.Contains(f.References, ","+upd.ID+",") {
		t.Errorf("cancel = %+v; want a Cancel referencing %s", f, upd.ID)
	}
	if _, f = ts.mustGetCAP(t, "/api/v1/alerts/"+exercise.ID+"/cap.xml", ""); f.Status != "Exercise" {
		t.Errorf("status %q; want Exercise carried through", f.Status)
	}

	// The same document under its CAP identity, and 304 for a copy that is current.
	again, _ := ts.mustGetCAP(t, "/api/v1/cap/tocsin/"+cancel.ID+".xml", "")
	if !bytes.Equal(doc, again) {
		t.Error("the document by CAP identity differs from the one by tocsin ID")
	}
	resp := ts.Do(t, Request{Method: "GET", Path: "/api/v1/alerts/" + cancel.ID + "/cap.xml"})
	if etag := resp.Header.Get("ETag"); etag == "" ||
		ts.Do(t, Request{Method: "GET", Path: "/api/v1/alerts/" + cancel.ID + "/cap.xml", Header: map[string]string{"If-None-Match": etag}}).Status != http.StatusNotModified {
		t.Errorf("cap.xml ETag %q; want one that a conditional GET answers 304", etag)
	}

	// A pending alert is the publishers' alone.
	pending := ts.MustCreateAlert(t, pub, alertBody("Severe", 39.7, -105))
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/alerts/" + pending.ID + "/cap.xml"}), http.StatusNotFound, "")
	ts.mustGetCAP(t, "/api/v1/alerts/"+pending.ID+"/cap.xml", pub)
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/alerts/alr_nope/cap.xml"}), http.StatusNotFound, "")
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/cap/tocsin/" + first.ID + ".json"}), http.StatusNotFound, "")

	network, _, _ := signers(t)
	cert := ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/cap/certificate.pem"}, http.StatusOK, nil)
	if !bytes.Equal(cert.Body, network.CertificatePEM()) || cert.Header.Get("Content-Type") != "application/x-pem-file" {
		t.Errorf("certificate.pem = %q (%s); want the signer's certificate", cert.Body, cert.Header.Get("Content-Type"))
	}
}

func TestServer_CAPImport(t *testing.T) {
	ts := MustOpenCAPServer(t)
	partner := ts.mustPartner(t, "Environment Canada", envCanada, tocsin.PublishDirect, nil)
	sent := time.Now().Add(-time.Hour).In(time.FixedZone("EST", -5*3600)).Truncate(time.Second)

	resp := ts.postCAP(t, partner, capDocAt(envCanada, "ec-1", "Alert", sent))
	got := decodeImport(t, resp, http.StatusCreated)
	a := got.Alert
	if a.State != tocsin.AlertPublished || a.Source == nil || a.Source.Kind != tocsin.SourcePartner || a.Source.Name != "Environment Canada" ||
		a.Source.Identifier != "ec-1" || got.Duplicate || resp.Header.Get("Location") != "/api/v1/alerts/"+a.ID || a.AuthorID != 0 {
		t.Fatalf("import = %+v, Location %s; want a published alert marked with its partner", got, resp.Header.Get("Location"))
	}
	// A partner's token does nothing but post CAP.
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/reports", Token: partner,
		Body: map[string]any{"lat": 39.74, "lon": -104.99, "category": "Met", "text": "flooding"}}, http.StatusForbidden, nil)
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts", Token: partner}, http.StatusForbidden, nil)
	var list alertList
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts?lat=39.74&lon=-104.99"}, http.StatusOK, &list)
	if len(list.Alerts) != 1 || list.Alerts[0].ID != a.ID || list.Alerts[0].Source == nil {
		t.Errorf("active alerts = %v; want the import with its source", alertIDs(list))
	}
	_, f := ts.mustGetCAP(t, "/api/v1/cap/"+envCanada+"/ec-1.xml", "")
	if f.Identifier != "ec-1" || f.Sender != envCanada || f.Sent != sent.Format("2006-01-02T15:04:05-07:00") {
		t.Errorf("exported import = %+v; want the partner's identifier, sender and sent with its offset", f)
	}

	// Idempotent: the same message is 200 with what was stored.
	dup := decodeImport(t, ts.postCAP(t, partner, capDocAt(envCanada, "ec-1", "Alert", sent)), http.StatusOK)
	if !dup.Duplicate || dup.Alert.ID != a.ID {
		t.Errorf("repeat = %+v; want a duplicate of %s", dup, a.ID)
	}
	// The identifier again with another time: 409.
	p := wantProblem(t, ts.postCAP(t, partner, capDocAt(envCanada, "ec-1", "Alert", sent.Add(time.Minute))), http.StatusConflict, "identifier")
	if !strings.Contains(p.Detail, "ec-1") {
		t.Errorf("conflict detail %q does not name the identifier", p.Detail)
	}

	// An Update applies to what it references, and reports what it cannot find.
	upd := decodeImport(t, ts.postCAP(t, partner, capDoc(envCanada, "ec-2", "Update", capRef(envCanada, "ec-1", sent), capRef(envCanada, "ec-0", sent))), http.StatusCreated)
	if len(upd.UnmatchedReferences) != 1 || upd.UnmatchedReferences[0] != capRef(envCanada, "ec-0", sent) || len(upd.Alert.References) != 1 || upd.Alert.References[0] != a.ID {
		t.Errorf("update = %+v; want ec-1 applied and ec-0 reported", upd)
	}
	var old tocsin.Alert
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/alerts/" + a.ID}, http.StatusOK, &old)
	if old.State != tocsin.AlertSuperseded {
		t.Errorf("updated alert is %s; want superseded", old.State)
	}

	// A Cancel of an alert not received: kept, listed for admins, not sent.
	cancel := decodeImport(t, ts.postCAP(t, partner, capDoc(envCanada, "ec-9", "Cancel", capRef(envCanada, "ec-8", sent))), http.StatusCreated)
	if cancel.Alert.State != tocsin.AlertUnmatched || len(cancel.UnmatchedReferences) != 1 {
		t.Errorf("early cancel = %+v; want unmatched", cancel)
	}
	var unmatched struct {
		Alerts []tocsin.UnmatchedAlert `json:"alerts"`
		Total  int                     `json:"total"`
	}
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/cap/unmatched", Token: ts.Tokens["admin"]}, http.StatusOK, &unmatched)
	if unmatched.Total != 2 {
		t.Errorf("unmatched = %+v; want the update (ec-0) and the cancel (ec-8)", unmatched)
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/cap/unmatched", Token: ts.Tokens["publisher"]}), http.StatusForbidden, "")
	late := decodeImport(t, ts.postCAP(t, partner, capDocAt(envCanada, "ec-8", "Alert", sent)), http.StatusCreated)
	if late.Alert.State != tocsin.AlertCancelled || late.Alert.PublishedAt != nil {
		t.Errorf("late alert = %s; want cancelled and never published", late.Alert.State)
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/cap/" + envCanada + "/ec-8.xml"}), http.StatusNotFound, "")

	// Identifiers with slashes (URNs and paths have them) are found, escaped or not.
	slashed := decodeImport(t, ts.postCAP(t, partner, capDoc(envCanada, "urn:ec/2026/7", "Alert")), http.StatusCreated)
	for _, path := range []string{"/api/v1/cap/" + envCanada + "/urn:ec/2026/7.xml", "/api/v1/cap/" + envCanada + "/urn:ec%2F2026%2F7.xml"} {
		if _, f := ts.mustGetCAP(t, path, ""); f.Identifier != "urn:ec/2026/7" {
			t.Errorf("GET %s = identifier %q; want %s's", path, f.Identifier, slashed.Alert.ID)
		}
	}

	// A partner that publishes on review.
	review := ts.mustPartner(t, "County OEM", "oem@county.example", tocsin.PublishReview, nil)
	queued := decodeImport(t, ts.postCAP(t, review, capDoc("oem@county.example", "oem-1", "Alert")), http.StatusCreated)
	if queued.Alert.State != tocsin.AlertPendingApproval {
		t.Errorf("review partner's alert is %s; want pending_approval", queued.Alert.State)
	}
	var approved tocsin.Alert
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/alerts/" + queued.Alert.ID + "/approve", Token: ts.Tokens["publisher"]}, http.StatusOK, &approved)

	var partners struct{ Partners []tocsin.Partner }
	ts.MustDo(t, Request{Method: "GET", Path: "/api/v1/partners", Token: ts.Tokens["admin"]}, http.StatusOK, &partners)
	if len(partners.Partners) != 2 {
		t.Errorf("partners = %+v; want 2", partners)
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/api/v1/partners", Token: partner}), http.StatusForbidden, "")
}

// hostileCases are CAP bodies the import must refuse with a 4xx naming a
// line or field, storing nothing.
func hostileCases(tb testing.TB) []struct {
	name, body, contentType string
	status                  int
} {
	tb.Helper()
	type c = struct {
		name, body, contentType string
		status                  int
	}
	var cases []c
	for _, dir := range []string{"hostile", "invalid", "refused"} {
		files, err := filepath.Glob(filepath.Join("..", "cap", "testdata", dir, "*.xml"))
		if err != nil || len(files) == 0 {
			tb.Fatalf("no test documents in cap/testdata/%s: %v", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			cases = append(cases, c{dir + "/" + filepath.Base(f), string(b), "application/cap+xml", http.StatusBadRequest})
		}
	}
	good := capDoc(envCanada, "ec-h", "Alert")
	replace := func(old, new string) string {
		if !strings.Contains(good, old) {
			tb.Fatalf("the test document has no %q", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	cases = append(cases,
		c{"XXE in the identifier", replace(`<alert xmlns`, `<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><alert xmlns`), "application/cap+xml", 400},
		c{"internal DTD", replace(`<alert xmlns`, `<!DOCTYPE alert [<!ELEMENT alert ANY>]><alert xmlns`), "application/cap+xml", 400},
		c{"entity expansion", replace(`<alert xmlns`, `<!DOCTYPE alert [<!ENTITY a "aaaaaaaaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><alert xmlns`), "application/cap+xml", 400},
		c{"oversized", replace(`<headline>`, `<headline>`+strings.Repeat("x", cap.MaxDocumentSize)), "application/cap+xml", 413},
		c{"latitude out of range", replace(`39.76,-105.01 39.73`, `91.5,-105.01 39.73`), "application/cap+xml", 400},
		c{"longitude out of range", replace(`<circle>39.7392,-104.9903 5</circle>`, `<circle>39.7392,-184.99 5</circle>`), "application/cap+xml", 400},
		c{"polygon not closed", replace(`39.76,-104.97 39.76,-105.01</polygon>`, `39.76,-104.97 39.75,-105.0</polygon>`), "application/cap+xml", 400},
		c{"radius zero", replace(`-104.9903 5</circle>`, `-104.9903 0</circle>`), "application/cap+xml", 400},
		c{"schema: unknown urgency", replace(`<urgency>Expected</urgency>`, `<urgency>Soon</urgency>`), "application/cap+xml", 400},
		c{"schema: element out of order", replace(`<status>Actual</status>`, `<scope>Public</scope><status>Actual</status>`), "application/cap+xml", 400},
		c{"Ack", replace(`<msgType>Alert</msgType>`, `<msgType>Ack</msgType>`), "application/cap+xml", 400},
		c{"System", replace(`<status>Actual</status>`, `<status>System</status>`), "application/cap+xml", 400},
		c{"geocodes only, no zone", replace(`<polygon>39.76,-105.01 39.73,-105.01 39.73,-104.97 39.76,-104.97 39.76,-105.01</polygon>
      <circle>39.7392,-104.9903 5</circle>`, ``), "application/cap+xml", 400},
		c{"JSON, not CAP", `{"identifier": "x"}`, "application/json", 400},
		c{"empty", ``, "application/cap+xml", 400},
	)
	return cases
}

func TestServer_CAPImportHostile(t *testing.T) {
	ts := MustOpenCAPServer(t)
	partner := ts.mustPartner(t, "Environment Canada", envCanada, tocsin.PublishDirect, nil)
	before := ts.Rows(t)
	for _, tt := range hostileCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			resp := ts.Do(t, Request{Method: "POST", Path: "/api/v1/cap", Token: partner, Body: tt.body, ContentType: tt.contentType})
			p := wantProblem(t, resp, tt.status, "")
			if tt.status == http.StatusBadRequest && tt.contentType == "application/cap+xml" && tt.body != "" {
				if len(p.Errors) == 0 || p.Errors[0].Field == "" {
					t.Errorf("problem %+v names no line or field", p)
				}
				if !strings.Contains(p.Detail, "line ") && !strings.Contains(p.Errors[0].Field, "area") && p.Errors[0].Field != "msgType" && p.Errors[0].Field != "status" {
					t.Errorf("detail %q names no line", p.Detail)
				}
			}
		})
	}
	if after := ts.Rows(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rows after refused imports %v; before %v: something was stored", after, before)
	}
}

func TestServer_CAPImportSignatures(t *testing.T) {
	ts := MustOpenCAPServer(t)
	_, partnerKey, stranger := signers(t)
	signing := ts.mustPartner(t, "NWS", "w-nws.webmaster@noaa.gov", tocsin.PublishDirect, partnerKey)
	sign := func(s *cap.Signer, doc string) string {
		t.Helper()
		b, err := s.Sign([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := ts.Rows(t)
	tampered := strings.Replace(sign(partnerKey, capDoc("w-nws.webmaster@noaa.gov", "nws-2", "Alert")), "Snowfall warning", "All clear", 1)
	for _, tt := range []struct{ name, doc string }{
		{"unsigned", capDoc("w-nws.webmaster@noaa.gov", "nws-1", "Alert")},
		{"signed by a stranger", sign(stranger, capDoc("w-nws.webmaster@noaa.gov", "nws-1", "Alert"))},
		{"signed by this network", sign(testSigners.a, capDoc("w-nws.webmaster@noaa.gov", "nws-1", "Alert"))},
		{"changed after signing", tampered},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, ts.postCAP(t, signing, tt.doc), http.StatusForbidden, "signature")
		})
	}
	wantProblem(t, ts.postCAP(t, signing, sign(partnerKey, capDoc("someone@else.example", "x-1", "Alert"))), http.StatusForbidden, "sender")
	wantProblem(t, ts.postCAP(t, ts.Tokens["publisher"], capDoc(envCanada, "p-1", "Alert")), http.StatusForbidden, "")
	wantProblem(t, ts.postCAP(t, ts.Tokens["admin"], capDoc(envCanada, "p-1", "Alert")), http.StatusForbidden, "")
	wantProblem(t, ts.postCAP(t, "", capDoc(envCanada, "p-1", "Alert")), http.StatusUnauthorized, "")
	if after := ts.Rows(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rows after refused imports %v; before %v: something was stored", after, before)
	}
	// Signed with the partner's key: taken, and re-signed by this network on export.
	got := decodeImport(t, ts.postCAP(t, signing, sign(partnerKey, capDoc("w-nws.webmaster@noaa.gov", "nws-3", "Alert"))), http.StatusCreated)
	if got.Alert.State != tocsin.AlertPublished {
		t.Errorf("signed import is %s; want published", got.Alert.State)
	}
	ts.mustGetCAP(t, "/api/v1/alerts/"+got.Alert.ID+"/cap.xml", "")

	// A partner without a certificate cannot post as another partner.
	plain := ts.mustPartner(t, "Environment Canada", envCanada, tocsin.PublishDirect, nil)
	wantProblem(t, ts.postCAP(t, plain, capDoc("w-nws.webmaster@noaa.gov", "nws-4", "Alert")), http.StatusForbidden, "sender")
}

// testFeed is an Atom feed as a reader sees it.
type testFeed struct {
	Updated string `xml:"http://www.w3.org/2005/Atom updated"`
	Entries []struct {
		ID        string `xml:"http://www.w3.org/2005/Atom id"`
		Title     string `xml:"http://www.w3.org/2005/Atom title"`
		Updated   string `xml:"http://www.w3.org/2005/Atom updated"`
		Published string `xml:"http://www.w3.org/2005/Atom published"`
		Links     []struct {
			Rel  string `xml:"rel,attr"`
			Type string `xml:"type,attr"`
			Href string `xml:"href,attr"`
		} `xml:"http://www.w3.org/2005/Atom link"`
	} `xml:"http://www.w3.org/2005/Atom entry"`
}

func (ts *TestServer) mustAtom(tb testing.TB, path string) (testFeed, *Response) {
	tb.Helper()
	resp := ts.MustDo(tb, Request{Method: "GET", Path: path}, http.StatusOK, nil)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
		tb.Errorf("Content-Type %q; want application/atom+xml", ct)
	}
	d := xml.NewDecoder(bytes.NewReader(resp.Body))
	d.Strict = true
	var f testFeed
	if err := d.Decode(&f); err != nil {
		tb.Fatalf("the Atom feed does not parse: %v\n%s", err, resp.Body)
	}
	for _, s := range append([]string{f.Updated}, func() []string {
		var out []string
		for _, e := range f.Entries {
			out = append(out, e.Updated, e.Published)
		}
		return out
	}()...) {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			tb.Errorf("date %q is not RFC 3339", s)
		}
	}
	return f, resp
}

func TestServer_Feeds(t *testing.T) {
	ts := MustOpenCAPServer(t)
	pub := ts.Tokens["publisher"]
	actual := ts.MustCreateAlert(t, pub, alertBody("Moderate", 39.7392, -104.9903))
	ts.MustCreateAlert(t, pub, with(alertBody("Moderate", 39.7, -105), func(m map[string]any) { m["status"] = "Exercise" }))
	ts.MustCreateAlert(t, pub, with(alertBody("Moderate", 39.7, -105), func(m map[string]any) { m["scope"] = "Restricted" }))
	ts.MustCreateAlert(t, pub, alertBody("Extreme", 39.7, -105)) // pending
	partner := ts.mustPartner(t, "Environment Canada", envCanada, tocsin.PublishDirect, nil)
	imported := decodeImport(t, ts.postCAP(t, partner, capDoc(envCanada, "ec-feed", "Alert")), http.StatusCreated).Alert

	f, resp := ts.mustAtom(t, "/feeds/alerts.atom")
	if len(f.Entries) != 2 {
		t.Fatalf("feed has %d entries; want the 2 Actual, Public, published alerts", len(f.Entries))
	}
	for _, e := range f.Entries {
		var capLink string
		for _, l := range e.Links {
			if l.Type == "application/cap+xml" {
				capLink = l.Href
			}
		}
		if !strings.HasPrefix(capLink, ts.URL()+"/api/v1/alerts/") {
			t.Fatalf("entry %s links %q; want a CAP document on this server", e.ID, capLink)
		}
		ts.mustGetCAP(t, strings.TrimPrefix(capLink, ts.URL()), "")
	}
	etag, modified := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" || modified == "" {
		t.Fatalf("ETag %q, Last-Modified %q; want both", etag, modified)
	}
	for _, h := range []map[string]string{{"If-None-Match": etag}, {"If-Modified-Since": modified}} {
		if r := ts.Do(t, Request{Method: "GET", Path: "/feeds/alerts.atom", Header: h}); r.Status != http.StatusNotModified || len(r.Body) != 0 {
			t.Errorf("conditional GET with %v: %d; want 304", h, r.Status)
		}
	}

	// A cancellation changes the feed; the cancelled alert and the Cancel
	// stay in Atom (for FeedRetention), and leave GeoJSON.
	var cancel tocsin.Alert
	ts.MustDo(t, Request{Method: "POST", Path: "/api/v1/alerts/" + actual.ID + "/cancel", Token: pub}, http.StatusCreated, &cancel)
	if r := ts.Do(t, Request{Method: "GET", Path: "/feeds/alerts.atom", Header: map[string]string{"If-None-Match": etag}}); r.Status != http.StatusOK || r.Header.Get("ETag") == etag {
		t.Errorf("after a cancel, conditional GET: %d, ETag %s; want 200 and a new ETag", r.Status, r.Header.Get("ETag"))
	}
	if f, _ = ts.mustAtom(t, "/feeds/alerts.atom"); len(f.Entries) != 3 {
		t.Errorf("feed after cancel has %d entries; want the import, the cancelled alert and its Cancel", len(f.Entries))
	}

	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			ID         string `json:"id"`
			Geometry   struct{ Type string }
			Properties struct {
				ID, Headline, Language string
			}
		} `json:"features"`
	}
	for _, tt := range []struct {
		query, headline string
	}{
		{"", "Snowfall warning ec-feed"},
		{"?lang=fr", "Avertissement de neige ec-feed"},
		{"?lang=de,fr-CA", "Avertissement de neige ec-feed"},
		{"?lang=es", "Snowfall warning ec-feed"}, // not there: the first info
	} {
		r := ts.MustDo(t, Request{Method: "GET", Path: "/feeds/alerts.geojson" + tt.query}, http.StatusOK, nil)
		if ct := r.Header.Get("Content-Type"); ct != "application/geo+json" || r.Header.Get("ETag") == "" {
			t.Errorf("GeoJSON Content-Type %q, ETag %q", ct, r.Header.Get("ETag"))
		}
		if err := json.Unmarshal(r.Body, &fc); err != nil {
			t.Fatal(err)
		}
		if fc.Type != "FeatureCollection" || len(fc.Features) != 2 || fc.Features[0].Properties.ID != imported.ID {
			t.Fatalf("GeoJSON = %+v; want the import's two areas only", fc)
		}
		if got := fc.Features[0].Properties.Headline; got != tt.headline || fc.Features[0].Geometry.Type != "Polygon" {
			t.Errorf("GeoJSON%s headline %q (%s); want %q", tt.query, got, fc.Features[0].Geometry.Type, tt.headline)
		}
	}
	wantProblem(t, ts.Do(t, Request{Method: "GET", Path: "/feeds/alerts.geojson?lang=not+a+language!"}), http.StatusBadRequest, "lang")
	g := ts.MustDo(t, Request{Method: "GET", Path: "/feeds/alerts.geojson?lang=fr"}, http.StatusOK, nil)
	if r := ts.Do(t, Request{Method: "GET", Path: "/feeds/alerts.geojson?lang=fr", Header: map[string]string{"If-None-Match": g.Header.Get("ETag")}}); r.Status != http.StatusNotModified {
		t.Errorf("GeoJSON conditional GET: %d; want 304", r.Status)
	}
}
