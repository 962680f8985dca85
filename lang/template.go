package lang

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tocsin/tocsin"
)

// Length limits of rendered template text, in characters (runes).
const (
	// MaxTemplateHeadline keeps a headline within one line of a phone
	// notification and well within tocsin.MaxHeadline.
	MaxTemplateHeadline = 90
	// MaxShort is the short text for SMS-like channels and Wireless
	// Emergency Alerts (360 characters).
	MaxShort = 360
)

// ParamType says what a template parameter holds and how it is checked and shown.
type ParamType string

// The parameter types. Values of every type except datetime, choice and
// alert_type, and zone when it resolves to no name, are inserted verbatim:
// never translated, never re-cased.
const (
	// ParamText is short free text, such as a road name.
	ParamText ParamType = "text"
	// ParamName is the name of a person or an organisation.
	ParamName ParamType = "name"
	// ParamPhone is a telephone number or short code, such as "+1 303-555-0100" or "911".
	ParamPhone ParamType = "phone"
	// ParamZone names the area: a zone id, shown as the zone's name in each
	// locale through RenderOptions.ZoneNames, or else the value itself.
	ParamZone ParamType = "zone"
	// ParamPlace is a place people go to or avoid, such as a shelter's name and address.
	ParamPlace ParamType = "place"
	// ParamPerson describes a person: appearance, clothing, vehicle.
	ParamPerson ParamType = "person_description"
	// ParamDateTime is an RFC 3339 time, shown in each locale's format in the alert's time zone.
	ParamDateTime ParamType = "datetime"
	// ParamChoice is one of Choices; each locale words each choice itself.
	ParamChoice ParamType = "choice"
	// ParamAlertType is another template's id, shown as that template's event name.
	ParamAlertType ParamType = "alert_type"
)

// maxParamLength is the longest value of each type, in characters, chosen so
// that any valid values render within MaxTemplateHeadline and MaxShort in
// every locale (TestLongestValuesFit checks it).
var maxParamLength = map[ParamType]int{
	ParamText:      60,
	ParamName:      50,
	ParamPhone:     32,
	ParamZone:      50,
	ParamPlace:     60,
	ParamPerson:    100,
	ParamDateTime:  40,
	ParamChoice:    40,
	ParamAlertType: 40,
}

// Param is one parameter of a template.
type Param struct {
	Name      string    `json:"name"`
	Type      ParamType `json:"type"`
	Required  bool      `json:"required"`
	Example   string    `json:"example"`
	Choices   []string  `json:"choices,omitempty"`
	Default   string    `json:"default,omitempty"`
	MaxLength int       `json:"max_length"`
}

// Template is a vetted alert type that renders natively in every locale.
type Template struct {
	ID string `json:"id"`
	// Version changes whenever a text or a parameter changes; it is part of
	// the provenance of every rendered text.
	Version int `json:"version"`
	// CAP defaults for the infos rendered from this template.
	Category  tocsin.CategoryList `json:"category"`
	Urgency   tocsin.Urgency      `json:"urgency"`
	Severity  tocsin.Severity     `json:"severity"`
	Certainty tocsin.Certainty    `json:"certainty"`
	// Event is the CAP event name in each locale, by locale code.
	Event map[string]string `json:"event"`
	// PublisherOnly templates may be used only by publishers, and
	// RequiresExpiry ones only with an expiry (public-safety appeals).
	PublisherOnly  bool    `json:"publisher_only,omitempty"`
	RequiresExpiry bool    `json:"requires_expiry,omitempty"`
	Params         []Param `json:"params"`
}

// Param returns the parameter named name.
func (t *Template) Param(name string) (Param, bool) {
	for _, p := range t.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// ExampleParams returns each parameter's example value, a complete valid
// set for a preview.
func (t *Template) ExampleParams() map[string]string {
	m := map[string]string{}
	for _, p := range t.Params {
		if p.Example != "" {
			m[p.Name] = p.Example
		}
	}
	return m
}

func (t *Template) clone() Template {
	c := *t
	c.Category = slices.Clone(t.Category)
	c.Event = maps.Clone(t.Event)
	c.Params = slices.Clone(t.Params)
	for i := range c.Params {
		c.Params[i].Choices = slices.Clone(c.Params[i].Choices)
	}
	return c
}

// Templates returns every template, by id.
func Templates() []Template {
	d := data()
	ts := make([]Template, len(d.tpls))
	for i, t := range d.tpls {
		ts[i] = t.clone()
	}
	return ts
}

// FindTemplate returns the template with the given id.
func FindTemplate(id string) (Template, bool) {
	t, ok := data().byID[id]
	if !ok {
		return Template{}, false
	}
	return t.clone(), true
}

// RenderOptions says how to render a template.
type RenderOptions struct {
	// Locale is a supported locale's code (see Match). RenderAll ignores it.
	Locale string
	// TimeZone is the alert's time zone; times show in it. Nil means UTC.
	TimeZone *time.Location
	// ZoneNames returns a zone's name in a locale, or "" when it has none
	// there; nil or "" falls back to the zone's English name and then to the
	// parameter's value itself, so plain place names work too.
	ZoneNames func(zoneID, locale string) string
	// Protected are terms that must never be translated (the glossary and
	// the alert's own terms). Parameter values are always verbatim; this
	// matters for zones: a localized zone name that lacks a protected term
	// present in the zone's English name is not used, the English name is.
	Protected []string
}

// Rendered is one template's text in one locale.
type Rendered struct {
	Locale      string              `json:"language"`
	Template    string              `json:"template"`
	Version     int                 `json:"version"`
	Category    tocsin.CategoryList `json:"category"`
	Event       string              `json:"event"`
	Urgency     tocsin.Urgency      `json:"urgency"`
	Severity    tocsin.Severity     `json:"severity"`
	Certainty   tocsin.Certainty    `json:"certainty"`
	Headline    string              `json:"headline"`
	Short       string              `json:"short"`
	Description string              `json:"description"`
	Instruction string              `json:"instruction"`
	// Provenance is "template:<id>@<version>".
	Provenance string `json:"provenance"`
}

// Info returns r as an alert info carrying the template's CAP defaults; the
// caller overrides severity and the rest from the request and sets Expires.
func (r Rendered) Info() tocsin.Info {
	return tocsin.Info{
		Language:    r.Locale,
		Category:    slices.Clone(r.Category),
		Event:       r.Event,
		Urgency:     r.Urgency,
		Severity:    r.Severity,
		Certainty:   r.Certainty,
		Headline:    r.Headline,
		Description: r.Description,
		Instruction: r.Instruction,
		Provenance:  r.Provenance,
	}
}

// Provenance returns the provenance of text rendered from template id at version.
func Provenance(id string, version int) string {
	return "template:" + id + "@" + strconv.Itoa(version)
}

// Render renders template id with params in opt.Locale. Invalid input is an
// EINVALID *tocsin.Error naming each bad field: "template", "language" or
// "params.<name>" (unknown, missing, malformed, too long, or too long to fit
// the headline or short text in this locale).
func Render(id string, params map[string]string, opt RenderOptions) (Rendered, error) {
	d := data()
	var p tocsin.Problems
	t, ok := d.byID[id]
	if !ok {
		p.Add("template", "no template %q; see the list of templates", id)
		return Rendered{}, p.Err()
	}
	loc, ok := FindLocale(opt.Locale)
	if !ok {
		p.Add("language", "%q is not a supported language; use one of %s", opt.Locale, strings.Join(LocaleCodes(), ", "))
		return Rendered{}, p.Err()
	}
	vals := t.validate(params, &p)
	if len(p) > 0 {
		return Rendered{}, p.Err()
	}
	r := d.render(t, loc.Code, vals, opt, &p)
	return r, p.Err()
}

// RenderAll renders template id with params in every supported locale, in the
// order of Locales. Errors are those of Render, gathered across locales.
func RenderAll(id string, params map[string]string, opt RenderOptions) ([]Rendered, error) {
	d := data()
	var p tocsin.Problems
	t, ok := d.byID[id]
	if !ok {
		p.Add("template", "no template %q; see the list of templates", id)
		return nil, p.Err()
	}
	vals := t.validate(params, &p)
	if len(p) > 0 {
		return nil, p.Err()
	}
	out := make([]Rendered, 0, len(locales))
	for _, l := range locales {
		out = append(out, d.render(t, l.Code, vals, opt, &p))
	}
	if len(p) > 0 {
		return nil, dedupe(p).Err()
	}
	return out, nil
}

func dedupe(p tocsin.Problems) tocsin.Problems {
	var out tocsin.Problems
	seen := map[string]bool{}
	for _, f := range p {
		if !seen[f.Field] {
			seen[f.Field] = true
			out = append(out, f)
		}
	}
	return out
}

// value is one checked parameter value.
type value struct {
	s string
	t time.Time // for datetime
}

var phoneRE = regexp.MustCompile(`^\+?[0-9(][0-9 ().\-]*(?:\s*(?:ext\.?|x)\s*[0-9]{1,6})?$`)

// validate checks params against t's parameters and returns the values to
// render, with defaults filled in, recording each problem in p.
func (t *Template) validate(params map[string]string, p *tocsin.Problems) map[string]value {
	vals := map[string]value{}
	for _, name := range sortedKeys(params) {
		if _, ok := t.Param(name); !ok {
			names := make([]string, len(t.Params))
			for i, q := range t.Params {
				names[i] = q.Name
			}
			p.Add("params."+name, "is not a parameter of %s; it takes %s", t.ID, strings.Join(names, ", "))
		}
	}
	for _, q := range t.Params {
		f := "params." + q.Name
		v := strings.TrimSpace(params[q.Name])
		if v == "" {
			v = q.Default
		}
		if v == "" {
			if q.Required {
				p.Add(f, "is required (for example %q)", q.Example)
			}
			continue
		}
		if problem := checkValue(q, v); problem != "" {
			p.Add(f, "%s", problem)
			continue
		}
		val := value{s: v}
		if q.Type == ParamDateTime {
			val.t, _ = time.Parse(time.RFC3339, v)
		}
		vals[q.Name] = val
	}
	if s, ok := vals["start"]; ok {
		if u, ok := vals["until"]; ok && !u.t.After(s.t) {
			p.Add("params.until", "must be after params.start")
		}
	}
	return vals
}

// checkValue returns what is wrong with v as a value of q, or "".
func checkValue(q Param, v string) string {
	if !utf8.ValidString(v) {
		return "is not valid UTF-8"
	}
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) {
		return "must be one line without control characters"
	}
	if n := utf8.RuneCountInString(v); n > q.MaxLength {
		return fmt.Sprintf("is %d characters long; at most %d fit every language's text", n, q.MaxLength)
	}
	switch q.Type {
	case ParamPhone:
		digits := strings.Count(v, "0") + strings.Count(v, "1") + strings.Count(v, "2") + strings.Count(v, "3") +
			strings.Count(v, "4") + strings.Count(v, "5") + strings.Count(v, "6") + strings.Count(v, "7") +
			strings.Count(v, "8") + strings.Count(v, "9")
		if !phoneRE.MatchString(v) || digits < 3 {
			return "must be a telephone number such as +1 303-555-0100 or a short code such as 311"
		}
	case ParamDateTime:
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return "must be an RFC 3339 date and time such as 2026-03-04T15:30:00-07:00"
		}
	case ParamChoice, ParamAlertType:
		if !slices.Contains(q.Choices, v) {
			return "must be one of " + strings.Join(q.Choices, ", ")
		}
	}
	return ""
}

// localText is one template's texts in one locale, parsed.
type localText struct {
	event   string
	fields  [4]*template.Template // headline, short, description, instruction
	names   [4][]string           // the parameters each field refers to
	choices map[string]map[string]string
}

var fieldNames = [4]string{"headline", "short", "description", "instruction"}

func (d *store) render(t *Template, locale string, vals map[string]value, opt RenderOptions, p *tocsin.Problems) Rendered {
	lt := d.texts[locale][t.ID]
	l, _ := FindLocale(locale)
	rtl := l.RTL()
	args := map[string]string{}
	for _, q := range t.Params {
		v, ok := vals[q.Name]
		if !ok {
			args[q.Name] = ""
			continue
		}
		switch q.Type {
		case ParamDateTime:
			args[q.Name] = FormatTime(v.t, locale, opt.TimeZone)
		case ParamChoice:
			args[q.Name] = lt.choices[q.Name][v.s]
		case ParamAlertType:
			args[q.Name] = d.texts[locale][v.s].event
		case ParamZone:
			args[q.Name] = isolate(zoneName(v.s, locale, opt), rtl, false)
		default:
			args[q.Name] = isolate(v.s, rtl, q.Type == ParamPhone)
		}
	}
	var out [4]string
	for i, tmpl := range lt.fields {
		var b strings.Builder
		if err := tmpl.Execute(&b, args); err != nil {
			// The templates are checked at load; this is a bug, not bad input.
			panic(fmt.Sprintf("lang: template %s %s %s: %v", t.ID, locale, fieldNames[i], err))
		}
		out[i] = b.String()
	}
	limits := [4]int{MaxTemplateHeadline, MaxShort, tocsin.MaxAlertText, tocsin.MaxAlertText}
	for i, s := range out {
		if n := utf8.RuneCountInString(s); n > limits[i] {
			longest := ""
			for _, name := range lt.names[i] {
				if longest == "" || utf8.RuneCountInString(args[name]) > utf8.RuneCountInString(args[longest]) {
					longest = name
				}
			}
			p.Add("params."+longest, "is too long for the %s in %s: it would be %d characters, at most %d fit",
				fieldNames[i], locale, n, limits[i])
		}
	}
	return Rendered{
		Locale:      locale,
		Template:    t.ID,
		Version:     t.Version,
		Category:    slices.Clone(t.Category),
		Event:       lt.event,
		Urgency:     t.Urgency,
		Severity:    t.Severity,
		Certainty:   t.Certainty,
		Headline:    out[0],
		Short:       out[1],
		Description: out[2],
		Instruction: out[3],
		Provenance:  Provenance(t.ID, t.Version),
	}
}

// isolate wraps a verbatim value in right-to-left text in Unicode bidi
// isolates, so that a Latin name or a telephone number inside Arabic keeps its
// own order ("+1 303-555-0100" would otherwise show as "303-555-0100 1+"): a
// first-strong isolate for names, a left-to-right isolate for numbers. The
// value itself is unchanged between the marks.
func isolate(s string, rtl, ltr bool) string {
	switch {
	case !rtl:
		return s
	case ltr:
		return "\u2066" + s + "\u2069" // LRI … PDI
	}
	return "\u2068" + s + "\u2069" // FSI … PDI
}

// zoneName returns the name of zone id in locale: its localized name unless
// that lost a protected term of the English name, else the English name, else id itself.
func zoneName(id, locale string, opt RenderOptions) string {
	if opt.ZoneNames == nil {
		return id
	}
	base := opt.ZoneNames(id, DefaultLocale)
	if base == "" {
		base = id
	}
	name := opt.ZoneNames(id, locale)
	if name == "" {
		return base
	}
	for _, term := range NewGlossary(opt.Protected...).find(base) {
		if !containsTerm(name, term) {
			return base
		}
	}
	return name
}

// The template files: templates/templates.json defines each template
// (language-neutral), templates/<locale>.json holds its texts in one locale.
type definitionsFile struct {
	Templates []*Template `json:"templates"`
}

type textsFile struct {
	Locale    string                 `json:"locale"`
	Review    Review                 `json:"review"`
	Templates map[string]*textsEntry `json:"templates"`
}

type textsEntry struct {
	// Version is the template version these texts were written for; it must
	// equal the definition's, so changing a template forces a look at every locale.
	Version     int                          `json:"version"`
	Event       string                       `json:"event"`
	Headline    string                       `json:"headline"`
	Short       string                       `json:"short"`
	Description string                       `json:"description"`
	Instruction string                       `json:"instruction"`
	Choices     map[string]map[string]string `json:"choices,omitempty"`
}

var idRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

func loadTemplates(fsys fs.FS, s *store) []error {
	var errs []error
	var defs definitionsFile
	if err := readJSON(fsys, "templates/templates.json", &defs); err != nil {
		return []error{err}
	}
	for _, t := range defs.Templates {
		errs = append(errs, checkDefinition(t, s)...)
		s.tpls = append(s.tpls, t)
		s.byID[t.ID] = t
	}
	slices.SortFunc(s.tpls, func(a, b *Template) int { return strings.Compare(a.ID, b.ID) })
	// alert_type parameters choose among the other templates' ids.
	for _, t := range s.tpls {
		for i := range t.Params {
			if t.Params[i].Type == ParamAlertType {
				for _, u := range s.tpls {
					if u.ID != "all_clear" && u.ID != "test_message" {
						t.Params[i].Choices = append(t.Params[i].Choices, u.ID)
					}
				}
			}
		}
	}
	errs = append(errs, extraFiles(fsys, "templates", "templates.json")...)
	for _, l := range locales {
		var f textsFile
		name := path.Join("templates", l.Code+".json")
		if err := readJSON(fsys, name, &f); err != nil {
			errs = append(errs, err)
			continue
		}
		if f.Locale != l.Code {
			errs = append(errs, fmt.Errorf("%s: locale is %q", name, f.Locale))
		}
		errs = append(errs, checkReview(name, f.Review)...)
		s.reviews["templates"][l.Code] = f.Review
		s.texts[l.Code] = map[string]*localText{}
		for _, id := range sortedKeys(f.Templates) {
			if _, ok := s.byID[id]; !ok {
				errs = append(errs, fmt.Errorf("%s: %q is not a template in templates.json", name, id))
			}
		}
		for _, t := range s.tpls {
			e, ok := f.Templates[t.ID]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: template %s is missing", name, t.ID))
				continue
			}
			lt, tErrs := parseTexts(name, t, e, s.texts[DefaultLocale][t.ID])
			errs = append(errs, tErrs...)
			s.texts[l.Code][t.ID] = lt
			if t.Event == nil {
				t.Event = map[string]string{}
			}
			t.Event[l.Code] = e.Event
		}
	}
	return errs
}

func checkDefinition(t *Template, s *store) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("templates.json: %s: %s", t.ID, fmt.Sprintf(format, args...)))
	}
	if !idRE.MatchString(t.ID) {
		bad("the id must be lower-case letters, digits and _")
	}
	if _, dup := s.byID[t.ID]; dup {
		bad("defined twice")
	}
	if t.Version < 1 {
		bad("version must be 1 or more")
	}
	if len(t.Category) == 0 {
		bad("needs a category")
	}
	for _, c := range t.Category {
		if !c.Valid() {
			bad("category %q is not a CAP category", c)
		}
	}
	if !t.Urgency.Valid() || !t.Severity.Valid() || !t.Certainty.Valid() {
		bad("urgency, severity or certainty is not a CAP value")
	}
	if len(t.Event) > 0 {
		bad("event names belong in the locale files")
	}
	seen := map[string]bool{}
	for i := range t.Params {
		q := &t.Params[i]
		if !idRE.MatchString(q.Name) || seen[q.Name] {
			bad("parameter %q: bad or repeated name", q.Name)
		}
		seen[q.Name] = true
		maxLen, ok := maxParamLength[q.Type]
		if !ok {
			bad("parameter %s: unknown type %q", q.Name, q.Type)
		}
		if q.MaxLength == 0 || q.MaxLength > maxLen {
			q.MaxLength = maxLen
		}
		if (q.Type == ParamChoice) != (len(q.Choices) > 0) {
			bad("parameter %s: choices go with type choice, and only there", q.Name)
		}
		if q.Default != "" && !slices.Contains(q.Choices, q.Default) {
			bad("parameter %s: the default must be one of its choices", q.Name)
		}
		if q.Example == "" {
			bad("parameter %s: needs an example value", q.Name)
		}
	}
	if !seen["area"] {
		bad("every template has an area parameter")
	}
	return errs
}

// parseTexts parses one locale's texts of t and checks them against English's:
// every field present and parsed, referring to exactly the parameters
// English's does, every choice worded, the version current.
func parseTexts(file string, t *Template, e *textsEntry, en *localText) (*localText, []error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", file, t.ID, fmt.Sprintf(format, args...)))
	}
	if e.Version != t.Version {
		bad("texts are for version %d, the template is at version %d; update them (and their review)", e.Version, t.Version)
	}
	if strings.TrimSpace(e.Event) == "" {
		bad("event is empty")
	} else if utf8.RuneCountInString(e.Event) > tocsin.MaxEventLength {
		bad("event is longer than %d characters", tocsin.MaxEventLength)
	}
	lt := &localText{event: e.Event, choices: e.Choices}
	srcs := [4]string{e.Headline, e.Short, e.Description, e.Instruction}
	for i, src := range srcs {
		name := fieldNames[i]
		if strings.TrimSpace(src) == "" {
			bad("%s is empty", name)
		}
		tmpl, err := template.New(t.ID + "." + name).Option("missingkey=error").Parse(src)
		if err != nil {
			bad("%s: %v", name, err)
			tmpl = template.Must(template.New("").Parse(""))
		}
		lt.fields[i] = tmpl
		names, ok := fieldRefs(tmpl.Tree)
		if !ok {
			bad("%s: use only {{.param}} and {{if .param}}…{{else}}…{{end}}", name)
		}
		for _, n := range names {
			if _, ok := t.Param(n); !ok {
				bad("%s refers to {{.%s}}, which is not a parameter", name, n)
			}
		}
		lt.names[i] = names
		if en != nil && !slices.Equal(names, en.names[i]) {
			bad("%s uses parameters %v, English uses %v", name, names, en.names[i])
		}
	}
	for _, q := range t.Params {
		if q.Type != ParamChoice {
			continue
		}
		for _, c := range q.Choices {
			if strings.TrimSpace(e.Choices[q.Name][c]) == "" {
				bad("choice %s=%s has no text", q.Name, c)
			}
		}
		if len(e.Choices[q.Name]) != len(q.Choices) {
			bad("choice %s has texts for values that are not choices", q.Name)
		}
	}
	for name := range e.Choices {
		if q, ok := t.Param(name); !ok || q.Type != ParamChoice {
			bad("choices given for %s, which is not a choice parameter", name)
		}
	}
	return lt, errs
}

// fieldRefs returns the sorted parameter names a template refers to, and
// false if it uses anything beyond {{.name}}, {{if .name}}, {{else}} and
// {{end}}: translators need no more, and a smaller language is easier to check.
func fieldRefs(tree *parse.Tree) ([]string, bool) {
	var names []string
	ok := true
	var walk func(n parse.Node)
	field := func(pipe *parse.PipeNode) {
		if pipe == nil || len(pipe.Decl) > 0 || len(pipe.Cmds) != 1 || len(pipe.Cmds[0].Args) != 1 {
			ok = false
			return
		}
		f, isField := pipe.Cmds[0].Args[0].(*parse.FieldNode)
		if !isField || len(f.Ident) != 1 {
			ok = false
			return
		}
		names = append(names, f.Ident[0])
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case nil:
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.TextNode:
		case *parse.ActionNode:
			field(n.Pipe)
		case *parse.IfNode:
			field(n.Pipe)
			walk(n.List)
			if n.ElseList != nil {
				walk(n.ElseList)
			}
		default:
			ok = false
		}
	}
	if tree != nil {
		walk(tree.Root)
	}
	slices.Sort(names)
	return slices.Compact(names), ok
}
