// Package lang holds tocsin's languages: the supported locales, the message
// catalog for interface strings, the vetted alert templates that render a
// structured alert natively in every locale, the glossary of protected terms,
// and the adapter to Apertium for machine translation of free text.
//
// Everything a reader sees in their own language comes from here. Templates
// and catalogs are embedded and parsed once, on first use; the tests check
// that every locale has every key and that every template renders within the
// length limits, so a gap fails the build rather than reaching a reader.
// Machine translation is a labelled fallback for free text only: Translate
// swaps protected terms (names, agencies, acronyms, places) for placeholders
// that Apertium passes through, restores them afterwards, and returns the
// provenance "machine:apertium:<pair>" to store beside the text.
package lang

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Locale is one supported language with the names to show for it.
type Locale struct {
	// Code is the BCP 47 tag used in alerts and subscriptions, such as "zh-Hant".
	Code string `json:"code"`
	// Name is the language's name in English.
	Name string `json:"name"`
	// Native is the language's name in itself.
	Native string `json:"native"`
	// Dir is the writing direction for a page's dir attribute: "ltr" or "rtl".
	Dir string `json:"dir"`
}

// RTL reports whether the locale is written right to left.
func (l Locale) RTL() bool { return l.Dir == "rtl" }

// The supported locales: English and the 13 languages of the FCC's
// multilingual Wireless Emergency Alert templates, with Chinese in both scripts.
var locales = []Locale{
	{"en", "English", "English", "ltr"},
	{"ar", "Arabic", "العربية", "rtl"},
	{"zh-Hans", "Chinese (Simplified)", "简体中文", "ltr"},
	{"zh-Hant", "Chinese (Traditional)", "繁體中文", "ltr"},
	{"fr", "French", "Français", "ltr"},
	{"de", "German", "Deutsch", "ltr"},
	{"ht", "Haitian Creole", "Kreyòl ayisyen", "ltr"},
	{"hi", "Hindi", "हिन्दी", "ltr"},
	{"it", "Italian", "Italiano", "ltr"},
	{"ko", "Korean", "한국어", "ltr"},
	{"pt", "Portuguese", "Português", "ltr"},
	{"ru", "Russian", "Русский", "ltr"},
	{"es", "Spanish", "Español", "ltr"},
	{"tl", "Tagalog", "Tagalog", "ltr"},
	{"vi", "Vietnamese", "Tiếng Việt", "ltr"},
}

// DefaultLocale is the locale every fallback ends at.
const DefaultLocale = "en"

// Locales returns the 15 supported locales, English first.
func Locales() []Locale { return slices.Clone(locales) }

// LocaleCodes returns the codes of the supported locales, in the order of Locales.
func LocaleCodes() []string {
	c := make([]string, len(locales))
	for i, l := range locales {
		c[i] = l.Code
	}
	return c
}

// FindLocale returns the supported locale whose code equals code, ignoring
// case ("zh-hant" finds zh-Hant); it does not match "es-MX" to "es" (Match does).
func FindLocale(code string) (Locale, bool) {
	for _, l := range locales {
		if strings.EqualFold(l.Code, code) {
			return l, true
		}
	}
	return Locale{}, false
}

// Aliases of primary language subtags (ISO 639-2/3 and retired codes) for
// the supported languages.
var languageAliases = map[string]string{
	"eng": "en", "ara": "ar", "fra": "fr", "fre": "fr", "deu": "de", "ger": "de",
	"hat": "ht", "hin": "hi", "ita": "it", "kor": "ko", "por": "pt", "rus": "ru",
	"spa": "es", "tgl": "tl", "fil": "tl", "vie": "vi",
	"arb": "ar", // Standard Arabic
}

// Match returns the code of the supported locale that best serves someone
// whose preferred languages are accept, most preferred first: the first entry
// that any locale serves wins. A region or script picks the Chinese script
// (zh-TW, zh-HK, zh-MO and zh-Hant → zh-Hant; zh, zh-CN, zh-SG → zh-Hans; yue
// → zh-Hant) and is ignored elsewhere (es-MX → es, pt-BR → pt); fil → tl.
// With no match it returns DefaultLocale.
func Match(accept []string) string {
	for _, a := range accept {
		if code, ok := match1(a); ok {
			return code
		}
	}
	return DefaultLocale
}

func match1(tag string) (string, bool) {
	tag = strings.ToLower(strings.TrimSpace(strings.ReplaceAll(tag, "_", "-")))
	if tag == "" || tag == "*" {
		return "", false
	}
	parts := strings.Split(tag, "-")
	base := parts[0]
	if a, ok := languageAliases[base]; ok {
		base = a
	}
	switch base {
	case "zh", "zho", "chi", "cmn":
		for _, p := range parts[1:] {
			switch p {
			case "hant", "tw", "hk", "mo":
				return "zh-Hant", true
			case "hans", "cn", "sg", "my":
				return "zh-Hans", true
			}
		}
		return "zh-Hans", true
	case "yue":
		return "zh-Hant", true
	}
	for _, l := range locales {
		if l.Code == base {
			return l.Code, true
		}
	}
	return "", false
}

// AcceptLanguage parses an HTTP Accept-Language header into language tags,
// most preferred first (by q-value, then by order). Tags with q=0, malformed
// entries and the wildcard are dropped; at most 32 tags are kept.
func AcceptLanguage(header string) []string {
	type pref struct {
		tag string
		q   float64
		i   int
	}
	var prefs []pref
	for i, part := range strings.Split(header, ",") {
		if len(prefs) == 32 {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if tag == "*" || !validTag(tag) {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || strings.TrimSpace(k) != "q" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0
			}
			q = f
		}
		if q > 0 {
			prefs = append(prefs, pref{tag, q, i})
		}
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	tags := make([]string, len(prefs))
	for i, p := range prefs {
		tags[i] = p.tag
	}
	return tags
}

// validTag accepts BCP 47-shaped tags: 1–8 alphanumerics per subtag, a
// primary subtag of letters, at most 35 characters.
func validTag(s string) bool {
	if s == "" || len(s) > 35 {
		return false
	}
	for i, part := range strings.Split(s, "-") {
		if part == "" || len(part) > 8 {
			return false
		}
		for _, r := range part {
			letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
			if !letter && (i == 0 || r < '0' || r > '9') {
				return false
			}
		}
	}
	return true
}
