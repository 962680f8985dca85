package cap

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
)

// The CAP 1.2 schema (standards/cap-1.2.xsd) transcribed as data, so that
// Parse can hold a document to it without an XML Schema validator. Every
// complex type in the schema is a plain sequence of distinctly named
// elements, so a document is checked by walking its children once against
// the list of particles below.

// Namespace is the XML namespace of CAP 1.2 documents.
const Namespace = "urn:oasis:names:tc:emergency:cap:1.2"

// dsigNamespace is the XML Signature namespace, whose elements the schema
// allows after the last <info> of an alert.
const dsigNamespace = "http://www.w3.org/2000/09/xmldsig#"

// xsiNamespace holds the schema-instance attributes (xsi:schemaLocation)
// that validators accept on any element.
const xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"

// valueType is the simple type of an element with text content.
type valueType int

const (
	complexType  valueType = iota // element content; see particle.children
	stringType                    // xs:string, whitespace kept
	enumType                      // xs:string restricted to particle.enum, whitespace kept
	dateTimeType                  // CAP's xs:dateTime pattern, whitespace collapsed
	languageType                  // xs:language, whitespace collapsed, default en-US
	anyURIType                    // xs:anyURI, whitespace collapsed
	integerType                   // xs:integer, whitespace collapsed
	decimalType                   // xs:decimal, whitespace collapsed
)

// particle is one element of a sequence: its name, how often it may occur
// (max < 0 is unbounded) and what it holds.
type particle struct {
	name     string
	min, max int
	typ      valueType
	enum     []string
	children []particle
}

const unbounded = -1

// dsigParticle stands for the schema's <any namespace="…xmldsig#"/>.
const dsigParticle = "{xmldsig}"

func enumOf[T ~string](vals []T) []string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = string(v)
	}
	return s
}

func one(name string, t valueType) particle { return particle{name: name, min: 1, max: 1, typ: t} }
func opt(name string, t valueType) particle { return particle{name: name, min: 0, max: 1, typ: t} }
func many(name string, min int, t valueType) particle {
	return particle{name: name, min: min, max: unbounded, typ: t}
}
func enum(p particle, vals []string) particle { p.typ, p.enum = enumType, vals; return p }
func seq(p particle, children ...particle) particle {
	p.typ, p.children = complexType, children
	return p
}

var valuePair = []particle{one("valueName", stringType), one("value", stringType)}

var responseTypes = []string{"Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"}

// alertSchema is the <alert> element of CAP 1.2.
var alertSchema = seq(one("alert", complexType),
	one("identifier", stringType),
	one("sender", stringType),
	one("sent", dateTimeType),
	enum(one("status", enumType), enumOf(tocsin.Statuses)),
	enum(one("msgType", enumType), enumOf(tocsin.MsgTypes)),
	opt("source", stringType),
	enum(one("scope", enumType), enumOf(tocsin.Scopes)),
	opt("restriction", stringType),
	opt("addresses", stringType),
	many("code", 0, stringType),
	opt("note", stringType),
	opt("references", stringType),
	opt("incidents", stringType),
	seq(many("info", 0, complexType),
		opt("language", languageType),
		enum(many("category", 1, enumType), enumOf(tocsin.Categories)),
		one("event", stringType),
		enum(many("responseType", 0, enumType), responseTypes),
		enum(one("urgency", enumType), enumOf(tocsin.Urgencies)),
		enum(one("severity", enumType), enumOf(tocsin.Severities)),
		enum(one("certainty", enumType), enumOf(tocsin.Certainties)),
		opt("audience", stringType),
		seq(many("eventCode", 0, complexType), valuePair...),
		opt("effective", dateTimeType),
		opt("onset", dateTimeType),
		opt("expires", dateTimeType),
		opt("senderName", stringType),
		opt("headline", stringType),
		opt("description", stringType),
		opt("instruction", stringType),
		opt("web", anyURIType),
		opt("contact", stringType),
		seq(many("parameter", 0, complexType), valuePair...),
		seq(many("resource", 0, complexType),
			one("resourceDesc", stringType),
			one("mimeType", stringType),
			opt("size", integerType),
			opt("uri", anyURIType),
			opt("derefUri", stringType),
			opt("digest", stringType),
		),
		seq(many("area", 0, complexType),
			one("areaDesc", stringType),
			many("polygon", 0, stringType),
			many("circle", 0, stringType),
			seq(many("geocode", 0, complexType), valuePair...),
			opt("altitude", decimalType),
			opt("ceiling", decimalType),
		),
	),
	many(dsigParticle, 0, complexType),
)

// checkNode holds n, already known to be the element p describes, to p:
// its children's order and counts, and each text value's type.
func checkNode(n *node, p particle) error {
	if p.typ != complexType {
		if len(n.children) > 0 {
			c := n.children[0]
			return invalidAt(c.line, n.path, "<%s> holds text only, not the element <%s>", n.local, c.display())
		}
		return checkValue(n, p)
	}
	if n.text != "" && !isXMLSpace(n.text) {
		return invalidAt(n.textLine, n.path, "text is not allowed directly inside <%s>, only elements", n.local)
	}
	i, count := 0, 0 // the particle being matched, and how often it has occurred
	for _, c := range n.children {
		j := i
		for j < len(p.children) && !p.children[j].matches(c) {
			j++
		}
		if j == len(p.children) {
			return unexpected(n, c, p, i)
		}
		if j > i {
			if count < p.children[i].min {
				return missingBefore(n, c, p.children[i])
			}
			for _, skipped := range p.children[i+1 : j] {
				if skipped.min > 0 {
					return missingBefore(n, c, skipped)
				}
			}
			i, count = j, 0
		}
		count++
		q := p.children[i]
		if q.max != unbounded && count > q.max {
			return invalidAt(c.line, c.path, "<%s> may appear only once here", c.local)
		}
		if q.name == dsigParticle {
			continue // the schema's lax wildcard: XML Signature content is not checked here
		}
		if err := checkNode(c, q); err != nil {
			return err
		}
	}
	if i < len(p.children) && count < p.children[i].min {
		return missing(n, n.endLine, p.children[i])
	}
	for _, rest := range p.children[min(i+1, len(p.children)):] {
		if rest.min > 0 {
			return missing(n, n.endLine, rest)
		}
	}
	return nil
}

func (p particle) matches(n *node) bool {
	if p.name == dsigParticle {
		return n.space == dsigNamespace
	}
	return n.space == Namespace && n.local == p.name
}

// missingBefore reports that particle p, required before child c of n, is
// not there: out of order if it comes later, else missing.
func missingBefore(n, c *node, p particle) error {
	after := false
	for _, later := range n.children {
		if later == c {
			after = true
		} else if after && p.matches(later) {
			return invalidAt(later.line, later.path, "<%s> is out of order: it must come before <%s>", later.local, c.display())
		}
	}
	return missing(n, c.line, p)
}

func missing(n *node, line int, p particle) error {
	return invalidAt(line, n.path, "<%s> is missing a required <%s>", n.local, p.name)
}

// unexpected explains why child c of n matches no particle at or after i.
func unexpected(n, c *node, p particle, i int) error {
	if c.space != Namespace && c.space != dsigNamespace {
		if c.space == "" {
			return invalidAt(c.line, c.path, "<%s> has no namespace; CAP elements are in %s", c.display(), Namespace)
		}
		return invalidAt(c.line, c.path, "<%s> is not a CAP 1.2 element (namespace %q)", c.display(), c.space)
	}
	for k := range i {
		if p.children[k].matches(c) {
			return invalidAt(c.line, c.path, "<%s> is out of order: it must come before <%s>", c.local, p.children[i].display())
		}
	}
	return invalidAt(c.line, c.path, "<%s> is not allowed in <%s>", c.display(), n.local)
}

func (p particle) display() string {
	if p.name == dsigParticle {
		return "ds:Signature"
	}
	return p.name
}

// checkValue checks the text of a simple-typed element.
func checkValue(n *node, p particle) error {
	v := n.text
	switch p.typ {
	case enumType:
		if !slices.Contains(p.enum, v) {
			return invalidAt(n.line, n.path, "%q is not one of %s", v, strings.Join(p.enum, ", "))
		}
	case dateTimeType:
		if _, err := parseDateTime(collapse(v)); err != nil {
			return invalidAt(n.line, n.path, "%v", err)
		}
	case languageType:
		if v := collapse(v); v != "" && !isXSLanguage(v) {
			// An empty <language/> takes the schema's default, en-US.
			return invalidAt(n.line, n.path, "%q is not a language tag such as en or es-MX", v)
		}
	case anyURIType:
		if err := checkAnyURI(collapse(v)); err != nil {
			return invalidAt(n.line, n.path, "%q is not a URI: %v", v, err)
		}
	case integerType:
		if !isXSInteger(collapse(v)) {
			return invalidAt(n.line, n.path, "%q is not an integer", v)
		}
	case decimalType:
		if !isXSDecimal(collapse(v)) {
			return invalidAt(n.line, n.path, "%q is not a decimal number", v)
		}
	}
	return nil
}

// isXMLSpace reports whether s is only XML whitespace (space, tab, CR, LF).
func isXMLSpace(s string) bool {
	return strings.Trim(s, " \t\r\n") == ""
}

// collapse applies XML Schema's whitespace "collapse": every run of XML
// whitespace becomes one space, and leading and trailing space go.
func collapse(s string) string {
	return strings.Join(xmlFields(s), " ")
}

// xmlFields splits s at runs of XML whitespace. Unlike strings.Fields it
// does not treat U+00A0 and other Unicode spaces as separators.
func xmlFields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' })
}

// isXSLanguage matches xs:language: [a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*.
func isXSLanguage(s string) bool {
	for i, part := range strings.Split(s, "-") {
		if len(part) < 1 || len(part) > 8 {
			return false
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// isXSInteger matches xs:integer: [+-]?[0-9]+.
func isXSInteger(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// isXSDecimal matches xs:decimal: [+-]?([0-9]+(.[0-9]*)?|.[0-9]+).
func isXSDecimal(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(d string) bool { return strings.Trim(d, "0123456789") == "" }
	return digits(whole) && digits(frac) && (whole != "" || dot && frac != "")
}

// checkAnyURI approximates libxml2's xs:anyURI check: characters that are
// not allowed in a URI are replaced by '_' and the rest must parse.
func checkAnyURI(s string) error {
	b := []byte(s)
	for i, c := range b {
		if c < 32 || c >= 127 || strings.IndexByte(" <>\"{}|\\^`'", c) >= 0 {
			b[i] = '_'
		}
	}
	if _, err := url.Parse(string(b)); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err
		}
		return err
	}
	return nil
}

// parseDateTime parses CAP's form of xs:dateTime, YYYY-MM-DDThh:mm:ss±hh:mm,
// with the checks libxml2 applies to the type (a real calendar date, an
// offset within ±14:00, 24:00:00 as the end of the day). It also refuses
// years before 1900 or after 9999, which no CAP message can honestly carry.
func parseDateTime(s string) (time.Time, error) {
	const form = "YYYY-MM-DDThh:mm:ss±hh:mm"
	if len(s) != len("2006-01-02T15:04:05-07:00") {
		return time.Time{}, fmt.Errorf("%q is not a CAP date and time (%s, no fraction, a numeric offset and no Z)", s, form)
	}
	num := func(i, j int) int {
		n := 0
		for _, c := range []byte(s[i:j]) {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	oh, om := num(20, 22), num(23, 25)
	if year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || sec < 0 || oh < 0 || om < 0 ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[22] != ':' ||
		(s[19] != '+' && s[19] != '-') {
		return time.Time{}, fmt.Errorf("%q is not a CAP date and time (%s, no fraction, a numeric offset and no Z)", s, form)
	}
	switch {
	case year == 0:
		return time.Time{}, fmt.Errorf("%q: there is no year 0000", s)
	case month < 1 || month > 12:
		return time.Time{}, fmt.Errorf("%q: month %02d does not exist", s, month)
	case day < 1 || day > daysIn(time.Month(month), year):
		return time.Time{}, fmt.Errorf("%q: day %02d does not exist in that month", s, day)
	case hour == 24 && (minute != 0 || sec != 0), hour > 24, minute > 59, sec > 59:
		return time.Time{}, fmt.Errorf("%q: the time of day is out of range", s)
	case om > 59 || oh*60+om > 14*60:
		return time.Time{}, fmt.Errorf("%q: the offset is beyond ±14:00", s)
	}
	off := (oh*60 + om) * 60
	if s[19] == '-' {
		off = -off
	}
	loc := time.UTC
	if off != 0 {
		loc = time.FixedZone("", off)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc) // 24:00:00 rolls into the next day
	if t.Year() < minYear || t.Year() > maxYear {
		return time.Time{}, fmt.Errorf("%q: the year is outside %d–%d", s, minYear, maxYear)
	}
	return t, nil
}

// The years tocsin reads and writes. A time before 1900 is an unset field
// or a typo, and CAP's four-digit years end at 9999.
const (
	minYear = 1900
	maxYear = 9999
)

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
