package lang

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sync"
)

// files holds the catalogs and templates. Edit the JSON, not Go, to change a
// text; the tests say what is missing. A locale's catalog is catalog/<code>.json
// plus catalog/<part>/<code>.json for each part folder (the web pages keep
// their texts in parts, one per page); a key lives in exactly one part.
//
//go:embed catalog templates/*.json
var files embed.FS

// Review records who checked a locale's texts. Status is "unreviewed" until a
// native speaker has read every text of the file in context; then
// "reviewed", with the reviewers and the date.
type Review struct {
	Status string   `json:"status"`
	By     []string `json:"by,omitempty"`
	Date   string   `json:"date,omitempty"`
	Notes  string   `json:"notes,omitempty"`
}

type catalogFile struct {
	Locale   string            `json:"locale"`
	Review   Review            `json:"review"`
	Messages map[string]string `json:"messages"`
}

// store is the parsed, checked content of files. It is never modified after
// load, so it is safe for concurrent use.
type store struct {
	msgs    map[string]map[string]string // locale → key → message
	keys    []string
	reviews map[string]map[string]Review // "catalog"|"templates" → locale → review
	tpls    []*Template
	byID    map[string]*Template
	texts   map[string]map[string]*localText // locale → template id → texts
}

var std = sync.OnceValues(func() (*store, error) { return load(files) })

// data returns the embedded content. The tests load it, so a broken file
// fails them; at run time a panic here means the binary was built without running them.
func data() *store {
	s, err := std()
	if err != nil {
		panic("lang: embedded catalogs or templates are broken (run go test ./lang): " + err.Error())
	}
	return s
}

// Check loads and checks the embedded catalogs and templates and returns
// every problem found. cmd/tocsin calls it at start so a broken build fails
// at once rather than at the first alert.
func Check() error {
	_, err := std()
	return err
}

// load parses and checks every catalog and template file of fsys.
func load(fsys fs.FS) (*store, error) {
	s := &store{
		msgs:    map[string]map[string]string{},
		reviews: map[string]map[string]Review{"catalog": {}, "templates": {}},
		byID:    map[string]*Template{},
		texts:   map[string]map[string]*localText{},
	}
	var errs []error
	parts, err := catalogParts(fsys)
	if err != nil {
		return nil, err
	}
	for _, dir := range parts {
		errs = append(errs, extraFiles(fsys, dir)...)
	}
	for _, l := range locales {
		msgs, from := map[string]string{}, map[string]string{}
		for _, dir := range parts {
			name := path.Join(dir, l.Code+".json")
			var f catalogFile
			if err := readJSON(fsys, name, &f); err != nil {
				errs = append(errs, err)
				continue
			}
			if f.Locale != l.Code {
				errs = append(errs, fmt.Errorf("%s: locale is %q", name, f.Locale))
			}
			errs = append(errs, checkReview(name, f.Review)...)
			for k, v := range f.Messages {
				if other, ok := from[k]; ok {
					errs = append(errs, fmt.Errorf("%s: key %q is also in %s", name, k, other))
				}
				msgs[k], from[k] = v, name
			}
			// The locale's review is its main file's, downgraded by any
			// part still unreviewed.
			if r := s.reviews["catalog"][l.Code]; dir == "catalog" || r.Status == "reviewed" && f.Review.Status != "reviewed" {
				s.reviews["catalog"][l.Code] = f.Review
			}
		}
		s.msgs[l.Code] = msgs
	}
	if en := s.msgs[DefaultLocale]; en != nil {
		s.keys = sortedKeys(en)
		for _, l := range locales {
			if m, ok := s.msgs[l.Code]; ok {
				errs = append(errs, checkMessages(l.Code, m, en)...)
			}
		}
	}
	errs = append(errs, loadTemplates(fsys, s)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// catalogParts returns the catalog folder and its part folders, sorted.
func catalogParts(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, "catalog")
	if err != nil {
		return nil, err
	}
	dirs := []string{"catalog"}
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, path.Join("catalog", e.Name()))
		}
	}
	return dirs, nil
}

func checkReview(file string, r Review) []error {
	switch r.Status {
	case "unreviewed":
		return nil
	case "reviewed":
		if len(r.By) == 0 || r.Date == "" {
			return []error{fmt.Errorf("%s: a reviewed file names its reviewers and the date", file)}
		}
		return nil
	}
	return []error{fmt.Errorf("%s: review status is %q, not unreviewed or reviewed", file, r.Status)}
}

// extraFiles reports files in dir that belong to no supported locale, so a
// misnamed translation is not silently ignored.
func extraFiles(fsys fs.FS, dir string, allowed ...string) []error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if slices.Contains(allowed, name) || e.IsDir() && dir == "catalog" {
			continue
		}
		if _, ok := FindLocale(name[:len(name)-len(path.Ext(name))]); !ok || path.Ext(name) != ".json" {
			errs = append(errs, fmt.Errorf("%s/%s: not a supported locale's file", dir, name))
		}
	}
	return errs
}

// readJSON decodes one file strictly: unknown fields are errors, so a typo
// in a field name does not silently drop a text.
func readJSON(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if err := checkDuplicateKeys(json.NewDecoder(bytes.NewReader(b))); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// checkDuplicateKeys reports an object key given twice: encoding/json keeps
// the last silently, and a key pasted twice in a translation would hide a text.
func checkDuplicateKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := key.(string)
			if seen[k] {
				return fmt.Errorf("key %q appears twice", k)
			}
			seen[k] = true
			if err := checkDuplicateKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token() // }
	case json.Delim('['):
		for dec.More() {
			if err := checkDuplicateKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ]
	}
	return err
}

// ReviewStatus returns the review record of locale's catalog and of its
// template texts, so a page can say that a translation awaits review.
func ReviewStatus(locale string) (catalog, templates Review) {
	d := data()
	code := canonicalLocale(locale)
	return d.reviews["catalog"][code], d.reviews["templates"][code]
}
