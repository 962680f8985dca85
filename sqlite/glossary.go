package sqlite

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tocsin/tocsin"
)

// GlossaryService stores the protected terms.
type GlossaryService struct {
	db *DB
	// Validate checks a term before it is stored; the lang package's
	// ValidateTerm is wired here. Nil accepts any 1–100 character term.
	Validate func(term string) error
}

var _ tocsin.GlossaryService = (*GlossaryService)(nil)

// NewGlossaryService returns a GlossaryService on db.
func NewGlossaryService(db *DB) *GlossaryService { return &GlossaryService{db: db} }

// AddTerm adds a protected term; adding one twice is not an error.
func (s *GlossaryService) AddTerm(ctx context.Context, term string) error {
	if _, err := tocsin.Require(ctx, tocsin.RoleAdmin); err != nil {
		return err
	}
	term = strings.TrimSpace(term)
	var err error
	if term == "" || utf8.RuneCountInString(term) > 100 {
		err = fmt.Errorf("a term is 1 to 100 characters")
	} else if s.Validate != nil {
		err = s.Validate(term)
	}
	if err != nil {
		return &tocsin.Error{Code: tocsin.EINVALID, Message: "term: " + err.Error(), Fields: []tocsin.FieldError{{Field: "term", Detail: err.Error()}}}
	}
	err = s.db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO glossary (term, created_at) VALUES (?, ?) ON CONFLICT (term) DO NOTHING`, term, nanos(tx.now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return tx.audit(ctx, "glossary.add", term, nil)
	})
	if err != nil {
		return fmt.Errorf("add term: %w", err)
	}
	return nil
}

// RemoveTerm removes a protected term.
func (s *GlossaryService) RemoveTerm(ctx context.Context, term string) error {
	if _, err := tocsin.Require(ctx, tocsin.RoleAdmin); err != nil {
		return err
	}
	err := s.db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM glossary WHERE term = ?`, term)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("term", term)
		}
		return tx.audit(ctx, "glossary.remove", term, nil)
	})
	if err != nil {
		return fmt.Errorf("remove term: %w", err)
	}
	return nil
}

// Terms lists every protected term, sorted.
func (s *GlossaryService) Terms(ctx context.Context) ([]string, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT term FROM glossary ORDER BY term`)
	if err != nil {
		return nil, fmt.Errorf("terms: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("terms: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
