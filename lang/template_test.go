package lang

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tocsin/tocsin"
)

var issueTemplateIDs = []string{"flash_flood", "flood", "wildfire", "evacuation_order", "shelter_in_place",
	"tornado", "severe_thunderstorm", "extreme_heat", "winter_storm", "earthquake", "tsunami",
	"hazardous_materials", "boil_water", "power_outage", "air_quality", "road_closure", "missing_person",
	"public_safety_appeal", "all_clear", "test_message"}

func denver(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Denver")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestTemplatesList(t *testing.T) {
	var ids []string
	for _, tp := range Templates() {
		ids = append(ids, tp.ID)
		if tp.Version < 1 || !tp.Urgency.Valid() || !tp.Severity.Valid() || !tp.Certainty.Valid() || len(tp.Category) == 0 {
			t.Errorf("%s: bad CAP defaults %+v", tp.ID, tp)
		}
		if len(tp.Event) != len(Locales()) {
			t.Errorf("%s: event names in %d locales", tp.ID, len(tp.Event))
		}
		for _, p := range tp.Params {
			if p.Example == "" || p.MaxLength == 0 {
				t.Errorf("%s.%s: example %q, max length %d", tp.ID, p.Name, p.Example, p.MaxLength)
			}
			if T("en", "param."+p.Name) == "param."+p.Name {
				t.Errorf("%s.%s: the catalog has no label param.%s for the console", tp.ID, p.Name, p.Name)
			}
		}
	}
	want := slices.Clone(issueTemplateIDs)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("templates %v, want %v", ids, want)
	}
	appeal, _ := FindTemplate("public_safety_appeal")
	if !appeal.PublisherOnly || !appeal.RequiresExpiry {
		t.Error("public_safety_appeal must be publisher-only and require an expiry")
	}
	// FindTemplate returns a copy.
	tp, _ := FindTemplate("flood")
	tp.Params[0].Name = "x"
	tp.Event["en"] = "x"
	if again, _ := FindTemplate("flood"); again.Params[0].Name != "area" || again.Event["en"] != "Flood" {
		t.Fatal("FindTemplate exposes the package's template")
	}
	if _, ok := FindTemplate("nope"); ok {
		t.Fatal("FindTemplate(nope) found something")
	}
}

// checkRendered fails t when r breaks a rule every rendering keeps.
func checkRendered(t *testing.T, id string, r Rendered, version int) {
	t.Helper()
	if n := utf8.RuneCountInString(r.Headline); n > MaxTemplateHeadline {
		t.Errorf("%s/%s: headline is %d characters: %q", id, r.Locale, n, r.Headline)
	}
	if n := utf8.RuneCountInString(r.Short); n > MaxShort {
		t.Errorf("%s/%s: short text is %d characters: %q", id, r.Locale, n, r.Short)
	}
	for name, s := range map[string]string{"event": r.Event, "headline": r.Headline, "short": r.Short,
		"description": r.Description, "instruction": r.Instruction} {
		if strings.TrimSpace(s) == "" {
			t.Errorf("%s/%s: empty %s", id, r.Locale, name)
		}
		for _, bad := range []string{"{{", "}}", "<no value>", "%!", "  ", " .", " ,"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s/%s: %s contains %q: %q", id, r.Locale, name, bad, s)
			}
		}
		if s != strings.TrimSpace(s) {
			t.Errorf("%s/%s: %s has surrounding space: %q", id, r.Locale, name, s)
		}
	}
	if want := fmt.Sprintf("template:%s@%d", id, version); r.Provenance != want {
		t.Errorf("%s/%s: provenance %q, want %q", id, r.Locale, r.Provenance, want)
	}
	info := r.Info()
	if info.Provenance != r.Provenance || info.Language != r.Locale || info.Headline != r.Headline {
		t.Errorf("%s/%s: Info() = %+v", id, r.Locale, info)
	}
}

// TestEveryTemplateEveryLocale renders each template in each locale, with
// its example values and with only its required values.
func TestEveryTemplateEveryLocale(t *testing.T) {
	tz := denver(t)
	for _, tp := range Templates() {
		required := map[string]string{}
		for _, p := range tp.Params {
			if p.Required {
				required[p.Name] = p.Example
			}
		}
		for _, params := range []map[string]string{tp.ExampleParams(), required} {
			all, err := RenderAll(tp.ID, params, RenderOptions{TimeZone: tz})
			if err != nil {
				t.Fatalf("%s %v: %v", tp.ID, params, err)
			}
			if len(all) != len(Locales()) {
				t.Fatalf("%s: %d renderings", tp.ID, len(all))
			}
			for i, r := range all {
				if r.Locale != Locales()[i].Code {
					t.Fatalf("%s: rendering %d is %s", tp.ID, i, r.Locale)
				}
				checkRendered(t, tp.ID, r, tp.Version)
				one, err := Render(tp.ID, params, RenderOptions{Locale: r.Locale, TimeZone: tz})
				if err != nil || !reflect.DeepEqual(one, r) {
					t.Fatalf("%s/%s: Render differs from RenderAll: %v", tp.ID, r.Locale, err)
				}
				if r.Event != tp.Event[r.Locale] || r.Severity != tp.Severity {
					t.Errorf("%s/%s: event %q severity %q", tp.ID, r.Locale, r.Event, r.Severity)
				}
			}
		}
	}
}

// longest returns a value of p's type and maximum length.
func longest(p Param) string {
	switch p.Type {
	case ParamPhone:
		return "+" + strings.Repeat("9", p.MaxLength-1)
	case ParamChoice, ParamAlertType:
		l := ""
		for _, c := range p.Choices {
			if len(c) > len(l) {
				l = c
			}
		}
		return l
	}
	return strings.Repeat("W", p.MaxLength)
}

// TestLongestValuesFit renders every template with every value at its
// maximum length, choices at their longest wording and times on the days
// with the longest names, in every locale: a valid request never fails
// because a translation is long. (Zone names from ZoneNames are not bounded
// here; Render reports those.)
func TestLongestValuesFit(t *testing.T) {
	tz := denver(t)
	var dates []string
	for d := 0; d < 7; d++ {
		for _, m := range []int{2, 9, 11, 12} { // long month names in various languages
			dates = append(dates, time.Date(2026, time.Month(m), 20+d, 12, 59, 0, 0, tz).Format(time.RFC3339))
		}
	}
	for _, tp := range Templates() {
		for i, date := range dates {
			params := map[string]string{}
			for _, p := range tp.Params {
				params[p.Name] = longest(p)
				if p.Type == ParamDateTime {
					params[p.Name] = date
				}
			}
			if _, ok := params["start"]; ok {
				params["start"] = dates[(i+len(dates)-1)%len(dates)]
				s, _ := time.Parse(time.RFC3339, params["start"])
				params["until"] = s.Add(24 * time.Hour).Format(time.RFC3339)
			}
			for _, p := range tp.Params {
				if p.Type != ParamChoice && p.Type != ParamAlertType {
					continue
				}
				for _, c := range p.Choices { // every wording of every choice
					params[p.Name] = c
					if _, err := RenderAll(tp.ID, params, RenderOptions{TimeZone: tz}); err != nil {
						t.Fatalf("%s with %s=%s: %v", tp.ID, p.Name, c, err)
					}
				}
			}
			if _, err := RenderAll(tp.ID, params, RenderOptions{TimeZone: tz}); err != nil {
				t.Fatalf("%s: %v", tp.ID, err)
			}
		}
	}
}

// TestValuesVerbatim inserts names, agencies, acronyms and numbers as values
// and finds each unchanged, in each field whose English text uses it, in
// every locale.
func TestValuesVerbatim(t *testing.T) {
	values := map[ParamType]string{
		ParamZone:   "Cherry Creek",
		ParamName:   "Dr. María López",
		ParamPhone:  "+1 303-555-0100",
		ParamPlace:  "ICE Arena, 1000 Chopper Cir",
		ParamText:   "I-25 northbound at 6th Ave",
		ParamPerson: "ICE agent's jacket, dark jeans, speaks Spanish",
	}
	for _, tp := range Templates() {
		params := tp.ExampleParams()
		for _, p := range tp.Params {
			if v, ok := values[p.Type]; ok {
				params[p.Name] = v
			}
		}
		if _, ok := params["agency"]; ok {
			params["agency"] = "ICE"
		}
		all, err := RenderAll(tp.ID, params, RenderOptions{TimeZone: denver(t)})
		if err != nil {
			t.Fatalf("%s: %v", tp.ID, err)
		}
		en := data().texts["en"][tp.ID]
		for _, r := range all {
			fields := []string{r.Headline, r.Short, r.Description, r.Instruction}
			for i, names := range en.names {
				for _, name := range names {
					p, _ := tp.Param(name)
					if _, verbatim := values[p.Type]; !verbatim && name != "agency" {
						continue
					}
					if !strings.Contains(fields[i], params[name]) {
						t.Errorf("%s/%s: %s lacks %s=%q verbatim: %q", tp.ID, r.Locale, fieldNames[i], name, params[name], fields[i])
					}
				}
			}
		}
	}
}

func TestRenderRejects(t *testing.T) {
	tz := denver(t)
	for _, tc := range []struct {
		id     string
		params map[string]string
		opt    RenderOptions
		field  string
	}{
		{"volcano", nil, RenderOptions{Locale: "en"}, "template"},
		{"flood", map[string]string{"area": "X"}, RenderOptions{Locale: "nl"}, "language"},
		{"flood", map[string]string{}, RenderOptions{Locale: "en"}, "params.area"},
		{"flood", map[string]string{"area": "  "}, RenderOptions{Locale: "en"}, "params.area"},
		{"flood", map[string]string{"area": "X", "colour": "red"}, RenderOptions{Locale: "en"}, "params.colour"},
		{"flood", map[string]string{"area": "X", "until": "tomorrow"}, RenderOptions{Locale: "en"}, "params.until"},
		{"flood", map[string]string{"area": "X\nY"}, RenderOptions{Locale: "en"}, "params.area"},
		{"flood", map[string]string{"area": "X\xff"}, RenderOptions{Locale: "en"}, "params.area"},
		{"flood", map[string]string{"area": strings.Repeat("x", 61)}, RenderOptions{Locale: "en"}, "params.area"},
		{"flash_flood", map[string]string{"area": "X", "action": "swim"}, RenderOptions{Locale: "en"}, "params.action"},
		{"boil_water", map[string]string{"area": "X", "contact": "call me"}, RenderOptions{Locale: "en"}, "params.contact"},
		{"boil_water", map[string]string{"area": "X", "contact": "12"}, RenderOptions{Locale: "en"}, "params.contact"},
		{"all_clear", map[string]string{"area": "X", "hazard": "all_clear"}, RenderOptions{Locale: "en"}, "params.hazard"},
		{"missing_person", map[string]string{"area": "X", "name": "Y"}, RenderOptions{Locale: "en"}, "params.person"},
		{"winter_storm", map[string]string{"area": "X", "start": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
			RenderOptions{Locale: "en"}, "params.until"},
		// A zone name too long for the headline in one locale is reported against the parameter.
		{"severe_thunderstorm", map[string]string{"area": "z1"}, RenderOptions{Locale: "tl", TimeZone: tz,
			ZoneNames: func(id, loc string) string { return strings.Repeat("N", 80) }}, "params.area"},
	} {
		_, err := Render(tc.id, tc.params, tc.opt)
		if tocsin.ErrorCode(err) != tocsin.EINVALID {
			t.Errorf("Render(%s, %v): %v, want EINVALID", tc.id, tc.params, err)
			continue
		}
		if f := tocsin.ErrorFields(err); len(f) == 0 || f[0].Field != tc.field {
			t.Errorf("Render(%s, %v): fields %v, want %s", tc.id, tc.params, f, tc.field)
		}
	}
	// Every problem is reported at once.
	_, err := Render("missing_person", map[string]string{"colour": "red", "contact": "x"}, RenderOptions{Locale: "en"})
	var te *tocsin.Error
	if !errors.As(err, &te) || len(te.Fields) != 5 { // colour, area, name, person, contact
		t.Errorf("got %v", err)
	}
	// RenderAll reports a field once, not once per locale.
	_, err = RenderAll("severe_thunderstorm", map[string]string{"area": "z1"}, RenderOptions{
		ZoneNames: func(id, loc string) string { return strings.Repeat("N", 80) }})
	if f := tocsin.ErrorFields(err); len(f) != 1 || f[0].Field != "params.area" {
		t.Errorf("RenderAll: %v", err)
	}
}

func TestDefaultsAndTrimming(t *testing.T) {
	r, err := Render("flash_flood", map[string]string{"area": "  Cherry Creek "}, RenderOptions{Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Short, "Move to higher ground now.") { // the default action
		t.Errorf("short = %q", r.Short)
	}
	if r.Headline != "Flash flood warning: Cherry Creek" {
		t.Errorf("headline = %q", r.Headline)
	}
	if strings.Contains(r.Short, "until") {
		t.Errorf("an absent time shows: %q", r.Short)
	}
}

func TestZoneNames(t *testing.T) {
	names := map[string]map[string]string{
		"zon_1": {"en": "Chinatown", "zh-Hans": "唐人街", "zh-Hant": "華埠", "es": "Barrio Chino"},
		"zon_2": {"en": "Cherry Creek", "es": "Riachuelo de Cereza"}, // a bad translation someone stored
	}
	lookup := func(id, loc string) string { return names[id][loc] }
	for _, tc := range []struct {
		zone, locale, protected, want string
	}{
		{"zon_1", "zh-Hant", "", "華埠"},
		{"zon_1", "es", "", "Barrio Chino"},
		{"zon_1", "ko", "", "Chinatown"},          // no Korean name: English
		{"zon_1", "es", "Chinatown", "Chinatown"}, // protected, and the Spanish name lacks it
		{"zon_2", "es", "Cherry Creek", "Cherry Creek"},
		{"Five Points", "es", "", "Five Points"}, // not a zone id: the value itself
	} {
		var protected []string
		if tc.protected != "" {
			protected = []string{tc.protected}
		}
		r, err := Render("flood", map[string]string{"area": tc.zone},
			RenderOptions{Locale: tc.locale, ZoneNames: lookup, Protected: protected})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(r.Headline, ": "+tc.want) && !strings.HasSuffix(r.Headline, "："+tc.want) {
			t.Errorf("%s in %s (protected %q): headline %q, want the name %q", tc.zone, tc.locale, tc.protected, r.Headline, tc.want)
		}
	}
}

func TestAllClearNamesTheHazard(t *testing.T) {
	all, err := RenderAll("all_clear", map[string]string{"area": "Aurora", "hazard": "tornado"}, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tornado, _ := FindTemplate("tornado")
	for _, r := range all {
		if !strings.Contains(r.Short, tornado.Event[r.Locale]) {
			t.Errorf("%s: %q lacks %q", r.Locale, r.Short, tornado.Event[r.Locale])
		}
	}
}

// TestArabicIsRightToLeft checks that Arabic is marked rtl and that Latin
// values and numbers inside Arabic text are isolated so they keep their order.
func TestArabicIsRightToLeft(t *testing.T) {
	ar, _ := FindLocale("ar")
	if ar.Dir != "rtl" {
		t.Fatalf("ar: Dir = %q", ar.Dir)
	}
	r, err := Render("evacuation_order", map[string]string{"area": "Cherry Creek", "contact": "+1 303-555-0100"},
		RenderOptions{Locale: "ar"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Short, "\u2066+1 303-555-0100\u2069") || !strings.Contains(r.Short, "\u2068Cherry Creek\u2069") {
		t.Errorf("values are not isolated: %q", r.Short)
	}
	arabic := 0
	for _, c := range r.Description {
		if unicode.Is(unicode.Arabic, c) {
			arabic++
		}
	}
	if arabic < utf8.RuneCountInString(r.Description)/2 {
		t.Errorf("the Arabic description is mostly not Arabic: %q", r.Description)
	}
	en, _ := Render("evacuation_order", map[string]string{"area": "Cherry Creek"}, RenderOptions{Locale: "en"})
	if strings.ContainsAny(en.Short, "\u2066\u2068\u2069") {
		t.Errorf("left-to-right text got isolates: %q", en.Short)
	}
}

// TestBrokenTemplatesFail shows that load catches gaps in the template
// texts, so TestEveryTemplateEveryLocale can fail.
func TestBrokenTemplatesFail(t *testing.T) {
	tpl := func(v map[string]any, id string) map[string]any {
		return v["templates"].(map[string]any)[id].(map[string]any)
	}
	for _, tc := range []struct {
		name, file, want string
		edit             func(v map[string]any)
	}{
		{"missing template", "templates/ru.json", "templates/ru.json: template tornado is missing",
			func(v map[string]any) { delete(v["templates"].(map[string]any), "tornado") }},
		{"empty field", "templates/ht.json", "templates/ht.json: flood: instruction is empty",
			func(v map[string]any) { tpl(v, "flood")["instruction"] = "" }},
		{"dropped parameter", "templates/es.json", "templates/es.json: evacuation_order: short uses parameters [area place], English uses [area contact place]",
			func(v map[string]any) {
				tpl(v, "evacuation_order")["short"] = "Orden de evacuación para {{.area}}.{{if .place}} Vaya a {{.place}}.{{end}}"
			}},
		{"unknown parameter", "templates/de.json", "templates/de.json: flood: headline refers to {{.zone}}, which is not a parameter",
			func(v map[string]any) { tpl(v, "flood")["headline"] = "Hochwasser: {{.zone}}" }},
		{"template logic", "templates/fr.json", "templates/fr.json: flood: headline: use only {{.param}}",
			func(v map[string]any) { tpl(v, "flood")["headline"] = `{{printf "%s" .area}}` }},
		{"syntax", "templates/it.json", "templates/it.json: flood: headline: template: flood.headline",
			func(v map[string]any) { tpl(v, "flood")["headline"] = "{{if .area}}" }},
		{"missing choice", "templates/ko.json", "templates/ko.json: air_quality: choice level=hazardous has no text",
			func(v map[string]any) {
				delete(tpl(v, "air_quality")["choices"].(map[string]any)["level"].(map[string]any), "hazardous")
			}},
		{"stale version", "templates/templates.json", "templates/vi.json: flood: texts are for version 1, the template is at version 2",
			func(v map[string]any) {
				for _, d := range v["templates"].([]any) {
					if d.(map[string]any)["id"] == "flood" {
						d.(map[string]any)["version"] = 2
					}
				}
			}},
		{"unknown type", "templates/templates.json", `templates.json: flood: parameter until: unknown type "date"`,
			func(v map[string]any) {
				for _, d := range v["templates"].([]any) {
					if d.(map[string]any)["id"] == "flood" {
						d.(map[string]any)["params"].([]any)[1].(map[string]any)["type"] = "date"
					}
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := embeddedCopy(t)
			editJSON(t, m, tc.file, tc.edit)
			_, err := load(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("load error = %v\nwant one containing %q", err, tc.want)
			}
		})
	}
}
