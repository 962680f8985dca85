package cap

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/geo"
)

// ExportOptions are what Marshal needs beyond the alert itself.
type ExportOptions struct {
	// LookupReference returns the sender and sent time of the alert with
	// the given ID, so that an entry of Alert.References that is a tocsin
	// alert ID can be written as CAP's "sender,identifier,sent". Entries
	// that already have that form, as Parse returns them for imported
	// alerts, are written as they are and never looked up. An error from
	// it is returned by Marshal, wrapped.
	LookupReference func(id string) (sender string, sent time.Time, err error)

	// SenderName, when set, is written as every info's <senderName>: the
	// name of the network or agency people will recognise.
	SenderName string
}

// Marshal writes a as a CAP 1.2 document in the schema's element order:
// the alert's ID as <identifier>, times with their numeric offset (UTC as
// -00:00, whole seconds), references as "sender,identifier,sent", one
// <info> per Info, each info's provenance as a <parameter> named
// ProvenanceParameter, and, since CAP keeps areas inside infos, all of the
// alert's areas repeated in every info. Polygons are "lat,lon" pairs,
// circles "lat,lon radius_km", geocodes one <geocode> per value (a value
// with spaces is written as several values of the same name).
//
// Marshal returns an EINVALID *tocsin.Error when a cannot be written as
// valid CAP: an ID or sender with spaces, commas, '<' or '&', an
// enumeration outside CAP's, a polygon that is not closed, a time before
// 1900 (a field that was never set), and the like. Free text is written
// with CR LF as LF, and characters XML cannot carry as U+FFFD.
func Marshal(a *tocsin.Alert, opt ExportOptions) ([]byte, error) {
	w := &capWriter{}
	w.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.b.WriteString(`<alert xmlns="` + Namespace + `">` + "\n")
	w.depth = 1

	if err := checkCAPName("identifier", a.ID); err != nil {
		return nil, exportErr("id", "%v", err)
	}
	if err := checkCAPName("sender", a.Sender); err != nil {
		return nil, exportErr("sender", "%v", err)
	}
	sent, err := formatTime(a.Sent)
	if err != nil {
		return nil, exportErr("sent", "%v", err)
	}
	if !a.Status.Valid() || !a.MsgType.Valid() || !a.Scope.Valid() {
		field, v := "status", string(a.Status)
		if !a.MsgType.Valid() {
			field, v = "msg_type", string(a.MsgType)
		}
		if !a.Scope.Valid() {
			field, v = "scope", string(a.Scope)
		}
		return nil, exportErr(field, "%q is not a CAP 1.2 %s", v, field)
	}
	w.elem("identifier", a.ID)
	w.elem("sender", a.Sender)
	w.elem("sent", sent)
	w.elem("status", string(a.Status))
	w.elem("msgType", string(a.MsgType))
	w.elem("scope", string(a.Scope))
	if len(a.References) > 0 {
		refs := make([]string, len(a.References))
		for i, r := range a.References {
			if refs[i], err = reference(r, opt); err != nil {
				return nil, err
			}
		}
		w.elem("references", strings.Join(refs, " "))
	}
	for i, in := range a.Infos {
		if err := w.info(i, in, a.Areas, opt); err != nil {
			return nil, err
		}
	}
	w.b.WriteString("</alert>\n")
	return w.b.Bytes(), nil
}

func exportErr(field, format string, args ...any) error {
	detail := fmt.Sprintf(format, args...)
	return &tocsin.Error{
		Code:    tocsin.EINVALID,
		Message: "CAP export: " + field + ": " + detail,
		Fields:  []tocsin.FieldError{{Field: field, Detail: detail}},
	}
}

// reference returns one entry of <references> for r, an entry of
// Alert.References: a "sender,identifier,sent" triple as it is, or the
// triple of the tocsin alert with ID r.
func reference(r string, opt ExportOptions) (string, error) {
	if strings.Contains(r, ",") {
		if _, err := ParseReference(r); err != nil {
			return "", exportErr("references", "%v", err)
		}
		return r, nil
	}
	if err := checkCAPName("referenced alert ID", r); err != nil {
		return "", exportErr("references", "%v", err)
	}
	if opt.LookupReference == nil {
		return "", fmt.Errorf("CAP export: reference %q: no ExportOptions.LookupReference to find its sender and sent time", r)
	}
	sender, sent, err := opt.LookupReference(r)
	if err != nil {
		return "", fmt.Errorf("CAP export: look up reference %q: %w", r, err)
	}
	ref := Reference{Sender: sender, Identifier: r, Sent: sent}
	if err := checkCAPName("referenced sender", sender); err != nil {
		return "", exportErr("references", "%v", err)
	}
	if _, err := formatTime(sent); err != nil {
		return "", exportErr("references", "reference %q: sent %v", r, err)
	}
	return ref.String(), nil
}

func (w *capWriter) info(i int, in tocsin.Info, areas []tocsin.Area, opt ExportOptions) error {
	f := fmt.Sprintf("infos[%d].", i)
	if in.Language != "" && !isXSLanguage(in.Language) {
		return exportErr(f+"language", "%q is not a language tag", in.Language)
	}
	if len(in.Category) == 0 {
		return exportErr(f+"category", "at least one category is required")
	}
	for _, c := range in.Category {
		if !c.Valid() {
			return exportErr(f+"category", "%q is not a CAP 1.2 category", c)
		}
	}
	switch {
	case !in.Urgency.Valid():
		return exportErr(f+"urgency", "%q is not a CAP 1.2 urgency", in.Urgency)
	case !in.Severity.Valid():
		return exportErr(f+"severity", "%q is not a CAP 1.2 severity", in.Severity)
	case !in.Certainty.Valid():
		return exportErr(f+"certainty", "%q is not a CAP 1.2 certainty", in.Certainty)
	}
	var expires string
	if in.Expires != nil {
		var err error
		if expires, err = formatTime(*in.Expires); err != nil {
			return exportErr(f+"expires", "%v", err)
		}
	}

	w.open("info")
	if in.Language != "" {
		w.elem("language", in.Language)
	}
	for _, c := range in.Category {
		w.elem("category", string(c))
	}
	w.elem("event", in.Event)
	w.elem("urgency", string(in.Urgency))
	w.elem("severity", string(in.Severity))
	w.elem("certainty", string(in.Certainty))
	if expires != "" {
		w.elem("expires", expires)
	}
	if opt.SenderName != "" {
		w.elem("senderName", opt.SenderName)
	}
	w.optElem("headline", in.Headline)
	w.optElem("description", in.Description)
	w.optElem("instruction", in.Instruction)
	if in.Provenance != "" {
		w.open("parameter")
		w.elem("valueName", ProvenanceParameter)
		w.elem("value", in.Provenance)
		w.close("parameter")
	}
	for j, ar := range areas {
		if err := w.area(j, ar); err != nil {
			return err
		}
	}
	w.close("info")
	return nil
}

func (w *capWriter) area(j int, ar tocsin.Area) error {
	f := fmt.Sprintf("areas[%d].", j)
	var polygon, circle string
	if ar.Polygon != nil {
		if len(ar.Polygon) < 4 || ar.Polygon[0] != ar.Polygon[len(ar.Polygon)-1] {
			return exportErr(f+"polygon", "a CAP polygon is a closed ring of at least 4 points")
		}
		pairs := make([]string, len(ar.Polygon))
		for k, p := range ar.Polygon {
			if err := geo.ValidatePoint(p); err != nil {
				return exportErr(f+"polygon", "point %d: %v", k+1, err)
			}
			pairs[k] = formatNumber(p.Lat) + "," + formatNumber(p.Lon)
		}
		polygon = strings.Join(pairs, " ")
	}
	if c := ar.Circle; c != nil {
		if err := geo.ValidatePoint(c.Center()); err != nil {
			return exportErr(f+"circle", "centre: %v", err)
		}
		if !(c.RadiusKM > 0) || math.IsInf(c.RadiusKM, 0) {
			return exportErr(f+"circle", "radius %g km must be more than 0", c.RadiusKM)
		}
		circle = formatNumber(c.Lat) + "," + formatNumber(c.Lon) + " " + formatNumber(c.RadiusKM)
	}
	w.open("area")
	w.elem("areaDesc", ar.Description)
	if polygon != "" {
		w.elem("polygon", polygon)
	}
	if circle != "" {
		w.elem("circle", circle)
	}
	for _, name := range slices.Sorted(maps.Keys(ar.Geocodes)) {
		for _, v := range strings.Split(ar.Geocodes[name], " ") {
			w.open("geocode")
			w.elem("valueName", name)
			w.elem("value", v)
			w.close("geocode")
		}
	}
	w.close("area")
	return nil
}

// formatNumber writes v in plain decimal, as short as it can be while
// reading back as the same float64.
func formatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// formatTime writes t as CAP's dateTime in t's own offset, whole seconds,
// UTC as -00:00. A time whose offset is not whole minutes (old local mean
// time) or beyond ±14:00 is written in UTC.
func formatTime(t time.Time) (string, error) {
	_, off := t.Zone()
	if off%60 != 0 || off > 14*3600 || off < -14*3600 {
		t, off = t.UTC(), 0
	}
	if y := t.Year(); y < minYear || y > maxYear {
		return "", fmt.Errorf("year %d is outside %d–%d; is the time set?", y, minYear, maxYear)
	}
	s := t.Format("2006-01-02T15:04:05-07:00")
	if off == 0 {
		s = s[:19] + "-00:00"
	}
	return s, nil
}

// capWriter writes a CAP document, indented two spaces a level.
type capWriter struct {
	b     bytes.Buffer
	depth int
}

func (w *capWriter) indent() {
	for range w.depth {
		w.b.WriteString("  ")
	}
}

func (w *capWriter) open(name string) {
	w.indent()
	w.b.WriteString("<" + name + ">\n")
	w.depth++
}

func (w *capWriter) close(name string) {
	w.depth--
	w.indent()
	w.b.WriteString("</" + name + ">\n")
}

func (w *capWriter) elem(name, text string) {
	w.indent()
	w.b.WriteString("<" + name + ">")
	writeEscaped(&w.b, normText(text))
	w.b.WriteString("</" + name + ">\n")
}

func (w *capWriter) optElem(name, text string) {
	if text != "" {
		w.elem(name, text)
	}
}

// writeEscaped writes s as XML character data: &, < and > escaped, and
// anything XML 1.0 cannot carry (control characters, invalid UTF-8) as
// U+FFFD. Line ends are left as they are; callers pass normText first.
func writeEscaped(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		i += width
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == utf8.RuneError && width == 1, !isXMLChar(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r)
		}
	}
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
