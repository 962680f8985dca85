package lang

import (
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tocsin/tocsin"
)

// MaxTermLength is the longest protected term, in characters.
const MaxTermLength = 100

// ValidateTerm checks one protected term for the glossary or an alert's
// protected_terms: 1–100 characters of valid UTF-8, no control characters,
// no surrounding spaces. EINVALID, field "term".
func ValidateTerm(term string) error {
	var p tocsin.Problems
	switch {
	case strings.TrimSpace(term) == "":
		p.Add("term", "is required")
	case !utf8.ValidString(term):
		p.Add("term", "is not valid UTF-8")
	case utf8.RuneCountInString(term) > MaxTermLength:
		p.Add("term", "is longer than %d characters", MaxTermLength)
	case strings.TrimSpace(term) != term:
		p.Add("term", "must not start or end with spaces")
	case strings.ContainsFunc(term, unicode.IsControl):
		p.Add("term", "must not contain control characters")
	}
	return p.Err()
}

// Glossary is a set of protected terms: names, agencies, acronyms, places
// that must never be translated or re-cased. A Glossary is an immutable value,
// safe for concurrent use; With returns a new one.
//
// A term matches case-sensitively and whole-word-ish: "ICE" matches in
// "ICE agents" and "ICE's", not in "ICED" or "ice"; between scripts (Latin
// beside Han or Hangul) is a word boundary, and a Hangul term may be followed
// by a particle. Where terms overlap, the longest one at the leftmost position wins.
type Glossary struct {
	terms   []string          // distinct, longest first
	byFirst map[byte][]string // terms by their first byte, longest first
}

// NewGlossary returns a glossary of terms. Empty terms are ignored;
// duplicates count once.
func NewGlossary(terms ...string) Glossary {
	var g Glossary
	return g.With(terms...)
}

// With returns a glossary holding g's terms and terms, as for an alert's own
// protected terms on top of the shared glossary.
func (g Glossary) With(terms ...string) Glossary {
	all := slices.Clone(g.terms)
	for _, t := range terms {
		if t != "" {
			all = append(all, t)
		}
	}
	slices.SortFunc(all, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	all = slices.Compact(all)
	n := Glossary{terms: all, byFirst: map[byte][]string{}}
	for _, t := range all {
		n.byFirst[t[0]] = append(n.byFirst[t[0]], t)
	}
	return n
}

// Terms returns the glossary's terms, sorted.
func (g Glossary) Terms() []string {
	t := slices.Clone(g.terms)
	slices.Sort(t)
	return t
}

// Len returns the number of terms.
func (g Glossary) Len() int { return len(g.terms) }

// match returns the term of g that matches text at byte offset i, or "".
func (g Glossary) match(text string, i int) string {
	cands := g.byFirst[text[i]]
	if len(cands) == 0 {
		return ""
	}
	before, _ := utf8.DecodeLastRuneInString(text[:i])
	for _, t := range cands {
		if !strings.HasPrefix(text[i:], t) {
			continue
		}
		first, _ := utf8.DecodeRuneInString(t)
		last, _ := utf8.DecodeLastRuneInString(t)
		after, _ := utf8.DecodeRuneInString(text[i+len(t):])
		if (i == 0 || boundary(before, first)) &&
			(i+len(t) == len(text) || boundary(last, after) || unicode.Is(unicode.Hangul, last)) {
			return t
		}
	}
	return ""
}

// find returns the terms of g that occur in text.
func (g Glossary) find(text string) []string {
	var found []string
	for i := 0; i < len(text); {
		if t := g.match(text, i); t != "" {
			found = append(found, t)
			i += len(t)
			continue
		}
		_, w := utf8.DecodeRuneInString(text[i:])
		i += w
	}
	slices.Sort(found)
	return slices.Compact(found)
}

// containsTerm reports whether term occurs in text as a protected term would match.
func containsTerm(text, term string) bool {
	return len(NewGlossary(term).find(text)) > 0
}

// boundary reports whether a word may end between runes a and b.
func boundary(a, b rune) bool {
	if !wordRune(a) || !wordRune(b) {
		return true
	}
	if spaceless(a) || spaceless(b) {
		return true
	}
	if unicode.IsNumber(a) || unicode.IsNumber(b) || unicode.IsMark(a) || unicode.IsMark(b) {
		return false
	}
	return script(a) != script(b)
}

func wordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}

// spaceless reports whether r belongs to a script written without spaces
// between words, where any position is a boundary.
func spaceless(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar)
}

var scripts = []*unicode.RangeTable{unicode.Latin, unicode.Cyrillic, unicode.Greek, unicode.Arabic,
	unicode.Hebrew, unicode.Devanagari, unicode.Hangul}

func script(r rune) int {
	for i, s := range scripts {
		if unicode.Is(s, r) {
			return i
		}
	}
	return -1
}

// Protect returns text with each occurrence of a term replaced by a
// placeholder that Apertium passes through untouched in its html format, an
// empty element <x id="N"/> (a span with text inside would be translated),
// and everything else escaped for that format. restore turns Apertium's
// output back into plain text with the terms as they were: restore(masked)
// == text for any text and terms.
func Protect(text string, terms []string) (masked string, restore func(string) string) {
	m := NewGlossary(terms...).mask(text)
	return m.text, m.restore
}

// Protect is Protect with g's terms.
func (g Glossary) Protect(text string) (masked string, restore func(string) string) {
	m := g.mask(text)
	return m.text, m.restore
}

// maskedText is text prepared for Apertium: the masked form, the terms by
// placeholder id, and how often each placeholder occurs.
type maskedText struct {
	text  string
	terms []string
	count []int
}

// htmlEscaper escapes only what Apertium's html format treats as markup, so
// apostrophes and quotes reach the translator as themselves.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func (g Glossary) mask(text string) *maskedText {
	m := &maskedText{}
	ids := map[string]int{}
	var b strings.Builder
	start := 0
	for i := 0; i < len(text); {
		t := g.match(text, i)
		if t == "" {
			_, w := utf8.DecodeRuneInString(text[i:])
			i += w
			continue
		}
		id, ok := ids[t]
		if !ok {
			id = len(m.terms)
			ids[t] = id
			m.terms = append(m.terms, t)
			m.count = append(m.count, 0)
		}
		m.count[id]++
		b.WriteString(htmlEscaper.Replace(text[start:i]))
		b.WriteString(`<x id="` + strconv.Itoa(id) + `"/>`)
		i += len(t)
		start = i
	}
	b.WriteString(htmlEscaper.Replace(text[start:]))
	m.text = b.String()
	return m
}

// placeholderTagRE matches a placeholder as Apertium may return it: as sent,
// or reformatted as <x id="N"></x>.
var placeholderTagRE = regexp.MustCompile(`<x\s+id="([0-9]{1,6})"\s*(?:/>|>\s*</x>)`)

// restore replaces the placeholders in s by their terms and unescapes the rest.
func (m *maskedText) restore(s string) string {
	var b strings.Builder
	last := 0
	for _, loc := range placeholderTagRE.FindAllStringSubmatchIndex(s, -1) {
		id, err := strconv.Atoi(s[loc[2]:loc[3]])
		if err != nil || id >= len(m.terms) {
			continue
		}
		b.WriteString(html.UnescapeString(s[last:loc[0]]))
		b.WriteString(m.terms[id])
		last = loc[1]
	}
	b.WriteString(html.UnescapeString(s[last:]))
	return b.String()
}

// intact reports whether s holds every placeholder of m exactly as often as
// the masked text did, so no protected term was lost or doubled.
func (m *maskedText) intact(s string) bool {
	got := make([]int, len(m.terms))
	for _, sub := range placeholderTagRE.FindAllStringSubmatch(s, -1) {
		id, err := strconv.Atoi(sub[1])
		if err != nil || id >= len(m.terms) {
			return false
		}
		got[id]++
	}
	return slices.Equal(got, m.count)
}
