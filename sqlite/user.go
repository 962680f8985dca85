package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/tocsin/tocsin"
)

// Argon2Params are the argon2id cost parameters of new password hashes.
// Hashes keep their own parameters, so changing these affects only
// passwords set afterwards.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultArgon2Params are 64 MiB, two passes, two lanes: above OWASP's and
// RFC 9106's memory-constrained recommendations, about 0.1 s on a server
// core.
var DefaultArgon2Params = Argon2Params{Memory: 64 * 1024, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}

// sessionTouchEvery is how stale last_seen may get before a request
// refreshes it: a write on every request would serialise readers behind the
// single writer for nothing the idle timeout needs.
const sessionTouchEvery = time.Minute

// UserService stores accounts, their argon2id password hashes, and their
// sessions.
type UserService struct {
	db     *DB
	params Argon2Params
	// hashing bounds concurrent argon2id computations: each holds
	// params.Memory of RAM, so a burst of logins must queue, not exhaust
	// memory.
	hashing chan struct{}

	dummyMu sync.Mutex
	dummy   string
}

var _ tocsin.UserService = (*UserService)(nil)

// NewUserService returns a UserService on db with DefaultArgon2Params.
func NewUserService(db *DB) *UserService {
	return &UserService{db: db, params: DefaultArgon2Params, hashing: make(chan struct{}, 4)}
}

// CreateUser stores a new account and its principal.
func (s *UserService) CreateUser(ctx context.Context, name string, role tocsin.Role, password string) (*tocsin.Principal, error) {
	var p tocsin.Problems
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, unicode.IsControl) {
		p.Add("name", "is required, at most 100 characters, without control characters")
	}
	if role == tocsin.RolePartner {
		p.Add("role", "a partner signs in with its token, not a password: use tocsin partner add")
	} else if !role.Valid() {
		p.Add("role", "must be one of reporter, verifier, publisher, admin")
	}
	if n := utf8.RuneCountInString(password); n < tocsin.MinPasswordLength || n > tocsin.MaxPasswordLength || !utf8.ValidString(password) {
		p.Add("password", "must be %d to %d characters", tocsin.MinPasswordLength, tocsin.MaxPasswordLength)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	pr := &tocsin.Principal{Name: name, Role: role}
	err = s.db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		} else if n > 0 {
			return tocsin.Errorf(tocsin.ECONFLICT, "a user named %q already exists", name)
		}
		pr.CreatedAt = tx.now
		// The principal's token hash is of a secret thrown away at once:
		// an account signs in with its password, never a bearer token.
		res, err := tx.ExecContext(ctx, `INSERT INTO principals (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)`,
			name, string(role), hashSecret(tocsin.NewSecret("unusable")), nanos(tx.now))
		if err != nil {
			return err
		}
		if pr.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (principal_id, name, password_hash, created_at) VALUES (?, ?, ?, ?)`,
			pr.ID, name, hash, nanos(tx.now)); err != nil {
			return err
		}
		return tx.audit(ctx, "user.create", fmt.Sprintf("principal:%d", pr.ID), map[string]any{"name": name, "role": role})
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return pr, nil
}

// Authenticate checks a name and password. An unknown name is checked
// against a dummy hash with the same parameters, so it costs the same as a
// wrong password and the answer does not tell which it was.
func (s *UserService) Authenticate(ctx context.Context, name, password string) (*tocsin.Principal, error) {
	denied := tocsin.Errorf(tocsin.EUNAUTHORIZED, "the name or the password is wrong")
	var pr tocsin.Principal
	var role, hash string
	var created int64
	err := s.db.read.QueryRowContext(ctx, `SELECT p.id, p.name, p.role, p.created_at, u.password_hash
		FROM users u JOIN principals p ON p.id = u.principal_id WHERE u.name = ?`, strings.TrimSpace(name)).
		Scan(&pr.ID, &pr.Name, &role, &created, &hash)
	found := err == nil
	if err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if !found {
		if hash, err = s.dummyHash(ctx); err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
	}
	if len(password) > 4*tocsin.MaxPasswordLength {
		// Still do the work, on a password that cannot match, so the
		// time taken does not depend on the length.
		password = ""
	}
	ok, err := s.verifyPassword(ctx, password, hash)
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if !ok || !found {
		return nil, denied
	}
	pr.Role, pr.CreatedAt = tocsin.Role(role), fromNanos(created)
	return &pr, nil
}

// CreateSession starts a session for an account's principal.
func (s *UserService) CreateSession(ctx context.Context, principalID int64) (string, *tocsin.Session, error) {
	token := tocsin.NewSecret("tses")
	sess := &tocsin.Session{CSRFToken: tocsin.NewSecret("csrf")}
	err := s.db.update(ctx, func(tx *Tx) error {
		var pr tocsin.Principal
		var role string
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT p.id, p.name, p.role, p.created_at
			FROM users u JOIN principals p ON p.id = u.principal_id WHERE u.principal_id = ?`, principalID).
			Scan(&pr.ID, &pr.Name, &role, &created)
		if err == sql.ErrNoRows {
			return notFound("user of principal", strconv.FormatInt(principalID, 10))
		} else if err != nil {
			return err
		}
		pr.Role, pr.CreatedAt = tocsin.Role(role), fromNanos(created)
		sess.Principal = &pr
		// Sweep the ended sessions of everyone while here: they are
		// useless, and a table of them would only grow.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?`,
			nanos(tx.now), nanos(tx.now.Add(-tocsin.SessionIdleTimeout))); err != nil {
			return err
		}
		sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = tx.now, tx.now, tx.now.Add(tocsin.SessionMaxAge)
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (id, principal_id, csrf_secret, created_at, expires_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)`,
			hashSecret(token), pr.ID, sess.CSRFToken, nanos(tx.now), nanos(sess.ExpiresAt), nanos(tx.now))
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("create session: %w", err)
	}
	return token, sess, nil
}

// FindSession resolves a session token and marks it used.
func (s *UserService) FindSession(ctx context.Context, token string) (*tocsin.Session, error) {
	denied := tocsin.Errorf(tocsin.EUNAUTHORIZED, "the session has ended; sign in again")
	if token == "" {
		return nil, denied
	}
	id := hashSecret(token)
	var pr tocsin.Principal
	var role string
	var prCreated, created, expires, seen int64
	sess := &tocsin.Session{Principal: &pr}
	err := s.db.read.QueryRowContext(ctx, `SELECT p.id, p.name, p.role, p.created_at, s.csrf_secret, s.created_at, s.expires_at, s.last_seen
		FROM sessions s JOIN principals p ON p.id = s.principal_id WHERE s.id = ?`, id).
		Scan(&pr.ID, &pr.Name, &role, &prCreated, &sess.CSRFToken, &created, &expires, &seen)
	if err == sql.ErrNoRows {
		return nil, denied
	} else if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	pr.Role, pr.CreatedAt = tocsin.Role(role), fromNanos(prCreated)
	sess.CreatedAt, sess.ExpiresAt, sess.LastSeenAt = fromNanos(created), fromNanos(expires), fromNanos(seen)
	now := s.db.Now().UTC()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= tocsin.SessionIdleTimeout {
		if err := s.DeleteSession(ctx, token); err != nil {
			return nil, err
		}
		return nil, denied
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchEvery {
		err := s.db.update(ctx, func(tx *Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id = ?`, nanos(tx.now), id)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("find session: %w", err)
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// DeleteSession ends a session.
func (s *UserService) DeleteSession(ctx context.Context, token string) error {
	err := s.db.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, hashSecret(token))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// dummyHash is the hash unknown names are checked against: a random
// password's, made once with the current parameters.
func (s *UserService) dummyHash(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummy == "" {
		h, err := s.hashPassword(ctx, tocsin.NewSecret("dummy"))
		if err != nil {
			return "", err
		}
		s.dummy = h
	}
	return s.dummy, nil
}

// acquire waits for a free argon2id slot.
func (s *UserService) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.hashing <- struct{}{}:
		return func() { <-s.hashing }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hashPassword returns the PHC string of password under a fresh salt.
func (s *UserService) hashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, s.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	defer release()
	key := argon2.IDKey([]byte(password), salt, s.params.Time, s.params.Memory, s.params.Threads, s.params.KeyLen)
	return encodePHC(phc{params: s.params, salt: salt, key: key}), nil
}

// verifyPassword reports whether password matches the PHC string encoded.
func (s *UserService) verifyPassword(ctx context.Context, password, encoded string) (bool, error) {
	h, err := decodePHC(encoded)
	if err != nil {
		return false, err
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	defer release()
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// phc is a decoded argon2id hash in the PHC string format, as written by the
// reference implementation and libsodium:
//
//	$argon2id$v=19$m=65536,t=2,p=2$<salt, unpadded base64>$<key, unpadded base64>
type phc struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

var phcB64 = base64.RawStdEncoding

func encodePHC(h phc) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.Memory, h.params.Time, h.params.Threads, phcB64.EncodeToString(h.salt), phcB64.EncodeToString(h.key))
}

// decodePHC parses an argon2id PHC string strictly. Its cost parameters are
// bounded so that a corrupt or planted hash cannot make one login take
// gigabytes or minutes.
func decodePHC(s string) (phc, error) {
	var h phc
	bad := func(what string) (phc, error) { return phc{}, fmt.Errorf("decode password hash: %s", what) }
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return bad("want m, t and p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
			return bad("malformed parameter " + params[i])
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("malformed parameter " + params[i])
		}
		vals[i] = n
	}
	m, t, p := vals[0], vals[1], vals[2]
	if p < 1 || p > 16 || t < 1 || t > 10 || m < 8*p || m > 1<<20 {
		return bad("parameters out of range")
	}
	h.params = Argon2Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p)}
	var err error
	if h.salt, err = phcB64.Strict().DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > 64 {
		return bad("malformed salt")
	}
	if h.key, err = phcB64.Strict().DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return bad("malformed key")
	}
	h.params.SaltLen, h.params.KeyLen = uint32(len(h.salt)), uint32(len(h.key))
	return h, nil
}
