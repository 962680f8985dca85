package main_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs a tocsin sub-command and returns what it wrote and its exit code.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("tocsin %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

func TestCLI_CAPHelp(t *testing.T) {
	for _, args := range [][]string{
		{"partner", "--help"}, {"partner", "add", "--help"}, {"cap", "--help"}, {"cap", "validate", "--help"}, {"cap", "verify-signature", "--help"},
	} {
		out, errs, code := runCLI(t, args...)
		if code != 0 || !strings.Contains(out+errs, "Usage") {
			t.Errorf("tocsin %s: exit %d, output %q; want usage and exit 0", strings.Join(args, " "), code, out+errs)
		}
	}
	if _, errs, code := runCLI(t, "cap", "frobnicate"); code != 2 || !strings.Contains(errs, "Usage") {
		t.Errorf("unknown cap sub-command: exit %d, %q; want 2 and usage", code, errs)
	}
	if _, _, code := runCLI(t, "serve", "--relay", "ftp://example.org/feed"); code != 2 {
		t.Errorf("serve --relay ftp://…: exit %d; want 2", code)
	}
}

func TestCLI_PartnerAndCAP(t *testing.T) {
	data := t.TempDir()
	certFile := filepath.Join(t.TempDir(), "partner.pem")

	// A partner registered without a certificate, then one with review.
	token, errs, code := runCLI(t, "partner", "add", "--data", data, "--name", "Environment Canada", "--sender", "cap-pac@canada.ca")
	token = strings.TrimSpace(token)
	if code != 0 || !strings.HasPrefix(token, "tcs_") || !strings.Contains(errs, "shown only now") {
		t.Fatalf("partner add: exit %d, token %q, %s", code, token, errs)
	}
	if _, errs, code := runCLI(t, "partner", "add", "--data", data, "--name", "Other", "--sender", "cap-pac@canada.ca"); code == 0 || !strings.Contains(errs, "already registered") {
		t.Errorf("second partner with the same sender: exit %d, %s", code, errs)
	}
	if _, errs, code := runCLI(t, "partner", "add", "--data", data, "--name", "X", "--sender", "x@example.org", "--publish", "maybe"); code == 0 || !strings.Contains(errs, "direct or review") {
		t.Errorf("--publish maybe: exit %d, %s", code, errs)
	}

	srv := startTocsin(t, data)
	// The network's certificate is in the data folder, and published.
	served := get(t, srv.URL+"/api/v1/cap/certificate.pem")
	onDisk, err := os.ReadFile(filepath.Join(data, "cap-signing-cert.pem"))
	if err != nil || !bytes.Equal(served, onDisk) {
		t.Fatalf("certificate.pem differs from the data folder's (%v)", err)
	}

	// The partner posts; its alert is exported signed; the operator checks both.
	doc := capDocFor("cap-pac@canada.ca", "ec-cli-1")
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/cap", strings.NewReader(doc))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/cap+xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST /api/v1/cap: %d %s", resp.StatusCode, body)
	}
	exported := filepath.Join(t.TempDir(), "exported.xml")
	if err := os.WriteFile(exported, get(t, srv.URL+"/api/v1/cap/cap-pac@canada.ca/ec-cli-1.xml"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errs, code := runCLI(t, "cap", "validate", exported); code != 0 || !strings.HasPrefix(out, "OK") {
		t.Errorf("cap validate: exit %d, %s%s", code, out, errs)
	}
	if out, errs, code := runCLI(t, "cap", "verify-signature", exported, "--data", data); code != 0 || !strings.HasPrefix(out, "OK") {
		t.Errorf("cap verify-signature --data: exit %d, %s%s", code, out, errs)
	}
	if out, errs, code := runCLI(t, "cap", "verify-signature", "--cert", filepath.Join(data, "cap-signing-cert.pem"), exported); code != 0 || !strings.HasPrefix(out, "OK") {
		t.Errorf("cap verify-signature --cert before FILE: exit %d, %s%s", code, out, errs)
	}

	// A changed document no longer verifies; an unsigned one is not signed.
	b, _ := os.ReadFile(exported)
	tampered := filepath.Join(t.TempDir(), "tampered.xml")
	os.WriteFile(tampered, bytes.Replace(b, []byte("Snowfall"), []byte("Sunshine"), 1), 0o644)
	if _, errs, code := runCLI(t, "cap", "verify-signature", tampered, "--data", data); code != 1 || !strings.Contains(errs, "does not verify") {
		t.Errorf("tampered: exit %d, %s; want 1 and why", code, errs)
	}
	unsigned := filepath.Join(t.TempDir(), "unsigned.xml")
	os.WriteFile(unsigned, []byte(doc), 0o644)
	if _, errs, code := runCLI(t, "cap", "verify-signature", unsigned, "--data", data); code != 1 || !strings.Contains(errs, "not signed") {
		t.Errorf("unsigned: exit %d, %s", code, errs)
	}
	// Another certificate: a partner's that signs.
	os.WriteFile(certFile, []byte(testCertificatePEM(t)), 0o644)
	if _, errs, code := runCLI(t, "cap", "verify-signature", exported, "--cert", certFile); code != 1 {
		t.Errorf("with a stranger's certificate: exit %d, %s; want 1", code, errs)
	}
	if _, errs, code := runCLI(t, "partner", "add", "--data", data, "--name", "NWS", "--sender", "w-nws.webmaster@noaa.gov", "--cert", certFile, "--publish", "review"); code != 0 || !strings.Contains(errs, "signatures required") {
		t.Errorf("partner add --cert --publish review: exit %d, %s", code, errs)
	}

	// validate names the line of what is wrong.
	bad := filepath.Join(t.TempDir(), "bad.xml")
	os.WriteFile(bad, []byte(strings.Replace(doc, "39.76,-105.01</polygon>", "39.75,-105.0</polygon>", 1)), 0o644)
	if _, errs, code := runCLI(t, "cap", "validate", bad); code != 1 || !strings.Contains(errs, "line ") || !strings.Contains(errs, "not closed") {
		t.Errorf("cap validate of an open polygon: exit %d, %q; want 1, the line and the reason", code, errs)
	}
	if _, _, code := runCLI(t, "cap", "validate"); code != 2 {
		t.Errorf("cap validate without FILE: exit %d; want 2", code)
	}
}

// get fetches a URL and returns its body, failing on anything but 200.
func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// capDocFor is a one-language CAP alert from sender, current for six hours.
func capDocFor(sender, identifier string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>` + identifier + `</identifier>
  <sender>` + sender + `</sender>
  <sent>` + capTime(sentAt.In(eastern)) + `</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>en-CA</language>
    <category>Met</category>
    <event>snowfall</event>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <expires>` + capTime(expires.In(eastern)) + `</expires>
    <headline>Snowfall warning</headline>
    <area>
      <areaDesc>Downtown Denver</areaDesc>
      <polygon>39.76,-105.01 39.73,-105.01 39.73,-104.97 39.76,-104.97 39.76,-105.01</polygon>
    </area>
  </info>
</alert>
`
}

// testCertificatePEM makes a certificate in a data folder of its own, as
// a partner running tocsin would have.
func testCertificatePEM(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, errs, code := runCLI(t, "cap", "verify-signature", "--data", dir, "nothing.xml"); code == 0 {
		t.Fatalf("verify-signature without a certificate succeeded: %s", errs)
	}
	// Starting a server makes the folder's key and certificate.
	p := startTocsin(t, dir)
	p.stop(t)
	b, err := os.ReadFile(filepath.Join(dir, "cap-signing-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
