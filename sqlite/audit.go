package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/tocsin/tocsin"
)

// AuditService reads and verifies the audit chain.
type AuditService struct{ db *DB }

var _ tocsin.AuditService = (*AuditService)(nil)

// NewAuditService returns an AuditService on db.
func NewAuditService(db *DB) *AuditService { return &AuditService{db: db} }

// auditHash chains an event to its predecessor: SHA-256 over the canonical
// JSON of the previous hash and the event's fields.
func auditHash(prev string, at int64, actor, action, subject, detail string) string {
	b, _ := json.Marshal([]any{prev, at, actor, action, subject, detail})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// audit appends one event to the chain inside tx. detail is marshalled to JSON.
func (tx *Tx) audit(ctx context.Context, action, subject string, detail any) error {
	var d string
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit %s: %w", action, err)
		}
		d = string(b)
	}
	var prev string
	err := tx.QueryRowContext(ctx, `SELECT hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&prev)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	at := nanos(tx.now)
	actor := tocsin.ActorFromContext(ctx)
	h := auditHash(prev, at, actor, action, subject, d)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		at, actor, action, subject, d, prev, h); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// FindAuditEvents lists events after seq, oldest first.
func (s *AuditService) FindAuditEvents(ctx context.Context, afterSeq int64, n int) ([]*tocsin.AuditEvent, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit(n))
	if err != nil {
		return nil, fmt.Errorf("find audit events: %w", err)
	}
	defer rows.Close()
	var out []*tocsin.AuditEvent
	for rows.Next() {
		var e tocsin.AuditEvent
		var at int64
		var detail string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("find audit events: %w", err)
		}
		e.At = fromNanos(at)
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// VerifyAudit walks the chain from the first event. It detects an edited
// event (its hash no longer matches), an inserted or deleted one (the next
// event's prev_hash or the sequence breaks), and deleted events at the end
// (the sequence counter is past the last row).
func (s *AuditService) VerifyAudit(ctx context.Context) (int, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("verify audit: %w", err)
	}
	defer rows.Close()
	var n int
	var prev string
	var want int64 = 1
	for rows.Next() {
		var seq, at int64
		var actor, action, subject, detail, prevHash, hash string
		if err := rows.Scan(&seq, &at, &actor, &action, &subject, &detail, &prevHash, &hash); err != nil {
			return n, fmt.Errorf("verify audit: %w", err)
		}
		switch {
		case seq != want:
			return n, tocsin.Errorf(tocsin.ECONFLICT, "audit chain broken at event %d: events %d to %d are missing", seq, want, seq-1)
		case prevHash != prev:
			return n, tocsin.Errorf(tocsin.ECONFLICT, "audit chain broken at event %d: it does not follow event %d (prev_hash differs)", seq, seq-1)
		case auditHash(prev, at, actor, action, subject, detail) != hash:
			return n, tocsin.Errorf(tocsin.ECONFLICT, "audit chain broken at event %d (%s %s): its content was changed after it was written", seq, action, subject)
		}
		prev, want = hash, seq+1
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("verify audit: %w", err)
	}
	var last sql.NullInt64
	if err := s.db.read.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'audit'`).Scan(&last); err != nil && err != sql.ErrNoRows {
		return n, fmt.Errorf("verify audit: %w", err)
	}
	if last.Valid && last.Int64 >= want {
		return n, tocsin.Errorf(tocsin.ECONFLICT, "audit chain broken after event %d: events %d to %d were deleted", want-1, want, last.Int64)
	}
	return n, nil
}
