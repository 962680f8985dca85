package lang

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestCatalogComplete checks the embedded catalogs: every locale has exactly
// English's keys, none empty, with the same placeholders. load does the
// checking; this test is what fails the build when a key is missing.
func TestCatalogComplete(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("embedded catalogs and templates:\n%v", err)
	}
	en := Messages("en")
	for _, l := range Locales() {
		m := Messages(l.Code)
		if len(m) != len(en) {
			t.Errorf("%s has %d messages, English %d", l.Code, len(m), len(en))
		}
		for k := range en {
			if strings.TrimSpace(m[k]) == "" {
				t.Errorf("%s: %s is missing or empty", l.Code, k)
			}
		}
	}
	// The keys the alert rendering needs.
	for _, k := range []string{"alert.cancelled", "alert.updated", "alert.machine_translation", "alert.test",
		"alert.exercise", "severity.Extreme", "urgency.Immediate", "certainty.Observed", "month.12", "weekday.6",
		"format.datetime", "format.date", "format.time"} {
		if _, ok := en[k]; !ok {
			t.Errorf("English catalog lacks %s", k)
		}
	}
}

// embeddedCopy returns the embedded files as a MapFS to break on purpose.
func embeddedCopy(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := load(m); err != nil {
		t.Fatalf("the unbroken copy does not load: %v", err)
	}
	return m
}

// editJSON decodes file, lets edit change it, and stores it back.
func editJSON(t *testing.T, m fstest.MapFS, file string, edit func(v map[string]any)) {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(m[file].Data, &v); err != nil {
		t.Fatal(err)
	}
	edit(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	m[file] = &fstest.MapFile{Data: b}
}

func messagesOf(v map[string]any) map[string]any { return v["messages"].(map[string]any) }

// TestBrokenCatalogFails shows that the check the build relies on catches
// each kind of gap, so TestCatalogComplete can fail.
func TestBrokenCatalogFails(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
		edit             func(v map[string]any)
	}{
		{"missing key", "catalog/ko.json", `catalog ko: missing key "alert.cancelled"`,
			func(v map[string]any) { delete(messagesOf(v), "alert.cancelled") }},
		{"extra key", "catalog/fr.json", `catalog fr: key "alert.bogus" is not in English's catalog`,
			func(v map[string]any) { messagesOf(v)["alert.bogus"] = "x" }},
		{"empty message", "catalog/ar.json", `catalog ar: key "severity.Severe" is empty`,
			func(v map[string]any) { messagesOf(v)["severity.Severe"] = " " }},
		{"new English key", "catalog/en.json", `catalog vi: missing key "alert.new"`,
			func(v map[string]any) { messagesOf(v)["alert.new"] = "New" }},
		{"placeholder", "catalog/en.json", `catalog es: key "alert.sent" has placeholders [], English has [{time}]`,
			func(v map[string]any) { messagesOf(v)["alert.sent"] = "Sent {time}" }},
		{"date token", "catalog/de.json", `catalog de: format.datetime has unknown token {minute}`,
			func(v map[string]any) { messagesOf(v)["format.datetime"] = "{day}. {month} {H}:{minute} {mm}" }},
		{"12-hour clock without am/pm", "catalog/tl.json", `catalog tl: format.time uses the 12-hour {h} without {ampm}`,
			func(v map[string]any) { messagesOf(v)["format.time"] = "{h}:{mm}" }},
		{"wrong locale", "catalog/it.json", `catalog/it.json: locale is "es"`,
			func(v map[string]any) { v["locale"] = "es" }},
		{"reviewed without reviewer", "catalog/hi.json", `catalog/hi.json: a reviewed file names its reviewers and the date`,
			func(v map[string]any) { v["review"] = map[string]any{"status": "reviewed"} }},
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
	t.Run("missing file", func(t *testing.T) {
		m := embeddedCopy(t)
		delete(m, "catalog/pt.json")
		if _, err := load(m); err == nil || !strings.Contains(err.Error(), "catalog/pt.json") {
			t.Fatalf("load error = %v", err)
		}
	})
	t.Run("stray file", func(t *testing.T) {
		m := embeddedCopy(t)
		m["catalog/pt-BR.json"] = m["catalog/pt.json"]
		if _, err := load(m); err == nil || !strings.Contains(err.Error(), "catalog/pt-BR.json: not a supported locale's file") {
			t.Fatalf("load error = %v", err)
		}
	})
	t.Run("duplicate key", func(t *testing.T) {
		m := embeddedCopy(t)
		f := m["catalog/ru.json"]
		f.Data = []byte(strings.Replace(string(f.Data), `"month.3": "марта",`, `"month.3": "марта", "month.3": "март",`, 1))
		if _, err := load(m); err == nil || !strings.Contains(err.Error(), `catalog/ru.json: key "month.3" appears twice`) {
			t.Fatalf("load error = %v", err)
		}
	})
	t.Run("unknown field", func(t *testing.T) {
		m := embeddedCopy(t)
		editJSON(t, m, "catalog/de.json", func(v map[string]any) { v["mesages"] = map[string]any{} })
		if _, err := load(m); err == nil || !strings.Contains(err.Error(), `unknown field "mesages"`) {
			t.Fatalf("load error = %v", err)
		}
	})
}

func TestT(t *testing.T) {
	if got := T("es", "alert.machine_translation"); got != "Traducción automática" {
		t.Errorf("T(es) = %q", got)
	}
	if got := T("ES", "alert.test"); got != "Prueba" {
		t.Errorf("T is not case-insensitive about the locale: %q", got)
	}
	if got := T("nl", "alert.test"); got != "Test" {
		t.Errorf("an unsupported locale should get English, got %q", got)
	}
	if got := T("fr", "no.such.key"); got != "no.such.key" {
		t.Errorf("a missing key should show itself, got %q", got)
	}
	if got := Tf("en", "alert.test", map[string]string{"x": "y"}); got != "Test" {
		t.Errorf("Tf = %q", got)
	}
}

func TestFormatTime(t *testing.T) {
	denver, err := time.LoadLocation("America/Denver")
	if err != nil {
		t.Fatal(err)
	}
	wed := time.Date(2026, 3, 4, 22, 5, 0, 0, time.UTC)   // 15:05 MST, a Wednesday
	first := time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)  // midnight MDT, a Wednesday
	noon := time.Date(2026, 7, 12, 18, 0, 0, 0, time.UTC) // noon MDT, a Sunday
	for _, tc := range []struct {
		locale string
		t      time.Time
		want   string
	}{
		{"en", wed, "Wednesday, March 4 at 3:05 PM MST"},
		{"en", first, "Wednesday, April 1 at 12:00 AM MDT"},
		{"en", noon, "Sunday, July 12 at 12:00 PM MDT"},
		{"es", wed, "miércoles 4 de marzo, 15:05 MST"},
		{"fr", wed, "mercredi 4 mars à 15 h 05 MST"},
		{"fr", first, "mercredi 1er avril à 0 h 00 MDT"},
		{"de", wed, "Mittwoch, 4. März, 15:05 Uhr MST"},
		{"it", first, "mercoledì 1º aprile, ore 0:00 MDT"},
		{"pt", wed, "quarta-feira, 4 de março, às 15h05 MST"},
		{"pt", first, "quarta-feira, 1º de abril, às 0h00 MDT"},
		{"ru", wed, "4 марта (среда), 15:05 MST"},
		{"ar", wed, "الأربعاء 4 مارس، الساعة 3:05 م MST"},
		{"zh-Hans", wed, "3月4日（星期三）下午3:05 MST"},
		{"zh-Hant", first, "4月1日（星期三）上午12:00 MDT"},
		{"ko", wed, "3월 4일 수요일 오후 3:05 MST"},
		{"hi", wed, "बुधवार, 4 मार्च, अपराह्न 3:05 बजे MST"},
		{"vi", wed, "15:05 MST, thứ Tư, ngày 4 tháng 3"},
		{"tl", wed, "Miyerkules, Marso 4, 3:05 PM MST"},
		{"ht", wed, "mèkredi 4 mas a 15:05 MST"},
	} {
		if got := FormatTime(tc.t, tc.locale, denver); got != tc.want {
			t.Errorf("FormatTime(%s, %s) = %q, want %q", tc.t, tc.locale, got, tc.want)
		}
	}
	if got := FormatTime(wed, "en", nil); got != "Wednesday, March 4 at 10:05 PM UTC" {
		t.Errorf("nil time zone: %q", got)
	}
	if got := FormatDate(wed, "de", denver); got != "Mittwoch, 4. März" {
		t.Errorf("FormatDate = %q", got)
	}
	if got := FormatClock(wed, "ko", denver); got != "오후 3:05 MST" {
		t.Errorf("FormatClock = %q", got)
	}
	// Every locale formats every month and weekday without a leftover token.
	for _, l := range Locales() {
		for d := 0; d < 366; d += 7 {
			s := FormatTime(time.Date(2026, 1, 1+d, 9, 30, 0, 0, time.UTC).AddDate(0, 0, d%7), l.Code, denver)
			if strings.ContainsAny(s, "{}") {
				t.Fatalf("%s: %q", l.Code, s)
			}
		}
	}
}

func TestMessagesByPrefix(t *testing.T) {
	m := Messages("es-MX", "severity.", "web.common.")
	if m["severity.Extreme"] != T("es", "severity.Extreme") || m["web.common.skip"] != T("es", "web.common.skip") {
		t.Fatalf("Messages(es-MX, severity., web.common.) lacks what it should: %v", m)
	}
	for k := range m {
		if !strings.HasPrefix(k, "severity.") && !strings.HasPrefix(k, "web.common.") {
			t.Errorf("key %q does not start with a prefix asked for", k)
		}
	}
}
