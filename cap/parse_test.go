package cap

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// baseDoc is the example from the CAP 1.2 specification, with a geocode.
const baseDoc = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KSTO1055887203</identifier>
  <sender>KSTO@NWS.NOAA.GOV</sender>
  <sent>2003-06-17T14:57:00-07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>SEVERE THUNDERSTORM</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <eventCode><valueName>SAME</valueName><value>SVR</value></eventCode>
    <expires>2003-06-17T16:00:00-07:00</expires>
    <senderName>NATIONAL WEATHER SERVICE SACRAMENTO CA</senderName>
    <headline>SEVERE THUNDERSTORM WARNING</headline>
    <description>AT 254 PM PDT...NATIONAL WEATHER SERVICE DOPPLER RADAR INDICATED A SEVERE THUNDERSTORM.</description>
    <instruction>TAKE COVER IN A SUBSTANTIAL SHELTER UNTIL THE STORM PASSES.</instruction>
    <contact>BARUFFALDI/JUSKIE</contact>
    <area>
      <areaDesc>EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA</areaDesc>
      <polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>
      <geocode><valueName>SAME</valueName><value>006109</value></geocode>
    </area>
  </info>
</alert>
`

const (
	infoStart = "  <info>\n"
	infoEnd   = "  </info>\n"
)

// TestParseAgreesWithSchema edits baseDoc in one place per case and holds
// both xmllint and Parse to the expected verdicts. Every document the schema
// rejects, Parse must reject; Parse refuses a few more for CAP's own rules.
func TestParseAgreesWithSchema(t *testing.T) {
	infoBlock := baseDoc[strings.Index(baseDoc, infoStart) : strings.Index(baseDoc, infoEnd)+len(infoEnd)]
	tests := []struct {
		name     string
		old, new string
		schema   bool   // xmllint's verdict
		ok       bool   // Parse's verdict
		want     string // in Parse's error
	}{
		{"the specification's example", "", "", true, true, ""},

		// Valid by the schema in ways that are easy to get wrong.
		{"comments and processing instructions", "<status>", "<!-- c --><?pi x?><status>", true, true, ""},
		{"xsi:schemaLocation", `cap:1.2">`, `cap:1.2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:oasis:names:tc:emergency:cap:1.2 cap.xsd">`, true, true, ""},
		{"prefixed elements", "<identifier>KSTO1055887203</identifier>", `<c:identifier xmlns:c="urn:oasis:names:tc:emergency:cap:1.2">KSTO1055887203</c:identifier>`, true, true, ""},
		{"dateTime whitespace collapses", "<sent>2003-06-17T14:57:00-07:00</sent>", "<sent>\n\t 2003-06-17T14:57:00-07:00 \n</sent>", true, true, ""},
		{"24:00:00 ends the day", "2003-06-17T14:57:00-07:00</sent>", "2003-06-17T24:00:00-07:00</sent>", true, true, ""},
		{"offset +14:00", "2003-06-17T14:57:00-07:00</sent>", "2003-06-17T14:57:00+14:00</sent>", true, true, ""},
		{"leap day", "2003-06-17T14:57:00-07:00</sent>", "2004-02-29T14:57:00-07:00</sent>", true, true, ""},
		{"empty language takes the default", "<category>Met", "<language/><category>Met", true, true, ""},
		{"language collapses", "<category>Met", "<language> es-419 </language><category>Met", true, true, ""},
		{"CDATA", "<headline>SEVERE THUNDERSTORM WARNING</headline>", "<headline><![CDATA[<b>SEVERE</b> & co]]></headline>", true, true, ""},
		{"empty event", "<event>SEVERE THUNDERSTORM</event>", "<event/>", true, true, ""},
		{"no info", infoBlock, "", true, true, ""},
		{"three infos", infoBlock, infoBlock + infoBlock + infoBlock, true, true, ""},
		{"only required info elements", infoBlock, "<info><category>Fire</category><event>x</event><urgency>Past</urgency><severity>Minor</severity><certainty>Possible</certainty></info>", true, true, ""},
		{"area with geocodes only", "<polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>", "", true, true, ""},
		{"altitude and ceiling", "</geocode>\n", "</geocode><altitude> -.5 </altitude><ceiling>12.</ceiling>\n", true, true, ""},
		{"resource", "<area>", "<resource><resourceDesc>map</resourceDesc><mimeType>image/png</mimeType><size> +42 </size><uri>https://x.example/a b</uri><derefUri>AAAA</derefUri><digest>ab</digest></resource><area>", true, true, ""},
		{"XML Signature last", "</alert>", `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><Foo xmlns="urn:x" bar="1"/></Signature></alert>`, true, true, ""},
		{"any XML Signature element, twice", "</alert>", `<ds:Object xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/><ds:Object xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></alert>`, true, true, ""},
		{"CR LF line ends", "\n", "\r\n", true, true, ""},

		// Invalid by the schema.
		{"dateTime with Z", "14:57:00-07:00</sent>", "21:57:00Z</sent>", false, false, "line 5, <alert/sent>: \"2003-06-17T21:57:00Z\" is not a CAP date and time"},
		{"dateTime with fraction", "14:57:00-07:00</sent>", "14:57:00.5-07:00</sent>", false, false, "is not a CAP date and time"},
		{"dateTime without offset", "14:57:00-07:00</sent>", "14:57:00</sent>", false, false, "is not a CAP date and time"},
		{"dateTime comma offset", "14:57:00-07:00</sent>", "14:57:00,07:00</sent>", false, false, "is not a CAP date and time"},
		{"dateTime February 30", "2003-06-17T14:57:00-07:00</sent>", "2003-02-30T14:57:00-07:00</sent>", false, false, "day 30 does not exist"},
		{"dateTime February 29 2003", "2003-06-17T14:57:00-07:00</sent>", "2003-02-29T14:57:00-07:00</sent>", false, false, "day 29 does not exist"},
		{"dateTime month 13", "2003-06-17T14:57:00-07:00</sent>", "2003-13-17T14:57:00-07:00</sent>", false, false, "month 13"},
		{"dateTime 24:00:01", "2003-06-17T14:57:00-07:00</sent>", "2003-06-17T24:00:01-07:00</sent>", false, false, "time of day is out of range"},
		{"dateTime second 60", "2003-06-17T14:57:00-07:00</sent>", "2003-06-17T14:57:60-07:00</sent>", false, false, "time of day is out of range"},
		{"dateTime offset +14:01", "2003-06-17T14:57:00-07:00</sent>", "2003-06-17T14:57:00+14:01</sent>", false, false, "beyond ±14:00"},
		{"dateTime offset minutes 60", "2003-06-17T14:57:00-07:00</sent>", "2003-06-17T14:57:00+05:60</sent>", false, false, "beyond ±14:00"},
		{"dateTime year 0000", "2003-06-17T14:57:00-07:00</sent>", "0000-06-17T14:57:00-07:00</sent>", false, false, "no year 0000"},
		{"dateTime with inner space", "2003-06-17T14:57:00-07:00</sent>", "2003-06-17 T14:57:00-07:00</sent>", false, false, "is not a CAP date and time"},
		{"expires with Z", "16:00:00-07:00</expires>", "23:00:00Z</expires>", false, false, "line 17, <alert/info[1]/expires>"},
		{"status padded", "<status>Actual</status>", "<status> Actual</status>", false, false, `" Actual" is not one of Actual, Exercise, System, Test, Draft`},
		{"status lower case", "<status>Actual</status>", "<status>actual</status>", false, false, "is not one of"},
		{"msgType", "<msgType>Alert</msgType>", "<msgType>Warning</msgType>", false, false, "is not one of"},
		{"scope", "<scope>Public</scope>", "<scope>public</scope>", false, false, "is not one of"},
		{"category", "<category>Met</category>", "<category>Weather</category>", false, false, "<alert/info[1]/category[1]>"},
		{"responseType", "<responseType>Shelter</responseType>", "<responseType>Hide</responseType>", false, false, "is not one of Shelter"},
		{"urgency", "<urgency>Immediate</urgency>", "<urgency>Now</urgency>", false, false, "is not one of"},
		{"severity", "<severity>Severe</severity>", "<severity/>", false, false, "is not one of"},
		{"certainty", "<certainty>Observed</certainty>", "<certainty>Very Likely</certainty>", false, false, "is not one of"},
		{"no category", "<category>Met</category>", "", false, false, "<info> is missing a required <category>"},
		{"no event", "<event>SEVERE THUNDERSTORM</event>", "", false, false, "<info> is missing a required <event>"},
		{"no identifier", "<identifier>KSTO1055887203</identifier>", "", false, false, "<alert> is missing a required <identifier>"},
		{"no scope", "<scope>Public</scope>", "", false, false, "<alert> is missing a required <scope>"},
		{"no certainty at the end", "<certainty>Observed</certainty>", "", false, false, "<info> is missing a required <certainty>"},
		{"two senders", "<sender>KSTO@NWS.NOAA.GOV</sender>", "<sender>KSTO@NWS.NOAA.GOV</sender><sender>x</sender>", false, false, "<sender> may appear only once here"},
		{"two expires", "<expires>2003-06-17T16:00:00-07:00</expires>", "<expires>2003-06-17T16:00:00-07:00</expires><expires>2003-06-17T16:00:00-07:00</expires>", false, false, "may appear only once"},
		{"scope before msgType", "<msgType>Alert</msgType>\n  <scope>Public</scope>", "<scope>Public</scope>\n  <msgType>Alert</msgType>", false, false, "line 8, <alert/msgType>: <msgType> is out of order: it must come before <scope>"},
		{"references after info", "</alert>", "<references>a,b,2003-06-17T14:57:00-07:00</references></alert>", false, false, "<references> is out of order"},
		{"expires before effective", "<senderName>", "<effective>2003-06-17T14:57:00-07:00</effective><senderName>", false, false, "<effective> is out of order"},
		{"unknown element", "<scope>Public</scope>", "<scope>Public</scope><priority>1</priority>", false, false, "<priority> is not allowed in <alert>"},
		{"element without namespace", "<scope>Public</scope>", `<scope>Public</scope><note xmlns="">x</note>`, false, false, "<note> has no namespace"},
		{"foreign element", "<contact>", `<x:extra xmlns:x="urn:x"/><contact>`, false, false, `<extra> is not a CAP 1.2 element (namespace "urn:x")`},
		{"XML Signature before info", "<info>", `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/><info>`, false, false, "line 9, <alert/info[1]>: <info> is out of order: it must come before <ds:Signature>"},
		{"XML Signature before note", "<scope>Public</scope>", `<scope>Public</scope><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/><note>x</note>`, false, false, "<note> is out of order: it must come before <ds:Signature>"},
		{"XML Signature inside info", "</info>", `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></info>`, false, false, "<ds:Signature> is not allowed in <info>"},
		{"attribute", "<identifier>", `<identifier id="1">`, false, false, `attribute "id" is not allowed`},
		{"xml:lang", "<headline>", `<headline xml:lang="en">`, false, false, `attribute "lang" is not allowed`},
		{"xsi:type", "<headline>", `<headline xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x">`, false, false, `attribute "type" is not allowed`},
		{"text in info", "<category>Met", "oops<category>Met", false, false, "line 10, <alert/info[1]>: text is not allowed directly inside <info>"},
		{"element in text", "<sender>KSTO@NWS.NOAA.GOV</sender>", "<sender><b>KSTO</b></sender>", false, false, "<sender> holds text only, not the element <b>"},
		{"language too long", "<category>Met", "<language>deutschland</language><category>Met", false, false, "is not a language tag"},
		{"language underscore", "<category>Met", "<language>en_US</language><category>Met", false, false, "is not a language tag"},
		{"altitude with exponent", "</geocode>\n", "</geocode><altitude>1e5</altitude>\n", false, false, "is not a decimal number"},
		{"size with fraction", "<area>", "<resource><resourceDesc>m</resourceDesc><mimeType>image/png</mimeType><size>1.0</size></resource><area>", false, false, "is not an integer"},
		{"web with bad escape", "<contact>", "<web>http://x.example/%zz</web><contact>", false, false, "is not a URI"},
		{"web with open bracket", "<contact>", "<web>http://[x</web><contact>", false, false, "is not a URI"},
		{"geocode value first", "<geocode><valueName>SAME</valueName><value>006109</value></geocode>", "<geocode><value>006109</value><valueName>SAME</valueName></geocode>", false, false, "<valueName> is out of order: it must come before <value>"},
		{"geocode without value", "<valueName>SAME</valueName><value>006109</value>", "<valueName>SAME</valueName>", false, false, "<geocode> is missing a required <value>"},
		{"area without areaDesc", "<areaDesc>EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA</areaDesc>", "", false, false, "<area> is missing a required <areaDesc>"},
		{"polygon after circle", "<polygon>", "<circle>38,-120 5</circle><polygon>", false, false, "<polygon> is out of order"},
		{"CAP 1.1", "cap:1.2", "cap:1.1", false, false, `namespace "urn:oasis:names:tc:emergency:cap:1.1" is not CAP 1.2`},
		{"no namespace", ` xmlns="urn:oasis:names:tc:emergency:cap:1.2"`, "", false, false, "the root element must be <alert>"},
		{"wrong root", "<alert xmlns", "<alerts xmlns", false, false, "not well-formed"},
		{"second root", "</alert>\n", "</alert>\n<alert/>", false, false, "a second root element"},
		{"text after root", "</alert>\n", "</alert>\nbye", false, false, "text outside the <alert> element"},
		{"unclosed element", "<scope>Public</scope>", "<scope>Public", false, false, "not well-formed XML"},
		{"undefined entity", "KSTO@NWS", "KSTO&nbsp;@NWS", false, false, "not well-formed XML"},
		{"forbidden character", "KSTO@NWS", "KSTO&#1;@NWS", false, false, "not well-formed XML"},
		{"XML declaration late", `<?xml version="1.0" encoding="UTF-8"?>`, `<!-- x --><?xml version="1.0" encoding="UTF-8"?>`, false, false, "the XML declaration must come first"},
		{"XML declaration in capitals", `<?xml version`, `<?XML version`, false, false, "the XML declaration must come first, as <?xml"},
		{"XML declaration without version", `<?xml version="1.0" encoding="UTF-8"?>`, `<?xml encoding="UTF-8"?>`, false, false, "is not version, encoding and standalone"},
		{"XML declaration standalone maybe", `encoding="UTF-8"?>`, `encoding="UTF-8" standalone="maybe"?>`, false, false, "is not version, encoding and standalone"},
		{"XML declaration standalone", `encoding="UTF-8"?>`, `encoding='UTF-8'  standalone='yes' ?>`, true, true, ""},
		{"XML 1.1", `version="1.0"`, `version="1.1"`, true, false, `unsupported version "1.1"`},
		{"]]> in text", "KSTO@NWS", "KSTO]]>@NWS", false, false, "not well-formed XML"},
		{"character reference to a surrogate", "KSTO@NWS", "KSTO&#xD800;@NWS", false, false, "&#xD800; is not a character XML allows"},
		{"character reference to U+FFFE", "KSTO@NWS", "KSTO&#65534;@NWS", false, false, "not well-formed XML"},
		{"character reference too large", "KSTO@NWS", "KSTO&#x110000;@NWS", false, false, "not well-formed XML"},
		{"character reference in CDATA is text", "<headline>", "<headline><![CDATA[&#xD800;]]>", true, true, ""},
		{"CDATA outside the root", "</alert>\n", "</alert>\n<![CDATA[ ]]>", false, false, "text outside the <alert> element"},
		{"attribute twice", "<status>", "<status xmlns:p='a' xmlns:p='b'>", false, false, `attribute "p" appears twice`},
		{"comment with --", "<status>", "<!-- a -- b --><status>", false, false, "not well-formed XML"},
		{"undeclared prefix", "</scope>", "</scope><q:note>x</q:note>", false, false, `<note> is not a CAP 1.2 element (namespace "q")`},
		{"raw DEL and C1 controls are characters", "KSTO@NWS", "KSTO\u007f\u0085@NWS", true, true, ""},

		// Valid by the schema, refused by CAP's text or by tocsin.
		{"identifier with space", "<identifier>KSTO1055887203", "<identifier>KSTO 1055887203", true, false, `line 3, <alert/identifier>: the identifier "KSTO 1055887203" contains ' '`},
		{"identifier with comma", "<identifier>KSTO1055887203", "<identifier>KSTO,1055887203", true, false, "contains ','"},
		{"identifier with ampersand", "<identifier>KSTO1055887203", "<identifier>KSTO&amp;1055887203", true, false, "contains '&'"},
		{"identifier with <", "<identifier>KSTO1055887203", "<identifier>KSTO&lt;1055887203", true, false, "contains '<'"},
		{"empty identifier", "<identifier>KSTO1055887203</identifier>", "<identifier/>", true, false, "the identifier is empty"},
		{"sender with comma", "<sender>KSTO@NWS.NOAA.GOV", "<sender>KSTO,NWS", true, false, "the sender \"KSTO,NWS\" contains ','"},
		{"references not a triple", "<scope>Public</scope>", "<scope>Public</scope><references>KSTO1055887200</references>", true, false, "is not sender,identifier,sent"},
		{"references with a bad time", "<scope>Public</scope>", "<scope>Public</scope><references>a,b,2003-06-17T14:57:00Z</references>", true, false, "sent \"2003-06-17T14:57:00Z\" is not a CAP date and time"},
		{"references with an empty identifier", "<scope>Public</scope>", "<scope>Public</scope><references>a,,2003-06-17T14:57:00-07:00</references>", true, false, "referenced identifier is empty"},
		{"year 1850", "2003-06-17T14:57:00-07:00</sent>", "1850-06-17T14:57:00-07:00</sent>", true, false, "the year is outside 1900–9999"},
		{"end of 9999", "2003-06-17T14:57:00-07:00</sent>", "9999-12-31T24:00:00-07:00</sent>", true, false, "the year is outside"},
		{"polygon not closed", "38.62,-119.89 38.47,-120.14<", "38.62,-119.89<", true, false, "line 25, <alert/info[1]/area[1]/polygon[1]>: polygon is not closed"},
		{"polygon of three points", "38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14", "38.47,-120.14 38.34,-119.95 38.47,-120.14", true, false, "at least 4 points"},
		{"polygon latitude 91", "38.52,-119.74", "91.52,-119.74", true, false, "point 3: latitude 91.52 is out of range"},
		{"polygon longitude -181", "38.52,-119.74", "38.52,-181", true, false, "longitude -181 is out of range"},
		{"polygon without commas", "38.47,-120.14 38.34,-119.95", "38.47 -120.14 38.34,-119.95", true, false, "is not lat,lon"},
		{"polygon NaN", "38.52,-119.74", "NaN,-119.74", true, false, `"NaN" is not a number`},
		{"polygon hex float", "38.52,-119.74", "0x1p5,-119.74", true, false, "is not a number"},
		{"polygon huge number", "38.52,-119.74", "1e999,-119.74", true, false, "is out of range"},
		{"circle radius 0", "<polygon>", "<circle>38.5,-120 0</circle><polygon>", false, false, "out of order"},
		{"circle radius 0 in place", "</polygon>", "</polygon><circle>38.5,-120 0</circle>", true, false, "radius 0 km must be more than 0"},
		{"circle negative radius", "</polygon>", "</polygon><circle>38.5,-120 -3</circle>", true, false, "must be more than 0"},
		{"circle without radius", "</polygon>", "</polygon><circle>38.5,-120</circle>", true, false, `a circle is "lat,lon radius"`},
		{"circle centre out of range", "</polygon>", "</polygon><circle>38.5,-200 5</circle>", true, false, "longitude -200 is out of range"},
		{"DOCTYPE", "<alert xmlns", "<!DOCTYPE alert>\n<alert xmlns", true, false, "line 2: <!DOCTYPE is not accepted"},
		{"encoding not UTF-8", `encoding="UTF-8"`, `encoding="ISO-8859-1"`, true, false, `encoding "ISO-8859-1" is not accepted`},
		{"ENTITY in a comment", "<status>", "<!-- <!ENTITY --><status>", true, false, "<!ENTITY is not accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.schema && tt.ok {
				t.Fatal("bad case: Parse must refuse whatever the schema rejects")
			}
			if tt.old != "" && !strings.Contains(baseDoc, tt.old) {
				t.Fatalf("bad case: %q is not in baseDoc", tt.old)
			}
			doc := []byte(strings.Replace(baseDoc, tt.old, tt.new, 1))
			if tt.old == "\n" {
				doc = []byte(strings.ReplaceAll(baseDoc, tt.old, tt.new))
			}
			if valid, out := xmllintValid(t, doc); valid != tt.schema && !libxml2Differs[tt.name] {
				t.Errorf("xmllint says valid=%v, the case says %v:\n%s", valid, tt.schema, out)
			} else if libxml2Differs[tt.name] && !valid {
				t.Errorf("xmllint now agrees with XML Schema here; remove the case from libxml2Differs")
			}
			a, err := Parse(doc)
			if (err == nil) != tt.ok {
				t.Fatalf("Parse error = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				checkParseError(t, err, tt.want)
				return
			}
			if a.ID == "" || a.Sender == "" || a.Sent.IsZero() {
				t.Errorf("Parse lost the header: %+v", a)
			}
		})
	}
}

// libxml2Differs names the cases where xmllint (libxml2 2.9) accepts what
// XML Schema rejects. The schema's <alert> is a sequence ending "info*,
// any(xmldsig)*", so an <info> after a <ds:Signature> matches nothing; libxml2
// lets it through (its content automaton loops over both). Parse follows
// the schema, and Verify needs the signature last in any case.
var libxml2Differs = map[string]bool{"XML Signature before info": true}

var lineRE = regexp.MustCompile(`^CAP line [1-9][0-9]*[,:] `)

// checkParseError checks that err is an EINVALID *tocsin.Error whose message
// names a line and contains want.
func checkParseError(tb testing.TB, err error, want string) {
	tb.Helper()
	if code := tocsin.ErrorCode(err); code != tocsin.EINVALID {
		tb.Fatalf("code %q, want %q: %v", code, tocsin.EINVALID, err)
	}
	msg := tocsin.ErrorMessage(err)
	if !lineRE.MatchString(msg) {
		tb.Errorf("message %q does not start with the line", msg)
	}
	if !strings.Contains(msg, want) {
		tb.Errorf("message %q does not contain %q", msg, want)
	}
	if f := tocsin.ErrorFields(err); len(f) != 1 || f[0].Field == "" || !strings.HasPrefix(f[0].Detail, "line ") {
		tb.Errorf("fields %+v: want one naming the element and line", f)
	}
}

// TestParseCorpus reads the documents in testdata: valid/ (xmllint and Parse
// accept them), invalid/ (both reject them), refused/ (the schema allows
// them, CAP's text or tocsin does not) and hostile/ (Parse rejects them;
// xmllint is not shown them). A "<!-- want: … -->" comment gives the start
// of Parse's message.
func TestParseCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.xml"))
	if err != nil || len(files) < 20 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	wantRE := regexp.MustCompile(`<!-- want: (.*) -->`)
	for _, f := range files {
		kind := filepath.Base(filepath.Dir(f))
		t.Run(kind+"/"+filepath.Base(f), func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if kind != "hostile" {
				valid, out := xmllintValid(t, doc)
				if valid != (kind == "valid" || kind == "refused") {
					t.Errorf("xmllint valid=%v for a %s document:\n%s", valid, kind, out)
				}
			}
			a, err := Parse(doc)
			if kind == "valid" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				again, err := Marshal(a, ExportOptions{})
				if err != nil {
					t.Fatalf("Marshal of a parsed document: %v", err)
				}
				if ok, out := xmllintValid(t, again); !ok {
					t.Errorf("re-export is not valid: %s\n%s", out, again)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted a %s document", kind)
			}
			if m := wantRE.FindSubmatch(doc); m != nil {
				checkParseError(t, err, "CAP "+string(m[1]))
			} else {
				checkParseError(t, err, "")
			}
		})
	}
}

// TestParseFields checks what Parse keeps of real documents.
func TestParseFields(t *testing.T) {
	read := func(name string) *tocsin.Alert {
		t.Helper()
		doc, err := os.ReadFile(filepath.Join("testdata", "valid", name))
		if err != nil {
			t.Fatal(err)
		}
		a, err := Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	est := time.FixedZone("", -5*3600)

	t.Run("bilingual update", func(t *testing.T) {
		a := read("bilingual-update.xml")
		if a.ID != "2.49.0.1.124.a1b2c3d4.2025" || a.Sender != "cap-pac@canada.ca" || a.MsgType != "Update" || a.Status != "Actual" || a.Scope != "Public" {
			t.Errorf("header: %+v", a)
		}
		if want := time.Date(2025, 1, 20, 6, 15, 0, 0, est); !a.Sent.Equal(want) || offset(a.Sent) != -5*3600 {
			t.Errorf("sent %v, want %v with its offset", a.Sent, want)
		}
		wantRefs := []string{
			"cap-pac@canada.ca,2.49.0.1.124.9f8e7d6c.2025,2025-01-19T22:00:00-05:00",
			"cap-pac@canada.ca,2.49.0.1.124.00aa11bb.2025,2025-01-20T02:30:00-05:00",
		}
		if !reflect.DeepEqual(a.References, wantRefs) {
			t.Errorf("references %q", a.References)
		}
		if len(a.Infos) != 2 || a.Infos[0].Language != "en-CA" || a.Infos[1].Language != "fr-CA" {
			t.Fatalf("infos %+v", a.Infos)
		}
		fr := a.Infos[1]
		if fr.Headline != "avertissement de neige en vigueur" || fr.Event != "neige" || fr.Urgency != "Expected" ||
			fr.Severity != "Moderate" || fr.Certainty != "Likely" || !reflect.DeepEqual(fr.Category, tocsin.CategoryList{"Met"}) ||
			fr.Expires == nil || fr.Expires.Format(time.RFC3339) != "2025-01-21T06:15:00-05:00" || fr.Provenance != "" {
			t.Errorf("fr info %+v", fr)
		}
		// The English areas, then the one place only the French info has.
		want := []tocsin.Area{
			{Description: "City of Ottawa - Orléans", Polygon: poly(45.5, -75.6, 45.4, -75.6, 45.4, -75.4, 45.5, -75.4, 45.5, -75.6),
				Geocodes: map[string]string{"profile:CAP-CP:Location:0.3": "3506008"}},
			{Description: "Gatineau", Circle: &geo.Circle{Lat: 45.48, Lon: -75.70, RadiusKM: 12.5}},
			{Description: "Chelsea", Circle: &geo.Circle{Lat: 45.5, Lon: -75.8, RadiusKM: 4}},
		}
		if !reflect.DeepEqual(a.Areas, want) {
			t.Errorf("areas\n got %+v\nwant %+v", a.Areas, want)
		}
		for _, ref := range a.References {
			r, err := ParseReference(ref)
			if err != nil || r.Sender != "cap-pac@canada.ca" || r.String() != ref {
				t.Errorf("ParseReference(%q) = %+v, %v", ref, r, err)
			}
		}
	})

	t.Run("IPAWS geocodes", func(t *testing.T) {
		a := read("ipaws-thunderstorm.xml")
		if len(a.Areas) != 1 || !reflect.DeepEqual(a.Areas[0].Geocodes, map[string]string{"SAME": "006109", "UGC": "CAC109 CAZ072"}) {
			t.Errorf("areas %+v", a.Areas)
		}
		if in := a.Infos[0]; !strings.HasPrefix(in.Description, "At 254 PM PDT, a severe thunderstorm was located near Pinecrest,\nmoving") {
			t.Errorf("description %q", in.Description)
		}
	})

	t.Run("prefixed exercise", func(t *testing.T) {
		a := read("prefixed-signed-exercise.xml")
		in := a.Infos[0]
		if a.Status != "Exercise" || a.Scope != "Restricted" || in.Language != "en-US" || in.Headline != `EXERCISE: <chlorine> & "ammonia" drill` {
			t.Errorf("%+v %+v", a, in)
		}
		if a.Sent.Format(time.RFC3339) != "2025-11-05T10:00:00+01:00" {
			t.Errorf("sent %v", a.Sent)
		}
		// One area of CAP with a polygon and two circles is three areas here.
		if len(a.Areas) != 3 || a.Areas[0].Polygon == nil || a.Areas[1].Circle.RadiusKM != 0.5 || a.Areas[2].Circle.RadiusKM != 0.25 ||
			a.Areas[2].Description != "Plant 7" {
			t.Errorf("areas %+v", a.Areas)
		}
	})

	t.Run("end of day, UTC and CR", func(t *testing.T) {
		a := read("minimal-end-of-day.xml")
		if a.Sent.Format(time.RFC3339) != "2025-01-01T00:00:00+14:00" {
			t.Errorf("sent %v", a.Sent)
		}
		b := read("bom-crlf.xml")
		if b.Sent.Location() != time.UTC || b.Infos[0].Description != "一行目\n二行目\n" || b.Areas[0].Description != "東京" || b.Areas[0].Circle != nil {
			t.Errorf("%+v %q", b, b.Infos[0].Description)
		}
	})
}

func offset(t time.Time) int { _, off := t.Zone(); return off }

// TestParseRoundTrip checks that what Parse reads, Marshal writes back the
// same, for a document that uses every field tocsin keeps.
func TestParseRoundTrip(t *testing.T) {
	for _, name := range []string{"bilingual-update.xml", "missing-person.xml", "ipaws-thunderstorm.xml", "prefixed-signed-exercise.xml", "bom-crlf.xml"} {
		doc, err := os.ReadFile(filepath.Join("testdata", "valid", name))
		if err != nil {
			t.Fatal(err)
		}
		a, err := Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Marshal(a, ExportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		sameKept(t, b, a)
	}
}

// TestParseLimits checks the hostile cases that are generated, not stored.
func TestParseLimits(t *testing.T) {
	t.Run("too large", func(t *testing.T) {
		doc := []byte(strings.Replace(baseDoc, "<description>", "<description>"+strings.Repeat("x", MaxDocumentSize), 1))
		_, err := Parse(doc)
		if tocsin.ErrorCode(err) != tocsin.ETOOLARGE {
			t.Fatalf("err = %v, want ETOOLARGE", err)
		}
	})
	t.Run("at the limit", func(t *testing.T) {
		pad := MaxDocumentSize - len(baseDoc)
		doc := []byte(strings.Replace(baseDoc, "<description>", "<description>"+strings.Repeat("x", pad), 1))
		if len(doc) != MaxDocumentSize {
			t.Fatal(len(doc))
		}
		if _, err := Parse(doc); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		deep := strings.Repeat("<x>", 100000) + strings.Repeat("</x>", 100000)
		_, err := Parse([]byte(strings.Replace(baseDoc, "</scope>", "</scope>"+deep, 1)))
		checkParseError(t, err, "elements nested too deeply")
	})
	t.Run("deep nesting inside a signature", func(t *testing.T) {
		deep := strings.Repeat("<x>", 100000) + strings.Repeat("</x>", 100000)
		doc := strings.Replace(baseDoc, "</alert>", `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">`+deep+"</Signature></alert>", 1)
		if _, err := Parse([]byte(doc)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		for _, doc := range []string{"", "   ", `<?xml version="1.0"?>`, "\xef\xbb\xbf"} {
			_, err := Parse([]byte(doc))
			checkParseError(t, err, "")
		}
	})
	// Work grows with the size of the document, never with its square.
	fast := func(t *testing.T, doc string) (*tocsin.Alert, error) {
		t.Helper()
		if len(doc) > MaxDocumentSize {
			t.Fatalf("test document of %d bytes", len(doc))
		}
		start := time.Now()
		a, err := Parse([]byte(doc))
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Parse took %v", d)
		}
		return a, err
	}
	t.Run("many codes", func(t *testing.T) {
		a, err := fast(t, strings.Replace(baseDoc, "</scope>", "</scope>"+strings.Repeat("<code>c</code>", 70000), 1))
		if err != nil || a.ID == "" {
			t.Fatal(err)
		}
	})
	t.Run("many geocodes of one name", func(t *testing.T) {
		codes := strings.Repeat("<geocode><valueName>UGC</valueName><value>COZ039</value></geocode>", 14000)
		a, err := fast(t, strings.Replace(baseDoc, "</geocode>", "</geocode>"+codes, 1))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(strings.Fields(a.Areas[0].Geocodes["UGC"])); n != 14000 {
			t.Errorf("%d UGC codes", n)
		}
	})
	t.Run("circles times geocodes", func(t *testing.T) {
		circles := strings.Repeat("<circle>38,-120 1</circle>", 10000)
		codes := strings.Repeat("<geocode><valueName>UGC</valueName><value>COZ039</value></geocode>", 8000)
		doc := strings.Replace(baseDoc, "</polygon>", "</polygon>"+circles, 1)
		doc = strings.Replace(doc, "</geocode>", "</geocode>"+codes, 1)
		_, err := fast(t, doc)
		if tocsin.ErrorCode(err) != tocsin.ETOOLARGE || !strings.Contains(err.Error(), "<alert/info[1]/area[1]>") {
			t.Fatalf("err = %v, want ETOOLARGE naming the area", err)
		}
	})
	t.Run("areas times infos", func(t *testing.T) {
		var ring strings.Builder
		for i := range 30000 {
			fmt.Fprintf(&ring, "%.4f,%.4f ", 38+float64(i)/1e5, -120+float64(i%2)/1e4)
		}
		ring.WriteString("38.0000,-120.0000")
		doc := strings.Replace(baseDoc, "38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14", "38.0000,-120.0000 "+ring.String(), 1)
		small := "<info><category>Met</category><event>e</event><urgency>Past</urgency><severity>Minor</severity><certainty>Likely</certainty></info>"
		if _, err := fast(t, doc); err != nil {
			t.Fatalf("one info: %v", err)
		}
		_, err := fast(t, strings.Replace(doc, "</alert>", strings.Repeat(small, 10)+"</alert>", 1))
		if tocsin.ErrorCode(err) != tocsin.ETOOLARGE {
			t.Fatalf("err = %v, want ETOOLARGE", err)
		}
	})
	t.Run("many comments split the text", func(t *testing.T) {
		text := strings.Repeat("a<!---->", 100000)
		doc := strings.Replace(baseDoc, "<description>", "<description>"+text, 1)
		start := time.Now()
		a, err := Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(a.Infos[0].Description, strings.Repeat("a", 100000)+"AT 254") {
			t.Errorf("description not joined")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339, "" for an error
	}{
		{"2025-03-14T09:26:53-00:00", "2025-03-14T09:26:53Z"},
		{"2025-03-14T09:26:53+00:00", "2025-03-14T09:26:53Z"},
		{"2025-03-14T09:26:53+05:45", "2025-03-14T09:26:53+05:45"},
		{"2025-03-14T09:26:53-14:00", "2025-03-14T09:26:53-14:00"},
		{"2025-12-31T24:00:00-03:00", "2026-01-01T00:00:00-03:00"},
		{"2000-02-29T00:00:00+01:00", "2000-02-29T00:00:00+01:00"},
		{"1900-02-29T00:00:00+01:00", ""},
		{"2025-03-14T09:26:53Z", ""},
		{"2025-03-14T09:26:53.000-00:00", ""},
		{"2025-03-14 09:26:53-00:00", ""},
		{"2025-3-14T09:26:53-00:00", ""},
		{"+025-03-14T09:26:53-00:00", ""},
		{"2025-03-14T09:26:53-0000", ""},
		{"2025-03-14T09:26:53*00:00", ""},
		{"2025-00-14T09:26:53-00:00", ""},
		{"2025-03-00T09:26:53-00:00", ""},
		{"2025-04-31T09:26:53-00:00", ""},
		{"2025-03-14T25:00:00-00:00", ""},
		{"2025-03-14T09:60:00-00:00", ""},
		{"2025-03-14T09:26:53+14:30", ""},
		{"1899-12-31T23:59:59-00:00", ""},
		{"1900-01-01T00:00:00-00:00", "1900-01-01T00:00:00Z"},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := parseDateTime(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("parseDateTime(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339) != tt.want {
			t.Errorf("parseDateTime(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestParseReference(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"a@b.example,ID-1,2025-03-14T09:26:53-07:00", true},
		{"a,b,2025-03-14T09:26:53-00:00", true},
		{"a,b", false},
		{"a,b,c,d", false},
		{",b,2025-03-14T09:26:53-00:00", false},
		{"a,,2025-03-14T09:26:53-00:00", false},
		{"a,b,", false},
		{"a<,b,2025-03-14T09:26:53-00:00", false},
		{"a,b&,2025-03-14T09:26:53-00:00", false},
		{"a,b,2025-03-14T09:26:53Z", false},
	}
	for _, tt := range tests {
		r, err := ParseReference(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseReference(%q) = %+v, %v; want ok=%v", tt.in, r, err, tt.ok)
		}
		if err == nil && r.String() != tt.in {
			t.Errorf("String() = %q, want %q", r.String(), tt.in)
		}
	}
}

func TestNumbers(t *testing.T) {
	good := map[string]float64{"1": 1, "-1.5": -1.5, "+.5": 0.5, "3.": 3, "1e2": 100, "-2.5E-1": -0.25, "0.0000001": 1e-7}
	for s, want := range good {
		if v, err := parseNumber(s); err != nil || v != want {
			t.Errorf("parseNumber(%q) = %v, %v", s, v, err)
		}
	}
	for _, s := range []string{"", "-", ".", "+-1", "1e", "e5", "1.2.3", "NaN", "Inf", "-inf", "0x10", "1_000", "1,5", " 1", "1e999"} {
		if v, err := parseNumber(s); err == nil {
			t.Errorf("parseNumber(%q) = %v, want an error", s, v)
		}
	}
	for s, want := range map[string]bool{"1": true, "+1": true, "-0": true, "": false, "+": false, "1.0": false, "--1": false} {
		if isXSInteger(s) != want {
			t.Errorf("isXSInteger(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"1": true, "-.5": true, "1.": true, ".": false, "": false, "1e5": false, "+-1": false} {
		if isXSDecimal(s) != want {
			t.Errorf("isXSDecimal(%q) != %v", s, want)
		}
	}
}

func TestParseBOM(t *testing.T) {
	if _, err := Parse(append([]byte("\xef\xbb\xbf"), baseDoc...)); err != nil {
		t.Fatal(err)
	}
}
