package lang

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The catalog: one file per locale under catalog/, each a JSON object
//
//	{"locale": "es", "review": {...}, "messages": {"severity.Extreme": "Extrema", ...}}
//
// Keys are dotted names; English's file defines the set and every other locale
// has exactly the same keys, none empty. A message may hold {name}
// placeholders, and every translation of it holds the same ones. Keys under
// "format." are date and time patterns (see FormatTime) and are checked for
// their tokens instead.

// T returns the message for key in locale, falling back to English and then
// to the key itself. An unsupported locale is served in English.
func T(locale, key string) string {
	d := data()
	if m, ok := d.msgs[canonicalLocale(locale)][key]; ok {
		return m
	}
	if m, ok := d.msgs[DefaultLocale][key]; ok {
		return m
	}
	return key
}

// Tf returns the message for key in locale with each {name} placeholder
// replaced by args[name], verbatim. Placeholders without an argument stay as
// they are, so a missing argument shows rather than vanishes.
func Tf(locale, key string, args map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(T(locale, key), func(p string) string {
		if v, ok := args[p[1:len(p)-1]]; ok {
			return v
		}
		return p
	})
}

// Messages returns a copy of the messages of locale whose keys start with
// one of prefixes (every message when none is given), for a client that
// renders on its own: a page's script. Unsupported locales get English.
func Messages(locale string, prefixes ...string) map[string]string {
	all := data().msgs[canonicalLocale(locale)]
	if len(prefixes) == 0 {
		return maps.Clone(all)
	}
	out := map[string]string{}
	for k, v := range all {
		for _, pre := range prefixes {
			if strings.HasPrefix(k, pre) {
				out[k] = v
				break
			}
		}
	}
	return out
}

// Keys returns every catalog key, sorted.
func Keys() []string { return slices.Clone(data().keys) }

// canonicalLocale returns the supported locale for a language tag, as
// Match finds it ("es-MX" is es, "zh-TW" zh-Hant), or DefaultLocale.
func canonicalLocale(locale string) string {
	return Match([]string{locale})
}

var placeholderRE = regexp.MustCompile(`\{[a-z_][a-z0-9_]*\}`)

// Date and time patterns. The catalog keys format.datetime, format.date and
// format.time hold a locale's pattern made of literal text and these tokens:
//
//	{weekday}  full weekday name (weekday.0 … weekday.6, Sunday first)
//	{day}      day of the month, 1–31 (day 1 as date.first_day: "1er" in French)
//	{month}    month name as used in a date (month.1 … month.12; genitive in Russian)
//	{monthnum} month number, 1–12
//	{year}     four-digit year
//	{H} {HH}   hour 0–23, without and with a leading zero
//	{h}        hour 1–12, with {ampm} (time.am, time.pm)
//	{mm}       minutes, two digits
//	{tz}       the time zone's abbreviation, such as MST, or its offset
var dateTokens = map[string]bool{
	"weekday": true, "day": true, "month": true, "monthnum": true, "year": true,
	"H": true, "HH": true, "h": true, "mm": true, "ampm": true, "tz": true,
}

var dateTokenRE = regexp.MustCompile(`\{[A-Za-z]+\}`)

// FormatTime formats t as a date and time in locale's own pattern, in the
// time zone tz (UTC when nil), such as "Tuesday, March 4 at 3:30 PM MST" in
// English or "martes 4 de marzo, 15:30 MST" in Spanish.
func FormatTime(t time.Time, locale string, tz *time.Location) string {
	return formatPattern(t, canonicalLocale(locale), "format.datetime", tz)
}

// FormatDate formats t as a date (with weekday, without year) in locale's pattern and tz.
func FormatDate(t time.Time, locale string, tz *time.Location) string {
	return formatPattern(t, canonicalLocale(locale), "format.date", tz)
}

// FormatClock formats t as a time of day in locale's pattern and tz.
func FormatClock(t time.Time, locale string, tz *time.Location) string {
	return formatPattern(t, canonicalLocale(locale), "format.time", tz)
}

func formatPattern(t time.Time, locale, key string, tz *time.Location) string {
	if tz == nil {
		tz = time.UTC
	}
	t = t.In(tz)
	m := data().msgs[locale]
	return dateTokenRE.ReplaceAllStringFunc(m[key], func(tok string) string {
		switch tok[1 : len(tok)-1] {
		case "weekday":
			return m["weekday."+strconv.Itoa(int(t.Weekday()))]
		case "day":
			if t.Day() == 1 {
				return m["date.first_day"]
			}
			return strconv.Itoa(t.Day())
		case "month":
			return m["month."+strconv.Itoa(int(t.Month()))]
		case "monthnum":
			return strconv.Itoa(int(t.Month()))
		case "year":
			return strconv.Itoa(t.Year())
		case "H":
			return strconv.Itoa(t.Hour())
		case "HH":
			return fmt.Sprintf("%02d", t.Hour())
		case "h":
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			return strconv.Itoa(h)
		case "mm":
			return fmt.Sprintf("%02d", t.Minute())
		case "ampm":
			if t.Hour() < 12 {
				return m["time.am"]
			}
			return m["time.pm"]
		case "tz":
			return t.Format("MST")
		}
		return tok
	})
}

// checkMessages compares one locale's messages with English's and returns
// every problem: a missing, extra or empty key, a placeholder that differs
// from English's, a date pattern with an unknown token or without the parts
// it needs.
func checkMessages(locale string, msgs, en map[string]string) []error {
	var errs []error
	for _, k := range sortedKeys(en) {
		if _, ok := msgs[k]; !ok {
			errs = append(errs, fmt.Errorf("catalog %s: missing key %q (English: %q)", locale, k, en[k]))
		}
	}
	for _, k := range sortedKeys(msgs) {
		v := msgs[k]
		ev, ok := en[k]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("catalog %s: key %q is not in English's catalog", locale, k))
			continue
		case strings.TrimSpace(v) == "":
			errs = append(errs, fmt.Errorf("catalog %s: key %q is empty", locale, k))
			continue
		}
		if strings.HasPrefix(k, "format.") {
			errs = append(errs, checkDatePattern(locale, k, v)...)
			continue
		}
		if a, b := placeholderSet(v), placeholderSet(ev); !slices.Equal(a, b) {
			errs = append(errs, fmt.Errorf("catalog %s: key %q has placeholders %v, English has %v", locale, k, a, b))
		}
	}
	return errs
}

func checkDatePattern(locale, key, pattern string) []error {
	var errs []error
	has := map[string]bool{}
	for _, tok := range dateTokenRE.FindAllString(pattern, -1) {
		name := tok[1 : len(tok)-1]
		if !dateTokens[name] {
			errs = append(errs, fmt.Errorf("catalog %s: %s has unknown token %s", locale, key, tok))
		}
		has[name] = true
	}
	hour := has["H"] || has["HH"] || has["h"]
	date := has["day"] && (has["month"] || has["monthnum"])
	if key != "format.time" && !date {
		errs = append(errs, fmt.Errorf("catalog %s: %s needs {day} and {month}", locale, key))
	}
	if key != "format.date" && (!hour || !has["mm"]) {
		errs = append(errs, fmt.Errorf("catalog %s: %s needs an hour and {mm}", locale, key))
	}
	if has["h"] && !has["ampm"] {
		errs = append(errs, fmt.Errorf("catalog %s: %s uses the 12-hour {h} without {ampm}", locale, key))
	}
	return errs
}

func placeholderSet(s string) []string {
	p := placeholderRE.FindAllString(s, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
