package cap

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tocsin/tocsin"
)

// addSeeds gives a fuzz target every document the other tests use.
func addSeeds(f *testing.F) {
	f.Add([]byte(baseDoc))
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.xml"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, c := range sampleAlerts() {
		if b, err := Marshal(c.a, ExportOptions{LookupReference: lookupSample}); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParse feeds Parse anything. It must never panic, must fail only with
// a *tocsin.Error that names a line, and whatever it accepts Marshal must
// write back so that Parse reads the same alert again.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(data)
		if err != nil {
			var e *tocsin.Error
			switch {
			case !errors.As(err, &e):
				t.Fatalf("not a *tocsin.Error: %v", err)
			case e.Code == tocsin.EINVALID:
				if !lineRE.MatchString(e.Message) {
					t.Fatalf("message without a line: %q", e.Message)
				}
			case e.Code != tocsin.ETOOLARGE:
				t.Fatalf("code %q: %v", e.Code, err)
			}
			return
		}
		out, err := Marshal(a, ExportOptions{})
		if err != nil {
			t.Fatalf("Parse accepted what Marshal refuses: %v", err)
		}
		if len(out) > MaxDocumentSize {
			return // areas repeated in every info can outgrow the limit
		}
		b, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse refuses Marshal's output: %v\n%s", err, out)
		}
		sameKept(t, b, a)
	})
}

// FuzzVerify feeds Verify mutations of signed documents. It must never
// panic, and whatever it accepts must read, with Parse, as the alert that
// was signed.
func FuzzVerify(f *testing.F) {
	s, _ := signers(f)
	var originals []*tocsin.Alert
	for _, c := range sampleAlerts() {
		doc, err := Marshal(c.a, ExportOptions{LookupReference: lookupSample})
		if err != nil {
			f.Fatal(err)
		}
		signed, err := s.Sign(doc)
		if err != nil {
			f.Fatal(err)
		}
		a, err := Parse(signed)
		if err != nil {
			f.Fatal(err)
		}
		originals = append(originals, a)
		f.Add(signed)
	}
	cert := s.Certificate()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := Verify(data, cert); err != nil {
			if c := tocsin.ErrorCode(err); c != tocsin.EINVALID && c != tocsin.ETOOLARGE {
				t.Fatalf("code %q: %v", c, err)
			}
			return
		}
		a, err := Parse(data)
		if err != nil {
			t.Fatalf("Verify accepted what Parse refuses: %v", err)
		}
		got := keptFields(t, a)
		for _, o := range originals {
			if reflect.DeepEqual(got, keptFields(t, o)) {
				return
			}
		}
		t.Fatalf("Verify accepted an alert that was never signed: %+v", a)
	})
}

// FuzzParseReference feeds ParseReference, and with it the dateTime
// parser, anything: what it accepts must print back as it was.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{
		"a,b,2025-03-14T09:26:53-07:00", "a,b,2025-12-31T24:00:00+14:00", "a,b,2003-06-17T14:57:00-00:00",
		"a,b,2025-03-14T09:26:53Z", "a,,", ",,,", "a,b,0000-01-01T00:00:00+00:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			return
		}
		sent := s[strings.LastIndexByte(s, ',')+1:]
		if sent[11:19] == "24:00:00" {
			return // the end of a day is written as the start of the next
		}
		want := s
		if strings.HasSuffix(s, "+00:00") {
			want = strings.TrimSuffix(s, "+00:00") + "-00:00" // CAP writes UTC as -00:00
		}
		if got := r.String(); got != want {
			t.Fatalf("String() = %q, want %q", got, want)
		}
	})
}
