package lang

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tocsin/tocsin"
)

// Translator is a machine translation engine. Its two implementations speak
// to Apertium: APy over HTTP and CLI by running the apertium program.
type Translator interface {
	// Translate translates text from one supported locale to another. text is
	// in Apertium's html format, as Protect makes it: plain text with &, <
	// and > escaped and protected terms as empty <x id="N"/> elements, which
	// come back unchanged (possibly written <x id="N"></x>). Errors:
	// EUNAVAILABLE when the engine is not installed, not reachable, too slow,
	// or has no pair for from and to.
	Translate(ctx context.Context, text, from, to string) (string, error)
	// Pairs returns the engine's pairs between supported locales.
	// EUNAVAILABLE when the engine is not installed or not reachable.
	Pairs(ctx context.Context) ([]Pair, error)
}

// Pair is one direction a translator can translate.
type Pair struct {
	From string `json:"from"` // supported locale code, such as "en"
	To   string `json:"to"`
	// Name is Apertium's name for the pair in ISO 639-3 codes, such as
	// "eng-spa"; it is the last part of the provenance.
	Name string `json:"name"`
	mode string // the engine's own name: a mode for the CLI ("fr-es"), a langpair for APy ("fra|spa")
}

// apertiumCodes maps supported locales to Apertium's ISO 639-3 codes.
// Chinese has none: Apertium has no pair for it.
var apertiumCodes = map[string]string{
	"en": "eng", "es": "spa", "fr": "fra", "de": "deu", "it": "ita", "pt": "por",
	"ru": "rus", "ar": "ara", "hi": "hin", "ko": "kor", "vi": "vie", "tl": "tgl", "ht": "hat",
}

// localeOfApertium maps one of Apertium's language codes (ISO 639-3 or
// 639-1, as mode names use both) to a supported locale, or "" for a variant
// such as eng_US or a language tocsin does not support.
func localeOfApertium(code string) string {
	for loc, c := range apertiumCodes {
		if code == c || code == loc {
			return loc
		}
	}
	return ""
}

// pairName returns the provenance name of the pair from → to, such as "eng-spa".
func pairName(from, to string) string { return apertiumCodes[from] + "-" + apertiumCodes[to] }

// MachineProvenance returns the provenance of text translated by Apertium
// from → to: "machine:apertium:eng-spa".
func MachineProvenance(from, to string) string { return "machine:apertium:" + pairName(from, to) }

// Translate machine-translates free text from one supported locale to
// another with tr, keeping protected terms exactly as written: each term,
// and each URL, e-mail address, @handle, #tag and telephone number in text,
// is swapped for a placeholder Apertium passes through and restored
// afterwards. Unknown-word marks (*word, #word, @word) are removed. It returns
// the translation and its provenance, "machine:apertium:<pair>".
//
// Errors: EINVALID for an unsupported or identical pair of languages or a
// text longer than tocsin.MaxAlertText; EUNAVAILABLE when tr is nil,
// unavailable or lacks the pair, or when its output lost a protected term
// (the translation is then unusable, not wrong in a way a reader could see).
func Translate(ctx context.Context, tr Translator, text, from, to string, protected []string) (string, string, error) {
	var p tocsin.Problems
	fl, tl := checkPair(&p, from, to)
	checkMTText(&p, "text", text)
	if err := p.Err(); err != nil {
		return "", "", err
	}
	out, err := translateParts(ctx, tr, []string{text}, fl, tl, protected)
	if err != nil {
		return "", "", err
	}
	return out[0], MachineProvenance(fl, tl), nil
}

// TranslateInfo machine-translates the event, headline, description and
// instruction of info into locale to, in one call to tr, and returns a new
// info in that language with provenance "machine:apertium:<pair>" and the
// other fields (category, urgency, severity, certainty, expiry) copied.
// Whether to translate at all (a template or a person may already have
// written that language) is the caller's choice. Errors are Translate's,
// with fields named "infos.<field>".
func TranslateInfo(ctx context.Context, tr Translator, info tocsin.Info, to string, protected []string) (tocsin.Info, error) {
	var p tocsin.Problems
	fl, tl := checkPair(&p, info.Language, to)
	texts := []string{info.Event, info.Headline, info.Description, info.Instruction}
	for i, name := range []string{"event", "headline", "description", "instruction"} {
		checkMTText(&p, "infos."+name, texts[i])
	}
	if err := p.Err(); err != nil {
		return tocsin.Info{}, err
	}
	out, err := translateParts(ctx, tr, texts, fl, tl, protected)
	if err != nil {
		return tocsin.Info{}, err
	}
	t := info
	t.Category = slices.Clone(info.Category)
	t.Language = tl
	t.Event, t.Headline, t.Description, t.Instruction = out[0], out[1], out[2], out[3]
	t.Provenance = MachineProvenance(fl, tl)
	return t, nil
}

// checkPair records a problem unless from and to are two different supported
// locales, and returns their codes.
func checkPair(p *tocsin.Problems, from, to string) (string, string) {
	fl, okf := FindLocale(from)
	tl, okt := FindLocale(to)
	switch {
	case !okf:
		p.Add("language", "%q is not a supported language", from)
	case !okt:
		p.Add("translate_to", "%q is not a supported language", to)
	case fl.Code == tl.Code:
		p.Add("translate_to", "%s is the text's own language", to)
	}
	return fl.Code, tl.Code
}

func checkMTText(p *tocsin.Problems, field, text string) {
	switch {
	case !utf8.ValidString(text):
		p.Add(field, "is not valid UTF-8")
	case utf8.RuneCountInString(text) > tocsin.MaxAlertText:
		p.Add(field, "is longer than %d characters", tocsin.MaxAlertText)
	}
}

// fieldSep divides the texts of one call to the engine: an empty element
// passes through Apertium like a placeholder, and ends a sentence so that
// fields are not run together.
const fieldSep = "\n<hr id=\"tocsin-field\"/>\n"

var fieldSepRE = regexp.MustCompile(`\n?<hr\s+id="tocsin-field"\s*/?>(?:\s*</hr>)?\n?`)

// translateParts translates texts with one call to tr and returns the
// translations in order.
func translateParts(ctx context.Context, tr Translator, texts []string, from, to string, protected []string) ([]string, error) {
	out := make([]string, len(texts))
	if strings.TrimSpace(strings.Join(texts, "")) == "" {
		copy(out, texts)
		return out, nil
	}
	if tr == nil {
		return nil, tocsin.Errorf(tocsin.EUNAVAILABLE, "machine translation is not configured")
	}
	g := NewGlossary(protected...)
	masks := make([]*maskedText, len(texts))
	var b strings.Builder
	for i, text := range texts {
		masks[i] = g.With(autoProtected(text)...).mask(text)
		if i > 0 {
			b.WriteString(fieldSep)
		}
		b.WriteString(masks[i].text)
	}
	translated, err := tr.Translate(ctx, b.String(), from, to)
	if err != nil {
		return nil, fmt.Errorf("translate %s: %w", pairName(from, to), err)
	}
	parts := fieldSepRE.Split(translated, -1)
	if len(parts) != len(texts) {
		return nil, tocsin.Errorf(tocsin.EUNAVAILABLE,
			"machine translation %s merged or split the texts; nothing was translated", pairName(from, to))
	}
	for i, part := range parts {
		if !masks[i].intact(part) {
			return nil, tocsin.Errorf(tocsin.EUNAVAILABLE,
				"machine translation %s lost or repeated a protected term; the text was not translated", pairName(from, to))
		}
		// APy trims trailing newlines and the CLI keeps them: end each
		// translation as its source ends, whichever engine ran.
		src := texts[i]
		part = strings.TrimRight(tidy(stripMarks(part)), "\n") + src[len(strings.TrimRight(src, "\n")):]
		out[i] = masks[i].restore(part)
	}
	return out, nil
}

// unavailable returns an EUNAVAILABLE error with a message safe to show,
// keeping cause in the chain for the log.
func unavailable(cause error, format string, args ...any) error {
	e := tocsin.Errorf(tocsin.EUNAVAILABLE, format, args...)
	if cause == nil {
		return e
	}
	return fmt.Errorf("%w: %w", e, cause)
}

// isMark reports whether r can be one of Apertium's unknown-word marks: * for
// an unknown word, @ for a word without a translation, # for one that could
// not be generated.
func isMark(r rune) bool { return r == '*' || r == '@' || r == '#' }

// markAt reports whether the rune at byte i of s, a mark, starts a word:
// after the start or a non-word rune and before a word rune.
func markAt(s string, i int) bool {
	before, _ := utf8.DecodeLastRuneInString(s[:i])
	after, _ := utf8.DecodeRuneInString(s[i+1:])
	return (i == 0 || !wordRune(before)) && i+1 < len(s) && wordRune(after)
}

// stripMarks removes unknown-word marks from Apertium's output. The source's
// own words that look like marked words (#tags, @handles, *emphasis) were
// protected before translation, so every mark left here is Apertium's.
func stripMarks(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isMark(rune(s[i])) && markAt(s, i) {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var autoProtectRE = regexp.MustCompile(
	`https?://[^\s<>"]+` + // URLs
		`|[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}.\-]+\.\p{L}{2,}` + // e-mail addresses
		`|\+?[0-9][0-9()./\- ]{5,}[0-9]`) // telephone numbers and other long numbers

// autoProtected returns the parts of text that are protected without being
// in a glossary: URLs, e-mail addresses, telephone numbers, and every word
// starting with *, @ or # (which Apertium's marks would otherwise be
// confused with).
func autoProtected(text string) []string {
	terms := autoProtectRE.FindAllString(text, -1)
	for i := 0; i < len(text); i++ {
		if !isMark(rune(text[i])) || !markAt(text, i) {
			continue
		}
		j := i + 1
		for j < len(text) {
			r, w := utf8.DecodeRuneInString(text[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += w
		}
		// Trailing punctuation belongs to the sentence, not the word.
		word := strings.TrimRightFunc(text[i:j], func(r rune) bool { return unicode.IsPunct(r) && !isMark(r) })
		terms = append(terms, word)
		i = j - 1
	}
	return terms
}

var (
	spacesRE      = regexp.MustCompile(`[ \t]{2,}`)
	lineEdgeRE    = regexp.MustCompile(`(?m)^[ \t]+|[ \t]+$`)
	spaceBeforeRE = regexp.MustCompile(`[ \t]+([.,])`)
)

// tidy removes the stray spaces Apertium leaves: doubled spaces, spaces at
// the start or end of a line and before a full stop or comma.
func tidy(s string) string {
	s = spacesRE.ReplaceAllString(s, " ")
	s = lineEdgeRE.ReplaceAllString(s, "")
	return spaceBeforeRE.ReplaceAllString(s, "$1")
}

// errNoPair is the error for a pair an engine lacks.
func errNoPair(from, to string, cause error) error {
	return unavailable(cause, "no machine translation from %s to %s is installed", from, to)
}
