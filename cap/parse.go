package cap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// MaxDocumentSize is the largest CAP document Parse and Verify accept. The
// largest real alerts (long county polygons in several languages) are well
// under it. Readers of outside input should stop at MaxDocumentSize+1 bytes.
const MaxDocumentSize = 1 << 20

// ProvenanceParameter is the <parameter> valueName under which Marshal
// writes an info's provenance (tocsin.Info.Provenance) and Parse reads it.
const ProvenanceParameter = "tocsin:provenance"

// defaultLanguage is the schema's default for <language>.
const defaultLanguage = "en-US"

// maxDepth bounds the nesting Parse keeps in memory. CAP nests five deep
// (alert/info/area/geocode/value); XML Signature content is skipped, not kept.
const maxDepth = 8

var utf8BOM = []byte("\xef\xbb\xbf")

// Parse reads one CAP 1.2 document from an untrusted source and returns its
// alert: identifier as ID, sender, sent (with its offset), status, msgType,
// scope and references exactly as the document has them, and one Info per
// <info>. It does not check a signature; call Verify first when one is
// required.
//
// Each CAP <area> becomes one tocsin.Area per <polygon> and per <circle> in
// it, with the area's description and geocodes, or one Area with no
// geometry when it has only geocodes. CAP repeats areas in every info and
// tocsin keeps them once per alert: the first info's areas, then any area
// of a later info that is not among them. A geocode name that occurs more
// than once keeps its values separated by single spaces. Elements tocsin
// has no field for (onset, eventCode, resource, other parameters…) are
// checked and dropped.
//
// Parse refuses, with a *tocsin.Error, documents over MaxDocumentSize or
// whose areas, repeated per info, would expand past four times that
// (ETOOLARGE) and, with EINVALID and a message such as "CAP line 17,
// <alert/info[1]/area[1]/polygon[1]>: polygon is not closed: …":
//   - anything with a DOCTYPE or entity declaration, checked before the
//     document is parsed;
//   - XML that is not well-formed, not UTF-8, or not XML 1.0;
//   - anything the CAP 1.2 schema rejects: root element and namespace,
//     element order and counts, attributes, text where only elements may
//     be, enumerations, dateTime, language, integer, decimal and URI forms;
//   - what CAP's text forbids: identifiers and senders that are empty or
//     have spaces, commas, '<' or '&', references not in
//     "sender,identifier,sent" form, polygons not closed or with fewer than
//     4 points, circles without a positive radius, coordinates out of range;
//   - times before 1900 or after 9999.
func Parse(data []byte) (*tocsin.Alert, error) {
	if len(data) > MaxDocumentSize {
		return nil, tocsin.Errorf(tocsin.ETOOLARGE, "CAP document is %d bytes; the limit is %d", len(data), MaxDocumentSize)
	}
	root, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := checkNode(root, alertSchema); err != nil {
		return nil, err
	}
	return buildAlert(root)
}

// node is an element of a document being parsed. Content in the XML
// Signature namespace is not kept.
type node struct {
	space, local string
	path         string // such as alert/info[1]/area[2], for messages
	endOffset    int64  // the byte offset of the end tag ("</…") in the document, after any BOM
	line         int    // where the start tag ends
	endLine      int    // where the end tag ends
	textLine     int    // where the first non-space text is
	text         string
	buf          []byte         // text while decoding
	counts       map[string]int // children so far by name, for their paths
	children     []*node
}

func (n *node) display() string {
	if n.space == dsigNamespace {
		return "ds:" + n.local
	}
	return n.local
}

// repeatable are the CAP elements that may occur more than once in their
// parent; their paths carry an index.
var repeatable = map[string]bool{
	"code": true, "info": true, "category": true, "responseType": true, "eventCode": true,
	"parameter": true, "resource": true, "area": true, "polygon": true, "circle": true, "geocode": true,
}

// decode checks that data is a well-formed UTF-8 XML document without any
// DTD and returns its root element.
func decode(data []byte) (*node, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	// Refuse DTDs before any parser sees them: no external entities, no
	// entity expansion. A declaration cannot appear in well-formed XML
	// except in a DOCTYPE, so this only also catches the words in comments
	// and CDATA, which a CAP document has no need for.
	for _, bad := range []string{"<!DOCTYPE", "<!ENTITY"} {
		if i := bytes.Index(data, []byte(bad)); i >= 0 {
			return nil, invalidAt(1+bytes.Count(data[:i], []byte("\n")), "", "%s is not accepted: CAP documents have no DTD", bad)
		}
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) { return nil, &encodingError{label} }
	var (
		stack []*node
		root  *node
		skip  int // depth inside an XML Signature element
	)
	for {
		offset := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		line, _ := d.InputPos()
		if err != nil {
			var (
				se  *xml.SyntaxError
				enc *encodingError
			)
			switch {
			case errors.As(err, &enc):
				return nil, invalidAt(line, "", "encoding %q is not accepted; CAP documents here must be UTF-8", enc.label)
			case errors.As(err, &se):
				return nil, invalidAt(se.Line, "", "not well-formed XML: %s", se.Msg)
			}
			return nil, invalidAt(line, "", "not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if strings.EqualFold(t.Target, "xml") {
				if offset != 0 || t.Target != "xml" {
					return nil, invalidAt(line, "", "the XML declaration must come first, as <?xml")
				}
				if !xmlDecl.Match(t.Inst) {
					return nil, invalidAt(line, "", "not well-formed XML: the XML declaration %q is not version, encoding and standalone in that order", t.Inst)
				}
			}
		case xml.Directive:
			return nil, invalidAt(line, "", "<!%s> is not accepted: CAP documents have no DTD", firstWord(t))
		case xml.Comment:
		case xml.CharData:
			if skip > 0 {
				continue
			}
			// encoding/xml lets two things through that XML forbids: a
			// character reference to a surrogate, and CDATA outside the
			// root element. Look at the text as written.
			raw := data[offset:d.InputOffset()]
			cdata := bytes.HasPrefix(raw, []byte("<![CDATA["))
			if !cdata {
				if err := checkCharRefs(raw); err != nil {
					return nil, invalidAt(line, "", "not well-formed XML: %v", err)
				}
			}
			if len(stack) == 0 {
				if cdata || !isXMLSpace(string(t)) {
					return nil, invalidAt(line, "", "text outside the <alert> element")
				}
				continue
			}
			top := stack[len(stack)-1]
			if top.textLine == 0 && !isXMLSpace(string(t)) {
				top.textLine = line
			}
			top.buf = append(top.buf, t...)
		case xml.StartElement:
			if skip > 0 {
				skip++
				continue
			}
			if root != nil && len(stack) == 0 {
				return nil, invalidAt(line, "", "a second root element <%s> after <alert>", t.Name.Local)
			}
			if len(stack) >= maxDepth {
				return nil, invalidAt(line, stack[len(stack)-1].path, "elements nested too deeply")
			}
			n := &node{space: t.Name.Space, local: t.Name.Local, line: line}
			if len(stack) == 0 {
				root, n.path = n, n.local
			} else {
				parent := stack[len(stack)-1]
				n.path = parent.path + "/" + n.display()
				if repeatable[n.local] {
					if parent.counts == nil {
						parent.counts = map[string]int{}
					}
					parent.counts[n.space+" "+n.local]++
					n.path += "[" + strconv.Itoa(parent.counts[n.space+" "+n.local]) + "]"
				}
				parent.children = append(parent.children, n)
			}
			if n.space == dsigNamespace {
				skip = 1 // kept as a child for the content model, its content is not looked at
				continue
			}
			for i, a := range t.Attr {
				for _, b := range t.Attr[:i] {
					if a.Name == b.Name {
						return nil, invalidAt(line, n.path, "not well-formed XML: attribute %q appears twice", a.Name.Local)
					}
				}
				switch {
				case a.Name.Space == "xmlns", a.Name.Space == "" && a.Name.Local == "xmlns":
				case a.Name.Space == xsiNamespace && (a.Name.Local == "schemaLocation" || a.Name.Local == "noNamespaceSchemaLocation"):
				default:
					return nil, invalidAt(line, n.path, "attribute %q is not allowed: CAP elements have no attributes", a.Name.Local)
				}
			}
			stack = append(stack, n)
		case xml.EndElement:
			if skip > 0 {
				skip--
				continue
			}
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n.endLine, n.endOffset = line, offset
			n.text, n.buf = string(n.buf), nil
		}
	}
	if root == nil {
		return nil, invalidAt(1, "", "no <alert> element")
	}
	if root.space != Namespace || root.local != "alert" {
		if root.local == "alert" && strings.HasPrefix(root.space, "urn:oasis:names:tc:emergency:cap:") {
			return nil, invalidAt(root.line, root.path, "namespace %q is not CAP 1.2 (%s)", root.space, Namespace)
		}
		return nil, invalidAt(root.line, root.path, "the root element must be <alert> in namespace %s", Namespace)
	}
	return root, nil
}

// xmlDecl is what an XML declaration may hold after "<?xml".
var xmlDecl = regexp.MustCompile(`^[ \t\r\n]*version[ \t\r\n]*=[ \t\r\n]*("1\.[0-9]+"|'1\.[0-9]+')` +
	`([ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*("[A-Za-z][A-Za-z0-9._-]*"|'[A-Za-z][A-Za-z0-9._-]*'))?` +
	`([ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*("(yes|no)"|'(yes|no)'))?[ \t\r\n]*$`)

// checkCharRefs checks that every numeric character reference in raw, text
// as written in the document, names a character XML allows.
func checkCharRefs(raw []byte) error {
	for {
		i := bytes.Index(raw, []byte("&#"))
		if i < 0 {
			return nil
		}
		raw = raw[i+2:]
		end := bytes.IndexByte(raw, ';')
		if end < 0 {
			return errors.New("a character reference without ';'")
		}
		ref, base := string(raw[:end]), 10
		if strings.HasPrefix(ref, "x") {
			ref, base = ref[1:], 16
		}
		v, err := strconv.ParseUint(ref, base, 32)
		if err != nil || !isXMLChar(rune(v)) {
			return fmt.Errorf("&#%s; is not a character XML allows", raw[:end])
		}
		raw = raw[end+1:]
	}
}

// encodingError refuses an XML declaration naming an encoding other than UTF-8.
type encodingError struct{ label string }

func (e *encodingError) Error() string { return "encoding " + e.label + " is not supported" }

func firstWord(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		s = s[:i]
	}
	if len(s) > 20 {
		s = s[:20]
	}
	return s
}

// maxExpanded bounds the size of what Parse returns, as Marshal would
// write it. CAP lets one <area> carry many circles, polygons and geocodes,
// and tocsin keeps one area per circle or polygon, each with the geocodes,
// and writes the areas in every info; without a bound, a 1 MiB document
// could become gigabytes.
const maxExpanded = 4 * MaxDocumentSize

// tooLarge returns the ETOOLARGE error for a document that would expand
// past maxExpanded.
func tooLarge(line int, path, format string, args ...any) error {
	e := invalidAt(line, path, format, args...).(*tocsin.Error)
	e.Code = tocsin.ETOOLARGE
	return e
}

// invalidAt returns the EINVALID error for a problem at line of a document,
// in the element at path ("" for the document as a whole).
func invalidAt(line int, path, format string, args ...any) error {
	detail := fmt.Sprintf(format, args...)
	field := path
	if field == "" {
		field = "document"
	}
	msg := fmt.Sprintf("CAP line %d: %s", line, detail)
	if path != "" {
		msg = fmt.Sprintf("CAP line %d, <%s>: %s", line, path, detail)
	}
	return &tocsin.Error{
		Code:    tocsin.EINVALID,
		Message: msg,
		Fields:  []tocsin.FieldError{{Field: field, Detail: fmt.Sprintf("line %d: %s", line, detail)}},
	}
}

// buildAlert turns a document that passed checkNode into an alert, with the
// checks CAP's text adds to the schema.
func buildAlert(root *node) (*tocsin.Alert, error) {
	a := &tocsin.Alert{}
	seen := map[string]bool{} // area keys, to keep each area once
	areaBytes := 0            // the size of a.Areas as Marshal writes them, roughly
	budget := 0               // what the areas of all infos hold, roughly, in bytes
	infos := 0
	for _, c := range root.children {
		if c.space == Namespace && c.local == "info" {
			infos++
		}
	}
	for _, c := range root.children {
		if c.space != Namespace {
			continue
		}
		var err error
		switch c.local {
		case "identifier":
			a.ID = c.text
			err = checkCAPName("identifier", c.text)
		case "sender":
			a.Sender = c.text
			err = checkCAPName("sender", c.text)
		case "sent":
			a.Sent, err = parseDateTime(collapse(c.text))
		case "status":
			a.Status = tocsin.Status(c.text)
		case "msgType":
			a.MsgType = tocsin.MsgType(c.text)
		case "scope":
			a.Scope = tocsin.Scope(c.text)
		case "references":
			a.References, err = parseReferences(c.text)
		case "info":
			var (
				in    tocsin.Info
				areas []tocsin.Area
			)
			in, areas, err = buildInfo(c, &budget)
			if err != nil {
				break
			}
			a.Infos = append(a.Infos, in)
			first := len(a.Infos) == 1
			for _, ar := range areas {
				k := areaKey(ar)
				if first || !seen[k] {
					a.Areas = append(a.Areas, ar)
					areaBytes += len(k) + len(ar.Description) + 200
				}
				seen[k] = true
			}
			// Marshal repeats every area in every info; refuse a document
			// whose alert would grow far beyond its own size that way.
			if infos*areaBytes > maxExpanded {
				return nil, tooLarge(c.line, c.path, "its areas, repeated in each of its %d infos, would take over %d bytes", infos, maxExpanded)
			}
		}
		if err != nil {
			var e *tocsin.Error
			if errors.As(err, &e) {
				return nil, err
			}
			return nil, invalidAt(c.line, c.path, "%v", err)
		}
	}
	return a, nil
}

func buildInfo(n *node, budget *int) (tocsin.Info, []tocsin.Area, error) {
	in := tocsin.Info{Language: defaultLanguage}
	var areas []tocsin.Area
	for _, c := range n.children {
		switch c.local {
		case "language":
			if v := collapse(c.text); v != "" {
				in.Language = v
			}
		case "category":
			in.Category = append(in.Category, tocsin.Category(c.text))
		case "event":
			in.Event = normText(c.text)
		case "urgency":
			in.Urgency = tocsin.Urgency(c.text)
		case "severity":
			in.Severity = tocsin.Severity(c.text)
		case "certainty":
			in.Certainty = tocsin.Certainty(c.text)
		case "expires":
			t, err := parseDateTime(collapse(c.text))
			if err != nil {
				return in, nil, invalidAt(c.line, c.path, "%v", err)
			}
			in.Expires = &t
		case "headline":
			in.Headline = normText(c.text)
		case "description":
			in.Description = normText(c.text)
		case "instruction":
			in.Instruction = normText(c.text)
		case "parameter":
			if name, value := pair(c); name == ProvenanceParameter && in.Provenance == "" {
				in.Provenance = normText(value)
			}
		case "area":
			ar, err := buildArea(c, budget)
			if err != nil {
				return in, nil, err
			}
			areas = append(areas, ar...)
		}
	}
	return in, areas, nil
}

// pair returns the valueName and value of an eventCode, parameter or geocode.
func pair(n *node) (name, value string) {
	for _, c := range n.children {
		switch c.local {
		case "valueName":
			name = c.text
		case "value":
			value = c.text
		}
	}
	return normText(name), normText(value)
}

// buildArea returns the areas of one CAP <area>, adding their size to
// *budget and refusing to go past maxExpanded.
func buildArea(n *node, budget *int) ([]tocsin.Area, error) {
	var (
		desc      string
		geocodes  map[string][]string
		codeBytes int
		polygons  []geo.Polygon
		circles   []*geo.Circle
	)
	for _, c := range n.children {
		switch c.local {
		case "areaDesc":
			desc = normText(c.text)
		case "polygon":
			p, err := parsePolygon(c.text)
			if err != nil {
				return nil, invalidAt(c.line, c.path, "%v", err)
			}
			polygons = append(polygons, p)
		case "circle":
			ci, err := parseCircle(c.text)
			if err != nil {
				return nil, invalidAt(c.line, c.path, "%v", err)
			}
			circles = append(circles, ci)
		case "geocode":
			name, value := pair(c)
			if geocodes == nil {
				geocodes = map[string][]string{}
			}
			geocodes[name] = append(geocodes[name], value)
			codeBytes += len(name) + len(value) + 60
		}
	}
	// Each circle and polygon becomes an area of its own with all of the
	// geocodes: refuse before copying them when that would be huge.
	copies := max(1, len(polygons)+len(circles))
	*budget += copies * (codeBytes + len(desc) + 100)
	if *budget > maxExpanded {
		return nil, tooLarge(n.line, n.path, "the areas, with a copy of their geocodes for each circle and polygon, would take over %d bytes", maxExpanded)
	}
	joined := func() map[string]string {
		if geocodes == nil {
			return nil
		}
		m := make(map[string]string, len(geocodes))
		for k, v := range geocodes {
			m[k] = strings.Join(v, " ")
		}
		return m
	}
	var areas []tocsin.Area
	for _, p := range polygons {
		areas = append(areas, tocsin.Area{Description: desc, Polygon: p, Geocodes: joined()})
	}
	for _, c := range circles {
		areas = append(areas, tocsin.Area{Description: desc, Circle: c, Geocodes: joined()})
	}
	if len(areas) == 0 {
		areas = append(areas, tocsin.Area{Description: desc, Geocodes: joined()})
	}
	return areas, nil
}

// areaKey identifies an area by its geometry and geocodes, so that the
// same place described in another language is kept once.
func areaKey(a tocsin.Area) string {
	var b strings.Builder
	if c := a.Circle; c != nil {
		fmt.Fprintf(&b, "c%g,%g,%g", c.Lat, c.Lon, c.RadiusKM)
	}
	for _, p := range a.Polygon {
		fmt.Fprintf(&b, "p%g,%g", p.Lat, p.Lon)
	}
	for _, k := range slices.Sorted(maps.Keys(a.Geocodes)) {
		fmt.Fprintf(&b, "g%q=%q", k, a.Geocodes[k])
	}
	return b.String()
}

// normText turns the line ends CR LF and CR into LF. Free text in CAP is
// plain text; a literal CR (written &#xD;) would otherwise survive XML's
// own line-end handling and break signatures after re-serialization.
func normText(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// checkCAPName checks an identifier or sender: CAP forbids spaces, commas
// and the restricted characters '<' and '&' in them.
func checkCAPName(field, s string) error {
	if s == "" {
		return fmt.Errorf("the %s is empty", field)
	}
	if i := strings.IndexAny(s, " \t\r\n,<&"); i >= 0 {
		return fmt.Errorf("the %s %q contains %q; CAP forbids spaces, commas, '<' and '&' in it", field, s, s[i])
	}
	return nil
}

// Reference is one entry of a CAP <references>: the sender, identifier and
// sent time of an earlier message.
type Reference struct {
	Sender     string
	Identifier string
	Sent       time.Time
}

// String returns r as CAP writes it, "sender,identifier,sent".
func (r Reference) String() string {
	sent, err := formatTime(r.Sent)
	if err != nil {
		sent = r.Sent.Format("2006-01-02T15:04:05-07:00")
	}
	return r.Sender + "," + r.Identifier + "," + sent
}

// ParseReference parses one "sender,identifier,sent" entry of a CAP
// <references>, as Parse returns them in tocsin.Alert.References.
func ParseReference(s string) (Reference, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Reference{}, fmt.Errorf("reference %q is not sender,identifier,sent", s)
	}
	if err := checkCAPName("referenced sender", parts[0]); err != nil {
		return Reference{}, err
	}
	if err := checkCAPName("referenced identifier", parts[1]); err != nil {
		return Reference{}, err
	}
	t, err := parseDateTime(parts[2])
	if err != nil {
		return Reference{}, fmt.Errorf("reference %q: sent %w", s, err)
	}
	return Reference{Sender: parts[0], Identifier: parts[1], Sent: t}, nil
}

func parseReferences(s string) ([]string, error) {
	refs := xmlFields(s)
	for _, r := range refs {
		if _, err := ParseReference(r); err != nil {
			return nil, err
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	return refs, nil
}

// parsePolygon reads CAP's "lat,lon lat,lon …", a closed ring of at least
// four points.
func parsePolygon(s string) (geo.Polygon, error) {
	f := xmlFields(s)
	if len(f) < 4 {
		return nil, fmt.Errorf("a polygon needs at least 4 points, the first repeated at the end; this one has %d", len(f))
	}
	p := make(geo.Polygon, len(f))
	for i, pair := range f {
		pt, err := parsePoint(pair)
		if err != nil {
			return nil, fmt.Errorf("point %d: %w", i+1, err)
		}
		p[i] = pt
	}
	if p[0] != p[len(p)-1] {
		return nil, fmt.Errorf("polygon is not closed: the first point %s differs from the last %s", f[0], f[len(f)-1])
	}
	return p, nil
}

// parseCircle reads CAP's "lat,lon radius", the radius in kilometres.
func parseCircle(s string) (*geo.Circle, error) {
	f := xmlFields(s)
	if len(f) != 2 {
		return nil, fmt.Errorf("a circle is \"lat,lon radius\", not %q", s)
	}
	pt, err := parsePoint(f[0])
	if err != nil {
		return nil, err
	}
	r, err := parseNumber(f[1])
	if err != nil {
		return nil, fmt.Errorf("radius: %w", err)
	}
	if r <= 0 {
		return nil, fmt.Errorf("radius %s km must be more than 0", f[1])
	}
	return &geo.Circle{Lat: pt.Lat, Lon: pt.Lon, RadiusKM: r}, nil
}

func parsePoint(s string) (geo.Point, error) {
	la, lo, ok := strings.Cut(s, ",")
	if !ok {
		return geo.Point{}, fmt.Errorf("%q is not lat,lon", s)
	}
	lat, err := parseNumber(la)
	if err != nil {
		return geo.Point{}, fmt.Errorf("latitude: %w", err)
	}
	lon, err := parseNumber(lo)
	if err != nil {
		return geo.Point{}, fmt.Errorf("longitude: %w", err)
	}
	p := geo.Point{Lat: lat, Lon: lon}
	if err := geo.ValidatePoint(p); err != nil {
		return geo.Point{}, err
	}
	return p, nil
}

// parseNumber reads a decimal number, with an optional exponent; not NaN,
// Inf, hexadecimal or underscores, which strconv would also take.
func parseNumber(s string) (float64, error) {
	t := strings.TrimLeft(s, "+-")
	if len(s)-len(t) > 1 {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	mant, exp, hasExp := strings.Cut(strings.ToLower(t), "e")
	if hasExp && len(exp) > 0 && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}
	if !isXSDecimal(mant) || hasExp && (exp == "" || strings.Trim(exp, "0123456789") != "") {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return v, nil
}
