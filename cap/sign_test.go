package cap

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
)

// testSigners are made once: RSA key generation is slow on a busy machine.
var testSigners = struct {
	sync.Once
	dir  string // removed by TestMain
	a, b *Signer
	err  error
}{}

func TestMain(m *testing.M) {
	code := m.Run()
	if testSigners.dir != "" {
		os.RemoveAll(testSigners.dir)
	}
	os.Exit(code)
}

func signers(tb testing.TB) (*Signer, *Signer) {
	tb.Helper()
	testSigners.Do(func() {
		dir, err := os.MkdirTemp("", "cap-signers-")
		if err != nil {
			testSigners.err = err
			return
		}
		testSigners.dir = dir
		if testSigners.a, testSigners.err = LoadOrCreateSigner(filepath.Join(dir, "a")); testSigners.err != nil {
			return
		}
		testSigners.b, testSigners.err = LoadOrCreateSigner(filepath.Join(dir, "b"))
	})
	if testSigners.err != nil {
		tb.Fatal(testSigners.err)
	}
	return testSigners.a, testSigners.b
}

func TestLoadOrCreateSigner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")
	s, err := LoadOrCreateSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	keyPath, certPath := filepath.Join(dir, KeyFileName), filepath.Join(dir, CertificateFileName)
	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if m := mode(keyPath); m != 0o600 {
		t.Errorf("key file mode %#o, want 0600", m)
	}
	if m := mode(certPath); m != 0o644 {
		t.Errorf("certificate file mode %#o, want 0644", m)
	}
	if m := mode(dir); m != 0o700 {
		t.Errorf("folder mode %#o, want 0700", m)
	}
	certFile, _ := os.ReadFile(certPath)
	if !bytes.Equal(certFile, s.CertificatePEM()) {
		t.Error("the certificate file differs from CertificatePEM")
	}
	b, _ := pem.Decode(s.CertificatePEM())
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("CertificatePEM is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.PublicKeyAlgorithm != x509.RSA || cert.NotAfter.Before(time.Now().AddDate(9, 0, 0)) || !cert.Equal(s.Certificate()) {
		t.Errorf("certificate: %v, until %v", cert.PublicKeyAlgorithm, cert.NotAfter)
	}
	keyFile, _ := os.ReadFile(keyPath)

	t.Run("reused", func(t *testing.T) {
		again, err := LoadOrCreateSigner(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.CertificatePEM(), s.CertificatePEM()) {
			t.Error("a second load made a new certificate")
		}
		if now, _ := os.ReadFile(keyPath); !bytes.Equal(now, keyFile) {
			t.Error("the key file changed")
		}
	})
	t.Run("public copy rewritten", func(t *testing.T) {
		if err := os.Remove(certPath); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateSigner(dir); err != nil {
			t.Fatal(err)
		}
		if now, _ := os.ReadFile(certPath); !bytes.Equal(now, certFile) {
			t.Error("the certificate file was not restored")
		}
	})
	t.Run("key readable by others", func(t *testing.T) {
		if err := os.Chmod(keyPath, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(keyPath, 0o600)
		_, err := LoadOrCreateSigner(dir)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("damaged key file is never replaced", func(t *testing.T) {
		d := t.TempDir()
		p := filepath.Join(d, KeyFileName)
		damaged := keyFile[:len(keyFile)/2]
		if err := os.WriteFile(p, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateSigner(d); err == nil {
			t.Error("a damaged key file loaded")
		}
		if now, _ := os.ReadFile(p); !bytes.Equal(now, damaged) {
			t.Error("the damaged key file was replaced")
		}
	})
	t.Run("certificate for another key", func(t *testing.T) {
		_, other := signers(t)
		d := t.TempDir()
		key, _, _ := strings.Cut(string(keyFile), "-----BEGIN CERTIFICATE-----")
		if err := os.WriteFile(filepath.Join(d, KeyFileName), []byte(key+string(other.CertificatePEM())), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateSigner(d); err == nil || !strings.Contains(err.Error(), "not for this key") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("two processes at once agree", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "race")
		var (
			wg    sync.WaitGroup
			certs [3][]byte
			errs  [3]error
		)
		for i := range certs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := LoadOrCreateSigner(d)
				errs[i] = err
				if err == nil {
					certs[i] = s.CertificatePEM()
				}
			}()
		}
		wg.Wait()
		for i := range certs {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !bytes.Equal(certs[i], certs[0]) {
				t.Error("concurrent first starts made different keys")
			}
		}
		if left, _ := filepath.Glob(filepath.Join(d, ".*")); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})
}

// TestSignVerify signs every sample alert and has xmlsec1, which we did not
// write, verify it; then tampers with it and expects both xmlsec1 and Verify
// to refuse.
func TestSignVerify(t *testing.T) {
	s, other := signers(t)
	for _, c := range sampleAlerts() {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Marshal(c.a, ExportOptions{LookupReference: lookupSample})
			if err != nil {
				t.Fatal(err)
			}
			signed, err := s.Sign(doc)
			if err != nil {
				t.Fatal(err)
			}
			end := bytes.LastIndex(doc, []byte("</alert>"))
			if !bytes.HasPrefix(signed, doc[:end]) || !bytes.HasSuffix(signed, doc[end:]) {
				t.Error("Sign changed the document around the signature")
			}
			if ok, out := xmlsec1Verify(t, signed, s.CertificatePEM()); !ok {
				t.Fatalf("xmlsec1 rejects our signature:\n%s\n%s", out, signed)
			}
			if ok, out := xmllintValid(t, signed); !ok {
				t.Errorf("the signed document is not valid CAP: %s", out)
			}
			if err := Verify(signed, s.Certificate()); err != nil {
				t.Errorf("Verify: %v", err)
			}
			a1, err1 := Parse(doc)
			a2, err2 := Parse(signed)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			sameKept(t, a2, a1)

			// Tampered: one character of the headline or the time.
			tampered := bytes.Replace(signed, []byte("<sent>2025"), []byte("<sent>2026"), 1)
			if bytes.Equal(tampered, signed) {
				t.Fatal("nothing tampered")
			}
			if ok, out := xmlsec1Verify(t, tampered, s.CertificatePEM()); ok {
				t.Errorf("xmlsec1 accepts a tampered document:\n%s", out)
			}
			if err := Verify(tampered, s.Certificate()); tocsin.ErrorCode(err) != tocsin.EINVALID {
				t.Errorf("Verify of a tampered document: %v", err)
			}
			if ok, _ := xmlsec1Verify(t, signed, other.CertificatePEM()); ok {
				t.Error("xmlsec1 accepts the signature with another certificate")
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	s, other := signers(t)
	doc, err := Marshal(sampleAlert(), ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign(doc)
	if err != nil {
		t.Fatal(err)
	}
	sig := string(signed[bytes.Index(signed, []byte("<ds:Signature")):bytes.Index(signed, []byte("</alert>"))])
	unsigned := strings.Replace(string(signed), sig, "", 1)
	tests := []struct {
		name string
		doc  string
		cert *x509.Certificate
		code string
		want string
	}{
		{"another certificate", string(signed), other.Certificate(), tocsin.EINVALID, "does not verify"},
		{"no certificate", string(signed), nil, tocsin.EINVALID, "no certificate"},
		{"unsigned", string(doc), s.Certificate(), tocsin.EINVALID, "not signed"},
		{"signature removed", unsigned, s.Certificate(), tocsin.EINVALID, "not signed"},
		{"headline changed", strings.Replace(string(signed), "Flash flooding", "Flash fl00ding", 1), s.Certificate(), tocsin.EINVALID, "does not verify"},
		{"area added", strings.Replace(string(signed), "</area>", "</area><area><areaDesc>x</areaDesc><circle>1,1 1</circle></area>", 1), s.Certificate(), tocsin.EINVALID, "does not verify"},
		{"XML Signature element added", strings.Replace(string(signed), "</alert>", `<ds:Object xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></alert>`, 1), s.Certificate(), tocsin.EINVALID, "must be a <ds:Signature> directly in <alert>"},
		{"info added after the signature", strings.Replace(string(signed), "</alert>", "<info><category>Met</category><event>x</event><urgency>Past</urgency><severity>Minor</severity><certainty>Likely</certainty></info></alert>", 1), s.Certificate(), tocsin.EINVALID, "must be the last element"},
		{"signature twice", strings.Replace(string(signed), "</alert>", sig+"</alert>", 1), s.Certificate(), tocsin.EINVALID, "more than one XML Signature"},
		{"signature inside info", strings.Replace(unsigned, "</info>", sig+"</info>", 1), s.Certificate(), tocsin.EINVALID, "directly in <alert>"},
		{"reference by ID", strings.Replace(string(signed), `URI=""`, `URI="#x"`, 1), s.Certificate(), tocsin.EINVALID, `URI=""`},
		{"DOCTYPE", strings.Replace(string(signed), "<alert", "<!DOCTYPE alert>\n<alert", 1), s.Certificate(), tocsin.EINVALID, "DOCTYPE"},
		{"too large", strings.Replace(string(signed), "<headline>", "<headline>"+strings.Repeat("x", MaxDocumentSize), 1), s.Certificate(), tocsin.ETOOLARGE, ""},
		{"not XML", "<alert", s.Certificate(), tocsin.EINVALID, "not well-formed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify([]byte(tt.doc), tt.cert)
			if tocsin.ErrorCode(err) != tt.code || !strings.Contains(tocsin.ErrorMessage(err), tt.want) {
				t.Errorf("Verify = %v, want %s containing %q", err, tt.code, tt.want)
			}
		})
	}

	// What Verify accepts, Parse reads as signed: a comment is outside the
	// signed content and changes nothing Parse keeps.
	t.Run("comment inside text", func(t *testing.T) {
		commented := strings.Replace(string(signed), "Flash flooding", "Flash <!-- x -->flooding", 1)
		if err := Verify([]byte(commented), s.Certificate()); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		a, _ := Parse(signed)
		b, err := Parse([]byte(commented))
		if err != nil {
			t.Fatal(err)
		}
		sameKept(t, b, a)
	})
}

func TestSignRejects(t *testing.T) {
	s, _ := signers(t)
	doc, err := Marshal(sampleAlert(), ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign(doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sign(signed); tocsin.ErrorCode(err) != tocsin.EINVALID || !strings.Contains(err.Error(), "already signed") {
		t.Errorf("signing twice: %v", err)
	}
	if _, err := s.Sign([]byte("<alert/>")); tocsin.ErrorCode(err) != tocsin.EINVALID {
		t.Errorf("signing a non-CAP document: %v", err)
	}

	// A signer whose certificate has expired refuses to sign, since no one
	// could verify the result.
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "old"},
		NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &s.key.PublicKey, s.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	old := &Signer{key: s.key, cert: cert, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	if _, err := old.Sign(doc); err == nil {
		t.Error("an expired certificate signed")
	}
}

// TestSignCorpus signs documents we did not write: prefixed elements, CR LF
// line ends, a byte order mark, a carriage return written as &#xD;.
func TestSignCorpus(t *testing.T) {
	s, _ := signers(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "valid", "*.xml"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := s.Sign(doc)
			if bytes.Contains(doc, []byte("xmldsig#")) {
				if err == nil {
					t.Error("signed a document that already has a signature")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok, out := xmlsec1Verify(t, signed, s.CertificatePEM()); !ok {
				t.Fatalf("xmlsec1: %s\n%s", out, signed)
			}
			if ok, out := xmllintValid(t, signed); !ok {
				t.Errorf("xmllint: %s", out)
			}
			if err := Verify(signed, s.Certificate()); err != nil {
				t.Error(err)
			}
		})
	}
}
