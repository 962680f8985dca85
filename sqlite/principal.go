package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"strings"

	"github.com/tocsin/tocsin"
)

// TokenService stores principals and their hashed bearer tokens.
type TokenService struct{ db *DB }

var _ tocsin.TokenService = (*TokenService)(nil)

// NewTokenService returns a TokenService on db.
func NewTokenService(db *DB) *TokenService { return &TokenService{db: db} }

// hashSecret hashes a high-entropy secret for storage. Tokens are 256 random
// bits, so a plain SHA-256 is enough; nothing here is a password.
func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// CreateToken stores a new principal and returns its token, shown once.
func (s *TokenService) CreateToken(ctx context.Context, name string, role tocsin.Role) (string, *tocsin.Principal, error) {
	var p tocsin.Problems
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		p.Add("name", "is required, at most 100 characters")
	}
	if role == tocsin.RolePartner {
		p.Add("role", "a partner's token comes with its registration: use tocsin partner add")
	} else if !role.Valid() {
		p.Add("role", "must be one of reporter, verifier, publisher, admin")
	}
	if err := p.Err(); err != nil {
		return "", nil, err
	}
	token := tocsin.NewSecret("tcs")
	pr := &tocsin.Principal{Name: name, Role: role}
	err := s.db.update(ctx, func(tx *Tx) error {
		pr.CreatedAt = tx.now
		res, err := tx.ExecContext(ctx, `INSERT INTO principals (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)`,
			name, string(role), hashSecret(token), nanos(tx.now))
		if err != nil {
			return err
		}
		if pr.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return tx.audit(ctx, "token.create", fmt.Sprintf("principal:%d", pr.ID), map[string]any{"name": name, "role": role})
	})
	if err != nil {
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	return token, pr, nil
}

// FindPrincipalByToken resolves a token.
func (s *TokenService) FindPrincipalByToken(ctx context.Context, token string) (*tocsin.Principal, error) {
	var p tocsin.Principal
	var role string
	var created int64
	err := s.db.read.QueryRowContext(ctx, `SELECT id, name, role, created_at FROM principals WHERE token_hash = ?`, hashSecret(token)).
		Scan(&p.ID, &p.Name, &role, &created)
	if err == sql.ErrNoRows {
		return nil, tocsin.Errorf(tocsin.EUNAUTHORIZED, "the bearer token is not valid")
	} else if err != nil {
		return nil, fmt.Errorf("find principal: %w", err)
	}
	p.Role, p.CreatedAt = tocsin.Role(role), fromNanos(created)
	return &p, nil
}
