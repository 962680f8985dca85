package sqlite

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tocsin/tocsin"
)

// The ReportService is also the report intake: photo tokens, photos and
// idempotency keys live beside the reports they belong to, and are written
// in the report's own transaction.
var _ tocsin.ReportIntake = (*ReportService)(nil)

// errReplayed ends a submission's transaction when a concurrent request with
// the same idempotency key committed first.
var errReplayed = errors.New("replayed")

// SubmitReport creates a report with a photo token, once per idempotency key.
func (s *ReportService) SubmitReport(ctx context.Context, r *tocsin.Report, key string) (*tocsin.ReportSubmission, error) {
	if err := checkIdempotencyKey(key); err != nil {
		return nil, err
	}
	fp := reportFingerprint(r)
	if key != "" {
		// The common repeat (the answer was lost) needs no write.
		sub, err := findSubmission(ctx, s.db.read, key, fp, s.db.Now())
		if sub != nil || err != nil {
			return sub, err
		}
	}
	token := tocsin.NewSecret("pht")
	var sub, earlier *tocsin.ReportSubmission
	_, err := s.createReport(ctx, r, func(tx *Tx, receipt string) error {
		if _, err := tx.ExecContext(ctx, `UPDATE reports SET photo_token_hash = ? WHERE id = ?`, hashSecret(token), r.ID); err != nil {
			return err
		}
		sub = &tocsin.ReportSubmission{ReportID: r.ID, IncidentID: r.IncidentID, Receipt: receipt, PhotoToken: token}
		if key == "" {
			return nil
		}
		// Another request with this key may have committed since the look
		// above: the writer's lock makes this second look final.
		var err error
		if earlier, err = findSubmission(ctx, tx, key, fp, tx.now); err != nil {
			return err
		} else if earlier != nil {
			return errReplayed
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM report_idempotency WHERE created_at <= ?`, nanos(tx.now.Add(-tocsin.IdempotencyWindow))); err != nil {
			return err
		}
		answer, err := sealAnswer(key, sub)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO report_idempotency (key_hash, fingerprint, report_id, answer, created_at) VALUES (?, ?, ?, ?, ?)`,
			idempotencyKeyHash(key), fp, r.ID, answer, nanos(tx.now))
		return err
	})
	if errors.Is(err, errReplayed) {
		return earlier, nil
	} else if err != nil {
		return nil, err
	}
	return sub, nil
}

// checkIdempotencyKey accepts an empty key or one of 1 to 255 visible ASCII
// characters, as a header value can carry.
func checkIdempotencyKey(key string) error {
	if len(key) > tocsin.MaxIdempotencyKey {
		return &tocsin.Error{Code: tocsin.EINVALID, Message: "the Idempotency-Key is too long",
			Fields: []tocsin.FieldError{{Field: "Idempotency-Key", Detail: fmt.Sprintf("must be at most %d characters", tocsin.MaxIdempotencyKey)}}}
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] > '~' {
			return &tocsin.Error{Code: tocsin.EINVALID, Message: "the Idempotency-Key has a character that is not visible ASCII",
				Fields: []tocsin.FieldError{{Field: "Idempotency-Key", Detail: "must be visible ASCII characters, such as a UUID"}}}
		}
	}
	return nil
}

// querier is a read connection or a write transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// findSubmission returns the remembered answer to key, nil when there is
// none (or it is older than the window), and ECONFLICT when the key was
// used for a different report.
func findSubmission(ctx context.Context, q querier, key string, fp []byte, now time.Time) (*tocsin.ReportSubmission, error) {
	var storedFP, answer []byte
	err := q.QueryRowContext(ctx, `SELECT fingerprint, answer FROM report_idempotency WHERE key_hash = ? AND created_at > ?`,
		idempotencyKeyHash(key), nanos(now.Add(-tocsin.IdempotencyWindow))).Scan(&storedFP, &answer)
	if err == sql.ErrNoRows {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("find submission: %w", err)
	}
	if !bytes.Equal(storedFP, fp) {
		return nil, &tocsin.Error{Code: tocsin.ECONFLICT, Message: "this Idempotency-Key was already used for a different report; use a new key for each report",
			Fields: []tocsin.FieldError{{Field: "Idempotency-Key", Detail: "was used for a different report"}}}
	}
	sub, err := openAnswer(key, answer)
	if err != nil {
		return nil, fmt.Errorf("find submission: %w", err)
	}
	sub.Replayed = true
	return sub, nil
}

// reportFingerprint is a SHA-256 of the report as the client sent it (before
// the server coarsens or completes it), so that a repeat can be told from a
// different report under the same key.
func reportFingerprint(r *tocsin.Report) []byte {
	var obs string
	if !r.ObservedAt.IsZero() {
		obs = r.ObservedAt.UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal([]any{r.Lat, r.Lon, r.AccuracyM, obs, r.Category, r.Event, r.Text, r.Language, r.Channel})
	sum := sha256.Sum256(b)
	return sum[:]
}

// idempotencyKeyHash is what a key is stored as; answerKey is the AES key its
// answer is sealed with. Both are derived from the client's key with HKDF
// (RFC 5869) under different labels, so the stored hash does not open the
// answer.
func idempotencyKeyHash(key string) []byte {
	return deriveFromKey(key, "tocsin idempotency key")
}

func answerKey(key string) []byte {
	return deriveFromKey(key, "tocsin idempotency answer")
}

func deriveFromKey(key, label string) []byte {
	b, err := hkdf.Key(sha256.New, []byte(key), nil, label, 32)
	if err != nil {
		panic(err) // only for lengths HKDF-SHA256 cannot give; 32 it can
	}
	return b
}

// sealAnswer encrypts a submission's answer with AES-256-GCM under the key's
// answer key: a random nonce, then the ciphertext.
func sealAnswer(key string, sub *tocsin.ReportSubmission) ([]byte, error) {
	plain, err := json.Marshal(sub)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, nil), nil
}

func openAnswer(key string, sealed []byte) (*tocsin.ReportSubmission, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed answer is too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return nil, fmt.Errorf("open answer: %w", err)
	}
	var sub tocsin.ReportSubmission
	if err := json.Unmarshal(plain, &sub); err != nil {
		return nil, fmt.Errorf("open answer: %w", err)
	}
	return &sub, nil
}

func newAEAD(key string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(answerKey(key))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// CheckPhotoToken checks a report's photo token.
func (s *ReportService) CheckPhotoToken(ctx context.Context, reportID, token string) error {
	return checkPhotoToken(ctx, s.db.read, reportID, token)
}

func checkPhotoToken(ctx context.Context, q querier, reportID, token string) error {
	if token == "" {
		return tocsin.Errorf(tocsin.EUNAUTHORIZED, "a photo_token is required: the one in the answer that created the report")
	}
	var hash []byte
	err := q.QueryRowContext(ctx, `SELECT photo_token_hash FROM reports WHERE id = ?`, reportID).Scan(&hash)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("check photo token: %w", err)
	}
	// An unknown report and a wrong token look the same, so the token
	// cannot be used to learn which reports exist.
	if len(hash) == 0 || subtle.ConstantTimeCompare(hash, hashSecret(token)) != 1 {
		return tocsin.Errorf(tocsin.EFORBIDDEN, "this photo_token is not the one of report %s", reportID)
	}
	return nil
}

// AttachPhoto stores a report's photo, once.
func (s *ReportService) AttachPhoto(ctx context.Context, token string, p *tocsin.Photo) error {
	var pr tocsin.Problems
	if len(p.JPEG) < 4 || p.JPEG[0] != 0xFF || p.JPEG[1] != 0xD8 || len(p.JPEG) > tocsin.MaxPhotoBytes {
		pr.Add("photo", "must be a re-encoded JPEG of at most %d bytes", tocsin.MaxPhotoBytes)
	}
	if p.Width < 1 || p.Height < 1 || p.Width > tocsin.MaxPhotoSide || p.Height > tocsin.MaxPhotoSide {
		pr.Add("photo", "must be from 1 to %d pixels on each side", tocsin.MaxPhotoSide)
	}
	if err := pr.Err(); err != nil {
		return err
	}
	err := s.db.update(ctx, func(tx *Tx) error {
		if err := checkPhotoToken(ctx, tx, p.ReportID, token); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM report_photos WHERE report_id = ?`, p.ReportID).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return tocsin.Errorf(tocsin.ECONFLICT, "report %s already has its photo", p.ReportID)
		}
		p.Bytes, p.CreatedAt = len(p.JPEG), tx.now
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_photos (report_id, jpeg, width, height, created_at) VALUES (?, ?, ?, ?, ?)`,
			p.ReportID, p.JPEG, p.Width, p.Height, nanos(p.CreatedAt)); err != nil {
			return err
		}
		return tx.audit(ctx, "report.photo", p.ReportID, map[string]any{"width": p.Width, "height": p.Height, "bytes": p.Bytes})
	})
	if err != nil {
		return fmt.Errorf("attach photo: %w", err)
	}
	return nil
}

// FindPhoto returns a report's photo, for verifiers.
func (s *ReportService) FindPhoto(ctx context.Context, reportID string) (*tocsin.Photo, error) {
	if _, err := tocsin.Require(ctx, tocsin.RoleVerifier); err != nil {
		return nil, err
	}
	p := &tocsin.Photo{ReportID: reportID}
	var created int64
	err := s.db.read.QueryRowContext(ctx, `SELECT jpeg, width, height, created_at FROM report_photos WHERE report_id = ?`, reportID).
		Scan(&p.JPEG, &p.Width, &p.Height, &created)
	if err == sql.ErrNoRows {
		return nil, notFound("photo of report", reportID)
	} else if err != nil {
		return nil, fmt.Errorf("find photo: %w", err)
	}
	p.Bytes, p.CreatedAt = len(p.JPEG), fromNanos(created)
	return p, nil
}
