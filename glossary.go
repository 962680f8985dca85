package tocsin

import "context"

// GlossaryService keeps the network's protected terms: names, agencies,
// acronyms and places that templates and machine translation must pass
// through untouched.
type GlossaryService interface {
	// AddTerm adds a term (admin). EINVALID for an empty or malformed term.
	AddTerm(ctx context.Context, term string) error
	// RemoveTerm removes a term (admin). ENOTFOUND if absent.
	RemoveTerm(ctx context.Context, term string) error
	// Terms lists every term, sorted.
	Terms(ctx context.Context) ([]string, error)
}
