package tocsin

import (
	"context"
	"time"
)

// Password length bounds for accounts. The lower bound is long enough to make
// guessing slow even with a fast hash; the upper bound keeps one login's work
// bounded.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// Session is a signed-in account's browser session. Its token travels only in
// a cookie; CSRFToken must accompany every state-changing request the
// session makes.
type Session struct {
	Principal *Principal `json:"principal"`
	CSRFToken string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	// LastSeenAt is when the session was last used; it expires after
	// SessionIdleTimeout without use.
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is the session's absolute end, however busy it is.
	ExpiresAt time.Time `json:"expires_at"`
}

// Session lifetimes: a session ends after SessionIdleTimeout without use, and
// SessionMaxAge after it began in any case.
const (
	SessionIdleTimeout = 12 * time.Hour
	SessionMaxAge      = 7 * 24 * time.Hour
)

// UserService keeps accounts that sign in with a name and a password, and
// their sessions. An account is a principal (its role, its id in the audit
// log and in the two-person rule); passwords are stored only as argon2id
// hashes.
type UserService interface {
	// CreateUser stores a new account with a principal of role. EINVALID
	// for an empty or overlong name, an unknown or partner role, or a
	// password outside MinPasswordLength..MaxPasswordLength characters;
	// ECONFLICT when the name is taken.
	CreateUser(ctx context.Context, name string, role Role, password string) (*Principal, error)
	// Authenticate checks a name and password. It does the same work for
	// an unknown name as for a wrong password, and returns EUNAUTHORIZED
	// for both alike.
	Authenticate(ctx context.Context, name, password string) (*Principal, error)
	// CreateSession starts a session for the principal of an account and
	// returns its token, shown once. ENOTFOUND when no account has that
	// principal.
	CreateSession(ctx context.Context, principalID int64) (token string, s *Session, err error)
	// FindSession resolves a session token and marks it used.
	// EUNAUTHORIZED when it is unknown or expired.
	FindSession(ctx context.Context, token string) (*Session, error)
	// DeleteSession ends a session. Ending an unknown session is not an
	// error.
	DeleteSession(ctx context.Context, token string) error
}
