package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strings"
	_ "time/tzdata" // template times in any IANA zone, whatever the host has

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/lang"
	"github.com/tocsin/tocsin/sqlite"
)

// newGlossary returns the glossary service with the lang package's term rules.
func newGlossary(db *sqlite.DB) *sqlite.GlossaryService {
	g := sqlite.NewGlossaryService(db)
	g.Validate = lang.ValidateTerm
	return g
}

// newTranslator returns apertium-apy at mtURL, else the apertium program if
// it is installed, else nil (machine translation unavailable). It checks the
// catalogs and templates first, so a broken build fails at start.
func newTranslator(ctx context.Context, mtURL string) (lang.Translator, error) {
	if err := lang.Check(); err != nil {
		return nil, fmt.Errorf("languages: %w", err)
	}
	if mtURL != "" {
		u, err := url.Parse(mtURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: --mt-url must be an http(s) URL such as http://127.0.0.1:2737", errUsage)
		}
		return &lang.APy{URL: strings.TrimRight(mtURL, "/")}, nil
	}
	path, err := exec.LookPath("apertium")
	if err != nil {
		return nil, nil
	}
	return &lang.CLI{Path: path}, nil
}

// runGlossary runs "tocsin glossary add|list|remove".
func runGlossary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "tocsin glossary add|list|remove --data DIR [TERM]"
	if len(args) == 0 || isHelp(args[0]) {
		fmt.Fprintf(stdout, "Usage: %s\n\nProtected terms (names, agencies, acronyms, places) are never translated or re-cased.\n", synopsis)
		if len(args) == 0 {
			return fmt.Errorf("%w: glossary needs add, list or remove", errUsage)
		}
		return nil
	}
	verb := args[0]
	if verb != "add" && verb != "list" && verb != "remove" {
		return fmt.Errorf("%w: unknown glossary command %q", errUsage, verb)
	}
	fs := newFlagSet("glossary "+verb, synopsis, stderr)
	data := fs.String("data", "./tocsin-data", "data folder")
	// Flags may come before or after the term.
	rest := args[1:]
	var term []string
	for len(rest) > 0 {
		if err := fs.Parse(rest); errors.Is(err, flag.ErrHelp) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		term = append(term, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	db, err := openDB(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	g := newGlossary(db)
	// The command line is the operator: it acts as an admin.
	ctx = tocsin.NewContextWithPrincipal(ctx, &tocsin.Principal{Name: "cli", Role: tocsin.RoleAdmin})
	switch verb {
	case "list":
		terms, err := g.Terms(ctx)
		if err != nil {
			return err
		}
		for _, t := range terms {
			fmt.Fprintln(stdout, t)
		}
		return nil
	default:
		if len(term) != 1 {
			return fmt.Errorf("%w: glossary %s takes one term (quote it if it has spaces)", errUsage, verb)
		}
		if verb == "add" {
			err = g.AddTerm(ctx, term[0])
		} else {
			err = g.RemoveTerm(ctx, term[0])
		}
		if err != nil {
			return fmt.Errorf("%s", tocsin.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "%s: %s\n", map[string]string{"add": "added", "remove": "removed"}[verb], term[0])
		return nil
	}
}
