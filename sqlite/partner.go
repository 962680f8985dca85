package sqlite

import (
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tocsin/tocsin"
)

// PartnerService registers the partners that post CAP alerts.
type PartnerService struct{ db *DB }

var _ tocsin.PartnerService = (*PartnerService)(nil)

// NewPartnerService returns a PartnerService on db.
func NewPartnerService(db *DB) *PartnerService { return &PartnerService{db: db} }

// CreatePartner stores p and a principal of role partner for it, in one
// transaction, and returns the principal's token, shown once.
func (s *PartnerService) CreatePartner(ctx context.Context, p *tocsin.Partner) (string, error) {
	var probs tocsin.Problems
	p.Name, p.Sender = strings.TrimSpace(p.Name), strings.TrimSpace(p.Sender)
	if p.Name == "" || utf8.RuneCountInString(p.Name) > 100 || !utf8.ValidString(p.Name) {
		probs.Add("name", "is required, at most 100 characters")
	}
	switch {
	case p.Sender == "" || len(p.Sender) > 255:
		probs.Add("sender", "is required, at most 255 characters")
	case strings.ContainsAny(p.Sender, " \t\r\n,<&"):
		probs.Add("sender", "a CAP sender has no spaces, commas, '<' or '&'")
	case p.Sender == s.db.Sender:
		probs.Add("sender", "%s is this network's own sender", p.Sender)
	}
	if p.Publish == "" {
		p.Publish = tocsin.PublishDirect
	}
	if !p.Publish.Valid() {
		probs.Add("publish", "must be direct or review")
	}
	if p.CertificatePEM != "" {
		// An expired certificate would make every signature fail to verify.
		if c, err := ParseCertificatePEM(p.CertificatePEM); err != nil {
			probs.Add("certificate", "%v", err)
		} else if now := s.db.Now(); now.After(c.NotAfter) || now.Before(c.NotBefore) {
			probs.Add("certificate", "is valid only from %s to %s", c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"))
		}
	}
	if err := probs.Err(); err != nil {
		return "", err
	}
	token := tocsin.NewSecret("tcs")
	err := s.db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM partners WHERE name = ? OR sender = ?`, p.Name, p.Sender).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return tocsin.Errorf(tocsin.ECONFLICT, "a partner named %q or with sender %s is already registered", p.Name, p.Sender)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO principals (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)`,
			"partner "+p.Name, string(tocsin.RolePartner), hashSecret(token), nanos(tx.now))
		if err != nil {
			return err
		}
		if p.PrincipalID, err = res.LastInsertId(); err != nil {
			return err
		}
		p.CreatedAt = tx.now
		res, err = tx.ExecContext(ctx, `INSERT INTO partners (name, sender, certificate, publish, principal_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			p.Name, p.Sender, p.CertificatePEM, string(p.Publish), p.PrincipalID, nanos(tx.now))
		if err != nil {
			return err
		}
		if p.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return tx.audit(ctx, "partner.create", fmt.Sprintf("partner:%d", p.ID), map[string]any{
			"name": p.Name, "sender": p.Sender, "publish": p.Publish, "signs": p.CertificatePEM != "", "principal": p.PrincipalID})
	})
	if err != nil {
		return "", fmt.Errorf("create partner: %w", err)
	}
	return token, nil
}

// ParseCertificatePEM reads the first certificate in a PEM document.
func ParseCertificatePEM(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("is not a PEM CERTIFICATE")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cannot be read: %v", err)
	}
	return c, nil
}

const partnerColumns = `id, name, sender, certificate, publish, principal_id, created_at`

func scanPartner(s scanner) (*tocsin.Partner, error) {
	var p tocsin.Partner
	var publish string
	var created int64
	if err := s.Scan(&p.ID, &p.Name, &p.Sender, &p.CertificatePEM, &publish, &p.PrincipalID, &created); err != nil {
		return nil, err
	}
	p.Publish, p.CreatedAt = tocsin.PublishPolicy(publish), fromNanos(created)
	return &p, nil
}

// FindPartnerByPrincipal returns the partner whose token is principal id.
func (s *PartnerService) FindPartnerByPrincipal(ctx context.Context, id int64) (*tocsin.Partner, error) {
	p, err := findPartnerByPrincipal(ctx, s.db.read, id)
	if err != nil {
		return nil, fmt.Errorf("find partner: %w", err)
	}
	return p, nil
}

func findPartnerByPrincipal(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (*tocsin.Partner, error) {
	p, err := scanPartner(q.QueryRowContext(ctx, `SELECT `+partnerColumns+` FROM partners WHERE principal_id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, notFound("partner of principal", fmt.Sprint(id))
	}
	return p, err
}

// FindPartners lists every partner by name.
func (s *PartnerService) FindPartners(ctx context.Context) ([]*tocsin.Partner, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+partnerColumns+` FROM partners ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("find partners: %w", err)
	}
	defer rows.Close()
	out := []*tocsin.Partner{}
	for rows.Next() {
		p, err := scanPartner(rows)
		if err != nil {
			return nil, fmt.Errorf("find partners: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
